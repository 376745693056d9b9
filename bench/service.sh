#!/usr/bin/env bash
# service.sh SWATH: the job service under load (issue 20, point 5).
#
#  (1) tiles: wrk with CONNS connections over every tile of a finished
#      job's pyramid, GET /jobs/{id}/tiles/{z}/{x}/{y}.png from `swath
#      serve`, side by side with lighttpd serving the same tile files
#      (static files, no access log: the anchor), rounds alternated;
#      requests/s and p99 latency of each, and swath / lighttpd
#      (target: >= 0.50);
#  (2) status: GET /jobs/{id} under the same load (no anchor).
# The service runs both ways a user runs it: on one machine (`--jobs`, a
# SQLite jobs file) and over the PostgreSQL queue (`--db`, a PostgreSQL 15
# started in BENCH_WORK, loopback, fsync off), unless SKIP_PG=1.
#
# Environment: BENCH_WORK (bench/work), CONNS (32), DURATION (10 s a run),
# ROUNDS (3), WRK_THREADS (2), SERVE_THREADS (nproc), SKIP_PG=1.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PY=/usr/bin/python3
CONNS=${CONNS:-32} DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-3} WRK_THREADS=${WRK_THREADS:-2}
SERVE_THREADS=${SERVE_THREADS:-$(nproc)}
work=${BENCH_WORK:-$here/work}/service
command -v wrk >/dev/null || { echo "bench: wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }
rm -rf "$work/out" "$work/jobs.db" "$work/pg" "$work/lighttpd"
mkdir -p "$work/data" "$work/out" "$work/lighttpd"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -d "$work/pg/data" ] && "${as[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
}
as=()
trap cleanup EXIT

# wrk_run URL PATHS_FILE: requests/s and p99 (ms) into RPS and P99.
cat >"$work/paths.lua" <<'EOF'
local paths, i = {}, 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
EOF
wrk_run() {
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$work/paths.lua" "$1" -- "$2" \
    >"$work/wrk.out" 2>&1
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "bench: some answers were not 2xx:" >&2
    cat "$work/wrk.out" >&2
    return 1
  fi
  RPS=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/wrk.out")
  P99=$(awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
          printf "%.2f", u == "us" ? v / 1000 : u == "s" ? v * 1000 : v }' "$work/wrk.out")
}

# wait_http URL: until it answers (10 s)
wait_http() {
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "bench: $1 does not answer" >&2
  return 1
}

bench_machine
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk $CONNS connections, $WRK_THREADS threads, ${DURATION}s a run; swath serve --threads $SERVE_THREADS"

# ---- the tiles: a hillshade pyramid made through the service ------------------
[ -f "$work/data/dem.tif" ] || "$PY" "$here/../tests/data/gen_raster.py" dem "$work/data/dem.tif" \
  --size 2048 --crs EPSG:3857 --center 950000,6000000 --res 20 >/dev/null
JOB='{"inputs": {"inputs": {"dem": "dem.tif"}, "zoom": [8, 14], "output": {"path": "hs", "format": "PNG"}}}'

# serve_start ARGS...: swath serve on a free port; BASE and SERVE_PID set.
serve_start() {
  local port
  port=$(free_port)
  "$swath" serve --port "$port" --threads "$SERVE_THREADS" --outputs "$work/out" \
    --inputs "$work/data" "$@" >"$work/serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  BASE=http://127.0.0.1:$port
  wait_http "$BASE/conformance"
}

# post_job: the pyramid job, posted and run to its end; JOB_ID set.
post_job() {
  JOB_ID=$(curl -sf -X POST "$BASE/processes/hillshade/execution" -H 'Prefer: respond-async' \
    -H 'Content-Type: application/json' -d "$JOB" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jobID"])')
  for _ in $(seq 1 1200); do
    s=$(curl -sf "$BASE/jobs/$JOB_ID" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$s" = successful ] && return 0
    [ "$s" = failed ] || [ "$s" = dismissed ] && { echo "bench: the job is $s" >&2; return 1; }
    sleep 0.5
  done
  echo "bench: the job did not finish" >&2
  return 1
}

# ---- lighttpd over the same files (the anchor) -------------------------------
lighttpd_start() {
  local port
  port=$(free_port)
  cat >"$work/lighttpd/lighttpd.conf" <<EOF
server.document-root = "$work/out/hs"
server.port = $port
server.bind = "127.0.0.1"
server.errorlog = "$work/lighttpd/error.log"
server.max-connections = 4096
mimetype.assign = (".png" => "image/png", ".json" => "application/json")
EOF
  /usr/sbin/lighttpd -D -f "$work/lighttpd/lighttpd.conf" >"$work/lighttpd/out.log" 2>&1 &
  PIDS+=($!)
  LBASE=http://127.0.0.1:$port
  wait_http "$LBASE/tilejson.json"
}

# measure MODE: the tile rounds against lighttpd and the status runs.
measure_mode() {
  local mode=$1
  (cd "$work/out/hs" && find . -name '*.png' | sed 's/^\.//' | sort) >"$work/tiles-l.txt"
  sed "s#^#/jobs/$JOB_ID/tiles#" "$work/tiles-l.txt" >"$work/tiles-s.txt"
  echo "/jobs/$JOB_ID" >"$work/status.txt"
  local n
  n=$(wc -l <"$work/tiles-l.txt")
  # every swath tile answer is the file (a spot check before timing)
  for p in $(sed -n '1p;$p' "$work/tiles-l.txt"); do
    cmp -s <(curl -sf "$BASE/jobs/$JOB_ID/tiles$p") "$work/out/hs$p" ||
      { echo "bench: $p served by swath differs from the file" >&2; return 1; }
  done
  echo
  echo "($mode) tiles: $n PNG tiles ($(du -sk "$work/out/hs" | cut -f1) KB), job $JOB_ID"
  printf '%-6s %-9s %10s %9s %8s\n' round server req/s p99_ms load1
  local ls=() ss=() rs=()
  for r in $(seq "$ROUNDS"); do
    wrk_run "$LBASE" "$work/tiles-l.txt"
    ls+=("$RPS")
    printf '%-6s %-9s %10s %9s %8s\n' "$r" lighttpd "$RPS" "$P99" "$(cut -d' ' -f1 /proc/loadavg)"
    wrk_run "$BASE" "$work/tiles-s.txt"
    ss+=("$RPS")
    rs+=("$(echo "scale=3; $RPS / ${ls[-1]}" | bc)")
    printf '%-6s %-9s %10s %9s %8s\n' "$r" swath "$RPS" "$P99" "$(cut -d' ' -f1 /proc/loadavg)"
  done
  local lm sm
  lm=$(printf '%s\n' "${ls[@]}" | median)
  sm=$(printf '%s\n' "${ss[@]}" | median)
  echo "median req/s: lighttpd $lm, swath $sm; swath / lighttpd $(echo "scale=3; $sm / $lm" | bc)" \
    "(pairs: ${rs[*]}; median $(printf '%s\n' "${rs[@]}" | median)); target >= 0.50"
  wrk_run "$BASE" "$work/status.txt"
  echo "($mode) GET /jobs/$JOB_ID: $RPS req/s, p99 $P99 ms"
}

lighttpd_started=0
# ---- (1)+(2) one machine -------------------------------------------------------
serve_start --jobs "$work/jobs.db"
post_job
lighttpd_start
measure_mode "one machine, --jobs"
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true

# ---- the same over the PostgreSQL queue ---------------------------------------
if [ "${SKIP_PG:-0}" != 1 ]; then
  pgbin=/usr/lib/postgresql/15/bin
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$work/pg"
    chown postgres "$work/pg"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$pgbin/initdb" -D "$work/pg/data" -A trust -U swath >/dev/null
  pgport=$(free_port)
  "${as[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  psql -h 127.0.0.1 -p "$pgport" -U swath -d postgres -qc "CREATE DATABASE swath" >/dev/null
  DB="host=127.0.0.1 port=$pgport user=swath dbname=swath"
  rm -rf "$work/out/hs"
  serve_start --db "$DB"
  "$swath" worker --db "$DB" --wait >"$work/worker.log" 2>&1 &
  PIDS+=($!)
  post_job
  measure_mode "PostgreSQL queue, --db"
fi

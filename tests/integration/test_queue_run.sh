#!/usr/bin/env bash
# test_queue_run.sh: a job drained from the PostgreSQL queue, through
# pgbouncer in transaction pooling, by several `swath worker` processes
# makes the same product as `swath run` of the job on one machine (issue
# 19, points 1-3 and 5):
#   - the tile trees are byte-identical (every file, same names) for jobs
#     with overviews (cells at the chosen zoom and at forced cell zooms)
#     and without (every zoom from the inputs), and the metadata describes
#     the same tiles;
#   - no staging folder or temporary file is left;
#   - `swath status JOB --json` says successful with every task finished,
#     each task completed exactly once in the queue's record;
#   - cancel: workers claim nothing of a cancelled job; retry --failed
#     queues failed tasks again; bad input gets one line and exit 2.
. "$(dirname "$0")/lib.sh"
require_swath
start_postgres
start_pgbouncer
DB="$PGB_CONN"

gen_dem "$WORK/data/dem.tif" --size 1024
# job NAME METATILING ZOOMS: a hillshade job (names starting "noov": every
# zoom from the inputs, no overviews).
job() {
  local extra=""
  case $1 in noov*) extra=", overviews: false" ;; esac
  cat >"$WORK/$1.yaml" <<EOF
process: hillshade
params: {azimuth: 315, altitude: 45}
inputs:
  dem: data/dem.tif
grid: {name: WebMercatorQuad, metatiling: $2, pixel_buffer: 1}
zoom: $3
output: {path: out/$1, format: PNG$extra}
EOF
}

# byte_identical A B: the same files (tiles and metadata) with the same bytes.
byte_identical() {
  "$PY" - "$1" "$2" <<'PY'
import hashlib, json, os, sys
a, b = sys.argv[1], sys.argv[2]
def files(root):
    out = {}
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".swath"]
        for f in fs:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = hashlib.md5(open(p, "rb").read()).hexdigest()
    return out
fa, fb = files(a), files(b)
tiles = [k for k in fa if k.endswith(".png")]
if not tiles:
    sys.exit("no tiles in " + a)
only = sorted(set(fa) ^ set(fb))
if only:
    sys.exit("files in one tree only: %s" % only[:5])
diff = [k for k in fa if k.endswith(".png") and fa[k] != fb[k]]
if diff:
    sys.exit("%d tiles differ, e.g. %s" % (len(diff), diff[:3]))
# Metadata: the same limits and zooms (paths and names may differ).
for m in ("tilejson.json",):
    if m in fa:
        ja, jb = json.load(open(os.path.join(a, m))), json.load(open(os.path.join(b, m)))
        for k in ("minzoom", "maxzoom", "bounds", "center"):
            if ja.get(k) != jb.get(k):
                sys.exit("%s: %s differs: %s vs %s" % (m, k, ja.get(k), jb.get(k)))
print("%d tiles byte-identical, %d files" % (len(tiles), len(fa)))
PY
}

# status_json ID: the job's status document.
status_json() { "$SWATH" status "$1" --db "$DB" --json; }

# drain NAME ID NWORKERS: run NWORKERS workers on job ID until they exit
# (with $DRAIN_FLAGS).
DRAIN_FLAGS=
drain() {
  local pids=() i
  for i in $(seq 1 "$3"); do
    "$SWATH" worker --db "$DB" --job "$2" --workers 1 --lease 10 $DRAIN_FLAGS >"$WORK/$1.w$i.log" 2>&1 &
    pids+=($!)
    track_bg $!
  done
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  return $rc
}

# queue_case NAME METATILING ZOOMS [submit flags...]
queue_case() {
  local name=$1 m=$2 zooms=$3
  shift 3
  job "$name-ref" "$m" "$zooms"
  job "$name-q" "$m" "$zooms"
  check_run "$name: swath run exits 0" 0 run "$WORK/$name-ref.yaml" --workers 2 --no-progress ||
    return
  run_swath submit "$WORK/$name-q.yaml" --db "$DB" "$@"
  local id
  id=$(tr -d '[:space:]' <"$WORK/run.out")
  check "$name: submit exits 0 and prints the job id" test "$RUN_RC" -eq 0 -a -n "$id" ||
    { echo "$(last_run_output)" | _detail; return; }
  check "$name: 3 workers drain the job and exit 0" drain "$name" "$id" 3
  status_json "$id" >"$WORK/$name.status.json"
  check_py "$name: status says done, every task finished once, 100%" "$WORK/$name.status.json" "$PG_LIBPQ" "$id" <<'EOF'
import json, subprocess, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "done", s
t = s["tasks"]
assert t["done"] + t["empty"] == t["total"] and t["failed"] == 0 and t["running"] == 0, t
assert s["progress"] == 100, s
out = subprocess.run(["psql", sys.argv[2], "-Atc",
    "SELECT count(*), sum(CASE WHEN completions = 1 THEN 1 ELSE 0 END) FROM swath_tasks WHERE job = %d" % int(sys.argv[3])],
    capture_output=True, text=True, check=True).stdout.strip().split("|")
assert out[0] == out[1] and int(out[0]) == t["total"], ("tasks completed other than once", out, t)
EOF
  check "$name: the tile tree is byte-identical to swath run's" byte_identical "$WORK/out/$name-ref" "$WORK/out/$name-q"
  check_eq "$name: no staging folder left" "" "$(ls -A "$WORK/out/$name-q/.swath/stage" 2>/dev/null)"
  check_eq "$name: no temporary file left" "" "$(tmp_files "$WORK/out/$name-q")"
}

queue_case ov 2 "[9, 14]"
queue_case ov-cells 2 "[9, 14]" --cell-zoom 11
# Claims in batches of 4 (a worker holds 4 leases, runs them in turn).
DRAIN_FLAGS="--batch 4"
queue_case ov-m1 1 "[10, 13]" --cell-zoom 12
DRAIN_FLAGS=
# Without overviews every metatile of every zoom is a task of its own.
queue_case noov 2 "[10, 13]"
# A remote input (an XYZ service on loopback), cold caches: tasks one after
# another in each worker fetch what they need (the fetch stage stops after
# each task; the next task must still fetch).
. "$(dirname "$0")/servers.sh"
gen_zurich "$WORK/data/zurich.tif" 1024
B=$(lonlat_bounds "$WORK/data/zurich.tif")
cat >"$WORK/tree.yaml" <<EOF
process: convert
inputs: {img: data/zurich.tif}
zoom: 15
output: {path: doc/xyz, format: PNG}
EOF
check_run "an XYZ tree to serve" 0 run "$WORK/tree.yaml" --no-progress
servers_start_lighttpd "$WORK/doc" >/dev/null || die "lighttpd starts"
for name in xyz-ref xyz-q; do
  cat >"$WORK/$name.yaml" <<EOF
process: convert
inputs:
  img: {type: xyz, url: "$SERVERS_URL/xyz/{z}/{x}/{y}.png", zoom: 15, empty_status: [404]}
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [11, 16]
area: {bounds: [$B], crs: EPSG:4326}
cache: {path: $WORK/cache-$name}
output: {path: out/$name, format: PNG}
EOF
done
check_run "xyz: swath run exits 0" 0 run "$WORK/xyz-ref.yaml" --no-progress
run_swath submit "$WORK/xyz-q.yaml" --db "$DB" --cell-zoom 14
XID=$(tr -d '[:space:]' <"$WORK/run.out")
check "xyz: 2 workers drain the job" drain xyz "$XID" 2
check_py "xyz: the job is done, no task failed" "$(status_json "$XID")" <<'EOF2'
import json, sys
s = json.loads(sys.argv[1])
assert s["state"] == "done" and s["tasks"]["failed"] == 0, s
EOF2
check "xyz: the tile tree is byte-identical to swath run's" byte_identical "$WORK/out/xyz-ref" "$WORK/out/xyz-q"

# ---- cancel, retry, bad input ----
job cancel 2 "[9, 13]"
run_swath submit "$WORK/cancel.yaml" --db "$DB"
CID=$(tr -d '[:space:]' <"$WORK/run.out")
check_run "cancel exits 0" 0 cancel "$CID" --db "$DB"
timeout 60 "$SWATH" worker --db "$DB" --job "$CID" --lease 5 >"$WORK/cancel.w.log" 2>&1
check_eq "a worker exits 0 at once on a cancelled job" 0 $?
check_py "a cancelled job: state cancelled, nothing claimed" "$(status_json "$CID")" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
assert s["state"] == "cancelled" and s["tasks"]["done"] == 0 and s["tasks"]["running"] == 0, s
EOF

# A job whose input is gone when the workers run: its tasks fail (one
# attempt each here), the job fails with the reason; once the input is
# back, retry --failed queues them again and the job finishes as swath run.
job retry-q 2 "[10, 12]"
job retry-ref 2 "[10, 12]"
run_swath submit "$WORK/retry-q.yaml" --db "$DB" --max-attempts 1
RID=$(tr -d '[:space:]' <"$WORK/run.out")
mv "$WORK/data/dem.tif" "$WORK/data/dem.away"
timeout 120 "$SWATH" worker --db "$DB" --job "$RID" --lease 5 >"$WORK/retry.w1.log" 2>&1
check_eq "a worker exits 0 once the job has failed" 0 $?
check_py "the job failed, its last error names the input" "$(status_json "$RID")" <<'EOF2'
import json, sys
s = json.loads(sys.argv[1])
assert s["state"] == "failed" and s["tasks"]["failed"] > 0, s
assert "dem.tif" in (s["last_error"] or ""), s["last_error"]
EOF2
mv "$WORK/data/dem.away" "$WORK/data/dem.tif"
check_run "retry --failed exits 0" 0 retry "$RID" --failed --db "$DB"
check "  and says how many it queued" grep -qE "[1-9][0-9]* failed task\(s\) queued again" "$WORK/run.err"
check "workers drain the retried job" drain retry "$RID" 2
check_py "the retried job is done" "$(status_json "$RID")" <<'EOF2'
import json, sys
s = json.loads(sys.argv[1])
assert s["state"] == "done" and s["tasks"]["failed"] == 0, s
EOF2
check_run "swath run of the same job exits 0" 0 run "$WORK/retry-ref.yaml" --no-progress
check "the retried job's tiles equal swath run's" byte_identical "$WORK/out/retry-ref" "$WORK/out/retry-q"

# Cancel while a worker runs a long task: the heartbeat finds the lease
# lost within a second or two, the task stops, its staged tiles are
# dropped, and the worker exits (its job has ended).
job slow 4 "[9, 17]"
run_swath submit "$WORK/slow.yaml" --db "$DB" --cell-zoom 9
SID=$(tr -d '[:space:]' <"$WORK/run.out")
"$SWATH" worker --db "$DB" --job "$SID" --workers 1 --lease 3 >"$WORK/slow.w.log" 2>&1 &
SPID=$!
track_bg $SPID
for _ in $(seq 1 100); do grep -q "set up" "$WORK/slow.w.log" && break; sleep 0.1; done
sleep 1
check_run "cancel of a running job exits 0" 0 cancel "$SID" --db "$DB"
t_cancel=$(date +%s.%N)
wait_s=""
for _ in $(seq 1 150); do
  if ! kill -0 $SPID 2>/dev/null; then wait_s=$(echo "$(date +%s.%N) - $t_cancel" | bc); break; fi
  sleep 0.1
done
check "the worker stopped its task and exited within 15 s of the cancel (${wait_s:-no}s)" test -n "$wait_s"
check "  its log says the lease was lost" grep -q "lease lost" "$WORK/slow.w.log"
check_py "  the cancelled job: no task done, none running" "$(status_json "$SID")" <<'EOF2'
import json, sys
s = json.loads(sys.argv[1])
assert s["state"] == "cancelled" and s["tasks"]["done"] == 0 and s["tasks"]["running"] == 0, s
EOF2
check_eq "  its staged tiles were dropped" "" "$(find "$WORK/out/slow/.swath/stage" -type f 2>/dev/null | head -3)"
check_eq "  and nothing reached the output" "" "$(tile_files "$WORK/out/slow" png | head -3)"

check_run "submit without a database: exit 2" 2 submit "$WORK/ov-q.yaml"
check "  names the missing --db" grep -q -- "--db" "$WORK/run.err"
check_run "submit to a server that is not there: exit 2" 2 submit "$WORK/ov-q.yaml" --db "host=127.0.0.1 port=1 user=swath dbname=swath connect_timeout=3"
check_eq "  one line" 1 "$(wc -l <"$WORK/run.err")"
check_run "status of a job that does not exist: exit 2" 2 status 999999 --db "$DB"
check_run "status with a bad job id: exit 2" 2 status 12x --db "$DB"
check_run "retry without --failed: exit 2" 2 retry "$CID" --db "$DB"
check_run "worker --lease 1: exit 2" 2 worker --db "$DB" --lease 1
check_run "submit --cell-zoom outside the zooms: exit 2" 2 submit "$WORK/ov-q.yaml" --db "$DB" --cell-zoom 3
n_before=$(tile_files "$WORK/out/ov-q" png | wc -l)
check_run "submit into an output folder that holds tiles: exit 2" 2 submit "$WORK/ov-q.yaml" --db "$DB"
check "  says so in one line" test "$(wc -l <"$WORK/run.err")" = 1 -a -n "$(grep 'already holds tiles' "$WORK/run.err")"
check_eq "  and leaves the tiles alone" "$n_before" "$(tile_files "$WORK/out/ov-q" png | wc -l)"
check_run "submit --overwrite into it exits 0" 0 submit "$WORK/ov-q.yaml" --db "$DB" --overwrite
check_eq "  and deleted the tiles first" 0 "$(tile_files "$WORK/out/ov-q" png | wc -l)"
# A worker for any job drains what is left (the job just resubmitted with
# --overwrite) and exits once no job is queued or running.
timeout 120 "$SWATH" worker --db "$DB" --workers 1 >"$WORK/any.w.log" 2>&1
check_eq "a worker for any job exits 0 once nothing is queued or running" 0 $?
check "  after draining the job left queued" test "$(tile_files "$WORK/out/ov-q" png | wc -l)" = "$n_before"

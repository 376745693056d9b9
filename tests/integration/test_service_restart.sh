#!/usr/bin/env bash
# test_service_restart.sh: `kill -9` of `swath serve` while its posted jobs
# run (issue 20, point 5). Three async jobs are posted, workers drain them;
# the server is killed with SIGKILL mid-way and started again on the same
# queue: every job is still listed under the same id, the workers go on,
# each job finishes successful; the queue holds exactly three jobs (none
# lost, none duplicated) and each output is byte-identical to a `swath run`
# of the same job (the reference).
. "$(dirname "$0")/lib.sh"
require_swath
start_postgres
DB="$PG_LIBPQ"
mkdir -p "$WORK/in" "$WORK/out"
gen_dem "$WORK/in/dem.tif" --size 1024

start_serve() {
  "$SWATH" serve --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" --port 0 --sync-tiles 0 \
    2>"$WORK/serve$1.log" &
  SERVE_PID=$!
  track_bg $SERVE_PID
  PORT=$(serve_port "$WORK/serve$1.log")
  [ -n "$PORT" ] || die "server started ($1)" "$(cat "$WORK/serve$1.log")"
  BASE=http://127.0.0.1:$PORT
}
start_serve 1
IDS=()
for n in 1 2 3; do
  JOB="{\"inputs\": {\"params\": {\"azimuth\": $((100 * n))}, \"inputs\": {\"dem\": \"dem.tif\"},
        \"grid\": {\"name\": \"WebMercatorQuad\", \"metatiling\": 1}, \"zoom\": [9, 13],
        \"output\": {\"path\": \"hs$n\", \"format\": \"PNG\"}}}"
  id=$(curl -s -X POST -H 'Prefer: respond-async' -H 'Content-Type: application/json' \
    --data-binary "$JOB" "$BASE/processes/hillshade/execution" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jobID"])')
  [ -n "$id" ] || die "job $n posted"
  IDS+=("$id")
  echo "$JOB" >"$WORK/job$n.json"
done
pass "three async jobs posted: ${IDS[*]}"
"$SWATH" worker --db "$DB" --workers 2 >"$WORK/worker.log" 2>&1 &
WPID=$!
track_bg $WPID
# wait for progress, then kill the server with SIGKILL
for _ in $(seq 1 200); do
  n=$(find "$WORK/out" -name '*.png' | wc -l)
  [ "$n" -gt 20 ] && break
  sleep 0.1
done
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
check "the server was killed while jobs ran" eval "! kill -0 $SERVE_PID 2>/dev/null"
start_serve 2
py_checks "$BASE" "${IDS[@]}" <<'EOF'
import json, sys, urllib.request
import swt
base, ids = sys.argv[1], sys.argv[2:]
jobs = json.load(urllib.request.urlopen(base + "/jobs?limit=100"))["jobs"]
listed = [j["jobID"] for j in jobs]
swt.check("after the restart every job is listed under its id, once", sorted(listed) == sorted(ids), listed)
st = [j["status"] for j in jobs]
swt.check("some job was not finished when the server died", any(s != "successful" for s in st), st)
EOF
wait "$WPID"
check_eq "the workers drained the queue" 0 $?
py_checks "$BASE" "${IDS[@]}" <<'EOF'
import json, sys, urllib.request
import swt
base, ids = sys.argv[1], sys.argv[2:]
for i in ids:
    d = json.load(urllib.request.urlopen(base + "/jobs/" + i))
    swt.check("job %s successful, 100%%" % i, d["status"] == "successful" and d["progress"] == 100, d)
EOF
check_eq "the queue holds exactly the three jobs" 3 \
  "$(psql -h 127.0.0.1 -p "$PG_PORT" -U swath -d swath -Atc 'SELECT count(*) FROM swath_jobs')"
for n in 1 2 3; do
  "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))["inputs"]
d["process"] = "hillshade"
d["inputs"]["dem"] = sys.argv[2] + "/in/dem.tif"
d["output"]["path"] = sys.argv[2] + "/ref%s" % sys.argv[3]
print(json.dumps(d))' "$WORK/job$n.json" "$WORK" "$n" >"$WORK/ref$n.yaml"
  run_swath run "$WORK/ref$n.yaml" --no-progress
  [ "$RUN_RC" -eq 0 ] || die "swath run of job $n" "$(last_run_output)"
  check_same_tiles "job $n's tiles are byte-identical to swath run's" "$WORK/ref$n" "$WORK/out/hs$n"
done

#!/usr/bin/env bash
# test_service_local.sh: OGC API - Processes on one machine (issue 20):
# `swath serve --jobs FILE --outputs DIR`, the jobs in a SQLite file, run
# by the server's own runners with the ordinary engine; no PostgreSQL.
#   - an async job runs to successful (progress 100), its results name the
#     output, its tiles byte-identical to `swath run` of the same job; a
#     sync job answers 200 with its results, even while the one runner is
#     busy with a long job (the request's thread runs it);
#   - /jobs paging (limit, next) and status filter;
#   - a long job shows running with 0 < progress < 100 and tiles written;
#     DELETE dismisses it, its run stops within a few seconds (no tile
#     written after), the runner goes on to the next job;
#   - a detection job (the committed solar model): features.gpkg the same
#     features as `swath run`'s;
#   - kill -9 of the server while a job runs, restart: the job resumes and
#     finishes once (one "done" in both logs), tiles identical to `swath
#     run`'s;
#   - bad input, one line and exit 2: --jobs with --db, an unwritable jobs
#     file, a folder, a newer schema, a file of something else, a second
#     server on the same file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/detect_lib.sh"
require_swath

mkdir -p "$WORK/in" "$WORK/out"
gen_dem "$WORK/in/dem.tif" --size 512
gen_dem "$WORK/in/big.tif" --size 2048
detect_scene
cp "$MODEL" "$WORK/data/solar.onnx"
JOBS="$WORK/jobs.db"

# serve LOG: a server on $JOBS in the background; sets PORT, BASE, SERVE_PID.
serve() {
  : >"$WORK/$1"
  "$SWATH" serve --jobs "$JOBS" --outputs "$WORK/out" --inputs "$WORK/in" --inputs "$WORK/data" \
    --port 0 --threads 4 --sync-tiles 64 --workers 1 2>"$WORK/$1" &
  SERVE_PID=$!
  track_bg $SERVE_PID
  PORT=$(serve_port "$WORK/$1")
  [ -n "$PORT" ] || die "server started" "$(cat "$WORK/$1")"
  BASE=http://127.0.0.1:$PORT
}
serve serve1.log

# post NAME PROCESS BODY [HEADER]: status in $WORK/NAME.code, body in .json.
post() {
  local extra=()
  [ -n "${4:-}" ] && extra=(-H "$4")
  curl -s -o "$WORK/$1.json" -D "$WORK/$1.hdr" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' "${extra[@]}" --data-binary "$3" \
    "$BASE/processes/$2/execution" >"$WORK/$1.code"
}
code() { cat "$WORK/$1.code"; }
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/$1.json" "$2"; }
# status ID EXPR: EXPR over the job's status document d
status() { curl -s "$BASE/jobs/$1" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"; }
# wait_for ID EXPR SECONDS: until EXPR over the status is True; prints it
wait_for() {
  local got=
  for _ in $(seq 1 $(($3 * 10))); do
    got=$(status "$1" "$2" 2>/dev/null)
    [ "$got" = True ] && break
    sleep 0.1
  done
  echo "$got"
}
# ref_job JSON OUT: the posted job as a job file for swath run (absolute paths)
ref_job() {
  "$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
d["process"] = sys.argv[2]
for k, v in d["inputs"].items():
    if isinstance(v, str) and not v.startswith("/"): d["inputs"][k] = sys.argv[3] + "/in/" + v
d["output"]["path"] = sys.argv[4]
print(json.dumps(d))' "$1" "$2" "$WORK" "$3"
}

# ---- an async job, run by the server's runner ----
JOB='{"params": {"azimuth": 315, "altitude": 45}, "inputs": {"dem": "dem.tif"},
      "grid": {"name": "WebMercatorQuad", "metatiling": 2, "pixel_buffer": 1},
      "zoom": [9, 12], "output": {"path": "hs", "format": "PNG"}}'
post async hillshade "{\"inputs\": $JOB}" 'Prefer: respond-async'
check_eq "async execution: 201" 201 "$(code async)"
ID=$(jget async 'd["jobID"]')
LOC=$(sed -n 's/^Location: *\([^[:space:]]*\).*/\1/Ip' "$WORK/async.hdr")
check_eq "async execution: Location is /jobs/{id}" "$BASE/jobs/$ID" "$LOC"
check_eq "the runner runs it to successful" True \
  "$(wait_for "$ID" 'd["status"] == "successful"' 60)"
check_eq "status: 100%, the tiles written counted" "100 True" \
  "$(status "$ID" '"%s %s" % (d["progress"], d["swath"]["tiles_written"] > 0)')"
curl -s "$BASE/jobs/$ID/results" >"$WORK/res.json"
check_eq "results: the output's tilejson" "file://$WORK/out/hs/tilejson.json" "$(jget res 'd["tilejson"]["href"]')"
ref_job "$JOB" hillshade "$WORK/ref" >"$WORK/job.yaml"
check_run "swath run of the same job" 0 run "$WORK/job.yaml" --no-progress
check_same_tiles "the posted job's tiles are byte-identical to swath run's" "$WORK/ref" "$WORK/out/hs"

# ---- a long job: progress, a sync job beside it, cancel ----
LONG='{"inputs": {"params": {}, "inputs": {"dem": "big.tif"}, "grid": {"name": "WebMercatorQuad", "metatiling": 1},
        "zoom": [9, 18], "output": {"path": "long", "format": "PNG"}}}'
post long hillshade "$LONG" 'Prefer: respond-async'
LID=$(jget long 'd["jobID"]')
check_eq "a long job: accepted" 201 "$(code long)"
post next hillshade "{\"inputs\": $(echo "$JOB" | sed 's/"hs"/"next"/')}" 'Prefer: respond-async'
NID=$(jget next 'd["jobID"]')
check_eq "a long job is running with progress between 0 and 100 and tiles written" True \
  "$(wait_for "$LID" 'd["status"] == "running" and 0 < d["progress"] < 100 and d["swath"]["tiles_written"] > 0' 60)"
check_eq "the job queued behind it waits (one runner)" accepted "$(status "$NID" 'd["status"]')"
SMALL='{"inputs": {"params": {}, "inputs": {"dem": "dem.tif"}, "zoom": 9, "output": {"path": "small", "format": "PNG"}}}'
post sync hillshade "$SMALL"
check_eq "sync execution while the runner is busy: 200" 200 "$(code sync)"
check_eq "sync execution: the results name the output" "$WORK/out/small" "$(jget sync 'd["output"]["value"]["path"]')"
check "sync execution: tiles written" test -n "$(tile_files "$WORK/out/small" png)"
T0=$(date +%s.%N)
curl -s -X DELETE "$BASE/jobs/$LID" -o "$WORK/del.json"
check_eq "DELETE /jobs/{id} of the running job: dismissed" dismissed "$(jget del 'd["status"]')"
check_eq "its run stops within 3 s (no runner on it)" True \
  "$(wait_for "$LID" 'd["swath"]["workers_alive"] == 0' 3)"
echo "# the run stopped $(echo "$(date +%s.%N) - $T0" | bc) s after the DELETE (polled every 0.1 s)"
N1=$(tile_files "$WORK/out/long" png | wc -l)
check_eq "the runner goes on to the next job" True \
  "$(wait_for "$NID" 'd["status"] == "successful"' 60)"
sleep 1
check_eq "no tile of the dismissed job written after it stopped ($N1)" "$N1" \
  "$(tile_files "$WORK/out/long" png | wc -l)"
check_eq "the dismissed job stays dismissed" dismissed "$(status "$LID" 'd["status"]')"
check_eq "DELETE of a successful job: 400" 400 \
  "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$BASE/jobs/$ID")"

# ---- paging and status filter over the 5 jobs ----
py_checks "$BASE" "$LID" <<'EOF'
import json, sys, urllib.request
import swt
base = sys.argv[1]
def get(u):
    with urllib.request.urlopen(u) as r:
        return json.load(r)
seen, url, pages = [], base + "/jobs?limit=2", 0
while url and pages < 10:
    d = get(url)
    pages += 1
    seen += [int(j["jobID"]) for j in d["jobs"]]
    url = next((l["href"] for l in d["links"] if l["rel"] == "next"), None)
swt.check("paging: limit=2 pages cover every job once, newest first",
          seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 4 and pages == 2,
          (seen, pages))
d = get(base + "/jobs?status=dismissed")
swt.check("status filter: dismissed", [j["jobID"] for j in d["jobs"]] == [sys.argv[2]], d["jobs"])
d = get(base + "/jobs?status=successful,failed")
swt.check("status filter: successful", len(d["jobs"]) == 3 and all(j["status"] == "successful" for j in d["jobs"]),
          [j["status"] for j in d["jobs"]])
land = get(base + "/")
swt.check("landing: says the jobs run on this machine", "this machine" in land["description"], land["description"])
EOF

# ---- a detection job: features as swath run finds them ----
DET="{\"params\": {\"model\": \"$WORK/data/solar.onnx\", \"kind\": \"detection\",
  \"chip\": {\"size\": 256, \"overlap\": 64}, \"bands\": [1, 2, 3],
  \"normalize\": {\"scale\": 0.00392157, \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]},
  \"classes\": [\"solar_panel\"], \"min_score\": 0.05},
  \"inputs\": {\"imagery\": \"$WORK/data/scene.tif\"}, \"grid\": {\"name\": \"WebMercatorQuad\", \"metatiling\": 4},
  \"zoom\": 19, \"output\": {\"path\": \"det\"}}"
post det detect "{\"inputs\": $DET}" 'Prefer: respond-async'
check_eq "a detection job: 201" 201 "$(code det)"
DID=$(jget det 'd["jobID"]')
check_eq "the detection job runs to successful" True \
  "$(wait_for "$DID" 'd["status"] == "successful"' 120)"
curl -s "$BASE/jobs/$DID/results" >"$WORK/dres.json"
check_eq "its results name the features" "file://$WORK/out/det/features.gpkg" "$(jget dres 'd["features"]["href"]')"
ref_job "$DET" detect "$WORK/detref" >"$WORK/det.yaml"
check_run "swath run of the same detection job" 0 run "$WORK/det.yaml" --no-progress
check_py "the posted detection job's features are swath run's" "$WORK/detref/features.gpkg" \
  "$WORK/out/det/features.gpkg" <<'EOF'
import sys
import feat
a, b = feat.load(sys.argv[1]), feat.load(sys.argv[2])
why = feat.same(a, b)
assert not why, why
print(len(a), "features")
EOF

# ---- kill -9 while a job runs, restart: it resumes and finishes once ----
KJ='{"params": {}, "inputs": {"dem": "big.tif"}, "grid": {"name": "WebMercatorQuad", "metatiling": 1},
     "zoom": [9, 16], "output": {"path": "killed", "format": "PNG"}}'
post kill hillshade "{\"inputs\": $KJ}" 'Prefer: respond-async'
KID=$(jget kill 'd["jobID"]')
check_eq "the job to kill is running, partly done" True \
  "$(wait_for "$KID" 'd["status"] == "running" and 5 < d["progress"] < 60' 60)"
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
PART=$(tile_files "$WORK/out/killed" png | wc -l)
serve serve2.log
check_eq "after the restart the job resumes and finishes" True \
  "$(wait_for "$KID" 'd["status"] == "successful" and d["progress"] == 100' 120)"
check_eq "it ran once after the restart and ended once in all" "1 1" \
  "$(grep -c "job $KID: running" "$WORK/serve2.log") $(cat "$WORK/serve1.log" "$WORK/serve2.log" | grep -c "job $KID: done")"
check "the second run resumed (it found tasks already done)" \
  grep -q "[1-9][0-9]* already done" "$WORK/serve2.log"
check "tiles were there before the restart ($PART)" test "$PART" -gt 0
ref_job "$KJ" hillshade "$WORK/killref" >"$WORK/kill.yaml"
check_run "swath run of the killed job" 0 run "$WORK/kill.yaml" --no-progress
check_same_tiles "the resumed job's tiles are byte-identical to swath run's" "$WORK/killref" "$WORK/out/killed"
check_eq "no job lost or added by the kill" 6 "$(curl -s "$BASE/jobs?limit=100" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')"
# /metrics counts the jobs file's jobs by state, as the job list has them
curl -s "$BASE/jobs?limit=100" >"$WORK/all.json"
curl -s "$BASE/metrics" >"$WORK/metrics.txt"
check_py "/metrics: swath_jobs by state equals the job list's statuses" "$WORK" <<'EOF'
import json, re, sys
w = sys.argv[1]
names = {"queued": "accepted", "planning": "accepted", "running": "running", "done": "successful",
         "failed": "failed", "cancelled": "dismissed"}
got = {}
for m in re.finditer(r'^swath_jobs\{state="(\w+)"\} (\d+)$', open(w + "/metrics.txt").read(), re.M):
    got[names[m.group(1)]] = got.get(names[m.group(1)], 0) + int(m.group(2))
want = {}
for j in json.load(open(w + "/all.json"))["jobs"]:
    want[j["status"]] = want.get(j["status"], 0) + 1
got = {k: v for k, v in got.items() if v}
if got != want: sys.exit("metrics %r, job list %r" % (got, want))
EOF

# ---- bad input: one line, exit 2 ----
# bad NAME WANT_IN_MESSAGE ARGS...
bad() {
  local name=$1 want=$2
  shift 2
  timeout 20 "$SWATH" serve "$@" --port 0 >"$WORK/bad.out" 2>"$WORK/bad.err"
  local rc=$?
  if [ "$rc" = 2 ] && [ "$(wc -l <"$WORK/bad.err")" = 1 ] && grep -q -- "$want" "$WORK/bad.err"; then
    pass "$name"
  else
    fail "$name" "exit $rc (want 2), want one line with '$want'" "$(cat "$WORK/bad.err")"
  fi
}
bad "--jobs and --db: refused" "exclude each other" --jobs "$WORK/j2.db" --db postgresql://x/y --outputs "$WORK/out"
bad "--jobs without --outputs" "needs --outputs" --jobs "$WORK/j2.db"
bad "--features-db with --jobs" "is for the PostgreSQL queue" --jobs "$WORK/j2.db" --outputs "$WORK/out" --features-db dbname=x
bad "--workers without --jobs" "needs --jobs" --db postgresql://x/y --outputs "$WORK/out" --workers 2
bad "--workers 0" "--workers" --jobs "$WORK/j2.db" --outputs "$WORK/out" --workers 0
bad "a jobs file in a missing folder" "cannot write" --jobs "$WORK/nope/jobs.db" --outputs "$WORK/out"
bad "a folder as jobs file" "cannot write" --jobs "$WORK/in" --outputs "$WORK/out"
bad "a second server on the same jobs file" "in use by another" --jobs "$JOBS" --outputs "$WORK/out"
echo "not a database at all, just text" >"$WORK/text.db"
bad "a file that is not SQLite" "not a swath jobs file" --jobs "$WORK/text.db" --outputs "$WORK/out"
"$PY" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE t(x)"); c.commit()' "$WORK/other.db"
bad "a SQLite file of something else" "not a swath jobs file" --jobs "$WORK/other.db" --outputs "$WORK/out"
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
check_eq "the server stopped (SIGTERM) left every job's state in the file" \
  "done,cancelled,done,done,done,done" \
  "$("$PY" -c 'import sqlite3,sys; print(",".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT state FROM jobs ORDER BY id")))' "$JOBS")"
cp "$JOBS" "$WORK/newer.db"
"$PY" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE meta SET value = 99 WHERE key = \"schema_version\""); c.commit()' "$WORK/newer.db"
bad "a newer schema: refused naming both versions" "schema version 99 is newer than this build's 1" \
  --jobs "$WORK/newer.db" --outputs "$WORK/out"

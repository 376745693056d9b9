#!/usr/bin/env bash
# test_queue_detect.sh: a detection job drained from the queue (issue 19
# with issue 18's detect process): two workers through pgbouncer store
# the same features in PostGIS as `swath run` stores in a GeoPackage
# (count, class, tile, geometry within 1 mm, score), none twice, and the
# job's FINISH task builds the same heatmap as `swath run`; a queued
# detection job whose features go to a file is refused (one line, exit 2:
# workers on many machines cannot share a GeoPackage).
. "$(dirname "$0")/lib.sh"
require_swath
. "$SWATH_SRC/tests/integration/detect_lib.sh"
detect_scene
start_postgres
start_pgbouncer
HM='heatmap: {zoom: [15, 17], cell: 20m}'
detect_job ref 2 "" "$HM"
detect_job q 2 "" "features: \"$PG_CONN\", $HM"
check_run "swath run into a GeoPackage exits 0" 0 run "$WORK/ref.yaml" --no-progress
run_swath submit "$WORK/q.yaml" --db "$PGB_CONN"
ID=$(tr -d '[:space:]' <"$WORK/run.out")
check "submit exits 0 with a job id" test "$RUN_RC" -eq 0 -a -n "$ID"
pids=()
for i in 1 2; do
  "$SWATH" worker --db "$PGB_CONN" --job "$ID" --workers 1 >"$WORK/w$i.log" 2>&1 &
  pids+=($!)
  track_bg $!
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
check_eq "two workers drain the job and exit 0" 0 "$rc"
check_py "the job is done" "$("$SWATH" status "$ID" --db "$PGB_CONN" --json)" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
assert s["state"] == "done" and s["tasks"]["failed"] == 0, s
PY
check_py "PostGIS holds swath run's features, none twice" "$WORK" "$PG_CONN" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a = feat.load(sys.argv[1] + "/out/ref/features.gpkg")
b = feat.load(sys.argv[2])
print(len(a), "features")
assert a, "no features at all"
why = feat.same(a, b, tol=1e-3)
if why: sys.exit(why)
PY
check_py "the FINISH task built the heatmap, tile for tile swath run's" "$WORK/out" <<'PY'
import os, sys
def tiles(d):
    return {os.path.relpath(os.path.join(r, f), d): open(os.path.join(r, f), "rb").read()
            for r, _, fs in os.walk(d) for f in fs if f.endswith(".png")}
a, b = tiles(sys.argv[1] + "/ref/heatmap"), tiles(sys.argv[1] + "/q/heatmap")
print(len(a), "heatmap tiles")
assert a, "swath run built no heatmap tiles"
assert a == b, "differ: %s" % sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))[:5]
PY
detect_job file 2
run_swath submit "$WORK/file.yaml" --db "$PGB_CONN"
check_eq "a queued detection job with features in a file: exit 2, one line naming PostGIS" \
  "2 1 yes" "$RUN_RC $(wc -l <"$WORK/run.err") $(grep -q 'PostGIS' "$WORK/run.err" && echo yes)"

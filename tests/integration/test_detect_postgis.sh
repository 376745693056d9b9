#!/usr/bin/env bash
# test_detect_postgis.sh: issue 18, point 6: the features store in PostGIS
# (output.features: a PG: connection, through OGR's PG driver), on a
# throwaway PostgreSQL started here.
#   - a detect run into PostGIS stores the same features as one into a
#     GeoPackage (count, class, tile, geometry within 1 mm, score);
#   - a second run of the same job changes nothing (resume: no feature twice);
#   - --overwrite rewrites them: the same features again, none twice;
#   - another job into the same PostGIS table is refused (exit 2, one line);
#   - swath export reads the store through the output folder's job.yaml.
. "$(dirname "$0")/lib.sh"
require_swath

. "$SWATH_SRC/tests/integration/detect_lib.sh"
detect_scene
start_postgres
detect_job gpkg 8
detect_job pg 8 "" "features: \"$PG_CONN\""
check_run "a run into a GeoPackage exits 0" 0 run "$WORK/gpkg.yaml"
check_run "a run into PostGIS exits 0" 0 run "$WORK/pg.yaml"

same_as_gpkg() {
  check_py "$1" "$WORK" "$PG_CONN" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a = feat.load(sys.argv[1] + "/out/gpkg/features.gpkg")
why = feat.same(a, feat.load(sys.argv[2]), tol=1e-3)
print(len(a), "features")
if why: sys.exit(why)
EOF
}
same_as_gpkg "PostGIS holds the GeoPackage's features"
check_run "a second run of the job exits 0" 0 run "$WORK/pg.yaml"
same_as_gpkg "after a second run: the same features, none twice"
check_run "--overwrite exits 0" 0 run --overwrite "$WORK/pg.yaml"
same_as_gpkg "after --overwrite: the same features, none twice"

detect_job other 8 "" "features: \"$PG_CONN\"" "" 0.1
run_swath run "$WORK/other.yaml"
check_eq "another job into the same PostGIS store: exit 2, one line naming it" \
  "2 1 yes" "$RUN_RC $(wc -l <"$WORK/run.err") $(grep -q 'another job' "$WORK/run.err" && echo yes)"

run_swath export "$WORK/out/pg" --format geojson --threshold 0
check_py "swath export reads PostGIS through the output folder's job.yaml" "$WORK/run.out" "$WORK" \
  "$PG_CONN" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[2])
import feat
n = len(json.load(open(sys.argv[1]))["features"])
want = len(feat.load(sys.argv[3]))
print(n, "features exported")
if n != want: sys.exit("exported %d of %d" % (n, want))
EOF

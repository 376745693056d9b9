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

MODEL="$SWATH_SRC/models/solar/solar.onnx"
[ -f "$MODEL" ] || die "the committed model is there" "missing: $MODEL"
"$PY" "$SWATH_SRC/tests/integration/detect_scene.py" "$WORK/data" >"$WORK/scene.txt" ||
  die "scene generated" "$(cat "$WORK/scene.txt")"
start_postgres

# job NAME FEATURES [MIN_SCORE]
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: detect
params:
  model: $MODEL
  chip: {size: 256, overlap: 64}
  normalize: {scale: 0.00392157, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  classes: [solar_panel]
  min_score: ${3:-0.05}
inputs:
  imagery: data/scene.tif
grid: {name: WebMercatorQuad, metatiling: 8}
zoom: 19
output: {path: out/$1${2:+, features: "$2"}}
EOF
}
job gpkg ""
job pg "$PG_CONN"
check_run "a run into a GeoPackage exits 0" 0 run "$WORK/gpkg.yaml"
check_run "a run into PostGIS exits 0" 0 run "$WORK/pg.yaml"

cat >"$WORK/feat.py" <<'EOF'
from osgeo import ogr
def load(src):
    ds = ogr.Open(src)
    out = []
    for f in ds.GetLayer("features"):
        e = f.GetGeometryRef().GetEnvelope()
        out.append((f["class"], (f["z"], f["x"], f["y"]), tuple(round(v, 3) for v in e),
                    round(f["score"], 6), f["task"]))
    return sorted(out)
EOF
same_as_gpkg() {
  check_py "$1" "$WORK" "$PG_CONN" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a, b = feat.load(sys.argv[1] + "/out/gpkg/features.gpkg"), feat.load(sys.argv[2])
print(len(a), "features")
if not a or a != b:
    sys.exit("GeoPackage %d features, PostGIS %d; first difference %r" % (
        len(a), len(b), next((x for x in zip(a, b) if x[0] != x[1]), None)))
EOF
}
same_as_gpkg "PostGIS holds the GeoPackage's features"
check_run "a second run of the job exits 0" 0 run "$WORK/pg.yaml"
same_as_gpkg "after a second run: the same features, none twice"
check_run "--overwrite exits 0" 0 run --overwrite "$WORK/pg.yaml"
same_as_gpkg "after --overwrite: the same features, none twice"

job other "$PG_CONN" 0.1
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

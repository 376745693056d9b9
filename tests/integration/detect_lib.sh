# shellcheck shell=bash
# detect_lib.sh: what the detect tests share (source after lib.sh).
#
#   detect_scene           the border scene (detect_scene.py) into $WORK/data;
#                          sets TX0 TY0 NT (its first tile and width in tiles)
#   detect_job NAME MT [MODEL] [OUTPUT_EXTRA] [AREA] [MIN_SCORE]
#                          $WORK/NAME.yaml: the committed model (or MODEL, a
#                          YAML value) over data/scene.tif at z19, metatiling
#                          MT, into out/NAME (OUTPUT_EXTRA: more output keys,
#                          e.g. 'features: "PG:..."'; AREA: an area mapping)
#   $WORK/feat.py          feat.load(PATH) the features of a store, sorted;
#                          feat.same(A, B): '' or why they differ (count,
#                          class, owning tile, envelope within TOL m (0.3),
#                          scores within 1e-5)
MODEL="$SWATH_SRC/models/solar/solar.onnx"
[ -f "$MODEL" ] || die "the committed model is there" "missing: $MODEL"

detect_scene() {
  "$PY" "$SWATH_SRC/tests/integration/detect_scene.py" "$WORK/data" >"$WORK/scene.txt" ||
    die "scene generated" "$(cat "$WORK/scene.txt")"
  read -r TX0 TY0 NT <"$WORK/scene.txt"
}

detect_job() {
  cat >"$WORK/$1.yaml" <<EOF_JOB
process: detect
params:
  model: ${3:-$MODEL}
  kind: detection
  chip: {size: 256, overlap: 64}
  bands: [1, 2, 3]
  normalize: {scale: 0.00392157, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  classes: [solar_panel]
  min_score: ${6:-0.05}
inputs:
  imagery: data/scene.tif
grid: {name: WebMercatorQuad, metatiling: $2}
zoom: 19
${5:+area: $5}
output: {path: out/$1${4:+, $4}}
EOF_JOB
}

cat >"$WORK/feat.py" <<'EOF_PY'
from osgeo import ogr
def load(path):
    """Sorted features: (class, tile, envelope, score)."""
    ds = ogr.Open(path)
    out = []
    for f in ds.GetLayer("features"):
        e = f.GetGeometryRef().GetEnvelope()
        out.append((f["class"], (f["z"], f["x"], f["y"]), e, f["score"]))
    return sorted(out, key=lambda t: (t[1], round(t[2][0], 1), round(t[2][2], 1)))
def same(a, b, tol=0.3):
    """'' if a and b are the same features, else why not."""
    if len(a) != len(b) or not a:
        return "%d features, not %d" % (len(b), len(a))
    for x, y in zip(a, b):
        if x[0] != y[0] or x[1] != y[1] or abs(x[3] - y[3]) > 1e-5 or \
                max(abs(u - v) for u, v in zip(x[2], y[2])) > tol:
            return "differ: %r vs %r" % (x, y)
    return ""
EOF_PY

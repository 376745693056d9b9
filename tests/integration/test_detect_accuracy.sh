#!/usr/bin/env bash
# test_detect_accuracy.sh: issue 18, point 5: the committed model, run by
# `swath run` (the detect process: chips, decoding, suppression, ownership)
# over held-out generated scenes (models/solar/scenes.py seeds 9000 and
# 9001, never trained on: MODEL_CARD.md), finds the panels with precision
# and recall >= 0.9 at IoU 0.5 and score 0.5.
. "$(dirname "$0")/lib.sh"
require_swath

for seed in 9000 9001; do
  "$PY" "$SWATH_SRC/models/solar/scenes.py" --seed $seed --size 2048 --origin 949000,6004000 \
    --out "$WORK/data" >/dev/null || die "scene $seed generated"
  cat >"$WORK/s$seed.yaml" <<EOF
process: detect
params:
  model: $SWATH_SRC/models/solar/solar.onnx
  chip: {size: 256, overlap: 64}
  normalize: {scale: 0.00392157, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  classes: [solar_panel]
inputs:
  imagery: data/scene_$seed.tif
grid: {name: WebMercatorQuad, metatiling: 8}
zoom: 19
output: {path: out/s$seed}
EOF
  check_run "seed $seed: the run exits 0" 0 run "$WORK/s$seed.yaml"
done

py_checks "$WORK" <<'EOF'
import json, sys
from osgeo import ogr
sys.path.insert(0, sys.argv[1])
import swt
w = sys.argv[1]
def iou(a, b):
    x = min(a[1], b[1]) - max(a[0], b[0]); y = min(a[3], b[3]) - max(a[2], b[2])
    if x <= 0 or y <= 0: return 0
    i = x * y
    return i / ((a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - i)
tp = nd = nt = 0
for seed in (9000, 9001):
    truth = []
    for f in json.load(open("%s/data/scene_%d.geojson" % (w, seed)))["features"]:
        r = f["geometry"]["coordinates"][0]
        truth.append((min(p[0] for p in r), max(p[0] for p in r), min(p[1] for p in r), max(p[1] for p in r)))
    ds = ogr.Open("%s/out/s%d/features.gpkg" % (w, seed))
    lyr = ds.GetLayer("features")
    lyr.SetAttributeFilter("score >= 0.5")
    det = sorted(((f["score"], f.GetGeometryRef().GetEnvelope()) for f in lyr), reverse=True)
    used = set()
    for _, d in det:  # greedy matching, highest score first
        best, bj = 0.5, -1
        for j, t in enumerate(truth):
            if j not in used and iou(d, t) >= best:
                best, bj = iou(d, t), j
        if bj >= 0:
            used.add(bj)
    tp += len(used); nd += len(det); nt += len(truth)
p, r = tp / max(nd, 1), tp / max(nt, 1)
print("panels %d, detections %d, matched %d: precision %.4f, recall %.4f" % (nt, nd, tp, p, r))
swt.check("precision >= 0.9 at IoU 0.5, score 0.5 (%.4f)" % p, p >= 0.9)
swt.check("recall >= 0.9 at IoU 0.5, score 0.5 (%.4f)" % r, r >= 0.9)
EOF

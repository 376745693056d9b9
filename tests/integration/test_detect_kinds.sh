#!/usr/bin/env bash
# test_detect_kinds.sh: issue 18, point 3: the `segmentation` and
# `classification` kinds (docs/models.md), with small ONNX models written
# here (python3-onnx) whose outputs are known functions of the pixels:
#   segmentation: p = sigmoid(20 * (band1 / 255 - 0.5)), one class: bright
#     rectangles (220 on 20) of a generated z17 raster, some across tile
#     and metatile borders, come back as one polygon each with the
#     rectangle's extent (within 1e-6 m), score ~1, for metatiling 1 and 4
#     alike; none twice;
#   classification: score = sigmoid(4 * mean(band1 / 255) - 2) per chip;
#     with 256-pixel chips, overlap 0, a chip is an output tile: every
#     tile's feature is its tile's square and its score equals numpy's on
#     the tile within 2e-4 (float32 averaging in the model); `swath export
#     --tiles --format csv` lists them.
. "$(dirname "$0")/lib.sh"
require_swath

py "$WORK" <<'EOF'
import sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
from osgeo import gdal, osr
w = sys.argv[1]
H = 20037508.342789244
res = 2 * H / (256 << 17)
tx0, ty0 = 68608, 45872          # multiples of 4: metatile borders at 512 px
n = 1024
img = np.full((3, n, n), 20, np.uint8)
rects = [(100, 100, 160, 140), (230, 500, 290, 530), (490, 490, 540, 540), (600, 250, 700, 270),
         (800, 760, 830, 900), (505, 100, 520, 200)]   # x0, y0, x1, y1 (exclusive)
for x0, y0, x1, y1 in rects:
    img[:, y0:y1, x0:x1] = 220
# per-tile shade for classification: a gradient that differs by tile
yy, xx = np.mgrid[0:n, 0:n]
img[1] = (xx // 4 + yy // 8) % 200
ds = gdal.GetDriverByName("GTiff").Create(w + "/img.tif", n, n, 3, gdal.GDT_Byte)
ds.SetGeoTransform((-H + tx0 * 256 * res, res, 0, H - ty0 * 256 * res, 0, -res))
s = osr.SpatialReference(); s.ImportFromEPSG(3857); ds.SetProjection(s.ExportToWkt())
for b in range(3):
    ds.GetRasterBand(b + 1).WriteArray(img[b])
ds = None
with open(w + "/rects.txt", "w") as f:
    for r in rects:
        f.write("%d %d %d %d\n" % r)
with open(w + "/origin.txt", "w") as f:
    f.write("%d %d %r\n" % (tx0, ty0, res))

def save(nodes, inits, out_shape, path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 256, 256])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), path)
# segmentation: 1x1 conv on band 1, then sigmoid
wseg = numpy_helper.from_array(np.array([[[[20.0]], [[0.0]], [[0.0]]]], np.float32), "w")
bseg = numpy_helper.from_array(np.array([-10.0], np.float32), "b")
save([helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[1, 1]),
      helper.make_node("Sigmoid", ["c"], ["y"])], [wseg, bseg], ["N", 1, 256, 256], w + "/seg.onnx")
# classification: mean of band 1 -> 4 * m - 2 -> sigmoid
wc = numpy_helper.from_array(np.array([[4.0, 0.0, 0.0]], np.float32), "w")
bc = numpy_helper.from_array(np.array([-2.0], np.float32), "b")
save([helper.make_node("GlobalAveragePool", ["x"], ["p"]),
      helper.make_node("Flatten", ["p"], ["f"]),
      helper.make_node("Gemm", ["f", "w", "b"], ["g"], transB=1),
      helper.make_node("Sigmoid", ["g"], ["y"])], [wc, bc], ["N", 1], w + "/cls.onnx")
EOF
[ -f "$WORK/seg.onnx" ] && [ -f "$WORK/cls.onnx" ] || die "models and raster written"

# job NAME KIND MODEL METATILING CHIP OVERLAP CLASS
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: detect
params: {model: $3, kind: $2, chip: {size: $5, overlap: $6}, classes: [$7], min_score: 0.01, simplify: 0}
inputs:
  img: img.tif
grid: {name: WebMercatorQuad, metatiling: $4}
zoom: 17
output: {path: out/$1}
EOF
}
job seg1 segmentation seg.onnx 1 256 32 bright
job seg4 segmentation seg.onnx 4 256 32 bright
job cls classification cls.onnx 2 256 0 shade
for j in seg1 seg4 cls; do check_run "$j: the run exits 0" 0 run "$WORK/$j.yaml"; done

py_checks "$WORK" <<'EOF'
import sys, math
import numpy as np
from osgeo import ogr, gdal
sys.path.insert(0, sys.argv[1])
import swt
w = sys.argv[1]
tx0, ty0, res = open(w + "/origin.txt").read().split()
tx0, ty0, res = int(tx0), int(ty0), float(res)
H = 20037508.342789244
X0, Y0 = -H + tx0 * 256 * res, H - ty0 * 256 * res
rects = [tuple(map(int, l.split())) for l in open(w + "/rects.txt")]
def load(name):
    ds = ogr.Open(w + "/out/%s/features.gpkg" % name)
    return sorted(((f.GetGeometryRef().GetEnvelope(), f["score"], f["class"], (f["x"], f["y"]))
                   for f in ds.GetLayer("features")), key=lambda t: t[0])
for name in ("seg1", "seg4"):
    got = load(name)
    want = sorted((X0 + x0 * res, X0 + x1 * res, Y0 - y1 * res, Y0 - y0 * res) for x0, y0, x1, y1 in rects)
    swt.check("%s: one polygon per bright rectangle (%d)" % (name, len(want)), len(got) == len(want),
              "%d polygons" % len(got))
    bad = [(g[0], e) for g, e in zip(got, want) if max(abs(a - b) for a, b in zip(g[0], e)) > 1e-6]
    swt.check("%s: each polygon has its rectangle's extent" % name, not bad, repr(bad[:2]))
    swt.check("%s: scores are the sigmoid's at 220 (0.99929)" % name,
              all(abs(g[1] - 1 / (1 + math.exp(-20 * (220 / 255 - 0.5)))) < 1e-4 for g in got),
              repr([g[1] for g in got]))
    swt.check("%s: class 'bright'" % name, all(g[2] == "bright" for g in got))
a, b = load("seg1"), load("seg4")
swt.check("segmentation: metatiling 1 and 4 give the same features (extent within 1e-6 m)",
          len(a) == len(b) and all(x[1:] == y[1:] and max(abs(p - q) for p, q in zip(x[0], y[0])) < 1e-6
                                   for x, y in zip(a, b)))

src = gdal.Open(w + "/img.tif")  # (kept: a band outliving its dataset crashes)
img = src.GetRasterBand(1).ReadAsArray().astype(np.float64) / 255
got = load("cls")
swt.check("classification: one feature per tile (16)", len(got) == 16, "%d" % len(got))
worst = 0
for env, score, cls, (x, y) in got:
    i, j = y - ty0, x - tx0
    m = img[i * 256:(i + 1) * 256, j * 256:(j + 1) * 256].mean()
    worst = max(worst, abs(score - 1 / (1 + math.exp(-(4 * m - 2)))))
    tile = (X0 + j * 256 * res, X0 + (j + 1) * 256 * res, Y0 - (i + 1) * 256 * res, Y0 - i * 256 * res)
    if max(abs(p - q) for p, q in zip(env, tile)) > 1e-6:
        worst = 1
# (OpenCV averages 65536 values in float32: about 1e-4 of rounding, which
# numpy's float64 mean does not have; a wrong chip would be off by > 1e-2)
swt.check("classification: each tile's score is numpy's sigmoid(4 * mean - 2) within 2e-4, its "
          "square the tile", worst < 2e-4, "worst difference %g" % worst)
EOF

run_swath export "$WORK/out/cls" --tiles --format csv
check_py "export --tiles lists the 16 tiles with their scores" "$WORK/run.out" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(len(rows), "rows", rows[0] if rows else "")
if len(rows) != 16 or set(rows[0]) != {"z", "x", "y", "class", "score"}: sys.exit(1)
EOF

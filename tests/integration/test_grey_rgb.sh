#!/usr/bin/env bash
# test_grey_rgb.sh: a one-band (grey) result to WEBP or JPEG.
#   - hillshade to WEBP (lossless) is accepted: tiles are RGB(A) with R = G = B
#     = the grey value and the alpha of the same job written as grey PNG,
#     pixel for pixel, at the computed zoom and at an overview zoom built
#     from tiles read back from disk (a second run with one more zoom);
#   - stac.json describes what the tiles hold: 3 data bands plus alpha;
#   - hillshade to JPEG is accepted and stays a grey JPEG (1 band), within
#     JPEG's loss of the PNG's values where the PNG has data;
#   - results that cannot be expanded (2 bands) keep the one-line error,
#     exit 2, nothing written.
. "$(dirname "$0")/lib.sh"
require_swath

gen_dem "$WORK/data/dem.tif" --size 512 --nodata

# job NAME OUTPUT_MAPPING [ZOOM]
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: hillshade
inputs: {dem: data/dem.tif}
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: ${3:-13}
output: $2
EOF
}
job png "{path: out/png, format: PNG}" "[12, 13]"
job webp "{path: out/webp, format: WEBP, quality: 100}"
job webp2 "{path: out/webp, format: WEBP, quality: 100}" "[12, 13]"
job jpg "{path: out/jpg, format: JPEG, quality: 95}" "[12, 13]"
check_run "hillshade to PNG exits 0" 0 run "$WORK/png.yaml" --no-progress
check_run "hillshade to WEBP exits 0" 0 run "$WORK/webp.yaml" --no-progress
# Zoom 12 is then built from the zoom-13 tiles already on disk.
check_run "hillshade to WEBP, one zoom more, exits 0" 0 run "$WORK/webp2.yaml" --no-progress
check_run "hillshade to JPEG exits 0" 0 run "$WORK/jpg.yaml" --no-progress

py_checks "$WORK/out" <<'EOF'
import json, sys, swt
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
out = sys.argv[1]
def with_data(root, ext):
    # Tiles with an opaque pixel: each run may also write one all-nodata
    # tile, where GDAL's STACTA driver needs one (docs/config.md).
    out = []
    for t in swt.list_tiles(root, ext):
        a = gdal.Open(swt.tile_path(root, *t, ext)).ReadAsArray()
        if a.shape[0] in (1, 3) or a[-1].any():
            out.append(t)
    return out
png = with_data(out + "/png", "png")
webp = with_data(out + "/webp", "webp")
jpg = swt.list_tiles(out + "/jpg", "jpg")
swt.check("WEBP: the same tiles with data as PNG (%d)" % len(png), sorted(png) == sorted(webp) and png,
          "png %s\nwebp %s" % (sorted(png)[:5], sorted(webp)[:5]))
swt.check("JPEG: the same tiles as PNG (%d)" % len(png), sorted(png) == sorted(jpg), "jpg %s" % sorted(jpg)[:5])
png = swt.list_tiles(out + "/png", "png")
bad, bad_j, zooms, worst = [], [], set(), 0
for t in png:
    g = gdal.Open(swt.tile_path(out + "/png", *t, "png")).ReadAsArray().astype(int)
    grey, alpha = g[0], g[1]
    zooms.add(t[0])
    if t not in webp:
        continue
    w = gdal.Open(swt.tile_path(out + "/webp", *t, "webp")).ReadAsArray().astype(int)
    wa = w[3] if w.shape[0] == 4 else np.full(grey.shape, 255)
    m = alpha > 0
    if w.shape[0] not in (3, 4) or not (w[0] == w[1]).all() or not (w[0] == w[2]).all() \
            or not (wa == alpha).all() or not (w[0][m] == grey[m]).all():
        bad.append("%s: bands %d, R=G=B %s, alpha equal %s, grey equal %s" % (
            t, w.shape[0], (w[0] == w[1]).all() and (w[0] == w[2]).all(), (wa == alpha).all(),
            (w[0][m] == grey[m]).all()))
    if t not in jpg:
        continue
    j = gdal.Open(swt.tile_path(out + "/jpg", *t, "jpg"))
    if j.RasterCount != 1:
        bad_j.append("%s: %d bands" % (t, j.RasterCount))
        continue
    d = np.abs(j.ReadAsArray().astype(int) - grey)[m]
    worst = max(worst, int(d.max()) if d.size else 0)
    if d.size and d.mean() > 2:
        bad_j.append("%s: mean difference %.2f" % (t, d.mean()))
swt.check("WEBP tiles hold R = G = B = the PNG's grey and its alpha, zooms %s" % sorted(zooms),
          not bad and zooms == {12, 13}, "\n".join(bad[:6]))
swt.check("JPEG tiles are grey (1 band) and near the PNG's grey (worst %d DN)" % worst, not bad_j,
          "\n".join(bad_j[:6]))
st = json.load(open(out + "/webp/stac.json"))
rb = st["asset_templates"]["tiles"]["raster:bands"]
swt.check("WEBP stac.json: 4 bands (R, G, B, alpha)", len(rb) == 4, json.dumps(rb))
ds = gdal.OpenEx("STACTA:" + out + "/webp/stac.json", open_options=["SKIP_MISSING_METATILE=YES"])
swt.check("WEBP: GDAL opens the pyramid with 4 bands", ds.RasterCount == 4, str(ds.RasterCount))
EOF

# Two data bands cannot be expanded: the error stays.
cat >"$WORK/two.yaml" <<EOF
process: bandmath
params: {expression: "dem.b1; dem.b1 * 2", dtype: Byte}
inputs: {dem: data/dem.tif}
grid: {name: WebMercatorQuad}
zoom: 12
output: {path: out/two, format: WEBP}
EOF
check_run "2 bands to WEBP is refused with exit 2" 2 run "$WORK/two.yaml" --no-progress
check_eq "2 bands to WEBP: one line on stderr" 1 "$(wc -l <"$WORK/run.err")"
if grep -q "WEBP.*not 2" "$WORK/run.err"; then pass "2 bands to WEBP: the message names WEBP and the 2 bands"
else fail "2 bands to WEBP: the message names WEBP and the 2 bands" "$(cat "$WORK/run.err")"; fi
if [ -z "$(find "$WORK/out/two" -name '*.webp' 2>/dev/null)" ]; then pass "2 bands to WEBP: no tiles written"
else fail "2 bands to WEBP: no tiles written"; fi

#!/usr/bin/env bash
# test_oracle_bandmath.sh: NDVI by `bandmath` over two named inputs,
# (nir.b1 - red.b1) / (nir.b1 + red.b1), written as GTiff Float32, equals
# gdal_calc.py over the same two inputs gdalwarp'ed to each tile's bounds,
# within 1e-5, on a sample of tiles.
. "$(dirname "$0")/lib.sh"
require_swath

gen_bands "$WORK/data/bands.tif" --size 512
gdal_translate -q -b 1 "$WORK/data/bands.tif" "$WORK/data/nir.tif" || die "split the nir band"
gdal_translate -q -b 2 "$WORK/data/bands.tif" "$WORK/data/red.tif" || die "split the red band"

cat >"$WORK/ndvi.yaml" <<'EOF'
process: bandmath
params: {expression: "(nir.b1 - red.b1) / (nir.b1 + red.b1)"}
inputs:
  nir: data/nir.tif
  red: data/red.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: 15
output: {path: out/ndvi, format: GTiff, dtype: Float32, resampling: bilinear, warp_error: 0}
EOF
check_run "bandmath NDVI over two inputs exits 0" 0 run "$WORK/ndvi.yaml" --workers 2 --no-progress || exit 1

py_checks "$WORK/out/ndvi" "$WORK/data" "$WORK" <<'EOF'
import sys, swt
import numpy as np
from osgeo import gdal
out, data, work = sys.argv[1:4]
z = 15
tiles = [t[1:] for t in swt.list_tiles(out, "tif", z)]
# Tiles with data: not the one all-nodata tile GDAL's STACTA driver may need
# at the top-left of the limits (docs/config.md, "Empty tiles").
tiles = [t for t in tiles if swt.Tile(swt.tile_path(out, z, *t, "tif")).valid.any()]
nir = data + "/nir.tif"
inside = [t for t in tiles if swt.box_inside_raster(swt.merc_bounds(z, *t), "EPSG:3857", nir)]
edge = [t for t in tiles if t not in inside]
sample = inside[::3][:6] + edge[:: max(1, len(edge) // 3)][:3]
swt.check("%d NDVI tiles written; sample of %d" % (len(tiles), len(sample)), len(inside) >= 2 and len(edge) >= 1)
def band(path, i):
    """Band i as an array; the dataset stays alive while GDAL reads (a band
    outliving its dataset crashes the Python bindings)."""
    ds = gdal.Open(path)
    a = ds.GetRasterBand(i).ReadAsArray()
    ds = None
    return a

bad, msgs = [], []
for x, y in sample:
    b = swt.merc_bounds(z, x, y)
    n = swt.gdalwarp(nir, "%s/nir_%d_%d.tif" % (work, x, y), b, (256, 256), extra=["-dstalpha"])
    r = swt.gdalwarp(data + "/red.tif", "%s/red_%d_%d.tif" % (work, x, y), b, (256, 256), extra=["-dstalpha"])
    ref = "%s/ndvi_%d_%d.tif" % (work, x, y)
    swt.run(["gdal_calc.py", "--quiet", "--overwrite", "-A", n, "--A_band=1", "-B", r, "--B_band=1",
             "--calc=(A-B)/(A+B)", "--type=Float32", "--outfile=" + ref])
    want = band(ref, 1).astype(np.float64)
    # Valid where both warped inputs are fully covered (alpha 255).
    valid = (band(n, 2) == 255) & (band(r, 2) == 255)
    got = swt.Tile(swt.tile_path(out, z, x, y, "tif"))
    if (got.width, got.height, got.dtype, got.data.shape[0]) != (256, 256, "Float32", 1):
        bad.append("%d/%d/%d: %dx%d %s, %d data band(s); expected 256x256 Float32, 1 band" % (
            z, x, y, got.width, got.height, got.dtype, got.data.shape[0]))
        continue
    both = got.valid & valid
    d = np.abs(got.data[0] - want)[both]
    need = 0.99 if (x, y) in inside else 0.0  # an edge tile may hold only a sliver
    msg = "%d/%d/%d: %d px valid in both, max |diff| %.3g" % (z, x, y, both.sum(), d.max() if d.size else -1)
    msgs.append(msg)
    if both.mean() < need or not both.any() or not np.isfinite(d).all() or (d > 1e-5).any():
        bad.append(msg)
    # Where gdalwarp had no data, swath's tile has none either.
    if (got.valid & ~(band(n, 2) > 0)).any():
        bad.append("%d/%d/%d: valid pixels where the inputs have no data" % (z, x, y))
swt.check("NDVI tiles equal gdal_calc.py over the gdalwarp'ed inputs within 1e-5", not bad, "\n".join(bad or msgs))
# The values are NDVI-like (not, e.g., one band copied through).
t = swt.Tile(swt.tile_path(out, z, *inside[0], "tif"))
v = t.data[0][t.valid]
swt.check("NDVI values lie in (0, 1) and vary (%.3f..%.3f)" % (v.min(), v.max()),
          v.size and v.min() > 0 and v.max() < 1 and v.max() - v.min() > 0.01)
EOF

# An expression over a band that does not exist is bad input (exit 2).
sed -e 's/nir.b1 + red.b1/nir.b1 + red.b7/' -e 's|out/ndvi|out/bad|' "$WORK/ndvi.yaml" >"$WORK/bad.yaml"
run_swath run "$WORK/bad.yaml" --no-progress
if [ "$RUN_RC" -eq 2 ] && grep -q "red.b7\|b7" "$WORK/run.err"; then pass "an expression naming a missing band exits 2 and names it"
else fail "an expression naming a missing band exits 2 and names it" "exit $RUN_RC" "$(last_run_output)"; fi
if [ ! -e "$WORK/out/bad/.swath/state.sqlite" ]; then pass "the bad expression left no state"
else fail "the bad expression left no state"; fi

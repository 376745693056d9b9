#!/usr/bin/env bash
# test_aligned.sh: on a grid whose pixels are the input's own pixels (a
# TileMatrixSet in the DEM's CRS, origin and resolution), swath reads windows
# directly instead of warping. Hillshade tiles must then equal gdaldem
# hillshade of the whole DEM on every pixel with a full 3x3 window, and
# convert tiles must equal the source pixels exactly, nodata included.
. "$(dirname "$0")/lib.sh"
require_swath

gen_dem "$WORK/dem.tif" --size 700 --res 10 --nodata
read -r ox oy <<<"$(gdalinfo -json "$WORK/dem.tif" | "$PY" -c 'import json,sys; g=json.load(sys.stdin)["geoTransform"]; print(g[0], g[3])')"
cat >"$WORK/tms.json" <<JSON
{"id": "dem10", "crs": "http://www.opengis.net/def/crs/EPSG/0/32632",
 "tileMatrices": [{"id": "0", "scaleDenominator": 35714.28571428572, "cellSize": 10,
   "cornerOfOrigin": "topLeft", "pointOfOrigin": [$ox, $oy],
   "tileWidth": 128, "tileHeight": 128, "matrixWidth": 6, "matrixHeight": 6}]}
JSON
cat >"$WORK/hs.yaml" <<YAML
process: hillshade
params: {azimuth: 315, altitude: 45, z_factor: 2}
inputs: {dem: dem.tif}
grid: {name: tms.json, metatiling: 2}
zoom: 0
output: {path: out/hs, format: GTiff, nodata: 0, resampling: cubic}
YAML
cat >"$WORK/cv.yaml" <<YAML
process: convert
inputs: {dem: dem.tif}
grid: {name: tms.json, metatiling: 4}
zoom: 0
output: {path: out/cv, format: GTiff, resampling: bilinear}
YAML
check_run "hillshade on the DEM's own grid exits 0" 0 run "$WORK/hs.yaml" --workers 2 --no-progress
check_run "convert on the DEM's own grid exits 0" 0 run "$WORK/cv.yaml" --workers 2 --no-progress
gdaldem hillshade -q -z 2 "$WORK/dem.tif" "$WORK/ref.tif" || die "gdaldem ran"

py_checks "$WORK" <<'PYTHON'
import sys, glob, os
import numpy as np
from osgeo import gdal
import swt
work = sys.argv[1]

def read(path):
    """(data band 1, alpha or None), copied so no GDAL object outlives its dataset."""
    ds = gdal.Open(path)
    n = ds.RasterCount
    last = ds.GetRasterBand(n).GetColorInterpretation()
    arr = np.array(ds.ReadAsArray(), copy=True)
    ds = None
    if arr.ndim == 2:
        return arr, None
    if n > 1 and last == gdal.GCI_AlphaBand:
        return arr[0], arr[-1]
    return arr[0], None

ref, _ = read(work + "/ref.tif")
dem, _ = read(work + "/dem.tif")
n = dem.shape[0]
bad, total = [], 0
tiles = sorted(glob.glob(work + "/out/hs/0/*/*.tif"))
for p in tiles:
    x = int(p.split("/")[-2]); y = int(os.path.basename(p)[:-4])
    got, _ = read(p)
    r = ref[y * 128:(y + 1) * 128, x * 128:(x + 1) * 128]
    g = got[:r.shape[0], :r.shape[1]]
    both = (g > 0) & (r > 0)  # gdaldem leaves its outer border 0
    total += int(both.sum())
    d = np.abs(g.astype(int) - r.astype(int))[both]
    if d.size and d.max() > 1:
        bad.append("%s: max |diff| %d" % (p, d.max()))
    ys, xs = np.mgrid[0:r.shape[0], 0:r.shape[1]]
    inner = (ys + y * 128 > 0) & (ys + y * 128 < n - 1) & (xs + x * 128 > 0) & (xs + x * 128 < n - 1)
    if ((r == 0) & inner & (g != 0)).any():
        bad.append("%s: values where gdaldem has nodata" % p)
    if ((r != 0) & (g == 0)).any():
        bad.append("%s: nodata where gdaldem has values" % p)
swt.check("%d hillshade tiles equal gdaldem within 1 DN (%d px compared)" % (len(tiles), total),
          len(tiles) == 36 and total > 0.9 * (n - 2) ** 2 and not bad, "\n".join(bad[:5]))

bad = []
tiles = sorted(glob.glob(work + "/out/cv/0/*/*.tif"))
for p in tiles:
    x = int(p.split("/")[-2]); y = int(os.path.basename(p)[:-4])
    got, alpha = read(p)
    r = dem[y * 128:(y + 1) * 128, x * 128:(x + 1) * 128]
    g = got[:r.shape[0], :r.shape[1]]
    a = alpha[:r.shape[0], :r.shape[1]]
    valid = r != -9999
    if not np.array_equal(g[valid], r[valid]):
        bad.append("%s: pixels differ from the source" % p)
    if not np.array_equal(a > 0, valid):
        bad.append("%s: alpha does not match the source's nodata" % p)
    if alpha[r.shape[0]:, :].any() or alpha[:, r.shape[1]:].any():
        bad.append("%s: data beyond the raster's edge" % p)
swt.check("%d convert tiles equal the source pixels exactly, nodata as alpha 0" % len(tiles),
          len(tiles) == 36 and not bad, "\n".join(bad[:5]))
PYTHON

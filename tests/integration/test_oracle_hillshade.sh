#!/usr/bin/env bash
# test_oracle_hillshade.sh: hillshade tiles (GTiff, Byte) equal `gdaldem
# hillshade` (same azimuth / altitude / z_factor / -multidirectional) of the
# DEM warped by gdalwarp (bilinear) to the tile bounds extended by one pixel on
# each side (-ts 258 258), cropped back to the 256x256 interior: within 1 DN on
# pixels valid in both. Cases: defaults, -multidirectional, and a z_factor /
# azimuth / altitude change on a DEM with a nodata hole, which must stay
# masked in swath's tiles.
. "$(dirname "$0")/lib.sh"
require_swath

gen_dem "$WORK/data/dem.tif" --size 512
gen_dem "$WORK/data/dem_nodata.tif" --size 512 --nodata

# name | dem | params (YAML) | gdaldem flags
CASES=(
  "default|dem.tif|{azimuth: 315, altitude: 45, z_factor: 1}|-az 315 -alt 45 -z 1"
  "multidirectional|dem.tif|{multidirectional: true, altitude: 45, z_factor: 1}|-multidirectional -alt 45 -z 1"
  "zfactor_nodata|dem_nodata.tif|{azimuth: 200, altitude: 30, z_factor: 2.5}|-az 200 -alt 30 -z 2.5"
)

for c in "${CASES[@]}"; do
  IFS='|' read -r name dem params flags <<<"$c"
  cat >"$WORK/$name.yaml" <<EOF
process: hillshade
params: $params
inputs:
  dem: data/$dem
grid: {name: WebMercatorQuad, metatiling: 2, pixel_buffer: 1}
zoom: 15
output: {path: out/$name, format: GTiff, dtype: Byte, resampling: bilinear, warp_error: 0}
EOF
  check_run "hillshade $name exits 0" 0 run "$WORK/$name.yaml" --workers 2 --no-progress || continue
  py_checks "$WORK/out/$name" "$WORK/data/$dem" "$WORK" "$name" "$flags" <<'EOF'
import sys, swt
import numpy as np
from osgeo import gdal, osr
out, src, work, name, flags = sys.argv[1:6]
z = 15
r = swt.merc_res(z)
tiles = [t[1:] for t in swt.list_tiles(out, "tif", z)]
# Tiles with data: not the one all-nodata tile GDAL's STACTA driver may need
# at the top-left of the limits (docs/config.md, "Empty tiles").
tiles = [t for t in tiles if swt.Tile(swt.tile_path(out, z, *t, "tif")).valid.any()]
inside = [t for t in tiles if swt.box_inside_raster(swt.merc_bounds(z, *t), "EPSG:3857", src)]
edge = [t for t in tiles if t not in inside]
sample = inside[::3][:5] + edge[:: max(1, len(edge) // 2)][:2]

# The tile holding the centre of the nodata disc (pixel 0.1 * size, 0.1 * size).
ds = gdal.Open(src)
gt = ds.GetGeoTransform()
cx, cy = gt[0] + 0.1 * ds.RasterXSize * gt[1], gt[3] + 0.1 * ds.RasterYSize * gt[5]
ct = osr.CoordinateTransformation(swt.srs(ds.GetProjection()), swt.srs("EPSG:3857"))
mx, my, _ = ct.TransformPoint(cx, cy)
hole = (int((mx + swt.MERC) / (256 * r)), int((swt.MERC - my) / (256 * r)))
has_nodata = ds.GetRasterBand(1).GetNoDataValue() is not None
if has_nodata:
    sample.append(hole)
swt.check("%s: %d tiles written, sample of %d" % (name, len(tiles), len(sample)), len(inside) >= 2 and len(edge) >= 1)

bad, msgs = [], []
hole_masked = None
for x, y in sample:
    b = swt.merc_bounds(z, x, y)
    bb = (b[0] - r, b[1] - r, b[2] + r, b[3] + r)
    warped = swt.gdalwarp(src, "%s/w_%s_%d_%d.tif" % (work, name, x, y), bb, (258, 258), resampling="bilinear")
    hs = "%s/hs_%s_%d_%d.tif" % (work, name, x, y)
    swt.run(["gdaldem", "hillshade", "-q", warped, hs] + flags.split())
    ref = gdal.Open(hs).ReadAsArray()[1:257, 1:257].astype(float)
    path = swt.tile_path(out, z, x, y, "tif")
    try:
        got = swt.Tile(path)
    except Exception as e:
        bad.append("%d/%d/%d: cannot read %s: %s" % (z, x, y, path, e))
        continue
    if (got.width, got.height, got.dtype) != (256, 256, "Byte"):
        bad.append("%d/%d/%d: %dx%d %s, expected 256x256 Byte" % (z, x, y, got.width, got.height, got.dtype))
        continue
    both = got.valid & (ref != 0)
    d = np.abs(got.data[0] - ref)[both]
    need = 0.5 if (x, y) in inside and (x, y) != hole else 0.05
    msg = "%d/%d/%d: %d px valid in both, max |diff| %s, %d over 1" % (
        z, x, y, both.sum(), d.max() if d.size else "-", (d > 1).sum())
    msgs.append(msg)
    if both.mean() < need or (d > 1).any():
        bad.append(msg + " (need %.0f%% valid in both)" % (100 * need))
    if (x, y) == hole and has_nodata:
        dem = gdal.Open(warped).ReadAsArray()[1:257, 1:257]
        nd = dem == -9999
        hole_masked = (int(nd.sum()), int((got.valid & nd).sum()))
swt.check("%s: tiles equal gdaldem hillshade of the gdalwarp'ed DEM within 1 DN (interior pixels)" % name,
          not bad, "\n".join(bad or msgs))
if has_nodata:
    swt.check("%s: the DEM's nodata hole is masked in swath's tile (%s nodata px, %s of them valid)" % (
        name, hole_masked and hole_masked[0], hole_masked and hole_masked[1]),
        hole_masked is not None and hole_masked[0] > 100 and hole_masked[1] == 0)
EOF
done

# The -multidirectional tiles really differ from the single-azimuth ones.
py_checks "$WORK/out" <<'EOF'
import sys, swt
out = sys.argv[1]
a = swt.list_tiles(out + "/default", "tif", 15)
m = swt.list_tiles(out + "/multidirectional", "tif", 15)
common = sorted(set(a) & set(m))
diff = 0
for t in common[:10]:
    diff = max(diff, abs(swt.Tile(swt.tile_path(out + "/default", *t, "tif")).data -
                         swt.Tile(swt.tile_path(out + "/multidirectional", *t, "tif")).data).max())
swt.check("multidirectional tiles differ from single-azimuth tiles (max diff %s)" % diff, common and diff > 10)
EOF

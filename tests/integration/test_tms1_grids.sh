#!/usr/bin/env bash
# test_tms1_grids.sh: custom grids in the OGC TMS 1.0 JSON encoding
# (17-083r2: supportedCRS, tileMatrix, identifier, topLeftCorner,
# scaleDenominator), the form of the tile matrix sets GDAL itself ships
# (/usr/share/gdal/tms_*.json from gdal-data: NZTM2000,
# LINZAntarticaMapTileGrid, MapML_CBMTILE, MapML_APSTILE).
#   - every such file loads as a grid;
#   - `swath tiles` over a small box at three zooms of each lists exactly the
#     tiles GDAL's COG driver aligns a raster of that box to
#     (gdal_translate -of COG -co TILING_SCHEME=<the file> -co ZOOM_LEVEL=z):
#     the oracle for the cell size and for the axis order of topLeftCorner
#     (the CRS's: NZTM2000 and the Antarctic grid give northing first);
#   - a job runs on such a grid and its tiles are where GDAL puts them;
#   - a TMS 1.0 file without supportedCRS: exit 2, one line naming it.
. "$(dirname "$0")/lib.sh"
require_swath

mapfile -t FILES < <(ls /usr/share/gdal/tms_*.json 2>/dev/null)
if [ "${#FILES[@]}" -ge 4 ]; then pass "GDAL ships ${#FILES[@]} TMS files: $(basename -a "${FILES[@]}" | tr '\n' ' ')"
else die "GDAL's tms_*.json files are installed (gdal-data)" "found: ${FILES[*]}"; fi

for f in "${FILES[@]}"; do
  name=$(basename "$f" .json)
  # The oracle: three zooms, a box of about 2.3 x 2.3 tiles placed off the tile
  # edges, aligned by GDAL's COG driver.
  py_checks "$f" "$WORK/$name" "$SWATH" <<'EOF'
import json, os, subprocess, sys
import swt
from osgeo import gdal, osr
f, work, swath = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
d = json.load(open(f))
name = os.path.basename(f)[:-5]
srs = osr.SpatialReference()
srs.SetFromUserInput(d["supportedCRS"])
# GDAL's rule (COG and GeoPackage drivers): the corner is in the CRS's axis order.
ne = bool(srs.EPSGTreatsAsNorthingEasting() or srs.EPSGTreatsAsLatLong())
mpu = srs.GetSemiMajor() * 3.141592653589793 / 180 if srs.IsGeographic() else srs.GetLinearUnits()
srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
tms = d["tileMatrix"]
n = len(tms)
for z in sorted({n // 3, (2 * n) // 3, n - 1}):
    tm = tms[z]
    a, b = tm["topLeftCorner"]
    tlx, tly = (b, a) if ne else (a, b)
    res = tm["scaleDenominator"] * 0.28e-3 / mpu
    span = tm["tileWidth"] * res
    # a box from 0.3 to 2.6 tiles in from the middle tile of the matrix
    c, r = tm["matrixWidth"] // 2, tm["matrixHeight"] // 2
    c, r = max(0, min(c, tm["matrixWidth"] - 3)), max(0, min(r, tm["matrixHeight"] - 3))
    box = (tlx + (c + 0.3) * span, tly - (r + 2.6) * span, tlx + (c + 2.6) * span, tly - (r + 0.3) * span)
    src = "%s/box%d.tif" % (work, z)
    ds = gdal.GetDriverByName("GTiff").Create(src, 100, 100, 1)
    ds.SetGeoTransform((box[0], (box[2] - box[0]) / 100, 0, box[3], 0, -(box[3] - box[1]) / 100))
    ds.SetSpatialRef(srs)
    ds.GetRasterBand(1).Fill(1)
    ds = None
    cog = "%s/cog%d.tif" % (work, z)
    gdal.Translate(cog, src, format="COG", creationOptions=["TILING_SCHEME=" + f, "ZOOM_LEVEL=%d" % z,
                                                            "OVERVIEWS=NONE", "BLOCKSIZE=%d" % tm["tileWidth"]])
    o = gdal.Open(cog)
    gt = o.GetGeoTransform()
    c0, r0 = (gt[0] - tlx) / span, (tly - gt[3]) / span
    swt.check("%s z%d: GDAL's COG is on this tile grid (res %.6g, corner at tile %.6f, %.6f)" % (name, z, gt[1], c0, r0),
              abs(gt[1] - res) <= 1e-9 * res and abs(c0 - round(c0)) < 1e-6 and abs(r0 - round(r0)) < 1e-6)
    want = {(int(round(c0)) + i, int(round(r0)) + j) for i in range(o.RasterXSize // tm["tileWidth"])
            for j in range(o.RasterYSize // tm["tileHeight"])}
    out = subprocess.run([swath, "tiles", "--grid", f, "--zoom", str(z), "--bounds", ",".join("%.6f" % v for v in box),
                          "--bounds-crs", d["supportedCRS"]], capture_output=True, text=True)
    got = {tuple(int(v) for v in line.split("/")[1:]) for line in out.stdout.split()}
    swt.check("%s z%d: swath tiles lists GDAL's %d tiles %s" % (name, z, len(want), sorted(want)[:4]),
              out.returncode == 0 and got == want, "swath: %s %s" % (sorted(got)[:8], out.stderr))
EOF
done

# A job on NZTM2000: a DEM near Wellington, zoom 9; each GTiff tile's
# georeferencing is where GDAL's COG driver puts that tile.
NZ=/usr/share/gdal/tms_NZTM2000.json
if [ -f "$NZ" ]; then
  gen_dem "$WORK/data/nz.tif" --size 256 --crs EPSG:2193 --center 1749000,5427000 --res 20
  cat >"$WORK/nz.yaml" <<EOF
process: convert
inputs: {dem: data/nz.tif}
grid: {name: $NZ}
zoom: 9
output: {path: out/nz, format: GTiff, dtype: Float32}
EOF
  check_run "a job on NZTM2000 exits 0" 0 run "$WORK/nz.yaml" --no-progress
  py_checks "$WORK/out/nz" "$WORK/data/nz.tif" "$NZ" <<'EOF'
import sys, swt
from osgeo import gdal
root, src, tms = sys.argv[1:]
gdal.Translate(root + "/../nz_cog.tif", src, format="COG",
               creationOptions=["TILING_SCHEME=" + tms, "ZOOM_LEVEL=9", "OVERVIEWS=NONE"])
cog = gdal.Open(root + "/../nz_cog.tif")
cgt = cog.GetGeoTransform()
tiles = swt.list_tiles(root, "tif")
bad = []
for z, x, y in tiles:
    gt = gdal.Open(swt.tile_path(root, z, x, y, "tif")).GetGeoTransform()
    # the COG's block (i, j) that holds this tile's top-left corner
    i, j = (gt[0] - cgt[0]) / (256 * cgt[1]), (cgt[3] - gt[3]) / (256 * cgt[1])
    if abs(gt[1] - cgt[1]) > 1e-9 or abs(i - round(i)) > 1e-6 or abs(j - round(j)) > 1e-6 or \
            not (0 <= i < cog.RasterXSize / 256 and 0 <= j < cog.RasterYSize / 256):
        bad.append("%d/%d/%d: %s" % (z, x, y, gt))
swt.check("NZTM2000 job: each of %d tiles is a block of GDAL's COG on that grid" % len(tiles), tiles and not bad,
          "\n".join(bad[:5]))
swt.check("NZTM2000 job: as many tiles as the COG has blocks", len(tiles) == (cog.RasterXSize // 256) * (cog.RasterYSize // 256),
          "%d tiles, COG %dx%d" % (len(tiles), cog.RasterXSize, cog.RasterYSize))
EOF
fi

# TMS 1.0 without its CRS.
$PY - "$NZ" "$WORK/nocrs.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
del d["supportedCRS"]
json.dump(d, open(sys.argv[2], "w"))
EOF
check_run "a TMS 1.0 file without supportedCRS: exit 2" 2 tiles --grid "$WORK/nocrs.json" --zoom 1 --bounds 170,-45,175,-40
check_eq "a TMS 1.0 file without supportedCRS: one line" 1 "$(wc -l <"$WORK/run.err")"
if grep -q "supportedCRS" "$WORK/run.err" && grep -q "nocrs.json" "$WORK/run.err"; then pass "a TMS 1.0 file without supportedCRS: the line names the file and supportedCRS"
else fail "a TMS 1.0 file without supportedCRS: the line names the file and supportedCRS" "$(cat "$WORK/run.err")"; fi

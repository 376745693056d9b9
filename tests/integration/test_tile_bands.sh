#!/usr/bin/env bash
# test_tile_bands.sh: what each band of a written tile says it is.
#   - GTiff tiles of 1 to 7 data bands (convert of generated N-band rasters):
#     every data band keeps its values and is never Alpha; only the appended
#     mask band is Alpha (3 data bands are Red, Green, Blue; other counts Gray
#     then Undefined, as GDAL labels a MINISBLACK TIFF); with output.nodata
#     there is no alpha band at all;
#   - bandmath with two expressions: the second data band is not Alpha;
#   - PNG (swath's encoder and GDAL's, UInt16) and WEBP: Gray or RGB, then Alpha;
#   - output.nodata with PNG or WEBP is refused at job load (exit 2, one line
#     naming output.nodata, nothing written); JPEG still honours it;
#   - a paletted input keeps its colour table in GTiff tiles (every zoom, the
#     overviews too); PNG tiles hold its class indexes as grey values, with a
#     warning that says so.
. "$(dirname "$0")/lib.sh"
require_swath

# mkbands OUT N: an N-band Byte raster, 200x200 px of 10 m in UTM 32N, band b
# holding 10*b everywhere (so a tile's band b must hold 10*b where it has data).
mkbands() {
  mkdir -p "$(dirname "$1")"
  py "$1" "$2" <<'EOF' || die "generate a $2-band raster"
import sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
out, n = sys.argv[1], int(sys.argv[2])
# MINISBLACK: GDAL would make a 4-band Byte TIFF RGBA, and the 4th band the input's alpha.
ds = gdal.GetDriverByName("GTiff").Create(out, 200, 200, n, gdal.GDT_Byte, ["PHOTOMETRIC=MINISBLACK", "ALPHA=NO"])
s = osr.SpatialReference()
s.ImportFromEPSG(32632)
ds.SetProjection(s.ExportToWkt())
ds.SetGeoTransform((463000, 10, 0, 5247000, 0, -10))
for b in range(n):
    ds.GetRasterBand(b + 1).WriteArray(np.full((200, 200), 10 * (b + 1), np.uint8))
EOF
}

# job OUT_YAML INPUT OUTPUT_MAPPING [PROCESS_AND_PARAMS]
job() {
  cat >"$1" <<EOF
process: ${4:-convert}
inputs:
  img: $2
grid: {name: WebMercatorQuad}
zoom: 15
output: $3
EOF
}

# GTiff tiles of 1 to 7 data bands, with an alpha band, then with nodata.
for n in 1 2 3 4 5 6 7; do
  mkbands "$WORK/data/b$n.tif" $n
  job "$WORK/gt$n.yaml" "data/b$n.tif" "{path: out/gt$n, format: GTiff}"
  check_run "convert a $n-band raster to GTiff exits 0" 0 run "$WORK/gt$n.yaml" --workers 2 --no-progress
done
for n in 2 4; do
  job "$WORK/nd$n.yaml" "data/b$n.tif" "{path: out/nd$n, format: GTiff, nodata: 0}"
  check_run "convert a $n-band raster to GTiff with output.nodata exits 0" 0 run "$WORK/nd$n.yaml" --workers 2 --no-progress
done

py_checks "$WORK/out" <<'EOF'
import sys, swt
import numpy as np
from osgeo import gdal
out = sys.argv[1]
name = gdal.GetColorInterpretationName

def interps(path):
    ds = gdal.Open(path)
    r = [name(ds.GetRasterBand(i + 1).GetColorInterpretation()) for i in range(ds.RasterCount)]
    arr = ds.ReadAsArray()
    return r, (arr if arr.ndim == 3 else arr[None])

def data_interps(n):
    return ["Red", "Green", "Blue"] if n == 3 else ["Gray"] + ["Undefined"] * (n - 1)

for n in range(1, 8):
    tiles = swt.list_tiles("%s/gt%d" % (out, n), "tif")
    bad, partial = [], 0
    for t in tiles:
        got, arr = interps(swt.tile_path("%s/gt%d" % (out, n), *t, "tif"))
        alpha = arr[-1]
        partial += bool((alpha == 0).any() and (alpha == 255).any())
        want = data_interps(n) + ["Alpha"]
        if got != want:
            bad.append("%s: %s" % (t, got))
            continue
        if not set(np.unique(alpha)) <= {0, 255}:
            bad.append("%s: last band is not a 0/255 mask: %s" % (t, np.unique(alpha)[:8]))
        for b in range(n):
            if not (arr[b][alpha == 255] == 10 * (b + 1)).all():
                bad.append("%s: band %d does not hold the input's band %d (%s)" % (t, b + 1, b + 1,
                                                                                   np.unique(arr[b])[:5]))
    swt.check("%d data band(s): each of %d GTiff tiles is %s + Alpha, data bands hold the input's values"
              % (n, len(tiles), ",".join(data_interps(n))), tiles and not bad, "\n".join(bad[:6]))
    swt.check("%d data band(s): some tiles are partly transparent (the mask is really the last band)" % n,
              partial > 0, "%d partial tiles" % partial)

for n in (2, 4):
    tiles = swt.list_tiles("%s/nd%d" % (out, n), "tif")
    bad = []
    for t in tiles:
        got, _ = interps(swt.tile_path("%s/nd%d" % (out, n), *t, "tif"))
        if got != data_interps(n):
            bad.append("%s: %s" % (t, got))
    swt.check("%d data bands with output.nodata: %d GTiff tiles have exactly the data bands, none Alpha"
              % (n, len(tiles)), tiles and not bad, "\n".join(bad[:6]))
EOF

# bandmath with two expressions: two data bands, then the mask.
job "$WORK/bm.yaml" "data/b3.tif" "{path: out/bm, format: GTiff}" \
  'bandmath
params: {expression: "img.b1 * 2; img.b3 + 1", dtype: Byte}'
check_run "bandmath with two expressions to GTiff exits 0" 0 run "$WORK/bm.yaml" --workers 2 --no-progress
# PNG (1 and 3 bands through swath's encoder, UInt16 through GDAL's) and WEBP.
job "$WORK/png1.yaml" "data/b1.tif" "{path: out/png1, format: PNG}"
job "$WORK/png3.yaml" "data/b3.tif" "{path: out/png3, format: PNG}"
job "$WORK/png16.yaml" "data/b1.tif" "{path: out/png16, format: PNG, dtype: UInt16}"
job "$WORK/webp.yaml" "data/b3.tif" "{path: out/webp, format: WEBP, quality: 100}"
for j in png1 png3 png16 webp; do
  check_run "convert to $j exits 0" 0 run "$WORK/$j.yaml" --workers 2 --no-progress
done
py_checks "$WORK/out" <<'EOF'
import sys, swt
from osgeo import gdal
out = sys.argv[1]
RGB = ["Red", "Green", "Blue"]
# libwebp stores no alpha channel when every pixel is opaque: such WEBP tiles
# read back as RGB (a tile with transparent pixels must be RGBA).
for sub, ext, want, opaque_ok in (("bm", "tif", ["Gray", "Undefined", "Alpha"], False),
                                  ("png1", "png", ["Gray", "Alpha"], False),
                                  ("png3", "png", RGB + ["Alpha"], False), ("png16", "png", ["Gray", "Alpha"], False),
                                  ("webp", "webp", RGB + ["Alpha"], True)):
    tiles = swt.list_tiles("%s/%s" % (out, sub), ext)
    bad, full = [], 0
    for t in tiles:
        ds = gdal.Open(swt.tile_path("%s/%s" % (out, sub), *t, ext))
        got = [gdal.GetColorInterpretationName(ds.GetRasterBand(i + 1).GetColorInterpretation())
               for i in range(ds.RasterCount)]
        full += got == want
        if got != want and not (opaque_ok and got == want[:-1]):
            bad.append("%s: %s" % (t, got))
    swt.check("%s: each of %d tiles is %s%s (%d with alpha)" % (sub, len(tiles), ",".join(want),
                                                              " or, fully opaque, without Alpha" if opaque_ok else "",
                                                              full),
              tiles and not bad and full > 0, "\n".join(bad[:6]))
EOF

# output.nodata has no place in PNG or WEBP tiles (their alpha band marks
# missing data): refused at job load, before anything is written.
for fmt in PNG WEBP; do
  job "$WORK/ndpng.yaml" "data/b3.tif" "{path: out/nd$fmt, format: $fmt, nodata: 0}"
  check_run "output.nodata with $fmt is refused with exit 2" 2 run "$WORK/ndpng.yaml" --no-progress
  check_eq "output.nodata with $fmt: one line on stderr" 1 "$(wc -l <"$WORK/run.err")"
  if grep -q "output.nodata" "$WORK/run.err" && grep -q "$fmt" "$WORK/run.err"; then
    pass "output.nodata with $fmt: the message names output.nodata and $fmt"
  else fail "output.nodata with $fmt: the message names output.nodata and $fmt" "$(cat "$WORK/run.err")"; fi
  if [ ! -e "$WORK/out/nd$fmt" ]; then pass "output.nodata with $fmt: nothing written"
  else fail "output.nodata with $fmt: nothing written" "$(find "$WORK/out/nd$fmt" | head)"; fi
done
job "$WORK/ndjpg.yaml" "data/b3.tif" "{path: out/ndjpg, format: JPEG, nodata: 7}"
check_run "output.nodata with JPEG is accepted" 0 run "$WORK/ndjpg.yaml" --workers 2 --no-progress

# A paletted input (classes 0-4 with a colour table, 255 = nodata at the edges).
py "$WORK/data/classes.tif" <<'EOF' || die "generate the paletted raster"
import sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[1], 300, 300, 1, gdal.GDT_Byte)
s = osr.SpatialReference()
s.ImportFromEPSG(32632)
ds.SetProjection(s.ExportToWkt())
ds.SetGeoTransform((463000, 10, 0, 5247000, 0, -10))
yy, xx = np.mgrid[0:300, 0:300]
ds.GetRasterBand(1).WriteArray(((xx // 60 + yy // 60) % 5).astype(np.uint8))
ct = gdal.ColorTable()
for i, c in enumerate([(0, 0, 0, 255), (200, 30, 30, 255), (30, 200, 30, 255), (30, 30, 200, 255),
                       (250, 250, 0, 128)]):
    ct.SetColorEntry(i, c)
ds.GetRasterBand(1).SetRasterColorTable(ct)
ds.GetRasterBand(1).SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
EOF
cat >"$WORK/pal.yaml" <<'EOF'
process: convert
inputs:
  img: data/classes.tif
grid: {name: WebMercatorQuad}
zoom: [14, 15]
output: {path: out/pal, format: GTiff}
EOF
check_run "convert a paletted raster to GTiff exits 0" 0 run "$WORK/pal.yaml" --workers 2 --no-progress
job "$WORK/palpng.yaml" "data/classes.tif" "{path: out/palpng, format: PNG}"
check_run "convert a paletted raster to PNG exits 0" 0 run "$WORK/palpng.yaml" --workers 2 --no-progress
if grep -q "colour table" "$WORK/run.err"; then pass "PNG of a paletted raster: a warning says the colour table is not kept"
else fail "PNG of a paletted raster: a warning says the colour table is not kept" "$(cat "$WORK/run.err")"; fi
py_checks "$WORK/out" "$WORK/data/classes.tif" <<'EOF'
import sys, swt
import numpy as np
from osgeo import gdal
out, src = sys.argv[1:3]
s = gdal.Open(src)
# TIFF colour maps hold no alpha: compare red, green and blue.
want = [s.GetRasterBand(1).GetColorTable().GetColorEntry(i)[:3]
        for i in range(s.GetRasterBand(1).GetColorTable().GetCount())]
for z in (14, 15):
    tiles = swt.list_tiles(out + "/pal", "tif", z)
    bad = []
    for t in tiles:
        ds = gdal.Open(swt.tile_path(out + "/pal", *t, "tif"))
        b1 = ds.GetRasterBand(1)
        ct = b1.GetColorTable()
        got = [ct.GetColorEntry(i)[:3] for i in range(len(want))] if ct else None
        interp = [gdal.GetColorInterpretationName(ds.GetRasterBand(i + 1).GetColorInterpretation())
                  for i in range(ds.RasterCount)]
        if got != want or interp != ["Palette", "Alpha"]:
            bad.append("%s: %s, colour table %s" % (t, interp, got))
        elif not set(np.unique(b1.ReadAsArray()[ds.GetRasterBand(2).ReadAsArray() == 255])) <= set(range(5)):
            bad.append("%s: values outside the classes" % (t,))
    swt.check("GTiff zoom %d: each of %d tiles is Palette + Alpha with the input's colour table" % (z, len(tiles)),
              tiles and not bad, "\n".join(bad[:6]))
tiles = swt.list_tiles(out + "/palpng", "png")
bad = []
for t in tiles:
    ds = gdal.Open(swt.tile_path(out + "/palpng", *t, "png"))
    a = ds.ReadAsArray()
    if ds.RasterCount != 2 or ds.GetRasterBand(1).GetColorTable() is not None or \
            not set(np.unique(a[0][a[1] == 255])) <= set(range(5)):
        bad.append("%s: %d bands, values %s" % (t, ds.RasterCount, np.unique(a[0])[:8]))
swt.check("PNG: each of %d tiles holds the class indexes as grey + alpha" % len(tiles), tiles and not bad,
          "\n".join(bad[:6]))
EOF

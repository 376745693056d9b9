#!/usr/bin/env bash
# test_run_pyramid.sh: an RGB GeoTIFF becomes a PNG web-tile pyramid.
#   - tiles written at each zoom are a subset of `swath tiles` for the same
#     area and zoom, and every listed tile lying fully inside the raster exists;
#   - tiles are 256x256 RGBA PNG, fully opaque inside the raster;
#   - tilejson.json / stac.json / job.yaml are valid and describe the run;
#   - GDAL's STACTA driver opens stac.json and returns the tiles' pixels;
#   - GTiff output with dtype Float32 works (georeferenced, same values);
#   - a tile with no data at all (alpha 0 in the source) is not written.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 640
LL=$(lonlat_bounds "$WORK/data/rgb.tif") || die "lon/lat bounds of the test raster"

cat >"$WORK/png.yaml" <<'EOF'
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [12, 15]
output: {path: out/png, format: PNG}
EOF
check_run "convert to a PNG pyramid (zooms 12-15, metatiling 2) exits 0" 0 \
  run "$WORK/png.yaml" --workers 2 --no-progress
OUT="$WORK/out/png"

for z in 12 13 14 15; do
  run_swath tiles --grid WebMercatorQuad --zoom $z --bounds "$LL"
  [ "$RUN_RC" -eq 0 ] || fail "swath tiles --zoom $z exits 0" "$(last_run_output)"
  sort "$WORK/run.out" >"$WORK/listed.$z"
done

py_checks "$OUT" "$WORK/data/rgb.tif" "$WORK" <<'EOF'
import sys, swt
out, src, work = sys.argv[1:4]
for z in (12, 13, 14, 15):
    listed = set()
    for line in open("%s/listed.%d" % (work, z)):
        zz, x, y = map(int, line.strip().split("/"))
        listed.add((x, y))
    written = {(x, y) for (_, x, y) in swt.list_tiles(out, "png", z)}
    swt.check("zoom %d: tiles written (%d)" % (z, len(written)), len(written) > 0)
    extra = sorted(written - listed)
    swt.check("zoom %d: written tiles are a subset of `swath tiles` (%d listed)" % (z, len(listed)),
              not extra, "written but not listed: %s" % extra[:10])
    inside = [t for t in sorted(listed) if swt.box_inside_raster(swt.merc_bounds(z, *t), "EPSG:3857", src)]
    missing = [t for t in inside if t not in written]
    swt.check("zoom %d: every listed tile fully inside the raster exists (%d)" % (z, len(inside)),
              not missing, "missing: %s" % missing[:10])
    if z == 15:
        swt.check("zoom 15: some tiles lie fully inside the raster (the check above is not vacuous)",
                  len(inside) >= 4, "only %d" % len(inside))
        opaque = [t for t in inside if not (swt.Tile(swt.tile_path(out, z, *t, "png")).alpha == 255).all()]
        swt.check("zoom 15: tiles fully inside the raster are fully opaque", not opaque,
                  "with alpha < 255: %s" % opaque[:10])

bad = []
tiles = swt.list_tiles(out, "png")
for t in tiles:
    tl = swt.Tile(swt.tile_path(out, *t, "png"))
    if (tl.driver, tl.width, tl.height, tl.count, tl.dtype, tl.has_alpha) != ("PNG", 256, 256, 4, "Byte", True):
        bad.append((t, tl.driver, tl.width, tl.height, tl.count, tl.dtype, tl.has_alpha))
    elif tl.valid.sum() == 0:
        bad.append((t, "no valid pixel"))
swt.check("all %d tiles are 256x256 RGBA (Byte) PNG with some data" % len(tiles), tiles and not bad, bad[:10])
EOF

# Metadata next to the tiles.
py_checks "$OUT" "$WORK/png.yaml" <<'EOF'
import json, sys, yaml, swt
out, jobfile = sys.argv[1:3]
try:
    tj = json.load(open(out + "/tilejson.json"))
    swt.check("tilejson.json is valid JSON", True)
    urls = tj.get("tiles") or []
    swt.check("tilejson.json has a tilejson version and a {z}/{x}/{y}.png tile URL",
              "tilejson" in tj and any("{z}/{x}/{y}.png" in u for u in urls), json.dumps(tj)[:600])
    swt.check("tilejson.json minzoom/maxzoom are 12/15", (tj.get("minzoom"), tj.get("maxzoom")) == (12, 15),
              "minzoom %r maxzoom %r" % (tj.get("minzoom"), tj.get("maxzoom")))
    b = tj.get("bounds")
    ll = swt.lonlat_bounds(sys.argv[1].rsplit("/out/", 1)[0] + "/data/rgb.tif")
    ok = b and len(b) == 4 and b[0] <= ll[0] + 1e-6 and b[1] <= ll[1] + 1e-6 and b[2] >= ll[2] - 1e-6 and b[3] >= ll[3] - 1e-6 \
        and b[2] - b[0] < 1 and b[3] - b[1] < 1
    swt.check("tilejson.json bounds cover the raster (and not the world)", ok, "bounds %r, raster %r" % (b, ll))
except Exception as e:
    swt.check("tilejson.json is valid JSON", False, repr(e))
try:
    st = json.load(open(out + "/stac.json"))
    swt.check("stac.json is valid JSON", True)
    exts = " ".join(st.get("stac_extensions", []))
    swt.check("stac.json is a STAC Feature with the tiled-assets extension",
              st.get("type") == "Feature" and "tiled-assets" in exts, json.dumps(st)[:600])
except Exception as e:
    swt.check("stac.json is valid JSON", False, repr(e))
try:
    got = yaml.safe_load(open(out + "/job.yaml"))
    want = yaml.safe_load(open(jobfile))
    swt.check("job.yaml is valid YAML and is the job as run", got == want, "got %r\nwant %r" % (got, want))
except Exception as e:
    swt.check("job.yaml is valid YAML", False, repr(e))
EOF

# GDAL reads the pyramid through its STAC tiled-assets item.
check "gdalinfo STACTA:stac.json opens the pyramid" gdalinfo "STACTA:$OUT/stac.json"
py_checks "$OUT" "$WORK/data/rgb.tif" "$WORK" <<'EOF'
import sys, swt
out, src, work = sys.argv[1:4]
# A fully inside tile and one at the raster's edge, at the highest zoom.
tiles = [t[1:] for t in swt.list_tiles(out, "png", 15)]
inside = [t for t in tiles if swt.box_inside_raster(swt.merc_bounds(15, *t), "EPSG:3857", src)]
edge = [t for t in tiles if t not in inside]
for kind, pick in (("inside", inside[len(inside) // 2:][:1]), ("edge", edge[:1])):
    if not pick:
        swt.check("a %s tile to read through STACTA" % kind, False)
        continue
    x, y = pick[0]
    b = swt.merc_bounds(15, x, y)
    dst = "%s/stacta_%d_%d.tif" % (work, x, y)
    try:
        swt.run(["gdal_translate", "-q", "-projwin", repr(b[0]), repr(b[3]), repr(b[2]), repr(b[1]),
                 "STACTA:%s/stac.json" % out, dst])
    except Exception as e:
        swt.check("gdal_translate through STACTA returns tile 15/%d/%d" % (x, y), False, e)
        continue
    got, want = swt.Tile(dst), swt.Tile(swt.tile_path(out, 15, x, y, "png"))
    same = (got.width, got.height) == (256, 256) and got.raw.shape[0] >= 3 and \
        (got.raw[:3][:, want.valid] == want.raw[:3][:, want.valid]).all()
    swt.check("gdal_translate through STACTA returns the pixels of %s tile 15/%d/%d" % (kind, x, y), same,
              "STACTA %dx%d, %d bands" % (got.width, got.height, got.raw.shape[0]))
EOF

# GTiff tiles with a Float32 data type.
cat >"$WORK/f32.yaml" <<'EOF'
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [14, 15]
output: {path: out/f32, format: GTiff, dtype: Float32}
EOF
check_run "convert to GTiff Float32 tiles exits 0" 0 run "$WORK/f32.yaml" --workers 2 --no-progress
py_checks "$WORK/out/f32" "$OUT" <<'EOF'
import sys, swt
f32, png = sys.argv[1:3]
for z, tol in ((15, 0.51), (14, 1.01)):
    tif_tiles = [t[1:] for t in swt.list_tiles(f32, "tif", z)]
    png_tiles = [t[1:] for t in swt.list_tiles(png, "png", z)]
    swt.check("zoom %d: GTiff tiles are the PNG run's tile set (%d)" % (z, len(tif_tiles)),
              tif_tiles and tif_tiles == png_tiles,
              "only in tif %s, only in png %s" % (sorted(set(tif_tiles) - set(png_tiles))[:5],
                                                  sorted(set(png_tiles) - set(tif_tiles))[:5]))
    bad, worst = [], 0.0
    for x, y in tif_tiles:
        t = swt.Tile(swt.tile_path(f32, z, x, y, "tif"))
        b = swt.merc_bounds(z, x, y)
        r = swt.merc_res(z)
        gt_ok = t.gt is not None and all(abs(a - e) < 1e-6 * max(1, abs(e))
                                         for a, e in zip(t.gt, (b[0], r, 0, b[3], 0, -r)))
        crs_ok = swt.srs(t.wkt or "LOCAL_CS[\"none\"]").IsSame(swt.srs("EPSG:3857")) == 1
        if (t.driver, t.width, t.height, t.dtype, t.data.shape[0]) != ("GTiff", 256, 256, "Float32", 3) or not gt_ok or not crs_ok:
            bad.append(((x, y), t.driver, t.width, t.height, t.dtype, t.data.shape[0], "gt ok" if gt_ok else t.gt,
                        "crs ok" if crs_ok else t.wkt[:80]))
            continue
        ok, msg = swt.compare("%d/%d/%d" % (z, x, y), t, swt.Tile(swt.tile_path(png, z, x, y, "png")), tol, 0.01)
        if not ok:
            bad.append(msg)
    swt.check("zoom %d: GTiff tiles are 256x256 Float32 RGB (+mask), georeferenced in EPSG:3857, "
              "values within %g of the PNG's" % (z, tol), not bad, "\n".join(map(str, bad[:8])))
EOF

# A tile with no data at all is not written: the western half of this RGBA
# image has alpha 0.
py "$WORK/data/rgb.tif" "$WORK/data/rgba_half.tif" <<'EOF' || die "make the half-transparent RGBA raster"
import sys
import numpy as np
from osgeo import gdal
src = gdal.Open(sys.argv[1])
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[2], src.RasterXSize, src.RasterYSize, 4, gdal.GDT_Byte,
                                          ["TILED=YES", "COMPRESS=DEFLATE", "ALPHA=YES"])
ds.SetGeoTransform(src.GetGeoTransform())
ds.SetProjection(src.GetProjection())
for b in range(3):
    ds.GetRasterBand(b + 1).WriteArray(src.GetRasterBand(b + 1).ReadAsArray())
a = np.full((src.RasterYSize, src.RasterXSize), 255, np.uint8)
a[:, : src.RasterXSize // 2] = 0
ds.GetRasterBand(4).WriteArray(a)
ds.GetRasterBand(4).SetColorInterpretation(gdal.GCI_AlphaBand)
EOF
cat >"$WORK/half.yaml" <<'EOF'
process: convert
inputs:
  img: data/rgba_half.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: 15
output: {path: out/half, format: PNG}
EOF
check_run "convert an RGBA raster whose western half is transparent exits 0" 0 \
  run "$WORK/half.yaml" --workers 2 --no-progress
py_checks "$WORK/out/half" "$WORK/data/rgba_half.tif" "$WORK/listed.15" <<'EOF'
import sys, swt
from osgeo import gdal
out, src, listed_file = sys.argv[1:4]
listed = [tuple(map(int, l.strip().split("/")[1:])) for l in open(listed_file)]
written = {t[1:] for t in swt.list_tiles(out, "png", 15)}
# A virtual raster of the transparent half, to ask "is this tile fully inside it?".
ds = gdal.Open(src)
half = "/vsimem/west.vrt"
gdal.Translate(half, ds, srcWin=[0, 0, ds.RasterXSize // 2, ds.RasterYSize], format="VRT")
east = "/vsimem/east.vrt"
gdal.Translate(east, ds, srcWin=[ds.RasterXSize // 2, 0, ds.RasterXSize - ds.RasterXSize // 2, ds.RasterYSize], format="VRT")
empty = [t for t in listed if swt.box_inside_raster(swt.merc_bounds(15, *t), "EPSG:3857", half)]
full = [t for t in listed if swt.box_inside_raster(swt.merc_bounds(15, *t), "EPSG:3857", east)]
swt.check("there are tiles fully inside the transparent half (%d) and the opaque half (%d)" % (len(empty), len(full)),
          len(empty) >= 2 and len(full) >= 2)
swt.check("tiles with no data at all are not written", not (set(empty) & written),
          "written: %s" % sorted(set(empty) & written)[:10])
swt.check("tiles fully inside the opaque half are written", set(full) <= written,
          "missing: %s" % sorted(set(full) - written)[:10])
# Tiles across the boundary carry alpha 0 on the transparent side.
partial = [t for t in written if t not in full]
mixed = [t for t in partial if 0 < swt.Tile(swt.tile_path(out, 15, *t, "png")).valid.mean() < 1]
swt.check("tiles across the transparency boundary are partly transparent (%d)" % len(mixed), len(mixed) > 0)
EOF
if [ -z "$(tmp_files "$WORK/out")" ]; then pass "no temporary files left in the outputs"
else fail "no temporary files left in the outputs" "$(tmp_files "$WORK/out")"; fi

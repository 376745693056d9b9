#!/usr/bin/env bash
# test_metadata.sh: tilejson.json and stac.json against the tiles on disk.
#   - across the antimeridian (--bounds 179,-10,-179,10 on WorldCRS84Quad and
#     WebMercatorQuad): bounds and bbox are [179,-10,-179,10], the STAC
#     geometry is a MultiPolygon split at +-180 whose boxes hold exactly the
#     tiles written at every zoom, and the center lies in a written tile and
#     on the area; the same for a run that does not cross it;
#   - two islands either side of Greenwich: the center is on an island, not
#     in the sea between them;
#   - GDAL's STACTA driver places the pyramid where the tiles are (it returns
#     each tile's pixels at the tile's own georeferenced bounds) on a custom
#     lat/lon EPSG:4326 grid, WorldCRS84Quad, WebMercatorQuad and UTM 32N; and
#     stac.json's topLeftCorner, read in its CRS's axis order as TMS 1.0
#     says, is the grid's origin.
. "$(dirname "$0")/lib.sh"
require_swath

mkdir -p "$WORK/data"
py "$WORK/data/world.tif" <<'EOF' || die "generate the world raster"
import sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
w, h = 1440, 720
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[1], w, h, 3, gdal.GDT_Byte, ["TILED=YES", "COMPRESS=DEFLATE"])
s = osr.SpatialReference()
s.ImportFromEPSG(4326)
ds.SetProjection(s.ExportToWkt())
ds.SetGeoTransform((-180, 0.25, 0, 90, 0, -0.25))
yy, xx = np.mgrid[0:h, 0:w]
for b in range(3):
    ds.GetRasterBand(b + 1).WriteArray(((xx * (b + 1) + 3 * yy) % 251).astype(np.uint8))
EOF

# run_job NAME GRID ZOOMS FORMAT [swath run flags...]
run_job() {
  local name=$1 grid=$2 zooms=$3 fmt=$4
  shift 4
  cat >"$WORK/$name.yaml" <<EOF
process: convert
inputs:
  img: data/world.tif
grid: {name: $grid}
zoom: $zooms
output: {path: out/$name, format: $fmt}
EOF
  check_run "$name: the run exits 0" 0 run "$WORK/$name.yaml" --workers 2 --no-progress "$@"
}

run_job am84 WorldCRS84Quad "[1, 3]" PNG --bounds 179,-10,-179,10
run_job ammerc WebMercatorQuad "[2, 4]" PNG --bounds 179,-10,-179,10
run_job plain84 WorldCRS84Quad "[3, 5]" PNG --bounds 10,40,20,50
run_job plainmerc WebMercatorQuad "[3, 5]" PNG --bounds 10,40,20,50
cat >"$WORK/islands.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
  "coordinates": [[[-10, 0], [-5, 0], [-5, 5], [-10, 5], [-10, 0]]]}},
 {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
  "coordinates": [[[5, 0], [10, 0], [10, 5], [5, 5], [5, 0]]]}}]}
EOF
cat >"$WORK/islands.yaml" <<'EOF'
process: convert
inputs:
  img: data/world.tif
grid: {name: WorldCRS84Quad}
zoom: [4, 5]
area: {file: islands.geojson}
output: {path: out/islands, format: PNG}
EOF
check_run "islands: the run exits 0" 0 run "$WORK/islands.yaml" --workers 2 --no-progress

py_checks "$WORK/out" "$WORK/islands.geojson" <<'EOF'
import json, sys, swt
from osgeo import ogr
out, islands = sys.argv[1:3]

def box(b):
    return ogr.CreateGeometryFromWkt("POLYGON((%r %r,%r %r,%r %r,%r %r,%r %r))" % (
        b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1]))

def polygons(geom):
    """The geometry's polygons as lon/lat boxes (each ring's extent)."""
    coords = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    return [(min(p[0] for p in poly[0]), min(p[1] for p in poly[0]),
             max(p[0] for p in poly[0]), max(p[1] for p in poly[0])) for poly in coords]

def near(a, b, eps=1e-6):
    return len(a) == len(b) and all(abs(x - y) <= eps for x, y in zip(a, b))

runs = (("am84", "WorldCRS84Quad", (1, 3), [179, -10, -179, 10], "MultiPolygon"),
        ("ammerc", "WebMercatorQuad", (2, 4), [179, -10, -179, 10], "MultiPolygon"),
        ("plain84", "WorldCRS84Quad", (3, 5), [10, 40, 20, 50], "Polygon"),
        ("plainmerc", "WebMercatorQuad", (3, 5), [10, 40, 20, 50], "Polygon"))
for name, grid, (z0, z1), want_bbox, gtype in runs:
    d = out + "/" + name
    tj = json.load(open(d + "/tilejson.json"))
    st = json.load(open(d + "/stac.json"))
    tiles_of = swt.crs84_tiles if grid == "WorldCRS84Quad" else swt.merc_tiles
    bounds_of = swt.crs84_bounds if grid == "WorldCRS84Quad" else swt.merc_lonlat_bounds
    swt.check("%s: tilejson bounds are %s" % (name, want_bbox), near(tj["bounds"], want_bbox), tj["bounds"])
    swt.check("%s: stac.json bbox is %s" % (name, want_bbox), near(st["bbox"], want_bbox), st["bbox"])
    g = st["geometry"]
    parts = polygons(g)
    ok = g["type"] == gtype and len(parts) == (2 if gtype == "MultiPolygon" else 1) and \
        all(-180 <= p[0] < p[2] <= 180 and p[2] - p[0] < 180 for p in parts)
    if gtype == "MultiPolygon":
        ok = ok and sorted((p[0], p[2]) for p in parts)[0][0] == -180 and max(p[2] for p in parts) == 180
    swt.check("%s: stac.json geometry is a %s%s" % (name, gtype, " split at +-180" if gtype == "MultiPolygon" else ""),
              ok, json.dumps(g))
    # The boxes hold exactly the tiles on disk, at every zoom.
    bad = []
    for z in range(z0, z1 + 1):
        want = set().union(*(tiles_of(*p, z) for p in parts))
        got = {t[1:] for t in swt.list_tiles(d, "png", z)}
        if got != want or not got:
            bad.append("zoom %d: written %d, in the geometry %d; extra %s, missing %s" % (
                z, len(got), len(want), sorted(got - want)[:4], sorted(want - got)[:4]))
    swt.check("%s: the tiles written at zooms %d-%d are those the geometry covers" % (name, z0, z1), not bad,
              "\n".join(bad))
    lon, lat, cz = tj["center"]
    in_tile = [t for t in swt.list_tiles(d, "png", cz)
               if bounds_of(*t)[0] <= lon <= bounds_of(*t)[2] and bounds_of(*t)[1] <= lat <= bounds_of(*t)[3]]
    on_area = any(p[0] <= lon <= p[2] and p[1] <= lat <= p[3] for p in parts)
    swt.check("%s: the center %s lies in a written zoom-%d tile (%s) and on the area" % (name, tj["center"], cz,
                                                                                       in_tile[:1]),
              z0 <= cz <= z1 and in_tile and on_area)

# Two islands: the bbox spans both, the center is on one of them.
tj = json.load(open(out + "/islands/tilejson.json"))
src = ogr.Open(islands)  # kept open while its layer is read
geoms = [f.GetGeometryRef().Clone() for f in src.GetLayer(0)]
lon, lat = tj["center"][:2]
pt = ogr.CreateGeometryFromWkt("POINT(%r %r)" % (lon, lat))
swt.check("islands: tilejson bounds span both islands", near(tj["bounds"], [-10, 0, 10, 5]), tj["bounds"])
swt.check("islands: the center %s is on an island, not in the sea between" % tj["center"][:2],
          any(g.Intersects(pt) for g in geoms))
EOF

# GDAL's STACTA driver: where does it put the pyramid? A custom grid in
# EPSG:4326, whose authority axis order is latitude first.
cat >"$WORK/latlon.json" <<'EOF'
{"id": "LatLon4326", "crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
 "tileMatrices": [
  {"id": "0", "cellSize": 0.703125, "cornerOfOrigin": "topLeft", "pointOfOrigin": [90, -180],
   "tileWidth": 256, "tileHeight": 256, "matrixWidth": 2, "matrixHeight": 1},
  {"id": "1", "cellSize": 0.3515625, "pointOfOrigin": [90, -180], "tileWidth": 256, "tileHeight": 256,
   "matrixWidth": 4, "matrixHeight": 2},
  {"id": "2", "cellSize": 0.17578125, "pointOfOrigin": [90, -180], "tileWidth": 256, "tileHeight": 256,
   "matrixWidth": 8, "matrixHeight": 4},
  {"id": "3", "cellSize": 0.087890625, "pointOfOrigin": [90, -180], "tileWidth": 256, "tileHeight": 256,
   "matrixWidth": 16, "matrixHeight": 8}]}
EOF
run_job stlatlon "$WORK/latlon.json" "[2, 3]" GTiff --bounds 0,40,20,55
run_job st84 WorldCRS84Quad "[5, 6]" GTiff --bounds 0,40,5,45
run_job stmerc WebMercatorQuad "[5, 6]" GTiff --bounds 0,40,5,45
run_job stutm "$SWATH_SRC/tests/data/utm32n.json" "[1, 2]" GTiff --bounds 8,47,9,48

py_checks "$WORK/out" "$WORK/latlon.json" "$SWATH_SRC/tests/data/utm32n.json" <<'EOF'
import json, sys, swt
import numpy as np
from osgeo import gdal, osr
out, latlon, utm = sys.argv[1:4]

def origin_of(tms_path, z):
    """The grid's top-left corner at zoom z, x (easting, longitude) first."""
    t = json.load(open(tms_path))
    crs = swt.srs(t["crs"]["uri"] if isinstance(t["crs"], dict) else t["crs"])
    m = t["tileMatrices"][z]
    a, b = m["pointOfOrigin"]
    return (b, a) if crs.EPSGTreatsAsLatLong() or crs.EPSGTreatsAsNorthingEasting() else (a, b)

for name, zmax, origin in (("stlatlon", 3, origin_of(latlon, 3)), ("st84", 6, (-180, 90)),
                           ("stmerc", 6, (-swt.MERC, swt.MERC)), ("stutm", 2, origin_of(utm, 2))):
    d = out + "/" + name
    # stac.json itself: topLeftCorner in its CRS's axis order (TMS 1.0) is the grid's origin.
    st = json.load(open(d + "/stac.json"))
    tms = list(st["properties"]["tiles:tile_matrix_sets"].values())[0]
    crs = swt.srs(tms["supportedCRS"].replace("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84"))
    corner = [m for m in tms["tileMatrix"] if m["identifier"] == str(zmax)][0]["topLeftCorner"]
    xy = tuple(reversed(corner)) if crs.EPSGTreatsAsLatLong() or crs.EPSGTreatsAsNorthingEasting() else tuple(corner)
    swt.check("%s: topLeftCorner %s in %s's axis order is the grid origin %s" % (name, corner, tms["supportedCRS"],
                                                                               origin),
              all(abs(a - b) < 1e-6 for a, b in zip(xy, origin)))
    # GDAL's STACTA driver returns each tile's pixels at the tile's own bounds.
    try:
        ds = gdal.Open("STACTA:%s/stac.json" % d)
    except Exception as e:
        swt.check("%s: gdal opens STACTA:stac.json" % name, False, e)
        continue
    gt = ds.GetGeoTransform()
    tiles = swt.list_tiles(d, "tif", zmax)
    bad, compared = [], 0
    for t in tiles:
        tile = gdal.Open(swt.tile_path(d, *t, "tif"))
        tgt = tile.GetGeoTransform()
        col, row = (tgt[0] - gt[0]) / gt[1], (tgt[3] - gt[3]) / gt[5]
        if abs(gt[1] - tgt[1]) > 1e-9 * abs(gt[1]) or abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6 \
                or not (0 <= round(col) <= ds.RasterXSize - 256 and 0 <= round(row) <= ds.RasterYSize - 256):
            bad.append("%s at %s: STACTA geotransform %s puts it at pixel %.3f,%.3f of %dx%d" % (
                t, tgt[:4:3], gt, col, row, ds.RasterXSize, ds.RasterYSize))
            continue
        got = ds.ReadAsArray(int(round(col)), int(round(row)), 256, 256)
        want = tile.ReadAsArray()
        if got.shape != want.shape or not (got == want).all():
            bad.append("%s: STACTA pixels differ from the tile's" % (t,))
        compared += 1
    swt.check("%s: gdalinfo STACTA: places each of %d zoom-%d tiles at its bounds, with its pixels (%d compared)" % (
        name, len(tiles), zmax, compared), tiles and not bad, "\n".join(bad[:5]))
    s = ds.GetSpatialRef()
    swt.check("%s: STACTA's CRS is the tiles' CRS" % name,
              s is not None and s.IsSame(swt.srs(gdal.Open(swt.tile_path(d, *tiles[0], "tif")).GetProjection()),
                                         ["IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES"]) == 1)
EOF

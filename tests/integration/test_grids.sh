#!/usr/bin/env bash
# test_grids.sh: grids through the CLI and in jobs.
#   - `swath tiles` on WebMercatorQuad and WorldCRS84Quad lists exactly the
#     tiles computed independently here (mercantile-style formulas), also for
#     bounds crossing the antimeridian (170,-10,-170,10), with --count,
#     --metatiling and an L-shaped --area (true intersection, not the bbox);
#   - --geojson parses and each feature's bbox is its tile's lon/lat bounds;
#   - jobs on WorldCRS84Quad and on a custom TileMatrixSet JSON grid (UTM 32N)
#     write tiles that gdalinfo reads with the right CRS and geotransform,
#     whose pixels equal gdalwarp into the same CRS and bounds.
. "$(dirname "$0")/lib.sh"
require_swath

ZRH="8.45,47.32,8.63,47.43"
# tiles_py GRID W S E N Z: the independent answer, as sorted z/x/y lines.
tiles_py() {
  "$PY" -c '
import sys, swt
g, w, s, e, n, z = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6])
f = swt.merc_tiles if g == "WebMercatorQuad" else swt.crs84_tiles
for x, y in sorted(f(w, s, e, n, z)):
    print("%d/%d/%d" % (z, x, y))' "$@" | sort
}
# cmp_tiles NAME GRID BOUNDS Z
cmp_tiles() {
  local name=$1 grid=$2 bounds=$3 z=$4
  run_swath tiles --grid "$grid" --zoom "$z" --bounds "$bounds"
  if [ "$RUN_RC" -ne 0 ]; then
    fail "$name" "swath tiles exit $RUN_RC" "$(last_run_output)"
    return
  fi
  sort "$WORK/run.out" >"$WORK/got.txt"
  # shellcheck disable=SC2086
  tiles_py "$grid" ${bounds//,/ } "$z" >"$WORK/want.txt"
  if [ -s "$WORK/want.txt" ] && cmp -s "$WORK/got.txt" "$WORK/want.txt"; then
    pass "$name ($(wc -l <"$WORK/want.txt") tiles)"
  else
    fail "$name" "$(diff "$WORK/want.txt" "$WORK/got.txt" | head -n 20)" "(< expected, > swath)"
  fi
}

cmp_tiles "WebMercatorQuad zoom 14 over Zurich" WebMercatorQuad "$ZRH" 14
cmp_tiles "WebMercatorQuad zoom 17 over Zurich" WebMercatorQuad "$ZRH" 17
cmp_tiles "WebMercatorQuad zoom 2 over a continent" WebMercatorQuad "-10,35,30,60" 2
cmp_tiles "WebMercatorQuad zoom 3 across the antimeridian" WebMercatorQuad "170,-10,-170,10" 3
cmp_tiles "WebMercatorQuad zoom 6 across the antimeridian" WebMercatorQuad "170,-10,-170,10" 6
cmp_tiles "WorldCRS84Quad zoom 12 over Zurich" WorldCRS84Quad "$ZRH" 12
cmp_tiles "WorldCRS84Quad zoom 0 (2x1 tiles) whole world" WorldCRS84Quad "-180,-90,180,90" 0
cmp_tiles "WorldCRS84Quad zoom 3 across the antimeridian" WorldCRS84Quad "170,-10,-170,10" 3

# Known values: Zurich's box at zoom 14 is x 8576-8584, y 5733-5741 (9x9 tiles).
run_swath tiles --grid WebMercatorQuad --zoom 14 --bounds "$ZRH" --count
check_eq "WebMercatorQuad zoom 14 over Zurich: --count is 81" "81" "$(cat "$WORK/run.out")"
run_swath tiles --grid WebMercatorQuad --zoom 14 --bounds "$ZRH"
check_eq "WebMercatorQuad zoom 14 over Zurich: x 8576-8584, y 5733-5741" "8576 8584 5733 5741" \
  "$(awk -F/ 'NR == 1 {a = b = $2; c = d = $3} {if ($2 < a) a = $2; if ($2 > b) b = $2; if ($3 < c) c = $3; if ($3 > d) d = $3} END {print a, b, c, d}' "$WORK/run.out")"
run_swath tiles --grid WebMercatorQuad --zoom 3 --bounds 170,-10,-170,10
check_eq "antimeridian at zoom 3: tiles 7 and 0 in rows 3-4" "3/0/3 3/0/4 3/7/3 3/7/4" "$(sort "$WORK/run.out" | tr '\n' ' ' | sed 's/ $//')"
run_swath tiles --grid WorldCRS84Quad --zoom 0 --bounds -180,-90,180,90
check_eq "WorldCRS84Quad zoom 0 is 2x1 tiles" "0/0/0 0/1/0" "$(sort "$WORK/run.out" | tr '\n' ' ' | sed 's/ $//')"

# A zoom range lists each zoom; --count sums them.
run_swath tiles --grid WebMercatorQuad --zoom 12-14 --bounds "$ZRH"
sort "$WORK/run.out" >"$WORK/got.txt"
for z in 12 13 14; do tiles_py WebMercatorQuad 8.45 47.32 8.63 47.43 $z; done | sort >"$WORK/want.txt"
if cmp -s "$WORK/got.txt" "$WORK/want.txt"; then pass "--zoom 12-14 lists every zoom of the range"
else fail "--zoom 12-14 lists every zoom of the range" "$(diff "$WORK/want.txt" "$WORK/got.txt" | head)"; fi
run_swath tiles --grid WebMercatorQuad --zoom 12-14 --bounds "$ZRH" --count
check_eq "--zoom 12-14 --count" "$(wc -l <"$WORK/want.txt")" "$(cat "$WORK/run.out")"

# --metatiling 4: the metatiles holding those tiles.
run_swath tiles --grid WebMercatorQuad --zoom 16 --bounds "$ZRH" --metatiling 4
sort "$WORK/run.out" >"$WORK/got.txt"
tiles_py WebMercatorQuad 8.45 47.32 8.63 47.43 16 | awk -F/ '{printf "%d/%d/%d\n", $1, int($2/4), int($3/4)}' | sort -u >"$WORK/want.txt"
if [ -s "$WORK/want.txt" ] && cmp -s "$WORK/got.txt" "$WORK/want.txt"; then pass "--metatiling 4 lists the metatiles holding the tiles ($(wc -l <"$WORK/want.txt"))"
else fail "--metatiling 4 lists the metatiles holding the tiles" "$(diff "$WORK/want.txt" "$WORK/got.txt" | head)"; fi

# --area: an L-shaped polygon (axis-parallel edges stay straight in Web
# Mercator); tiles in the L's missing corner are in the bbox but not listed.
cat >"$WORK/L.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
 "geometry": {"type": "Polygon", "coordinates": [[[8.45, 47.32], [8.63, 47.32], [8.63, 47.36],
   [8.51, 47.36], [8.51, 47.43], [8.45, 47.43], [8.45, 47.32]]]}}]}
EOF
run_swath tiles --grid WebMercatorQuad --zoom 15 --area "$WORK/L.geojson"
sort "$WORK/run.out" >"$WORK/got.txt"
py_checks "$WORK/got.txt" <<'EOF'
import sys, swt
from osgeo import ogr
got = {tuple(map(int, l.split("/")[1:])) for l in open(sys.argv[1]) if l.strip()}
L = ogr.CreateGeometryFromJson('{"type": "Polygon", "coordinates": [[[8.45, 47.32], [8.63, 47.32], [8.63, 47.36], '
                               '[8.51, 47.36], [8.51, 47.43], [8.45, 47.43], [8.45, 47.32]]]}')
want = set()
bbox = swt.merc_tiles(8.45, 47.32, 8.63, 47.43, 15)
for x, y in bbox:
    w, s, e, n = swt.merc_lonlat_bounds(15, x, y)
    box = ogr.CreateGeometryFromWkt("POLYGON((%r %r, %r %r, %r %r, %r %r, %r %r))" % (w, s, e, s, e, n, w, n, w, s))
    inter = box.Intersection(L)
    if inter is not None and inter.GetArea() > 1e-12:
        want.add((x, y))
swt.check("--area L-shape: tiles that really intersect the polygon (%d of %d in its bbox)" % (len(want), len(bbox)),
          got == want and len(want) < len(bbox),
          "missing %s\nextra %s" % (sorted(want - got)[:10], sorted(got - want)[:10]))
EOF

# --geojson: valid GeoJSON; each feature is a tile with its lon/lat bounds.
for spec in "WebMercatorQuad|$ZRH|14" "WebMercatorQuad|170,-10,-170,10|4" "WorldCRS84Quad|170,-10,-170,10|3"; do
  IFS='|' read -r grid bounds z <<<"$spec"
  run_swath tiles --grid "$grid" --zoom "$z" --bounds "$bounds"
  sort "$WORK/run.out" >"$WORK/lines.txt"
  run_swath tiles --grid "$grid" --zoom "$z" --bounds "$bounds" --geojson
  [ "$RUN_RC" -eq 0 ] || fail "--geojson $grid $bounds z$z exits 0" "$(last_run_output)"
  py_checks "$WORK/run.out" "$WORK/lines.txt" "$grid" "$bounds" "$z" <<'EOF'
import json, sys, swt
path, lines, grid, bounds, z = sys.argv[1:6]
try:
    fc = json.load(open(path))
except Exception as e:
    swt.check("--geojson %s %s z%s parses as JSON" % (grid, bounds, z), False, repr(e))
    sys.exit(0)
feats = fc.get("features", [])
swt.check("--geojson %s %s z%s: a FeatureCollection of %d Polygon features" % (grid, bounds, z, len(feats)),
          fc.get("type") == "FeatureCollection" and feats and all(f["geometry"]["type"] == "Polygon" for f in feats))
ids = sorted("%d/%d/%d" % (f["properties"]["z"], f["properties"]["x"], f["properties"]["y"]) for f in feats)
want = sorted(l.strip() for l in open(lines) if l.strip())
swt.check("--geojson %s z%s: the same tiles as the z/x/y listing" % (grid, z), ids == want,
          "geojson %s\nlines %s" % (ids[:5], want[:5]))
bad = []
for f in feats:
    p = f["properties"]
    ring = f["geometry"]["coordinates"][0]
    xs, ys = [c[0] for c in ring], [c[1] for c in ring]
    got = (min(xs), min(ys), max(xs), max(ys))
    exp = (swt.merc_lonlat_bounds if grid == "WebMercatorQuad" else swt.crs84_bounds)(p["z"], p["x"], p["y"])
    if any(abs(a - b) > 1e-7 for a, b in zip(got, exp)) or ring[0] != ring[-1]:
        bad.append("%s: bbox %s, expected %s" % (p, got, exp))
swt.check("--geojson %s z%s: every feature's bbox is its tile's lon/lat bounds (closed rings)" % (grid, z),
          not bad, "\n".join(bad[:5]))
EOF
done

# Jobs on other grids write tiles in the grid's CRS.
gen_rgb "$WORK/data/rgb.tif" --size 384
cat >"$WORK/crs84.yaml" <<'EOF'
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WorldCRS84Quad, metatiling: 2}
zoom: [13, 14]
output: {path: out/crs84, format: GTiff, warp_error: 0}
EOF
check_run "a job on WorldCRS84Quad exits 0" 0 run "$WORK/crs84.yaml" --workers 2 --no-progress

GRID_JSON="$SWATH_SRC/tests/data/utm32n.json"
if [ ! -f "$GRID_JSON" ]; then
  GRID_JSON="$WORK/utm32n.json"
  cat >"$GRID_JSON" <<'EOF'
{"id": "UTM32NTest", "crs": {"uri": "http://www.opengis.net/def/crs/EPSG/0/32632"},
 "tileMatrices": [
  {"id": "0", "cellSize": 1024, "cornerOfOrigin": "topLeft", "pointOfOrigin": [0, 9437184],
   "tileWidth": 256, "tileHeight": 256, "matrixWidth": 4, "matrixHeight": 36},
  {"id": "1", "cellSize": 512, "pointOfOrigin": [0, 9437184], "tileWidth": 256, "tileHeight": 256,
   "matrixWidth": 8, "matrixHeight": 72},
  {"id": "2", "cellSize": 256, "pointOfOrigin": [0, 9437184], "tileWidth": 256, "tileHeight": 256,
   "matrixWidth": 16, "matrixHeight": 144}]}
EOF
fi
gen_rgb "$WORK/data/rgb100.tif" --size 512 --res 100
cat >"$WORK/utm.yaml" <<EOF
process: convert
inputs:
  img: data/rgb100.tif
grid: {name: $GRID_JSON}
zoom: [1, 2]
output: {path: out/utm, format: GTiff, warp_error: 0}
EOF
check_run "a job on a custom TileMatrixSet JSON grid (UTM 32N) exits 0" 0 run "$WORK/utm.yaml" --workers 2 --no-progress

py_checks "$WORK" "$GRID_JSON" <<'EOF'
import json, math, sys, swt
import numpy as np
from osgeo import gdal, osr
work, grid_json = sys.argv[1:3]

def same_crs(wkt, ref):
    s = osr.SpatialReference()
    if not wkt or s.ImportFromWkt(wkt) != 0:
        return False
    return s.IsSame(swt.srs(ref), ["IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES",
                                   "CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS"]) == 1

def check_grid(label, out, src, crs, bounds_fn, tiles_fn, zooms, top):
    for z in zooms:
        got = [t[1:] for t in swt.list_tiles(out, "tif", z)]
        want = tiles_fn(z)
        inside = sorted(t for t in want if swt.box_inside_raster(bounds_fn(z, *t), crs, src))
        swt.check("%s zoom %d: tiles written (%d) lie over the raster, and all %d fully inside it exist"
                  % (label, z, len(got), len(inside)),
                  got and set(got) <= want and set(inside) <= set(got),
                  "extra %s missing %s" % (sorted(set(got) - want)[:5], sorted(set(inside) - set(got))[:5]))
        bad = []
        for x, y in got:
            t = swt.Tile(swt.tile_path(out, z, x, y, "tif"))
            b = bounds_fn(z, x, y)
            exp = (b[0], (b[2] - b[0]) / 256, 0, b[3], 0, -(b[3] - b[1]) / 256)
            if not same_crs(t.wkt, crs):
                bad.append("%d/%d/%d: CRS is not %s: %s" % (z, x, y, crs, (t.wkt or "none")[:120]))
            elif t.gt is None or any(abs(a - e) > 1e-9 * max(1.0, abs(e)) for a, e in zip(t.gt, exp)):
                bad.append("%d/%d/%d: geotransform %s, expected %s" % (z, x, y, t.gt, exp))
            elif (t.width, t.height) != (256, 256):
                bad.append("%d/%d/%d: %dx%d" % (z, x, y, t.width, t.height))
        swt.check("%s zoom %d: gdalinfo shows each tile in %s with the tile's bounds" % (label, z, crs),
                  got and not bad, "\n".join(bad[:5]) or "no tiles")
    # Pixels: an inside (or any) tile of the highest zoom equals gdalwarp into that CRS.
    z = zooms[-1]
    got = [t[1:] for t in swt.list_tiles(out, "tif", z)]
    inside = [t for t in got if swt.box_inside_raster(bounds_fn(z, *t), crs, src)]
    if not got:
        swt.check("%s: a tile at zoom %d to compare with gdalwarp" % (label, z), False)
        return
    x, y = (inside or got)[len(inside or got) // 2]
    ref = swt.Tile(swt.gdalwarp(src, "%s/ref_%s.tif" % (work, label), bounds_fn(z, x, y), (256, 256),
                                t_srs=crs, extra=["-dstalpha"]))
    t = swt.Tile(swt.tile_path(out, z, x, y, "tif"))
    t.valid = t.alpha == 255 if t.alpha is not None else t.valid
    ref.valid = ref.alpha == 255
    ok, msg = swt.compare("%d/%d/%d" % (z, x, y), t, ref, 1.0, 0.05)
    swt.check("%s: tile %d/%d/%d equals gdalwarp -t_srs %s within 1 DN" % (label, z, x, y, crs), ok, msg)

# WorldCRS84Quad
src = work + "/data/rgb.tif"
ll = swt.lonlat_bounds(src)
check_grid("WorldCRS84Quad", work + "/out/crs84", src, "EPSG:4326", swt.crs84_bounds,
           lambda z: swt.crs84_tiles(*ll, z), [13, 14], 14)

# The UTM grid from its TileMatrixSet JSON (independently: cell sizes and origin).
tms = json.load(open(grid_json))
mats = tms["tileMatrices"]
def utm_bounds(z, x, y):
    m = mats[z]
    ox, oy = m["pointOfOrigin"]
    span = m["cellSize"] * m["tileWidth"]
    return (ox + x * span, oy - (y + 1) * span, ox + (x + 1) * span, oy - y * span)
src = work + "/data/rgb100.tif"
(x0, y0, x1, y1), _ = swt.raster_extent(src)
def utm_tiles(z):
    m = mats[z]
    ox, oy = m["pointOfOrigin"]
    span = m["cellSize"] * m["tileWidth"]
    return {(x, y) for x in range(int(math.floor((x0 - ox) / span)), int(math.ceil((x1 - ox) / span)))
            for y in range(int(math.floor((oy - y1) / span)), int(math.ceil((oy - y0) / span)))}
check_grid("UTM32N", work + "/out/utm", src, "EPSG:32632", utm_bounds, utm_tiles, [1, 2], 2)
EOF

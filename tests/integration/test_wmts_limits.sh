#!/usr/bin/env bash
# test_wmts_limits.sh: a WMTS layer restricted to part of its tile matrix set
# (TileMatrixSetLimits), against MapCache (tests/integration/servers.sh) and
# a standards-conforming capabilities document served by lighttpd.
#
# MapCache with a restricted extent answers 404 TileOutOfRange for tiles
# outside it, and MapCache 1.14 writes the limits with rows counted from the
# bottom of the matrix (its GetTile counts them from the top, as the standard
# does). A bilinear job's resampling margin reaches one service tile beyond
# the served area; those tiles must count as empty, not fail the tasks.
#
# Five capabilities documents, each read by a bilinear job over an area one
# tile larger than the served range (the row order is decided as
# src/io/wmts_limits.c says; -v names the way, checked here):
#   mapcache-bbox   MapCache, layer WGS84BoundingBox = the restricted extent:
#                   the box says rows from the bottom
#   mapcache-world  MapCache, WGS84BoundingBox = the whole world: the box
#                   cannot tell, MapCache's "{set}:{index}" names say bottom
#   standard-bbox   MapCache's document rewritten the standard way (rows from
#                   the top, limits named by the matrix identifier), same box:
#                   the box says top
#   standard-world  the same with the whole-world box: top, as the standard says
#   named-top-bbox  rows from the top but MapCache's names (a MapCache that
#                   would count rows right): the box overrules the names
# Each run succeeds, asks the server for no tile outside the limits, and its
# zoom-15 tiles equal gdalwarp's (bilinear) of the local raster clipped to the
# served range: the same tile set, the same edge, the same pixels.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

# A 2048 px raster on the pixel grid of WebMercatorQuad zoom 15 (so the
# served tiles, MapServer's NEAREST and gdalwarp's bilinear all copy pixels),
# reaching over two tiles beyond the served range on every side (MapServer's
# own edge is not what this test is about).
read -r CX CY <<<"$("$PY" -c '
M = 20037508.342789244; r = 2 * M / 2**15 / 256
ox = -M + round((950668 - 1024 * r + M) / r) * r
oy = M - round((M - (6002678 + 1024 * r)) / r) * r
print("%.9f %.9f" % (ox + 1024 * r, oy - 1024 * r))')"
SRC=$WORK/src.tif
gen_rgb "$SRC" --size 2048 --crs EPSG:3857 --center "$CX,$CY" --res 4.777314267823516
DOC=$WORK/doc
mkdir -p "$DOC"
servers_start_lighttpd "$DOC" || die "lighttpd starts"
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST

# The restricted extent (EPSG:3857), well inside the raster, not on tile
# edges; the served range is the zoom-15 tiles it touches.
EXT="948900 6000900 952300 6004300"
BBOX=$("$PY" -c '
import sys
from osgeo import osr
s = osr.SpatialReference(); s.ImportFromEPSG(3857); s.SetAxisMappingStrategy(0)
t = osr.SpatialReference(); t.ImportFromEPSG(4326); t.SetAxisMappingStrategy(0)
x0, y0, x1, y1 = map(float, sys.argv[1].split())
b = osr.CoordinateTransformation(s, t).TransformBounds(x0, y0, x1, y1, 21)
print("%.6f %.6f %.6f %.6f" % b)' "$EXT")
# range Z: "minx miny maxx maxy" of the served tiles (XYZ rows, from the top)
range_of() {
  "$PY" -c '
import math, sys
M = 20037508.342789244
z = int(sys.argv[2]); size = 2 * M / (1 << z)
x0, y0, x1, y1 = map(float, sys.argv[1].split())
print(math.floor((x0 + M) / size), math.floor((M - y1) / size),
      math.ceil((x1 + M) / size) - 1, math.ceil((M - y0) / size) - 1)' "$EXT" "$1"
}
read -r C0 R0 C1 R1 <<<"$(range_of 15)"

SERVERS_WMTS_EXTENT=$EXT SERVERS_WMTS_BBOX=$BBOX servers_wmts "$WORK/wms.map" ortho image/png
curl -s "$SERVERS_WMTS_CAPS" >"$WORK/caps-bbox.xml"
SERVERS_WMTS_EXTENT=$EXT servers_wmts "$WORK/wms.map" ortho image/png
curl -s "$SERVERS_WMTS_CAPS" >"$WORK/caps-world.xml"
gettile() { # gettile ROW COL: the HTTP status of one zoom-15 GetTile
  curl -s -o /dev/null -w '%{http_code}' "$SERVERS_WMTS_URL?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=ortho&STYLE=default&FORMAT=image%2Fpng&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX=15&TILEROW=$1&TILECOL=$2"
}
# What the server does: the corners of the range are served, one tile beyond
# any side is TileOutOfRange; and the limits it publishes count rows from the
# bottom (which is what the rest of this test is about).
check_eq "mapcache serves the range, 404 one tile beyond" "200 200 404 404 404 404" \
  "$(gettile "$R0" "$C0") $(gettile "$R1" "$C1") $(gettile $((R0 - 1)) "$C0") $(gettile $((R1 + 1)) "$C1") $(gettile "$R0" $((C0 - 1))) $(gettile "$R1" $((C1 + 1)))"
check_py "mapcache 1.14 publishes the limits with rows from the bottom" "$WORK/caps-world.xml" "$R0 $R1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
r0, r1 = map(int, sys.argv[2].split())
m = re.search(r"<TileMatrix>GoogleMapsCompatible:15</TileMatrix><MinTileRow>(\d+)</MinTileRow>"
              r"<MaxTileRow>(\d+)</MaxTileRow>", t)
got = (int(m.group(1)), int(m.group(2)))
print("limits rows", got, "served rows", (r0, r1))
sys.exit(0 if got == ((1 << 15) - 1 - r1, (1 << 15) - 1 - r0) else 1)
PY

# Rows from the top; limits named by matrix identifier ("std") or as MapCache
# names them ("named").
flip_rows() { # flip_rows IN OUT std|named
  "$PY" - "$@" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def flip(m):
    z = int(m.group(1)); h = 1 << z
    lo, hi = int(m.group(2)), int(m.group(3))
    name = str(z) if sys.argv[3] == "std" else "GoogleMapsCompatible:%d" % z
    return ("<TileMatrix>%s</TileMatrix><MinTileRow>%d</MinTileRow><MaxTileRow>%d</MaxTileRow>"
            % (name, h - 1 - hi, h - 1 - lo))
t, n = re.subn(r"<TileMatrix>GoogleMapsCompatible:(\d+)</TileMatrix><MinTileRow>(\d+)</MinTileRow>"
               r"<MaxTileRow>(\d+)</MaxTileRow>", flip, t)
assert n > 10, n
open(sys.argv[2], "w").write(t)
PY
}
flip_rows "$WORK/caps-bbox.xml" "$DOC/standard-bbox.xml" std
flip_rows "$WORK/caps-world.xml" "$DOC/standard-world.xml" std
flip_rows "$WORK/caps-bbox.xml" "$DOC/named-top-bbox.xml" named

# Bilinear over the served range grown by about one tile on every side.
AREA=$("$PY" -c 'import sys; b = list(map(float, sys.argv[1].split())); print("[%.1f, %.1f, %.1f, %.1f]" % (b[0] - 1300, b[1] - 1300, b[2] + 1300, b[3] + 1300))' "$EXT")
job() { # job NAME CAPS-URL
  cat >"$WORK/$1.yaml" <<JOB
process: convert
inputs:
  img: {type: wmts, capabilities: "$2", layer: ortho, tile_matrix_set: GoogleMapsCompatible, max_connections: 4}
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [14, 15]
area: {bounds: $AREA, crs: EPSG:3857}
cache: {path: $WORK/cache-$1}
output: {path: $WORK/out-$1, format: PNG, resampling: bilinear, warp_error: 0, overviews: false}
JOB
}

# The oracle: the local raster clipped to the served range, warped per tile.
ORACLE=$WORK/oracle
mkdir -p "$ORACLE"
"$PY" - "$SRC" "$ORACLE" "$C0 $R0 $C1 $R1" <<'PY' || die "oracle tiles"
import sys, os
sys.path.insert(0, os.environ.get("WORK", "."))
import swt
from osgeo import gdal
gdal.UseExceptions()
src, out, rng = sys.argv[1], sys.argv[2], list(map(int, sys.argv[3].split()))
c0, r0, c1, r1 = rng
west, _, _, north = swt.merc_bounds(15, c0, r0)
_, south, east, _ = swt.merc_bounds(15, c1, r1)
clip = os.path.join(out, "clip.tif")
gdal.Translate(clip, src, projWin=[west, north, east, south])
# Every zoom-15 tile within two of the range, so that missing and extra tiles show.
for x in range(c0 - 2, c1 + 3):
    for y in range(r0 - 2, r1 + 3):
        p = os.path.join(out, "15", str(x), "%d.tif" % y)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        swt.gdalwarp(clip, p, swt.merc_bounds(15, x, y), (256, 256), extra=["-dstalpha"])
PY

for v in "mapcache-bbox bottom (by the layer's WGS84BoundingBox)" \
  "mapcache-world bottom (named {set}:{index}, as MapCache writes them)" \
  "standard-bbox top (by the layer's WGS84BoundingBox)" \
  "standard-world top (as the standard says)" \
  "named-top-bbox top (by the layer's WGS84BoundingBox)"; do
  read -r v order <<<"$v"
  case $v in
  mapcache-bbox)
    SERVERS_WMTS_EXTENT=$EXT SERVERS_WMTS_BBOX=$BBOX servers_wmts "$WORK/wms.map" ortho image/png
    caps=$SERVERS_WMTS_CAPS ;;
  mapcache-world)
    SERVERS_WMTS_EXTENT=$EXT servers_wmts "$WORK/wms.map" ortho image/png
    caps=$SERVERS_WMTS_CAPS ;;
  *)
    SERVERS_WMTS_EXTENT=$EXT servers_wmts "$WORK/wms.map" ortho image/png
    caps=$SERVERS_URL/$v.xml ;;
  esac
  job "$v" "$caps"
  before=$(servers_hits)
  check_run "$v: bilinear run over the limits' edge succeeds" 0 -v run "$WORK/$v.yaml" --no-progress
  check "$v: no task failed" grep -q " 0 failed)" "$WORK/run.err"
  check "$v: rows counted from the $order" grep -qF "rows counted from the $order" "$WORK/run.err"
  check_eq "$v: no request outside the limits (no 404)" 0 \
    "$(tail -n +$((before + 1)) "$SERVERS_LOG" | grep 'REQUEST=GetTile' | grep -c '" 404 ')"
  check_py "$v: zoom 15 equals gdalwarp of the raster clipped to the served range" \
    "$WORK/out-$v" "$ORACLE" <<'PY'
import sys, os, glob
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
out, oracle = sys.argv[1], sys.argv[2]
want = {}
for p in glob.glob(oracle + "/15/*/*.tif"):
    a = gdal.Open(p).ReadAsArray()
    if a[3].any():
        want[os.path.relpath(p, oracle)[:-4]] = a
got = {os.path.relpath(p, out)[:-4]: p for p in glob.glob(out + "/15/*/*.png")}
if set(got) != set(want):
    print("tile sets differ: only swath", sorted(set(got) - set(want))[:5],
          "only oracle", sorted(set(want) - set(got))[:5])
    sys.exit(1)
worst = 0
for t, a in want.items():
    b = gdal.Open(got[t]).ReadAsArray()
    if ((a[3] > 0) != (b[3] > 0)).any():
        print(t, "transparent pixels differ:", int(((a[3] > 0) != (b[3] > 0)).sum()))
        sys.exit(1)
    m = a[3] > 0
    worst = max(worst, int(np.abs(a[:3].astype(int) - b[:3].astype(int))[:, m].max()))
print(len(want), "tiles, max |diff|", worst)
sys.exit(0 if worst <= 1 else 1)
PY
done

# Limits that are not ranges: one line, exit 2.
sed -e 's#<MinTileRow>11474</MinTileRow>#<MinTileRow>11478</MinTileRow>#' "$DOC/standard-world.xml" >"$DOC/bad.xml"
check "bad limits document prepared" grep -q "<MinTileRow>11478</MinTileRow><MaxTileRow>11477<" "$DOC/bad.xml"
job bad "$SERVERS_URL/bad.xml"
check_run "limits with MinTileRow > MaxTileRow: exit 2" 2 run "$WORK/bad.yaml" --no-progress
check "limits with MinTileRow > MaxTileRow: one line naming the matrix" \
  test "$(wc -l <"$WORK/run.err")" -eq 1 -a -n "$(grep "TileMatrixLimits of matrix 15 are not" "$WORK/run.err")"

#!/usr/bin/env bash
# test_tile_memo.sh: a run shares decoded cached tiles between its workers
# (io/tile_memo.h): a tile decoded for one process tile is pasted from the
# memo for its neighbour. The memo must not change a single output byte.
#
# Every job runs three ways on 3 workers: with the default memo, without
# it (SWATH_TILE_MEMO_MB=0) and with a 1 MB memo (a handful of tiles:
# eviction and entries in use by other threads all the time); the tile
# files of the three outputs must be byte-identical. Each job reads with a
# pixel buffer of 300 px, so neighbouring process tiles share source tiles.
#
#  - XYZ: a tree whose tiles are of every kind the decoder treats apart,
#    side by side (RGB, RGBA, palette with transparent entries, grey, grey
#    and RGB with a tRNS colour key, grey + alpha; checked by their PNG
#    colour types), one tile missing (404: empty), read as 3 bands and as 1
#    (grey repeated, palette's first plane), on the service's grid (copied)
#    and onto WorldCRS84Quad (warped), and, in one bandmath job, next to a
#    second XYZ input with the same z/x/y (each input's own tiles);
#  - WMS (MapServer): PNG (RGBA), PNG 8-bit (a palette, checked) and JPEG
#    GetMaps on the fixed request grid;
#  - WMTS: a RESTful template (MapCache's capabilities rewritten) over the
#    XYZ tree of mixed kinds.
#
# The summary's count: with the default memo each cached tile is decoded
# once (decoded = the tiles in the cache) and every other paste is a memo
# hit; the 1 MB memo pastes as often and decodes more (it evicted); without
# the memo there is no such line.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

DOC=$WORK/doc
mkdir -p "$DOC"
# Zoom-15 tiles x 17158-17163, y 11472-11477 (Zurich): "mixed" (kinds by
# position, 17160/11475 missing) and "other" (RGB, other pixels).
py "$DOC" <<'PY' || die "tile trees written"
import os, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
doc = sys.argv[1]
png = gdal.GetDriverByName("PNG")
def write(path, bands, ct=None, nodata=None):
    ds = gdal.GetDriverByName("MEM").Create("", 256, 256, len(bands), gdal.GDT_Byte)
    for i, a in enumerate(bands):
        ds.GetRasterBand(i + 1).WriteArray(a)
        if nodata is not None:
            ds.GetRasterBand(i + 1).SetNoDataValue(nodata[i])
    if ct is not None:
        ds.GetRasterBand(1).SetRasterColorTable(ct)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    png.CreateCopy(path, ds)
ct = gdal.ColorTable()
for i in range(256):
    ct.SetColorEntry(i, (i * 7 % 256, i * 13 % 256, 255 - i, (0, 128, 255, 255)[i % 4]))
yy, xx = np.mgrid[0:256, 0:256]
for x in range(17158, 17164):
    for y in range(11472, 11478):
        s = (x * 7 + y * 13) % 17
        r = ((xx * 3 + yy + s * 11) % 256).astype(np.uint8)
        g = ((yy * 5 + xx + s * 5) % 256).astype(np.uint8)
        b = ((xx + yy * 2 + s) % 256).astype(np.uint8)
        a = np.where((xx + yy + s) % 5 == 0, 0, (xx + s) % 256).astype(np.uint8)
        key = (xx // 16 + yy // 16 + s) % 4 == 0
        write("%s/other/15/%d/%d.png" % (doc, x, y), [255 - g, r, 255 - b])
        if (x, y) == (17160, 11475):
            continue
        kind = (x + 2 * y) % 7
        p = "%s/mixed/15/%d/%d.png" % (doc, x, y)
        if kind == 0:
            write(p, [r, g, b])
        elif kind == 1:
            write(p, [r, g, b, a])
        elif kind == 2:
            write(p, [r], ct=ct)
        elif kind == 3:
            write(p, [g])
        elif kind == 4:
            g2 = g.copy(); g2[key] = 10
            write(p, [g2], nodata=[10])
        elif kind == 5:
            r2, g2, b2 = r.copy(), g.copy(), b.copy()
            r2[key], g2[key], b2[key] = 10, 20, 30
            g2[(yy > 200) & ~key] = 20  # one channel of the key: opaque
            write(p, [r2, g2, b2], nodata=[10, 20, 30])
        else:
            write(p, [g, a])
PY
check_py "the mixed tree has every kind: PNG colour types 0, 2, 3, 4, 6, tRNS keys in 0 and 2" "$DOC/mixed" <<'PY'
import glob, sys
kinds = set()
for p in glob.glob(sys.argv[1] + "/15/*/*.png"):
    b = open(p, "rb").read()
    kinds.add((b[25], b"tRNS" in b))
print(sorted(kinds))
sys.exit(0 if kinds == {(0, False), (0, True), (2, False), (2, True), (3, True), (4, False), (6, False)} else 1)
PY
servers_start_lighttpd "$DOC" || die "lighttpd starts"

# The area: the inner 4 x 4 tiles (the reads reach into the outer ring and,
# 300 px out, past it: 404s there).
T=1222.9924525624949 O=20037508.342789244
AREA="[$(echo "-$O + 17159 * $T" | bc -l), $(echo "$O - 11477 * $T" | bc -l), $(echo "-$O + 17163 * $T" | bc -l), $(echo "$O - 11473 * $T" | bc -l)]"
XYZ="{type: xyz, url: \"$SERVERS_URL/mixed/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404], max_connections: 4"

job() { # job NAME INPUTS-YAML [GRID] [ZOOM] [PROCESS-AND-PARAMS] [AREA]
  cat >"$WORK/$1.yaml" <<JOB
${5:-process: convert}
inputs:
$2
grid: {name: ${3:-WebMercatorQuad}, metatiling: 1, pixel_buffer: 300}
zoom: [${4:-15}, ${4:-15}]
area: {bounds: ${6:-$AREA}, crs: ${7:-EPSG:3857}}
cache: {path: $WORK/cache-$1}
output: {path: $WORK/out-$1-MODE, format: PNG, resampling: ${8:-near}}
JOB
}

# same_bytes A B: the same tile files under A and B, byte for byte.
same_bytes() {
  local a b n=0 t
  a=$(cd "$1" && find . -name '*.png' | sort) b=$(cd "$2" && find . -name '*.png' | sort)
  [ -n "$a" ] || { echo "no tiles in $1"; return 1; }
  [ "$a" = "$b" ] || { echo "tile sets differ: $(wc -l <<<"$a") and $(wc -l <<<"$b")"; return 1; }
  while read -r t; do
    cmp -s "$1/$t" "$2/$t" || { echo "$t differs"; return 1; }
    n=$((n + 1))
  done <<<"$a"
  echo "$n tiles byte-identical"
}

# memo_runs NAME: the job three ways; the outputs compared; the summaries'
# "tiles:" lines kept as $WORK/NAME-{default,off,tiny}.tiles.
memo_runs() {
  local name=$1 mode mb
  for mode in default off tiny; do
    case $mode in default) mb= ;; off) mb=0 ;; tiny) mb=1 ;; esac
    sed "s/-MODE,/-$mode,/" "$WORK/$name.yaml" >"$WORK/$name-$mode.yaml"
    SWATH_TILE_MEMO_MB=$mb check_run "$name: run, memo $mode" 0 run "$WORK/$name-$mode.yaml" \
      --no-progress --workers 3
    grep -o 'tiles: .*' "$WORK/run.err" >"$WORK/$name-$mode.tiles"
  done
  check "$name: default memo and no memo: byte-identical tiles" \
    same_bytes "$WORK/out-$name-off" "$WORK/out-$name-default"
  check "$name: 1 MB memo and no memo: byte-identical tiles" \
    same_bytes "$WORK/out-$name-off" "$WORK/out-$name-tiny"
  check "$name: the memo served tiles (summary)" \
    grep -qE 'from the tile memo' "$WORK/$name-default.tiles"
  check_eq "$name: no memo, no tiles line" "" "$(cat "$WORK/$name-off.tiles")"
}
# pasted/decoded/hits of a run's "tiles:" line.
counts() { sed -n 's/tiles: \([0-9]*\) cached tiles pasted, \([0-9]*\) decoded, \([0-9]*\) from.*/\1 \2 \3/p' "$1"; }

# ---- XYZ ----------------------------------------------------------------------
job xyz3 "  img: $XYZ, bands: 3}"
memo_runs xyz3
read -r P D H <<<"$(counts "$WORK/xyz3-default.tiles")"
NCACHED=$(find "$WORK/cache-xyz3" -name '*.png' | wc -l)
check_eq "xyz3: each cached tile decoded once, every other paste a memo hit" \
  "decoded $NCACHED, hits $((P - NCACHED))" "decoded $D, hits $H"
check "xyz3: hits there are" test "${H:-0}" -gt 0
read -r P1 D1 H1 <<<"$(counts "$WORK/xyz3-tiny.tiles")"
check_eq "xyz3: the 1 MB memo pastes as often, and decodes more (it evicts)" \
  "pasted $P, more decodes yes" "pasted $P1, more decodes $([ "${D1:-0}" -gt "$D" ] && echo yes)"

job xyz1 "  img: $XYZ, bands: 1}"
memo_runs xyz1
# The pixels themselves, against the source tiles read by GDAL (palette
# expanded, grey repeated, the colour key and alpha as alpha): the one
# tile missing from the tree is not written (no pixels left over from an
# earlier read's mosaic).
for b in 3 1; do
  check_py "xyz$b: the tiles are the source tiles' pixels" "$DOC/mixed" "$WORK/out-xyz$b-off" "$b" <<'PY'
import glob, os, sys
import numpy as np
from osgeo import gdal
src, out, bands = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = sorted(os.path.relpath(p, src) for p in glob.glob(src + "/15/*/*.png")
              if 17159 <= int(p.split("/")[-2]) <= 17162 and 11473 <= int(p.split("/")[-1][:-4]) <= 11476)
got = sorted(os.path.relpath(p, out) for p in glob.glob(out + "/15/*/*.png"))
if want != got:
    print("tile sets differ:", sorted(set(want) ^ set(got))); sys.exit(1)
for t in want:
    d = gdal.Open(os.path.join(src, t))
    a = d.ReadAsArray().reshape(d.RasterCount, 256, 256).astype(int)
    ct = d.GetRasterBand(1).GetColorTable()
    if ct is not None:
        lut = np.array([ct.GetColorEntry(i) for i in range(ct.GetCount())])
        a = lut[a[0]].transpose(2, 0, 1)
    n = a.shape[0]
    if n in (2, 4):
        colour, alpha = a[:-1], a[-1]
    else:
        colour = a
        key = [d.GetRasterBand(i + 1).GetNoDataValue() for i in range(n)]
        alpha = np.full((256, 256), 255)
        if None not in key:
            alpha[np.all([colour[i] == key[i] for i in range(n)], axis=0)] = 0
    colour = np.array([colour[min(i, len(colour) - 1)] for i in range(bands)])
    o = gdal.Open(os.path.join(out, t)).ReadAsArray().reshape(-1, 256, 256).astype(int)
    on = alpha > 0
    if not ((o[-1] > 0) == on).all():
        print(t, "alpha differs"); sys.exit(1)
    if not (o[:bands][:, on] == colour[:, on]).all():
        print(t, "pixels differ"); sys.exit(1)
print(len(want), "tiles")
PY
done
job warp "  img: $XYZ, bands: 3}" WorldCRS84Quad 14 "" "" "" bilinear
memo_runs warp
job two "  a: $XYZ, bands: 3}
  b: {type: xyz, url: \"$SERVERS_URL/other/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404]}" "" "" \
  "process: bandmath
params: {expression: 'a.b1; b.b1; (a.b2 + b.b3) / 2', dtype: Byte}"
memo_runs two
check_py "two inputs, same z/x/y: band 2 is input b's own band 1" \
  "$WORK/out-two-default" "$DOC/other" <<'PY'
import glob, os, sys
import numpy as np
from osgeo import gdal
n = 0
for p in glob.glob(sys.argv[1] + "/15/*/*.png"):
    o = gdal.Open(p).ReadAsArray()
    s = gdal.Open(os.path.join(sys.argv[2], os.path.relpath(p, sys.argv[1]))).ReadAsArray()
    m = o[-1] > 0
    if not (o[1][m] == s[0][m]).all():
        print(p, "differs from b's tile"); sys.exit(1)
    n += 1
print(n, "tiles")
sys.exit(0 if n == 15 else 1)  # (a has no tile 17160/11475: empty)
PY

# ---- WMS ----------------------------------------------------------------------
zurich_source 1024
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST
# An 8-bit PNG output (a palette) besides MapServer's RGBA PNG and JPEG.
py "$WORK/wms.map" <<'PY' || die "png8 output format added"
import sys
t = open(sys.argv[1]).read()
fmt = '''  OUTPUTFORMAT
    NAME "png8"
    DRIVER "AGG/PNG8"
    MIMETYPE "image/png; mode=8bit"
    IMAGEMODE RGB
    EXTENSION "png"
    FORMATOPTION "QUANTIZE_FORCE=on"
    FORMATOPTION "QUANTIZE_COLORS=64"
  END
  WEB'''
t = t.replace("  WEB", fmt, 1).replace('"image/png,image/jpeg"', '"image/png,image/jpeg,image/png; mode=8bit"')
open(sys.argv[1], "w").write(t)
PY
WMS_URL=$(servers_wms_url "$WORK/wms.map")
WAREA=$(inset_box 0.004 0.003 0.004 0.003)
for f in "png image/png" "png8 image/png; mode=8bit" "jpeg image/jpeg"; do
  read -r name mime <<<"$f"
  job "wms-$name" "  img: {type: wms, url: \"$WMS_URL\", layers: ortho, format: \"$mime\", crs: EPSG:3857, version: 1.3.0, block_size: 256, max_connections: 4}" \
    "" "" "" "$WAREA" EPSG:4326
  memo_runs "wms-$name"
done
check_py "wms png8: the cached GetMaps are paletted PNGs" "$WORK/cache-wms-png8" <<'PY'
import glob, sys
t = [open(p, "rb").read()[25] for p in glob.glob(sys.argv[1] + "/**/*.png", recursive=True)]
print(len(t), "GetMaps, colour types", sorted(set(t)))
sys.exit(0 if t and set(t) == {3} else 1)
PY

# ---- WMTS: a RESTful template over the mixed tree -----------------------------
servers_wmts "$WORK/wms.map" ortho image/png
curl -s "$SERVERS_WMTS_CAPS" >"$WORK/caps.xml"
py "$WORK/caps.xml" "$DOC/rest.xml" "$SERVERS_URL" <<'PY' || die "REST capabilities written"
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'<ResourceURL format="image/png" resourceType="tile" template="([^"]+)"', t)
assert m, "MapCache publishes a ResourceURL template"
t = t.replace(m.group(1), sys.argv[3] + "/mixed/{TileMatrix}/{TileCol}/{TileRow}.png")
t = re.sub(r'<ows:Operation name="GetTile">.*?</ows:Operation>', "", t, flags=re.S)
open(sys.argv[2], "w").write(t)
PY
job wmts "  img: {type: wmts, capabilities: \"$SERVERS_URL/rest.xml\", layer: ortho, tile_matrix_set: GoogleMapsCompatible, max_connections: 4, empty_status: [404]}"
memo_runs wmts
check "wmts: tiles asked for through the template" grep -qE '"GET /mixed/15/[0-9]+/[0-9]+\.png HTTP' "$SERVERS_LOG"

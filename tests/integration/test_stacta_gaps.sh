#!/usr/bin/env bash
# test_stacta_gaps.sh: a pyramid whose area leaves empty tiles inside
# stac.json's limits (an L-shaped area: its bbox's top-left is empty at
# every zoom) read whole through GDAL's STACTA driver.
#   - default (no files for empty tiles): `gdal_translate STACTA:...` fails
#     on a missing tile (the gap is real) and succeeds with
#     -oo SKIP_MISSING_METATILE=YES; the one tile written at an empty
#     position is the all-nodata tile at the lowest zoom's top-left that
#     GDAL 3.6 needs to open the pyramid at all;
#   - output.empty_tiles: link: every position inside the limits has a file,
#     the empty ones hard links to one blank tile (none outside the
#     limits), the tiles with data byte for byte those of the default run;
#     `gdal_translate` without the open option succeeds and its pixels
#     equal the default run's read with it;
#   - a rerun over a larger area replaces links by real tiles (pixels equal
#     to a fresh run over that area, overviews included), and leaves links
#     where there is still nothing;
#   - a rerun with another format option (a new product, --overwrite) relinks every link
#     of the old blank to the new one;
#   - more empty positions than ext4 lets one inode have (65000 links) use
#     more than one copy of the blank;
#   - a bad empty_tiles value: exit 2, one line.
. "$(dirname "$0")/lib.sh"
require_swath

gen_dem "$WORK/data/dem.tif" --size 1024
# area.geojson: an L of the raster's bottom and right strips (lon/lat);
# more.geojson: the L and a block at the top left (a gap stays at the top).
py "$WORK/data/dem.tif" "$WORK" <<'EOF' || die "write the area files"
import json, sys, swt
w, s, e, n = swt.lonlat_bounds(sys.argv[1])
dx, dy = (e - w) * 0.18, (n - s) * 0.18
m = 0.02 * (e - w)  # stay inside the raster
w, s, e, n = w + m, s + m, e - m, n - m
def fc(rings):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [r]}} for r in rings]}
L = [[w, s], [e, s], [e, n], [e - dx, n], [e - dx, s + dy], [w, s + dy], [w, s]]
json.dump(fc([L]), open(sys.argv[2] + "/area.geojson", "w"))
c = w + 0.2 * (e - w)
more = [[w, s], [e, s], [e, n], [e - dx, n], [e - dx, s + dy], [c, s + dy], [c, n], [w, n], [w, s]]
json.dump(fc([more]), open(sys.argv[2] + "/more.geojson", "w"))
EOF

# job NAME AREA OUTPUT_EXTRA
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: hillshade
inputs: {dem: data/dem.tif}
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [12, 14]
area: {file: $2}
output: {path: out/$1, format: PNG$3}
EOF
}
job none area.geojson ""
job link area.geojson ", empty_tiles: link"
job ref more.geojson ""
check_run "default run over the L exits 0" 0 run "$WORK/none.yaml" --no-progress
check_run "empty_tiles: link over the L exits 0" 0 run "$WORK/link.yaml" --no-progress
check_run "reference run over the L and a block exits 0" 0 run "$WORK/ref.yaml" --no-progress

OUT=$WORK/out
# Without the open option GDAL stops at the first missing tile.
if gdal_translate -q "STACTA:$OUT/none/stac.json" "$WORK/none_plain.tif" >"$WORK/gt.err" 2>&1; then
  fail "default: gdal_translate without the open option fails on a gap (the gap is real)"
else
  if grep -q "Cannot open" "$WORK/gt.err"; then pass "default: gdal_translate without the open option fails on a gap (the gap is real)"
  else fail "default: gdal_translate without the open option fails on a gap (the gap is real)" "$(cat "$WORK/gt.err")"; fi
fi
check "default: gdal_translate -oo SKIP_MISSING_METATILE=YES of the whole pyramid succeeds" \
  gdal_translate -q -oo SKIP_MISSING_METATILE=YES "STACTA:$OUT/none/stac.json" "$WORK/none.tif"
check "link: gdal_translate of the whole pyramid succeeds without the open option" \
  gdal_translate -q "STACTA:$OUT/link/stac.json" "$WORK/link.tif"

py_checks "$OUT" "$WORK" <<'EOF'
import filecmp, json, os, sys, swt
import numpy as np
from osgeo import gdal
out, work = sys.argv[1], sys.argv[2]

def limits(root):
    st = json.load(open(root + "/stac.json"))
    lim = st["properties"]["tiles:tile_matrix_links"]["WebMercatorQuad"]["limits"]
    return {int(z): (l["min_tile_col"], l["max_tile_col"], l["min_tile_row"], l["max_tile_row"]) for z, l in lim.items()}

def positions(lim):
    return {(z, x, y) for z, (x0, x1, y0, y1) in lim.items() for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}

def blanks(root):
    d = root + "/.swath/blank"
    return {os.stat(d + "/" + f).st_ino: f for f in os.listdir(d)} if os.path.isdir(d) else {}

lim = limits(out + "/none")
pos = positions(lim)
none = set(swt.list_tiles(out + "/none", "png"))
link = set(swt.list_tiles(out + "/link", "png"))
z0 = min(lim)
proto = (z0, lim[z0][0], lim[z0][2])
def alpha_max(p):
    return int(gdal.Open(p).ReadAsArray()[-1].max())
empty_written = [t for t in none if alpha_max(swt.tile_path(out + "/none", *t, "png")) == 0]
swt.check("default: %d of %d positions have a tile, gaps left empty" % (len(none), len(pos)),
          none <= pos and len(pos) - len(none) >= 4, "%d %d" % (len(none), len(pos)))
swt.check("default: the one all-nodata tile is the prototype at %s" % (proto,),
          empty_written == [proto], str(empty_written))
for z in lim:
    swt.check("default: zoom %d's top-left position %s is a gap of the area" % (z, (z, lim[z][0], lim[z][2])),
              (z, lim[z][0], lim[z][2]) not in none or (z, lim[z][0], lim[z][2]) == proto)

b = blanks(out + "/link")
swt.check("link: one blank tile in .swath/blank", len(b) == 1, str(b))
swt.check("link: every position inside the limits has a file, none outside", link == pos,
          "missing %s\nextra %s" % (sorted(pos - link)[:5], sorted(link - pos)[:5]))
linked = {t for t in link if os.stat(swt.tile_path(out + "/link", *t, "png")).st_ino in b}
data = {t for t in none if t != proto}
swt.check("link: the positions without data (%d) are links to the blank, the others not" % len(linked),
          linked == pos - data, "linked-not-empty %s\nempty-not-linked %s" % (sorted(linked & data)[:5], sorted(pos - data - linked)[:5]))
same = [t for t in data if not filecmp.cmp(swt.tile_path(out + "/none", *t, "png"), swt.tile_path(out + "/link", *t, "png"), shallow=False)]
swt.check("link: the %d tiles with data are byte for byte the default run's" % len(data), not same, str(same[:5]))
nl = os.stat(out + "/link/.swath/blank/" + next(iter(b.values()))).st_nlink if b else 0
swt.check("link: the blank has %d links (itself + each empty position)" % nl, nl == 1 + len(linked))

a = gdal.Open(work + "/none.tif").ReadAsArray()
c = gdal.Open(work + "/link.tif").ReadAsArray()
swt.check("the whole pyramid read with the open option (default) equals it read without (link): %s px, %d with data"
          % ("x".join(map(str, a.shape)), int((a[-1] > 0).sum())), a.shape == c.shape and (a == c).all() and (a[-1] > 0).any())
EOF

# A rerun over a larger area: links where data now lands become tiles.
sed -i 's/area.geojson/more.geojson/' "$WORK/link.yaml"
check_run "link: a rerun over a larger area exits 0" 0 run "$WORK/link.yaml" --no-progress
py_checks "$OUT" <<'EOF'
import os, sys, swt
out = sys.argv[1]
b = {os.stat(out + "/link/.swath/blank/" + f).st_ino for f in os.listdir(out + "/link/.swath/blank")}
ref = swt.checksums(out + "/ref", "png")
got = {t: c for t, c in swt.checksums(out + "/link", "png").items()}
isblank = {t for t in got if os.stat(swt.tile_path(out + "/link", *t, "png")).st_ino in b}
swt.check("rerun: every tile of a fresh run over that area (%d) is a real tile, not a link" % len(ref),
          not (set(ref) & isblank), str(sorted(set(ref) & isblank)[:5]))
bad = [t for t in ref if got.get(t) != ref[t]]
swt.check("rerun: their pixels equal the fresh run's, overview zooms included (%s)" % sorted({t[0] for t in ref}),
          not bad, str(bad[:5]))
swt.check("rerun: positions still without data are links (%d)" % len(isblank), isblank and set(got) - set(ref) == isblank,
          str(sorted(set(got) - set(ref) - isblank)[:5]))
EOF

# Another product in the same folder (a new compression level: a new job
# key and a new blank), which takes --overwrite (one product per folder): no
# position may keep the old blank.
old_ino=$(stat -c %i "$OUT"/link/.swath/blank/*.png)
sed -i 's/empty_tiles: link/empty_tiles: link, compression: 3/' "$WORK/link.yaml"
check_run "link: a rerun with another compression (--overwrite) exits 0" 0 run "$WORK/link.yaml" --no-progress --overwrite
py_checks "$OUT" "$old_ino" <<'EOF'
import os, sys, swt
out, old = sys.argv[1], int(sys.argv[2])
b = {os.stat(out + "/link/.swath/blank/" + f).st_ino: f for f in os.listdir(out + "/link/.swath/blank")}
left = [t for t in swt.list_tiles(out + "/link", "png") if os.stat(swt.tile_path(out + "/link", *t, "png")).st_ino == old]
swt.check("new product: a second blank was made (%s)" % sorted(b.values()), len(b) == 2)
swt.check("new product: no position links to the old blank any more", not left, str(left[:5]))
EOF

# Over 65000 empty positions: a thin L at zoom 16 over a coarse DEM.
gen_dem "$WORK/data/coarse.tif" --size 560 --res 200
py "$WORK/data/coarse.tif" "$WORK/thin.geojson" <<'EOF' || die "write the thin area"
import json, sys, swt
w, s, e, n = swt.lonlat_bounds(sys.argv[1])
m = 0.01 * (e - w)
w, s, e, n = w + m, s + m, e - m, n - m
d = 0.002 * (e - w)
ring = [[w, s], [e, s], [e, n], [e - d, n], [e - d, s + d], [w, s + d], [w, s]]
json.dump({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}, open(sys.argv[2], "w"))
EOF
cat >"$WORK/many.yaml" <<EOF
process: hillshade
inputs: {dem: data/coarse.tif}
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: 16
area: {file: thin.geojson}
output: {path: out/many, format: PNG, empty_tiles: link}
EOF
check_run "link: a thin L at zoom 16 exits 0" 0 run "$WORK/many.yaml" --no-progress
py_checks "$OUT/many" <<'EOF'
import json, os, sys, swt
root = sys.argv[1]
lim = json.load(open(root + "/stac.json"))["properties"]["tiles:tile_matrix_links"]["WebMercatorQuad"]["limits"]["16"]
n = (lim["max_tile_col"] - lim["min_tile_col"] + 1) * (lim["max_tile_row"] - lim["min_tile_row"] + 1)
x0, x1, y0, y1 = lim["min_tile_col"], lim["max_tile_col"], lim["min_tile_row"], lim["max_tile_row"]
tiles = [t for t in swt.list_tiles(root, "png") if x0 <= t[1] <= x1 and y0 <= t[2] <= y1]
b = {f: os.stat(root + "/.swath/blank/" + f).st_nlink for f in os.listdir(root + "/.swath/blank")}
swt.check("many: %d positions inside the limits, all present" % n, n > 65000 and len(tiles) == n, "%d tiles" % len(tiles))
swt.check("many: %d blank copies, none over 65000 links (%s)" % (len(b), sorted(b.values())),
          len(b) >= 2 and max(b.values()) <= 65000)
EOF

sed -i 's/empty_tiles: link/empty_tiles: hardlink/' "$WORK/many.yaml"
check_run "empty_tiles: hardlink (not a value) is refused with exit 2" 2 run "$WORK/many.yaml" --no-progress
check_eq "empty_tiles: hardlink: one line on stderr" 1 "$(wc -l <"$WORK/run.err")"
if grep -q "output.empty_tiles.*none or link" "$WORK/run.err"; then pass "empty_tiles: hardlink: the message names the key and the values"
else fail "empty_tiles: hardlink: the message names the key and the values" "$(cat "$WORK/run.err")"; fi

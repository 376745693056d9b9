#!/usr/bin/env bash
# test_rerun.sh: reruns over another area, other zooms or another job.
#
# A finished pyramid of a 4-band scene (bands "4,3,2", WebMercatorQuad,
# metatiling 2, zooms 13-16, PNG) is rerun with --zoom 13-17 --bounds B for
# several sub-areas B (around a tile corner, inside one metatile, with edges
# on tile borders). After each rerun:
#   - every tile of the pyramid is still there, and every tile that does not
#     touch B is byte for byte what it was;
#   - zoom 17 is what a fresh run over B writes;
#   - every tile that has children on disk is exactly their 2x2 average (the
#     swath rule: mean of the valid children pixels, rounded half up), so no
#     overview was rebuilt from the sub-area's children alone;
#   - tilejson.json / stac.json describe every tile on disk (zooms, limits
#     per zoom, bounds), not only the rerun's area;
#   - job.yaml is the job as run (zoom 13-17, area B) and lists both runs.
# Then a full 13-17 run over the result gives a fresh 13-17 run's tiles and
# computes only the zoom-17 tasks outside B and those B cut (metatiles that
# reach out of B: that run made only B's tiles of them). An area that grows (B first,
# then everything) gives a fresh run's tiles too.
# A changed job (bands "3,2,1") into the same folder is refused (exit 2, one
# line, nothing changed), also when the state is gone; --overwrite replaces
# the product whole. Raising the top zoom computes only the new zoom from the
# inputs and rebuilds the overviews (equal to a fresh run); with overviews off
# it reuses every zoom; lowering the min zoom reuses everything.
. "$(dirname "$0")/lib.sh"
require_swath

# A 4-band Byte scene with a tilted footprint (nodata 0 outside), like a
# Landsat scene's: bands with different patterns, so a band change shows.
mkdir -p "$WORK/data"
py "$WORK/data/scene.tif" <<'EOF' || die "generate the 4-band scene"
import sys
import numpy as np
from osgeo import gdal, osr
n, res, cx, cy = 352, 10.0, 463000.0, 5247000.0
yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
u, v = xx / n, yy / n
b = [40 + 200 * u,
     128 + 120 * np.sin(14 * u + 5 * v),
     np.where((np.floor(xx / 23) + np.floor(yy / 31)) % 2 == 0, 30, 210) + 20 * v,
     (37 * xx + 91 * yy + 13 * xx * yy / n) % 251 + 2]
a = np.radians(13)
ru, rv = (u - 0.5) * np.cos(a) - (v - 0.5) * np.sin(a), (u - 0.5) * np.sin(a) + (v - 0.5) * np.cos(a)
inside = (np.abs(ru) < 0.41) & (np.abs(rv) < 0.43)
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[1], n, n, 4, gdal.GDT_Byte, ["TILED=YES", "COMPRESS=DEFLATE",
                                                                          "PHOTOMETRIC=MINISBLACK"])
ds.SetGeoTransform((cx - n / 2 * res, res, 0, cy + n / 2 * res, 0, -res))
s = osr.SpatialReference()
s.ImportFromEPSG(32632)
ds.SetProjection(s.ExportToWkt())
for i in range(4):
    ds.GetRasterBand(i + 1).WriteArray(np.where(inside, np.clip(b[i], 1, 255), 0).astype(np.uint8))
    ds.GetRasterBand(i + 1).SetNoDataValue(0)
    ds.GetRasterBand(i + 1).SetColorInterpretation(gdal.GCI_GrayIndex if i == 0 else gdal.GCI_Undefined)
EOF

# job NAME BANDS ZMIN ZMAX [EXTRA]: a job file writing to out/NAME.
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: convert
params: {bands: "$2"}
inputs:
  scene: data/scene.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [$3, $4]
output: {path: out/$1, format: PNG${5:+, $5}}
EOF
}
# summary_count WHAT: N from the last run's "N WHAT" in its summary.
summary_count() { grep -oE "[0-9]+ $1" "$WORK/run.err" | head -n 1 | grep -oE '^[0-9]+'; }
# copy_product FROM TO: a product folder with its state, as a rerun finds it.
copy_product() {
  rm -rf "$WORK/out/$2"
  cp -a "$WORK/out/$1" "$WORK/out/$2"
  sed -e "s|path: out/$1,|path: out/$2,|" "$WORK/$1.yaml" >"$WORK/$2.yaml"
}
run() { check_run "$1" "$2" run "${@:3}" --workers 2 --no-progress; }

cat >"$WORK/rr.py" <<'EOF'
"""Snapshots, tile footprints against an area, the 2x2 child average."""
import glob, hashlib, json, math, os
import numpy as np
import swt

R = 6378137.0

def merc(lon, lat):
    return R * math.radians(lon), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

def lonlat(x, y):
    return math.degrees(x / R), math.degrees(2 * math.atan(math.exp(y / R)) - math.pi / 2)

def box_merc(box):
    w, s, e, n = box
    return merc(w, s) + merc(e, n)

def apart(t, bm, eps=1e-3):
    """True if tile t's closed footprint stays eps metres away from box bm."""
    b = swt.merc_bounds(*t)
    return b[0] > bm[2] + eps or b[2] < bm[0] - eps or b[1] > bm[3] + eps or b[3] < bm[1] - eps

def files(root, stat=False):
    """{relative path: md5} of every file of a product (not its state);
    with stat, [md5, inode, mtime_ns]: a file written again has new ones."""
    out = {}
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".swath"]
        for f in fs:
            p = os.path.join(d, f)
            md5 = hashlib.md5(open(p, "rb").read()).hexdigest()
            st = os.stat(p)
            out[os.path.relpath(p, root)] = [md5, st.st_ino, st.st_mtime_ns] if stat else md5
    return out

def tiles(root):
    return set(swt.list_tiles(root, "png"))

def rel(t):
    return "%d/%d/%d.png" % t

def child_average(root, z, x, y, have):
    """The 2x2 average of the children of z/x/y on disk, as swath computes it
    for bytes: mean over valid children pixels, rounded half up."""
    data = np.zeros((3, 512, 512), np.int64)
    valid = np.zeros((512, 512), bool)
    for j in range(2):
        for i in range(2):
            c = (z + 1, 2 * x + i, 2 * y + j)
            if c not in have:
                continue
            t = swt.Tile(swt.tile_path(root, *c, "png"))
            data[:, 256 * j:256 * j + 256, 256 * i:256 * i + 256] = t.data
            valid[256 * j:256 * j + 256, 256 * i:256 * i + 256] = t.valid
    n = valid.reshape(256, 2, 256, 2).sum(axis=(1, 3))
    s = (data * valid).reshape(3, 256, 2, 256, 2).sum(axis=(2, 4))
    return np.where(n > 0, (2 * s + n) // np.maximum(2 * n, 1), 0), n > 0

def overview_errors(root):
    """Tiles with children on disk that are not exactly their average."""
    have = tiles(root)
    bad = []
    zmin = min(t[0] for t in have)
    parents = {(z - 1, x // 2, y // 2) for (z, x, y) in have if z > zmin}
    for p in sorted(parents):
        want, wvalid = child_average(root, *p, have)
        if p not in have:
            if wvalid.any():
                bad.append("%s: missing, its children have %d valid px" % (rel(p), wvalid.sum()))
            continue
        got = swt.Tile(swt.tile_path(root, *p, "png"))
        if not (got.valid == wvalid).all():
            bad.append("%s: valid px %d, its children's average has %d" % (rel(p), got.valid.sum(), wvalid.sum()))
        elif (got.data[:, wvalid] != want[:, wvalid]).any():
            bad.append("%s: max |pixel - children average| %d" % (
                rel(p), np.abs(got.data[:, wvalid] - want[:, wvalid]).max()))
    return bad, len(parents)

def limits_errors(root, want_zooms, contain=()):
    """What tilejson.json and stac.json say against the tiles on disk."""
    have = tiles(root)
    zs = sorted({t[0] for t in have})
    bad = []
    tj = json.load(open(root + "/tilejson.json"))
    if (tj["minzoom"], tj["maxzoom"]) != (zs[0], zs[-1]) or (zs[0], zs[-1]) != want_zooms:
        bad.append("tilejson zooms %s-%s, tiles on disk at %s, expected %s" % (tj["minzoom"], tj["maxzoom"], zs, want_zooms))
    st = json.load(open(root + "/stac.json"))
    links = st["properties"]["tiles:tile_matrix_links"]
    lim = list(links.values())[0]["limits"]
    for z in zs:
        xs = [x for (zz, x, y) in have if zz == z]
        ys = [y for (zz, x, y) in have if zz == z]
        want = {"min_tile_col": min(xs), "max_tile_col": max(xs), "min_tile_row": min(ys), "max_tile_row": max(ys)}
        if lim.get(str(z)) != want:
            bad.append("stac.json limits at zoom %d: %s, tiles on disk span %s" % (z, lim.get(str(z)), want))
    extra = sorted(set(lim) - {str(z) for z in zs})
    if extra:
        bad.append("stac.json has limits at zooms without tiles: %s" % extra)
    # Bounds: they hold every earlier product's bounds (a rerun adds its area
    # to the product's), and the data of every tile of the deepest zoom, but
    # for tiles of a metatile that reach out of the area (issue 15's point 6).
    b = tj["bounds"]
    for w in contain:
        if w[0] < b[0] - 1e-9 or w[1] < b[1] - 1e-9 or w[2] > b[2] + 1e-9 or w[3] > b[3] + 1e-9:
            bad.append("tilejson bounds %s do not hold the earlier product's %s" % (b, w))
    z = zs[-1]
    for t in [t for t in have if t[0] == z]:
        tb = swt.merc_lonlat_bounds(*t)
        slack = 2 * (tb[2] - tb[0])
        tile = swt.Tile(swt.tile_path(root, *t, "png"))
        rows, cols = np.nonzero(tile.valid)
        if not len(rows):
            continue
        lon0 = tb[0] + cols.min() * (tb[2] - tb[0]) / 256
        lon1 = tb[0] + (cols.max() + 1) * (tb[2] - tb[0]) / 256
        if lon0 < b[0] - slack or lon1 > b[2] + slack:
            bad.append("tilejson bounds %s miss the data of tile %s" % (b, rel(t)))
            break
    return bad
EOF

job base "4,3,2" 13 16
run "base pyramid: bands 4,3,2, zooms 13-16, metatiling 2 exits 0" 0 "$WORK/base.yaml"
BASE_TASKS=$(summary_count "tasks")
cp "$WORK/out/base/tilejson.json" "$WORK/base_tilejson.json"
BASE_TILES=$(tile_files "$WORK/out/base" png | wc -l)
echo "    # base pyramid: $BASE_TILES tiles"
[ "$BASE_TILES" -gt 100 ] || die "the base pyramid has more than 100 tiles" "$BASE_TILES"

# Sub-areas (lon/lat), chosen on the tile grid inside the scene's footprint.
py "$WORK" >"$WORK/boxes.txt" <<'EOF' || die "choose the sub-areas"
import sys
sys.path.insert(0, sys.argv[1])
import rr, swt
have = rr.tiles(sys.argv[1] + "/out/base")
# A zoom-14 corner whose four zoom-16 neighbours are full tiles of the scene.
z16 = {(x, y) for (z, x, y) in have if z == 16 and swt.Tile(swt.tile_path(sys.argv[1] + "/out/base", z, x, y, "png")).valid.all()}
corner = None
for (x, y) in sorted(z16):
    if x % 4 == 0 and y % 4 == 0 and {(x - 1, y - 1), (x, y - 1), (x - 1, y)} <= z16:
        corner = (x, y)
        break
assert corner, "no zoom-14 corner inside the scene"
cx, cy = corner
w, n = swt.merc_lonlat_bounds(16, cx, cy)[0], swt.merc_lonlat_bounds(16, cx, cy)[3]
d = 0.0009
print("corner %.9f,%.9f,%.9f,%.9f" % (w - d, n - d * 0.7, w + d * 1.3, n + d))
# Inside one metatile (zoom-16 tile cx+1, cy+1 lies in metatile (cx/2, cy/2)), off-centre.
b = swt.merc_lonlat_bounds(16, cx + 1, cy + 1)
print("inner %.9f,%.9f,%.9f,%.9f" % (b[0] + 0.2 * (b[2] - b[0]), b[1] + 0.55 * (b[3] - b[1]),
                                      b[0] + 0.45 * (b[2] - b[0]), b[1] + 0.9 * (b[3] - b[1])))
# West and south edges on zoom-16 tile borders, 1.5 tiles wide, across a metatile border.
b0 = swt.merc_lonlat_bounds(16, cx - 1, cy)
b1 = swt.merc_lonlat_bounds(16, cx, cy)
print("edges %.9f,%.9f,%.9f,%.9f" % (b0[0], b0[1], b1[0] + 0.5 * (b1[2] - b1[0]), b0[3]))
EOF
cat "$WORK/boxes.txt" | sed -e 's/^/    # sub-area /'

while read -r NAME BOX; do
  copy_product base "re_$NAME"
  py "$WORK/out/re_$NAME" "$WORK/snap_$NAME.json" <<'EOF' || die "snapshot the pyramid"
import json, sys, rr
json.dump(rr.files(sys.argv[1], stat=True), open(sys.argv[2], "w"))
EOF
  sleep 0.05 # a tile written again gets another mtime
  run "$NAME: rerun --zoom 13-17 --bounds $BOX exits 0" 0 "$WORK/re_$NAME.yaml" --zoom 13-17 --bounds "$BOX"
  cp "$WORK/run.err" "$WORK/re_$NAME.err"
  py "$WORK/out/re_$NAME" "$WORK/rerun_$NAME.json" <<'EOF' || die "checksum the rerun's tiles"
import json, sys, swt
json.dump({"%d/%d/%d" % t: v for t, v in swt.checksums(sys.argv[1], "png").items()}, open(sys.argv[2], "w"))
EOF
  job "fresh_$NAME" "4,3,2" 13 17
  run "$NAME: fresh run over the sub-area exits 0" 0 "$WORK/fresh_$NAME.yaml" --bounds "$BOX"
  py_checks "$WORK" "$NAME" "$BOX" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
import rr, swt
work, name, box = sys.argv[1], sys.argv[2], [float(v) for v in sys.argv[3].split(",")]
root, fresh = "%s/out/re_%s" % (work, name), "%s/out/fresh_%s" % (work, name)
full = json.load(open("%s/snap_%s.json" % (work, name)))
before = {k: v[0] for k, v in full.items()}
after, stat = rr.files(root), rr.files(root, stat=True)
bm = rr.box_merc(box)
old = {tuple(int(v) for v in p[:-4].split("/")) for p in before if p.endswith(".png")}
gone = sorted(rr.rel(t) for t in old if rr.rel(t) not in after)
swt.check("%s: every tile of the pyramid is still there (%d)" % (name, len(old)), not gone, "deleted: %s" % gone[:12])
outside = [t for t in old if rr.apart(t, bm)]
changed = sorted(rr.rel(t) for t in outside if stat.get(rr.rel(t)) != full[rr.rel(t)])
swt.check("%s: the %d tiles away from the sub-area are not written again (md5, inode, mtime)" % (name, len(outside)),
          outside and not changed, "changed: %s" % changed[:12])
near = [t for t in old if not rr.apart(t, bm) and t[0] < 16]
swt.check("%s: some overview tiles straddle the sub-area (%d)" % (name, len(near)), len(near) >= 3)
top = {t for t in rr.tiles(root) if t[0] == 17}
ftop = {t for t in rr.tiles(fresh) if t[0] == 17}
swt.check("%s: zoom 17 is a fresh run's over the sub-area (%d tiles)" % (name, len(ftop)),
          ftop and top == ftop and all(after[rr.rel(t)] == rr.files(fresh)[rr.rel(t)] for t in top),
          "only rerun %s, only fresh %s" % (sorted(top - ftop)[:5], sorted(ftop - top)[:5]))
f16 = [t for t in rr.tiles(fresh) if t[0] == 16]
diff16 = [rr.rel(t) for t in f16 if swt.Tile(swt.tile_path(root, *t, "png")).checksum() !=
          swt.Tile(swt.tile_path(fresh, *t, "png")).checksum()]
swt.check("%s: zoom-16 tiles over the new zoom-17 tiles are a fresh run's (%d)" % (name, len(f16)),
          f16 and not diff16, "differ: %s" % diff16[:8])
bad, n = rr.overview_errors(root)
swt.check("%s: all %d tiles with children on disk are exactly their children's 2x2 average" % (name, n),
          not bad, "\n".join(bad[:12]))
bad = rr.limits_errors(root, (13, 17), [json.load(open(work + "/base_tilejson.json"))["bounds"]])
swt.check("%s: tilejson.json and stac.json describe every tile on disk" % name, not bad, "\n".join(bad))
import yaml
j = yaml.safe_load(open(root + "/job.yaml"))
area = (j.get("area") or {}).get("bounds")
swt.check("%s: job.yaml is the job as run: zoom [13, 17] and the sub-area" % name,
          j.get("zoom") == [13, 17] and area and all(abs(a - b) < 1e-9 for a, b in zip(area, box))
          and j.get("params") == {"bands": "4,3,2"}, "zoom %r area %r" % (j.get("zoom"), j.get("area")))
text = open(root + "/job.yaml").read()
swt.check("%s: job.yaml lists the runs that made the folder's tiles" % name,
          "zoom 13-16" in text and "zoom 13-17" in text, text[:600])
EOF
done <"$WORK/boxes.txt"

# A rerun whose zooms stop short of the pyramid's lowest: zooms 13-15 are
# not touched, and swath says they are now older than zoom 16; a later run
# with them rebuilds them, to what a rerun at 13-17 gives at once.
CORNER=$(awk '$1 == "corner" {print $2}' "$WORK/boxes.txt")
copy_product base short
py "$WORK/out/short" "$WORK/snap_short.json" <<'EOF'
import json, sys, rr
json.dump(rr.files(sys.argv[1]), open(sys.argv[2], "w"))
EOF
run "rerun --zoom 16-17 over the corner exits 0" 0 "$WORK/short.yaml" --zoom 16-17 --bounds "$CORNER"
if grep -q "warning: .*zoom 15.*older than their children.*--zoom" "$WORK/run.err"; then
  pass "swath warns that zoom 15 is now older than its children and names --zoom"
else fail "swath warns that zoom 15 is now older than its children and names --zoom" "$(cat "$WORK/run.err")"; fi
py_checks "$WORK/out/short" "$WORK/snap_short.json" <<'EOF'
import json, sys, swt, rr
b, a = json.load(open(sys.argv[2])), rr.files(sys.argv[1])
low = [k for k in b if k.split("/")[0] in ("13", "14", "15")]
swt.check("a run at zooms 16-17 leaves zooms 13-15 byte for byte (%d tiles)" % len(low),
          low and all(a.get(k) == b[k] for k in low), [k for k in low if a.get(k) != b[k]][:8])
EOF
run "then a rerun --zoom 13-17 over the corner exits 0" 0 "$WORK/short.yaml" --zoom 13-17 --bounds "$CORNER"
py_checks "$WORK/out/short" "$WORK/rerun_corner.json" <<'EOF'
import json, sys, swt, rr
a = {"%d/%d/%d" % t: v for t, v in swt.checksums(sys.argv[1], "png").items()}
b = json.load(open(sys.argv[2]))
swt.check("16-17 then 13-17 gives what a 13-17 rerun gives at once (%d tiles)" % len(b), a == b,
          "differ: %s" % sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))[:8])
bad, n = rr.overview_errors(sys.argv[1])
swt.check("after it, all %d tiles with children on disk are their children's average" % n, not bad, "\n".join(bad[:8]))
EOF

# The corner rerun, completed over everything at 13-17: a fresh 13-17 run's
# tiles, and only the zoom-17 tasks outside the corner are computed.
job full17 "4,3,2" 13 17
run "fresh full run at zooms 13-17 exits 0" 0 "$WORK/full17.yaml"
FULL17_TASKS=$(summary_count "computed from the inputs")
run "the corner product, rerun at 13-17 over everything, exits 0" 0 "$WORK/re_corner.yaml" --zoom 13-17
COMPUTED=$(summary_count "computed from the inputs")
CORNER_TOP=$(grep -oE '[0-9]+ computed from the inputs' "$WORK/re_corner.err" | grep -oE '^[0-9]+')
# The corner run's zoom-17 metatiles that reach out of the corner made only
# the corner's tiles: the completing run computes them again (the others of
# the corner it reuses).
CORNER_CUT=$("$PY" - "$CORNER" "$WORK/data/scene.tif" <<'EOF'
import sys, swt
box = [float(v) for v in sys.argv[1].split(",")]
tiles = swt.merc_tiles(*box, 17)
scene = swt.merc_tiles(*swt.lonlat_bounds(sys.argv[2]), 17)
cut = {(x // 2, y // 2) for (x, y) in tiles
       if any((2 * (x // 2) + i, 2 * (y // 2) + j) not in tiles for i in range(2) for j in range(2))}
assert all((2 * mx + i, 2 * my + j) in scene for (mx, my) in cut for i in range(2) for j in range(2))
print(len(cut))
EOF
)
check_eq "the completing run computes only the zoom-17 tasks the corner run did not, and the ${CORNER_CUT:-?} it made only the corner's tiles of" \
  "$((${FULL17_TASKS:-0} - ${CORNER_TOP:-0} + ${CORNER_CUT:-0}))" "${COMPUTED:-<no 'N computed from the inputs' in the summary>}"
py_checks "$WORK/out/re_corner" "$WORK/out/full17" <<'EOF'
import sys, swt
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("base + corner rerun + full rerun at 13-17 gives a fresh 13-17 run's tiles (%d)" % len(b),
          a.keys() == b.keys() and all(a[t] == b[t] for t in b),
          "only rerun %s, only fresh %s, differ %s" % (sorted(a.keys() - b.keys())[:5], sorted(b.keys() - a.keys())[:5],
                                                      [t for t in b if t in a and a[t] != b[t]][:8]))
EOF

# An area that grows: the corner first, then everything (same zooms).
job grow "4,3,2" 13 16
run "corner first at zooms 13-16 exits 0" 0 "$WORK/grow.yaml" --bounds "$CORNER"
run "then everything at zooms 13-16 exits 0" 0 "$WORK/grow.yaml"
py_checks "$WORK/out/grow" "$WORK/out/base" <<'EOF'
import sys, swt, rr
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("corner then everything gives a fresh run's tiles (%d)" % len(b),
          a.keys() == b.keys() and all(a[t] == b[t] for t in b),
          "only grown %s, only fresh %s, differ %s" % (sorted(a.keys() - b.keys())[:5], sorted(b.keys() - a.keys())[:5],
                                                      [t for t in b if t in a and a[t] != b[t]][:8]))
bad = rr.limits_errors(sys.argv[1], (13, 16))
swt.check("after the area grew, tilejson.json and stac.json describe every tile on disk", not bad, "\n".join(bad))
EOF

# Another job into a finished folder: bands 3,2,1 over the corner.
copy_product base other
sed -i -e 's/bands: "4,3,2"/bands: "3,2,1"/' "$WORK/other.yaml"
py "$WORK/out/other" "$WORK/snap_other.json" <<'EOF'
import json, sys, rr
json.dump(rr.files(sys.argv[1]), open(sys.argv[2], "w"))
EOF
run "another job (bands 3,2,1) into a finished folder is refused with exit 2" 2 "$WORK/other.yaml" --bounds "$CORNER"
LINES=$(wc -l <"$WORK/run.err")
check_eq "the refusal is one line" 1 "$LINES"
if grep -q "another job" "$WORK/run.err" && grep -q -- "--overwrite" "$WORK/run.err"; then
  pass "the refusal says the output holds another job's tiles and names --overwrite"
else fail "the refusal says the output holds another job's tiles and names --overwrite" "$(cat "$WORK/run.err")"; fi
py_checks "$WORK/out/other" "$WORK/snap_other.json" <<'EOF'
import json, sys, swt, rr
b, a = json.load(open(sys.argv[2])), rr.files(sys.argv[1])
swt.check("the refused run changed no file (%d)" % len(b), a == b,
          "changed or gone %s, new %s" % (sorted(k for k in b if a.get(k) != b[k])[:8], sorted(set(a) - set(b))[:8]))
EOF
mv "$WORK/out/other/.swath" "$WORK/other.swath"
run "a job into a folder of tiles without swath's state is refused with exit 2" 2 "$WORK/other.yaml" --bounds "$CORNER"
mv "$WORK/other.swath" "$WORK/out/other/.swath"
run "--overwrite replaces the other job's product: exits 0" 0 "$WORK/other.yaml" --bounds "$CORNER" --overwrite
job fresh_other "3,2,1" 13 16
run "a fresh run of the new job over the corner exits 0" 0 "$WORK/fresh_other.yaml" --bounds "$CORNER"
py_checks "$WORK/out/other" "$WORK/out/fresh_other" <<'EOF'
import sys, swt, rr
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("after --overwrite the folder holds only the new job's tiles (%d; a fresh run's)" % len(b),
          a.keys() == b.keys() and all(a[t] == b[t] for t in b),
          "left over %d tiles, e.g. %s; missing %s" % (len(a.keys() - b.keys()), sorted(a.keys() - b.keys())[:5],
                                                       sorted(b.keys() - a.keys())[:5]))
bad = rr.limits_errors(sys.argv[1], (13, 16))
swt.check("after --overwrite, tilejson.json and stac.json describe the new tiles", not bad, "\n".join(bad))
EOF
run "the new job, rerun without --overwrite, is not refused" 0 "$WORK/other.yaml" --bounds "$CORNER"

# The job as run, on a fresh folder: --zoom and --bounds are in job.yaml.
job asrun "4,3,2" 10 16
run "a run with --zoom 14-15 --bounds exits 0" 0 "$WORK/asrun.yaml" --zoom 14-15 --bounds "$CORNER"
py_checks "$WORK/out/asrun" "$CORNER" <<'EOF'
import json, sys, yaml, swt
root, box = sys.argv[1], [float(v) for v in sys.argv[2].split(",")]
j, tj = yaml.safe_load(open(root + "/job.yaml")), json.load(open(root + "/tilejson.json"))
swt.check("job.yaml says zoom [14, 15], as tilejson.json (%s-%s)" % (tj["minzoom"], tj["maxzoom"]),
          j["zoom"] == [14, 15] and (tj["minzoom"], tj["maxzoom"]) == (14, 15), "job.yaml zoom %r" % j["zoom"])
got = j.get("area", {}).get("bounds")
swt.check("job.yaml has the --bounds area", got and all(abs(a - b) < 1e-9 for a, b in zip(got, box))
          and j["area"].get("crs", "EPSG:4326") == "EPSG:4326", "area %r" % j.get("area"))
EOF
sed -e 's|path: out/asrun,|path: out/asrun_again,|; s|path: out/asrun$|path: out/asrun_again|' \
  "$WORK/out/asrun/job.yaml" >"$WORK/asrun_again.yaml"
run "swath runs its own job.yaml (copied next to the original job) exits 0" 0 "$WORK/asrun_again.yaml"
py_checks "$WORK/out/asrun" "$WORK/out/asrun_again" <<'EOF'
import sys, swt
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("the job as run reproduces the product (%d tiles)" % len(a), a and a == b)
EOF

# Raising the top zoom: only the new zoom is computed from the inputs; every
# task below it is an overview rebuilt from it (a fresh run's tiles).
job raise "4,3,2" 13 15
run "zooms 13-15 exits 0" 0 "$WORK/raise.yaml"
OLD_TASKS=$(summary_count "tasks")
OLD_DONE=$("$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
  "SELECT count(*) FROM tasks WHERE state = 1").fetchone()[0])' "$(state_db "$WORK/out/raise")")
run "raising the top zoom to 16 exits 0" 0 "$WORK/raise.yaml" --zoom 13-16
ALL_TASKS=$(summary_count "tasks")
check_eq "raising the top zoom computes only the zoom-16 tasks from the inputs" \
  "$((${ALL_TASKS:-0} - ${OLD_TASKS:-0}))" "$(summary_count "computed from the inputs")"
check_eq "raising the top zoom rebuilds every task of zooms 13-15 that has tiles as an overview" \
  "${OLD_DONE:-?}" "$(summary_count "overviews built")"
check_eq "raising the top zoom keeps as they were only the empty tasks of zooms 13-15" \
  "$((${OLD_TASKS:-0} - ${OLD_DONE:-0}))" "$(summary_count "already done")"
py_checks "$WORK/out/raise" "$WORK/out/base" <<'EOF'
import sys, swt
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("13-15 then 13-16 gives a fresh 13-16 run's tiles (%d)" % len(b), a == b,
          "differ: %s" % [t for t in b if a.get(t) != b[t]][:8])
EOF
job flat "4,3,2" 13 15 "overviews: false"
run "overviews: false, zooms 13-15 exits 0" 0 "$WORK/flat.yaml"
OLD_TASKS=$(summary_count "tasks")
run "overviews: false, raising the top zoom to 16 exits 0" 0 "$WORK/flat.yaml" --zoom 13-16
check_eq "with overviews: false raising the top zoom reuses every task of zooms 13-15" \
  "${OLD_TASKS:-?}" "$(summary_count "already done")"
copy_product base lower
run "lowering the min zoom to 11 exits 0" 0 "$WORK/lower.yaml" --zoom 11-16
check_eq "lowering the min zoom computes nothing from the inputs" "0" "$(summary_count "computed from the inputs")"
check_eq "lowering the min zoom reuses every task of zooms 13-16" "${BASE_TASKS:-?}" "$(summary_count "already done")"
py_checks "$WORK/out/lower" "$WORK/out/base" <<'EOF'
import sys, swt, rr
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("lowering the min zoom leaves zooms 13-16 as they were", all(a.get(t) == b[t] for t in b))
swt.check("zooms 11-12 were built", any(t[0] == 11 for t in a) and any(t[0] == 12 for t in a))
bad, n = rr.overview_errors(sys.argv[1])
swt.check("zooms 11-12 are their children's average (%d parents)" % n, not bad, "\n".join(bad[:8]))
EOF

# Lowering the max zoom: nothing to redo; redone (--overwrite), zoom 15 is
# rebuilt from zoom 16 on disk, not computed from the inputs.
copy_product base lowmax
run "lowering the max zoom to 15 exits 0" 0 "$WORK/lowmax.yaml" --zoom 13-15
check_eq "lowering the max zoom reuses every task" "$(summary_count "tasks")" "$(summary_count "already done")"
run "lowering the max zoom to 15 with --overwrite exits 0" 0 "$WORK/lowmax.yaml" --zoom 13-15 --overwrite
check_eq "zoom 15 under --overwrite is not computed from the inputs (zoom 16 is on disk)" "0" \
  "$(summary_count "computed from the inputs")"
py_checks "$WORK/out/lowmax" "$WORK/out/base" <<'EOF'
import sys, swt
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("zooms 13-15 redone over zoom 16 on disk are the pyramid's (%d tiles)" % len(b), a == b,
          "differ: %s" % [t for t in b if a.get(t) != b[t]][:8])
EOF

# Metatiling 1: a zoom-16 tile over the corner has four zoom-17 children in
# four tasks, some computed by the rerun and some not; the quarters over
# computed ones become their average, the others keep the tile's pixels.
job m1 "4,3,2" 15 16
sed -i -e 's/metatiling: 2/metatiling: 1/' "$WORK/m1.yaml"
run "metatiling 1, zooms 15-16 exits 0" 0 "$WORK/m1.yaml"
cp -a "$WORK/out/m1" "$WORK/m1_before"
run "metatiling 1, rerun --zoom 15-17 over the corner exits 0" 0 "$WORK/m1.yaml" --zoom 15-17 --bounds "$CORNER"
py_checks "$WORK/out/m1" "$WORK/m1_before" "$(state_db "$WORK/out/m1")" <<'EOF'
import sqlite3, sys
import numpy as np
import swt, rr
root, old, db = sys.argv[1:4]
import os
done = {(z, x, y) for z, x, y in sqlite3.connect(db).execute("SELECT z, x, y FROM tasks WHERE state IN (1, 2)")}
have = rr.tiles(root)
mixed, bad = 0, []
for t in sorted(p for p in have if p[0] == 16):
    kids = [(17, 2 * t[1] + i, 2 * t[2] + j) for j in range(2) for i in range(2)]
    computed = [k in done for k in kids]
    if not any(computed):
        continue
    mixed += not all(computed)
    want, wvalid = rr.child_average(root, *t, have)
    got, before = swt.Tile(swt.tile_path(root, *t, "png")), swt.Tile(swt.tile_path(old, *t, "png"))
    for q, k in enumerate(kids):
        ys, xs = slice(128 * (q // 2), 128 * (q // 2) + 128), slice(128 * (q % 2), 128 * (q % 2) + 128)
        if computed[q]:
            ok = (got.valid[ys, xs] == wvalid[ys, xs]).all() and \
                (got.data[:, ys, xs][:, wvalid[ys, xs]] == want[:, ys, xs][:, wvalid[ys, xs]]).all()
        else:
            ok = (got.valid[ys, xs] == before.valid[ys, xs]).all() and \
                (got.data[:, ys, xs][:, got.valid[ys, xs]] == before.data[:, ys, xs][:, got.valid[ys, xs]]).all()
        if not ok:
            bad.append("%s quarter %d (%s)" % (rr.rel(t), q, "computed child" if computed[q] else "kept"))
swt.check("metatiling 1: some zoom-16 tiles have children both computed and not (%d)" % mixed, mixed > 0)
swt.check("metatiling 1: their quarters are the new children's average or the tile's own pixels", not bad,
          "\n".join(bad[:8]))
# The all-nodata prototype tile for GDAL's STACTA driver is not a tile: it
# goes when the limits' top-left corner has a real tile (see sink_tiledir.c).
proto = open(os.path.join(sys.argv[2], ".swath", "prototype")).read().split() \
    if os.path.exists(os.path.join(sys.argv[2], ".swath", "prototype")) else []
proto = tuple(int(v) for v in proto[:3])
gone = sorted(rr.rel(t) for t in rr.tiles(sys.argv[2]) if t not in have and t != proto)
swt.check("metatiling 1: every tile is still there", not gone, gone[:8])
EOF

if [ -z "$(tmp_files "$WORK/out")" ]; then pass "no temporary files left"
else fail "no temporary files left" "$(tmp_files "$WORK/out")"; fi

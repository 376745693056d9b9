#!/usr/bin/env bash
# test_partial.sh: metatiles that reach beyond a run's area, across runs.
#
# A run writes only the tiles of its area, so a metatile (task) on the
# area's edge is finished for that area only. A later run must do again
# what it needs of such a task, and nothing more:
#   - a finished run over an area whose edge cuts metatiles (metatiling 2
#     and 4), run again with the same command, computes nothing: every task
#     is "already done" and every file is left as it was (md5, inode, mtime);
#   - a small area, then a larger area around it, gives a fresh run's tiles
#     over the larger area (tile set and pixels at every zoom, overviews too,
#     and the same tile limits in stac.json), at metatiling 1, 2 and 4 (and
#     4 with overviews: false, every zoom from the inputs); a
#     rerun over the small area or over a part of the larger one then
#     computes nothing; --overwrite over the small area rewrites its tiles
#     and no other, and leaves the larger area finished;
#   - two areas that overlap (neither inside the other), one after the
#     other, give a fresh run's tiles over their union (an area file with
#     both), and neither area, run again, computes anything;
#   - overviews built over a small area (zooms below those done over the
#     large one) are completed by a run over the large area;
#   - overviews left older than their children (the input changed, a run
#     stopped short of their zoom) and rebuilt by a run over another area
#     are rebuilt over the rest by a run over it: every tile with children
#     on disk is their 2x2 average;
#   - kill -9 in the middle of a run, then the same command: a fresh run's
#     tiles; also when the killed run was the larger area after a small one.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 640
# No data in the north-west corner: whole metatiles there are empty.
py "$WORK/data/rgb.tif" <<'EOF' || die "cut a no-data corner into the raster"
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1], gdal.GA_Update)
n = ds.RasterXSize
for i in range(1, 4):
    b = ds.GetRasterBand(i)
    a = b.ReadAsArray()
    a[: int(0.38 * n), : int(0.45 * n)] = 0
    b.WriteArray(a)
    b.SetNoDataValue(0)
EOF

# Boxes (lon/lat) as fractions of the raster's footprint: edges off the tile
# grid, so they cut metatiles at every zoom.
py "$WORK/data/rgb.tif" "$WORK/areas.geojson" >"$WORK/boxes.txt" <<'EOF' || die "choose the areas"
import json, sys
import swt
w, s, e, n = swt.lonlat_bounds(sys.argv[1])
def box(x0, y0, x1, y1):
    return (w + x0 * (e - w), s + y0 * (n - s), w + x1 * (e - w), s + y1 * (n - s))
boxes = {"small": box(0.31, 0.36, 0.53, 0.57), "large": box(0.12, 0.14, 0.87, 0.85),
         "other": box(0.44, 0.47, 0.71, 0.76), "inner": box(0.60, 0.20, 0.80, 0.41)}
for k, b in boxes.items():
    print(k, ",".join("%.9f" % v for v in b))
# small and other in one file: the union of both areas.
ring = lambda b: [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]
json.dump({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring(boxes[k])]}}
    for k in ("small", "other")]}, open(sys.argv[2], "w"))
EOF
box() { awk -v k="$1" '$1 == k {print $2}' "$WORK/boxes.txt"; }
SMALL=$(box small)
LARGE=$(box large)
OTHER=$(box other)
INNER=$(box inner)

# job NAME M [AREA_FILE] [OUTPUT_KEYS]: a job over zooms 12-16 at
# metatiling M writing to out/NAME.
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: $2}
zoom: [12, 16]
${3:+area: {file: $3\}}
output: {path: out/$1, format: PNG${4:+, $4}}
EOF
}
run() { check_run "$1" "$2" run "${@:3}" --workers 2 --no-progress; }
# summary_count WHAT: N from the last run's "N WHAT" in its summary.
summary_count() { grep -oE "[0-9]+ $1" "$WORK/run.err" | head -n 1 | grep -oE '^[0-9]+'; }
# nothing_computed NAME: the last run computed nothing and found every task done.
nothing_computed() {
  local total already computed built
  total=$(summary_count "tasks")
  already=$(summary_count "already done")
  computed=$(summary_count "computed from the inputs")
  built=$(summary_count "overviews built")
  check_eq "$1: nothing computed, every task already done" \
    "0 computed, 0 built, ${total:-?} of ${total:-?} already done" \
    "${computed:-?} computed, ${built:-?} built, ${already:-?} of ${total:-?} already done"
}
snapshot() {
  py "$1" "$2" <<'EOF' || die "snapshot $1"
import hashlib, json, os, sys
out = {}
for d, dirs, fs in os.walk(sys.argv[1]):
    dirs[:] = [x for x in dirs if x != ".swath"]
    for f in fs:
        p = os.path.join(d, f)
        st = os.stat(p)
        out[os.path.relpath(p, sys.argv[1])] = [hashlib.md5(open(p, "rb").read()).hexdigest(), st.st_ino, st.st_mtime_ns]
json.dump(out, open(sys.argv[2], "w"))
EOF
}
# same_as_fresh NAME GOT FRESH: tile sets, pixels and metadata limits equal.
same_as_fresh() {
  py_checks "$1" "$WORK/out/$2" "$WORK/out/$3" <<'EOF'
import json, sys, swt
name, got, fresh = sys.argv[1:4]
a, b = swt.checksums(got, "png"), swt.checksums(fresh, "png")
zs = lambda ts: sorted({t[0] for t in ts})
swt.check("%s: the tiles of a fresh run (%d, zooms %s)" % (name, len(b), zs(b)),
          b and a.keys() == b.keys() and all(a[t] == b[t] for t in b),
          "only here %s (zooms %s)\nonly fresh %s (zooms %s)\npixels differ %s (zooms %s)" % (
              sorted(a.keys() - b.keys())[:6], zs(a.keys() - b.keys()), sorted(b.keys() - a.keys())[:6],
              zs(b.keys() - a.keys()), [t for t in b if t in a and a[t] != b[t]][:6],
              zs(t for t in b if t in a and a[t] != b[t])))
lim = lambda root: list(json.load(open(root + "/stac.json"))["properties"]["tiles:tile_matrix_links"].values())[0]["limits"]
swt.check("%s: stac.json's tile limits are a fresh run's" % name, lim(got) == lim(fresh),
          "here %s\nfresh %s" % (lim(got), lim(fresh)))
EOF
}

# ---- 1. the same command again computes nothing ------------------------------
for M in 2 4; do
  job "same$M" "$M"
  run "metatiling $M: a run over the small area exits 0" 0 "$WORK/same$M.yaml" --bounds "$SMALL"
  py_checks "$WORK/out/same$M" "$M" "$SMALL" <<'EOF'
import sys, swt
root, m, box = sys.argv[1], int(sys.argv[2]), [float(v) for v in sys.argv[3].split(",")]
cut = 0
for z in range(12, 17):
    area = swt.merc_tiles(*box, z)
    metas = {(x // m, y // m) for (x, y) in area}
    cut += sum(1 for (mx, my) in metas
               if any((mx * m + i, my * m + j) not in area for i in range(m) for j in range(m)))
have = {(t[1], t[2]) for t in swt.list_tiles(root, "png", 16)}
swt.check("metatiling %d: the area's edge cuts %d metatiles, and only the area's tiles are written" % (m, cut),
          cut > 4 and have == swt.merc_tiles(*box, 16), "written %d, area %d" % (len(have), len(swt.merc_tiles(*box, 16))))
EOF
  snapshot "$WORK/out/same$M" "$WORK/same$M.json"
  sleep 0.05 # a file written again gets another mtime
  run "metatiling $M: the same command again exits 0" 0 "$WORK/same$M.yaml" --bounds "$SMALL"
  nothing_computed "metatiling $M: the same command again"
  snapshot "$WORK/out/same$M" "$WORK/same${M}_after.json"
  py_checks "$M" "$WORK/same$M.json" "$WORK/same${M}_after.json" <<'EOF'
import json, sys, swt
b, a = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
changed = sorted(k for k in b if a.get(k) != b[k] and k.endswith(".png"))
swt.check("metatiling %s: the same command again leaves all %d tiles as they were (md5, inode, mtime)"
          % (sys.argv[1], sum(k.endswith(".png") for k in b)), not changed and set(a) == set(b),
          "changed %s, new %s" % (changed[:8], sorted(set(a) - set(b))[:8]))
EOF
done

# ---- 2. a small area, then a larger one --------------------------------------
for M in 1 2 4; do
  job "grow$M" "$M"
  job "fresh$M" "$M"
  run "metatiling $M: the small area exits 0" 0 "$WORK/grow$M.yaml" --bounds "$SMALL"
  run "metatiling $M: then the large area exits 0" 0 "$WORK/grow$M.yaml" --bounds "$LARGE"
  run "metatiling $M: a fresh run over the large area exits 0" 0 "$WORK/fresh$M.yaml" --bounds "$LARGE"
  same_as_fresh "metatiling $M: small then large area" "grow$M" "fresh$M"
  run "metatiling $M: the small area again exits 0" 0 "$WORK/grow$M.yaml" --bounds "$SMALL"
  nothing_computed "metatiling $M: the small area after the large one"
  run "metatiling $M: a part of the large area exits 0" 0 "$WORK/grow$M.yaml" --bounds "$INNER"
  nothing_computed "metatiling $M: a part of the large area after it"
  # --overwrite over the small area redoes it, and the large area stays finished.
  snapshot "$WORK/out/grow$M" "$WORK/grow$M.json"
  sleep 0.05
  run "metatiling $M: the small area with --overwrite exits 0" 0 "$WORK/grow$M.yaml" --bounds "$SMALL" --overwrite
  py_checks "$M" "$WORK/grow$M.json" "$WORK/out/grow$M" "$SMALL" <<'EOF'
import json, sys, swt
m, before, root, box = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], [float(v) for v in sys.argv[4].split(",")]
after = {}
for t in swt.list_tiles(root, "png"):
    p = swt.tile_path(root, *t, "png")
    after[t] = swt.os.stat(p).st_mtime_ns
rel = lambda t: "%d/%d/%d.png" % t
inside = {t for t in after if (t[1], t[2]) in swt.merc_tiles(*box, t[0])}
kept = [t for t in after if t not in inside and before[rel(t)][2] != after[t]]
redone = [t for t in inside if before[rel(t)][2] != after[t]]
swt.check("metatiling %s: --overwrite over the small area rewrote its %d tiles and no other" % (m, len(inside)),
          inside and len(redone) == len(inside) and not kept, "not rewritten %s, rewritten outside %s" % (
              sorted(inside - set(redone))[:6], sorted(kept)[:6]))
EOF
  run "metatiling $M: the large area after --overwrite over the small one exits 0" 0 "$WORK/grow$M.yaml" --bounds "$LARGE"
  nothing_computed "metatiling $M: the large area after --overwrite over the small one"
  same_as_fresh "metatiling $M: after --overwrite over the small area" "grow$M" "fresh$M"
done

# Without overviews every zoom is computed from the inputs, edges alike.
job flatgrow 4 "" "overviews: false"
job flatfresh 4 "" "overviews: false"
run "overviews: false: the small area exits 0" 0 "$WORK/flatgrow.yaml" --bounds "$SMALL"
run "overviews: false: then the large area exits 0" 0 "$WORK/flatgrow.yaml" --bounds "$LARGE"
run "overviews: false: a fresh run over the large area exits 0" 0 "$WORK/flatfresh.yaml" --bounds "$LARGE"
same_as_fresh "overviews: false, metatiling 4: small then large area" flatgrow flatfresh
run "overviews: false: the small area again exits 0" 0 "$WORK/flatgrow.yaml" --bounds "$SMALL"
nothing_computed "overviews: false: the small area after the large one"

# ---- two overlapping areas, one after the other -----------------------------
for M in 2 4; do
  job "two$M" "$M"
  job "union$M" "$M" "$WORK/areas.geojson"
  run "metatiling $M: the small area exits 0" 0 "$WORK/two$M.yaml" --bounds "$SMALL"
  run "metatiling $M: then an area that overlaps it exits 0" 0 "$WORK/two$M.yaml" --bounds "$OTHER"
  run "metatiling $M: a fresh run over both areas (one file) exits 0" 0 "$WORK/union$M.yaml"
  same_as_fresh "metatiling $M: two overlapping areas one after the other" "two$M" "union$M"
  run "metatiling $M: the first area again exits 0" 0 "$WORK/two$M.yaml" --bounds "$SMALL"
  nothing_computed "metatiling $M: the first of two overlapping areas again"
  run "metatiling $M: the second area again exits 0" 0 "$WORK/two$M.yaml" --bounds "$OTHER"
  nothing_computed "metatiling $M: the second of two overlapping areas again"
done

# ---- an area cut at the overview zooms only ------------------------------------
# Zooms 15-16 over the large area, then 12-16 over the small one (zooms
# 15-16 are done; zooms 12-14 are built over the small area's tiles only),
# then 12-16 over the large area: zooms 12-14 are built for all of it.
for M in 2 4; do
  job "low$M" "$M"
  run "metatiling $M: zooms 15-16 over the large area exits 0" 0 "$WORK/low$M.yaml" --zoom 15-16 --bounds "$LARGE"
  run "metatiling $M: then zooms 12-16 over the small area exits 0" 0 "$WORK/low$M.yaml" --bounds "$SMALL"
  run "metatiling $M: then zooms 12-16 over the large area exits 0" 0 "$WORK/low$M.yaml" --bounds "$LARGE"
  check_eq "metatiling $M: zooms 15-16 are not computed again" "0" "$(summary_count "computed from the inputs")"
  same_as_fresh "metatiling $M: overviews over a small area, then over the large one" "low$M" "fresh$M"
done

# ---- overviews left older than their children, rebuilt over parts ----------
# The input changes under the same job (same size and mtime): zooms 15-16
# are redone over the small area (--overwrite), which leaves the zoom-14
# overviews there older than their children (STALE); a run over an area
# that overlaps the small one rebuilds those overviews over its own area
# only; a run over the small area then rebuilds the rest of them. After
# it, every tile with children on disk is their 2x2 average.
gdal_translate -q -co TILED=YES -co COMPRESS=NONE "$WORK/data/rgb.tif" "$WORK/data/chg.tif" ||
  die "copy the raster uncompressed"
job stale2 2
sed -i -e 's|data/rgb.tif|data/chg.tif|' "$WORK/stale2.yaml"
run "stale: zooms 12-16 over the large area exits 0" 0 "$WORK/stale2.yaml" --bounds "$LARGE"
py "$WORK/data/chg.tif" <<'EOF' || die "change the input in place (same size and mtime)"
import os, sys
import numpy as np
from osgeo import gdal
p = sys.argv[1]
st = os.stat(p)
ds = gdal.Open(p, gdal.GA_Update)
for i in range(1, 4):
    b = ds.GetRasterBand(i)
    a = b.ReadAsArray().astype(np.int32)
    b.WriteArray(np.where(a > 0, 256 - a, 0).astype(np.uint8))
ds = None
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
assert os.stat(p).st_size == st.st_size, "the size changed"
EOF
run "stale: zooms 15-16 over the small area with --overwrite exits 0" 0 "$WORK/stale2.yaml" --zoom 15-16 --bounds "$SMALL" --overwrite
if grep -q "warning: .*zoom 14.*older than their children" "$WORK/run.err"; then
  pass "stale: the zoom-14 overviews over the small area are older than their children now"
else fail "stale: the zoom-14 overviews over the small area are older than their children now" "$(cat "$WORK/run.err")"; fi
run "stale: zooms 12-16 over an area that overlaps the small one exits 0" 0 "$WORK/stale2.yaml" --bounds "$OTHER"
run "stale: zooms 12-16 over the small area exits 0" 0 "$WORK/stale2.yaml" --bounds "$SMALL"
py_checks "$WORK/out/stale2" <<'EOF'
import sys
import numpy as np
import swt
root = sys.argv[1]
have = set(swt.list_tiles(root, "png"))
def average(z, x, y):
    """swath's 2x2 average for bytes: mean of the valid child pixels, rounded half up."""
    data = np.zeros((3, 512, 512), np.int64)
    valid = np.zeros((512, 512), bool)
    for j in range(2):
        for i in range(2):
            c = (z + 1, 2 * x + i, 2 * y + j)
            if c in have:
                t = swt.Tile(swt.tile_path(root, *c, "png"))
                data[:, 256 * j:256 * j + 256, 256 * i:256 * i + 256] = t.data[:3]
                valid[256 * j:256 * j + 256, 256 * i:256 * i + 256] = t.valid
    n = valid.reshape(256, 2, 256, 2).sum(axis=(1, 3))
    s = (data * valid).reshape(3, 256, 2, 256, 2).sum(axis=(2, 4))
    return np.where(n > 0, (2 * s + n) // np.maximum(2 * n, 1), 0), n > 0
bad = []
parents = sorted({(z - 1, x // 2, y // 2) for (z, x, y) in have if z > 12})
for p in parents:
    want, wvalid = average(*p)
    got = swt.Tile(swt.tile_path(root, *p, "png")) if p in have else None
    if got is None:
        if wvalid.any():
            bad.append("%d/%d/%d: missing" % p)
    elif not (got.valid == wvalid).all() or (got.data[:3][:, wvalid] != want[:, wvalid]).any():
        bad.append("%d/%d/%d: not its children's average" % p)
swt.check("stale: all %d tiles with children on disk are their children's 2x2 average" % len(parents),
          parents and not bad, "\n".join(bad[:12]))
EOF

# ---- 3. kill -9, then the same command ----------------------------------------
# kill_midway NAME JOB ARGS...: start a run, kill -9 it once the store holds
# a few finished tasks (and before it is over).
kill_midway() {
  local name=$1 yaml=$2 db n=0 pid
  shift 2
  db=$(state_db "$WORK/out/$(basename "$yaml" .yaml)")
  local before
  before=$("$PY" -c 'import sqlite3, sys, os
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM tasks WHERE state IN (1, 2)").fetchone()[0] if os.path.exists(sys.argv[1]) else 0)' "$db")
  "$SWATH" run "$yaml" "$@" --workers 1 --no-progress >"$WORK/bg.out" 2>"$WORK/bg.err" &
  pid=$!
  track_bg "$pid"
  for _ in $(seq 1 1200); do
    n=$("$PY" -c 'import sqlite3, sys
try:
    print(sqlite3.connect(sys.argv[1], timeout=5).execute("SELECT count(*) FROM tasks WHERE state IN (1, 2)").fetchone()[0])
except Exception:
    print(0)' "$db" 2>/dev/null)
    [ "${n:-0}" -ge $((before + 6)) ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    pass "$name: killed with -9 after $((n - before)) more task(s) were recorded finished"
  else
    wait "$pid"
    die "$name: kill -9 the run while it works" "it finished before 6 more tasks were recorded" "$(tail -n 3 "$WORK/bg.err")"
  fi
}
job kill4 4
kill_midway "metatiling 4, the large area" "$WORK/kill4.yaml" --bounds "$LARGE"
run "metatiling 4: the same command after kill -9 exits 0" 0 "$WORK/kill4.yaml" --bounds "$LARGE"
same_as_fresh "metatiling 4: killed and resumed" kill4 fresh4
run "metatiling 4: the same command once more exits 0" 0 "$WORK/kill4.yaml" --bounds "$LARGE"
nothing_computed "metatiling 4: the same command after the resume"

job killgrow2 2
run "metatiling 2: the small area exits 0" 0 "$WORK/killgrow2.yaml" --bounds "$SMALL"
kill_midway "metatiling 2, the large area after the small one" "$WORK/killgrow2.yaml" --bounds "$LARGE"
run "metatiling 2: the large area again after kill -9 exits 0" 0 "$WORK/killgrow2.yaml" --bounds "$LARGE"
same_as_fresh "metatiling 2: small area, large area killed, resumed" killgrow2 fresh2

if [ -z "$(tmp_files "$WORK/out")" ]; then pass "no temporary files left"
else fail "no temporary files left" "$(tmp_files "$WORK/out")"; fi

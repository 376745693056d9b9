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
#     and the same tile limits in stac.json), at metatiling 1, 2 and 4; a
#     rerun over the small area or over a part of the larger one then
#     computes nothing;
#   - two areas that overlap (neither inside the other), one after the
#     other, give a fresh run's tiles over their union (an area file with
#     both), and neither area, run again, computes anything;
#   - overviews built over a small area (zooms below those done over the
#     large one) are completed by a run over the large area;
#   - kill -9 in the middle of a run, then the same command: a fresh run's
#     tiles; also when the killed run was the larger area after a small one.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 640

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

# job NAME M [AREA_FILE]: a job over zooms 12-16 at metatiling M writing to out/NAME.
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: $2}
zoom: [12, 16]
${3:+area: {file: $3\}}
output: {path: out/$1, format: PNG}
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
done

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

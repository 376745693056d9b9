#!/usr/bin/env bash
# test_area_oracle.sh: areas from boundary files of neighbouring units,
# checked against an OGR/GEOS oracle (area_oracle.py, which says exactly what
# "a tile of the area" means: the tile's interior meets the area's interior).
# The files come from tests/data/gen_boundaries.py: units that share wiggly
# borders, one self-intersecting ring, one unit with a hole, a bow-tie
# feature, a MultiPolygon of two units apart and one of two neighbours.
#   - `swath tiles --area` with metatiling 1, 2, 4 and 8 lists exactly the
#     oracle's tiles (metatiles) at every zoom of a sweep, on
#     WebMercatorQuad, WorldCRS84Quad and a UTM 32N TileMatrixSet, for
#     canton-sized units (zooms up to 15) and district-sized ones (up to 19),
#     and for the same shapes given in Swiss LV95 (EPSG:2056);
#   - `swath run` over a raster that covers the whole area writes, at every
#     zoom (computed and overviews), exactly the tiles `swath tiles` lists
#     and the oracle's, for metatiling 1, 2, 4 and 8 on WebMercatorQuad
#     (cantons and districts) and on the UTM grid, and for metatiling 4
#     without overviews: no holes inside the units, no tiles outside the
#     area (whole metatiles used to be written);
#   - stac.json's tile limits are those of the tiles on disk, and the tiles
#     do not depend on the metatiling (overviews too).
. "$(dirname "$0")/lib.sh"
require_swath
export PYTHONPATH="$SWATH_SRC/tests/integration:$PYTHONPATH"
BGEN="$SWATH_SRC/tests/data/gen_boundaries.py"

mkdir -p "$WORK/data"
bgen() { "$PY" "$BGEN" "$@" >"$WORK/bgen.log" 2>&1 || die "generate boundaries $1" "$(cat "$WORK/bgen.log")"; }
bgen "$WORK/data/cantons.shp"
bgen "$WORK/data/cantons_lv95.gpkg" --format GPKG --crs EPSG:2056
bgen "$WORK/data/districts.shp" --bounds 8.50,47.35,8.56,47.39 --vertices 24
UTM=$(
  cd "$WORK" && "$PY" -c 'import area_oracle as ao; print(ao.utm_grid("'"$WORK"'/utm32n.json").arg())'
) || die "write the UTM grid"

# ---- swath tiles against the oracle ---------------------------------------
# sweep FILE GRID Z0 Z1: every zoom, metatiling 1, 2, 4, 8.
sweep() {
  py_checks "$SWATH" "$WORK" "$@" <<'EOF'
import os, sys
import area_oracle as ao
import swt
swath, work, path, grid_name, z0, z1 = sys.argv[1:7]
grid = {"WebMercatorQuad": ao.web_mercator, "WorldCRS84Quad": ao.world_crs84,
        "UTM": lambda: ao.utm_grid(work + "/utm32n.json")}[grid_name]()
area = ao.Area(path)
o = ao.Oracle(grid, area, 1e-6 if grid.crs == "EPSG:4326" and area.srs.IsGeographic() else 0.01)
name = os.path.basename(path)
z0, z1 = int(z0), int(z1)
listed = {m: ao.swath_tiles(swath, grid, path, z0, z1, m) for m in (1, 2, 4, 8)}
for z in range(z0, z1 + 1):
    sure, border = o.classify(z)
    bad = []
    for m in (1, 2, 4, 8):
        d = ao.compare(listed[m][z], ao.metatiles(sure, m), ao.metatiles(sure | border, m))
        if d:
            bad.append("metatiling %d: %s" % (m, d))
    if len(border) > max(4, len(sure) // 50):
        bad.append("too many borderline tiles: a tolerance this loose could hide a bug")
    swt.check("%s on %s zoom %d: swath tiles = oracle, metatiling 1/2/4/8 (%d tiles, %d borderline)"
              % (name, grid_name, z, len(sure), len(border)), sure and not bad, "\n".join(bad))
EOF
}
sweep "$WORK/data/cantons.shp" WebMercatorQuad 7 15
sweep "$WORK/data/cantons.shp" WorldCRS84Quad 6 14
sweep "$WORK/data/cantons.shp" UTM 3 9
sweep "$WORK/data/cantons_lv95.gpkg" WebMercatorQuad 9 14
sweep "$WORK/data/districts.shp" WebMercatorQuad 14 19
sweep "$WORK/data/districts.shp" WorldCRS84Quad 13 18
sweep "$WORK/data/districts.shp" UTM 9 13

# The checks above are not vacuous: at the deepest zooms the hole holds
# whole tiles (surely out) and both triangles of the bow-tie hold tiles
# (surely in).
py_checks "$WORK" <<'EOF'
import sys
from osgeo import ogr
import area_oracle as ao
import swt
work = sys.argv[1]
for path, z in (("cantons.shp", 15), ("districts.shp", 19)):
    area = ao.Area(work + "/data/" + path)
    o = ao.Oracle(ao.web_mercator(), area, 0.01)
    sure, border = o.classify(z)
    ds = ogr.Open(work + "/data/" + path)
    hole = bow = None
    for f in ds.GetLayer():
        if f.GetField("kind") == "hole":
            hole = ogr.Geometry(ogr.wkbPolygon)
            hole.AddGeometry(f.GetGeometryRef().GetGeometryRef(1))
        if f.GetField("kind") == "bowtie":
            bow = f.GetGeometryRef().MakeValid()
    inside = [t for t in o.candidates(z) if hole.Contains(o.outline(ao.web_mercator().bounds(z, *t)))]
    out = [t for t in inside if t not in sure and t not in border]
    swt.check("%s zoom %d: of %d tiles inside the hole none is in the area, %d surely out"
              % (path, z, len(inside), len(out)), len(out) >= 4 and not set(inside) & sure)
    tris = [bow.GetGeometryRef(i) for i in range(bow.GetGeometryCount())]
    ins = [sum(1 for x, y in sure if t.Contains(o.outline(ao.web_mercator().bounds(z, x, y)))) for t in tris]
    swt.check("%s zoom %d: both triangles of the bow-tie hold tiles of the area (%s)" % (path, z, ins),
              len(tris) == 2 and min(ins) >= 1)
EOF

# ---- swath run against swath tiles and the oracle -------------------------
gen_rgb "$WORK/data/wide.tif" --crs EPSG:4326 --center 8.9,47.3 --res 0.002 --size 900
gen_rgb "$WORK/data/fine.tif" --crs EPSG:4326 --center 8.535,47.37 --res 0.0001 --size 1000

# run_case NAME AREA GRID_ARG Z0 Z1 RASTER M [OVERVIEWS]
run_case() {
  local name=$1 area=$2 grid=$3 z0=$4 z1=$5 raster=$6 m=$7 ov=${8:-true}
  cat >"$WORK/$name.yaml" <<EOF
process: convert
inputs:
  img: data/$raster
grid: {name: $grid, metatiling: $m}
zoom: [$z0, $z1]
area: {file: data/$area}
output: {path: out/$name, format: PNG, warp_error: 0, overviews: $ov}
EOF
  check_run "$name: swath run exits 0" 0 run "$WORK/$name.yaml" --workers 2 --no-progress
  for z in $(seq "$z0" "$z1"); do
    run_swath tiles --grid "$grid" --zoom "$z" --area "$WORK/data/$area"
    [ "$RUN_RC" -eq 0 ] || fail "$name: swath tiles --zoom $z exits 0" "$(last_run_output)"
    cp "$WORK/run.out" "$WORK/out/$name.listed.$z"
  done
}

# check_runs AREA GRID Z0 Z1 NAME...: the written tiles of each run against
# `swath tiles`, the oracle and stac.json; the runs' tiles against each other.
check_runs() {
  py_checks "$WORK" "$@" <<'EOF'
import json, sys
import area_oracle as ao
import swt
work, area_name, grid_name, z0, z1 = sys.argv[1:6]
names = sys.argv[6:]
grid = {"WebMercatorQuad": ao.web_mercator, "UTM": lambda: ao.utm_grid(work + "/utm32n.json")}[grid_name]()
o = ao.Oracle(grid, ao.Area(work + "/data/" + area_name), 0.01)
oracle = {z: o.classify(z) for z in range(int(z0), int(z1) + 1)}
sums = {}
for name in names:
    out = work + "/out/" + name
    stac = json.load(open(out + "/stac.json"))
    limits = list(stac["properties"]["tiles:tile_matrix_links"].values())[0]["limits"]
    bad_list, bad_oracle, bad_limits = [], [], []
    for z in range(int(z0), int(z1) + 1):
        written = {(x, y) for _, x, y in swt.list_tiles(out, "png", z)}
        listed = {tuple(map(int, l.split("/")[1:])) for l in open("%s.listed.%d" % (out, z)) if l.strip()}
        if written != listed:
            bad_list.append("zoom %d: %d written, %d listed; written, not listed %s; listed, not written %s"
                            % (z, len(written), len(listed), sorted(written - listed)[:6],
                               sorted(listed - written)[:6]))
        sure, border = oracle[z]
        d = ao.compare(written, sure, border)
        if d:
            bad_oracle.append("zoom %d: %s" % (z, d))
        lim = limits.get(str(z))
        want = None if not written else {
            "min_tile_col": min(x for x, _ in written), "max_tile_col": max(x for x, _ in written),
            "min_tile_row": min(y for _, y in written), "max_tile_row": max(y for _, y in written)}
        if lim != want:
            bad_limits.append("zoom %d: stac.json %s, tiles on disk %s" % (z, lim, want))
    swt.check("%s: at every zoom the tiles written are those swath tiles lists" % name, not bad_list,
              "\n".join(bad_list))
    swt.check("%s: at every zoom the tiles written are the oracle's (no hole, nothing outside)" % name,
              not bad_oracle, "\n".join(bad_oracle))
    swt.check("%s: stac.json tile limits are those of the tiles on disk" % name, not bad_limits,
              "\n".join(bad_limits))
    sums[name] = swt.checksums(out, "png")
ref = names[0]
for name in names[1:]:
    diff = sorted(t for t in set(sums[ref]) | set(sums[name]) if sums[ref].get(t) != sums[name].get(t))
    swt.check("%s: the same tiles with the same pixels as %s (%d tiles)" % (name, ref, len(sums[ref])),
              not diff, diff and "differ: %s" % diff[:10])
EOF
}

for m in 1 2 4 8; do run_case "cantons_merc_m$m" cantons.shp WebMercatorQuad 9 12 wide.tif $m; done
check_runs cantons.shp WebMercatorQuad 9 12 cantons_merc_m1 cantons_merc_m2 cantons_merc_m4 cantons_merc_m8
# Without overviews every zoom is computed from the raster, metatile by metatile.
run_case cantons_merc_m4_no_overviews cantons.shp WebMercatorQuad 9 12 wide.tif 4 false
check_runs cantons.shp WebMercatorQuad 9 12 cantons_merc_m4_no_overviews
for m in 1 2 4 8; do run_case "cantons_utm_m$m" cantons.shp "$UTM" 4 6 wide.tif $m; done
check_runs cantons.shp UTM 4 6 cantons_utm_m1 cantons_utm_m2 cantons_utm_m4 cantons_utm_m8
for m in 1 2 4 8; do run_case "districts_merc_m$m" districts.shp WebMercatorQuad 14 17 fine.tif $m; done
check_runs districts.shp WebMercatorQuad 14 17 districts_merc_m1 districts_merc_m2 districts_merc_m4 districts_merc_m8

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
#     and for the same shapes given in Swiss LV95 (EPSG:2056).
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

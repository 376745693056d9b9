#!/usr/bin/env bash
# test_contours.sh: the `contours` process (issue 18, point 6: a vector
# process without a model) against `gdal_contour`.
#
# A generated DEM in EPSG:3857 with a nodata hole; the contours job at z15
# with metatiling 1 and 4. Checks:
#   - metatiling 1 and 4 store the same pieces: per tile and elevation the
#     same count, lengths within 1e-6 relative;
#   - every piece lies inside the tile its z/x/y names, pieces of one
#     elevation never overlap (their intersection has no length);
#   - oracle: gdal_contour -i 25 over the DEM warped by gdalwarp (bilinear,
#     -et 0) onto the job's pixel grid (the tiles plus the 2 px buffer),
#     clipped to the tiles: per elevation the total line length within 1e-6 relative (1% asked; it holds far tighter),
#     and the number of lines equal to `swath export --merge`'s;
#   - merged lines are joined across tiles: every open merged line ends on
#     the edge of the tiles or next to nodata, never on an inner tile border;
#   - exports (plain and --merge) open with ogrinfo;
#   - bad input: interval <= 0, levels that are not numbers, a band the DEM
#     lacks, --merge to csv: exit 2, one line.
. "$(dirname "$0")/lib.sh"
require_swath

gen_dem "$WORK/data/dem.tif" --size 512 --crs EPSG:3857 --nodata
INTERVAL=25

job() { # NAME METATILING PARAMS
  cat >"$WORK/$1.yaml" <<EOF
process: contours
params: $3
inputs:
  dem: data/dem.tif
grid: {name: WebMercatorQuad, metatiling: $2}
zoom: 15
output: {path: out/$1, resampling: bilinear, warp_error: 0}
EOF
}

for m in 1 4; do
  job m$m $m "{interval: $INTERVAL}"
  check_run "contours, metatiling $m, exits 0" 0 run "$WORK/m$m.yaml" --workers 2 --no-progress
  check_run "export --merge (metatiling $m) exits 0" 0 export "$WORK/out/m$m" --format fgb --merge \
    --crs store -o "$WORK/merged$m.fgb"
done
check_run "export geojson exits 0" 0 export "$WORK/out/m4" --format geojson -o "$WORK/pieces.geojson"
check_run "export --merge geojson exits 0" 0 export "$WORK/out/m4" --format geojson --merge \
  -o "$WORK/merged.geojson"
for f in pieces.geojson merged.geojson merged4.fgb; do
  check "ogrinfo opens $f" ogrinfo -ro -al -so "$WORK/$f"
done

py_checks "$WORK" "$INTERVAL" <<'EOF'
import collections, math, subprocess, sys
import numpy as np
import swt
from osgeo import gdal, ogr
work, interval = sys.argv[1], float(sys.argv[2])
z, r = 15, swt.merc_res(15)

def pieces(path):
    ds = ogr.Open(path)
    out = []
    for f in ds.GetLayer("features"):
        out.append((f["x"], f["y"], f["value"], f["class"], f.GetGeometryRef().Clone()))
    return out

p1, p4 = pieces(work + "/out/m1/features.gpkg"), pieces(work + "/out/m4/features.gpkg")
def by_key(ps):
    d = collections.defaultdict(list)
    for x, y, v, c, g in ps:
        d[(x, y, v)].append(g.Length())
    return {k: sorted(v) for k, v in d.items()}
a, b = by_key(p1), by_key(p4)
diff = [k for k in set(a) | set(b) if len(a.get(k, [])) != len(b.get(k, [])) or
        any(abs(u - w) > 1e-6 * max(u, w) for u, w in zip(a.get(k, []), b.get(k, [])))]
swt.check("metatiling 1 and 4: the same pieces (%d and %d; per tile and elevation count and length within 1e-6)"
          % (len(p1), len(p4)), len(p1) > 200 and not diff, str([(k, a.get(k), b.get(k)) for k in diff[:5]]))
swt.check("pieces are class 'contour', score set, values multiples of %g" % interval,
          all(c == "contour" and v % interval == 0 for _, _, v, c, _ in p4))

outside = []
for x, y, v, c, g in p4:
    bx = swt.merc_bounds(z, x, y)
    e = g.GetEnvelope()
    if e[0] < bx[0] - 1e-6 or e[1] > bx[2] + 1e-6 or e[2] < bx[1] - 1e-6 or e[3] > bx[3] + 1e-6:
        outside.append((x, y, v, e, bx))
swt.check("every piece lies inside its owning tile (z/x/y)", not outside, str(outside[:3]))
overlap, lv = [], collections.defaultdict(list)
for x, y, v, c, g in p4:
    lv[v].append(g)
for v, gs in lv.items():
    for i in range(len(gs)):
        for j in range(i + 1, len(gs)):
            if gs[i].Intersects(gs[j]) and gs[i].Intersection(gs[j]).GetDimension() > 0:
                overlap.append((v, i, j))
swt.check("no two pieces of one elevation overlap", not overlap, str(overlap[:5]))

# The oracle: gdal_contour over the DEM warped onto the job's pixel grid.
xs, ys = [p[0] for p in p4], [p[1] for p in p4]
region = (swt.merc_bounds(z, min(xs), max(ys))[0], swt.merc_bounds(z, min(xs), max(ys))[1],
          swt.merc_bounds(z, max(xs), min(ys))[2], swt.merc_bounds(z, max(xs), min(ys))[3])
# The tiles with features are the DEM's tiles (it has lines everywhere).
nx, ny = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
bb = (region[0] - 2 * r, region[1] - 2 * r, region[2] + 2 * r, region[3] + 2 * r)
warped = swt.gdalwarp(work + "/data/dem.tif", work + "/oracle_dem.tif", bb, (256 * nx + 4, 256 * ny + 4),
                      resampling="bilinear", extra=["-dstnodata", "-9999"])
subprocess.run(["gdal_contour", "-q", "-i", str(interval), "-a", "elev", warped, work + "/oracle.gpkg"], check=True)
box = ogr.CreateGeometryFromWkt("POLYGON((%.10f %.10f,%.10f %.10f,%.10f %.10f,%.10f %.10f,%.10f %.10f))" % (
    region[0], region[1], region[2], region[1], region[2], region[3], region[0], region[3], region[0], region[1]))
ods = ogr.Open(work + "/oracle.gpkg")
olen, olines = collections.defaultdict(float), collections.defaultdict(list)
for f in ods.GetLayer(0):
    c = f.GetGeometryRef().Intersection(box)
    if c is not None and c.Length() > 0:
        olen[f["elev"]] += c.Length()
        olines[f["elev"]].append(c)
slen = collections.defaultdict(float)
for x, y, v, c, g in p4:
    slen[v] += g.Length()
rel = {v: abs(slen.get(v, 0) - olen.get(v, 0)) / max(olen.get(v, 0), 1e-9) for v in set(olen) | set(slen)}
tot_o, tot_s = sum(olen.values()), sum(slen.values())
worst = max(rel, key=rel.get)
swt.check("per elevation, the total length equals gdal_contour's within 1e-6 relative (%d levels, worst %g m: %.3g%%; "
          "total %.1f m vs %.1f m)" % (len(rel), worst, 100 * rel[worst], tot_s, tot_o),
          len(rel) >= 10 and rel[worst] <= 1e-6,
          "\n".join("%g: swath %.2f gdal_contour %.2f" % (v, slen.get(v, 0), olen.get(v, 0)) for v in sorted(rel)))

# The oracle's clipped lines, merged per elevation (the ring starts GEOS
# splits at are joined again), against swath's merged lines.
mem = ogr.GetDriverByName("Memory").CreateDataSource("o")
ml = mem.CreateLayer("o", geom_type=ogr.wkbMultiLineString)
ml.CreateField(ogr.FieldDefn("elev", ogr.OFTReal))
for v, gs in olines.items():
    for g in gs:
        f = ogr.Feature(ml.GetLayerDefn()); f["elev"] = v; f.SetGeometry(g); ml.CreateFeature(f)
res = mem.ExecuteSQL("SELECT elev, ST_LineMerge(ST_Collect(GEOMETRY)) FROM o GROUP BY elev", dialect="SQLITE")
ocount = {}
for f in res:
    g = f.GetGeometryRef()
    ocount[f["elev"]] = 1 if g.GetGeometryName() == "LINESTRING" else g.GetGeometryCount()
mem.ReleaseResultSet(res)
mds = ogr.Open(work + "/merged4.fgb")
mlines = [(f["value"], f["pieces"], f.GetGeometryRef().Clone()) for f in mds.GetLayer(0)]
scount = collections.Counter(v for v, _, _ in mlines)
badc = {v: (scount.get(v, 0), ocount.get(v, 0)) for v in set(scount) | set(ocount) if scount.get(v, 0) != ocount.get(v, 0)}
swt.check("per elevation, as many merged lines as gdal_contour's lines clipped to the tiles (%d lines from %d pieces)"
          % (len(mlines), len(p4)), not badc and len(mlines) > 20, str(sorted(badc.items())[:10]))
m1 = ogr.Open(work + "/merged1.fgb")
swt.check("merged lines: the same for metatiling 1 and 4", sorted(
    (f["value"], round(f.GetGeometryRef().Length(), 4)) for f in m1.GetLayer(0)) == sorted(
    (v, round(g.Length(), 4)) for v, _, g in mlines))

# Open merged lines end on the tiles' edge or next to nodata, never inside.
dem = gdal.Open(warped).ReadAsArray()
nod = dem == -9999
def near_nodata(px, py):
    c, rr = int((px - bb[0]) / r), int((bb[3] - py) / r)
    return nod[max(rr - 2, 0):rr + 3, max(c - 2, 0):c + 3].any()
inner = []
for v, n, g in mlines:
    p0, p1_ = g.GetPoint_2D(0), g.GetPoint_2D(g.GetPointCount() - 1)
    if p0 == p1_:
        continue
    for px, py in (p0, p1_):
        edge = min(abs(px - region[0]), abs(px - region[2]), abs(py - region[1]), abs(py - region[3])) < 1e-6
        if not edge and not near_nodata(px, py):
            inner.append((v, px, py))
closed = sum(1 for v, n, g in mlines if g.GetPoint_2D(0) == g.GetPoint_2D(g.GetPointCount() - 1))
joined = sum(1 for v, n, g in mlines if n > 1)
swt.check("merged lines are joined across tiles: open ends only on the tiles' edge or at nodata "
          "(%d lines, %d closed, %d joined from several pieces)" % (len(mlines), closed, joined),
          not inner and joined > 20, str(inner[:5]))
EOF

# --- bad input ---------------------------------------------------------------
bad() { # NAME PARAMS EXPECTED-TEXT
  job bad $1 "$2"
  check_run "$3: exit 2" 2 run "$WORK/bad.yaml" --no-progress
  check_eq "$3: one line" 1 "$(grep -c . "$WORK/run.err")"
  check "$3: names the problem" grep -q "$4" "$WORK/run.err"
}
bad 1 "{interval: 0}" "interval 0" "interval must be > 0"
bad 1 "{interval: -5}" "interval -5" "interval must be > 0"
bad 1 "{levels: '100, abc'}" "levels not numbers" "params.levels"
bad 1 "{band: 2}" "band the DEM lacks" "params.band"
check_run "--merge to csv: exit 2" 2 export "$WORK/out/m1" --format csv --merge
check_eq "--merge to csv: one line" 1 "$(grep -c . "$WORK/run.err")"

# Fixed levels: only those elevations.
job levels 2 "{levels: '600, 812.5'}"
check_run "levels: exits 0" 0 run "$WORK/levels.yaml" --no-progress
check_eq "levels: only the fixed elevations" "600 812.5" \
  "$(ogrinfo -q -sql "SELECT DISTINCT value FROM features ORDER BY value" "$WORK/out/levels/features.gpkg" |
    sed -n 's/.*value (Real) = //p' | tr '\n' ' ' | sed 's/ $//')"

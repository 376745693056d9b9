#!/usr/bin/env bash
# test_export.sh: `swath export` over features stores built here with OGR
# (features_store.py): every format opened again with OGR (ogrinfo and the
# Python bindings), feature counts per threshold and class, attribute
# values, coordinates against the store's transformed with osr, validity,
# CSV parsed with Python's csv, --area, --bounds, --tiles, the store found
# from an output folder (job.yaml's output.features), a store in another
# CRS; and bad input: exit 2, one line, no -o file left behind.
. "$(dirname "$0")/lib.sh"
require_swath

FS="$SWATH_SRC/tests/integration/features_store.py"
export PYTHONPATH="$SWATH_SRC/tests/integration:$PYTHONPATH"
STORE=$WORK/out/features.gpkg
mkdir -p "$WORK/out"
"$PY" "$FS" make "$STORE" || die "store built" "features_store.py make failed"

# --- every format, threshold 0.6 (one feature scores exactly 0.6) ---------
check_run "geojson to stdout" 0 export "$STORE" --format geojson --threshold 0.6
cp "$WORK/run.out" "$WORK/t06.geojson"
check_eq "geojson: one-line summary on stderr" \
  "swath: exported 25 features (of 60) to stdout" "$(cat "$WORK/run.err")"
check_run "csv to stdout" 0 export "$STORE" --format csv --threshold 0.6
cp "$WORK/run.out" "$WORK/t06.csv"
check_run "fgb to a file" 0 export "$STORE" --format fgb --threshold 0.6 -o "$WORK/t06.fgb"
check_run "gpkg to a file" 0 export "$STORE" --format gpkg --threshold 0.6 -o "$WORK/t06.gpkg"
for f in t06.geojson t06.fgb t06.gpkg; do
  check "ogrinfo opens $f" ogrinfo -ro -al -so "$WORK/$f"
done
check_eq "no temporary files left" "" "$(tmp_files "$WORK")"

py_checks "$STORE" "$WORK" <<'EOF'
import csv, io, json, sys
import swt
from osgeo import ogr, osr
import features_store as fs
store, work = sys.argv[1:3]
truth = fs.read(store)
keep = [t for t in truth if t[1]["score"] >= 0.6]
swt.check("the store holds a score of exactly 0.6", any(t[1]["score"] == 0.6 for t in truth))
by_fid = {}
for t in keep:
    by_fid.setdefault((t[1]["class"], round(t[1]["score"], 12)), t)

def match(props):
    return by_fid.get((props["class"], round(props["score"], 12)))

for name in ["t06.geojson", "t06.fgb", "t06.gpkg"]:
    ds = ogr.Open(f"{work}/{name}")
    lyr = ds.GetLayer(0)
    swt.check(f"{name}: {len(keep)} features (score >= 0.6)", lyr.GetFeatureCount() == len(keep),
              f"got {lyr.GetFeatureCount()}")
    s = lyr.GetSpatialRef()
    swt.check(f"{name}: CRS is EPSG:4326", s is not None and s.GetAuthorityCode(None) == "4326",
              s.ExportToWkt() if s else "none")
    tol = 1e-7 if name.endswith("geojson") else 1e-9
    bad_attr, bad_geom, invalid = [], [], []
    seen = set()
    for f in lyr:
        props = {k: f[k] for k, _ in fs.FIELDS}
        t = match(props)
        if t is None or t[0] in seen:
            bad_attr.append(props)
            continue
        seen.add(t[0])
        if any(props[k] != t[1][k] for k in props if k != "score") or abs(props["score"] - t[1]["score"]) > 1e-12:
            bad_attr.append((props, t[1]))
        g = f.GetGeometryRef()
        if not fs.same_shape(g, t[2], tol):
            bad_geom.append((g.ExportToWkt(), t[2].ExportToWkt()))
        if not g.IsValid():
            invalid.append(g.ExportToWkt())
    swt.check(f"{name}: attributes equal the store's", not bad_attr and len(seen) == len(keep), str(bad_attr[:3]))
    swt.check(f"{name}: coordinates equal the store's in lon/lat within {tol:g} deg", not bad_geom, str(bad_geom[:2]))
    swt.check(f"{name}: geometries valid", not invalid, str(invalid[:2]))

doc = json.load(open(f"{work}/t06.geojson"))
swt.check("geojson: RFC 7946 (no crs member, a FeatureCollection)",
          doc["type"] == "FeatureCollection" and "crs" not in doc)
digits = max(len(str(c).split(".")[1]) if "." in str(c) else 0
             for ft in doc["features"] for c in json.dumps(ft["geometry"]["coordinates"]).replace("[", "").replace("]", "").split(","))
swt.check("geojson: coordinates with at most 7 decimals", digits <= 7, f"{digits}")

rows = list(csv.DictReader(open(f"{work}/t06.csv", newline="")))
hdr = open(f"{work}/t06.csv").readline().strip()
swt.check("csv: header lon,lat,score,class,z,x,y,wkt", hdr == "lon,lat,score,class,z,x,y,wkt", hdr)
swt.check(f"csv: {len(keep)} rows", len(rows) == len(keep), f"{len(rows)}")
bad = []
for r in rows:
    t = match({"class": r["class"], "score": float(r["score"])})
    if t is None:
        bad.append(r)
        continue
    g = ogr.CreateGeometryFromWkt(r["wkt"])
    if (abs(float(r["lon"]) - t[3][0]) > 1e-9 or abs(float(r["lat"]) - t[3][1]) > 1e-9
            or int(r["z"]) != t[1]["z"] or int(r["x"]) != t[1]["x"] or int(r["y"]) != t[1]["y"]
            or not fs.same_shape(g, t[2], 1e-9)):
        bad.append((r, t[1], t[3]))
swt.check("csv: centre lon/lat, tile and WKT equal the store's (1e-9 deg)", not bad, str(bad[:2]))
EOF

# --- threshold and class counts -----------------------------------------
for t in 0 0.5 1; do
  run_swath export "$STORE" --format csv --threshold "$t"
  n=$(($(wc -l <"$WORK/run.out") - 1))
  want=$("$PY" -c "import features_store as fs; print(sum(1 for t in fs.read('$STORE') if t[1]['score'] >= $t))")
  check_eq "csv --threshold $t: rows" "$want" "$n"
done
run_swath export "$STORE" --format geojson --class pool,roof --threshold 0.3
check_py "--class pool,roof --threshold 0.3: exactly those features" "$STORE" "$WORK/run.out" <<'EOF'
import json, sys
import features_store as fs
want = sorted(round(t[1]["score"], 9) for t in fs.read(sys.argv[1]) if t[1]["class"] in ("pool", "roof") and t[1]["score"] >= 0.3)
got = sorted(round(f["properties"]["score"], 9) for f in json.load(open(sys.argv[2]))["features"])
assert got == want and {f["properties"]["class"] for f in json.load(open(sys.argv[2]))["features"]} == {"pool", "roof"}, (got, want)
EOF

# --- --area (a triangle, in another CRS) and --bounds --------------------
"$PY" - "$WORK/area.gpkg" <<'EOF'
import sys
from osgeo import ogr, osr
s = osr.SpatialReference(); s.ImportFromEPSG(2056)
ds = ogr.GetDriverByName("GPKG").CreateDataSource(sys.argv[1])
l = ds.CreateLayer("zone", s, ogr.wkbPolygon)
f = ogr.Feature(l.GetLayerDefn())
# A triangle over part of the features, in Swiss LV95
f.SetGeometry(ogr.CreateGeometryFromWkt("POLYGON ((2681000 1246000, 2686000 1246000, 2683000 1250500, 2681000 1246000))"))
l.CreateFeature(f)
EOF
check_run "--area polygon file (EPSG:2056)" 0 export "$STORE" --format csv --area "$WORK/area.gpkg"
check_py "--area: the features whose centre lies in the triangle" "$STORE" "$WORK/run.out" "$WORK/area.gpkg" <<'EOF'
import csv, sys
from osgeo import ogr, osr
import features_store as fs
ads = ogr.Open(sys.argv[3])
aft = ads.GetLayer(0).GetNextFeature()
area = aft.GetGeometryRef().Clone()
area.AssignSpatialReference(None)
to = osr.CoordinateTransformation(fs.srs(3857), fs.srs(2056))
want = []
for t in fs.read(sys.argv[1]):
    p = ogr.Geometry(ogr.wkbPoint); p.AddPoint_2D(*t[4]); p.Transform(to)
    if area.Contains(p):
        want.append(round(t[1]["score"], 9))
got = sorted(round(float(r["score"]), 9) for r in csv.DictReader(open(sys.argv[2])))
assert got == sorted(want) and 0 < len(want) < 60, (got, sorted(want))
print(f"{len(want)} of 60 inside")
EOF
check_run "--bounds lon/lat" 0 export "$STORE" --format csv --bounds 8.53,47.36,8.545,47.375
check_py "--bounds: the features whose centre lies in the box" "$STORE" "$WORK/run.out" <<'EOF'
import csv, sys
import features_store as fs
want = sorted(round(t[1]["score"], 9) for t in fs.read(sys.argv[1]) if 8.53 < t[3][0] < 8.545 and 47.36 < t[3][1] < 47.375)
got = sorted(round(float(r["score"]), 9) for r in csv.DictReader(open(sys.argv[2])))
assert got == want and 0 < len(want) < 60, (got, want)
EOF

# --- --tiles ------------------------------------------------------------
"$PY" "$FS" make "$WORK/tiles.gpkg" --n 200 --spread 300 --seed 3
check_run "--tiles --format csv" 0 export "$WORK/tiles.gpkg" --format csv --tiles --threshold 0.1
check_py "--tiles: best score per tile and class, sorted by z,x,y,class" "$WORK/tiles.gpkg" "$WORK/run.out" <<'EOF'
import csv, sys
import features_store as fs
best = {}
for t in fs.read(sys.argv[1]):
    p = t[1]
    if p["score"] >= 0.1:
        k = (p["z"], p["x"], p["y"], p["class"])
        best[k] = max(best.get(k, -1), p["score"])
want = [(k, best[k]) for k in sorted(best)]
lines = open(sys.argv[2]).read().splitlines()
assert lines[0] == "z,x,y,class,score", lines[0]
got = [((int(r["z"]), int(r["x"]), int(r["y"]), r["class"]), float(r["score"])) for r in csv.DictReader(lines)]
assert len(got) == len(want) and all(a[0] == b[0] and abs(a[1] - b[1]) < 1e-12 for a, b in zip(got, want)), (got[:5], want[:5])
assert len({k[:3] for k, _ in want}) < len(want), "some tile holds several classes"
print(f"{len(want)} rows over {len({k[:3] for k, _ in want})} tiles")
EOF

# --- the store of an output folder, and one in another CRS ---------------
check_run "SRC an output folder: its features.gpkg" 0 export "$WORK/out" --format csv
check_eq "output folder: every feature" "60" "$(($(wc -l <"$WORK/run.out") - 1))"
mkdir -p "$WORK/jobs" "$WORK/out2" "$WORK/elsewhere"
"$PY" "$FS" make "$WORK/elsewhere/found.gpkg" --n 7
cat >"$WORK/out2/job.yaml" <<EOF
# The job as swath last ran it into this folder: zoom and area are those
# of that run (--zoom and --bounds applied). Relative paths are relative
# to the folder of the job file it was run from: $WORK/jobs/solar.yaml
process: detect
output: {path: ../out2, features: ../elsewhere/found.gpkg}
EOF
check_run "SRC an output folder whose job names output.features" 0 export "$WORK/out2" --format csv
check_eq "output.features resolved from the job file's folder: 7 features" "7" "$(($(wc -l <"$WORK/run.out") - 1))"
"$PY" "$FS" make "$WORK/lv95.gpkg" --epsg 2056 --n 12
check_run "a store in EPSG:2056" 0 export "$WORK/lv95.gpkg" --format geojson
check_py "EPSG:2056 store: coordinates in lon/lat within 1e-7 deg" "$WORK/lv95.gpkg" "$WORK/run.out" <<'EOF'
import json, sys
from osgeo import ogr
import features_store as fs
truth = {round(t[1]["score"], 9): t for t in fs.read(sys.argv[1])}
feats = json.load(open(sys.argv[2]))["features"]
assert len(feats) == 12
for f in feats:
    g = ogr.CreateGeometryFromJson(json.dumps(f["geometry"]))
    t = truth[round(f["properties"]["score"], 9)]
    assert fs.same_shape(g, t[2], 1e-7), (g.ExportToWkt(), t[2].ExportToWkt())
EOF
check_run "--crs store keeps EPSG:2056 in gpkg" 0 export "$WORK/lv95.gpkg" --format gpkg --crs store -o "$WORK/lv95-out.gpkg"
check_eq "--crs store: the output's CRS" "2056" "$("$PY" -c "from osgeo import ogr; ds = ogr.Open('$WORK/lv95-out.gpkg'); print(ds.GetLayer(0).GetSpatialRef().GetAuthorityCode(None))")"

# --- bad input: exit 2, one line, no -o file ----------------------------
"$PY" "$FS" make "$WORK/nolayer.gpkg" --layer other
"$PY" "$FS" make "$WORK/noscore.gpkg" --drop-field score
echo "not a vector file" >"$WORK/junk.geojson"
bad() {
  local name=$1 pattern=$2
  shift 2
  rm -f "$WORK/bad.out"
  run_swath export "$@"
  local err
  err=$(cat "$WORK/run.err")
  if [ "$RUN_RC" -eq 2 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] && grep -q "^swath: .*$pattern" "$WORK/run.err" &&
    [ ! -e "$WORK/bad.out" ] && [ -z "$(tmp_files "$WORK")" ]; then
    pass "bad input: $name: exit 2, one line, no output file"
  else
    fail "bad input: $name: exit 2, one line, no output file" "exit $RUN_RC" "$err" \
      "$(ls "$WORK"/bad.out* 2>/dev/null)"
  fi
}
bad "--threshold above 1" "--threshold: expected a score from 0 to 1, got '1.5'" "$STORE" --format csv --threshold 1.5 -o "$WORK/bad.out"
bad "--threshold below 0" "--threshold" "$STORE" --format csv --threshold -0.1 -o "$WORK/bad.out"
bad "--threshold not a number" "--threshold" "$STORE" --format csv --threshold abc -o "$WORK/bad.out"
bad "--threshold nan" "--threshold" "$STORE" --format csv --threshold nan -o "$WORK/bad.out"
bad "unknown format" "unknown format 'xml' (geojson, csv, fgb, gpkg)" "$STORE" --format xml -o "$WORK/bad.out"
bad "no --format" "--format is required" "$STORE" -o "$WORK/bad.out"
bad "missing store" "no such" "$WORK/nowhere.gpkg" --format csv -o "$WORK/bad.out"
bad "output folder without a store" "no such file" "$WORK/jobs" --format csv -o "$WORK/bad.out"
bad "store without the layer" "no layer 'features'" "$WORK/nolayer.gpkg" --format csv -o "$WORK/bad.out"
bad "store without a field" "no field 'score'" "$WORK/noscore.gpkg" --format csv -o "$WORK/bad.out"
bad "not a store" "cannot open" "$WORK/junk.geojson" --format csv -o "$WORK/bad.out"
bad "fgb without -o" "give -o FILE" "$STORE" --format fgb
bad "gpkg without -o" "give -o FILE" "$STORE" --format gpkg
bad "unreadable area file" "--area '.*junk.geojson': not a vector file" "$STORE" --format gpkg --area "$WORK/junk.geojson" -o "$WORK/bad.out"
bad "missing area file" "no such file" "$STORE" --format fgb --area "$WORK/nowhere.shp" -o "$WORK/bad.out"
echo '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [8.54, 47.37]}}]}' >"$WORK/points.geojson"
bad "area without polygons" "has no polygons" "$STORE" --format fgb --area "$WORK/points.geojson" -o "$WORK/bad.out"
bad "--tiles with geojson" "--tiles" "$STORE" --format geojson --tiles -o "$WORK/bad.out"
bad "--area and --bounds" "at most one" "$STORE" --format csv --area "$WORK/area.gpkg" --bounds 8,47,9,48 -o "$WORK/bad.out"
bad "--bounds not lon/lat" "--bounds" "$STORE" --format csv --bounds 950000,6000000,960000,6010000 -o "$WORK/bad.out"
bad "empty --class" "--class" "$STORE" --format csv --class "" -o "$WORK/bad.out"
bad "-o in a missing folder" "-o" "$STORE" --format csv -o "$WORK/nofolder/bad.out"
bad "unknown option" "unknown option" "$STORE" --format csv --frobnicate
bad "no SRC" "SRC is required" --format csv
echo keep >"$WORK/exists.csv"
run_swath export "$STORE" --format csv -o "$WORK/exists.csv"
check_eq "-o FILE that exists: refused without --overwrite (exit 2), file kept" "2 keep" "$RUN_RC $(cat "$WORK/exists.csv")"
check_run "--overwrite replaces it" 0 export "$STORE" --format csv -o "$WORK/exists.csv" --overwrite
check_eq "replaced: 61 lines" "61" "$(wc -l <"$WORK/exists.csv")"

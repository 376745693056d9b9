#!/usr/bin/env bash
# test_gdal_messages.sh: GDAL's errors and warnings reach the user through
# swath, never as GDAL's own "ERROR 6: ..." / "Warning 1: ..." lines.
#   - bad input to every command (run, tiles, prefetch, catalog ingest /
#     search / stats, serve and its HTTP API): no line of stderr matches
#     '^ERROR [0-9]+:' or 'Warning [0-9]+:';
#   - where GDAL said why, swath's one line about the file names the file and
#     carries GDAL's reason (a CRS-less raster in catalog ingest: "Cannot
#     find coordinate operations"; a file GDAL does not recognise: "not
#     recognized as a supported file format"; a cut-off TIFF: the TIFF
#     read error);
#   - with -v GDAL's messages are shown with swath's prefix
#     ("swath: debug: GDAL error 6: ..."), and an API key in a URL that GDAL
#     echoes is redacted there as everywhere.
# CPL_LOG_ERRORS is unset: the test sees what a user's terminal shows.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath
unset CPL_LOG_ERRORS CPL_DEBUG

D=$WORK/data
gen_rgb "$D/img.tif" --size 256
echo "this is not a raster" >"$D/notraster.txt"
py "$D" <<'EOF' || die "write the bad rasters"
import sys
from osgeo import gdal, osr
gdal.UseExceptions()
d = sys.argv[1]
gdal.GetDriverByName("GTiff").Create(d + "/nogeo.tif", 64, 64, 1)
ds = gdal.GetDriverByName("GTiff").Create(d + "/eng.tif", 64, 64, 1)
ds.SetGeoTransform([0, 1, 0, 64, 0, -1])
s = osr.SpatialReference()
s.SetFromUserInput('ENGCRS["local",EDATUM["x"],CS[Cartesian,2],AXIS["x",east,ORDER[1],LENGTHUNIT["metre",1]],'
                   'AXIS["y",north,ORDER[2],LENGTHUNIT["metre",1]]]')
ds.SetSpatialRef(s)
ds = None
# A tiled, compressed TIFF cut in half: it opens, its second half fails to read.
gdal.Translate(d + "/full.tif", d + "/img.tif", creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
b = open(d + "/full.tif", "rb").read()
open(d + "/trunc.tif", "wb").write(b[:len(b) // 2])
open(d + "/broken.geojson", "w").write('{"type": "FeatureCollection", "features": [ {"type": "Feature", "geometry": ')
EOF
mkdir -p "$D/ingest"
cp "$D/eng.tif" "$D/nogeo.tif" "$D/img.tif" "$D/ingest/"
cp "$D/notraster.txt" "$D/ingest/fake.tif"
cat >"$D/badcrs.json" <<'EOF'
{"id": "bad", "crs": "EPSG:999999", "tileMatrices": [{"id": "0", "cellSize": 1, "pointOfOrigin": [0, 0],
 "tileWidth": 256, "tileHeight": 256, "matrixWidth": 1, "matrixHeight": 1}]}
EOF

# job NAME INPUT [EXTRA_LINE]: a convert job at zoom 14.
job() {
  {
    echo "process: convert"
    echo "inputs: {img: \"$2\"}"
    echo "zoom: 14"
    echo "output: {path: $WORK/out/$1}"
    [ -n "${3:-}" ] && echo "$3"
  } >"$WORK/$1.yaml"
}

N=0
RAW=()
# case NAME RC [-p PATTERN]... -- SWATH_ARGS...: run swath; check the exit
# status, that no line is one of GDAL's own, and each PATTERN (ERE) is in
# one stderr line with the others given before it (-l LINE_PATTERN picks
# the line: all patterns must match that same line).
case_() {
  local name=$1 want=$2
  shift 2
  local pats=()
  while [ "$1" != "--" ]; do pats+=("$2"); shift 2; done
  shift
  N=$((N + 1))
  "$SWATH" "$@" >"$WORK/c$N.out" 2>"$WORK/c$N.err" </dev/null
  local rc=$?
  if [ "$rc" -eq "$want" ]; then pass "$name: exit status $want"
  else fail "$name: exit status $want" "got $rc" "$(tail -n 5 "$WORK/c$N.err")"; fi
  RAW+=("$WORK/c$N.err")
  if grep -qE '^ERROR [0-9]+:|Warning [0-9]+:' "$WORK/c$N.err"; then
    fail "$name: no GDAL line of its own on stderr" "$(grep -E '^ERROR [0-9]+:|Warning [0-9]+:' "$WORK/c$N.err" | head -3)"
  else pass "$name: no GDAL line of its own on stderr"; fi
  [ ${#pats[@]} -eq 0 ] && return 0
  local line p ok=0
  while IFS= read -r line; do
    ok=1
    for p in "${pats[@]}"; do [[ "$line" =~ $p ]] || { ok=0; break; }; done
    [ $ok -eq 1 ] && break
  done <"$WORK/c$N.err"
  if [ $ok -eq 1 ]; then pass "$name: one line names it and says GDAL's reason (${pats[*]})"; echo "    # $line"
  else fail "$name: one line names it and says GDAL's reason (${pats[*]})" "$(head -n 5 "$WORK/c$N.err")"; fi
}

# ---- run ---------------------------------------------------------------------
job notraster "$D/notraster.txt"
case_ "run: an input GDAL does not recognise" 2 -p "notraster\.txt" -p "not recognized as a supported file format" -- \
  run "$WORK/notraster.yaml" --no-progress
job eng "$D/eng.tif"
case_ "run: an input whose CRS has no way to the grid's" 2 -p "eng\.tif" -p "Cannot find coordinate operations" -- \
  run "$WORK/eng.yaml" --no-progress
job nogeo "$D/nogeo.tif"
case_ "run: an input without georeferencing" 2 -p "nogeo\.tif" -p "not georeferenced" -- run "$WORK/nogeo.yaml" --no-progress
job trunc "$D/trunc.tif"
case_ "run: a TIFF cut short (tiles fail)" 1 -p "trunc\.tif" -p "TIFFReadEncodedTile|TIFFFillTile|Read error" -- \
  run "$WORK/trunc.yaml" --no-progress
if grep -qE "trunc\.tif.*(TIFFReadEncodedTile|Read error)" "$WORK/out/trunc/.swath/failed.txt" 2>/dev/null; then
  pass "run: failed.txt carries GDAL's reason"
else fail "run: failed.txt carries GDAL's reason" "$(head -3 "$WORK/out/trunc/.swath/failed.txt" 2>&1)"; fi
job area "$D/img.tif" "area: {file: $D/broken.geojson}"
case_ "run: an area file GDAL cannot read" 2 -p "broken\.geojson" -- run "$WORK/area.yaml" --no-progress
job crs "$D/img.tif" "area: {bounds: [8, 47, 9, 48], crs: 'EPSG:999999'}"
case_ "run: an area CRS GDAL does not know" 2 -p "EPSG:999999" -- run "$WORK/crs.yaml" --no-progress
job grid "$D/img.tif" "grid: {name: $D/badcrs.json}"
case_ "run: a grid file whose CRS GDAL does not know" 2 -p "badcrs\.json" -p "EPSG:999999" -- run "$WORK/grid.yaml" --no-progress
# A served file that is not a raster, by a URL with an API key: GDAL's
# message repeats the URL.
servers_start_lighttpd "$D" || die "lighttpd starts"
job key "/vsicurl/$SERVERS_URL/notraster.txt?apikey=SECRET123"
case_ "run: a /vsicurl/ input with a key that is not a raster" 2 -p "notraster\.txt\?apikey=REDACTED" \
  -p "not recognized" -- run "$WORK/key.yaml" --no-progress
case_ "run -v: the same, GDAL's message shown with swath's prefix, key redacted" 2 \
  -p "^swath: debug: GDAL error [0-9]+: .*notraster\.txt\?apikey=REDACTED" -- -v run "$WORK/key.yaml" --no-progress
if grep -q "SECRET123" "$WORK/c$N.err" "$WORK/c$((N - 1)).err"; then
  fail "run: the key is redacted in every line, GDAL's included" "$(grep SECRET123 "$WORK/c$N.err" | head -3)"
else pass "run: the key is redacted in every line, GDAL's included"; fi
job key2 "/vsicurl/http://127.0.0.1:9/img.tif?apikey=SECRET123"
case_ "run: an unreachable /vsicurl/ input" 2 -p "127\.0\.0\.1:9" -p "Couldn't connect|Failed to connect|HTTP" -- \
  run "$WORK/key2.yaml" --no-progress
case_ "run -v: an input whose CRS has no way to the grid's" 2 \
  -p "^swath: debug: GDAL error [0-9]+: Cannot find coordinate operations" -- -v run "$WORK/eng.yaml" --no-progress

# ---- tiles -------------------------------------------------------------------
case_ "tiles: an area file GDAL cannot read" 2 -p "broken\.geojson" -- tiles --grid WebMercatorQuad --zoom 3 --area "$D/broken.geojson"
case_ "tiles: a bounds CRS GDAL does not know" 2 -p "EPSG:999999" -- tiles --grid WebMercatorQuad --zoom 3 \
  --bounds 0,0,1,1 --bounds-crs EPSG:999999
case_ "tiles: a grid file whose CRS GDAL does not know" 2 -p "badcrs\.json" -- tiles --grid "$D/badcrs.json" --zoom 0 --bounds 0,0,1,1
case_ "tiles: an area that is not a vector file" 2 -p "notraster\.txt" -- tiles --grid WebMercatorQuad --zoom 3 --area "$D/notraster.txt"

# ---- prefetch ------------------------------------------------------------------
case_ "prefetch: an input GDAL does not recognise" 2 -p "notraster\.txt" -p "not recognized" -- prefetch "$WORK/notraster.yaml" --no-progress
case_ "prefetch: an input whose CRS has no way to the grid's" 2 -p "eng\.tif" -p "Cannot find coordinate operations" -- \
  prefetch "$WORK/eng.yaml" --no-progress

# ---- catalog -------------------------------------------------------------------
case_ "catalog ingest: a raster without a usable CRS" 0 -p "eng\.tif" -p "Cannot find coordinate operations" -- \
  catalog ingest "$D/ingest" --catalog "$WORK/cat.db"
case_ "catalog ingest: a .tif GDAL does not recognise" 0 -p "fake\.tif" -p "not recognized as a supported file format" -- \
  catalog ingest "$D/ingest" --catalog "$WORK/cat2.db"
case_ "catalog ingest: a raster without georeferencing" 0 -p "nogeo\.tif" -p "no georeferencing" -- \
  catalog ingest "$D/ingest" --catalog "$WORK/cat3.db"
cp "$D/full.tif" "$D/ingest2.tif"
"$SWATH" -q catalog ingest "$D/ingest2.tif" --catalog "$WORK/stats.db" >/dev/null 2>&1
cp "$D/trunc.tif" "$D/ingest2.tif"
case_ "catalog stats: a raster cut short since ingest" 1 -p "ingest2\.tif" -p "TIFFReadEncodedTile|TIFFFillTile|Read error|IReadBlock" -- \
  catalog stats --catalog "$WORK/stats.db" --exact
case_ "catalog search: an intersects geometry GDAL cannot read" 2 -p "intersects" -- \
  catalog search --catalog "$WORK/cat.db" --intersects '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}'
case_ "catalog ingest: a folder that does not exist" 2 -p "nowhere" -- catalog ingest "$D/nowhere" --catalog "$WORK/cat4.db"

# ---- serve -----------------------------------------------------------------------
case_ "serve: a bad port" 2 -p "port" -- serve --catalog "$WORK/cat.db" --port abc
case_ "serve: a catalog that does not exist" 2 -p "missing\.db" -- serve --catalog "$D/missing.db" --port 0
"$SWATH" serve --catalog "$WORK/cat.db" --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SPID=$!
track_bg "$SPID"
port=""
for _ in $(seq 50); do
  port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$WORK/serve.out" "$WORK/serve.err" 2>/dev/null | head -1 | sed 's/.*://')
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || die "serve started" "$(cat "$WORK/serve.out" "$WORK/serve.err")"
base="http://127.0.0.1:$port"
codes=""
for q in "search?bbox=a,b,c,d" "search?intersects=%7B%22type%22%3A%22Polygon%22%7D" \
  "search?intersects=%7B%22type%22%3A%22Polygon%22%2C%22coordinates%22%3A%5B%5B%5B0%2C0%5D%2C%5B1%2C1%5D%5D%5D%7D" \
  "search?datetime=yesterday" "collections/nope/items" "search?filter=%7B%22op%22%3A%22s_intersects%22%7D"; do
  codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$base/$q")"
done
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"intersects": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1]]]]}}' "$base/search"
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
if [[ " $codes " =~ " 5" ]]; then fail "serve: bad requests get 4xx" "$codes"; else pass "serve: bad requests get 4xx ($codes)"; fi
RAW+=("$WORK/serve.err")
if grep -qE '^ERROR [0-9]+:|Warning [0-9]+:' "$WORK/serve.err"; then
  fail "serve: no GDAL line of its own while answering bad requests" "$(head -3 "$WORK/serve.err")"
else pass "serve: no GDAL line of its own while answering bad requests"; fi

# Across every case: not one of GDAL's own lines.
hits=$(cat "${RAW[@]}" | grep -cE '^ERROR [0-9]+:|Warning [0-9]+:')
check_eq "all ${#RAW[@]} cases: GDAL lines of its own on stderr" 0 "$hits"

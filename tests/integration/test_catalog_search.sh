#!/usr/bin/env bash
# test_catalog_search.sh: the scene catalog end to end, against a running
# `swath serve` on loopback.
#
#  - ingest of a generated Sentinel-2 index (gzip) in the real schema, malformed
#    rows reported with their line numbers, re-ingest updating not duplicating,
#    a bulk-built and an incrementally-built catalog answering identically,
#    the packed R*Tree passing SQLite's rtreecheck();
#  - random searches checked against a brute-force scan of the same rows
#    (test_catalog_oracle.py): CLI, GET and POST /search following next links,
#    /collections/{id}/items; no duplicates or gaps across pages;
#  - exact `intersects` on non-rectangular footprints (STAC NDJSON items);
#  - STAC API documents, Sentinel-2 assets built from BASE_URL (gs:// and
#    https://), legacy granules flagged; HTTP 400/404/405 with JSON bodies;
#  - searches keep working while another process ingests into the catalog.
#
# Env and output: see lib.sh (checks are shell conditions, run by `check NAME eval`).
. "$(dirname "$0")/lib.sh"
require_swath
work=$WORK

gen="$SWATH_SRC/tests/data/gen_s2_index.py"
cat="$work/scenes.db"

# ---- ingest -----------------------------------------------------------------
$PY "$gen" "$work/index.csv.gz" --rows 20000 --seed 3 || die "generate index"
$PY "$gen" "$work/index.csv" --rows 20000 --seed 3
check "gzip output is gzip" eval "[ \"\$(head -c2 '$work/index.csv.gz' | od -An -tx1 | tr -d ' ')\" = 1f8b ]"
"$SWATH" -q catalog ingest "$work/index.csv.gz" --catalog "$cat" >"$work/ingest.out" 2>&1
check "ingest gzip index: 20000 new" eval "grep -q '20000 records: 20000 new, 0 updated, 0 malformed' '$work/ingest.out'"
check "R*Tree built by packing passes rtreecheck" eval \
  "[ \"\$(sqlite3 '$cat' \"SELECT rtreecheck('items_rtree')\")\" = ok ]"
check "one R*Tree entry per item" eval \
  "[ \"\$(sqlite3 '$cat' 'SELECT count(*) FROM items_rtree')\" = 20000 ]"
check "catalog is in WAL mode" eval "[ \"\$(sqlite3 '$cat' 'PRAGMA journal_mode')\" = wal ]"
"$SWATH" -q catalog ingest "$work/index.csv" --catalog "$cat" >"$work/reingest.out" 2>&1
check "re-ingest (plain CSV) updates: 0 new, 20000 updated" eval \
  "grep -q '20000 records: 0 new, 20000 updated' '$work/reingest.out'"
check "re-ingest leaves 20000 items" eval "[ \"\$(sqlite3 '$cat' 'SELECT count(*) FROM items')\" = 20000 ]"

# malformed rows: counted, reported with line numbers, not fatal
$PY "$gen" "$work/bad.csv" --rows 2000 --seed 5 --bad 8 --bad-lines "$work/bad.lines"
"$SWATH" -q catalog ingest "$work/bad.csv" --catalog "$work/bad.db" >"$work/bad.out" 2>"$work/bad.err"
check "malformed rows are not fatal (exit 0)" eval "[ $? -eq 0 ]"
check "8 malformed rows counted" eval "grep -q '2000 records: 1992 new, 0 updated, 8 malformed' '$work/bad.out'"
missing=0
while read -r n; do grep -q "bad.csv:$n: skipped" "$work/bad.err" || missing=$((missing + 1)); done <"$work/bad.lines"
check "each malformed row reported with its line number" eval "[ $missing -eq 0 ]"
printf 'GRANULE_ID,PRODUCT_ID\nx,y\n' >"$work/wrong.csv"
"$SWATH" -q catalog ingest "$work/wrong.csv" --catalog "$work/wrong.db" 2>"$work/wrong.err"
rc=$?
check "a CSV with another header is refused (exit 2, one line)" eval \
  "[ $rc -eq 2 ] && [ \$(wc -l <'$work/wrong.err') -eq 1 ] && grep -q header '$work/wrong.err'"

# incremental path: a non-empty catalog takes the rest row by row
head -2 "$work/index.csv" >"$work/first.csv"
"$SWATH" -q catalog ingest "$work/first.csv" --catalog "$work/incr.db" >/dev/null 2>&1
"$SWATH" -q catalog ingest "$work/index.csv" --catalog "$work/incr.db" >"$work/incr.out" 2>&1
check "incremental ingest: 19999 new, 1 updated" eval "grep -q '19999 new, 1 updated' '$work/incr.out'"
check "incremental R*Tree passes rtreecheck" eval \
  "[ \"\$(sqlite3 '$work/incr.db' \"SELECT rtreecheck('items_rtree')\")\" = ok ]"
same=1
for q in "--bbox 0,40,20,60" "--bbox 170,-60,-170,80 --datetime 2020-01-01/.." \
  "--datetime 2019-05-01 --sortby eo:cloud_cover" "--bbox -10,-10,10,10 --cloud-max 30 --sortby id"; do
  # shellcheck disable=SC2086
  a=$("$SWATH" -q catalog search --catalog "$cat" $q --all --limit 500 2>&1)
  # shellcheck disable=SC2086
  b=$("$SWATH" -q catalog search --catalog "$work/incr.db" $q --all --limit 500 2>&1)
  [ "$a" = "$b" ] && [ -n "$a" ] || same=0
done
check "bulk-built and incrementally-built catalogs answer identically" eval "[ $same -eq 1 ]"

# --count-limit none: pages found by walking datetime in slices, not counted;
# the same items as the counted (one sorted statement) path
same=1
for q in "--bbox 0,40,20,60" "--bbox 170,-60,-170,80 --datetime 2020-01-01/.." \
  "--bbox -10,-10,10,10 --sortby datetime" "--bbox -60,-60,60,60 --datetime 2018-01-01/2018-02-01"; do
  # shellcheck disable=SC2086
  a=$("$SWATH" -q catalog search --catalog "$cat" $q --all --limit 37 2>/dev/null)
  # shellcheck disable=SC2086
  b=$("$SWATH" -q catalog search --catalog "$cat" $q --all --limit 37 --count-limit none 2>"$work/none.err")
  { [ "$a" = "$b" ] && [ -n "$a" ] && grep -q "not counted" "$work/none.err"; } || same=0
done
check "--count-limit none: the same items, in the same order, not counted" eval "[ $same -eq 1 ]"
"$SWATH" -q catalog search --catalog "$cat" --bbox 0,40,20,60 --json --count-limit none 2>/dev/null \
  >"$work/none.json"
check "--count-limit none --json: numberReturned, no numberMatched" eval \
  "$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d[\"numberReturned\"] == 10 and \"numberMatched\" not in d))' '$work/none.json'"
"$SWATH" -q catalog search --catalog "$cat" --count-limit some 2>"$work/cl.err"
rc=$?
check "--count-limit some: exit 2, one line" eval "[ $rc -eq 2 ] && [ \$(wc -l <'$work/cl.err') -eq 1 ]"

# STAC items with non-rectangular footprints, as NDJSON (one bad line)
$PY - "$work/tri.ndjson" <<'EOF'
import json, sys
def item(i, coords, t):
    return {"type": "Feature", "stac_version": "1.0.0", "id": f"tri-{i}", "collection": "tri",
            "geometry": {"type": "Polygon", "coordinates": [coords]},
            "properties": {"datetime": t, "eo:cloud_cover": 10.0 * i},
            "links": [], "assets": {"data": {"href": f"/nonexistent/tri-{i}.tif"}}}
with open(sys.argv[1], "w") as f:
    # a triangle over the lower-left half of the box 0..10 x 0..10
    f.write(json.dumps(item(1, [[0, 0], [10, 0], [0, 10], [0, 0]], "2021-03-01T10:00:00Z")) + "\n")
    f.write("{not json\n")
    f.write(json.dumps(item(2, [[20, 20], [30, 20], [30, 30], [20, 20]], "2021-03-02T10:00:00Z")) + "\n")
    f.write(json.dumps({"type": "Feature", "id": "no-geometry", "properties": {"datetime": "2021-01-01T00:00:00Z"}}) + "\n")
EOF
tri="$work/tri.db"
"$SWATH" -q catalog ingest "$work/tri.ndjson" --catalog "$tri" >"$work/tri.out" 2>"$work/tri.err"
check "NDJSON: 2 items in, 2 malformed lines reported" eval \
  "grep -q '4 records: 2 new, 0 updated, 2 malformed' '$work/tri.out' && grep -q 'tri.ndjson:2:' '$work/tri.err' && grep -q 'tri.ndjson:4:' '$work/tri.err'"
# (8,8) is inside tri-1's bbox but outside the triangle; (2,2) is inside it
echo '{"type":"Polygon","coordinates":[[[7,7],[9,7],[9,9],[7,9],[7,7]]]}' >"$work/miss.json"
out=$("$SWATH" -q catalog search --catalog "$tri" --collections tri --intersects "$work/miss.json" 2>/dev/null)
check "intersects is exact: bbox hit but footprint miss is not returned" eval "[ -z \"$out\" ]"
out=$("$SWATH" -q catalog search --catalog "$tri" --collections tri --intersects '{"type":"Point","coordinates":[2,2]}' 2>/dev/null | cut -f1)
check "intersects is exact: a point inside the triangle finds it" eval "[ \"$out\" = tri-1 ]"
out=$("$SWATH" -q catalog search --catalog "$tri" --collections tri --bbox 7,7,9,9 2>/dev/null)
check "bbox is tested against the footprint too" eval "[ -z \"$out\" ]"

# ---- server -------------------------------------------------------------------
# --count-limit 0: the oracle checks numberMatched on every page, however large
"$SWATH" serve --catalog "$cat" --port 0 --threads 2 --count-limit 0 2>"$work/serve.log" &
track_bg $!
port=$(serve_port "$work/serve.log")
[ -n "$port" ] || die "server started" "$(cat "$work/serve.log")"
pass "server started on port $port"
base="http://127.0.0.1:$port"

$PY "$(dirname "$0")/test_catalog_oracle.py" --swath "$SWATH" --catalog "$cat" \
  --csv "$work/index.csv" --base "$base" --queries 60 --seed 11 >"$work/oracle.out" 2>&1
rc=$?
grep FAIL "$work/oracle.out" | head -5
check "brute-force oracle: $(grep -c '^ok' "$work/oracle.out") checks of CLI, GET, POST, items pages" eval "[ $rc -eq 0 ]"

# the running server sees a second collection added by another process
"$SWATH" -q catalog ingest "$work/tri.ndjson" --catalog "$cat" >/dev/null 2>&1
POSTQ='{"intersects":{"type":"Polygon","coordinates":[[[7,7],[9,7],[9,9],[7,9],[7,7]]]},"collections":["tri"]}'
n=$(curl -s -X POST -d "$POSTQ" "$base/search" | $PY -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')
check "HTTP intersects is exact too" eval "[ '$n' = 0 ]"

# HTTP errors: status and a JSON body with code and description
status() { # METHOD URL [BODY] -> "status valid-json"
  local s
  s=$(curl -s -g -o "$work/resp" -w '%{http_code}' -X "$1" ${3:+-d "$3"} "$2")
  if $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"] and d["description"]' "$work/resp" 2>/dev/null; then
    echo "$s json"
  else echo "$s nojson"; fi
}
for case in \
  "400|GET|$base/search?datetime=2021-02-30|bad datetime" \
  "400|GET|$base/search?datetime=2021-05-01/2021-01-01|datetime ending before it starts" \
  "400|GET|$base/search?bbox=1,2,3|bbox with 3 values" \
  "400|GET|$base/search?bbox=1,2,3,4,5|bbox with 5 values" \
  "400|GET|$base/search?bbox=0,60,10,50|bbox with south > north" \
  "400|GET|$base/search?limit=-1|negative limit" \
  "400|GET|$base/search?limit=0|zero limit" \
  "400|GET|$base/search?limit=ten|non-numeric limit" \
  "400|GET|$base/search?bbox=0,0,1,1&intersects={\"type\":\"Point\",\"coordinates\":[0,0]}|bbox together with intersects" \
  "400|GET|$base/search?collections=nope|unknown collection" \
  "400|GET|$base/search?sortby=-color:foo|unknown sortby field" \
  "400|GET|$base/search?filter={\"op\":\"<\",\"args\":[{\"property\":\"eo:cloud_cover\"},\"x\"]}|filter comparing a number with a string" \
  "400|GET|$base/search?filter=cloud<5|filter that is not JSON" \
  "400|GET|$base/search?token=garbage|bad paging token" \
  "400|GET|$base/search?intersects={\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}|self-intersecting polygon" \
  "400|GET|$base/search?frobnicate=1|unknown parameter" \
  "400|POST|$base/search|POST body that is not JSON|{oops" \
  "400|POST|$base/search|POST bbox and intersects|{\"bbox\":[0,0,1,1],\"intersects\":{\"type\":\"Point\",\"coordinates\":[0,0]}}" \
  "400|POST|$base/search|POST limit as a string|{\"limit\":\"5\"}" \
  "404|GET|$base/collections/nope|unknown collection path" \
  "404|GET|$base/collections/nope/items|items of an unknown collection" \
  "404|GET|$base/collections/sentinel-2-l1c/items/nope|unknown item" \
  "404|GET|$base/no/such/path|unknown path" \
  "405|DELETE|$base/search|DELETE /search"; do
  IFS='|' read -r want method url what body <<<"$case"
  got=$(status "$method" "$url" "$body")
  check "HTTP $want with JSON error: $what (got $got)" eval "[ '$got' = '$want json' ]"
done
got=$(curl -s -o /dev/null -w '%{http_code}' "$base/search?limit=50000")
n=$(curl -s "$base/search?limit=50000" | $PY -c 'import json,sys; print(json.load(sys.stdin)["numberReturned"])')
check "limit above 10000 is clamped to 10000 (status $got, $n returned)" eval "[ $got = 200 ] && [ $n = 10000 ]"
n=$(curl -s "$base/search" | $PY -c 'import json,sys; print(json.load(sys.stdin)["numberReturned"])')
check "default limit is 10" eval "[ '$n' = 10 ]"

# STAC documents
$PY - "$base" "$work/index.csv" <<'EOF' >"$work/stac.out" 2>&1
import csv, json, sys, urllib.request, urllib.parse
base, path = sys.argv[1], sys.argv[2]
def get(p):
    with urllib.request.urlopen(base + p) as r:
        return r.headers.get("Content-Type"), json.load(r)
fails = 0
def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += not ok
_, land = get("/")
rels = {l["rel"] for l in land["links"]}
check(land["type"] == "Catalog" and land["stac_version"] == "1.0.0", "landing page is a STAC 1.0.0 Catalog")
check({"self", "root", "conformance", "data", "search", "service-desc", "child"} <= rels, f"landing links {sorted(rels)}")
check("https://api.stacspec.org/v1.0.0/item-search" in land["conformsTo"] and
      "https://api.stacspec.org/v1.0.0/core" in land["conformsTo"], "conformsTo lists core and item-search")
methods = {l.get("method") for l in land["links"] if l["rel"] == "search"}
check(methods == {"GET", "POST"}, "search links for GET and POST")
_, conf = get("/conformance")
check(conf["conformsTo"] == land["conformsTo"], "/conformance matches the landing page")
_, colls = get("/collections")
ids = sorted(c["id"] for c in colls["collections"])
check(ids == ["sentinel-2-l1c", "tri"], f"/collections lists {ids}")
_, c = get("/collections/sentinel-2-l1c")
check(c["type"] == "Collection" and c["extent"]["spatial"]["bbox"][0][0] == -180.0 and
      len(c["extent"]["temporal"]["interval"][0]) == 2 and c["license"], "collection with extent and license")
check(any(l["rel"] == "items" for l in c["links"]), "collection links to its items")
# one new-naming and one legacy granule from the CSV, checked field by field
rows = list(csv.DictReader(open(path)))
new = next(r for r in rows if r["GRANULE_ID"].startswith("L1C_"))
old = next(r for r in rows if "_OPER_" in r["GRANULE_ID"])
for r in (new, old):
    ct, it = get("/collections/sentinel-2-l1c/items/" + urllib.parse.quote(r["GRANULE_ID"]))
    check(ct == "application/geo+json", f"item content type {ct}")
    req = {"type", "stac_version", "id", "geometry", "bbox", "properties", "links", "assets", "collection"}
    check(req <= set(it) and it["type"] == "Feature" and it["stac_version"] == "1.0.0", "item has the STAC 1.0 fields")
    check(it["properties"]["datetime"].startswith(r["SENSING_TIME"][:19]) and
          abs(it["properties"]["eo:cloud_cover"] - float(r["CLOUD_COVER"])) < 1e-9, "item datetime and eo:cloud_cover")
    check(it["bbox"] == [float(r["WEST_LON"]), float(r["SOUTH_LAT"]), float(r["EAST_LON"]), float(r["NORTH_LAT"])], "item bbox")
    check({l["rel"] for l in it["links"]} >= {"self", "parent", "collection", "root"}, "item links")
    g, b, mg = r["GRANULE_ID"], r["BASE_URL"], r["MGRS_TILE"]
    if r is new:
        stamp = r["PRODUCT_ID"].split("_")[2]
        want = f"{b}/GRANULE/{g}/IMG_DATA/T{mg}_{stamp}_B04.jp2"
        check("TCI" in it["assets"] and it["properties"]["s2:legacy_naming"] is False, "new granule: TCI asset, not legacy")
        tci = f"{b}/GRANULE/{g}/IMG_DATA/T{mg}_{stamp}_TCI.jp2"
        check(it["assets"]["TCI"]["alternate"]["gs"]["href"] == tci, "TCI gs:// href from BASE_URL")
    else:
        want = f"{b}/GRANULE/{g}/IMG_DATA/{g.rsplit('_', 1)[0]}_B04.jp2"
        check("TCI" not in it["assets"] and it["properties"]["s2:legacy_naming"] is True, "legacy granule flagged, no TCI")
    a = it["assets"]["B04"]
    check(a["alternate"]["gs"]["href"] == want, f"B04 gs:// href {a['alternate']['gs']['href']}")
    check(a["href"] == want.replace("gs://", "https://storage.googleapis.com/"), "B04 https:// href")
    check(set(it["assets"]) >= {"B01", "B02", "B03", "B04", "B08", "B8A", "B12"}, "all 13 bands")
_, q = get("/queryables")
check("eo:cloud_cover" in q["properties"] and "color:red" in q["properties"], "/queryables")
sys.exit(1 if fails else 0)
EOF
rc=$?
cat "$work/stac.out"
check "STAC documents and Sentinel-2 assets" eval "[ $rc -eq 0 ]"

# ---- reads while another process writes -------------------------------------
$PY "$gen" "$work/more.csv" --rows 30000 --seed 9 --start 2025-01-01 --end 2025-06-30
"$SWATH" -q catalog ingest "$work/more.csv" --catalog "$cat" --collection more >"$work/more.out" 2>&1 &
ing=$!
errors=0 reads=0
while kill -0 "$ing" 2>/dev/null || [ $reads -lt 20 ]; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/search?bbox=-20,30,40,70&limit=20")
  [ "$code" = 200 ] || errors=$((errors + 1))
  reads=$((reads + 1))
  [ $reads -gt 5000 ] && break
done
wait "$ing"
ingrc=$?
check "concurrent ingest succeeded (incremental, WAL)" eval "[ $ingrc -eq 0 ] && grep -q '30000 new' '$work/more.out'"
check "$reads searches during the ingest, none failed" eval "[ $errors -eq 0 ]"
n=$(curl -s "$base/search?collections=more&limit=1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')
check "the server sees the newly ingested items without restarting" eval "[ '$n' = 30000 ]"

# serve --count-limit none: pages without numberMatched, the same items
"$SWATH" serve --catalog "$work/incr.db" --port 0 --threads 1 --count-limit none \
  2>"$work/serve_none.log" &
srv2=$!
track_bg $srv2
port2=$(serve_port "$work/serve_none.log")
curl -s "http://127.0.0.1:$port2/search?bbox=0,40,20,60&limit=5" >"$work/none_page.json"
kill "$srv2" 2>/dev/null
wait "$srv2" 2>/dev/null
want=$("$SWATH" -q catalog search --catalog "$work/incr.db" --bbox 0,40,20,60 --limit 5 2>/dev/null | cut -f1 | tr '\n' ' ')
got=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "numberMatched" not in d and d["numberReturned"] == 5; print(" ".join(f["id"] for f in d["features"]), end=" ")' "$work/none_page.json" 2>/dev/null)
check "serve --count-limit none: no numberMatched, the CLI's items" eval "[ -n '$port2' ] && [ '$got' = '$want' ]"


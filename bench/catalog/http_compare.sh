#!/usr/bin/env bash
# http_compare.sh SWATH CATALOG OUTDIR: start `swath serve` on CATALOG, fetch a
# fixed set of STAC API requests (searches with and without filters, paging
# through next links, items, collections, POST /search, errors) and store
# status, headers that matter and body of each under OUTDIR, so two builds
# can be compared byte for byte:
#   (a fixed port, PORT (18931), so links compare too)
#   bash bench/catalog/http_compare.sh /tmp/swath_old db /tmp/a
#   bash bench/catalog/http_compare.sh build/swath db /tmp/b && diff -r /tmp/a /tmp/b
set -euo pipefail
. "$(dirname "$0")/lib.sh"
swath=$1 db=$2 out=$3
mkdir -p "$out"
log=$(mktemp)
"$swath" serve --catalog "$db" --port "${PORT:-18931}" --threads 2 2>"$log" &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -f "$log"' EXIT
port=$(wait_port "$log")
base="http://127.0.0.1:$port"
n=0
fetch() { # fetch NAME [curl args...] URL
  local name=$1
  shift
  curl -s -D "$out/$name.hdr" -o "$out/$name.body" "$@"
  # keep status, content type and length; drop Date
  grep -iE '^(HTTP/|content-type|content-length|access-control)' "$out/$name.hdr" | tr -d '\r' >"$out/$name.h"
  rm -f "$out/$name.hdr"
  n=$((n + 1))
}
fetch landing "$base/"
fetch conformance "$base/conformance"
fetch api "$base/api"
fetch queryables "$base/queryables"
fetch collections "$base/collections"
coll=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collections"][0]["id"])' "$out/collections.body")
fetch collection "$base/collections/$coll"
fetch items "$base/collections/$coll/items?limit=10"
i=0
for q in "bbox=10,45,12,47" "bbox=10,45,12,47&datetime=2020-06-01/2020-06-28" \
  "bbox=-20,-10,-18,-8&datetime=2018-01-01/2018-01-28&limit=10" "bbox=179,-20,-179,-18&limit=25" \
  "bbox=5,5,15,15&datetime=2021-03-01/2021-03-28&filter-lang=cql2-json&filter=%7B%22op%22:%22%3C%3D%22,%22args%22:%5B%7B%22property%22:%22eo:cloud_cover%22%7D,30%5D%7D" \
  "bbox=12.3,55.1,12.3,55.1&limit=50" "bbox=0,0,10,10&limit=100&sortby=-eo:cloud_cover" \
  "datetime=2016-01-01/2016-12-31&limit=5" "bbox=-75,40,-73,42&datetime=../2017-01-01" \
  "bbox=1,2,3" "limit=-1" "datetime=bogus" "collections=nope"; do
  fetch "search$i" "$base/search?$q"
  # follow up to two next links
  for p in 1 2; do
    next=$(python3 -c 'import json,sys
try:
  d=json.load(open(sys.argv[1]))
  print(next((l["href"] for l in d.get("links",[]) if l.get("rel")=="next"),""))
except Exception: print("")' "$out/search$i.body")
    [ -z "$next" ] && break
    fetch "search${i}_p$p" "$next"
  done
  i=$((i + 1))
done
fetch post0 -H 'Content-Type: application/json' -d '{"bbox":[10,45,12,47],"limit":10}' "$base/search"
fetch post1 -H 'Content-Type: application/json' -d '{"intersects":{"type":"Point","coordinates":[12.3,55.1]},"datetime":"2019-01-01T00:00:00Z/..","limit":20}' "$base/search"
nextb=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(next((json.dumps(l["body"]) for l in d.get("links",[]) if l.get("rel")=="next"),""))' "$out/post0.body")
[ -n "$nextb" ] && fetch post0_p1 -H 'Content-Type: application/json' -d "$nextb" "$base/search"
fetch post_bad -H 'Content-Type: application/json' -d '{"bbox":[1,2' "$base/search"
fetch nope "$base/nope"
fetch method -X DELETE "$base/search"
item=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["features"][0]["id"])' "$out/items.body")
fetch item "$base/collections/$coll/items/$item"
fetch item404 "$base/collections/$coll/items/nope"
# last: HEAD (a double free before this fix killed the server)
fetch items_head -I "$base/collections/$coll/items?limit=3" || true
rm -f "$out/items_head.body" # headers again, with a Date
echo "$n responses in $out"

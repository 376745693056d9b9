#!/usr/bin/env bash
# test_wmts_rest.sh: a RESTful-only WMTS, and the run's fetch summary.
#
#  - MapCache's capabilities rewritten as a REST-only service publishes them
#    (no GetTile operation, or one whose encoding is RESTful only; the
#    layer's ResourceURL template points at MapCache's REST tiles, with a
#    {Time} dimension): tiles are asked for through the template and equal
#    the KVP job's; without a template the input is refused at start (one
#    line, exit 2), not tile by tile;
#  - the run summary's "fetch:" counts add up to its requests, requests that
#    joined a download already in flight included (a slow server makes the
#    compute stage join the fetch stage's downloads).
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

zurich_source 1024
AREA=$(inset_box 0.004 0.003 0.004 0.003)
job() { # job NAME INPUT-YAML
  cat >"$WORK/$1.yaml" <<JOB
process: convert
inputs:
  img: $2
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [15, 15]
area: {bounds: $AREA, crs: EPSG:4326}
cache: {path: $WORK/cache-$1}
output: {path: $WORK/out-$1, format: PNG, resampling: near, warp_error: 0}
JOB
}
servers_start_lighttpd "$DOC" || die "lighttpd starts"
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST
servers_wmts "$WORK/wms.map" ortho image/png
curl -s "$SERVERS_WMTS_CAPS" >"$WORK/caps.xml"

# REST only, two ways: "rest-noop" lists no GetTile operation at all (KVP at
# the capabilities URL would get the document itself back: "not an image:
# XML document"); "rest-enc" lists GetTile with the encoding RESTful only
# (its href, MapCache's KVP endpoint, must not be used). Both have the
# layer's ResourceURL template, with a {Time} dimension added as a query
# parameter (which MapCache ignores). "rest-notmpl": RESTful only, no
# template.
"$PY" - "$WORK/caps.xml" "$DOC" <<'PY' || die "REST-only documents written"
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'<ResourceURL format="image/png" resourceType="tile" template="([^"]+)"', t)
assert m and "{TileRow}" in m.group(1), "MapCache publishes a ResourceURL template"
t = t.replace(m.group(1), m.group(1) + "?time={Time}")
t = t.replace("<Format>image/png</Format>",
              "<Format>image/png</Format><Dimension><ows:Identifier>Time</ows:Identifier>"
              "<Default>2020</Default><Value>2020</Value></Dimension>", 1)
op = re.compile(r'<ows:Operation name="GetTile">.*?</ows:Operation>', re.S)
assert len(op.findall(t)) == 1
open(sys.argv[2] + "/rest-noop.xml", "w").write(op.sub("", t))
enc, n = re.subn(r'(<ows:Operation name="GetTile">.*?<ows:Value>)KVP(</ows:Value>)', r"\1RESTful\2", t, flags=re.S)
assert n == 1
open(sys.argv[2] + "/rest-enc.xml", "w").write(enc)
open(sys.argv[2] + "/rest-notmpl.xml", "w").write(re.sub(r"<ResourceURL [^>]*>(</ResourceURL>)?", "", enc))
PY

job kvp "{type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: ortho, tile_matrix_set: GoogleMapsCompatible}"
check_run "wmts kvp: run" 0 run "$WORK/kvp.yaml" --no-progress
for v in rest-noop rest-enc; do
  job $v "{type: wmts, capabilities: \"$SERVERS_URL/$v.xml\", layer: ortho, tile_matrix_set: GoogleMapsCompatible}"
  before=$(servers_hits)
  check_run "$v: run" 0 run "$WORK/$v.yaml" --no-progress
  tail -n +$((before + 1)) "$SERVERS_LOG" >"$WORK/$v.log"
  check "$v: tiles asked for through the template, the dimension filled" \
    grep -qE '"GET /cgi-bin/mapcache/wmts/1.0.0/ortho/default/GoogleMapsCompatible/15/[0-9]+/[0-9]+\.png\?time=2020 HTTP/1.1" 200' "$WORK/$v.log"
  check_eq "$v: no KVP GetTile" 0 "$(grep -c 'REQUEST=GetTile' "$WORK/$v.log")"
  check "$v: same tiles as the KVP job" same_tiles "$WORK/out-kvp" "$WORK/out-$v"
done
job notmpl "{type: wmts, capabilities: \"$SERVERS_URL/rest-notmpl.xml\", layer: ortho, tile_matrix_set: GoogleMapsCompatible}"
check_run "wmts REST only without a template: exit 2" 2 run "$WORK/notmpl.yaml" --no-progress
check "wmts REST only without a template: one line saying so" \
  test "$(wc -l <"$WORK/run.err")" -eq 1 -a -n "$(grep "offers GetTile only RESTful, and layer ortho has no ResourceURL template for image/png" "$WORK/run.err")"

# ---- the fetch summary adds up ------------------------------------------------
P=$(fault_server slow 120 --upstream "$SERVERS_URL" --delay-ms 300)

job slow "{type: wms, url: \"http://127.0.0.1:$P/cgi-bin/mapserv?map=$WORK/wms.map\", layers: ortho, format: image/png, crs: EPSG:3857, block_size: 256, max_connections: 4}"
check_run "slow server: cold run" 0 run "$WORK/slow.yaml" --no-progress
check_py "slow server: the fetch summary's parts add up to its requests" "$WORK/run.err" <<'PY'
import re, sys
line = [l for l in open(sys.argv[1]) if "fetch: " in l][0]
print(line.strip())
m = re.search(r"fetch: (\d+) requests \(([^)]*)\)", line)
total = int(m.group(1))
parts = {k: int(v) for v, k in re.findall(r"(\d+) ([a-z][a-z ]*?)(?:,|$)", m.group(2))}
joined = parts.get("joined a download in flight", 0)
print("total", total, "parts", parts)
sys.exit(0 if sum(parts.values()) == total and joined > 0 and parts.get("fetched", 0) > 0 else 1)
PY

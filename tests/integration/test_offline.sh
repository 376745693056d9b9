#!/usr/bin/env bash
# test_offline.sh: `offline: true` with a cache filled earlier, against a
# server that is gone, for XYZ, WMS (MapServer) and WMTS (MapCache) inputs.
#
#  - capabilities cached two days ago (older than capabilities_max_age) are
#    used offline, whatever their age; -v says how old they are;
#  - `swath run` and `swath prefetch` with offline: true make no request at
#    all (a fault server on the stopped server's port logs every attempt);
#    prefetch of a fully cached job reports it cached; of a job partly in
#    the cache, it lists what is missing (exit 1), without asking anyone;
#  - online, a layer missing from cached capabilities says that the list of
#    layers comes from a cached document, and how old it is.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

zurich_source 1024
# Area A inside the raster; area B = A and as much again to the east.
A=$(inset_box 0.004 0.003 0.025 0.003)
B=$(inset_box 0.004 0.003 0.004 0.003)
job() { # job NAME AREA INPUT-YAML
  cat >"$WORK/$1.yaml" <<JOB
process: convert
inputs:
  img: $3
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [15, 15]
area: {bounds: $2, crs: EPSG:4326}
cache: {path: $WORK/cache}
output: {path: $WORK/out-$1, format: PNG, resampling: near, warp_error: 0}
JOB
}
cat >"$WORK/tree.yaml" <<JOB
process: convert
inputs:
  img: $SRC
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [15, 15]
area: {bounds: $B, crs: EPSG:4326}
output: {path: $DOC/xyz, format: PNG, resampling: near}
JOB
check_run "local raster -> XYZ tree" 0 run "$WORK/tree.yaml" --no-progress
servers_start_lighttpd "$DOC" || die "lighttpd starts"
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST
servers_wmts "$WORK/wms.map" ortho image/png
PORT=$SERVERS_PORT
input() { # input TYPE [EXTRA-OPTIONS]
  case $1 in
  xyz) echo "{type: xyz, url: \"$SERVERS_URL/xyz/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404]${2:-}}" ;;
  wms) echo "{type: wms, url: \"$(servers_wms_url "$WORK/wms.map")\", layers: ortho, crs: EPSG:3857, block_size: 256${2:-}}" ;;
  wmts) echo "{type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: ortho, tile_matrix_set: GoogleMapsCompatible${2:-}}" ;;
  esac
}
for t in xyz wms wmts; do
  job "$t-a" "$A" "$(input $t)"
  check_run "$t: online prefetch of area A" 0 prefetch "$WORK/$t-a.yaml" --no-progress
done

# ---- a layer missing from cached capabilities ----------------------------------
touch -d '3 hours ago' "$WORK"/cache/capabilities/*.xml
for t in wms wmts; do
  job "$t-nope" "$A" "$(input $t | sed -e 's/layer: ortho/layer: nope/; s/layers: ortho/layers: nope/')"
  before=$(servers_hits)
  check_run "$t: a layer missing from the cached capabilities: exit 2" 2 run "$WORK/$t-nope.yaml" --no-progress
  check "$t: one line: the list comes from a cached document, 3 hours old" \
    test "$(wc -l <"$WORK/run.err")" -eq 1 -a -n "$(grep -E "no layer 'nope' \(layers: [^)]*ortho[^)]*\) \(from the cached capabilities document, 3\.0 hours old; delete .*/capabilities/[0-9a-f]{16}\.xml to ask the server again\)" "$WORK/run.err")"
  check_eq "$t: the cached document was used (no request)" 0 "$(($(servers_hits) - before))"
done

# ---- the server is gone ----------------------------------------------------------
touch -d '2 days ago' "$WORK"/cache/capabilities/*.xml
servers_stop
# Something on the old port that logs (and refuses, 503) every attempt.
fault_server gone 150 --root "$DOC" --port "$PORT" --fault down=1.0 >/dev/null
attempts() { if [ -s "$WORK/gone.log" ]; then wc -l <"$WORK/gone.log"; else echo 0; fi; }

for t in xyz wms wmts; do
  job "$t-off" "$A" "$(input $t ', offline: true')"
  check_run "$t offline, capabilities 2 days old: run" 0 -v run "$WORK/$t-off.yaml" --no-progress
  if [ $t != xyz ]; then
    check "$t offline: -v says the capabilities' age" \
      grep -qE "from the cache \(.*, 2\.0 days old, older than capabilities_max_age: offline, it is used anyway\)" "$WORK/run.err"
  fi
  check_run "$t offline: prefetch of the cached area" 0 prefetch "$WORK/$t-off.yaml" --no-progress
  check_py "$t offline: prefetch finds everything cached" "$WORK/run.err" <<'PY'
import re, sys
m = re.search(r"(\d+) requests: 0 fetched, (\d+) already cached, (\d+) empty, 0 failed, 0 aborted", open(sys.argv[1]).read())
sys.exit(0 if m and int(m.group(1)) == int(m.group(2)) + int(m.group(3)) > 0 else 1)
PY
  job "$t-offb" "$B" "$(input $t ', offline: true')"
  start=$(date +%s.%N)
  check_run "$t offline: prefetch of a larger area: exit 1" 1 prefetch "$WORK/$t-offb.yaml" --no-progress
  took=$(echo "$(date +%s.%N) - $start" | bc)
  FL=$WORK/out-$t-offb/.swath/prefetch-failed.txt
  check_py "$t offline: the missing requests are listed, the cached ones are not" "$WORK/run.err" "$FL" <<PY
import re, sys
err = open(sys.argv[1]).read()
m = re.search(r"(\d+) requests: 0 fetched, (\d+) already cached, (\d+) empty, (\d+) failed, 0 aborted; 0\.0 MB in 0 HTTP requests", err)
lines = open(sys.argv[2]).read().splitlines()
print("prefetch took $took s:", m.group(0) if m else err)
total, cached, empty, failed = map(int, m.groups())
ok = failed == len(lines) > 0 and cached > 0 and cached + empty + failed == total
ok = ok and all(l.endswith("not in the cache, and the input is offline") for l in lines)
sys.exit(0 if ok else 1)
PY
done

# A damaged cached tile, offline: prefetch says so (checked as a download
# would be); a run fails that task and drops the file (a run online fetches it).
victim=$(find "$WORK"/cache/xyz-* -name '*.png' | sort | sed -n 2p)
"$PY" -c 'import sys; p = sys.argv[1]; b = open(p, "rb").read(); open(p, "wb").write(b[: len(b) // 2])' "$victim"
check_run "xyz offline, a damaged cached tile: prefetch exit 1" 1 prefetch "$WORK/xyz-off.yaml" --no-progress
check "xyz offline, a damaged cached tile: prefetch lists it as damaged" \
  grep -q "$victim.*the cached file is damaged (PNG image does not decode.*), and the input is offline" \
  "$WORK/out-xyz-off/.swath/prefetch-failed.txt"
sed -e "s#out-xyz-off#out-xyz-off2#" "$WORK/xyz-off.yaml" >"$WORK/xyz-off2.yaml"
check_run "xyz offline, a damaged cached tile: the run fails its task" 1 run "$WORK/xyz-off2.yaml" --no-progress
check "xyz offline, a damaged cached tile: the reason says it was dropped" \
  grep -q "cached tile $victim does not decode: .*; dropped it from the cache (the input is offline" \
  "$WORK/out-xyz-off2/.swath/failed.txt"
check "xyz offline, a damaged cached tile: it is gone from the cache" test ! -e "$victim"

check_eq "offline runs and prefetches made no attempt at all" 0 "$(attempts)"

#!/usr/bin/env bash
# test_cache_heal.sh: damaged files in the tile cache (a cached XYZ tile and a
# cached WMS block cut in half, as a full disk or a copy gone wrong leaves
# them) heal instead of failing every later run.
#
#  - run: a cached tile that does not decode is fetched again, once (the
#    server sees one request for it), the run succeeds with the same tiles as
#    before, and stderr carries one warning line per file, not GDAL's raw
#    libpng messages; the next run asks for nothing;
#  - prefetch: what it counts as cached passes the checks a download gets,
#    so damaged files are fetched again (and said so), not reported cached;
#  - a file the server itself serves damaged stays a failure, with a reason
#    that says both what was wrong with the cached file and why fetching it
#    again failed; nothing damaged replaces anything.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

zurich_source 1024
AREA=$(inset_box 0.004 0.003 0.004 0.003)
job() { # job FILE OUT INPUT-YAML
  cat >"$1" <<JOB
process: convert
inputs:
  img: $3
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [15, 15]
area: {bounds: $AREA, crs: EPSG:4326}
cache: {path: $WORK/cache}
output: {path: $2, format: PNG, resampling: near, warp_error: 0}
JOB
}
job "$WORK/tree.yaml" "$DOC/xyz" "$SRC"
check_run "local raster -> XYZ tree" 0 run "$WORK/tree.yaml" --no-progress
servers_start_lighttpd "$DOC" || die "lighttpd starts"
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST

XYZ="{type: xyz, url: \"$SERVERS_URL/xyz/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404], max_attempts: 2}"
WMS="{type: wms, url: \"$(servers_wms_url "$WORK/wms.map")\", layers: ortho, format: image/png, crs: EPSG:3857, block_size: 256, max_attempts: 2}"

# cut FILE: keep the first half of a file (in place, not atomically: a
# damaged file is the point).
cut_half() { "$PY" -c 'import sys; p = sys.argv[1]; b = open(p, "rb").read(); open(p, "wb").write(b[: len(b) // 2])' "$1"; }
# decodes FILE: GDAL reads every pixel.
decodes() { "$PY" -c 'import sys; from osgeo import gdal; gdal.UseExceptions(); gdal.Open(sys.argv[1]).ReadAsArray()' "$1" 2>/dev/null; }
undecodable() { ! decodes "$1"; }
# quiet_stderr: every line of the last run's stderr is swath's own (none of GDAL's raw
# "ERROR 1: libpng: ..." lines).
quiet_stderr() { ! grep -v "^swath: " "$WORK/run.err"; }

for kind in xyz wms; do
  if [ $kind = xyz ]; then input=$XYZ; else input=$WMS; fi
  job "$WORK/$kind.yaml" "$WORK/out-$kind-1" "$input"
  check_run "$kind: first run fills the cache" 0 run "$WORK/$kind.yaml" --no-progress
  dir=$(dirname "$(grep -l "^type: $kind" "$WORK"/cache/*/source.txt)")
  victim=$(find "$dir" -name '*.png' | sort | sed -n 3p)
  [ -n "$victim" ] || die "$kind: a cached tile to damage"
  cut_half "$victim"
  check "$kind: the damaged cached tile does not decode" undecodable "$victim"

  sed -e "s#out-$kind-1#out-$kind-2#" "$WORK/$kind.yaml" >"$WORK/$kind-2.yaml"
  before=$(servers_hits)
  check_run "$kind: the next run succeeds" 0 run "$WORK/$kind-2.yaml" --no-progress
  check_eq "$kind: it fetched the damaged tile again, once (server hits)" 1 "$(($(servers_hits) - before))"
  check "$kind: one warning names the damaged file" test "$(grep -c "cached tile $victim does not decode.*fetching it again" "$WORK/run.err")" -eq 1
  check "$kind: no raw GDAL/libpng messages" quiet_stderr
  check "$kind: the cached tile decodes now" decodes "$victim"
  check "$kind: same tiles as the first run" same_tiles "$WORK/out-$kind-1" "$WORK/out-$kind-2"
  sed -e "s#out-$kind-1#out-$kind-3#" "$WORK/$kind.yaml" >"$WORK/$kind-3.yaml"
  before=$(servers_hits)
  check_run "$kind: a third run" 0 run "$WORK/$kind-3.yaml" --no-progress
  check_eq "$kind: the third run asks for nothing" 0 "$(($(servers_hits) - before))"

  # prefetch verifies what it counts as cached
  cut_half "$victim"
  total=$(find "$dir" -name '*.png' -o -name '*.png.empty' | wc -l)
  before=$(servers_hits)
  check_run "$kind: prefetch over a damaged cache" 0 prefetch "$WORK/$kind.yaml" --no-progress
  check_eq "$kind: prefetch fetched the damaged tile again, once" 1 "$(($(servers_hits) - before))"
  check "$kind: prefetch does not count it as cached" grep -q "1 fetched, $((total - 1)) already cached" "$WORK/run.err"
  check "$kind: prefetch says a cached file was damaged" grep -q "1 cached file(s) failed the checks" "$WORK/run.err"
  check "$kind: the cached tile decodes after prefetch" decodes "$victim"
  before=$(servers_hits)
  check_run "$kind: second prefetch" 0 prefetch "$WORK/$kind.yaml" --no-progress
  check "$kind: second prefetch: everything cached" grep -q "0 fetched, $total already cached" "$WORK/run.err"
  check_eq "$kind: second prefetch asks for nothing" 0 "$(($(servers_hits) - before))"
done

# The server's own file is damaged: fetching again cannot help. The run
# fails that task (exit 1) with both reasons; the cache keeps no new damage.
victim=$(find "$(dirname "$(grep -l "^type: xyz" "$WORK"/cache/*/source.txt)")" -name '*.png' | sort | sed -n 3p)
served=$DOC/xyz/${victim#*/xyz-127.0.0.1-*/}
check "the served file of the victim exists" test -f "$served"
cut_half "$served"
cut_half "$victim"
sum_before=$(md5sum <"$victim")
sed -e "s#out-xyz-1#out-xyz-4#" "$WORK/xyz.yaml" >"$WORK/xyz-4.yaml"
check_run "served damaged too: the run fails (exit 1)" 1 run "$WORK/xyz-4.yaml" --no-progress
check "served damaged too: the reason says both" \
  grep -q "cached tile $victim does not decode.*and fetching it again failed: .*does not decode" "$WORK/out-xyz-4/.swath/failed.txt"
check "served damaged too: no raw GDAL/libpng messages" quiet_stderr
check_eq "served damaged too: the cached file was not replaced by the bad body" "$sum_before" "$(md5sum <"$victim")"
check_run "served damaged too: prefetch fails (exit 1)" 1 prefetch "$WORK/xyz.yaml" --no-progress
check "served damaged too: prefetch lists the tile with the download's reason" \
  grep -q "does not decode" "$WORK/out-xyz-1/.swath/prefetch-failed.txt"

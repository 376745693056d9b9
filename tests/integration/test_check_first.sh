#!/usr/bin/env bash
# test_check_first.sh: a run or a prefetch with remote inputs writes nothing
# (no cache folder, no source.txt, no cached capabilities, no output folder,
# no state) until every check at start has passed (issue 16 point 13).
#
#  - an xyz input whose server cannot be reached (a port nothing listens
#    on): exit 2, one line, and neither the cache root nor the output folder
#    exists afterwards; where they existed, not one file in them changed;
#  - the second of two inputs unreachable, the first fine: the first's
#    cache folder is not made either;
#  - a WMTS whose capabilities are fetched and good, but whose layer is
#    wrong, or whose footprint the area misses: exit 2, no capabilities
#    document and no source folder in the cache;
#  - a good run afterwards asks for the capabilities once (the check's
#    document is written into the cache when the checks have passed, and
#    the workers read it there);
#  - `swath run --check` refuses each of these jobs as the run does, and
#    passes good ones (local and remote) writing nothing at all: no output
#    folder, no cache folder.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

SRC=$WORK/src.tif
gen_zurich "$SRC" 512
IFS=, read -r W S E N <<<"$(lonlat_bounds "$SRC")"
AREA="[$(echo "$W + 0.004" | bc -l), $(echo "$S + 0.003" | bc -l), $(echo "$E - 0.004" | bc -l), $(echo "$N - 0.003" | bc -l)]"
DEAD=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

DOC=$WORK/doc
mkdir -p "$DOC/xyz"
servers_start_lighttpd "$DOC" || die "lighttpd starts"
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST
SERVERS_WMTS_BBOX="$W $S $E $N" servers_wmts "$WORK/wms.map" ortho image/png

# job NAME AREA INPUTS-YAML...: $WORK/NAME.yaml, cache $WORK/cache-NAME,
# output $WORK/out-NAME.
job() {
  local name=$1 area=$2
  shift 2
  {
    echo "process: convert"
    echo "inputs:"
    printf '  %s\n' "$@"
    echo "grid: {name: WebMercatorQuad, metatiling: 1}"
    echo "zoom: 14"
    echo "area: {bounds: $area, crs: EPSG:4326}"
    echo "cache: {path: $WORK/cache-$name}"
    echo "output: {path: $WORK/out-$name, format: PNG}"
  } >"$WORK/$name.yaml"
}

# listing DIR...: every path under DIR with its type, size and mtime ("-" if absent).
listing() {
  local d
  for d in "$@"; do
    if [ -e "$d" ]; then find "$d" -printf '%p %y %s %T@\n' | sort; else echo "$d -"; fi
  done
}

# refused NAME CMD JOBNAME PATTERN: `swath CMD` on the job exits 2 with one
# line matching PATTERN, and its cache root and output folder are as before;
# so does `swath run --check` (CMD run).
refused() {
  local name=$1 cmd=$2 j=$3 pattern=$4
  refused_ "$@"
  [ "$cmd" = run ] && refused_ "$name (--check)" run "$j" "$pattern" --check
  return 0
}
refused_() {
  local name=$1 cmd=$2 j=$3 pattern=$4 before after
  shift 4
  before=$(listing "$WORK/cache-$j" "$WORK/out-$j")
  run_swath "$cmd" "$WORK/$j.yaml" --no-progress "$@"
  if [ "$RUN_RC" -eq 2 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] && grep -qE -- "$pattern" "$WORK/run.err"; then
    pass "$name: exit 2, one line /$pattern/"
    echo "    # $(cat "$WORK/run.err")"
  else
    fail "$name: exit 2, one line /$pattern/" "exit status $RUN_RC" "$(last_run_output)"
  fi
  after=$(listing "$WORK/cache-$j" "$WORK/out-$j")
  if [ "$before" == "$after" ]; then pass "$name: nothing written (cache root and output as before)"
  else fail "$name: nothing written (cache root and output as before)" "$(diff <(echo "$before") <(echo "$after"))"; fi
}

XYZ_DEAD="img: {type: xyz, url: \"http://127.0.0.1:$DEAD/{z}/{x}/{y}.png\", zoom: 14}"
UNREACH="cannot reach the server of http://127\.0\.0\.1:$DEAD/"

job dead "$AREA" "$XYZ_DEAD"
refused "run, unreachable xyz" run dead "input img: $UNREACH"
refused "prefetch, unreachable xyz" prefetch dead "input img: $UNREACH"
for d in "$WORK/cache-dead" "$WORK/out-dead"; do
  [ -e "$d" ] && fail "$(basename "$d") does not exist after the refused runs" "$(listing "$d")" ||
    pass "$(basename "$d") does not exist after the refused runs"
done

# Existing folders: a cache with another source's tiles, an output with a file.
mkdir -p "$WORK/cache-dead/xyz-other-0123456789abcdef/14/1/" "$WORK/out-dead"
echo tile >"$WORK/cache-dead/xyz-other-0123456789abcdef/14/1/2.png"
echo notes >"$WORK/out-dead/README"
refused "run, unreachable xyz, existing cache and output" run dead "input img: $UNREACH"
refused "prefetch, unreachable xyz, existing cache and output" prefetch dead "input img: $UNREACH"

# The first input is fine (its server answers), the second is not.
job two "$AREA" "ok: {type: xyz, url: \"$SERVERS_URL/xyz/{z}/{x}/{y}.png\", zoom: 14}" "$XYZ_DEAD"
refused "run, second input unreachable" run two "input img: $UNREACH"
refused "prefetch, second input unreachable" prefetch two "input img: $UNREACH"

WMTS="img: {type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: ortho, tile_matrix_set: GoogleMapsCompatible}"
job layer "$AREA" "img: {type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: nope, tile_matrix_set: GoogleMapsCompatible}"
refused "run, WMTS without that layer" run layer "input img: .*no layer 'nope'"
refused "prefetch, WMTS without that layer" prefetch layer "input img: .*no layer 'nope'"
job miss "[-60, -30, -59, -29]" "$WMTS"
refused "run, area outside the WMTS layer" run miss "area does not overlap the inputs"
refused "prefetch, area outside the WMTS layer" prefetch miss "area does not overlap the inputs"
job badout "$AREA" "$WMTS"
echo "a file" >"$WORK/afile"
sed -i "s|path: $WORK/out-badout|path: $WORK/afile/out|" "$WORK/badout.yaml"
refused "run, WMTS fine but the output cannot be made" run badout "output"

# --check passes good jobs and writes nothing, not even the output folder.
good_check() { # good_check NAME JOBNAME
  local before after
  before=$(listing "$WORK/cache-$2" "$WORK/out-$2")
  run_swath run "$WORK/$2.yaml" --check
  if [ "$RUN_RC" -eq 0 ] && grep -q "$2\.yaml: check passed: [0-9]* tasks at zooms 14-14 .*; nothing written" "$WORK/run.err"; then
    pass "$1: --check passes"
  else fail "$1: --check passes" "exit status $RUN_RC" "$(last_run_output)"; fi
  after=$(listing "$WORK/cache-$2" "$WORK/out-$2")
  if [ "$before" == "$after" ]; then pass "$1: --check wrote nothing"
  else fail "$1: --check wrote nothing" "$(diff <(echo "$before") <(echo "$after"))"; fi
}
job good "$AREA" "$WMTS"
good_check "WMTS job" good
job local "$AREA" "img: $SRC"
good_check "local job" local
# Tiles without state in the output folder: refused by --check as by the run.
mkdir -p "$WORK/out-local/14/1"
echo x >"$WORK/out-local/14/1/1.png"
refused "output holding tiles without state" run local "holds another job's tiles \(they have no swath state\)"
rm -rf "$WORK/out-local"

# A good run: the capabilities are asked for once, and then cached.
caps0=$(servers_hits 'WMTSCapabilities')
check_run "run, WMTS fine" 0 run "$WORK/good.yaml" --no-progress
check_eq "the run asked for the capabilities once" 1 "$(($(servers_hits 'WMTSCapabilities') - caps0))"
n=$(find "$WORK/cache-good/capabilities" -name '*.xml' 2>/dev/null | wc -l)
check_eq "the capabilities document is in the cache after the run" 1 "$n"
n=$(find "$WORK/cache-good" -name source.txt | wc -l)
check_eq "the source folder and its source.txt are in the cache after the run" 1 "$n"

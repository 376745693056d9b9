#!/usr/bin/env bash
# remote.sh SWATH: prefetching remote imagery, side by side, on loopback.
#
# One lighttpd (tests/integration/servers.sh) serves a MapServer WMS over a
# generated SIZExSIZE RGB GeoTIFF in EPSG:3857 (near Zurich, native
# resolution = the finest zoom's) and a static XYZ tree of the same raster.
# For the same area (the raster's extent), the same zooms and the same number
# of connections (CONN), each tool fetches every 256x256 WebMercatorQuad tile:
#
#   WMS source                              XYZ source (static files)
#   mapcache_seed  wms source, disk cache,   mapcache_seed -m transfer from a
#                  metatile 1x1, -n CONN     REST cache ({z}/{x}/{inv_y}) to a
#                                            disk cache, -n CONN (MapCache has
#                                            no XYZ *source*; its REST cache
#                                            is how it reads a tile server:
#                                            HEAD + GET per tile)
#   gdal_translate GDAL_WMS (WMS), finest    GDAL_WMS (TMS minidriver), finest
#                  zoom only, MaxConnections zoom only, MaxConnections CONN
#   swath prefetch job with a wms input      job with an xyz input
#
# The WMS is run as a production WMS would be: mapserv as FastCGI (resident
# processes, MAPSERV=cgi for one process per GetMap) over a tiled GeoTIFF with
# overviews. With METATILES="1 4" (the default) the WMS comparison runs twice:
# 256 px GetMaps for both (mapcache_seed metatile 1x1, swath block_size 256),
# then 1024 px GetMaps for both (metatile 4x4, block_size 1024): equal
# requests, so the server does the same work for each tool.
#
# and the same again with FAULT_SHARE of the requests answered with
# transient faults by tests/faultserver/faultserver.py in proxy mode in front
# of lighttpd (restarted for each tool, so every tool meets the same faults
# on the same requests and attempts).
#
# Printed per run: tiles present (decodable) / expected, server requests,
# wall s, tiles/s, client CPU s (user+sys of the tool, not the servers),
# peak RSS MB, exit status; then swath/mapcache_seed ratios. The servers run
# on the same cores as the clients. Tiles are 256 px WebMercatorQuad tiles of
# the expected list present in the tool's cache and decodable; swath's WMS
# cache holds request-grid blocks, each counted as the tiles it covers.
#
# Environment: CONN (8), ZOOMS (12-15), SIZE (8192), FAULT_SHARE (0.10),
# FAULTS (explicit faultserver --fault list, overrides FAULT_SHARE), SEED (1),
# GDAL_RETRY (3: GDAL_HTTP_MAX_RETRY for gdal_translate; GDAL's default is 0),
# BENCH_WORK (bench/work), SKIP_FAULTS=1, SOURCES ("wms xyz": which to run),
# METATILES ("1 4"), MAPSERV (fastcgi | cgi), KEEP_WORK=1 (keep the servers'
# folder).
set -uo pipefail
swath=$(realpath "${1:-build/swath}" 2>/dev/null || echo "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PY=/usr/bin/python3
FS=$here/../tests/faultserver/faultserver.py
export GDAL_PAM_ENABLED=NO CPL_LOG_ERRORS=OFF
work=${BENCH_WORK:-$here/work}/remote
mkdir -p "$work"
CONN=${CONN:-8}
ZOOMS=${ZOOMS:-12-15}
ZMIN=${ZOOMS%-*} ZMAX=${ZOOMS#*-}
SIZE=${SIZE:-8192}
SEED=${SEED:-1}
FAULT_SHARE=${FAULT_SHARE:-0.10}
GDAL_RETRY=${GDAL_RETRY:-3}
METATILES=${METATILES:-1 4}
MAPSERV=${MAPSERV:-fastcgi}
case "$MAPSERV" in
fastcgi) export SERVERS_MAPSERV_FASTCGI=$((2 * $(nproc))) ;;
cgi) export SERVERS_MAPSERV_FASTCGI=0 ;;
*) echo "bench: MAPSERV must be fastcgi or cgi, not $MAPSERV" >&2; exit 2 ;;
esac

FS_PID=
cleanup() {
  if [ -n "$FS_PID" ]; then kill "$FS_PID" 2>/dev/null; wait "$FS_PID" 2>/dev/null; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$here/../tests/integration/servers.sh"

# ---- source raster, area, expected tiles ------------------------------------
# Native resolution of the finest zoom; centre not on a tile corner.
RES=$("$PY" -c "print(2 * 20037508.342789244 / 256 / 2 ** $ZMAX)")
# Tiled, with overviews (2-16), as a WMS source raster is in production.
src=$work/rgb_${SIZE}_z${ZMAX}_ovr.tif
[ -f "$src" ] || { "$PY" "$here/../tests/data/gen_raster.py" rgb "$src" --size "$SIZE" \
  --crs EPSG:3857 --center 950668.45,6002677.99 --res "$RES" >/dev/null &&
  gdaladdo -q -r average "$src" 2 4 8 16; } ||
  { rm -f "$src"; echo "bench: cannot generate $src" >&2; exit 1; }
read -r AX0 AY0 AX1 AY1 <<<"$("$PY" - "$src" <<'EOF'
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
gt = ds.GetGeoTransform()
print("%.3f %.3f %.3f %.3f" % (gt[0], gt[3] + ds.RasterYSize * gt[5], gt[0] + ds.RasterXSize * gt[1], gt[3]))
EOF
)"
# expected.txt: z x y (XYZ rows) of every tile whose interior meets the area.
"$PY" - "$AX0" "$AY0" "$AX1" "$AY1" "$ZMIN" "$ZMAX" >"$work/expected.txt" <<'EOF'
import math, sys
x0, y0, x1, y1 = map(float, sys.argv[1:5])
M = 20037508.342789244
for z in range(int(sys.argv[5]), int(sys.argv[6]) + 1):
    size = 2 * M / 2 ** z
    for x in range(math.floor((x0 + M) / size), math.ceil((x1 + M) / size)):
        for y in range(math.floor((M - y1) / size), math.ceil((M - y0) / size)):
            print(z, x, y)
EOF
EXPECTED=$(wc -l <"$work/expected.txt")

bench_machine
echo "source: $src (${SIZE}x$SIZE RGB, EPSG:3857, $RES m, overviews), zooms $ZOOMS, $EXPECTED tiles, $CONN connections"
echo "mapserv: $MAPSERV$([ "$MAPSERV" = fastcgi ] && echo " ($SERVERS_MAPSERV_FASTCGI processes)")"

# ---- servers ----------------------------------------------------------------
doc=$work/doc
mkdir -p "$doc"
servers_start_lighttpd "$doc" || exit 1
servers_mapfile "$work/ortho.map" "$src" ortho || exit 1
WMS=$(servers_wms_url "$work/ortho.map")

# The XYZ tree: swath run (convert) when it works, else gdal2tiles.
if [ ! -f "$doc/xyz/.done_${SIZE}_$ZOOMS" ]; then
  rm -rf "$doc/xyz"
  cat >"$work/xyz-job.yaml" <<YAML
process: convert
inputs: {image: $src}
grid: {name: WebMercatorQuad}
zoom: [$ZMIN, $ZMAX]
output: {path: $doc/xyz, format: PNG}
YAML
  if [ -x "$swath" ] && "$swath" run "$work/xyz-job.yaml" --no-progress >"$work/xyz-run.log" 2>&1; then
    echo "xyz tree: made by swath run"
  else
    rm -rf "$doc/xyz"
    echo "xyz tree: swath run failed ($(tail -n 1 "$work/xyz-run.log" 2>/dev/null)); using gdal2tiles.py"
    gdal2tiles.py --xyz -q -z "$ZOOMS" -w none --processes="$(nproc)" "$src" "$doc/xyz" >/dev/null 2>&1 ||
      { echo "bench: gdal2tiles failed" >&2; exit 1; }
  fi
  touch "$doc/xyz/.done_${SIZE}_$ZOOMS"
fi
(cd "$doc/xyz" && find . -name '*.png' | sed -e 's|^\./||' -e 's|\.png$||' | tr '/' ' ' |
  awk -v a="$ZMIN" -v b="$ZMAX" '$1 >= a && $1 <= b' | sort) >"$work/expected-xyz.txt"
EXPECTED_XYZ=$(wc -l <"$work/expected-xyz.txt")
XYZ_PATH=/xyz

# ---- helpers -------------------------------------------------------------------
# measure_rc CMD...: like lib.sh's measure, but a failing command is a result,
# not an error: sets WALL CPU RSS_MB RC; stdout+stderr in $work/last.log.
measure_rc() {
  local tlog=$work/time.txt
  /usr/bin/time -f '%e %U %S %M' -o "$tlog" "$@" >"$work/last.log" 2>&1
  RC=$?
  local user sys rss_kb
  # (GNU time puts "Command exited with non-zero status N" first when it fails.)
  read -r WALL user sys rss_kb <<<"$(tail -n 1 "$tlog" 2>/dev/null)"
  case "$WALL" in [0-9]*) ;; *) WALL=0 user=0 sys=0 rss_kb=0 ;; esac
  CPU=$(echo "$user + $sys" | bc)
  RSS_MB=$((rss_kb / 1024))
}

# start_faults: a fresh fault proxy in front of lighttpd; sets FSURL.
start_faults() {
  cleanup
  rm -f "$work/fs.ports"
  local f faults=()
  if [ -n "${FAULTS:-}" ]; then
    for f in $FAULTS; do faults+=(--fault "$f"); done
  else
    # Transient kinds only: every tile can be had with retries.
    local s=$FAULT_SHARE
    faults=(--fault "503=$(echo "$s * 0.3" | bc -l)" --fault "429=$(echo "$s * 0.2" | bc -l)"
      --fault "reset=$(echo "$s * 0.2" | bc -l)" --fault "truncate=$(echo "$s * 0.2" | bc -l)"
      --fault "corrupt=$(echo "$s * 0.1" | bc -l)")
  fi
  "$PY" "$FS" serve --upstream "$SERVERS_URL" --port-file "$work/fs.ports" --log "$work/fs.log" \
    --seed "$SEED" --repeat 2 --retry-after 1 --max-seconds 3600 "${faults[@]}" >"$work/fs.out" 2>&1 &
  FS_PID=$!
  local i
  for i in $(seq 200); do [ -s "$work/fs.ports" ] && break; sleep 0.05; done
  FSURL=http://127.0.0.1:$(cut -d' ' -f2 "$work/fs.ports")
  : >"$work/fs.log"
}

# count_tiles KIND DIR EXPECTED_FILE [BLOCK_TILES]: "present bad mpx" where
# present counts the expected tiles found in DIR that decode fully, bad the
# images found but corrupt, mpx the megapixels of the present tiles. For
# swath, an image at z/x/y of its cache covers the BLOCK_TILES x BLOCK_TILES
# tiles below it (WMS block_size / 256; 1 for XYZ), at zoom z + log2 of it.
count_tiles() {
  "$PY" - "$@" <<'EOF'
import os, sys
from osgeo import gdal
gdal.UseExceptions()
kind, root, exp = sys.argv[1:4]
m = int(sys.argv[4]) if len(sys.argv) > 4 else 1
k = m.bit_length() - 1
want = {tuple(map(int, l.split())) for l in open(exp)}
found = {}
for d, _, names in os.walk(root):
    for n in names:
        if ".tmp" in n or n.endswith(".empty") or n.endswith(".txt") or n.endswith(".json") \
                or n.endswith(".yaml") or n.endswith(".xml"):
            continue
        p = os.path.join(d, n)
        parts = os.path.relpath(p, root).split(os.sep)
        stem = parts[-1].split(".")[0]
        try:
            if kind == "mapcache":  # GRID/z/xxx/xxx/xxx/yyy/yyy/yyy.png, y from the bottom
                z = int(parts[-7])
                x = int("".join(parts[-6:-3]))
                y = (1 << z) - 1 - int("".join(parts[-3:-1]) + stem)
            else:  # .../z/x/y.ext
                z, x, y = int(parts[-3]), int(parts[-2]), int(stem)
        except (ValueError, IndexError):
            continue
        found[(z, x, y)] = p
ok = bad = px = 0
if kind == "swath":
    covered = set()
    for (z, x, y), p in found.items():
        try:
            gdal.Open(p).ReadRaster()
        except Exception:
            bad += 1
            continue
        covered.update((z + k, x * m + i, y * m + j) for i in range(m) for j in range(m))
    ok = len(want & covered)
    px = ok * 65536
else:
    for t in want:
        if t in found:
            try:
                ds = gdal.Open(found[t])
                ds.ReadRaster()
                ok += 1
                px += ds.RasterXSize * ds.RasterYSize
            except Exception:
                bad += 1
print(ok, bad, "%.2f" % (px / 1e6))
EOF
}

ROWS=()
SCENARIOS=
# row SCENARIO TOOL PRESENT EXPECTED REQUESTS NOTE (MPX: megapixels present)
row() {
  local rate mrate
  rate=$(echo "scale=1; $3 / ($WALL + 0.001)" | bc)
  mrate=$(echo "scale=2; $MPX / ($WALL + 0.001)" | bc)
  ROWS+=("$(printf '%-10s %-15s %6s/%-6s %5.1f%% %7s %8s %7s %7s %6s %6s %3s  %s' \
    "$1" "$2" "$3" "$4" "$(echo "100 * $3 / $4" | bc -l)" "$WALL" "$rate" "$mrate" "$CPU" "$RSS_MB" "$5" "$RC" "${6:-}")")
  eval "RATE_${1//[^a-z0-9]/_}_${2//[^a-z]/_}=$rate"
  eval "MRATE_${1//[^a-z0-9]/_}_${2//[^a-z]/_}=$mrate"
  case " $SCENARIOS " in *" $1 "*) ;; *) SCENARIOS="$SCENARIOS $1" ;; esac
  echo "${ROWS[-1]}"
}
HEADER=$(printf '%-10s %-15s %13s %6s %7s %8s %7s %7s %6s %6s %3s  %s' \
  scenario tool tiles/expected '%' wall_s tiles/s Mpx/s cpu_s rss_MB reqs rc note)

# swath_row SCENARIO OUT EXPECTED REQUESTS: swath plans its own requests (WMS:
# its request grid; XYZ: the source tiles the job's finest zoom reads, with a
# halo); its tiles are the expected ones its cached images cover.
swath_row() {
  local failed=0 f=$2/out/.swath/prefetch-failed.txt
  [ -f "$f" ] && failed=$(grep -c . "$f")
  row "$1" "swath prefetch" "$ok" "$3" "$4" \
    "own request plan$([ "$failed" -gt 0 ] && echo "; $failed failed")$([ "$bad" -gt 0 ] && echo "; $bad corrupt")$([ "$RC" = 0 ] || echo "; $(tail -n 1 "$work/last.log" | cut -c1-90)")"
}

# gdal_wms OUT SERVICE_XML [EXTRA_XML]: a GDAL_WMS description of the
# WebMercatorQuad pyramid down to ZMAX, 256 px blocks, CONN connections.
gdal_wms() {
  cat >"$1" <<EOF
<GDAL_WMS>
  $2
  <DataWindow>
    <UpperLeftX>-20037508.342789244</UpperLeftX><UpperLeftY>20037508.342789244</UpperLeftY>
    <LowerRightX>20037508.342789244</LowerRightX><LowerRightY>-20037508.342789244</LowerRightY>
    <TileLevel>$ZMAX</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY>
    <YOrigin>top</YOrigin>
  </DataWindow>
  <Projection>EPSG:3857</Projection>
  <BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
  <BandsCount>4</BandsCount>
  <MaxConnections>$CONN</MaxConnections>
  ${3:-}
</GDAL_WMS>
EOF
}

# gdal_row SCENARIO XML EXPECTED_FILE HITS_ERE: gdal_translate of the area at
# the finest zoom (GDAL retries 429/502/503/504 only when asked:
# GDAL_HTTP_MAX_RETRY, here GDAL_RETRY=3); its tiles are the finest zoom's.
gdal_row() {
  local before exp_top n_top
  before=$(servers_hits "$4")
  measure_rc gdal_translate -q --config GDAL_HTTP_MAX_RETRY "$GDAL_RETRY" --config GDAL_HTTP_RETRY_DELAY 0.5 \
    -projwin "$AX0" "$AY1" "$AX1" "$AY0" -co TILED=YES "$2" "$(dirname "$2")/out.tif"
  exp_top=$(grep -c "^$ZMAX " "$3")
  n_top=$exp_top
  [ "$RC" = 0 ] || n_top=0
  MPX=$(echo "$n_top * 65536 / 1000000" | bc -l)
  row "$1" gdal_translate "$n_top" "$exp_top" "$(server_requests "$4" "$before")" \
    "zoom $ZMAX only$([ "$RC" = 0 ] || echo "; failed: $(grep -m1 -i error "$work/last.log" | cut -c1-80)")"
}

# swath_job OUT INPUT: OUT/job.yaml over the area at every zoom with one input
# (every zoom read from the service, no overviews: the tile set the other
# tools fetch), cache in OUT/cache.
swath_job() {
  cat >"$1/job.yaml" <<EOF
process: convert
inputs:
  img: $2
grid: {name: WebMercatorQuad}
zoom: [$ZMIN, $ZMAX]
area: {bounds: [$AX0, $AY0, $AX1, $AY1], crs: EPSG:3857}
output: {path: $1/out, format: PNG, overviews: false, resampling: near}
cache: {path: $1/cache}
EOF
}

# swath_prefetch_row SCENARIO OUT EXPECTED_FILE HITS_ERE [BLOCK_TILES]: swath
# prefetch of OUT/job.yaml, then its row.
swath_prefetch_row() {
  local before
  before=$(servers_hits "$4")
  measure_rc "$swath" prefetch "$2/job.yaml" --no-progress
  read -r ok bad MPX <<<"$(count_tiles swath "$2/cache" "$3" "${5:-1}")"
  swath_row "$1" "$2" "$(wc -l <"$3")" "$(server_requests "$4" "$before")"
}

SWATH_OK=1
if [ ! -x "$swath" ]; then
  SWATH_OK=0
  SWATH_WHY="no swath binary at $swath"
else
  "$swath" prefetch --help >"$work/prefetch-help.txt" 2>&1
  if grep -qi "unknown command" "$work/prefetch-help.txt"; then
    SWATH_OK=0
    SWATH_WHY="swath prefetch is not implemented yet ($(head -n 1 "$work/prefetch-help.txt"))"
  fi
fi
[ "$SWATH_OK" = 1 ] || echo "NOTE: $SWATH_WHY; swath rows are skipped"

# server_requests PATTERN BEFORE: requests seen since BEFORE (lighttpd's log;
# under faults, the fault proxy's log, which also sees the faulted attempts).
server_requests() {
  if [ "${FAULTY:-0}" = 1 ]; then wc -l <"$work/fs.log"; else echo $(($(servers_hits "$1") - $2)); fi
}

# ---- WMS ----------------------------------------------------------------------------
run_wms() { # SCENARIO BASEURL [METATILE]
  local sc=$1 base=$2 wms=${WMS/$SERVERS_URL/$2} meta=${3:-1} before out
  # (a) mapcache_seed
  out=$work/$sc-mapcache
  rm -rf "$out"
  mkdir -p "$out/cache" "$out/locks"
  cat >"$out/mapcache.xml" <<EOF
<mapcache>
  <source name="wms" type="wms">
    <getmap><params><FORMAT>image/png</FORMAT><LAYERS>ortho</LAYERS><TRANSPARENT>TRUE</TRANSPARENT></params></getmap>
    <http><url>$wms</url><connection_timeout>10</connection_timeout><timeout>60</timeout></http>
  </source>
  <cache name="disk" type="disk"><base>$out/cache</base></cache>
  <tileset name="ortho">
    <source>wms</source><cache>disk</cache><grid>GoogleMapsCompatible</grid><format>PNG</format>
    <metatile>$meta $meta</metatile><metabuffer>0</metabuffer>
  </tileset>
  <service type="wmts" enabled="true"/>
  <locker type="disk"><directory>$out/locks</directory></locker>
  <log_level>warn</log_level>
</mapcache>
EOF
  [ "${FAULTY:-0}" = 1 ] && start_faults && wms=${WMS/$SERVERS_URL/$FSURL} &&
    sed -i "s#<url>[^<]*</url>#<url>$wms</url>#" "$out/mapcache.xml"
  before=$(servers_hits cgi-bin/mapserv)
  measure_rc mapcache_seed -c "$out/mapcache.xml" -t ortho -g GoogleMapsCompatible -z "$ZMIN,$ZMAX" \
    -e "$AX0,$AY0,$AX1,$AY1" -M "$meta,$meta" -n "$CONN" -P 100 -q -L "$out/failed.txt"
  read -r ok bad MPX <<<"$(count_tiles mapcache "$out/cache" "$work/expected.txt")"
  row "$sc" mapcache_seed "$ok" "$EXPECTED" "$(server_requests cgi-bin/mapserv "$before")" \
    "metatile ${meta}x$meta$([ "$bad" -gt 0 ] && echo "; $bad corrupt tiles cached")"

  # (b) GDAL WMS driver, finest zoom, 256 px blocks only (GDAL retries
  # 429/502/503/504 only when asked: GDAL_HTTP_MAX_RETRY, here GDAL_RETRY=3)
  if [ "$meta" = 1 ]; then
    out=$work/$sc-gdal
    rm -rf "$out"
    mkdir -p "$out"
    [ "${FAULTY:-0}" = 1 ] && start_faults && wms=${WMS/$SERVERS_URL/$FSURL}
    gdal_wms "$out/wms.xml" "<Service name=\"WMS\"><Version>1.3.0</Version><ServerUrl>${wms//&/&amp;}&amp;</ServerUrl>
    <CRS>EPSG:3857</CRS><ImageFormat>image/png</ImageFormat><Layers>ortho</Layers><Transparent>TRUE</Transparent></Service>"
    gdal_row "$sc" "$out/wms.xml" "$work/expected.txt" cgi-bin/mapserv
  fi

  # (c) swath prefetch
  if [ "$SWATH_OK" = 1 ]; then
    out=$work/$sc-swath
    rm -rf "$out"
    mkdir -p "$out"
    [ "${FAULTY:-0}" = 1 ] && start_faults && wms=${WMS/$SERVERS_URL/$FSURL}
    swath_job "$out" "{type: wms, url: \"$wms\", layers: ortho, format: image/png, crs: EPSG:3857, version: 1.3.0, block_size: $((256 * meta)), max_connections: $CONN}"
    swath_prefetch_row "$sc" "$out" "$work/expected.txt" cgi-bin/mapserv "$meta"
  fi
}

# ---- XYZ ----------------------------------------------------------------------------
run_xyz() { # SCENARIO
  local sc=$1 base=$SERVERS_URL before out
  [ "${FAULTY:-0}" = 1 ] && start_faults && base=$FSURL
  out=$work/$sc-mapcache
  rm -rf "$out"
  mkdir -p "$out/cache" "$out/locks"
  cat >"$out/mapcache.xml" <<EOF
<mapcache>
  <cache name="remote" type="rest"><url>$base$XYZ_PATH/{z}/{x}/{inv_y}.png</url></cache>
  <cache name="disk" type="disk"><base>$out/cache</base></cache>
  <tileset name="remote"><cache>remote</cache><grid>GoogleMapsCompatible</grid><format>PNG</format></tileset>
  <tileset name="local"><cache>disk</cache><grid>GoogleMapsCompatible</grid><format>PNG</format></tileset>
  <service type="wmts" enabled="true"/>
  <locker type="disk"><directory>$out/locks</directory></locker>
  <log_level>warn</log_level>
</mapcache>
EOF
  before=$(servers_hits "$XYZ_PATH/")
  measure_rc mapcache_seed -c "$out/mapcache.xml" -t remote -x local -m transfer -g GoogleMapsCompatible \
    -z "$ZMIN,$ZMAX" -e "$AX0,$AY0,$AX1,$AY1" -n "$CONN" -P 100 -q
  read -r ok bad MPX <<<"$(count_tiles mapcache "$out/cache" "$work/expected-xyz.txt")"
  row "$sc" mapcache_seed "$ok" "$EXPECTED_XYZ" "$(server_requests "$XYZ_PATH/" "$before")" \
    "transfer from REST cache (HEAD+GET)$([ "$bad" -gt 0 ] && echo "; $bad corrupt tiles cached")"

  out=$work/$sc-gdal
  rm -rf "$out"
  mkdir -p "$out"
  [ "${FAULTY:-0}" = 1 ] && start_faults && base=$FSURL
  gdal_wms "$out/tms.xml" "<Service name=\"TMS\"><ServerUrl>$base$XYZ_PATH/\${z}/\${x}/\${y}.png</ServerUrl></Service>" \
    "<ZeroBlockHttpCodes>204,404</ZeroBlockHttpCodes>"
  gdal_row "$sc" "$out/tms.xml" "$work/expected-xyz.txt" "$XYZ_PATH/"

  if [ "$SWATH_OK" = 1 ]; then
    out=$work/$sc-swath
    rm -rf "$out"
    mkdir -p "$out"
    [ "${FAULTY:-0}" = 1 ] && start_faults && base=$FSURL
    swath_job "$out" "{type: xyz, url: \"$base$XYZ_PATH/{z}/{x}/{y}.png\", max_connections: $CONN, empty_status: [204, 404]}"
    swath_prefetch_row "$sc" "$out" "$work/expected-xyz.txt" "$XYZ_PATH/"
  fi
}

echo
echo "$HEADER"
want() { case " ${SOURCES:-wms xyz} " in *" $1 "*) return 0 ;; esac; return 1; }
for m in $METATILES; do
  case "$m" in 1 | 2 | 4 | 8) ;; *) echo "bench: METATILES: $m is not 1, 2, 4 or 8" >&2; exit 2 ;; esac
  if [ "$m" = 1 ]; then want wms && FAULTY=0 run_wms wms "$SERVERS_URL" 1; else want wms && FAULTY=0 run_wms "wms-m$m" "$SERVERS_URL" "$m"; fi
done
want xyz && FAULTY=0 run_xyz xyz
if [ "${SKIP_FAULTS:-0}" != 1 ]; then
  echo "# faults: ${FAULTS:-$FAULT_SHARE of requests, transient kinds (503 30%, 429+Retry-After 20%, reset 20%, truncate 20%, corrupt 10%)}, seed $SEED"
  want wms && FAULTY=1 run_wms wms-faults "$SERVERS_URL"
  want xyz && FAULTY=1 run_xyz xyz-faults
fi

echo
echo "=== summary ($CONN connections, zooms $ZOOMS; tiles/s = decodable tiles present / wall s)"
echo "$HEADER"
printf '%s\n' "${ROWS[@]}"
if [ "$SWATH_OK" = 1 ]; then
  for sc in $SCENARIOS; do
    sc=${sc//[^a-z0-9]/_}
    s=$(eval echo "\${RATE_${sc}_swath_prefetch:-}") m=$(eval echo "\${RATE_${sc}_mapcache_seed:-}")
    [ -n "$s" ] && [ -n "$m" ] && [ "$(echo "$m > 0" | bc)" = 1 ] &&
      echo "ratio $sc (swath prefetch over mapcache_seed): tiles/s $(ratio "$s" "$m")," \
        "Mpx/s $(ratio "$(eval echo "\${MRATE_${sc}_swath_prefetch}")" "$(eval echo "\${MRATE_${sc}_mapcache_seed}")")"
  done
else
  echo "ratios: none ($SWATH_WHY)"
fi
exit 0

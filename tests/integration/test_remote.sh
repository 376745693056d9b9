#!/usr/bin/env bash
# test_remote.sh: remote inputs (xyz, wms, wmts) against real servers on
# loopback (tests/integration/servers.sh: lighttpd, MapServer, MapCache) and
# the fault server.
#
#  - XYZ: lighttpd serves a tile tree swath produced from a local raster; the
#    same job over the XYZ source gives the same tiles as over the raster;
#    `prefetch` then `run` downloads each tile once (server hits counted),
#    a cold `run` too (fetch stage and compute stage share one download);
#    {-y} (TMS rows) and {s} (subdomains) templates address the same tiles;
#  - WMS 1.3.0 (EPSG:3857 and EPSG:4326 with its lat/lon axis order) and
#    1.1.1 from MapServer over the same raster: tiles match the local job;
#    requests lie on a fixed grid (a second job over an overlapping area
#    reuses the cache: no new hits);
#  - WMS in image/jpeg: close to the local job (lossy);
#  - WMTS from MapCache: layer, format and matrix set from the capabilities;
#  - faults: 10% transient faults of every kind through the fault server in
#    proxy mode end complete; cut-short JPEG and capabilities bodies from
#    the WMS are retried, never cached; permanent faults (HTML page,
#    exception with 200) end as listed failures with exit 1, nothing corrupt
#    is cached, and --retry-failed replays only the list;
#  - HTTPS with a certificate trusted through ca_file: HTTP/2 negotiated,
#    requests multiplexed over at most max_connections connections; without
#    ca_file the certificate is refused (exit 2);
#  - bad input: unreachable host, invalid URL template, WMTS layer or matrix
#    set absent, WMS without the CRS: one line each, exit 2.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

zurich_source 2048
BOUNDS=$(lonlat_bounds "$SRC")
IFS=, read -r W S E N <<<"$BOUNDS"
# An area inside the raster, so that edge tiles do not depend on who clips.
AREA="[$(echo "$W + 0.004" | bc -l), $(echo "$S + 0.003" | bc -l), $(echo "$E - 0.004" | bc -l), $(echo "$N - 0.003" | bc -l)]"

job() { # job FILE OUT INPUT-YAML [ZOOMS] [RESAMPLING]
  cat >"$1" <<JOB
process: convert
inputs:
  img: $3
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: ${4:-[13, 15]}
area: {bounds: $AREA, crs: EPSG:4326}
cache: {path: $WORK/cache}
output: {path: $2, format: PNG, resampling: ${5:-near}, warp_error: 0}
JOB
}

# The XYZ tree: zoom 15 from the raster, served as it is.
job "$WORK/tree.yaml" "$DOC/xyz" "$SRC" "[15, 15]"
check_run "local raster -> XYZ tree" 0 run "$WORK/tree.yaml" --no-progress
servers_start_lighttpd "$DOC" || die "lighttpd starts"

# ---- XYZ ----------------------------------------------------------------------
job "$WORK/local.yaml" "$WORK/out_local" "$SRC"
check_run "local job" 0 run "$WORK/local.yaml" --no-progress
XYZ="{type: xyz, url: \"$SERVERS_URL/xyz/{z}/{x}/{y}.png\", zoom: 15, empty_status: [204, 404], max_connections: 4}"
job "$WORK/xyz.yaml" "$WORK/out_xyz" "$XYZ"
before=$(servers_hits '/xyz/')
check_run "xyz: prefetch" 0 prefetch "$WORK/xyz.yaml" --no-progress
prefetched=$(($(servers_hits '/xyz/') - before))
check "xyz: prefetch summary" grep -q "prefetch finished.*0 failed" "$WORK/run.err"
check_run "xyz: run after prefetch" 0 run "$WORK/xyz.yaml" --no-progress
check_eq "xyz: run after prefetch makes no request" "$prefetched" "$(($(servers_hits '/xyz/') - before))"
sed -e 's/max_connections: 4/max_connections: 2, timeout: 30/' "$WORK/xyz.yaml" >"$WORK/xyz_tuned.yaml"
check_run "xyz: rerun with other connection settings" 0 run "$WORK/xyz_tuned.yaml" --no-progress
check "xyz: transport options do not invalidate finished tiles" \
  grep -qE "\(0 done, 0 empty, [1-9][0-9]* already done" "$WORK/run.err"
check_run "xyz: second prefetch" 0 prefetch "$WORK/xyz.yaml" --no-progress
check "xyz: second prefetch finds everything cached" grep -q "0 fetched, $prefetched already cached" "$WORK/run.err"

# compare NAME DIR_A DIR_B MAX_MEAN_ABS_DIFF [subset]: same tile set (with
# "subset": every tile of A is in B, which may have more), pixels close.
compare() {
  check_py "$1" "$2" "$3" "$4" "${5:-same}" <<'PY'
import sys, os, glob
import numpy as np
from osgeo import gdal
a, b, tol, mode = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
ta = sorted(os.path.relpath(p, a) for p in glob.glob(a + "/*/*/*.png"))
tb = sorted(os.path.relpath(p, b) for p in glob.glob(b + "/*/*/*.png"))
if (mode == "subset" and not set(ta) <= set(tb)) or (mode != "subset" and ta != tb):
    print("tile sets differ:", len(ta), len(tb), sorted(set(ta) ^ set(tb))[:5]); sys.exit(1)
worst = 0
for t in ta:
    x = gdal.Open(os.path.join(a, t)).ReadAsArray().astype(float)
    y = gdal.Open(os.path.join(b, t)).ReadAsArray().astype(float)
    # Compare where both are opaque.
    m = (x[-1] > 0) & (y[-1] > 0)
    if m.sum() == 0: continue
    d = np.abs(x[:3][:, m] - y[:3][:, m]).mean()
    worst = max(worst, d)
print(len(ta), "tiles, worst mean |diff|", round(worst, 3))
sys.exit(0 if worst <= tol and ta else 1)
PY
}
compare "xyz: same tiles as the local job" "$WORK/out_local" "$WORK/out_xyz" 0

rm -rf "$WORK/cache"
job "$WORK/cold.yaml" "$WORK/out_cold" "$XYZ"
before=$(servers_hits '/xyz/')
check_run "xyz: cold run (no prefetch)" 0 run "$WORK/cold.yaml" --no-progress
check_eq "xyz: a cold run downloads each tile once" "$prefetched" "$(($(servers_hits '/xyz/') - before))"
check "xyz: run summary shows the fetch stage" grep -q "fetch stage busy" "$WORK/run.err"
compare "xyz: cold run gives the same tiles" "$WORK/out_local" "$WORK/out_cold" 0

# TMS rows and subdomains: a TMS copy of the tree on hosts a/b (127.0.0.1 only
# resolves, so the "subdomain" is a path prefix here).
py "$DOC/xyz" "$DOC/tms" <<'PY'
import sys, os, glob, shutil
src, dst = sys.argv[1], sys.argv[2]
for p in glob.glob(src + "/*/*/*.png"):
    z, x, y = os.path.relpath(p, src)[:-4].split("/")
    for sub in "ab":
        q = os.path.join(dst, sub, z, x, str((1 << int(z)) - 1 - int(y)) + ".png")
        os.makedirs(os.path.dirname(q), exist_ok=True)
        shutil.copy(p, q)
PY
job "$WORK/tms.yaml" "$WORK/out_tms" "{type: xyz, url: \"$SERVERS_URL/tms/{s}/{z}/{x}/{-y}.png\", subdomains: ab, zoom: 15, empty_status: [404]}"
check_run "xyz: {-y} and {s} template" 0 run "$WORK/tms.yaml" --no-progress
compare "xyz: TMS rows give the same tiles" "$WORK/out_local" "$WORK/out_tms" 0
check "xyz: both subdomains used" test "$(servers_hits '/tms/a/')" -gt 0 -a "$(servers_hits '/tms/b/')" -gt 0

# ---- WMS (MapServer) -------------------------------------------------------------
servers_mapfile "$WORK/wms.map" "$SRC" ortho NEAREST
WMS_URL=$(servers_wms_url "$WORK/wms.map")
wms() { echo "{type: wms, url: \"$WMS_URL\", layers: ortho, format: image/png, $1, block_size: 256, max_connections: 4}"; }
job "$WORK/wms.yaml" "$WORK/out_wms" "$(wms 'crs: EPSG:3857, version: 1.3.0')"
before=$(servers_hits 'mapserv')
check_run "wms 1.3.0 EPSG:3857: prefetch" 0 prefetch "$WORK/wms.yaml" --no-progress
n_wms=$(($(servers_hits 'mapserv') - before))
check_run "wms 1.3.0 EPSG:3857: run" 0 run "$WORK/wms.yaml" --no-progress
check_eq "wms: run after prefetch makes no request" "$n_wms" "$(($(servers_hits 'mapserv') - before))"
compare "wms 1.3.0 EPSG:3857: same tiles as the local job" "$WORK/out_local" "$WORK/out_wms" 0.5
check "wms: GetMap requests are blocks of the fixed grid" grep -q "REQUEST=GetMap.*WIDTH=256&HEIGHT=256" "$SERVERS_LOG"

# Another job (other output, zoom 15 only, a smaller area) asks for blocks
# the first one already has: all cached.
sed -e "s/zoom: \[13, 15\]/zoom: [15, 15]/" -e "s#out_wms#out_wms2#" "$WORK/wms.yaml" >"$WORK/wms2.yaml"
before=$(servers_hits 'mapserv')
check_run "wms: second job, other zooms and area" 0 run "$WORK/wms2.yaml" --no-progress \
  --bounds "$(echo "$W + 0.01" | bc -l),$(echo "$S + 0.01" | bc -l),$(echo "$E - 0.01" | bc -l),$(echo "$N - 0.01" | bc -l)"
check_eq "wms: the second job reuses the cached blocks" 0 "$(($(servers_hits 'mapserv') - before))"

job "$WORK/wms4326.yaml" "$WORK/out_wms4326" "$(wms 'crs: EPSG:4326, version: 1.3.0')" "[13, 15]" bilinear
job "$WORK/local_bl.yaml" "$WORK/out_local_bl" "$SRC" "[13, 15]" bilinear
check_run "local job, bilinear" 0 run "$WORK/local_bl.yaml" --no-progress
check_run "wms 1.3.0 EPSG:4326 (lat/lon BBOX)" 0 run "$WORK/wms4326.yaml" --no-progress
check "wms 1.3.0 EPSG:4326: BBOX in lat,lon order" grep -qE "CRS=EPSG:4326.*BBOX=4[67]\.[0-9]+,[89]\.[0-9]+," "$SERVERS_LOG"
compare "wms 1.3.0 EPSG:4326: tiles close to the local job" "$WORK/out_local_bl" "$WORK/out_wms4326" 6
job "$WORK/wms111.yaml" "$WORK/out_wms111" "$(wms 'crs: EPSG:4326, version: 1.1.1')" "[13, 15]" bilinear
check_run "wms 1.1.1 EPSG:4326 (x,y BBOX)" 0 run "$WORK/wms111.yaml" --no-progress
check "wms 1.1.1: SRS and lon,lat BBOX" grep -qE "SRS=EPSG:4326.*BBOX=[89]\.[0-9]+,4[67]\.[0-9]+," "$SERVERS_LOG"
compare "wms 1.1.1: tiles close to the local job" "$WORK/out_local_bl" "$WORK/out_wms111" 6

# JPEG, the usual format of orthophoto services (validated through a scaled
# decode): lossy, so close to the local job, not equal; and opaque, so the
# WMS's background fills what lies outside the raster: tiles there are
# written too (the local job's are a subset).
WMS_JPG="{type: wms, url: \"$WMS_URL\", layers: ortho, format: image/jpeg, crs: EPSG:3857, version: 1.3.0, block_size: 512, max_connections: 4}"
job "$WORK/wmsjpg.yaml" "$WORK/out_wmsjpg" "$WMS_JPG"
check_run "wms image/jpeg: run" 0 run "$WORK/wmsjpg.yaml" --no-progress
check "wms image/jpeg: GetMap asks for JPEG" grep -qE "REQUEST=GetMap.*FORMAT=image(/|%2F)jpeg" "$SERVERS_LOG"
check "wms image/jpeg: the cache holds JPEG bodies" \
  test -n "$(find "$WORK/cache" -name '*.jpg' -size +1k | head -n 1)"
compare "wms image/jpeg: tiles close to the local job" "$WORK/out_local" "$WORK/out_wmsjpg" 6 subset

# ---- WMTS (MapCache over the WMS) ---------------------------------------------
servers_wmts "$WORK/wms.map" ortho image/png
job "$WORK/wmts.yaml" "$WORK/out_wmts" "{type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: ortho, tile_matrix_set: GoogleMapsCompatible, max_connections: 2}"
check_run "wmts: run" 0 run "$WORK/wmts.yaml" --no-progress
check "wmts: KVP GetTile requests" grep -q "REQUEST=GetTile.*TILEMATRIXSET=GoogleMapsCompatible" "$SERVERS_LOG"
compare "wmts: tiles close to the local job" "$WORK/out_local" "$WORK/out_wmts" 0.5

# ---- faults -------------------------------------------------------------------
start_fs() { fault_server "$1" 170 --upstream "$SERVERS_URL" "${@:2}"; } # start_fs NAME ARGS...: prints the port
P=$(start_fs flaky --seed 7 --fault 503=0.02 --fault 429=0.02 --fault reset=0.02 --fault truncate=0.02 \
  --fault corrupt=0.01 --fault stall=0.01 --retry-after 1 --stall-seconds 4)
rm -rf "$WORK/cache"
FAULTY="{type: xyz, url: \"http://127.0.0.1:$P/xyz/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404], max_connections: 4, timeout: 2}"
job "$WORK/flaky.yaml" "$WORK/out_flaky" "$FAULTY"
check_run "faults 10%: prefetch completes" 0 prefetch "$WORK/flaky.yaml" --no-progress
check "faults 10%: retries happened" grep -qE "[1-9][0-9]* retries" "$WORK/run.err"
check_run "faults 10%: run" 0 run "$WORK/flaky.yaml" --no-progress
compare "faults 10%: same tiles as the local job" "$WORK/out_local" "$WORK/out_flaky" 0

# Every first answer cut short (sent whole as far as HTTP can tell: a 200
# with the Content-Length of the half sent), the capabilities included:
# refused (JPEG through the scaled decode, XML by parsing), retried, never
# cached.
P4=$(start_fs cutjpg --seed 11 --fault corrupt=1.0 --repeat 1)
rm -rf "$WORK/cache"
job "$WORK/cutjpg.yaml" "$WORK/out_cutjpg" "${WMS_JPG/$SERVERS_URL/http://127.0.0.1:$P4}"
check_run "cut bodies, JPEG WMS: run completes" 0 run "$WORK/cutjpg.yaml" --no-progress
check_eq "cut bodies, JPEG WMS: each cut answer retried once, then whole" \
  "$(awk -F'\t' '$4 == 1 && $5 == "corrupt"' "$WORK/cutjpg.log" | wc -l) 0" \
  "$(awk -F'\t' '$4 == 2 && $5 == "ok"' "$WORK/cutjpg.log" | wc -l) $(awk -F'\t' '$4 > 2' "$WORK/cutjpg.log" | wc -l)"
check_eq "cut bodies, JPEG WMS: the cut capabilities were retried" "1 corrupt
2 ok" "$(awk -F'\t' '$3 ~ /GetCapabilities/ {print $4, $5}' "$WORK/cutjpg.log")"
check_py "cut bodies, JPEG WMS: every cached JPEG decodes in full" "$WORK/cache" <<'PY'
import sys, glob
from osgeo import gdal
gdal.UseExceptions()
gdal.SetConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", "YES")
n = 0
for p in glob.glob(sys.argv[1] + "/**/*.jpg", recursive=True):
    gdal.Open(p).ReadAsArray(); n += 1
print(n, "cached JPEGs decode")
sys.exit(0 if n else 1)
PY
compare "cut bodies, JPEG WMS: same tiles as without faults" "$WORK/out_wmsjpg" "$WORK/out_cutjpg" 0

P2=$(start_fs broken --seed 3 --fault html=0.1 --fault exception=0.1)
rm -rf "$WORK/cache"
job "$WORK/broken.yaml" "$WORK/out_broken" "{type: xyz, url: \"http://127.0.0.1:$P2/xyz/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404]}"
check_run "permanent faults: prefetch exits 1" 1 prefetch "$WORK/broken.yaml" --no-progress
FL=$WORK/out_broken/.swath/prefetch-failed.txt
check "permanent faults: failures listed with a reason" grep -qE "not an image|exception" "$FL"
nfail=$(wc -l <"$FL")
check_py "permanent faults: nothing but valid images in the cache" "$WORK/cache" <<'PY'
import sys, glob
from osgeo import gdal
gdal.UseExceptions()
n = 0
for p in glob.glob(sys.argv[1] + "/**/*.png", recursive=True):
    gdal.Open(p).ReadAsArray(); n += 1
print(n, "cached tiles decode")
PY
check_run "permanent faults: run fails the tasks that need them" 1 run "$WORK/broken.yaml" --no-progress
# Point the failure list at a healthy server: --retry-failed replays just those.
sed -i "s#127.0.0.1:$P2/#${SERVERS_URL#http://}/#" "$FL"
before=$(servers_hits '/xyz/')
check_run "--retry-failed replays the list" 0 prefetch "$WORK/broken.yaml" --retry-failed --no-progress
check_eq "--retry-failed requests only the listed tiles" "$nfail" "$(($(servers_hits '/xyz/') - before))"
check "--retry-failed leaves no failure list" test ! -e "$FL"

# A server that answers the check but then only fails: retried, then the run
# exits 1 with the tasks listed (not 2: the input was fine).
P3=$(start_fs down --seed 5 --fault down=1.0)
rm -rf "$WORK/cache"
job "$WORK/down.yaml" "$WORK/out_down" "{type: xyz, url: \"http://127.0.0.1:$P3/xyz/{z}/{x}/{y}.png\", zoom: 15, max_attempts: 2, empty_status: [404]}"
check_run "host failing mid-run: exit 1 after retries" 1 run "$WORK/down.yaml" --no-progress
check "host failing mid-run: tasks listed with the cause" grep -q "503" "$WORK/out_down/.swath/failed.txt"
check "host failing mid-run: retried" test "$(awk -F'\t' '$4 == 2' "$WORK/down.log" | wc -l)" -gt 0

# ---- HTTPS, HTTP/2 -------------------------------------------------------------
# The same tree over HTTPS from a second lighttpd (a certificate made for the
# run, trusted through ca_file): HTTP/2 is negotiated and the requests share
# a few multiplexed connections (lighttpd logs one "PRI * HTTP/2.0" line per
# HTTP/2 connection).
cat >"$WORK/tls.sh" <<EOF
. "$SWATH_SRC/tests/integration/servers.sh"
SERVERS_TLS=1 servers_start_lighttpd "$DOC" || exit 9
echo "\$SERVERS_URL \$SERVERS_CA \$SERVERS_LOG" >"$WORK/tls.info"
while [ -e "$WORK/tls.run" ]; do sleep 0.1; done
EOF
touch "$WORK/tls.run"
env -u WORK -u SERVERS_DIR bash "$WORK/tls.sh" &
TLS_PID=$!
track_bg $TLS_PID
for i in $(seq 100); do [ -s "$WORK/tls.info" ] && break; sleep 0.05; done
read -r TLS_URL TLS_CA TLS_LOG <"$WORK/tls.info" || die "HTTPS lighttpd starts"
rm -rf "$WORK/cache"
TLS_XYZ="{type: xyz, url: \"$TLS_URL/xyz/{z}/{x}/{y}.png\", zoom: 15, empty_status: [404], max_connections: 4, ca_file: $TLS_CA}"
job "$WORK/tls.yaml" "$WORK/out_tls" "$TLS_XYZ"
check_run "https: prefetch with ca_file" 0 prefetch "$WORK/tls.yaml" --no-progress
check_run "https: run" 0 run "$WORK/tls.yaml" --no-progress
compare "https: same tiles as the local job" "$WORK/out_local" "$WORK/out_tls" 0
sleep 0.5
n_h2=$(grep -c '"GET /xyz/.* HTTP/2.0"' "$TLS_LOG")
n_conn=$(grep -c '"PRI \* HTTP/2.0"' "$TLS_LOG")
check_eq "https: every tile request over HTTP/2" "$n_h2" "$(grep -c '"GET /xyz/' "$TLS_LOG")"
check "https: $n_h2 requests over $n_conn connections (at most 4)" \
  test "$n_h2" -gt 20 -a "$n_conn" -ge 1 -a "$n_conn" -le 4
job "$WORK/tls_noca.yaml" "$WORK/out_tls_noca" "${TLS_XYZ/, ca_file: $TLS_CA/}"
check_run "https: without ca_file the certificate is refused (exit 2)" 2 prefetch "$WORK/tls_noca.yaml" --no-progress
check "https: one line naming the certificate problem" \
  test "$(wc -l <"$WORK/run.err")" -eq 1 -a -n "$(grep -i "certificate" "$WORK/run.err")"
rm -f "$WORK/tls.run"
wait "$TLS_PID" 2>/dev/null

# ---- bad input ----------------------------------------------------------------
bad() { # bad NAME INPUT-YAML PATTERN
  job "$WORK/bad.yaml" "$WORK/out_bad" "$2"
  check_run "bad input: $1: exit 2" 2 prefetch "$WORK/bad.yaml" --no-progress
  check "bad input: $1: one line naming it" test "$(wc -l <"$WORK/run.err")" -eq 1 -a -n "$(grep -E "$3" "$WORK/run.err")"
}
DEAD=$(_servers_free_port)
bad "unreachable host" "{type: xyz, url: \"http://127.0.0.1:$DEAD/{z}/{x}/{y}.png\"}" "cannot reach"
bad "invalid URL template" "{type: xyz, url: \"$SERVERS_URL/{z}/{x}/{row}.png\"}" "unknown placeholder \{row\}"
bad "template without {y}" "{type: xyz, url: \"$SERVERS_URL/{z}/{x}.png\"}" "must contain"
bad "WMTS layer absent" "{type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: nope, tile_matrix_set: GoogleMapsCompatible}" "no layer 'nope'"
bad "WMTS matrix set absent" "{type: wmts, capabilities: \"$SERVERS_WMTS_CAPS\", layer: ortho, tile_matrix_set: Nope}" "no tile matrix set 'Nope'"
bad "WMS without the CRS" "{type: wms, url: \"$WMS_URL\", layers: ortho, crs: EPSG:2056}" "does not offer CRS EPSG:2056"
bad "WMS layer absent" "{type: wms, url: \"$WMS_URL\", layers: nope}" "no layer 'nope'"
bad "unknown option" "{type: xyz, url: \"$SERVERS_URL/{z}/{x}/{y}.png\", zoomz: 3}" "unknown key 'zoomz'"

#!/usr/bin/env bash
# test_secrets.sh: API keys in URLs and in `headers:` never reach anything
# swath writes, and never follow a redirect to another origin.
#
#  1. xyz over the fault server (a key in the URL, X-Api-Key and
#     Authorization headers, 403 faults so that failure lists and warnings
#     are written): prefetch (also with -v, and with a failure budget whose
#     abort reasons quote the last URL), run;
#  2. WMS (MapServer) with a key in the URL and a secret vendor parameter,
#     WMTS (MapCache) whose capabilities put the caller's key into the
#     GetTile URL (as commercial services do): capabilities are cached
#     without it, and tile requests carry it (taken back from the job);
#  3. redirects: to another port, X-Api-Key and Authorization are not sent
#     (the other server's header log); to the same origin they are;
#  4. every file under the outputs and the caches, the state stores
#     (dumped) and all stdout/stderr hold none of the secrets; job.yaml is
#     still YAML, with REDACTED in their place;
#  5. rotating the key: the same cache folder (no new request for cached
#     tiles), the same job (finished tasks stay done), and --retry-failed
#     replays the list with the new key.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

FS=$SWATH_SRC/tests/faultserver/faultserver.py
QK=qk7P2urlKeyQ9     # ?apikey= of the xyz and WMS URLs
HK=hk4HeaderKeyH8    # X-Api-Key
BK=bk3BearerTokB5    # Authorization: Bearer
TK=tk6VendorTokT1    # WMS params: {token: ...}
WK=wk2WmtsKeyW4      # WMTS capabilities ?apikey=, echoed by the "service"
QK2=qk9RotatedKeyR2  # the rotated URL key
HK2=hk9RotatedHdrR3
SECRETS=("$QK" "$HK" "$BK" "$TK" "$WK" "$QK2" "$HK2")
ALL=$WORK/all.log # stdout and stderr of every swath run
: >"$ALL"

start_server() { fault_server "$1" 300 "${@:2}"; } # start_server NAME ARGS...: prints the port

sw() { # sw NAME RC ARGS...: check_run, keeping all output
  check_run "$@"
  cat "$WORK/run.out" "$WORK/run.err" >>"$ALL"
}
rs() { # rs ARGS...: run swath (any exit status), keeping all output
  run_swath "$@"
  cat "$WORK/run.out" "$WORK/run.err" >>"$ALL"
}

TILES=$WORK/tiles
"$PY" "$FS" make-tiles --out "$TILES" --count 16 --formats png >"$WORK/targets" || die "make tiles"
# The 12 tiles x 100-103, y 200-202 of zoom 12, shrunk a little.
AREA=$("$PY" - <<'PY'
import math
def lon(x): return x / 4096 * 360 - 180
def lat(y): return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 4096))))
e = 1e-4
print("[%.7f, %.7f, %.7f, %.7f]" % (lon(100) + e, lat(203) + e, lon(104) - e, lat(200) - e))
PY
)
job() { # job FILE OUT INPUT-YAML
  cat >"$1" <<JOB
process: convert
inputs:
  img: $3
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [12, 12]
area: {bounds: $AREA, crs: EPSG:4326}
cache: {path: $WORK/cache}
output: {path: $2, format: PNG, resampling: near, warp_error: 0}
JOB
}
xyz() { # xyz PORT KEY HEADER-KEY [EXTRA]
  echo "{type: xyz, url: \"http://127.0.0.1:$1/{z}/{x}/{y}.png?apikey=$2\", zoom: 12,
        empty_status: [404], headers: {X-Api-Key: $3, Authorization: \"Bearer $BK\"}${4:-}}"
}

# ---- 1. xyz with failures -------------------------------------------------------------
FAULT=(--seed 9 --fault 403=0.3)
P=$(start_server faults --root "$TILES" "${FAULT[@]}")
nfail=$(sed -n '/^\/12\/10[0-3]\/20[0-2]\.png$/s/$/?apikey='"$QK"'/p' "$WORK/targets" |
  "$PY" "$FS" plan "${FAULT[@]}" | grep -c '	403	')
[ "$nfail" -ge 1 ] && [ "$nfail" -le 8 ] || die "the fault plan fails 1 to 8 tiles" "$nfail"
job "$WORK/xyz.yaml" "$WORK/out_xyz" "$(xyz "$P" "$QK" "$HK")"
sw "xyz: prefetch with $nfail forbidden tiles exits 1" 1 prefetch "$WORK/xyz.yaml" --no-progress
check_eq "xyz: the failure list has them" "$nfail" "$(wc -l <"$WORK/out_xyz/.swath/prefetch-failed.txt")"
sw "xyz: run exits 1" 1 run "$WORK/xyz.yaml" --no-progress
check_eq "xyz: failed.txt lists them" "$nfail" "$(wc -l <"$WORK/out_xyz/.swath/failed.txt")"
check "xyz: the failures were warned about" grep -q "warning: .*403" "$WORK/run.err"
ndone=$((12 - nfail))
# One connection: the requests go one after the other, so those after the
# first failure are still queued when it ends the budget (with several in
# flight, a loaded machine could finish them all before the failure counts).
job "$WORK/budget.yaml" "$WORK/out_budget" "$(xyz "$P" "$QK" "$HK" ", failure_budget: 1, max_connections: 1")"
sw "xyz, failure budget 1, -v: prefetch exits 1" 1 -v prefetch "$WORK/budget.yaml" --no-progress
check "xyz, failure budget: aborted requests quote the last failure" \
  grep -q "failure budget exhausted after 1 failed requests (last: http" \
  "$WORK/out_budget/.swath/prefetch-failed.txt"
check "xyz: -v logged the requests" grep -q "debug: fetch:" "$WORK/run.err"

# ---- 2. WMS and WMTS ------------------------------------------------------------------
DOC=$WORK/doc
mkdir -p "$DOC/caps"
gen_zurich "$WORK/src.tif" 512
servers_start_lighttpd "$DOC" || die "lighttpd starts"
servers_mapfile "$WORK/wms.map" "$WORK/src.tif" ortho || die "mapfile"
servers_wmts "$WORK/wms.map" ortho || die "mapcache config"
IFS=, read -r W S E N <<<"$(lonlat_bounds "$WORK/src.tif")"
OWS_AREA="[$(echo "$W + 0.003" | bc -l), $(echo "$S + 0.003" | bc -l), $(echo "$E - 0.003" | bc -l), $(echo "$N - 0.003" | bc -l)]"
ows_job() { # ows_job FILE OUT INPUT-YAML
  job "$1" "$2" "$3"
  sed -i -e "s|^area: .*|area: {bounds: $OWS_AREA, crs: EPSG:4326}|" -e 's|^zoom: .*|zoom: [15, 15]|' "$1"
}
# The "service" writes the caller's key into its GetTile URL.
"$PY" - "$SERVERS_WMTS_CAPS" "$SERVERS_WMTS_URL" "$WK" "$DOC/caps/WMTSCapabilities.xml" <<'PY' ||
import sys, urllib.request
caps, kvp, key, out = sys.argv[1:5]
doc = urllib.request.urlopen(caps).read().decode()
n = doc.count(kvp + "?")
doc = doc.replace(kvp + "?", kvp + "?apikey=" + key + "&amp;")
open(out, "w").write(doc)
sys.exit(0 if n else 1)
PY
  die "WMTS capabilities with the key in the GetTile URL"
WMS_URL=$(servers_wms_url "$WORK/wms.map")
ows_job "$WORK/wms.yaml" "$WORK/out_wms" "{type: wms, url: \"$WMS_URL&apikey=$QK\", layers: ortho,
  params: {token: $TK}, headers: {X-Api-Key: $HK}}"
sw "wms with a key and a secret vendor parameter: prefetch" 0 prefetch "$WORK/wms.yaml" --no-progress
sw "wms: run" 0 run "$WORK/wms.yaml" --no-progress
ows_job "$WORK/wmts.yaml" "$WORK/out_wmts" "{type: wmts, capabilities: \"$SERVERS_URL/caps/WMTSCapabilities.xml?apikey=$WK\",
  layer: ortho, tile_matrix_set: GoogleMapsCompatible}"
sw "wmts whose capabilities hold the key: run" 0 run "$WORK/wmts.yaml" --no-progress
rm -rf "$WORK"/cache/wmts-*
sw "wmts: tiles again, from the cached (redacted) capabilities" 0 run "$WORK/wmts.yaml" --no-progress --overwrite
n_tile=$(grep -c 'REQUEST=GetTile' "$SERVERS_LOG")
check "wmts: $n_tile GetTile requests, each with the key taken back from the job" \
  test "$n_tile" -gt 0 -a "$(grep 'REQUEST=GetTile' "$SERVERS_LOG" | grep -c "apikey=$WK&")" -eq "$n_tile"
check "no request reached a server with REDACTED in it" bash -c "! grep -q REDACTED '$SERVERS_LOG' '$WORK/faults.log'"

# ---- 3. redirects ---------------------------------------------------------------------------
PB=$(start_server target --root "$TILES" --header-log "$WORK/target.hdr")
PR=$(start_server redir --root "$TILES" --redirect "http://127.0.0.1:$PB" --header-log "$WORK/redir.hdr")
job "$WORK/redir.yaml" "$WORK/out_redir" "{type: xyz, url: \"http://127.0.0.1:$PR/go/{z}/{x}/{y}.png\", zoom: 12,
  empty_status: [404], headers: {X-Api-Key: $HK, Authorization: \"Bearer $BK\"}}"
sed -i "s|^cache: .*|cache: {path: $WORK/cache_redir}|" "$WORK/redir.yaml"
sw "redirect to another port: prefetch" 0 prefetch "$WORK/redir.yaml" --no-progress
check "redirect to another port: the first server got the headers" grep -q "X-Api-Key: $HK" "$WORK/redir.hdr"
check "redirect to another port: the tiles came from the other server" \
  test "$(grep -c '^/12/' "$WORK/target.hdr")" -ge 12
check "redirect to another port: it got neither X-Api-Key nor Authorization" \
  bash -c "! grep -qiE 'x-api-key|authorization|$HK|$BK' '$WORK/target.hdr'"
PS=$(start_server same --root "$TILES" --redirect self --header-log "$WORK/same.hdr")
job "$WORK/same.yaml" "$WORK/out_same" "{type: xyz, url: \"http://127.0.0.1:$PS/go/{z}/{x}/{y}.png\", zoom: 12,
  empty_status: [404], headers: {X-Api-Key: $HK}}"
sed -i "s|^cache: .*|cache: {path: $WORK/cache_redir}|" "$WORK/same.yaml"
sw "redirect to the same origin: prefetch" 0 prefetch "$WORK/same.yaml" --no-progress
check "redirect to the same origin: the headers go along" \
  test "$(grep -v '^/go/' "$WORK/same.hdr" | grep -c "X-Api-Key: $HK")" -ge 12

# ---- 5. rotating the key (before the grep, which covers these runs too) ------------------------
folders=$(ls "$WORK/cache" | grep '^xyz-' | sort)
check_eq "xyz: one cache folder for the xyz source" 1 "$(echo "$folders" | wc -l)"
done_tiles=$(find "$WORK"/cache/xyz-* -name '*.png' | sed 's|.*/\(12/[0-9]*/[0-9]*\.png\)$|/\1|' | sort)
check_eq "xyz: the $ndone tiles that were not forbidden are cached" "$ndone" "$(echo "$done_tiles" | grep -c .)"
job "$WORK/rot.yaml" "$WORK/out_xyz" "$(xyz "$P" "$QK2" "$HK2")"
hits0=$(wc -l <"$WORK/faults.log")
rs prefetch "$WORK/rot.yaml" --retry-failed --no-progress
replayed=$(tail -n +"$((hits0 + 1))" "$WORK/faults.log" | cut -f3)
check_eq "rotated key: --retry-failed replays the $nfail failed requests" "$nfail" "$(echo "$replayed" | grep -c .)"
check_eq "rotated key: each with the new key" "$nfail" "$(echo "$replayed" | grep -c "apikey=$QK2\$")"
hits1=$(wc -l <"$WORK/faults.log")
rs prefetch "$WORK/rot.yaml" --no-progress
again=$(tail -n +"$((hits1 + 1))" "$WORK/faults.log" | cut -f3 | sed 's/?.*//' | sort)
check_eq "rotated key: no request for a tile cached with the old key" "" \
  "$(comm -12 <(echo "$again") <(echo "$done_tiles"))"
check_eq "rotated key: the same cache folder" "$folders" "$(ls "$WORK/cache" | grep '^xyz-' | sort)"
rs run "$WORK/rot.yaml" --no-progress
check "rotated key: the $ndone tasks done with the old key stay done (same job)" \
  grep -qE "[0-9]+ done, [0-9]+ empty, $ndone already done" "$WORK/run.err"

# ---- 4. no secret anywhere -------------------------------------------------------------------
py "$WORK" >"$WORK/dumps.txt" <<'PY'
import glob, sqlite3, sys
for db in glob.glob(sys.argv[1] + "/out_*/.swath/state.sqlite"):
    c = sqlite3.connect(db)
    for line in c.iterdump():
        print(db, line)
PY
check "state stores dumped" test -s "$WORK/dumps.txt"
hits=$(for s in "${SECRETS[@]}"; do
  grep -rlaF -e "$s" "$WORK"/out_* "$WORK/cache" "$WORK/cache_redir" "$ALL" "$WORK/dumps.txt" |
    sed "s|^|$s: |"
done)
check_eq "no secret in any file under the outputs and the cache, the state stores, or any output" "" "$hits"
check "the outputs were there to search: job.yaml, failure lists, state, capabilities" \
  test -s "$WORK/out_xyz/job.yaml" -a -s "$WORK/out_budget/.swath/prefetch-failed.txt" \
  -a -s "$WORK/out_wms/job.yaml" -a -n "$(ls "$WORK/cache/capabilities")"
check_py "job.yaml is still YAML, with REDACTED for each secret" "$WORK/out_xyz/job.yaml" \
  "$WORK/out_wms/job.yaml" <<'PY'
import sys, yaml
img = yaml.safe_load(open(sys.argv[1]))["inputs"]["img"]
wms = yaml.safe_load(open(sys.argv[2]))["inputs"]["img"]
print(img["url"], img["headers"], wms["url"], wms["params"])
ok = (img["url"].endswith("?apikey=REDACTED") and img["headers"] == {"X-Api-Key": "REDACTED",
      "Authorization": "REDACTED"} and wms["url"].endswith("&apikey=REDACTED")
      and wms["params"] == {"token": "REDACTED"} and img["zoom"] == 12)
sys.exit(0 if ok else 1)
PY

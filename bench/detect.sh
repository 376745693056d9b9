#!/usr/bin/env bash
# detect.sh SWATH: keeping the model busy (issue 18, point 8). The same
# model (models/solar/solar.onnx, kind detection, chip 256, overlap 48),
# the same batch and the same number of worker threads throughout:
#
#   (a) the ceiling: `swath model bench` over chips held in memory, cut from
#       the imagery on the run's chip lattice and normalised as the detect
#       process does (bench/detect_setup.py); once more over random chips,
#       to show the model's time does not depend on the values;
#   (b) `swath run` of a detect job over the same imagery served as a
#       remote XYZ source (static PNG tiles from lighttpd) whose cache was
#       filled first by `swath prefetch`, metatiling 8: chips/s from the
#       run's summary (model chips / the run's wall time) against (a);
#       target (b) >= 90% of (a). (a) and (b) run back to back, alternating,
#       ROUNDS times, so both see the same load; medians and each pair's
#       ratio are printed, and the last run's cached tiles pasted, decoded
#       and taken from the tile memo (SWATH_TILE_MEMO_MB=0: no memo);
#   (c) the same job from a cold local WMS (MapServer as FastCGI under
#       lighttpd, as in bench/remote.sh; no cache before the run): chips/s
#       against (a), and the summary's busy figures (fetch stage, read /
#       compute / write of the workers, model), which name the bottleneck;
#   (d) peak RSS of (b)'s job over the area and over one REPEAT x REPEAT
#       times larger (16x the area at REPEAT 4), both from the cached
#       source: target within 10% of each other and at most 1 GB.
#
# The imagery: one scene of models/solar/scenes.py (CORE x CORE px at zoom
# 19's resolution, EPSG:3857) repeated REPEAT x REPEAT times as a VRT
# mosaic whose corner is on the metatile grid; the area of (a)-(c) and the
# small area of (d) is an inner copy (so its buffer holds imagery too), the
# large area of (d) the whole mosaic. The model's chips are counted by the
# run itself (the detect process runs every chip of its buffered block, so
# chips near a metatile's edge run in both neighbours: chips/s, not area/s,
# is what the ceiling is compared with).
#
# WORKERS is the model instances of both (a) and (b): by default one per core
# but one, the core left for what feeds the model (decoding, the fetch stage),
# as a deployment that splits reading from prediction would; WORKERS=$(nproc)
# measures a model instance on every core, where reading can only take its
# CPU from the model (docs/PERFORMANCE.md has both).
#
# Environment: MODEL, CORE (4096, a multiple of 2048), REPEAT (4), BATCH (8),
# WORKERS (nproc - 1, at least 1), ROUNDS (3), BENCH_SECONDS (20: each ceiling run), CONN (8),
# SEED (7), WMS_FORMAT (image/jpeg), SKIP_WMS=1, SKIP_RSS=1, BENCH_WORK
# (bench/work). The servers and the bench share the machine's cores with
# swath; the load average is printed with every figure.
set -uo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PY=/usr/bin/python3
MODEL=$(realpath "${MODEL:-$here/../models/solar/solar.onnx}")
CORE=${CORE:-4096} REPEAT=${REPEAT:-4} BATCH=${BATCH:-8}
WORKERS=${WORKERS:-$(($(nproc) > 1 ? $(nproc) - 1 : 1))}
ROUNDS=${ROUNDS:-3} BENCH_SECONDS=${BENCH_SECONDS:-20} CONN=${CONN:-8} SEED=${SEED:-7}
WMS_FORMAT=${WMS_FORMAT:-image/jpeg}
export SERVERS_MAPSERV_FASTCGI=$((2 * $(nproc))) GDAL_PAM_ENABLED=NO
[ -f "$MODEL" ] || { echo "bench: no model at $MODEL" >&2; exit 2; }
[ $((CORE % 2048)) = 0 ] || { echo "bench: CORE must be a multiple of 2048" >&2; exit 2; }
work=${BENCH_WORK:-$here/work}/detect
mkdir -p "$work"
. "$here/../tests/integration/servers.sh"

# ---- imagery, areas, chips -------------------------------------------------
key="${SEED}_${CORE}_$REPEAT"
if [ ! -f "$work/.done_$key" ]; then
  rm -rf "$work/data" "$work/doc" "$work/.done_"*
  mkdir -p "$work/data" "$work/doc"
  "$PY" "$here/detect_setup.py" --scenes "$here/../models/solar/scenes.py" --seed "$SEED" \
    --core "$CORE" --repeat "$REPEAT" --out "$work/data" >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log" >&2; exit 1; }
  # The XYZ tree, made by swath from the mosaic (zoom 19 only).
  printf 'process: convert\ninputs: {image: %s}\nzoom: 19\noutput: {path: %s, format: PNG}\n' \
    "$work/data/mosaic.vrt" "$work/doc/xyz" >"$work/tree.yaml"
  "$swath" run "$work/tree.yaml" --no-progress >"$work/tree.log" 2>&1 ||
    { cat "$work/tree.log" >&2; exit 1; }
  touch "$work/.done_$key"
fi
. "$work/data/areas.sh" # SMALL, LARGE: "x0, y0, x1, y1" in EPSG:3857; NCHIPS

servers_start_lighttpd "$work/doc" >/dev/null || exit 1
servers_mapfile "$work/ortho.map" "$work/data/wms.tif" ortho || exit 1
WMS=$(servers_wms_url "$work/ortho.map")
XYZ="{type: xyz, url: \"$SERVERS_URL/xyz/{z}/{x}/{y}.png\", zoom: 19, max_connections: $CONN, empty_status: [404]}"

# job FILE INPUT BOUNDS CACHE OUT
job() {
  cat >"$1" <<YAML
process: detect
params:
  model: $MODEL
  kind: detection
  chip: {size: 256, overlap: 48}
  bands: [1, 2, 3]
  normalize: {scale: 0.00392157, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  classes: [solar_panel]
  batch: $BATCH
inputs:
  imagery: $2
grid: {name: WebMercatorQuad, metatiling: 8}
zoom: 19
area: {bounds: [$3], crs: EPSG:3857}
cache: {path: $4}
output: {path: $5}
YAML
}

load() { cut -d, -f3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*average: //'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# ceiling CHIPS_ARGS...: sets A_RATE A_CHIPS A_BUSY
ceiling() {
  "$swath" model bench "$MODEL" "$@" --batch "$BATCH" --workers "$WORKERS" \
    --seconds "$BENCH_SECONDS" >"$work/bench.out" 2>&1 || { cat "$work/bench.out" >&2; return 1; }
  read -r A_CHIPS A_RATE A_BUSY <<<"$(sed -n 's/^\([0-9]*\) chips in .* s: \([0-9.]*\) chips\/s; model busy \([0-9.]*\) s.*/\1 \2 \3/p' "$work/bench.out")"
}

# swath_run JOB: /usr/bin/time around `swath run`; sets WALL RSS_MB and, from
# the summary, R_RATE R_CHIPS R_BATCHES R_MODEL (model busy % of wall per
# instance) R_FETCH (fetch stage busy %) R_READ R_COMP R_WRITE (% of the
# worker threads)
swath_run() {
  rm -rf "$work/out"
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$swath" run "$1" --no-progress --workers "$WORKERS" \
    >"$work/run.log" 2>&1 || { tail -n 5 "$work/run.log" >&2; return 1; }
  read -r WALL rss_kb <"$work/time.txt"
  RSS_MB=$((rss_kb / 1024))
  read -r R_CHIPS R_BATCHES R_RATE R_MODEL <<<"$(sed -n 's/.*model [^ ]*: \([0-9]*\) chips in \([0-9]*\) batches, \([0-9.]*\) chips\/s; .*, \([0-9]*\)% each$/\1 \2 \3 \4/p' "$work/run.log")"
  R_FETCH=$(sed -n 's/.*fetch stage busy \([0-9]*\)% of the run.*/\1/p' "$work/run.log")
  read -r R_READ R_COMP R_WRITE <<<"$(sed -n 's/.*busy: read \([0-9]*\)%, compute \([0-9]*\)%, write \([0-9]*\)%.*/\1 \2 \3/p' "$work/run.log")"
  R_FETCH=${R_FETCH:--}
  # pasted / decoded cached tiles and those from the tile memo ("-" without it)
  read -r R_PASTED R_DECODED R_MEMO <<<"$(sed -n 's/.*tiles: \([0-9]*\) cached tiles pasted, \([0-9]*\) decoded, \([0-9]*\) from the tile memo.*/\1 \2 \3/p' "$work/run.log")"
  R_PASTED=${R_PASTED:--} R_DECODED=${R_DECODED:--} R_MEMO=${R_MEMO:--}
}

bench_machine
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model: $MODEL ($(stat -c %s "$MODEL") bytes), batch $BATCH, $WORKERS worker(s), chip 256 overlap 48, metatiling 8"
echo "imagery: scenes.py seed $SEED, ${CORE}x$CORE px at z19 (0.2986 m), mosaic ${REPEAT}x$REPEAT; area ${CORE}x$CORE px = $((CORE / 2048))x$((CORE / 2048)) metatiles"

# ---- (b)'s cache, filled once --------------------------------------------
job "$work/xyz.yaml" "$XYZ" "$SMALL" "$work/cache-xyz" "$work/out"
"$swath" prefetch "$work/xyz.yaml" --no-progress >"$work/prefetch.log" 2>&1 ||
  { cat "$work/prefetch.log" >&2; exit 1; }
echo "prefetch: $(grep -o 'prefetch finished.*' "$work/prefetch.log" | cut -c1-120)"

# ---- (a) and (b), alternating ----------------------------------------------
echo
echo "(a) ceiling: swath model bench, $(cut -d' ' -f1 <<<"$NCHIPS") chips of the area in memory; (b) swath run from the cached XYZ source"
printf '%-5s %-4s %8s %8s %8s %8s %6s %6s %5s %5s %5s %5s  %s\n' round what chips wall_s chips/s b/a model% fetch% read% comp% writ% rssMB load1
A_ALL=() B_ALL=() PAIRS=()
for r in $(seq "$ROUNDS"); do
  l=$(load1)
  ceiling --chips "$work/data/chips.f32" || exit 1
  printf '%-5s %-4s %8s %8s %8s %8s %6s %6s %5s %5s %5s %5s  %s\n' "$r" a "$A_CHIPS" "$BENCH_SECONDS" "$A_RATE" "" \
    "$(echo "100 * $A_BUSY / $BENCH_SECONDS / $WORKERS" | bc)" - - - - - "$l"
  l=$(load1)
  swath_run "$work/xyz.yaml" || exit 1
  p=$(echo "scale=3; $R_RATE / $A_RATE" | bc)
  printf '%-5s %-4s %8s %8s %8s %8s %6s %6s %5s %5s %5s %5s  %s\n' "$r" b "$R_CHIPS" "$WALL" "$R_RATE" "$p" \
    "$R_MODEL" "$R_FETCH" "$R_READ" "$R_COMP" "$R_WRITE" "$RSS_MB" "$l"
  A_ALL+=("$A_RATE") B_ALL+=("$R_RATE") PAIRS+=("$p")
done
A_MED=$(printf '%s\n' "${A_ALL[@]}" | median) B_MED=$(printf '%s\n' "${B_ALL[@]}" | median)
P_MED=$(printf '%s\n' "${PAIRS[@]}" | median)
ceiling --random 64 || exit 1
echo "(a) over random chips (same shape, values in [-2, 2]): $A_RATE chips/s, $(ratio "$A_RATE" "$A_MED") x the imagery chips' median (load $(load1))"
echo "cached tiles pasted: $R_PASTED, decoded: $R_DECODED, from the tile memo: $R_MEMO (SWATH_TILE_MEMO_MB=${SWATH_TILE_MEMO_MB:-default})"
echo "run chips: $R_CHIPS in $R_BATCHES batches (the lattice's chips in the area's buffered metatiles: $(cut -d' ' -f2 <<<"$NCHIPS"); unique chips in the area: $(cut -d' ' -f3 <<<"$NCHIPS"))"
echo "median chips/s: (a) $A_MED, (b) $B_MED; (b)/(a) $(ratio "$B_MED" "$A_MED") (pairs: ${PAIRS[*]}; median $P_MED); target >= 0.90"

# ---- (c) cold WMS ------------------------------------------------------------
if [ "${SKIP_WMS:-0}" != 1 ]; then
  echo
  echo "(c) swath run from a cold local WMS (MapServer FastCGI, $SERVERS_MAPSERV_FASTCGI processes, $WMS_FORMAT, no cache)"
  job "$work/wms.yaml" "{type: wms, url: \"$WMS\", layers: ortho, format: $WMS_FORMAT, crs: EPSG:3857, version: 1.3.0, max_connections: $CONN}" \
    "$SMALL" "$work/cache-wms" "$work/out"
  rm -rf "$work/cache-wms"
  l=$(load1)
  swath_run "$work/wms.yaml" || exit 1
  echo "chips $R_CHIPS, wall $WALL s, $R_RATE chips/s = $(ratio "$R_RATE" "$A_MED") x (a); model busy $R_MODEL% per instance; fetch stage busy $R_FETCH%; workers: read $R_READ%, compute $R_COMP%, write $R_WRITE% (load $l)"
  grep -E 'fetch:|tiles:|busy:|model ' "$work/run.log" | sed 's/^/  /'
  # Worker time: the model (its busy share per instance; one instance per
  # worker), the rest of compute (chip filling, decoding boxes), reading
  # (waiting for imagery: the fetch, decoding, warping), writing.
  other=$((R_COMP - R_MODEL))
  [ "$other" -lt 0 ] && other=0
  echo "worker time: model $R_MODEL%, other compute $other%, read $R_READ%, write $R_WRITE%, idle $((100 - R_COMP - R_READ - R_WRITE))%"
  if [ "$R_MODEL" -ge 90 ]; then
    echo "bottleneck: the model"
  else
    big=read v=$R_READ
    [ "$other" -gt "$v" ] && big="compute outside the model" v=$other
    [ "$R_WRITE" -gt "$v" ] && big=write v=$R_WRITE
    echo "bottleneck: $big ($v% of worker time; the model is idle $((100 - R_MODEL))% of it)"
  fi
fi

# ---- (d) peak RSS --------------------------------------------------------------
if [ "${SKIP_RSS:-0}" != 1 ]; then
  echo
  job "$work/large.yaml" "$XYZ" "$LARGE" "$work/cache-xyz" "$work/out"
  "$swath" prefetch "$work/large.yaml" --no-progress >"$work/prefetch.log" 2>&1 ||
    { cat "$work/prefetch.log" >&2; exit 1; }
  echo "(d) peak RSS, cached XYZ source"
  printf '%-6s %10s %8s %8s %8s %8s  %s\n' area px chips wall_s chips/s rss_MB load1
  for a in small large; do
    l=$(load1)
    if [ $a = small ]; then swath_run "$work/xyz.yaml"; else swath_run "$work/large.yaml"; fi || exit 1
    side=$([ $a = small ] && echo "$CORE" || echo $((CORE * REPEAT)))
    printf '%-6s %10s %8s %8s %8s %8s  %s  (tiles pasted %s, decoded %s, from the memo %s)\n' $a "${side}x$side" "$R_CHIPS" "$WALL" "$R_RATE" "$RSS_MB" "$l" "$R_PASTED" "$R_DECODED" "$R_MEMO"
    eval "rss_$a=$RSS_MB"
  done
  echo "peak RSS large/small: $(ratio "$rss_large" "$rss_small") (target <= 1.10, and <= 1024 MB)"
fi
exit 0

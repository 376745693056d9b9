#!/usr/bin/env bash
# remote-memory.sh SWATH: peak memory of `swath run` over a remote (XYZ)
# input does not grow with the area. lighttpd serves a WebMercatorQuad tile
# tree (zoom 15, made by swath from a generated SIZExSIZE raster); the same
# convert job (zooms 11-15, metatiling 4, fetch stage on, cold cache) runs
# over a quarter of the tree, then over all of it. Prints tiles written,
# tiles fetched, wall s and peak RSS for both, and the RSS ratio (flat = about 1).
#
# Environment: SIZE (8192), BENCH_WORK (bench/work), CONN (8).
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../tests/integration/servers.sh"
PY=/usr/bin/python3
SIZE=${SIZE:-8192} CONN=${CONN:-8}
work=${BENCH_WORK:-$here/work}/remote-memory
mkdir -p "$work"
src=$work/rgb_$SIZE.tif
RES=$("$PY" -c "print(2 * 20037508.342789244 / 256 / 2 ** 15)")
[ -f "$src" ] || "$PY" "$here/../tests/data/gen_raster.py" rgb "$src" --size "$SIZE" \
  --crs EPSG:3857 --center 950668.45,6002677.99 --res "$RES" >/dev/null
if [ ! -f "$work/doc/xyz/.done" ]; then
  rm -rf "$work/doc"
  printf 'process: convert\ninputs: {image: %s}\nzoom: 15\noutput: {path: %s, format: PNG}\n' \
    "$src" "$work/doc/xyz" >"$work/tree.yaml"
  "$swath" run "$work/tree.yaml" --no-progress >/dev/null 2>&1
  touch "$work/doc/xyz/.done"
fi
servers_start_lighttpd "$work/doc" >/dev/null
read -r W S E N <<<"$(gdalinfo -json "$src" | "$PY" -c '
import json, sys
c = json.load(sys.stdin)["wgs84Extent"]["coordinates"][0]
xs = [p[0] for p in c]; ys = [p[1] for p in c]
print(min(xs), min(ys), max(xs), max(ys))')"
bench_machine
printf '%-8s %8s %8s %8s %8s\n' area tiles fetched wall_s rss_MB
for part in quarter full; do
  if [ $part = quarter ]; then
    b="[$W, $S, $(echo "($W + $E) / 2" | bc -l), $(echo "($S + $N) / 2" | bc -l)]"
  else
    b="[$W, $S, $E, $N]"
  fi
  rm -rf "$work/cache" "$work/out"
  cat >"$work/job.yaml" <<YAML
process: convert
inputs:
  image: {type: xyz, url: "$SERVERS_URL/xyz/{z}/{x}/{y}.png", zoom: 15, max_connections: $CONN, empty_status: [404]}
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: [11, 15]
area: {bounds: $b, crs: EPSG:4326}
cache: {path: $work/cache}
output: {path: $work/out, format: PNG}
YAML
  measure "$swath" run "$work/job.yaml" --no-progress
  tiles=$(find "$work/out" -name '*.png' | wc -l)
  fetched=$(find "$work/cache" -name '*.png' | wc -l)
  printf '%-8s %8s %8s %8s %8s\n' $part "$tiles" "$fetched" "$WALL" "$RSS_MB"
  eval "rss_$part=$RSS_MB"
done
echo "peak RSS full/quarter: $(ratio "$rss_full" "$rss_quarter")"

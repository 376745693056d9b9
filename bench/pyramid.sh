#!/usr/bin/env bash
# pyramid.sh SWATH: swath run (convert) vs gdal2tiles.py --xyz --processes=2
# on the same 8192x8192 RGB GeoTIFF, zooms 12-17, PNG, side by side.
# Prints tiles/s of each, the ratio, and both peak RSS figures.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=${BENCH_WORK:-$here/work}/pyramid
mkdir -p "$work"
size=${SIZE:-8192}
# gdal2tiles' default resampling; RESAMPLING=bilinear (swath's default) etc.
# runs both tools with another one.
resampling=${RESAMPLING:-average}
src="$work/rgb_$size.tif"
# 1 m pixels in UTM 32N near Zurich: zoom 17 (about 0.8 m at 47 N) is the native level.
[ -f "$src" ] || /usr/bin/python3 "$here/../tests/data/gen_raster.py" rgb "$src" --size "$size" --res 1

cat >"$work/job.yaml" <<YAML
process: convert
inputs: {image: $src}
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: [12, 17]
output: {path: $work/swath, format: PNG, resampling: $resampling}
YAML

bench_machine
rm -rf "$work/swath" "$work/g2t"
measure "$swath" run "$work/job.yaml" --workers 2 --no-progress
s_wall=$WALL s_cpu=$CPU s_rss=$RSS_MB
s_tiles=$(find "$work/swath" -name '*.png' | wc -l)
s_mb=$(find "$work/swath" -name '*.png' -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1e6}')

measure gdal2tiles.py --xyz --processes=2 -z 12-17 -r "$resampling" -w none "$src" "$work/g2t"
g_wall=$WALL g_cpu=$CPU g_rss=$RSS_MB
g_tiles=$(find "$work/g2t" -name '*.png' | wc -l)
g_mb=$(find "$work/g2t" -name '*.png' -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1e6}')

s_rate=$(echo "scale=1; $s_tiles / $s_wall" | bc)
g_rate=$(echo "scale=1; $g_tiles / $g_wall" | bc)
# The tile sets: gdal2tiles also writes fully transparent tiles at the edges
# of the raster's bounding box, which swath skips (no data at all).
only_g=$(cd "$work/g2t" && find . -name '*.png' | sort >"$work/g.txt"; cd "$work/swath" && find . -name '*.png' | sort >"$work/s.txt"; comm -23 "$work/g.txt" "$work/s.txt" | wc -l)
only_s=$(comm -13 "$work/g.txt" "$work/s.txt" | wc -l)
printf '%-12s %8s %8s %10s %8s %8s %8s\n' tool tiles wall_s tiles/s cpu_s rss_MB png_MB
printf '%-12s %8s %8s %10s %8s %8s %8s\n' swath "$s_tiles" "$s_wall" "$s_rate" "$s_cpu" "$s_rss" "$s_mb"
printf '%-12s %8s %8s %10s %8s %8s %8s\n' gdal2tiles "$g_tiles" "$g_wall" "$g_rate" "$g_cpu" "$g_rss" "$g_mb"
echo "tiles only in gdal2tiles: $only_g (empty edge tiles swath does not write), only in swath: $only_s"
echo "ratio (swath tiles/s over gdal2tiles tiles/s): $(ratio "$s_rate" "$g_rate")"

#!/usr/bin/env bash
# hillshade.sh SWATH: swath hillshade vs gdaldem hillshade on an 8000x8000
# Float32 DEM, side by side. swath runs on a grid in the DEM's own CRS and
# resolution (a TileMatrixSet written here), so both compute the same number
# of pixels and no reprojection is involved; output GTiff on both sides.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=${BENCH_WORK:-$here/work}/hillshade
mkdir -p "$work"
size=${SIZE:-8000}
dem="$work/dem_$size.tif"
[ -f "$dem" ] || /usr/bin/python3 "$here/../tests/data/gen_raster.py" dem "$dem" --size "$size" --res 10 --compress NONE

# A one-zoom grid whose pixels are the DEM's pixels.
read -r ox oy <<<"$(gdalinfo -json "$dem" | /usr/bin/python3 -c 'import json,sys; g=json.load(sys.stdin)["geoTransform"]; print(g[0], g[3])')"
tiles=$(( (size + 511) / 512 ))
cat >"$work/tms.json" <<JSON
{"id": "bench", "crs": "http://www.opengis.net/def/crs/EPSG/0/32632",
 "tileMatrices": [{"id": "0", "scaleDenominator": 35714.28571428572, "cellSize": 10,
   "cornerOfOrigin": "topLeft", "pointOfOrigin": [$ox, $oy],
   "tileWidth": 512, "tileHeight": 512, "matrixWidth": $tiles, "matrixHeight": $tiles}]}
JSON
cat >"$work/job.yaml" <<YAML
process: hillshade
inputs: {dem: $dem}
grid: {name: $work/tms.json, metatiling: 4}
zoom: 0
output: {path: $work/swath, format: GTiff, compression: NONE, resampling: near, nodata: 0}
YAML

bench_machine
# Each tool runs REPEAT times (default 3), alternating; the median wall time
# counts (gdaldem's single thread is sensitive to whatever else runs).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
sw=() gw=() sc=() gc=()
for i in $(seq "${REPEAT:-3}"); do
  rm -rf "$work/swath" "$work/gdaldem.tif"
  measure "$swath" run "$work/job.yaml" --workers "$(nproc)" --no-progress
  sw+=("$WALL") sc+=("$CPU") s_rss=$RSS_MB
  measure gdaldem hillshade -q "$dem" "$work/gdaldem.tif"
  gw+=("$WALL") gc+=("$CPU") g_rss=$RSS_MB
done
s_wall=$(median "${sw[@]}") s_cpu=$(median "${sc[@]}")
g_wall=$(median "${gw[@]}") g_cpu=$(median "${gc[@]}")
echo "wall times: swath ${sw[*]}; gdaldem ${gw[*]}"
px=$(( size * size ))
s_rate=$(echo "scale=2; $px / $s_wall / 1000000" | bc)
g_rate=$(echo "scale=2; $px / $g_wall / 1000000" | bc)
printf '%-10s %8s %10s %8s %8s\n' tool wall_s Mpx/s cpu_s rss_MB
printf '%-10s %8s %10s %8s %8s\n' swath "$s_wall" "$s_rate" "$s_cpu" "$s_rss"
printf '%-10s %8s %10s %8s %8s\n' gdaldem "$g_wall" "$g_rate" "$g_cpu" "$g_rss"
echo "ratio (swath px/s over gdaldem px/s): $(ratio "$s_rate" "$g_rate")"

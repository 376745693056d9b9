#!/usr/bin/env bash
# prefetch-cached.sh SWATH [OTHER_SWATH]: `swath prefetch` over a job whose
# tiles are all in the cache already, the case where prefetch checks each
# cached file the way a download is checked (PNG: chunks, CRCs and the zlib
# stream, see src/io/png_check.h) instead of only finding it on disk.
#
# lighttpd (tests/integration/servers.sh) serves an XYZ tree that swath makes
# from a generated SIZE x SIZE RGB GeoTIFF at the resolution of zoom ZMAX; a
# first prefetch fills the cache; then each binary prefetches the fully
# cached job RUNS times. Printed: requests, best and median wall seconds,
# CPU seconds, microseconds per cached tile, and the ratio to OTHER_SWATH
# (for instance a build without the check) when given.
#
# Environment: SIZE (8192), ZMAX (16), ZMIN (14), RUNS (5), BENCH_WORK
# (bench/work).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
swath=$(realpath "${1:-build/swath}")
other=${2:+$(realpath "$2")}
. "$here/lib.sh"
PY=/usr/bin/python3
export GDAL_PAM_ENABLED=NO CPL_LOG_ERRORS=OFF
WORK=${BENCH_WORK:-$here/work}/prefetch-cached
SIZE=${SIZE:-8192} ZMAX=${ZMAX:-16} ZMIN=${ZMIN:-14} RUNS=${RUNS:-5}
rm -rf "$WORK"
mkdir -p "$WORK/doc"
. "$here/../tests/integration/servers.sh"

RES=$("$PY" -c "print(2 * 20037508.342789244 / 256 / 2 ** $ZMAX)")
"$PY" "$here/../tests/data/gen_raster.py" rgb "$WORK/src.tif" --size "$SIZE" --crs EPSG:3857 \
  --center 950668,6002678 --res "$RES" >/dev/null || exit 1
AREA=$("$PY" -c '
import sys
from osgeo import gdal, osr
ds = gdal.Open(sys.argv[1]); gt = ds.GetGeoTransform(); n = ds.RasterXSize
s = osr.SpatialReference(); s.ImportFromEPSG(3857)
t = osr.SpatialReference(); t.ImportFromEPSG(4326); t.SetAxisMappingStrategy(0)
b = osr.CoordinateTransformation(s, t).TransformBounds(gt[0], gt[3] - n * gt[1], gt[0] + n * gt[1], gt[3], 21)
print("[%.9f, %.9f, %.9f, %.9f]" % b)' "$WORK/src.tif")
job() { # job FILE OUT INPUT
  cat >"$1" <<JOB
process: convert
inputs:
  img: $3
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: [$ZMIN, $ZMAX]
area: {bounds: $AREA, crs: EPSG:4326}
cache: {path: $WORK/cache}
output: {path: $2, format: PNG, resampling: near}
JOB
}
job "$WORK/tree.yaml" "$WORK/doc/xyz" "$WORK/src.tif"
"$swath" -q run "$WORK/tree.yaml" --no-progress || exit 1
servers_start_lighttpd "$WORK/doc" || exit 1
job "$WORK/xyz.yaml" "$WORK/out" "{type: xyz, url: \"$SERVERS_URL/xyz/{z}/{x}/{y}.png\", empty_status: [404], max_zoom: $ZMAX}"
"$swath" -q prefetch "$WORK/xyz.yaml" --no-progress || exit 1
n=$(find "$WORK/cache" -name '*.png' | wc -l)
bench_machine
echo "fully cached prefetch: $n cached PNG tiles ($(du -sm "$WORK/cache" | cut -f1) MB), zooms $ZMIN-$ZMAX, $RUNS runs"

# time_prefetch BIN: best and median wall, median CPU over RUNS runs.
time_prefetch() {
  local walls=() cpus=() i
  for i in $(seq "$RUNS"); do
    hits=$(wc -l <"$SERVERS_LOG")
    measure "$1" prefetch "$WORK/xyz.yaml" --no-progress || return 1
    [ "$(wc -l <"$SERVERS_LOG")" = "$hits" ] || { echo "bench: the cached prefetch made requests" >&2; return 1; }
    walls+=("$WALL")
    cpus+=("$CPU")
  done
  BEST=$(printf '%s\n' "${walls[@]}" | sort -n | head -n 1)
  MED=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  MEDCPU=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  printf '%-40s best %6.2f s  median %6.2f s  cpu %6.2f s  %6.0f us/tile\n' "$1" "$BEST" "$MED" \
    "$MEDCPU" "$(echo "$MED * 1000000 / $n" | bc -l)"
}
time_prefetch "$swath" || exit 1
med_swath=$MED
if [ -n "$other" ]; then
  time_prefetch "$other" || exit 1
  echo "ratio (median wall) $(ratio "$med_swath" "$MED")"
fi

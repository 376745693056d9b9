#!/usr/bin/env bash
# png.sh SWATH: swath's PNG encoder against GDAL's PNG driver on the same
# 256x256 RGBA tiles (bench/png_encode.c), each at its default deflate level
# (GDAL 6, swath 6; GDAL_LEVEL and SWATH_LEVEL change them). Tiles
# are cut from the pyramid benchmark's generated RGB raster (smooth synthetic
# imagery) or from RASTER=path (any raster with 3 bands). Prints ms per tile,
# bytes, and both ratios. Environment: TILES (300), BENCH_WORK.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
build=$(dirname "$swath")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"
work=${BENCH_WORK:-$here/work}/png
mkdir -p "$work"
raster=${RASTER:-}
if [ -z "$raster" ]; then
  raster=${BENCH_WORK:-$here/work}/pyramid/rgb_8192.tif
  mkdir -p "$(dirname "$raster")"
  [ -f "$raster" ] || /usr/bin/python3 "$root/tests/data/gen_raster.py" rgb "$raster" --size 8192 --res 1
fi
cc -O2 -std=gnu17 -I"$root/src" -I"$root/include" -o "$work/png_encode" "$here/png_encode.c" "$build/libswathlib.a" \
  $(pkg-config --cflags --libs gdal jansson libdeflate libpng yaml-0.1) -lpthread -lm
bench_machine
"$work/png_encode" "$raster" "${TILES:-300}" "${GDAL_LEVEL:-6}" "${SWATH_LEVEL:-7}"

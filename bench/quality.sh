#!/usr/bin/env bash
# quality.sh SWATH: what swath's JPEG and WEBP tiles cost and keep, on real
# imagery. The pyramid benchmark's job (the real image of real_raster.py,
# zooms 12-17, metatiling 4, 2 workers, bilinear) runs once as PNG (the
# lossless reference) and then as JPEG and WEBP at each quality of QUALITIES
# ("60 75 85 90"; `default` is the job without `quality`). Prints per run:
# wall s, tiles, MB, KB per tile and the PSNR of the RGB samples of every
# tile against the PNG tile at the same place (pixels the PNG marks as
# opaque only; 10 log10(255^2 / mean squared error) over all of them).
# gdal2tiles' default is WEBP quality 75 (it writes no JPEG); GDAL's JPEG and
# WEBP drivers default to 75. Environment: QUALITIES, IMAGE (real, or
# generated), SIZE (8192), BENCH_WORK.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
base=${BENCH_WORK:-$here/work}/pyramid
work=${BENCH_WORK:-$here/work}/quality
mkdir -p "$base" "$work"
size=${SIZE:-8192}
img=${IMAGE:-real}
case $img in
real)
  src=$base/real_$size.tif
  [ -f "$src" ] || /usr/bin/python3 "$here/real_raster.py" "$src" --size "$size" ;;
generated)
  src=$base/rgb_$size.tif
  [ -f "$src" ] || /usr/bin/python3 "$here/../tests/data/gen_raster.py" rgb "$src" --size "$size" --res 1 ;;
*) echo "quality.sh: IMAGE is real or generated, not '$img'" >&2; exit 2 ;;
esac

run() { # run NAME FORMAT [QUALITY]
  local q=${3:+, quality: $3}
  cat >"$work/$1.yaml" <<YAML
process: convert
inputs: {image: $src}
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: [12, 17]
output: {path: $work/$1, format: $2$q}
YAML
  rm -rf "${work:?}/$1"
  measure "$swath" run "$work/$1.yaml" --workers 2 --no-progress
}

bench_machine
echo "image: $src; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run png PNG
printf '%-6s %-8s %7s %6s %8s %8s %8s\n' format quality wall_s tiles MB KB/tile PSNR_dB
WALL=$WALL /usr/bin/python3 - "$work/png" <<'PY'
import os, sys
n = b = 0
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        if f.endswith(".png"):
            n += 1
            b += os.path.getsize(os.path.join(d, f))
print(f"{'PNG':6s} {'-':8s} {os.environ.get('WALL', '-'):>7s} {n:6d} {b / 1e6:8.1f} {b / n / 1024:8.1f} {'lossless':>8s}")
PY
for fmt in JPEG WEBP; do
  for q in ${QUALITIES:-60 75 85 90}; do
    name=${fmt,,}_$q
    if [ "$q" = default ]; then run "$name" "$fmt"; else run "$name" "$fmt" "$q"; fi
    WALL=$WALL /usr/bin/python3 - "$work/png" "$work/$name" "$fmt" "$q" <<'PY'
import math, os, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
ref, out, fmt, q = sys.argv[1:]
ext = {"JPEG": ".jpg", "WEBP": ".webp"}[fmt]
n = b = 0
se = 0.0
count = 0
for d, _, fs in os.walk(out):
    for f in fs:
        if not f.endswith(ext):
            continue
        path = os.path.join(d, f)
        n += 1
        b += os.path.getsize(path)
        r = gdal.Open(os.path.join(ref, os.path.relpath(path, out))[: -len(ext)] + ".png").ReadAsArray()
        t = gdal.Open(path).ReadAsArray()
        if t.shape[0] == 1 or t.shape[0] == 2:  # grey (never for these RGB jobs)
            t = np.repeat(t[:1], 3, axis=0)
        opaque = r[3] == 255
        diff = r[:3].astype(np.float64) - t[:3].astype(np.float64)
        se += float((diff[:, opaque] ** 2).sum())
        count += 3 * int(opaque.sum())
psnr = 10 * math.log10(255**2 / (se / count)) if se else float("inf")
print(f"{fmt:6s} {q:8s} {os.environ['WALL']:>7s} {n:6d} {b / 1e6:8.1f} {b / n / 1024:8.1f} {psnr:8.2f}")
PY
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

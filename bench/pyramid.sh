#!/usr/bin/env bash
# pyramid.sh SWATH: swath run (convert, metatiling 4, 2 workers) against
# gdal2tiles.py --xyz --processes=2 on the same 8192x8192 RGB GeoTIFF, zooms
# 12-17, PNG tiles, on two images:
#   generated  gen_raster.py's smooth synthetic RGB, 1 m pixels (9 KB tiles)
#   real       real_raster.py's mosaic of photographs from Debian's
#              lomiri-wallpapers-16.04, 1.2 m pixels (about 35 KB tiles,
#              like aerial or satellite imagery)
# each in two modes:
#   default    each tool with its own default resampling (swath bilinear,
#              gdal2tiles average) and its own default PNG level
#   bilinear   both tools with bilinear
# The runs alternate, swath then gdal2tiles, PAIRS times (default 5); the
# figures are the medians (the machine is shared: single runs are not worth
# comparing). Prints per tool: tiles, median wall s, tiles/s, median CPU s,
# peak RSS, PNG MB, KB per tile, bytes against gdal2tiles', and the median
# (and range) of the pairs' tiles/s ratios.
#
# QUICK=1 checks that the script works, in about a minute (SIZE 1024, one
# pair: no figures worth reading).
#
# Environment: IMAGES ("generated real"), MODES ("default bilinear", or
# resampling names run by both tools alike; RESAMPLING=x alone means
# MODES=x), PAIRS (5), LEVELS (swath PNG levels run in each pair besides the
# default, e.g. "1 4 6 9"), FORMAT (PNG, or WEBP: gdal2tiles --tiledriver
# WEBP, both at their default quality), SIZE (8192), BENCH_WORK.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
base=${BENCH_WORK:-$here/work}/pyramid
mkdir -p "$base"
if [ -n "${QUICK:-}" ]; then
  SIZE=${SIZE:-1024} PAIRS=${PAIRS:-1}
fi
size=${SIZE:-8192}
pairs=${PAIRS:-5}
images=${IMAGES:-generated real}
modes=${MODES:-${RESAMPLING:-default bilinear}}
levels=${LEVELS:-}
format=${FORMAT:-PNG}
case $format in
PNG) ext=png g2t_fmt=() ;;
WEBP) ext=webp g2t_fmt=(--tiledriver WEBP) ;;
*) echo "pyramid.sh: FORMAT is PNG or WEBP (gdal2tiles writes no other), not '$format'" >&2; exit 2 ;;
esac

# image NAME: the raster's path (made once, kept in BENCH_WORK); empty when
# it cannot be made here (the reason is printed).
image() {
  local f
  case $1 in
  generated)
    f=$base/rgb_$size.tif
    [ -f "$f" ] || /usr/bin/python3 "$here/../tests/data/gen_raster.py" rgb "$f" --size "$size" --res 1 ;;
  real)
    f=$base/real_$size.tif
    [ -f "$f" ] || /usr/bin/python3 "$here/real_raster.py" "$f" --size "$size" >&2 || {
      echo "skipped: the real image needs Debian's lomiri-wallpapers-16.04 (scripts/install-deps.sh)" >&2
      f=
    } ;;
  *) echo "pyramid.sh: unknown image '$1' (generated, real)" >&2; exit 2 ;;
  esac
  echo "$f"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
count() { find "$1" -name "*.$ext" | wc -l; }
bytes() { find "$1" -name "*.$ext" -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

bench_machine
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-8s %-12s %6s %8s %8s %7s %7s %8s %7s %7s %s\n' image mode tool tiles wall_s tiles/s cpu_s rss_MB "${ext}_MB" KB/tile bytes/g ratio
for img in $images; do
  src=$(image "$img")
  [ -n "$src" ] || continue
  work=$base/$img
  mkdir -p "$work"
  for mode in $modes; do
    variants=(default $levels)
    s_opts=() g_opts=()
    if [ "$mode" != default ]; then
      s_opts=("resampling: $mode")
      g_opts=(-r "$mode")
    fi
    for v in "${variants[@]}"; do
      o=("format: $format" "${s_opts[@]}")
      [ "$v" = default ] || o+=("compression: \"$v\"")
      cat >"$work/job_$v.yaml" <<YAML
process: convert
inputs: {image: $src}
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: [12, 17]
output: {path: $work/swath_$v, $(IFS=,; echo "${o[*]}" | sed 's/,/, /g')}
YAML
    done
    declare -A wall=() cpu=() rss=() rate=() ratios=() tiles=() size_b=()
    for ((p = 1; p <= pairs; p++)); do
      for v in "${variants[@]}"; do
        rm -rf "$work/swath_$v"
        measure "$swath" run "$work/job_$v.yaml" --workers 2 --no-progress
        wall[$v]+=" $WALL" cpu[$v]+=" $CPU" rss[$v]+=" $RSS_MB"
        tiles[$v]=$(count "$work/swath_$v") size_b[$v]=$(bytes "$work/swath_$v")
        rate[$v]+=" $(echo "scale=3; ${tiles[$v]} / $WALL" | bc)"
      done
      rm -rf "$work/g2t"
      measure gdal2tiles.py --xyz --processes=2 -z 12-17 "${g_opts[@]}" "${g2t_fmt[@]}" -w none "$src" "$work/g2t"
      wall[g]+=" $WALL" cpu[g]+=" $CPU" rss[g]+=" $RSS_MB"
      tiles[g]=$(count "$work/g2t") size_b[g]=$(bytes "$work/g2t")
      g_rate=$(echo "scale=3; ${tiles[g]} / $WALL" | bc)
      for v in "${variants[@]}"; do
        r=${rate[$v]##* }
        ratios[$v]+=" $(echo "scale=3; $r / $g_rate" | bc)"
      done
    done
    row() { # row TOOL KEY
      local k=$2 w
      w=$(median ${wall[$k]})
      printf '%-9s %-8s %-12s %6s %8s %8.1f %7s %7s %8.1f %7.1f %7.3f %s\n' "$img" "$mode" "$1" "${tiles[$k]}" "$w" \
        "$(echo "${tiles[$k]} / $w" | bc -l)" "$(median ${cpu[$k]})" "$(range ${rss[$k]})" \
        "$(echo "${size_b[$k]} / 1000000" | bc -l)" "$(echo "${size_b[$k]} / ${tiles[$k]} / 1024" | bc -l)" \
        "$(echo "${size_b[$k]} / ${size_b[g]}" | bc -l)" "${3:-}"
    }
    row gdal2tiles g
    for v in "${variants[@]}"; do
      label=swath
      [ "$v" = default ] || label="swath -c $v"
      row "$label" "$v" "$(median ${ratios[$v]})x ($(range ${ratios[$v]}); walls:${wall[$v]} vs${wall[g]})"
    done
    (cd "$work/g2t" && find . -name "*.$ext" | sort) >"$work/g.txt"
    (cd "$work/swath_default" && find . -name "*.$ext" | sort) >"$work/s.txt"
    echo "  tiles only in gdal2tiles: $(comm -23 "$work/g.txt" "$work/s.txt" | wc -l) (empty edge tiles swath does not write), only in swath: $(comm -13 "$work/g.txt" "$work/s.txt" | wc -l)"
    unset wall cpu rss rate ratios tiles size_b
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# count.sh SWATH [BASE]: how long counting a job's tiles takes, through
# `swath tiles --count` (what `swath run` counts its tasks with): the world
# (a box) at zooms 0-14 and 0-24, bounds across the antimeridian (two boxes)
# at zooms 0-24, and two country-sized polygons at zooms 18
# and 20 (tests/data/gen_boundaries.py over Switzerland's box: "many" has
# 2,400 features of ~160 vertices, "dense" 96 features of ~12,000 vertices).
# Each command is given TIMEOUT seconds (default 300): a BASE that walks the
# tiles shows ">300" for the world at zoom 24. Prints the median wall and
# CPU seconds of REPEAT (3) runs and the count, which must agree.
set -uo pipefail
swath=$(realpath "${1:-build/swath}")
base=${2:+$(realpath "$2")}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=${BENCH_WORK:-$here/work}/area
mkdir -p "$work"
repeat=${REPEAT:-3}
limit=${TIMEOUT:-300}
boundary_files "$work"

# one BIN ARGS...: median WALL/CPU of REPEAT runs (one run if it timed out) and the count N.
one() {
  local bin=$1 walls="" cpus="" log out rc
  shift
  log=$(mktemp)
  for _ in $(seq "$repeat"); do
    out=$(/usr/bin/time -f '%e %U %S' -o "$log" timeout "$limit" "$bin" tiles "$@" --count 2>/dev/null)
    rc=$?
    if [ $rc -ne 0 ]; then
      WALL=">$limit" CPU="-" N="-"
      [ $rc -ne 124 ] && N="exit $rc"
      rm -f "$log"
      return 0
    fi
    read -r w u s <"$log"
    walls="$walls$w"$'\n'
    cpus="$cpus$(echo "$u + $s" | bc)"$'\n'
    N=$out
  done
  WALL=$(printf '%s' "$walls" | median)
  CPU=$(printf '%s' "$cpus" | median)
  rm -f "$log"
}

bench_machine
printf '%-34s %-6s %8s %8s %18s\n' case build wall_s cpu_s tiles
row() { # row NAME ARGS...
  local name=$1 b bin
  shift
  for b in swath ${base:+base}; do
    bin=$swath
    [ "$b" = base ] && bin=$base
    one "$bin" "$@"
    printf '%-34s %-6s %8s %8s %18s\n' "$name" "$b" "$WALL" "$CPU" "$N"
  done
}
row "world, WebMercatorQuad z0-14" --grid WebMercatorQuad --zoom 0-14 --bounds -180,-90,180,90
row "world, WebMercatorQuad z0-24" --grid WebMercatorQuad --zoom 0-24 --bounds -180,-90,180,90
row "world, WorldCRS84Quad z0-24, m8" --grid WorldCRS84Quad --zoom 0-24 --metatiling 8 \
  --bounds -180,-90,180,90
row "bounds across the antimeridian, z0-24" --grid WebMercatorQuad --zoom 0-24 \
  --bounds 170,-60,-170,60
row "many (2400 polygons), z18" --grid WebMercatorQuad --zoom 18 --area "$work/many.gpkg"
row "dense (1.1 M vertices), z18" --grid WebMercatorQuad --zoom 18 --area "$work/dense.gpkg"
row "dense (1.1 M vertices), z20" --grid WebMercatorQuad --zoom 20 --area "$work/dense.gpkg"

#!/usr/bin/env bash
# area.sh SWATH [BASE]: how long building an area from a big boundary file
# takes, through `swath tiles --count` (the area a run plans with: read,
# made valid, unioned, moved into the grid CRS, then the tiles counted).
# Two files from tests/data/gen_boundaries.py, both in EPSG:4326 over
# Switzerland's box: "many" has 2,400 features of ~160 vertices (communes),
# "dense" 96 features of ~12,000 vertices (cantons drawn finely, 1.1 M
# vertices in all). With BASE (another swath binary, e.g. a build of an
# earlier commit) both run REPEAT (3) times, alternating, and the medians are
# compared. Prints wall and CPU seconds, peak RSS and the tile counts.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
base=${2:+$(realpath "$2")}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=${BENCH_WORK:-$here/work}/area
mkdir -p "$work"
repeat=${REPEAT:-3}
zoom=${ZOOM:-14}
boundary_files "$work"

bench_machine
printf '%-8s %-6s %8s %8s %8s %8s\n' file build wall_s cpu_s rss_MB tiles
for f in many dense; do
  builds="swath"
  [ -n "$base" ] && builds="swath base"
  for b in $builds; do : >"$work/$f.$b.wall"; : >"$work/$f.$b.cpu"; done
  for _ in $(seq "$repeat"); do
    for b in $builds; do
      bin=$swath
      [ "$b" = base ] && bin=$base
      measure "$bin" tiles --grid WebMercatorQuad --zoom "$zoom" --area "$work/$f.gpkg" --count
      echo "$WALL" >>"$work/$f.$b.wall"
      echo "$CPU" >>"$work/$f.$b.cpu"
      echo "$RSS_MB" >"$work/$f.$b.rss"
    done
  done
  for b in $builds; do
    bin=$swath
    [ "$b" = base ] && bin=$base
    "$bin" tiles --grid WebMercatorQuad --zoom "$zoom" --area "$work/$f.gpkg" --count >"$work/$f.$b.n" 2>/dev/null
    printf '%-8s %-6s %8s %8s %8s %8s\n' "$f" "$b" "$(median <"$work/$f.$b.wall")" \
      "$(median <"$work/$f.$b.cpu")" "$(cat "$work/$f.$b.rss")" "$(cat "$work/$f.$b.n")"
  done
  if [ -n "$base" ]; then
    echo "$f: ratio of median CPU seconds (swath over base): $(ratio "$(median <"$work/$f.swath.cpu")" \
      "$(median <"$work/$f.base.cpu")")"
  fi
done

#!/usr/bin/env bash
# test_job_size.sh: how big a job is, known at once (issue 16, point 6).
#
#  - `swath tiles --count` is arithmetic: the world at zooms 0-24 (3.75e14
#    tiles), in both built-in grids and with metatiles, answers within a
#    generous `timeout` (a walk took hours) with the number Python computes;
#    a lon/lat box at zoom 24 gives the tile range of mercantile's formulas;
#    a country-sized polygon (shared wiggly borders, holes, multipolygons)
#    at zoom 18 ends too, between the polygon's surface in tiles and its
#    bbox's tiles; at walkable zooms its count equals the tiles listed.
#  - A job with a remote (XYZ) input and no area over the whole grid at zoom
#    18 is refused by `swath run` and `swath prefetch`: exit 2, one line that
#    says how many tiles and how to go ahead; no output folder, no request
#    to the server. A small one (zoom 2) says what it covers and runs; one
#    with an area says nothing of the kind.
#  - With --yes the same job starts at once: the warning, the task count and
#    a progress bar appear, and the server is asked, within the 5 s it is
#    given before SIGINT (before: counting the tasks first took the 5 s and
#    more, with nothing shown and nothing asked).
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"
require_swath

# ---- swath tiles --count ----------------------------------------------------
# count NAME EXPECTED ARGS...: swath tiles ARGS --count within 20 s.
count() {
  local name=$1 want=$2 out rc
  shift 2
  out=$(timeout 20 "$SWATH" tiles "$@" --count 2>&1)
  rc=$?
  check_eq "$name" "0 $want" "$rc $out"
}
WORLD=(--bounds -180,-90,180,90)
count "WebMercatorQuad, the world at zooms 0-24" \
  "$("$PY" -c 'print(sum(4**z for z in range(25)))')" --grid WebMercatorQuad --zoom 0-24 "${WORLD[@]}"
count "WebMercatorQuad, the world at zooms 0-24 in 8x8 metatiles" \
  "$("$PY" -c 'print(sum((-(-2**z // 8))**2 for z in range(25)))')" \
  --grid WebMercatorQuad --zoom 0-24 --metatiling 8 "${WORLD[@]}"
count "WorldCRS84Quad, the world at zooms 0-24" \
  "$("$PY" -c 'print(sum(2**(2*z+1) for z in range(25)))')" --grid WorldCRS84Quad --zoom 0-24 "${WORLD[@]}"
count "WorldCRS84Quad, the world at zooms 0-24 in 4x4 metatiles" \
  "$("$PY" -c 'print(sum((-(-2**(z+1) // 4)) * (-(-2**z // 4)) for z in range(25)))')" \
  --grid WorldCRS84Quad --zoom 0-24 --metatiling 4 "${WORLD[@]}"
# A lon/lat box at zoom 24: the columns and rows of mercantile's formulas.
BOX_WANT=$("$PY" - <<'EOF'
import math
w, s, e, n, z = 5.9, 45.8, 10.5, 47.8, 24
def xy(lon, lat):
    k = 2 ** z
    x = (lon + 180) / 360 * k
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * k
    return x, y
x0, y0 = xy(w, n)
x1, y1 = xy(e, s)
print((math.ceil(x1) - math.floor(x0)) * (math.ceil(y1) - math.floor(y0)))
EOF
)
count "WebMercatorQuad, a lon/lat box at zoom 24" "$BOX_WANT" --grid WebMercatorQuad --zoom 24 \
  --bounds 5.9,45.8,10.5,47.8

# A country: gen_boundaries.py over Switzerland's box (units sharing wiggly
# borders, a lake, bow-ties, multipolygons).
"$PY" "$SWATH_SRC/tests/data/gen_boundaries.py" "$WORK/country.gpkg" --format GPKG \
  --bounds 5.9,45.8,10.5,47.8 --nx 6 --ny 4 --vertices 200 >"$WORK/gen.log" 2>&1 ||
  die "generate the country" "$(cat "$WORK/gen.log")"
out=$(timeout 120 "$SWATH" tiles --grid WebMercatorQuad --zoom 18 --area "$WORK/country.gpkg" --count 2>&1)
rc=$?
check_eq "a country-sized polygon at zoom 18 is counted (within 120 s)" 0 "$rc"
check_py "the country's zoom 18 count lies between its surface and its bbox in tiles" \
  "$WORK/country.gpkg" "$out" <<'EOF'
import sys
from osgeo import ogr, osr
ogr.UseExceptions()
ds = ogr.Open(sys.argv[1])
merc = osr.SpatialReference()
merc.ImportFromEPSG(3857)
u = None
for lyr in ds:
    ct = osr.CoordinateTransformation(lyr.GetSpatialRef(), merc)
    for f in lyr:
        g = f.GetGeometryRef().Clone()
        g.Transform(ct)
        g = g.MakeValid()
        u = g if u is None else u.Union(g)
tile = 2 * 20037508.342789244 / 2 ** 18
minx, maxx, miny, maxy = u.GetEnvelope()
low = u.GetArea() / tile ** 2
high = (maxx - minx) / tile * (maxy - miny) / tile + 2 * ((maxx - minx) + (maxy - miny)) / tile + 4
n = int(sys.argv[2])
print("surface %.0f, count %d, bbox %.0f tiles" % (low, n, high))
sys.exit(0 if low <= n <= high else 1)
EOF
for grid in WebMercatorQuad WorldCRS84Quad; do
  for m in 1 2 4 8; do
    listed=$("$SWATH" tiles --grid $grid --zoom 8-12 --metatiling $m --area "$WORK/country.gpkg" | wc -l)
    count "$grid m$m: the country's count at zooms 8-12 = the tiles listed" "$listed" \
      --grid $grid --zoom 8-12 --metatiling $m --area "$WORK/country.gpkg"
  done
done

# ---- a remote job without area ----------------------------------------------
mkdir -p "$WORK/doc"
servers_start_lighttpd "$WORK/doc" || die "lighttpd starts"
job() { # job NAME ZOOM [AREA-LINE]
  cat >"$WORK/$1.yaml" <<JOB
process: convert
inputs:
  img: {type: xyz, url: "$SERVERS_URL/{z}/{x}/{y}.png", zoom: $2, empty_status: [404], rate_limit: 40}
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [$2, $2]
${3:-}
cache: {path: $WORK/cache}
output: {path: $WORK/out-$1, format: PNG}
JOB
}
job world 18
for cmd in run prefetch; do
  # (a timeout: before the check, the job went on counting its tasks for hours)
  timeout 60 "$SWATH" $cmd "$WORK/world.yaml" --no-progress >"$WORK/run.out" 2>"$WORK/run.err"
  check_eq "$cmd: a remote job without area over the world at zoom 18 is refused (exit 2)" 2 $?
  check_eq "$cmd: ... with one line" 1 "$(wc -l <"$WORK/run.err")"
  if grep -q "no area, so the job covers the whole grid WebMercatorQuad: 68719476736 tiles at zoom 18.*--yes" \
    "$WORK/run.err"; then
    pass "$cmd: ... that says how many tiles, over what, and how to go ahead"
  else
    fail "$cmd: ... that says how many tiles, over what, and how to go ahead" "$(cat "$WORK/run.err")"
  fi
  check_eq "$cmd: ... writes no output folder" no "$([ -e "$WORK/out-world" ] && echo yes || echo no)"
  check_eq "$cmd: ... and asks the server nothing" 0 "$(servers_hits)"
done
job small 2
check_run "run: a remote job without area at zoom 2 (16 tiles) goes ahead" 0 \
  run "$WORK/small.yaml" --no-progress
if grep -q "no area: 16 tiles at zoom 2 over the whole grid WebMercatorQuad" "$WORK/run.err"; then
  pass "run: ... and says what it covers"
else
  fail "run: ... and says what it covers" "$(cat "$WORK/run.err")"
fi
# Bad input found after the size check still gets one line: what the job
# covers is said once it starts, not while it is checked.
sed -e "s|output: {path: [^,]*,|output: {path: $WORK/small.yaml/out,|" "$WORK/small.yaml" >"$WORK/bad.yaml"
check_run "run: ... an unwritable output is refused (exit 2)" 2 run "$WORK/bad.yaml" --no-progress
check_eq "run: ... with one line on stderr" 1 "$(wc -l <"$WORK/run.err")"
job boxed 18 "area: {bounds: [8.5, 47.37, 8.51, 47.38]}"
check_run "prefetch: a remote job with an area at zoom 18 goes ahead" 0 \
  prefetch "$WORK/boxed.yaml" --no-progress
check_eq "prefetch: ... without a word about the area" 0 "$(grep -c "no area" "$WORK/run.err")"

# ---- --yes: it starts at once -------------------------------------------------
for cmd in run prefetch; do
  label=tasks
  [ $cmd = prefetch ] && label=requests
  before=$(servers_hits)
  timeout -s INT 5 "$SWATH" $cmd "$WORK/world.yaml" --yes --progress >"$WORK/yes.out" 2>"$WORK/yes.err"
  tr '\r' '\n' <"$WORK/yes.err" >"$WORK/yes.log"
  if grep -q "warning: .*no area: 68719476736 tiles at zoom 18 .*(--yes)" "$WORK/yes.log"; then
    pass "$cmd --yes: warns what it is about to do"
  else
    fail "$cmd --yes: warns what it is about to do" "$(head -5 "$WORK/yes.log")"
  fi
  if grep -q "68719476736 \(tasks\|process tiles\) at zoom" "$WORK/yes.log"; then
    pass "$cmd --yes: says how many tasks at once"
  else
    fail "$cmd --yes: says how many tasks at once" "$(head -5 "$WORK/yes.log")"
  fi
  if grep -q "^\[[#.]*\] .*/[~]*[0-9]* $label" "$WORK/yes.log"; then
    pass "$cmd --yes: draws its progress bar within the 5 s"
  else
    fail "$cmd --yes: draws its progress bar within the 5 s" "$(head -8 "$WORK/yes.log")"
  fi
  after=$(servers_hits)
  if [ "$after" -gt "$before" ]; then
    pass "$cmd --yes: asks the server within the 5 s ($((after - before)) requests)"
  else
    fail "$cmd --yes: asks the server within the 5 s" "$(tail -5 "$WORK/yes.log")"
  fi
  if grep -q "interrupted; run the same command again" "$WORK/yes.log"; then
    pass "$cmd --yes: stops cleanly on SIGINT"
  else
    fail "$cmd --yes: stops cleanly on SIGINT" "$(tail -5 "$WORK/yes.log")"
  fi
done

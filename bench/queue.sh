#!/usr/bin/env bash
# queue.sh SWATH: the PostgreSQL queue's planner and a worker's memory
# estimate (issue 19, points 2 and 6). Starts its own PostgreSQL 15 in
# BENCH_WORK (loopback, fsync off), stopped at the end.
#
#  (1) planning: `swath submit` of a job of about 10^8 output tiles (convert
#      of a small world raster, WebMercatorQuad zooms 0-14 over part of the
#      world, metatiling 8), once with overviews (cells + overview tasks)
#      and once without (every metatile of every zoom a task): wall time,
#      tasks, rows/s and peak RSS of the submit (target: under 200 MB).
#  (2) memory: for three jobs (hillshade of a DEM, convert of an RGB
#      raster at metatiling 8, convert from a remote XYZ service) the
#      estimate of `swath plan --workers W --json` against the peak RSS of
#      one `swath worker --workers W` that drains the job alone (target:
#      within 30%).
#
# Environment: BENCH_WORK (bench/work), W (2), ZMAX (14), SKIP_PLAN=1, SKIP_MEMORY=1.
set -euo pipefail
swath=$(realpath "${1:-build/swath}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../tests/integration/servers.sh"
PY=/usr/bin/python3
GEN="$PY $here/../tests/data/gen_raster.py"
W=${W:-2} ZMAX=${ZMAX:-14}
work=${BENCH_WORK:-$here/work}/queue
rm -rf "$work/pg" "$work/out"
mkdir -p "$work/data" "$work/out"

# ---- PostgreSQL -------------------------------------------------------------
pgbin=/usr/lib/postgresql/15/bin
as=()
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$work/pg"
  chown postgres "$work/pg"
  as=(runuser -u postgres --)
fi
"${as[@]}" "$pgbin/initdb" -D "$work/pg/data" -A trust -U swath >/dev/null
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
  -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
trap '"${as[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; servers_stop 2>/dev/null || true' EXIT
psql -h 127.0.0.1 -p "$port" -U swath -d postgres -qc "CREATE DATABASE swath" >/dev/null
DB="host=127.0.0.1 port=$port user=swath dbname=swath"

bench_machine
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- (1) planning -----------------------------------------------------------
if [ "${SKIP_PLAN:-0}" != 1 ]; then
  [ -f "$work/data/world.tif" ] || $GEN rgb "$work/data/world.tif" --size 1024 --crs EPSG:4326 \
    --center 0,0 --res 0.3515625 >/dev/null
  echo
  echo "(1) swath submit of a job of about 10^8 tiles (zooms 0-$ZMAX, metatiling 8)"
  printf '%-10s %12s %10s %8s %10s %8s\n' variant tiles tasks wall_s tasks/s rss_MB
  for variant in cells every; do
    ov=""
    [ $variant = every ] && ov=", overviews: false"
    cat >"$work/plan-$variant.yaml" <<EOF
process: convert
inputs: {img: data/world.tif}
grid: {name: WebMercatorQuad, metatiling: 8}
zoom: [0, $ZMAX]
area: {bounds: [-180, -60, 10, 75], crs: EPSG:4326}
output: {path: out/plan-$variant, format: PNG$ov}
EOF
    tiles=$("$swath" plan "$work/plan-$variant.yaml" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tiles"])')
    /usr/bin/time -f '%e %M' -o "$work/time.txt" "$swath" submit "$work/plan-$variant.yaml" --db "$DB" \
      >"$work/id.txt" 2>"$work/submit.log" || { cat "$work/submit.log" >&2; exit 1; }
    read -r wall rss <"$work/time.txt"
    tasks=$(sed -n 's/.*: \([0-9]*\) tasks queued.*/\1/p' "$work/submit.log")
    printf '%-10s %12s %10s %8s %10s %8s\n' $variant "$tiles" "$tasks" "$wall" \
      "$(echo "$tasks / $wall" | bc)" $((rss / 1024))
  done
fi

# ---- (2) memory -------------------------------------------------------------
if [ "${SKIP_MEMORY:-0}" != 1 ]; then
  [ -f "$work/data/dem.tif" ] || $GEN dem "$work/data/dem.tif" --size 4096 >/dev/null
  [ -f "$work/data/rgb.tif" ] || $GEN rgb "$work/data/rgb.tif" --size 8192 >/dev/null
  # The XYZ service: zoom-15 PNG tiles of a Zurich raster, made by swath.
  xres=$("$PY" -c "print(2 * 20037508.342789244 / 256 / 2 ** 15)")
  [ -f "$work/data/zurich.tif" ] || $GEN rgb "$work/data/zurich.tif" --size 4096 --crs EPSG:3857 \
    --center 950668.45,6002677.99 --res "$xres" >/dev/null
  if [ ! -f "$work/doc/xyz/.done" ]; then
    rm -rf "$work/doc"
    printf 'process: convert\ninputs: {image: %s}\nzoom: 15\noutput: {path: %s, format: PNG}\n' \
      "$work/data/zurich.tif" "$work/doc/xyz" >"$work/tree.yaml"
    "$swath" run "$work/tree.yaml" --no-progress >/dev/null 2>&1
    touch "$work/doc/xyz/.done"
  fi
  servers_start_lighttpd "$work/doc" >/dev/null
  cat >"$work/hillshade.yaml" <<EOF
process: hillshade
inputs: {dem: data/dem.tif}
grid: {name: WebMercatorQuad, metatiling: 4, pixel_buffer: 1}
zoom: [9, 15]
output: {path: out/hillshade, format: PNG}
EOF
  cat >"$work/convert.yaml" <<EOF
process: convert
inputs: {img: data/rgb.tif}
grid: {name: WebMercatorQuad, metatiling: 8}
zoom: [10, 16]
output: {path: out/convert, format: PNG}
EOF
  cat >"$work/remote.yaml" <<EOF
process: convert
inputs:
  img: {type: xyz, url: "$SERVERS_URL/xyz/{z}/{x}/{y}.png", zoom: 15, empty_status: [404]}
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: [11, 15]
area: {bounds: [8.45, 47.32, 8.63, 47.43], crs: EPSG:4326}
cache: {path: $work/cache}
output: {path: out/remote, format: PNG}
EOF
  echo
  echo "(2) a worker's peak memory: swath plan's estimate against one swath worker --workers $W draining the job"
  printf '%-10s %10s %12s %12s %8s\n' job tasks estimate_MB measured_MB ratio
  for j in hillshade convert remote; do
    rm -rf "$work/cache" "$work/out/$j"
    est=$("$swath" plan "$work/$j.yaml" --workers "$W" --json |
      "$PY" -c 'import json,sys; print(json.load(sys.stdin)["memory"]["total"] // 1048576)')
    id=$("$swath" submit "$work/$j.yaml" --db "$DB" 2>"$work/submit.log")
    tasks=$(sed -n 's/.*: \([0-9]*\) tasks queued.*/\1/p' "$work/submit.log")
    measure "$swath" worker --db "$DB" --job "$id" --workers "$W"
    printf '%-10s %10s %12s %12s %8s\n' $j "$tasks" "$est" "$RSS_MB" "$(ratio "$est" "$RSS_MB")"
  done
fi

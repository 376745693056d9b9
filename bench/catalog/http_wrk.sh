#!/usr/bin/env bash
# http_wrk.sh SWATH CATALOG: the HTTP part of the catalog benchmark (run.sh
# calls it): `swath serve --threads 2` on the catalog, 5 s of warm-up, then
# 20 s of `wrk -t2 -c32` each for random 2x2 boxes with a one-month window
# (10-item pages) and for the first page of the collection's items.
# Requests/s and latency as wrk prints them; both outputs are also left in
# $WRK_OUT (default: the catalog's folder) as wrk.out and wrk_items.out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
swath=$1 db=$2
out=${WRK_OUT:-$(dirname "$db")}
log=$(mktemp)
"$swath" serve --catalog "$db" --port 0 --threads 2 2>"$log" &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -f "$log"' EXIT
port=$(wait_port "$log")
search_mix_lua "$out/wrk.lua"
wrk -t2 -c32 -d5s -s "$out/wrk.lua" "http://127.0.0.1:$port" >/dev/null # warm-up
wrk -t2 -c32 -d20s --latency -s "$out/wrk.lua" "http://127.0.0.1:$port" | tee "$out/wrk.out"
wrk -t2 -c32 -d20s --latency "http://127.0.0.1:$port/collections/sentinel-2-l1c/items?limit=10" | tee "$out/wrk_items.out"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

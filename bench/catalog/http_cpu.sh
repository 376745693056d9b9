#!/usr/bin/env bash
# http_cpu.sh SWATH CATALOG [SECONDS]: server CPU time per request for the
# benchmark's request mix (random 2x2 boxes, one-month windows, 10-item
# pages: the wrk script run.sh writes), one connection at a time, then
# requests/s with wrk -t2 -c32 as run.sh measures. CPU per request (from
# /proc/PID/stat) is the steadier figure on a shared machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
swath=$1 db=$2 secs=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
lua=$(mktemp --suffix=.lua)
search_mix_lua "$lua"
"$swath" serve --catalog "$db" --port 0 --threads 2 2>"$log" &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -f "$log" "$lua"' EXIT
port=$(wait_port "$log")
url="http://127.0.0.1:$port"
ticks() { awk '{print $14 + $15}' "/proc/$srv/stat"; }
sys() { awk '{print $15}' "/proc/$srv/stat"; }
hz=$(getconf CLK_TCK)
wrk -t1 -c1 -d3s -s "$lua" "$url" >/dev/null # warm-up
t0=$(ticks) s0=$(sys)
out=$(wrk -t1 -c1 -d"${secs}s" -s "$lua" "$url")
t1=$(ticks) s1=$(sys)
n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
echo "one connection: $n requests, $(echo "$out" | sed -n 's/Requests\/sec: *//p') requests/s, server CPU $(echo "scale=3; ($t1 - $t0) * 1000 / $hz / $n" | bc) ms per request ($(echo "scale=3; ($s1 - $s0) * 1000 / $hz / $n" | bc) system)"
t0=$(ticks) s0=$(sys)
out=$(wrk -t2 -c32 -d"${secs}s" --latency -s "$lua" "$url")
t1=$(ticks) s1=$(sys)
n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
echo "wrk -t2 -c32: $(echo "$out" | sed -n 's/Requests\/sec: *//p') requests/s, p50 $(echo "$out" | awk '$1=="50%"{print $2}'), p99 $(echo "$out" | awk '$1=="99%"{print $2}'), server CPU $(echo "scale=3; ($t1 - $t0) * 1000 / $hz / $n" | bc) ms per request ($(echo "scale=3; ($s1 - $s0) * 1000 / $hz / $n" | bc) system); load: $(cut -d' ' -f1-3 /proc/loadavg)"

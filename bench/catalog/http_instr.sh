#!/usr/bin/env bash
# http_instr.sh SWATH CATALOG [N]: instructions per request (callgrind,
# counted inside the request handler only) for N (default 300) requests of
# the benchmark's mix (random 2x2 boxes, one-month windows, 10-item pages)
# over one keep-alive connection. Deterministic, unlike CPU time on a
# shared machine: use it to compare two builds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
swath=$1 db=$2 n=${3:-300}
tmp=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=on_request \
  --callgrind-out-file="$tmp/cg.out" "$swath" serve --catalog "$db" --port 0 --threads 2 2>"$tmp/log" &
srv=$!
port=$(wait_port "$tmp/log" 300)
python3 - "$port" "$n" >"$tmp/urls" <<'PY'
import random, sys
port, n = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
for _ in range(n):
    w = -170 + r.random() * 338
    s = -50 + r.random() * 118
    y = 2016 + r.randint(0, 8)
    m = r.randint(1, 12)
    print(f"url = \"http://127.0.0.1:{port}/search?bbox={w:.3f},{s:.3f},{w+2:.3f},{s+2:.3f}&datetime={y:04d}-{m:02d}-01/{y:04d}-{m:02d}-28&limit=10\"")
    print("output = /dev/null")
PY
curl -s -K "$tmp/urls"
kill -INT $srv
wait $srv 2>/dev/null || true
[ -n "${CG_OUT:-}" ] && cp "$tmp/cg.out" "$CG_OUT"
ir=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$tmp/cg.out" | head -1)
echo "$n requests: $ir instructions in the handler, $((ir / n)) per request"

#!/usr/bin/env bash
# test_fetch_queue.sh: a timeout measures the server, not swath's own queue.
# A slow HTTP/1.1 server (the fault server with --delay-ms) and more
# requests than connections, through swath_fetchcli and a real job:
#
#  1. 8 requests, 4 connections, each answer 1.5 s, timeout 2.5 s: all done;
#     the first 4 requests reach the server before the first answer (no
#     waiting for a connection to offer multiplexing over plain HTTP);
#  2. requests really slower than the timeout once sent (stall faults):
#     they fail as timeouts measured from the request being sent, the others
#     (queued behind them) are done;
#  3. every request slower than the timeout: each attempt reaches the server
#     (server hits == attempts reported) and fails as a timeout of about the
#     configured length, never "Failed to resolve host ... after 0 ms";
#  3b. HTTPS over HTTP/1.1 with connections slow to set up: the timeout
#     counts from the request being sent; the connect timeout still bounds
#     the set-up;
#  4. `swath prefetch` and `swath run` of an xyz job over the slow server
#     (timeout 1.5 s, answers 1 s, 2 connections, 12 tiles, 1 attempt):
#     nothing fails, every tile written; with stall faults the stalled tiles
#     fail as timeouts and the rest are fetched.
. "$(dirname "$0")/lib.sh"
require_swath

FETCHCLI=$SWATH_BUILD_DIR/swath_fetchcli
FS=$SWATH_SRC/tests/faultserver/faultserver.py
[ -x "$FETCHCLI" ] || die "swath_fetchcli built" "not executable: $FETCHCLI"

start_server() { fault_server "$1" 120 "${@:2}"; } # start_server NAME ARGS...: prints the port

fetch() { # fetch NAME ARGS... < requests: $WORK/NAME.tsv, FETCH_RC
  local name=$1
  shift
  "$FETCHCLI" "$@" >"$WORK/$name.tsv" 2>"$WORK/$name.err"
  FETCH_RC=$?
  echo "# $name: $(grep '^stats ' "$WORK/$name.err")"
}

TILES=$WORK/tiles
"$PY" "$FS" make-tiles --out "$TILES" --count 16 --formats png >"$WORK/targets" || die "make tiles"

# ---- 1. slow answers, more requests than connections ----------------------------
P=$(start_server slow --root "$TILES" --delay-ms 1500)
head -8 "$WORK/targets" | awk -v p="$P" '{print "http://127.0.0.1:" p $1, "-"}' >"$WORK/req8"
fetch slow --timeout-ms 2500 --attempts 1 --max-in-flight 8 <"$WORK/req8"
check_eq "slow server, 8 requests on 4 connections, timeout 2.5 s: exit 0" 0 "$FETCH_RC"
check_eq "slow server: all 8 done" 8 "$(grep -c '^done' "$WORK/slow.tsv")"
check_py "slow server: the first 4 requests reach the server before the first answer" \
  "$WORK/slow.log" <<'PY'
import sys
ts = sorted(float(l.split("\t")[0]) for l in open(sys.argv[1]))
print("arrivals: " + " ".join("%.2f" % (t - ts[0]) for t in ts))
sys.exit(0 if len(ts) == 8 and ts[3] - ts[0] < 1.0 else 1)
PY

# ---- 2. a request really slower than the timeout still times out -------------
"$PY" "$FS" plan --seed 4 --fault stall=0.3 --repeat 1 <"$WORK/targets" >"$WORK/plan2"
P=$(start_server stall --root "$TILES" --delay-ms 1000 --seed 4 --fault stall=0.3 --repeat 1 \
  --stall-seconds 4)
awk -v p="$P" '{print "http://127.0.0.1:" p $1, "-"}' "$WORK/targets" >"$WORK/req16"
fetch stall --timeout-ms 2000 --attempts 1 --per-host 2 --max-in-flight 2 <"$WORK/req16"
check_py "stalled requests time out, the rest (queued behind them) are done" \
  "$WORK/plan2" "$WORK/stall.tsv" <<'PY'
import sys, re
plan = {l.split("\t")[0]: l.split("\t")[1] for l in open(sys.argv[1])}
bad = []
nstall = 0
for l in open(sys.argv[2]):
    outcome, cached, attempts, status, url, dest, reason = l.rstrip("\n").split("\t")
    t = "/" + url.split("/", 3)[3]
    if plan[t] == "stall":
        nstall += 1
        m = re.match(r"timeout: .* (\d+) milliseconds", reason)
        if outcome != "failed" or not m or not 2000 <= int(m.group(1)) < 3000:
            bad.append((t, outcome, reason))
    elif outcome != "done":
        bad.append((t, outcome, reason))
print("%d stalled of %d" % (nstall, len(plan)))
for b in bad:
    print(b)
sys.exit(0 if nstall >= 2 and not bad else 1)
PY

# ---- 3. every request slower than the timeout -----------------------------------
P=$(start_server slower --root "$TILES" --delay-ms 1500)
head -6 "$WORK/targets" | awk -v p="$P" '{print "http://127.0.0.1:" p $1, "-"}' >"$WORK/req6"
fetch slower --timeout-ms 1000 --attempts 2 --backoff-base-ms 10 --per-host 2 <"$WORK/req6"
check_eq "too slow for the timeout: exit 1" 1 "$FETCH_RC"
check_py "too slow: every attempt reached the server and timed out after being sent" \
  "$WORK/slower.tsv" "$WORK/slower.log" <<'PY'
import sys, re
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hits = sum(1 for _ in open(sys.argv[2]))
attempts = sum(int(r[2]) for r in rows)
bad = [r for r in rows if r[0] != "failed" or not re.match(
    r"timeout: .* (1\d\d\d) milliseconds .*\(gave up after 2 attempts\)$", r[6])]
print("server hits %d, attempts %d" % (hits, attempts))
for r in bad[:5]:
    print(r)
sys.exit(0 if len(rows) == 6 and attempts == 12 and hits == 12 and not bad else 1)
PY
check "too slow: no attempt fails before it is sent" bash -c "! grep -i resolve '$WORK/slower.tsv'"

# ---- 3b. HTTPS (HTTP/1.1 by ALPN) with a slow connection set-up --------------------
# Each new connection waits 1.5 s before its TLS handshake; answers take
# 0.3 s. Requests wait for the first handshake (to learn whether the host
# multiplexes), then for their own: ~3 s before anything is sent, far past
# the 1.2 s timeout, which counts from the request being sent, not from
# the queue or the connection's set-up (the connect timeout bounds that).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || die "openssl makes a certificate"
P=$(start_server tls --root "$TILES" --delay-ms 300 --tls-cert "$WORK/cert.pem" \
  --tls-key "$WORK/key.pem" --tls-delay-ms 1500)
head -8 "$WORK/targets" | awk -v p="$P" '{print "https://127.0.0.1:" p $1, "-"}' >"$WORK/reqtls"
fetch tls --ca-file "$WORK/cert.pem" --timeout-ms 1200 --connect-timeout-ms 10000 --attempts 1 \
  <"$WORK/reqtls"
check_eq "https, slow connection set-up, timeout 1.2 s: all 8 done (exit 0)" "0 8" \
  "$FETCH_RC $(grep -c '^done' "$WORK/tls.tsv")"
fetch tlsct --ca-file "$WORK/cert.pem" --timeout-ms 1200 --connect-timeout-ms 700 --attempts 1 \
  <"$WORK/reqtls"
check_eq "https, connect timeout 0.7 s shorter than the set-up: all 8 fail as timeouts" 8 \
  "$(grep -cP '^failed\t0\t1\t0\t.*\ttimeout: ' "$WORK/tlsct.tsv")"

# ---- 4. a job over the slow server ---------------------------------------------------
# The 12 tiles x 100-103, y 200-202 of zoom 12 (all served), shrunk a little
# so that no neighbour is touched.
AREA=$("$PY" - <<'PY'
import math
def lon(x): return x / 4096 * 360 - 180
def lat(y): return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 4096))))
e = 1e-4
print("[%.7f, %.7f, %.7f, %.7f]" % (lon(100) + e, lat(203) + e, lon(104) - e, lat(200) - e))
PY
)
jobfile() { # jobfile FILE OUT PORT
  cat >"$1" <<JOB
process: convert
inputs:
  img: {type: xyz, url: "http://127.0.0.1:$3/{z}/{x}/{y}.png", zoom: 12, max_connections: 2,
        timeout: 1.5, max_attempts: 1, empty_status: [404]}
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [12, 12]
area: {bounds: $AREA, crs: EPSG:4326}
cache: {path: $WORK/cache-$(basename "$2")}
output: {path: $2, format: PNG, resampling: near, warp_error: 0}
JOB
}
P=$(start_server jobslow --root "$TILES" --delay-ms 1000)
jobfile "$WORK/slow.yaml" "$WORK/out_slow" "$P"
check_run "job, slow server: prefetch, nothing fails" 0 prefetch "$WORK/slow.yaml" --no-progress
check "job, slow server: prefetch fetched 12" grep -q "12 fetched" "$WORK/run.err"
rm -rf "$WORK/cache-out_slow"
check_run "job, slow server: cold run, nothing fails" 0 run "$WORK/slow.yaml" --no-progress
check_eq "job, slow server: 12 tiles written" 12 "$(find "$WORK/out_slow/12" -name '*.png' | wc -l)"
check_eq "job, slow server: each tile requested once per pass (prefetch + cold run)" 24 \
  "$(wc -l <"$WORK/jobslow.log")"

P=$(start_server jobstall --root "$TILES" --delay-ms 1000 --seed 4 --fault stall=0.3 --repeat 1 \
  --stall-seconds 4)
nstall=$(grep -cE '^/12/10[0-3]/20[0-2]\.png	stall' "$WORK/plan2")
jobfile "$WORK/stall.yaml" "$WORK/out_stall" "$P"
check_run "job, stalled tiles: prefetch exits 1" 1 prefetch "$WORK/stall.yaml" --no-progress
check_eq "job, stalled tiles: those $nstall fail as timeouts" "$nstall" \
  "$(grep -c 'timeout' "$WORK/out_stall/.swath/prefetch-failed.txt")"
check "job, stalled tiles: the other $((12 - nstall)) are fetched" \
  grep -q "$((12 - nstall)) fetched" "$WORK/run.err"

#!/usr/bin/env bash
# test_fetch.sh: the fetcher against the fault-injecting server
# (tests/faultserver/faultserver.py) on loopback, driven by swath_fetchcli.
#
#  1. faults: 300 tiles (PNG/JPEG/WEBP) plus 20 the server lacks, with every
#     fault kind injected (each transient kind at ~10%). The server's `plan`
#     says what each tile must become; every tile ends as predicted (fetched
#     after exactly r retries, empty, or failed with the expected reason),
#     the server saw exactly the attempts the client reports, every cached
#     file decodes and equals the served file byte for byte, nothing failed
#     is cached, 429 Retry-After is honoured (visible in the hit log).
#  2. rerun: everything done or empty before costs zero server hits; two
#     processes filling one cache at once both succeed, nothing corrupt.
#  3. caps: two hosts (127.0.0.1, 127.0.0.2), slow answers: transfers in
#     flight reach but never exceed the per-host and global caps.
#  4. politeness: a per-host request rate, and a 429 pausing the whole host.
#  5. failure budget: a server that refuses everything stops the run early
#     with a clear reason; unreachable host: a clear connect failure.
. "$(dirname "$0")/lib.sh"

FETCHCLI=$SWATH_BUILD_DIR/swath_fetchcli
FS=$SWATH_SRC/tests/faultserver/faultserver.py
[ -x "$FETCHCLI" ] || die "swath_fetchcli built" "not executable: $FETCHCLI"

# start_server NAME ARGS...: a fault server (lib.sh fault_server); waits for its ports.
start_server() { fault_server "$1" 110 "${@:2}" >/dev/null; }

# port NAME [N]: the port of a server's Nth address (1-based).
port() { sed -n "${2:-1}p" "$WORK/$1.ports" | cut -d' ' -f2; }

# fetch NAME ARGS... < requests: run the fetcher; output in $WORK/NAME.tsv,
# stats line in $WORK/NAME.stats, exit status in FETCH_RC.
fetch() {
  local name=$1
  shift
  "$FETCHCLI" "$@" >"$WORK/$name.tsv" 2>"$WORK/$name.err"
  FETCH_RC=$?
  grep '^stats ' "$WORK/$name.err" >"$WORK/$name.stats"
  echo "# $name: $(cat "$WORK/$name.stats")"
}

TILES=$WORK/tiles
"$PY" "$FS" make-tiles --out "$TILES" --count 300 --formats png,jpeg,webp >"$WORK/targets" ||
  die "make tiles"
# 20 targets the server does not have: 404, configured as empty.
for i in $(seq 20); do echo "/12/900/$i.png"; done >>"$WORK/targets"
check_eq "320 targets" 320 "$(wc -l <"$WORK/targets")"

# ---- 1. every fault kind ----------------------------------------------------
FAULTS=(--seed 11 --repeat 3
  --fault 503=0.10 --fault 429=0.06 --fault stall=0.05 --fault reset=0.10
  --fault truncate=0.10 --fault corrupt=0.08 --fault html=0.04 --fault exception=0.04
  --fault 404=0.04 --fault 403=0.03 --fault down=0.02 --fault wrongsize=0.03)
"$PY" "$FS" plan "${FAULTS[@]}" <"$WORK/targets" >"$WORK/plan.tsv"
start_server faults --root "$TILES" --stall-seconds 4 --retry-after 1 "${FAULTS[@]}"
P=$(port faults)
awk -v p="$P" -v c="$WORK/cache" '{print "http://127.0.0.1:" p $1, c $1}' "$WORK/targets" \
  >"$WORK/requests"
CLIENT=(--max-in-flight 8 --per-host 4 --attempts 5 --timeout-ms 2000 --connect-timeout-ms 1000
  --backoff-base-ms 50 --backoff-max-ms 3000 --empty 204,404 --expect 256x256 --seed 3)
T0=$(date +%s.%N)
fetch run1 "${CLIENT[@]}" --no-host-pause <"$WORK/requests"
T1=$(date +%s.%N)
echo "# run1 wall $(echo "$T1 - $T0" | bc) s"
check_eq "faults: exit status 1 (some requests failed for good)" 1 "$FETCH_RC"

py_checks "$WORK" "$TILES" <<'EOF'
import os, sys, collections
from osgeo import gdal
import swt
gdal.UseExceptions()
work, tiles = sys.argv[1], sys.argv[2]
TRANSIENT = {"503", "429", "stall", "reset", "truncate", "corrupt"}
plan = {}
for line in open(work + "/plan.tsv"):
    t, kind, rep, variant = line.rstrip("\n").split("\t")
    plan[t] = (kind, int(rep), int(variant))
port = open(work + "/faults.ports").read().split()[1]
prefix = "http://127.0.0.1:%s" % port
res = {}
dup = 0
for line in open(work + "/run1.tsv"):
    outcome, cached, attempts, status, url, dest, reason = line.rstrip("\n").split("\t")
    t = url[len(prefix):]
    dup += t in res
    res[t] = (outcome, int(attempts), int(status), dest, reason)
swt.check("faults: one result per request, none twice", len(res) == len(plan) and dup == 0,
          "%d results for %d targets, %d twice" % (len(res), len(plan), dup))

hits = collections.Counter()
log = []
for line in open(work + "/faults.log"):
    t, host, target, attempt, answer, ih, ia, ua = line.rstrip("\n").split("\t")
    hits[target] += 1
    log.append((float(t), target, int(attempt), answer, int(ih), ua))

bad, kinds = [], collections.Counter()
for t, (kind, rep, variant) in sorted(plan.items()):
    missing = not os.path.exists(tiles + t)
    outcome, attempts, status, dest, reason = res.get(t, ("absent", 0, 0, "", ""))
    if missing and kind == "none":
        kind = "missing"
    kinds[kind] += 1
    if kind == "none":
        want = ("done", 1, None)
    elif kind in TRANSIENT and not missing:
        want = ("done", rep + 1, None)
    elif kind in ("404", "missing") or (kind in TRANSIENT and missing):
        want = ("empty", 1 if kind in ("404", "missing") else rep + 1, None)
    elif kind == "html":
        want = ("failed", 1, 'not an image: HTML page (text/html; charset=utf-8) titled '
                '"Service temporarily unavailable"')
    elif kind == "exception":
        want = ("failed", 1, "WMS exception: LayerNotDefined: msWMSLoadGetMapParams(): WMS server "
                "error. Invalid layer(s) given in the LAYERS parameter." if variant else
                "OGC exception: TileOutOfRange (TILEROW): TileRow is out of range & cannot be "
                "served")
    elif kind == "403":
        # the server's own text (text/plain) follows the status
        want = ("failed", 1, "HTTP 403 (Forbidden): forbidden")
    elif kind == "down":
        want = ("failed", 5, "HTTP 503 (Service Unavailable): busy (gave up after 5 attempts)")
    elif kind == "wrongsize":
        want = ("failed", 1, "PNG image is 100x100, expected 256x256")
    got = (outcome, attempts, reason if want[2] is not None else None)
    if kind == "reset" and not missing:
        # libcurl resends a request once, at once, by itself when a reused
        # keep-alive connection turns out dead before any answer: the server
        # sees r + 1 hits, the client may count fewer attempts.
        if outcome != "done" or not 1 <= attempts <= rep + 1 or hits[t] != rep + 1:
            bad.append("%s [reset r=%d]: got %s, %d hits" % (t, rep, got, hits[t]))
        continue
    if got != want:
        bad.append("%s [%s r=%d]: got %s, want %s" % (t, kind, rep, got, want))
    if hits[t] != attempts:
        bad.append("%s: server saw %d hits, client reports %d attempts" % (t, hits[t], attempts))
print("kinds: " + ", ".join("%s=%d" % kv for kv in sorted(kinds.items())))
swt.check("faults: every tile ends as the server's plan predicts (outcome, attempts, reason)",
          not bad, "\n".join(bad[:20]))

# The cache holds exactly the tiles that ended done, each byte-identical to
# the served file and decodable; markers exactly for the empties; no temp.
cache = work + "/cache"
files = set()
for d, _, names in os.walk(cache):
    for n in names:
        files.add(os.path.join(d, n)[len(cache):])
tmp = [f for f in files if ".tmp." in f]
swt.check("faults: no temp files left in the cache", not tmp, str(tmp[:5]))
want_files = set()
for t, (outcome, *_rest) in res.items():
    if outcome == "done":
        want_files.add(t)
    elif outcome == "empty":
        want_files.add(t + ".empty")
swt.check("faults: cache holds exactly the done tiles and the empty markers",
          files == want_files,
          "extra: %s\nmissing: %s" % (sorted(files - want_files)[:10],
                                       sorted(want_files - files)[:10]))
corrupt = []
for t in sorted(f for f in files if not f.endswith(".empty") and ".tmp." not in f):
    a = open(cache + t, "rb").read()
    b = open(tiles + t, "rb").read()
    if a != b:
        corrupt.append(t + ": differs from the served file")
        continue
    try:
        ds = gdal.Open(cache + t)
        ds.ReadRaster()
        if (ds.RasterXSize, ds.RasterYSize) != (256, 256):
            corrupt.append(t + ": wrong size")
    except Exception as e:
        corrupt.append("%s: %s" % (t, e))
swt.check("faults: every cached tile decodes and equals the server's file byte for byte",
          not corrupt, "\n".join(corrupt[:10]))
empties = [t for t in files if t.endswith(".empty")]
swt.check("faults: empty markers are zero bytes",
          all(os.path.getsize(cache + t) == 0 for t in empties) and len(empties) > 0)

# 429 with Retry-After: 1 -> the next attempt of that tile comes >= 1 s later.
by_target = collections.defaultdict(list)
for t, target, attempt, answer, ih, ua in log:
    by_target[target].append((attempt, t, answer))
gaps = []
for target, hs in by_target.items():
    hs.sort()
    for (a1, t1, ans1), (a2, t2, _) in zip(hs, hs[1:]):
        if ans1 == "429":
            gaps.append(t2 - t1)
print("429 retry gaps: n=%d min=%.3f s max=%.3f s" % (len(gaps), min(gaps or [0]),
                                                     max(gaps or [0])))
swt.check("faults: Retry-After honoured (every retry after a 429 waited >= 1 s)",
          gaps and min(gaps) >= 0.98, "gaps: %s" % sorted(gaps)[:5])
# After other transient faults, retries back off (full jitter) but come.
swt.check("faults: user agent is swath/<version>", all(ua.startswith("swath/") for *_x, ua in log))
print("max in flight seen by the server: %d (per-host cap 4)" % max(ih for _t, _p, _a, _s, ih, _u in log))
EOF

# Stats: counts agree with the per-request lines; each fault cause was seen.
py_checks "$WORK/run1.stats" "$WORK/run1.tsv" "$WORK/faults.log" <<'EOF'
import sys, collections
import swt
st = dict(kv.split("=") for kv in open(sys.argv[1]).read().split()[1:])
out = collections.Counter(l.split("\t")[0] for l in open(sys.argv[2]))
hits = sum(1 for _ in open(sys.argv[3]))
swt.check("faults: stats agree with the results",
          int(st["fetched"]) == out["done"] and int(st["empty"]) == out["empty"]
          and int(st["failed"]) == out["failed"]
          and int(st["requests"]) == sum(int(l.split("\t")[2]) for l in open(sys.argv[2]))
          and int(st["requests"]) <= hits,
          "stats %s, results %s, server hits %d" % (st, dict(out), hits))
for cause in ("timeout", "reset", "truncated", "http429", "http5xx", "undecodable"):
    swt.check("faults: transient cause '%s' seen and retried" % cause, int(st[cause]) > 0,
              "%s=%s" % (cause, st[cause]))
swt.check("faults: busy fraction reported", 0 < float(st["busy"]) <= 1.0, st["busy"])
EOF

# ---- 2. rerun: cached tiles cost no request ----------------------------------
HITS_BEFORE=$(wc -l <"$WORK/faults.log")
fetch run2 "${CLIENT[@]}" --no-host-pause <"$WORK/requests"
tail -n +"$((HITS_BEFORE + 1))" "$WORK/faults.log" >"$WORK/run2.hits"
py_checks "$WORK" <<'EOF'
import sys
import swt
work = sys.argv[1]
first = {l.split("\t")[4]: l.split("\t")[0] for l in open(work + "/run1.tsv")}
second = [l.rstrip("\n").split("\t") for l in open(work + "/run2.tsv")]
port = open(work + "/faults.ports").read().split()[1]
prefix = "http://127.0.0.1:%s" % port
hit_targets = {l.split("\t")[2] for l in open(work + "/run2.hits")}
ok_before = {u for u, o in first.items() if o in ("done", "empty")}
swt.check("rerun: every tile done/empty before is answered from the cache",
          all(r[1] == "1" and r[0] == first[r[4]] for r in second if r[4] in ok_before))
swt.check("rerun: zero server hits for cached tiles (%d cached)" % len(ok_before),
          not any(prefix + t in ok_before for t in hit_targets),
          str(sorted(t for t in hit_targets if prefix + t in ok_before)[:10]))
EOF
grep -P '^(done|empty)\t' "$WORK/run1.tsv" | cut -f5,6 | tr '\t' ' ' >"$WORK/requests.ok"
HITS_BEFORE=$(wc -l <"$WORK/faults.log")
fetch run3 "${CLIENT[@]}" <"$WORK/requests.ok"
check_eq "rerun of the completed tiles: exit status 0" 0 "$FETCH_RC"
check_eq "rerun of the completed tiles: the server is not hit at all" "$HITS_BEFORE" \
  "$(wc -l <"$WORK/faults.log")"

# ---- 2b. two processes filling one cache at once ----------------------------
start_server shared --root "$TILES" --seed 4 --delay-ms 5 --fault 503=0.1 --fault truncate=0.1
grep -v '/900/' "$WORK/targets" | awk -v p="$(port shared)" -v c="$WORK/cache-shared" \
  '{print "http://127.0.0.1:" p $1, c $1}' >"$WORK/requests.shared"
"$FETCHCLI" --backoff-base-ms 20 <"$WORK/requests.shared" >"$WORK/sharedA.tsv" 2>&1 &
PA=$!
"$FETCHCLI" --backoff-base-ms 20 <"$WORK/requests.shared" >"$WORK/sharedB.tsv" 2>&1 &
PB=$!
wait $PA
RA=$?
wait $PB
RB=$?
check_eq "shared cache: both processes succeed" "0 0" "$RA $RB"
py_checks "$WORK" "$TILES" <<'EOF2'
import os, sys
import swt
work, tiles = sys.argv[1], sys.argv[2]
cache = work + "/cache-shared"
files = [os.path.join(d, n) for d, _, ns in os.walk(cache) for n in ns]
tmp = [f for f in files if ".tmp." in f]
bad = [f for f in files if ".tmp." not in f and
       open(f, "rb").read() != open(tiles + f[len(cache):], "rb").read()]
swt.check("shared cache: %d tiles, all byte-identical to the served files, no temp files"
          % len(files), len(files) == 300 and not bad and not tmp, "%s %s" % (bad[:5], tmp[:5]))
EOF2

# ---- 3. caps: two hosts, slow answers ----------------------------------------
head -200 "$WORK/targets" | grep -v '/900/' >"$WORK/targets.caps"
start_server caps --root "$TILES" --bind 127.0.0.1 --bind 127.0.0.2 --delay-ms 40 --seed 5 \
  --fault 503=0.1 --fault reset=0.1 --fault truncate=0.1 --fault corrupt=0.05
P1=$(port caps 1)
P2=$(port caps 2)
awk -v p1="$P1" -v p2="$P2" -v c="$WORK/cache-caps" \
  '{ if (NR % 2) print "http://127.0.0.1:" p1 $1, c "/a" $1; else print "http://127.0.0.2:" p2 $1, c "/b" $1 }' \
  "$WORK/targets.caps" >"$WORK/requests.caps"
fetch caps --max-in-flight 6 --per-host 4 --backoff-base-ms 20 --empty 204,404 <"$WORK/requests.caps"
check_eq "caps: every tile fetched after retries (exit 0)" 0 "$FETCH_RC"
py_checks "$WORK/caps.log" <<'EOF'
import sys, collections
import swt
per_host = collections.defaultdict(int)
total = 0
for line in open(sys.argv[1]):
    t, host, target, attempt, answer, ih, ia, ua = line.rstrip("\n").split("\t")
    per_host[host] = max(per_host[host], int(ih))
    total = max(total, int(ia))
print("max in flight: per host %s, all %d" % (dict(per_host), total))
swt.check("caps: per-host cap 4 reached and never exceeded", max(per_host.values()) == 4,
          str(dict(per_host)))
swt.check("caps: global cap 6 reached and never exceeded", total == 6, str(total))
EOF

# ---- 4. politeness: rate limit, and a 429 pausing the host -------------------
head -40 "$WORK/targets" >"$WORK/targets.rate"
start_server rate --root "$TILES" --seed 1
awk -v p="$(port rate)" -v c="$WORK/cache-rate" '{print "http://127.0.0.1:" p $1, c $1}' \
  "$WORK/targets.rate" >"$WORK/requests.rate"
fetch rate --rate 20 --burst 1 --empty 404 <"$WORK/requests.rate"
check_eq "rate: all fetched" 0 "$FETCH_RC"
py_checks "$WORK/rate.log" <<'EOF'
import sys
import swt
ts = sorted(float(l.split("\t")[0]) for l in open(sys.argv[1]))
worst = max((j - i) - 20 * (ts[j] - ts[i]) for i in range(len(ts)) for j in range(i + 1, len(ts)))
print("40 requests in %.2f s at 20/s, burst 1; worst excess over the bucket %.2f" %
      (ts[-1] - ts[0], worst))
swt.check("rate: 20 requests/s per host never exceeded (token bucket, burst 1)",
          ts[-1] - ts[0] >= 39 / 20 - 0.05 and worst <= 1.5)
EOF

head -30 "$WORK/targets" >"$WORK/targets.pause"
start_server pause --root "$TILES" --seed 2 --repeat 1 --retry-after 1 --fault 429=0.2
awk -v p="$(port pause)" -v c="$WORK/cache-pause" '{print "http://127.0.0.1:" p $1, c $1}' \
  "$WORK/targets.pause" >"$WORK/requests.pause"
fetch pause --per-host 2 --empty 404 <"$WORK/requests.pause"
check_eq "host pause: all fetched" 0 "$FETCH_RC"
py_checks "$WORK/pause.log" <<'EOF'
import sys
import swt
rows = [l.split("\t") for l in open(sys.argv[1])]
ts = sorted(float(r[0]) for r in rows)
t429 = [float(r[0]) for r in rows if r[4] == "429"]
# Once the client has read a 429 (a few ms after the server logged it), no
# new request reaches the host until Retry-After has passed.
inside = [(a, t) for a in t429 for t in ts if a + 0.3 < t < a + 0.95]
print("%d 429s; requests inside a pause window: %d" % (len(t429), len(inside)))
swt.check("host pause: a 429 with Retry-After holds the whole host", t429 and not inside,
          str(inside[:5]))
EOF

# ---- 5. failure budget, unreachable host -------------------------------------
start_server budget --root "$TILES" --seed 3 --fault 403=1.0
awk -v p="$(port budget)" -v c="$WORK/cache-budget" '{print "http://127.0.0.1:" p $1, c $1}' \
  "$WORK/targets" | head -100 >"$WORK/requests.budget"
fetch budget --budget 5 --max-in-flight 2 <"$WORK/requests.budget"
check_eq "budget: exit status 1" 1 "$FETCH_RC"
py_checks "$WORK" <<'EOF'
import sys, collections
import swt
work = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(work + "/budget.tsv")]
out = collections.Counter(r[0] for r in rows)
hits = sum(1 for _ in open(work + "/budget.log"))
aborted = [r[6] for r in rows if r[0] == "aborted"]
print("budget 5: %s, server hits %d" % (dict(out), hits))
swt.check("budget: stops after 5 failures (+ those in flight), the rest aborted",
          5 <= out["failed"] <= 7 and out["failed"] + out["aborted"] == 100 and hits <= 7)
swt.check("budget: aborted requests say why",
          aborted and all(a.startswith("not fetched: failure budget exhausted after 5 failed "
                                       "requests (last: http://") for a in aborted), aborted[:1])
EOF
check "budget: no cache folder was written" test ! -e "$WORK/cache-budget"

# A loopback port nobody listens on (taken and released): connection refused.
DEAD=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "http://127.0.0.1:$DEAD/1/1/1.png $WORK/cache-dead/1.png" |
  fetch dead --attempts 2 --backoff-base-ms 10 --connect-timeout-ms 500
check_eq "unreachable: exit status 1" 1 "$FETCH_RC"
check "unreachable: reason names the connect failure after 2 attempts" \
  grep -qP '^failed\t0\t2\t0\t.*\tconnect: .*\(gave up after 2 attempts\)$' "$WORK/dead.tsv"

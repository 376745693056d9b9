#!/usr/bin/env bash
# test_service_security.sh: `swath serve`'s security flags and /metrics
# (issue 20, points 4 and 6):
#   - refusals at start (one line, exit 2): a non-loopback --host without
#     keys, a keys file with a bad line, TLS files missing, unreadable or
#     not a pair, a bad --rate-limit, --public-read without keys;
#   - API keys made by `swath key add` (file and database: only the SHA-256
#     is stored, the key printed once): writes need a valid key (401 with
#     WWW-Authenticate: Bearer, problem document, nothing queued), reads
#     public with --public-read else keyed; the log names the key, never
#     shows it; keys added/removed in the database take effect while the
#     server runs;
#   - the rate limit per key (429, Retry-After, problem document; another
#     key unaffected); CORS for allowed origins only, preflight 204;
#     --max-body (413 before the body is read); 404/405 problem documents
#     that keep the STAC members code/description;
#   - TLS with a self-signed certificate made here (curl --cacert);
#   - /metrics parsed by prometheus_client's parser: counters by route
#     pattern (no raw ids), exact counts, histogram, jobs by state, queue
#     depth, uptime.
. "$(dirname "$0")/lib.sh"
require_swath
start_postgres
DB="$PG_LIBPQ"
mkdir -p "$WORK/in" "$WORK/out"
gen_dem "$WORK/in/dem.tif" --size 256

# serve NAME ARGS...: start `swath -v serve ARGS` in the background; sets PORT
# (empty if it did not start) and leaves its stderr in $WORK/NAME.log.
serve() {
  local name=$1
  shift
  "$SWATH" -v serve --port 0 --threads 4 "$@" 2>"$WORK/$name.log" &
  track_bg $!
  PORT=
  for _ in $(seq 1 300); do
    PORT=$(sed -n 's/.*on https\{0,1\}:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$WORK/$name.log")
    [ -n "$PORT" ] && break
    sleep 0.1
  done
}
# refuse NAME PATTERN ARGS...: `swath serve ARGS` exits 2 with one line matching PATTERN.
refuse() {
  local name=$1 pat=$2
  shift 2
  timeout 20 "$SWATH" serve --port 0 "$@" >"$WORK/refuse.out" 2>"$WORK/refuse.err"
  local rc=$? lines
  lines=$(wc -l <"$WORK/refuse.err")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$WORK/refuse.err"; then
    pass "refused: $name"
  else
    fail "refused: $name" "exit $rc (want 2), $lines lines" "$(cat "$WORK/refuse.err")"
  fi
}

# ---- keys ---------------------------------------------------------------------
KEY_A=$("$SWATH" key add alice --file "$WORK/keys.txt" 2>"$WORK/keyadd.err")
check_eq "swath key add prints one key" 1 "$(printf '%s\n' "$KEY_A" | grep -c '^swk_[0-9a-f]\{64\}$')"
KEY_B=$("$SWATH" key add bob --file "$WORK/keys.txt" 2>/dev/null)
DIGEST=$(printf '%s' "$KEY_A" | sha256sum | cut -d' ' -f1)
check "the keys file holds alice's SHA-256 (sha256sum), not the key" \
  eval "grep -qx 'alice:$DIGEST' '$WORK/keys.txt' && ! grep -q '$KEY_A' '$WORK/keys.txt'"
check_run "a second key of the same name is refused" 2 key add alice --file "$WORK/keys.txt"
check_run "a key name with a colon is refused" 2 key add 'a:b' --file "$WORK/keys.txt"
KEY_D=$("$SWATH" key add dora --db "$DB" 2>/dev/null)
check "swath key add --db stores only the digest" eval \
  "[ \"\$(psql -h 127.0.0.1 -p $PG_PORT -U swath -d swath -Atc \"SELECT digest FROM swath_api_keys WHERE name = 'dora'\")\" = \
\$(printf '%s' '$KEY_D' | sha256sum | cut -d' ' -f1) ]"
check_eq "swath key list --db" dora "$("$SWATH" key list --db "$DB" 2>&1)"

# ---- refusals at start ----------------------------------------------------------
refuse "--host 0.0.0.0 without --api-keys" "no-auth" --db "$DB" --outputs "$WORK/out" --host 0.0.0.0
printf 'alice:nothex\n' >"$WORK/badkeys.txt"
refuse "a keys file line that is not name:sha256" "badkeys.txt:1" --db "$DB" --outputs "$WORK/out" \
  --api-keys "$WORK/badkeys.txt"
refuse "a missing keys file" "nokeys.txt" --db "$DB" --outputs "$WORK/out" --api-keys "$WORK/nokeys.txt"
refuse "--public-read without --api-keys" "public-read" --db "$DB" --outputs "$WORK/out" --public-read
refuse "a bad --rate-limit" "rate-limit" --db "$DB" --outputs "$WORK/out" --rate-limit 0/s
refuse "--rate-limit with a bad burst" "burst" --db "$DB" --outputs "$WORK/out" --rate-limit 5,x
refuse "--cors that is not an origin" "cors" --db "$DB" --outputs "$WORK/out" --cors example.com
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1 ||
  die "openssl makes a self-signed certificate"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.key" >/dev/null 2>&1
refuse "--tls-cert without --tls-key" "tls-key" --db "$DB" --outputs "$WORK/out" --tls-cert "$WORK/tls.crt"
refuse "a missing --tls-cert" "missing.crt" --db "$DB" --outputs "$WORK/out" \
  --tls-cert "$WORK/missing.crt" --tls-key "$WORK/tls.key"
printf 'not a certificate\n' >"$WORK/junk.crt"
refuse "a --tls-cert that is not PEM" "junk.crt" --db "$DB" --outputs "$WORK/out" \
  --tls-cert "$WORK/junk.crt" --tls-key "$WORK/tls.key"
refuse "a --tls-key that is not the certificate's" "not the key" --db "$DB" --outputs "$WORK/out" \
  --tls-cert "$WORK/tls.crt" --tls-key "$WORK/other.key"

# ---- server A: file keys, public reads, CORS, body limit ------------------------
serve a --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" --api-keys "$WORK/keys.txt" \
  --public-read --cors https://app.example --max-body 2000 --sync-tiles 0
[ -n "$PORT" ] || die "server a started" "$(cat "$WORK/a.log")"
BASE=http://127.0.0.1:$PORT
py_checks "$BASE" "$KEY_A" "$KEY_B" "$WORK/out" <<'EOF'
import json, os, sys, urllib.request, urllib.error
import swt
base, key_a, key_b, out = sys.argv[1:5]
def req(method, path, body=None, headers=None):
    r = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
JOB = json.dumps({"inputs": {"inputs": {"dem": "dem.tif"}, "zoom": [8, 9],
                  "grid": {"name": "WebMercatorQuad"}, "output": {"path": "hs", "format": "PNG"}}}).encode()
H = {"Content-Type": "application/json", "Prefer": "respond-async"}
def njobs():
    return len(json.loads(req("GET", "/jobs")[2])["jobs"])
st, hd, body = req("POST", "/processes/hillshade/execution", JOB, H)
doc = json.loads(body)
swt.check("POST without a key: 401 problem document, WWW-Authenticate: Bearer",
          st == 401 and hd.get("WWW-Authenticate", "").startswith("Bearer")
          and hd.get("Content-Type") == "application/problem+json" and doc["status"] == 401, (st, dict(hd), doc))
st, hd, body = req("POST", "/processes/hillshade/execution", JOB, dict(H, Authorization="Bearer swk_" + "0" * 64))
swt.check("POST with a wrong key: 401 invalid_token", st == 401 and "invalid_token" in hd.get("WWW-Authenticate", ""), (st, dict(hd)))
st, hd, body = req("POST", "/processes/hillshade/execution", JOB, dict(H, Authorization="Basic " + key_a))
swt.check("POST with the key in another scheme: 401", st == 401, st)
swt.check("nothing queued by the refused posts", njobs() == 0, njobs())
st, hd, body = req("POST", "/processes/hillshade/execution", JOB, dict(H, Authorization="Bearer " + key_a))
swt.check("POST with alice's key: 201", st == 201, (st, body[:300]))
jid = json.loads(body)["jobID"]
st, hd, body = req("DELETE", "/jobs/%s" % jid)
swt.check("DELETE without a key: 401", st == 401, st)
st, hd, body = req("GET", "/jobs/%s" % jid)
swt.check("GET is public with --public-read", st == 200 and json.loads(body)["status"] == "accepted", (st, body[:200]))
st, hd, body = req("GET", "/jobs", headers={"Authorization": "Bearer nope"})
swt.check("a wrong key on a public read: 401 (the client learns its key is wrong)", st == 401, st)
# CORS
st, hd, body = req("GET", "/processes", headers={"Origin": "https://app.example"})
swt.check("CORS: an allowed Origin is echoed, with Vary: Origin",
          hd.get("Access-Control-Allow-Origin") == "https://app.example" and "Origin" in hd.get("Vary", ""), dict(hd))
st, hd, body = req("GET", "/processes", headers={"Origin": "https://evil.example"})
swt.check("CORS: another Origin gets no Access-Control-Allow-Origin", hd.get("Access-Control-Allow-Origin") is None, dict(hd))
st, hd, body = req("OPTIONS", "/processes/hillshade/execution",
                   headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                            "Access-Control-Request-Headers": "authorization, content-type, prefer"})
allow_h = {h.strip().lower() for h in hd.get("Access-Control-Allow-Headers", "").split(",")}
swt.check("CORS preflight: 204 without a key, POST and Authorization, Content-Type, Prefer allowed",
          st == 204 and "POST" in hd.get("Access-Control-Allow-Methods", "")
          and {"authorization", "content-type", "prefer"} <= allow_h
          and hd.get("Access-Control-Allow-Origin") == "https://app.example", (st, dict(hd)))
st, hd, body = req("OPTIONS", "/processes/hillshade/execution",
                   headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
swt.check("CORS preflight from another Origin: no Allow-Origin", hd.get("Access-Control-Allow-Origin") is None, dict(hd))
# body limit
big = json.dumps({"inputs": {"x": "a" * 5000}}).encode()
n0 = njobs()
st, hd, body = req("POST", "/processes/hillshade/execution", big, dict(H, Authorization="Bearer " + key_a))
doc = json.loads(body)
swt.check("--max-body 2000: a 5 kB body is 413 with a problem document",
          st == 413 and doc.get("status") == 413 and "2000" in doc.get("detail", ""), (st, doc))
swt.check("nothing queued by the large body", njobs() == n0, njobs())
# the server's own errors
st, hd, body = req("GET", "/no/such/path")
doc = json.loads(body)
swt.check("404: problem document with code/description kept",
          st == 404 and hd.get("Content-Type") == "application/problem+json"
          and doc["status"] == 404 and doc["title"] and doc["code"] == "NotFound" and doc["description"], doc)
st, hd, body = req("PATCH", "/processes", b"{}", {"Authorization": "Bearer " + key_a})
doc = json.loads(body)
swt.check("405: problem document and an Allow header",
          st == 405 and doc["status"] == 405 and "GET" in hd.get("Allow", ""), (st, dict(hd), doc))
EOF
check "the log names the key (alice), never shows it" eval \
  "grep -q 'POST /processes/hillshade/execution -> 201 (key alice)' '$WORK/a.log' && ! grep -q '$KEY_A' '$WORK/a.log'"

# ---- /metrics -------------------------------------------------------------------
py_checks "$BASE" <<'EOF'
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
import swt
base = sys.argv[1]
def scrape():
    with urllib.request.urlopen(base + "/metrics") as r:
        ct, text = r.headers.get("Content-Type"), r.read().decode()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    return ct, text, fams
def value(fams, fam, name, **labels):
    return sum(s.value for s in fams[fam].samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))
ct, text, f0 = scrape()
swt.check("/metrics: text/plain; version=0.0.4", ct.startswith("text/plain; version=0.0.4"), ct)
jid = json.load(urllib.request.urlopen(base + "/jobs"))["jobs"][0]["jobID"]
before = value(f0, "swath_http_requests", "swath_http_requests_total", route="/jobs/{}", method="GET", status="200")
hbefore = value(f0, "swath_http_request_duration_seconds", "swath_http_request_duration_seconds_count", route="/jobs/{}")
for _ in range(7):
    urllib.request.urlopen(base + "/jobs/%s" % jid).read()
ct, text, f1 = scrape()
after = value(f1, "swath_http_requests", "swath_http_requests_total", route="/jobs/{}", method="GET", status="200")
hafter = value(f1, "swath_http_request_duration_seconds", "swath_http_request_duration_seconds_count", route="/jobs/{}")
swt.check("requests by route pattern: 7 GET /jobs/{id} counted exactly", after - before == 7, (before, after))
swt.check("latency histogram per route: 7 more observations", hafter - hbefore == 7, (hbefore, hafter))
inf = value(f1, "swath_http_request_duration_seconds", "swath_http_request_duration_seconds_bucket", route="/jobs/{}", le="+Inf")
swt.check("histogram: +Inf bucket equals the count", inf == hafter, (inf, hafter))
routes = {s.labels["route"] for s in f1["swath_http_requests"].samples}
swt.check("route labels are patterns, never raw ids", str(jid) not in " ".join(routes) and "(none)" in routes, routes)
st = {s.labels.get("status") for s in f1["swath_http_requests"].samples}
swt.check("statuses 401, 404, 405, 413 counted", {"401", "404", "405", "413"} <= st, st)
swt.check("jobs by state: one queued", value(f1, "swath_jobs", "swath_jobs", state="queued") == 1,
          [s for s in f1["swath_jobs"].samples])
swt.check("queue depth: the queued job's ready tasks", value(f1, "swath_queue_ready_tasks", "swath_queue_ready_tasks") > 0, "")
swt.check("tiles/s and queue up present", "swath_tiles_per_second" in f1 and value(f1, "swath_queue_up", "swath_queue_up") == 1, "")
swt.check("uptime and start time", value(f1, "swath_uptime_seconds", "swath_uptime_seconds") > 0
          and value(f1, "process_start_time_seconds", "process_start_time_seconds") > 1.6e9, "")
EOF

# ---- server B: keys in PostgreSQL, private reads, rate limit ---------------------
serve b --db "$DB" --outputs "$WORK/out" --api-keys db --rate-limit 2/s,3
[ -n "$PORT" ] || die "server b started" "$(cat "$WORK/b.log")"
BASEB=http://127.0.0.1:$PORT
KEY_E=$("$SWATH" key add erin --db "$DB" 2>/dev/null)
sleep 6 # the server reads the table again every 5 s
py_checks "$BASEB" "$KEY_D" "$KEY_E" <<'EOF'
import json, sys, time, urllib.request, urllib.error
import swt
base, key_d, key_e = sys.argv[1:4]
def get(path, key=None):
    r = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + key} if key else {})
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
st, hd, _ = get("/jobs")
swt.check("private reads: GET without a key is 401", st == 401 and hd.get("WWW-Authenticate", "").startswith("Bearer"), st)
time.sleep(2)
st, hd, _ = get("/jobs", key_d)
swt.check("a key stored with --db opens reads", st == 200, st)
st, hd, _ = get("/jobs", key_e)
swt.check("a key added while the server runs works", st == 200, st)
time.sleep(2)
codes = [get("/jobs", key_d) for _ in range(5)]
sts = [c[0] for c in codes]
swt.check("rate limit 2/s burst 3: the 4th request in a row is 429", sts[:3] == [200] * 3 and 429 in sts[3:], sts)
r429 = next(c for c in codes if c[0] == 429)
doc = json.loads(r429[2])
ra = r429[1].get("Retry-After", "")
swt.check("429: Retry-After in whole seconds and a problem document",
          ra.isdigit() and int(ra) >= 1 and doc["status"] == 429, (ra, doc))
st, hd, _ = get("/jobs", key_e)
swt.check("the limit is per key: another key still passes", st == 200, st)
time.sleep(int(ra) + 0.2)
st, hd, _ = get("/jobs", key_d)
swt.check("after Retry-After the key passes again", st == 200, st)
EOF
"$SWATH" key remove erin --db "$DB" 2>/dev/null
sleep 6
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_E" "$BASEB/jobs")
check_eq "a key removed while the server runs is refused" 401 "$code"
# the viewer's page holds no data: a browser loads it without a key (it
# then sends the key it is given with each API call); a wrong key is
# still refused, and nothing else opens without one
sleep 2 # (the rate limit's bucket: 2/s, burst 3, the requests below spaced)
check_eq "private reads: the viewer's page needs no key, /jobs does" "200 200 401 401" \
  "$(for p in /viewer/ /viewer/app.js /jobs /viewerx; do
       curl -s -o /dev/null -w '%{http_code} ' "$BASEB$p"; sleep 0.6; done | sed 's/ $//')"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$BASEB/viewer/")
check_eq "private reads: the viewer's page with a wrong key is 401" 401 "$code"

# ---- server C: TLS ----------------------------------------------------------------
serve c --db "$DB" --outputs "$WORK/out" --api-keys "$WORK/keys.txt" --public-read \
  --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
[ -n "$PORT" ] || die "server c started (TLS)" "$(cat "$WORK/c.log")"
check "TLS: the start line says https" grep -q "on https://127.0.0.1:$PORT/" "$WORK/c.log"
code=$(curl -s -o "$WORK/tls.json" -w '%{http_code}' --cacert "$WORK/tls.crt" "https://127.0.0.1:$PORT/jobs")
check_eq "TLS: GET /jobs over HTTPS verified with curl --cacert" 200 "$code"
check "TLS: links in the answer are https" grep -q "https://127.0.0.1:$PORT/jobs" "$WORK/tls.json"
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$PORT/jobs"
check "TLS: plain HTTP is not answered" eval "[ $? -ne 0 ]"
code=$(curl -s -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/jobs" 2>/dev/null)
check "TLS: a client that does not trust the certificate fails" eval "[ '$code' = 000 ]"

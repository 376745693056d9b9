#!/usr/bin/env bash
# test_service.sh: OGC API - Processes over the PostgreSQL queue (issue 20,
# point 1 and the path checks of point 4), served by `swath serve --db`:
#   - landing page, conformance classes, /api describing every route the
#     server's tables hold (read from the sources), process list and
#     descriptions whose params match `swath processes --json`;
#   - an async execution: 201 + Location + status, a `swath worker` drains
#     it to successful, results name the output, whose tiles are
#     byte-identical to `swath run` of the same job; a sync execution: 200
#     with the results;
#   - the same job posted and `swath submit`ted: same key, same status
#     fields; /jobs paging (limit, next) and status filter; DELETE
#     dismisses (a worker then claims nothing of it);
#   - problem details (unknown process/job, result not ready, bad JSON,
#     unknown input key) and a list of path escapes, each a 400 naming
#     the key, nothing queued.
. "$(dirname "$0")/lib.sh"
require_swath
start_postgres
DB="$PG_LIBPQ"

mkdir -p "$WORK/in" "$WORK/out" "$WORK/outside"
gen_dem "$WORK/in/dem.tif" --size 512
cp "$WORK/in/dem.tif" "$WORK/outside/secret.tif"
ln -s "$WORK/outside/secret.tif" "$WORK/in/link.tif"
ln -s "$WORK/outside" "$WORK/out/escape"

"$SWATH" serve --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" --port 0 --threads 4 \
  --sync-tiles 64 2>"$WORK/serve.log" &
track_bg $!
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "server started" "$(cat "$WORK/serve.log")"
BASE=http://127.0.0.1:$PORT
"$SWATH" processes --json >"$WORK/processes.json" || die "swath processes --json"

py_checks "$BASE" "$SWATH_SRC" "$WORK/processes.json" <<'EOF'
import json, re, sys, urllib.request, glob
import swt
base, src = sys.argv[1], sys.argv[2]
def get(p):
    with urllib.request.urlopen(base + p) as r:
        return r.status, r.headers.get("Content-Type"), json.load(r)
st, ct, land = get("/")
rels = {l["rel"] for l in land["links"]}
swt.check("landing: links to api, conformance, processes, jobs",
          {"service-desc", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
           "http://www.opengis.net/def/rel/ogc/1.0/processes",
           "http://www.opengis.net/def/rel/ogc/1.0/job-list"} <= rels, rels)
st, ct, conf = get("/conformance")
want = {"http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/" + c for c in
        ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss")}
swt.check("conformance: the six Processes classes", want <= set(conf["conformsTo"]), conf)
st, ct, api = get("/api")
swt.check("api: OpenAPI 3.0 content type", ct.startswith("application/vnd.oai.openapi+json"), ct)
# every route of every table in the server's sources
routes = set()
for f in glob.glob(src + "/src/server/*.c"):
    t = open(f).read()
    for m, p in re.findall(r'\{"(GET|POST|DELETE|PUT)", "(/[^"]*)", h_', t):
        if "kserve" in f:
            continue
        if "stac.c" in f:
            continue  # not served here (no --catalog)
        routes.add((m.lower(), re.sub(r"\{\}", "{}", p)))
norm = {(m, re.sub(r"\{[^}]*\}", "{}", p)) for p, ops in api["paths"].items() for m in ops}
missing = routes - norm
swt.check("api: every route served is described (%d routes)" % len(routes),
          routes and not missing, missing)
st, ct, procs = get("/processes")
ids = {p["id"] for p in procs["processes"]}
ref = json.load(open(sys.argv[3]))
swt.check("processes: every built-in, detect included",
          {p["name"] for p in ref} <= ids and "detect" in ids, ids)
bad = []
for p in ref:
    st, ct, d = get("/processes/" + p["name"])
    props = d["inputs"]["params"]["schema"]["properties"]
    for q in p["parameters"]:
        got = props.get(q["name"])
        if (not got or got["x-swath-type"] != q["type"] or got["description"] != q["description"]
                or got.get("default") != q["default"]):
            bad.append((p["name"], q, got))
    if set(props) != {q["name"] for q in p["parameters"]}:
        bad.append((p["name"], sorted(props)))
swt.check("process descriptions: params match swath processes' tables", not bad, bad[:3])
EOF

# post NAME PROCESS BODY [HEADER]: POST an execute request; status in
# $WORK/NAME.code, headers in .hdr, body in .json.
post() {
  local extra=()
  [ -n "${4:-}" ] && extra=(-H "$4")
  curl -s -o "$WORK/$1.json" -D "$WORK/$1.hdr" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' "${extra[@]}" --data-binary "$3" \
    "$BASE/processes/$2/execution" >"$WORK/$1.code"
}
code() { cat "$WORK/$1.code"; }
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/$1.json" "$2"; }

# A job (hillshade, zooms 9-12, relative paths) posted async and run by swath.
JOB='{"params": {"azimuth": 315, "altitude": 45}, "inputs": {"dem": "dem.tif"},
      "grid": {"name": "WebMercatorQuad", "metatiling": 2, "pixel_buffer": 1},
      "zoom": [9, 12], "output": {"path": "hs", "format": "PNG"}}'
post async hillshade "{\"inputs\": $JOB}" 'Prefer: respond-async'
check_eq "async execution: 201" 201 "$(code async)"
LOC=$(sed -n 's/^Location: *\([^[:space:]]*\).*/\1/Ip' "$WORK/async.hdr")
ID=$(jget async 'd["jobID"]')
check_eq "async execution: Location is /jobs/{id}" "$BASE/jobs/$ID" "$LOC"
check_eq "async execution: status accepted" accepted "$(jget async 'd["status"]')"
curl -s -o "$WORK/early.json" -w '%{http_code}' "$BASE/jobs/$ID/results" >"$WORK/early.code"
check_eq "results before the job ran: 404" 404 "$(code early)"
check_eq "results before the job ran: result-not-ready" \
  http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/result-not-ready "$(jget early 'd["type"]')"
check "a swath worker drains the posted job" "$SWATH" worker --db "$DB" --job "$ID" --workers 2
curl -s "$BASE/jobs/$ID" >"$WORK/st.json"
check_eq "status after the worker: successful, 100%" "successful 100 hillshade process" \
  "$(jget st '"%s %s %s %s" % (d["status"], d["progress"], d["processID"], d["type"])')"
curl -s "$BASE/jobs/$ID/results" >"$WORK/res.json"
check_eq "results: the output's tilejson" "file://$WORK/out/hs/tilejson.json" "$(jget res 'd["tilejson"]["href"]')"
"$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
d["process"] = "hillshade"
d["inputs"]["dem"] = sys.argv[2] + "/in/dem.tif"
d["output"]["path"] = sys.argv[2] + "/ref"
print(json.dumps(d))' "$JOB" "$WORK" >"$WORK/job.yaml"
check_run "swath run of the same job" 0 run "$WORK/job.yaml" --no-progress
check_same_tiles "the posted job's tiles are byte-identical to swath run's" "$WORK/ref" "$WORK/out/hs"

# The same job with `swath submit` (another output): same key, same fields.
sed "s|$WORK/ref|$WORK/out/sub|" "$WORK/job.yaml" >"$WORK/sub.yaml"
run_swath submit "$WORK/sub.yaml" --db "$DB"
SUB=$(tr -d '[:space:]' <"$WORK/run.out")
check "swath submit of the same job" test "$RUN_RC" -eq 0 -a -n "$SUB"
"$SWATH" worker --db "$DB" --job "$SUB" --workers 2 >/dev/null 2>&1
curl -s "$BASE/jobs/$SUB" >"$WORK/sub.json"
check_py "posted and submitted: same key, same status fields" "$WORK/st.json" "$WORK/sub.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["swath"]["key"] == b["swath"]["key"], (a["swath"]["key"], b["swath"]["key"])
for k in ("status", "progress", "processID", "type"):
    assert a[k] == b[k], (k, a[k], b[k])
assert a["swath"]["tasks"] == b["swath"]["tasks"], (a["swath"]["tasks"], b["swath"]["tasks"])
assert a["swath"]["tiles_written"] == b["swath"]["tiles_written"]
EOF

# Sync: a small job runs in the request.
SMALL='{"inputs": {"params": {}, "inputs": {"dem": "dem.tif"}, "zoom": 9, "output": {"path": "small", "format": "PNG"}}}'
post sync hillshade "$SMALL"
check_eq "sync execution of a small job: 200" 200 "$(code sync)"
check_eq "sync execution: the results name the output" "$WORK/out/small" "$(jget sync 'd["output"]["value"]["path"]')"
check "sync execution: tiles written" test -n "$(tile_files "$WORK/out/small" png)"

# Dismiss: a queued job cancelled, a worker claims nothing of it.
post dis hillshade "{\"inputs\": $(echo "$JOB" | sed 's/"hs"/"dis"/')}" 'Prefer: respond-async'
DIS=$(jget dis 'd["jobID"]')
curl -s -X DELETE "$BASE/jobs/$DIS" >"$WORK/del.json"
check_eq "DELETE /jobs/{id}: dismissed" dismissed "$(jget del 'd["status"]')"
"$SWATH" worker --db "$DB" --job "$DIS" --workers 1 >"$WORK/dis.log" 2>&1
check_eq "a worker claims nothing of the dismissed job" "" "$(tile_files "$WORK/out/dis" png)"
check_eq "/jobs/{id} of the dismissed job says dismissed" dismissed \
  "$(curl -s "$BASE/jobs/$DIS" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])')"

# Paging and status filter over the 4 jobs there are now.
py_checks "$BASE" "$ID" "$SUB" "$DIS" "$SWATH_SRC" <<'EOF'
import json, sys, urllib.request
import swt
base = sys.argv[1]
def get(u):
    with urllib.request.urlopen(u) as r:
        return json.load(r)
seen, url, pages = [], base + "/jobs?limit=2", 0
while url and pages < 10:
    d = get(url)
    pages += 1
    seen += [int(j["jobID"]) for j in d["jobs"]]
    url = next((l["href"] for l in d["links"] if l["rel"] == "next"), None)
swt.check("paging: limit=2 pages cover every job once, newest first",
          seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 4 and pages == 2,
          (seen, pages))
d = get(base + "/jobs?status=dismissed")
swt.check("status filter: dismissed", [j["jobID"] for j in d["jobs"]] == [sys.argv[4]], d["jobs"])
d = get(base + "/jobs?status=successful&type=process")
swt.check("status filter: successful", len(d["jobs"]) == 3 and all(j["status"] == "successful" for j in d["jobs"]), [j["status"] for j in d["jobs"]])
EOF

# Problem details.
# problem NAME EXPECTED_STATUS TYPE_SUFFIX URL [curl args...]
problem() {
  local name=$1 want=$2 type=$3 url=$4
  shift 4
  local got
  got=$(curl -s -o "$WORK/p.json" -D "$WORK/p.hdr" -w '%{http_code}' "$@" "$BASE$url")
  local t ct
  t=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("type",""))' "$WORK/p.json" 2>/dev/null)
  ct=$(sed -n 's/^Content-Type: *\([^;[:space:]]*\).*/\1/Ip' "$WORK/p.hdr")
  if [ "$got" = "$want" ] && [[ "$t" == *"$type" ]] && [ "$ct" = application/problem+json ]; then
    pass "$name"
  else
    fail "$name" "status $got (want $want), type '$t' (want *$type), content type $ct" "$(cat "$WORK/p.json")"
  fi
}
problem "unknown process: 404 no-such-process" 404 no-such-process /processes/nope
problem "execute an unknown process: 404 no-such-process" 404 no-such-process \
  /processes/nope/execution -X POST -d '{"inputs": {}}'
problem "unknown job: 404 no-such-job" 404 no-such-job /jobs/999999
problem "not a job id: 404 no-such-job" 404 no-such-job /jobs/abc
problem "bad JSON: 400" 400 about:blank /processes/hillshade/execution -X POST -d '{"inputs": '
problem "unknown input key: 400" 400 about:blank /processes/hillshade/execution -X POST \
  -d '{"inputs": {"zoom": 9, "colour": 1}}'
problem "bad status filter: 400" 400 about:blank "/jobs?status=done"
check_eq "wrong method: 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$BASE/jobs")"

# Escapes: each a 400 whose detail names the key, nothing queued.
NJOBS=$(psql "$DB" -Atc "SELECT count(*) FROM swath_jobs")
escape() {
  local name=$1 key=$2 body=$3 id=${4:-hillshade}
  local got
  got=$(curl -s -o "$WORK/e.json" -w '%{http_code}' -X POST --data-binary "$body" \
    "$BASE/processes/$id/execution")
  local detail
  detail=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("detail",""))' "$WORK/e.json" 2>/dev/null)
  if [ "$got" = 400 ] && [[ "$detail" == *"$key"* ]] && [ "$(wc -l <<<"$detail")" -eq 1 ]; then
    pass "escape refused: $name"
  else
    fail "escape refused: $name" "status $got, detail: $detail" "$(cat "$WORK/e.json")"
  fi
}
# esc KEY INPUTS-JSON-FRAGMENT: a job with one thing replaced
J() { echo "{\"inputs\": {\"inputs\": {\"dem\": $1}, \"zoom\": 9, \"output\": {\"path\": $2, \"format\": \"PNG\"}${3:-}}}"; }
escape "../ in an input" inputs.inputs.dem "$(J '"../outside/secret.tif"' '"e1"')"
escape "../ in the middle" inputs.inputs.dem "$(J '"a/../../outside/secret.tif"' '"e1"')"
escape "absolute input outside" inputs.inputs.dem "$(J "\"$WORK/outside/secret.tif\"" '"e1"')"
escape "/etc/passwd" inputs.inputs.dem "$(J '"/etc/passwd"' '"e1"')"
escape "symlink out of the input root" inputs.inputs.dem "$(J '"link.tif"' '"e1"')"
escape "file:// URL" inputs.inputs.dem "$(J "\"file://$WORK/in/dem.tif\"" '"e1"')"
escape "/vsicurl/" inputs.inputs.dem "$(J '"/vsicurl/http://127.0.0.1/x.tif"' '"e1"')"
escape "/vsizip/ relative" inputs.inputs.dem "$(J '"/vsizip/dem.zip/dem.tif"' '"e1"')"
escape "vrt://" inputs.inputs.dem "$(J '"vrt://dem.tif?bands=1"' '"e1"')"
escape "GDAL PREFIX: form" inputs.inputs.dem "$(J "\"GTIFF_DIR:1:$WORK/outside/secret.tif\"" '"e1"')"
escape "~ path" inputs.inputs.dem "$(J '"~/dem.tif"' '"e1"')"
escape "input as {path}" inputs.inputs.dem.path "$(J "{\"path\": \"$WORK/outside/secret.tif\"}" '"e1"')"
escape "remote url file://" inputs.inputs.dem "$(J '{"type": "xyz", "url": "file:///etc/{z}/{x}/{y}.png"}' '"e1"')"
escape "remote url ftp://" inputs.inputs.dem.url "$(J '{"type": "xyz", "url": "ftp://h/{z}/{x}/{y}.png"}' '"e1"')"
escape "output ../" inputs.output.path "$(J '"dem.tif"' '"../outside/o"')"
escape "absolute output outside" inputs.output.path "$(J '"dem.tif"' "\"$WORK/outside/o\"")"
escape "output through a symlink out" inputs.output.path "$(J '"dem.tif"' '"escape/o"')"
escape "cache outside the outputs" inputs.cache.path "$(J '"dem.tif"' '"e1"' ", \"cache\": {\"path\": \"/tmp/c\"}")"
escape "cache ../" inputs.cache.path "$(J '"dem.tif"' '"e1"' ", \"cache\": {\"path\": \"../c\"}")"
escape "area file outside" inputs.area.file "$(J '"dem.tif"' '"e1"' ", \"area\": {\"file\": \"/etc/passwd\"}")"
escape "grid file outside" inputs.grid "$(J '"dem.tif"' '"e1"' ", \"grid\": \"/etc/x.json\"")"
escape "a process key in the inputs" inputs.process "$(J '"dem.tif"' '"e1"' ", \"process\": \"/tmp/evil.so\"")"
escape "features outside" inputs.output.features \
  "{\"inputs\": {\"inputs\": {\"dem\": \"dem.tif\"}, \"zoom\": 9, \"output\": {\"path\": \"e1\", \"features\": \"/tmp/f.gpkg\"}}}"
check_eq "a plugin path as process id: 404" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"inputs":{}}' "$BASE/processes/..%2Fevil.so/execution")"
check_eq "no escape queued a job" "$NJOBS" "$(psql "$DB" -Atc "SELECT count(*) FROM swath_jobs")"
check_eq "nothing written outside the roots" "secret.tif" "$(ls "$WORK/outside")"

# ---- STAC and Processes in one server ----
run_swath catalog ingest "$SWATH_SRC/tests/data/stac/simple-item.json" --catalog "$WORK/scenes.db"
check_eq "a small catalog ingested" 0 "$RUN_RC"
"$SWATH" serve --catalog "$WORK/scenes.db" --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" \
  --port 0 2>"$WORK/serve2.log" &
track_bg $!
PORT2=$(serve_port "$WORK/serve2.log")
[ -n "$PORT2" ] || die "the combined server started" "$(cat "$WORK/serve2.log")"
py_checks "http://127.0.0.1:$PORT2" <<'EOF2'
import json, sys, urllib.request
import swt
base = sys.argv[1]
def get(p):
    with urllib.request.urlopen(base + p) as r:
        return json.load(r)
land = get("/")
rels = {l.get("rel") for l in land["links"]}
hrefs = " ".join(l["href"] for l in land["links"])
swt.check("combined landing links both APIs (processes, jobs, search, collections)",
          "/processes" in hrefs and "/jobs" in hrefs and "/search" in hrefs and "/collections" in hrefs,
          hrefs)
conf = get("/conformance")["conformsTo"]
swt.check("combined conformance lists STAC and Processes classes",
          any("ogcapi-processes-1/1.0/conf/core" in c for c in conf) and any("stac" in c for c in conf),
          conf)
swt.check("the STAC search answers in the combined server", "features" in get("/search"), "")
swt.check("the processes list answers in the combined server", len(get("/processes")["processes"]) > 3, "")
api = get("/api")
swt.check("/api describes the STAC paths too", "/search" in api["paths"] and "/processes" in api["paths"],
          sorted(api["paths"])[:20])
EOF2

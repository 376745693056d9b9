#!/usr/bin/env bash
# test_service_results.sh: a job's results served by `swath serve` (issue
# 20, point 2; docs/service.md, "Results"):
#   - a hillshade job posted and drained by a `swath worker`: its TileJSON
#     matches the output's own tilejson.json, every tile is served
#     byte-identical to its file with a strong ETag and a long max-age,
#     If-None-Match answers 304 without a body, a rewritten tile gets
#     another ETag; bad z/x/y/ext, another job's path, ../ and
#     percent-encoded escapes are refused and nothing outside the outputs
#     root is ever served;
#   - a detection job (the committed solar model) posted through the
#     service (`--features-db`: its features in a PostGIS schema of its
#     own) and drained by a worker: GDAL's OAPIF driver (ogrinfo, ogr2ogr)
#     reads the same features as `swath export --format geojson`;
#     threshold, bbox, class, limit/offset paging cover every feature
#     exactly once; a server without --features-db refuses the job naming
#     it; the heatmap built into the output is served as tiles;
#   - status and results documents link tiles, features and heatmap.
. "$(dirname "$0")/lib.sh"
require_swath
. "$SWATH_SRC/tests/integration/detect_lib.sh"
start_postgres
DB="$PG_LIBPQ"

mkdir -p "$WORK/in" "$WORK/out" "$WORK/outside"
gen_dem "$WORK/in/dem.tif" --size 512
echo TOP-SECRET-CONTENT >"$WORK/outside/secret.txt"
detect_scene
cp "$WORK/data/scene.tif" "$WORK/in/scene.tif"
cp "$MODEL" "$WORK/in/solar.onnx"

"$SWATH" serve --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" --port 0 --threads 4 \
  --sync-tiles 0 --features-db "$DB" 2>"$WORK/serve.log" &
track_bg $!
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "server started" "$(cat "$WORK/serve.log")"
BASE=http://127.0.0.1:$PORT

# post NAME PROCESS BODY: an async execution; the job id in $WORK/NAME.id
post() {
  curl -s -o "$WORK/$1.json" -w '%{http_code}' -X POST -H 'Prefer: respond-async' \
    --data-binary "$3" "$BASE/processes/$2/execution" >"$WORK/$1.code"
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("jobID",""))' \
    "$WORK/$1.json" >"$WORK/$1.id" 2>/dev/null
}

JOB='{"inputs": {"params": {}, "inputs": {"dem": "dem.tif"},
      "grid": {"name": "WebMercatorQuad", "metatiling": 2}, "zoom": [9, 11],
      "output": {"path": "hs", "format": "PNG"}}}'
post hs hillshade "$JOB"
HS=$(cat "$WORK/hs.id")
check_eq "hillshade posted: 201" 201 "$(cat "$WORK/hs.code")"
# while queued: no tiles yet, a 404 problem saying why
check_eq "tiles.json before the job ran: 404" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/jobs/$HS/tiles.json")"
check "a worker drains the hillshade job" "$SWATH" worker --db "$DB" --job "$HS" --workers 2
# a second job, for 'another job's path'
post hs2 hillshade "$(echo "$JOB" | sed 's/"hs"/"hs2"/; s/\[9, 11\]/10/')"
HS2=$(cat "$WORK/hs2.id")
"$SWATH" worker --db "$DB" --job "$HS2" --workers 1 >/dev/null 2>&1

py_checks "$BASE" "$HS" "$HS2" "$WORK" <<'EOF'
import hashlib, json, os, sys, urllib.request, urllib.error
import swt
base, hs, hs2, work = sys.argv[1:5]
out = work + "/out/hs"
def get(path, headers=None):
    rq = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(rq) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
st, h, body = get("/jobs/%s/tiles.json" % hs)
tj = json.loads(body)
mine = json.load(open(out + "/tilejson.json"))
swt.check("tiles.json: TileJSON 3.0.0 with the output's zooms, bounds and name",
          st == 200 and tj["tilejson"] == "3.0.0" and
          all(tj[k] == mine[k] for k in ("minzoom", "maxzoom", "bounds", "name", "center")),
          (st, tj, mine))
swt.check("tiles.json: the tile URL template of this server",
          tj["tiles"] == ["%s/jobs/%s/tiles/{z}/{x}/{y}.png" % (base, hs)], tj["tiles"])
# every tile file served byte-identical, with its ETag and cache headers
files = []
for d, dirs, fs in os.walk(out):
    dirs[:] = [x for x in dirs if x != ".swath"]
    for f in fs:
        if f.endswith(".png"):
            files.append(os.path.relpath(os.path.join(d, f), out))
bad, etags = [], {}
for rel in files:
    st, h, body = get("/jobs/%s/tiles/%s" % (hs, rel))
    if st != 200 or body != open(os.path.join(out, rel), "rb").read() or \
            h.get("Content-Type") != "image/png":
        bad.append((rel, st, h.get("Content-Type")))
    etags[rel] = h.get("ETag", "")
swt.check("every tile (%d) served byte-identical as image/png" % len(files), files and not bad, bad[:3])
swt.check("every tile has a strong ETag, all different",
          all(e.startswith('"') for e in etags.values()) and len(set(etags.values())) == len(files),
          list(etags.values())[:3])
rel = sorted(files)[0]
st, h, body = get("/jobs/%s/tiles/%s" % (hs, rel))
swt.check("a successful job's tile: long max-age, immutable",
          "max-age=31536000" in h.get("Cache-Control", "") and "immutable" in h["Cache-Control"],
          h.get("Cache-Control"))
st, h2, body = get("/jobs/%s/tiles/%s" % (hs, rel), {"If-None-Match": h["ETag"]})
swt.check("If-None-Match with the tile's ETag: 304, no body, same ETag",
          st == 304 and body == b"" and h2.get("ETag") == h["ETag"], (st, len(body), h2))
st, h2, body = get("/jobs/%s/tiles/%s" % (hs, rel), {"If-None-Match": '"other", ' + h["ETag"]})
swt.check("If-None-Match with a list holding it: 304", st == 304, st)
st, h2, body = get("/jobs/%s/tiles/%s" % (hs, rel), {"If-None-Match": '"0-0-0"'})
swt.check("If-None-Match with another tag: 200 and the bytes", st == 200 and len(body) > 0, st)
# a tile rewritten (a new file renamed into place, as the sinks do)
p = os.path.join(out, rel)
data = open(p, "rb").read()
open(p + ".new", "wb").write(data)
os.rename(p + ".new", p)
st, h3, body = get("/jobs/%s/tiles/%s" % (hs, rel))
swt.check("a rewritten tile: another ETag", h3.get("ETag") != h["ETag"] and body == data,
          (h["ETag"], h3.get("ETag")))
st, h4, body = get("/jobs/%s/tiles/%s" % (hs, rel), {"If-None-Match": h["ETag"]})
swt.check("the old ETag after a rewrite: 200 with the bytes", st == 200 and body == data, st)
z, x, yext = rel.split("/")
y = yext.split(".")[0]
bad = {}
for url, want in [
        ("/jobs/%s/tiles/%s/%s/%s.jpg" % (hs, z, x, y), 404),     # wrong extension
        ("/jobs/%s/tiles/%s/%s/%s" % (hs, z, x, y), 400),         # no extension
        ("/jobs/%s/tiles/0%s/%s/%s.png" % (hs, z, x, y), 400),    # leading zero
        ("/jobs/%s/tiles/-1/%s/%s.png" % (hs, x, y), 400),
        ("/jobs/%s/tiles/%s/%s/%s.png" % (hs, z, "x", y), 400),
        ("/jobs/%s/tiles/%s/%s/%s.png" % (hs, z, 2 ** int(z), y), 400),  # x out of range
        ("/jobs/%s/tiles/31/0/0.png" % hs, 400),
        ("/jobs/%s/tiles/%s/%s/%s.png" % (hs, 8, 0, 0), 404),     # zoom the job lacks
        ("/jobs/%s/tiles/%s/%s/%s.png" % (hs, z, 0, 0), 404),     # a tile not there
        ("/jobs/%s/tiles/1e1/0/0.png" % hs, 400),
        ("/jobs/%s/tiles/+9/0/0.png" % hs, 400),
        ("/jobs/%s/tiles/%s/%s/%s.png.png" % (hs, z, x, y), 404),
        ("/jobs/999999/tiles/%s/%s/%s.png" % (z, x, y), 404),
        ("/jobs/999999/tiles.json", 404),
        ("/jobs/%s/heatmap/tiles.json" % hs, 404),                # no heatmap
        ("/jobs/%s/features" % hs, 404),                          # no features
        ]:
    st, h, body = get(url)
    detail = json.loads(body).get("detail", "") if body.startswith(b"{") else ""
    if st != want or "\n" in detail or not detail:
        bad[url] = (st, want, body[:200])
swt.check("bad z/x/y/ext, missing tiles and outputs: 400/404 with a one-line detail", not bad, bad)
# another job's tile through this job's URL: the tiles of job hs2 are z10 only
st2 = get("/jobs/%s/tiles.json" % hs2)[0]
t10 = sorted(f for f in os.listdir(work + "/out/hs2/10"))[0]
y10 = os.listdir(work + "/out/hs2/10/" + t10)[0]
st, h, body = get("/jobs/%s/tiles/10/%s/%s" % (hs2, t10, y10))
swt.check("job 2's own tile is served", st2 == 200 and st == 200, (st2, st))
same = open(work + "/out/hs/10/%s/%s" % (t10, y10), "rb").read() if os.path.exists(
    work + "/out/hs/10/%s/%s" % (t10, y10)) else None
os.replace(work + "/out/hs2/10/%s/%s" % (t10, y10), work + "/hs2-tile")
st, h, body = get("/jobs/%s/tiles/10/%s/%s" % (hs2, t10, y10))
swt.check("job 2's tile removed: 404, never job 1's file", st == 404, (st, same is not None))
os.replace(work + "/hs2-tile", work + "/out/hs2/10/%s/%s" % (t10, y10))
EOF

# Escapes: raw paths (curl --path-as-is), nothing outside the outputs root.
ln -s "$WORK/outside" "$WORK/out/hs/9/link"
# a tile name that is a symlink out of the root
mkdir -p "$WORK/out/hs/9/0" && ln -s "$WORK/outside/secret.txt" "$WORK/out/hs/9/0/0.png"
Z=$(ls "$WORK/out/hs" | grep -E '^[0-9]+$' | head -1)
esc_ok=1
for u in "/jobs/$HS/tiles/../../../outside/secret.txt" \
  "/jobs/$HS/tiles/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt" \
  "/jobs/$HS/tiles/9/%2e%2e%2f%2e%2e%2f/secret.txt" \
  "/jobs/$HS/tiles/9/link/secret.txt" \
  "/jobs/$HS/tiles/9/0/0.png" \
  "/jobs/$HS/tiles/9/..%2F..%2F..%2Foutside/secret.txt" \
  "/jobs/$HS/tiles/9/0/..%2f..%2f..%2f..%2foutside%2fsecret.txt" \
  "/jobs/$HS/tiles/$Z/0/%00.png" \
  "/jobs/$HS/tiles/$Z/..%5c..%5c/0.png" \
  "/jobs/$HS/heatmap/../../../outside/secret.txt" \
  "/jobs/..%2f..%2foutside/tiles/9/0/0.png" \
  "/jobs/$HS%2f..%2f$HS2/tiles/9/0/0.png"; do
  got=$(curl -s --path-as-is -o "$WORK/esc.out" -w '%{http_code}' "$BASE$u")
  if grep -q TOP-SECRET "$WORK/esc.out" || [ "${got:0:1}" != 4 ]; then
    esc_ok=0
    echo "escape served: $u -> $got: $(head -c 200 "$WORK/esc.out")" >&2
  fi
done
check_eq "../, percent-encoded and symlink escapes: every one a 4xx, nothing outside served" 1 "$esc_ok"
# a symlinked output: the job's folder leads out of the root
mv "$WORK/out/hs2" "$WORK/outside/hs2" && ln -s "$WORK/outside/hs2" "$WORK/out/hs2"
T=$(tile_files "$WORK/outside/hs2" png | head -1)
check_eq "an output that leads out of the root through a symlink: 404" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/jobs/$HS2/tiles/$T.png")"
rm "$WORK/out/hs2" && mv "$WORK/outside/hs2" "$WORK/out/hs2"

# ---- a detection job posted through the service ----
DET='{"inputs": {"params": {"model": "solar.onnx", "kind": "detection",
      "chip": {"size": 256, "overlap": 64}, "bands": [1, 2, 3],
      "normalize": {"scale": 0.00392157, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
      "classes": ["solar_panel"], "min_score": 0.05},
      "inputs": {"imagery": "scene.tif"}, "grid": {"name": "WebMercatorQuad", "metatiling": 2},
      "zoom": 19, "output": {"path": "det"}}}'
post det detect "$DET"
DID=$(cat "$WORK/det.id")
check_eq "a detection job posted with --features-db: 201" 201 "$(cat "$WORK/det.code")"
check "a worker drains the detection job" "$SWATH" worker --db "$DB" --job "$DID" --workers 2
STORE=$(psql "$DB" -Atc "SELECT yaml FROM swath_jobs WHERE id = $DID" |
  "$PY" -c 'import yaml,sys; print(yaml.safe_load(sys.stdin)["output"]["features"])')
check "its features went to a PostGIS schema of its own" \
  bash -c "[[ \"\$1\" == PG:*active_schema=swath_f_* ]]" _ "$STORE"
run_swath export "$STORE" --format geojson -o "$WORK/export.geojson"
check_eq "swath export of the job's store exits 0" 0 "$RUN_RC"
# the heatmap, built into the job's output as a swath run with output.heatmap does
run_swath heatmap "$STORE" --zoom 14-16 --cell 20m -o "$WORK/out/det/heatmap"
check_eq "swath heatmap into the job's output exits 0" 0 "$RUN_RC"

ogrinfo -ro -al -so "OAPIF:$BASE/jobs/$DID/features" >"$WORK/ogrinfo.txt" 2>&1
check_py "ogrinfo OAPIF: lists the detections layer with its features" "$WORK/ogrinfo.txt" \
  "$WORK/export.geojson" <<'EOF'
import json, re, sys
t = open(sys.argv[1]).read()
n = len(json.load(open(sys.argv[2]))["features"])
m = re.search(r"Feature Count: (\d+)", t)
assert "Layer name: detections" in t, t
assert m and int(m.group(1)) == n, (m and m.group(1), n, t)
for f in ("score", "class", "z", "x", "y"):
    assert re.search(r"^%s: " % f, t, re.M), (f, t)
print(n, "features")
EOF
ogr2ogr -f GeoJSON "$WORK/oapif.geojson" "OAPIF:$BASE/jobs/$DID/features" detections \
  -oo PAGE_SIZE=7 >"$WORK/ogr2ogr.txt" 2>&1
check_py "OAPIF read (pages of 7 through next links) equals swath export: count, scores, tiles, geometry" \
  "$WORK/oapif.geojson" "$WORK/export.geojson" <<'EOF'
import json, sys
from osgeo import ogr
def feats(p):
    out = []
    for f in json.load(open(p))["features"]:
        pr = f["properties"]
        g = ogr.CreateGeometryFromJson(json.dumps(f["geometry"]))
        out.append(((pr["z"], pr["x"], pr["y"]), round(pr["score"], 9), pr["class"], g))
    return sorted(out, key=lambda t: (t[0], t[1], t[3].Centroid().GetX()))
a, b = feats(sys.argv[1]), feats(sys.argv[2])
assert a and len(a) == len(b), (len(a), len(b))
for x, y in zip(a, b):
    assert x[:3] == y[:3], (x[:3], y[:3])
    # swath export's GeoJSON (GDAL's driver) keeps 7 decimals: 1 cm
    d = max(abs(u - v) for u, v in zip(x[3].GetEnvelope(), y[3].GetEnvelope()))
    assert d < 2e-7, (x[:3], y[:3], d)
print(len(a), "features alike")
EOF

py_checks "$BASE" "$DID" "$WORK" "$SWATH" "$STORE" <<'EOF'
import json, os, subprocess, sys, urllib.request, urllib.error
import swt
base, did, work, swath, store = sys.argv[1:6]
root = "%s/jobs/%s/features" % (base, did)
def get(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.headers.get("Content-Type"), json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), json.loads(e.read() or b"{}")
def export(*args):
    out = subprocess.run([swath, "export", store, "--format", "geojson"] + list(args),
                         capture_output=True, check=True).stdout
    return json.loads(out)["features"]
st, ct, land = get(root)
rels = {l["rel"]: l for l in land["links"]}
swt.check("features landing: links conformance, data, service-desc",
          st == 200 and {"conformance", "data", "service-desc"} <= set(rels), land)
st, ct, conf = get(root + "/conformance")
swt.check("features conformance: core and geojson",
          {"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
           "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"} <= set(conf["conformsTo"]), conf)
st, ct, cols = get(root + "/collections")
c = cols["collections"][0]
items = [l for l in c["links"] if l["rel"] == "items"]
swt.check("one collection 'detections' with an items link (geo+json) and a lon/lat extent",
          [x["id"] for x in cols["collections"]] == ["detections"] and items and
          items[0]["type"] == "application/geo+json" and len(c["extent"]["spatial"]["bbox"][0]) == 4,
          cols)
def walk(query, limit):
    url, seen, pages, matched = root + "/collections/detections/items?limit=%d%s" % (limit, query), [], 0, None
    while url and pages < 1000:
        st, ct, d = get(url)
        assert st == 200 and ct == "application/geo+json", (st, ct, d)
        assert d["numberReturned"] == len(d["features"]) <= limit, d
        matched = d["numberMatched"]
        seen += d["features"]
        pages += 1
        url = next((l["href"] for l in d["links"] if l["rel"] == "next"), None)
    return seen, matched, pages
key = lambda f: (f["properties"]["z"], f["properties"]["x"], f["properties"]["y"],
                 round(f["properties"]["score"], 9))
allf = export()
n = len(allf)
first = None
for q, args in [("", []), ("&threshold=0.5", ["--threshold", "0.5"]),
                ("&threshold=0.9&class=solar_panel", ["--threshold", "0.9", "--class", "solar_panel"])]:
    ref = export(*args)
    seen, matched, pages = walk(q, 5)
    first = first or seen
    ids = [f["id"] for f in seen]
    swt.check("paging%s (limit 5): every feature once, as swath export %s keeps them (%d)"
              % (q, " ".join(args), len(ref)),
              ref and len(ids) == len(set(ids)) == matched == len(ref) and
              sorted(map(key, seen)) == sorted(map(key, ref)) and pages == -(-len(ref) // 5),
              (len(ids), len(set(ids)), matched, len(ref), pages))
# bbox: the western and eastern halves of the features' extent, as swath export --bounds
bb = c["extent"]["spatial"]["bbox"][0]
mid = (bb[0] + bb[2]) / 2
half = "%.9f,%.9f,%.9f,%.9f" % (bb[0] - 1e-6, bb[1] - 1e-6, mid, bb[3] + 1e-6)
east = "%.9f,%.9f,%.9f,%.9f" % (mid, bb[1] - 1e-6, bb[2] + 1e-6, bb[3] + 1e-6)
w, mw, _ = walk("&bbox=" + half, 1000)
e, me, _ = walk("&bbox=" + east, 1000)
refw = export("--bounds", half)
swt.check("bbox: the features of swath export --bounds; west and east halves split them",
          len(w) == mw == len(refw) and 0 < len(w) < n and len(w) + len(e) == n and
          not ({f["id"] for f in w} & {f["id"] for f in e}) and
          sorted(map(key, w)) == sorted(map(key, refw)), (len(w), len(refw), len(e), n))
st, ct, d = get(root + "/collections/detections/items/%s" % first[0]["id"])
swt.check("a single item: the same feature", st == 200 and d.get("id") == first[0]["id"] and
          d["properties"] == first[0]["properties"] and ct == "application/geo+json", (st, d))
bad = {}
for q, want in [("?limit=0", 400), ("?limit=10001", 400), ("?limit=x", 400), ("?offset=-1", 400),
                ("?threshold=2", 400), ("?bbox=1,2,3", 400), ("?colour=red", 400), ("?class=", 400)]:
    st, ct, d = get(root + "/collections/detections/items" + q)
    if st != want or not d.get("detail") or "\n" in d["detail"]:
        bad[q] = (st, d)
for u, want in [("/collections/nope", 404), ("/collections/nope/items", 404),
                ("/collections/detections/items/999999999", 404),
                ("/collections/detections/items/abc", 404)]:
    st, ct, d = get(root + u)
    if st != want:
        bad[u] = (st, d)
swt.check("bad items queries 400, unknown collection or feature 404 (one-line details)", not bad, bad)
st, ct, off = get(root + "/collections/detections/items?offset=%d" % (n + 10))
swt.check("an offset past the end: empty page, no next link",
          st == 200 and off["numberReturned"] == 0 and off["numberMatched"] == n and
          not [l for l in off["links"] if l["rel"] == "next"], off)
st, ct, tj = get("%s/jobs/%s/heatmap/tiles.json" % (base, did))
hm = work + "/out/det/heatmap"
files = [os.path.relpath(os.path.join(d, f), hm) for d, _, fs in os.walk(hm) for f in fs
         if f.endswith(".png") and ".swath" not in d]
bad = []
for rel in files:
    with urllib.request.urlopen("%s/jobs/%s/heatmap/%s" % (base, did, rel)) as r:
        if r.read() != open(os.path.join(hm, rel), "rb").read():
            bad.append(rel)
swt.check("heatmap: tiles.json and every tile (%d) byte-identical" % len(files),
          st == 200 and tj["tiles"] == ["%s/jobs/%s/heatmap/{z}/{x}/{y}.png" % (base, did)] and
          files and not bad, (st, tj, bad[:3]))
EOF

py_checks "$BASE" "$HS" "$DID" <<'EOF'
import json, sys, urllib.request
import swt
base, hs, did = sys.argv[1:4]
def rels(url):
    with urllib.request.urlopen(base + url) as r:
        d = json.load(r)
    return {l["rel"]: l["href"] for l in d["links"]}
a, b = rels("/jobs/" + hs), rels("/jobs/" + did)
swt.check("status of the hillshade job: rel tiles only",
          a.get("tiles") == "%s/jobs/%s/tiles.json" % (base, hs) and "features" not in a and
          "heatmap" not in a, a)
swt.check("status of the detection job: rel features and heatmap, no tiles",
          b.get("features") == "%s/jobs/%s/features" % (base, did) and
          b.get("heatmap") == "%s/jobs/%s/heatmap/tiles.json" % (base, did) and "tiles" not in b, b)
r = rels("/jobs/%s/results" % did)
swt.check("results document of the detection job: the same links",
          r.get("features") == b["features"] and r.get("heatmap") == b["heatmap"], r)
d = json.load(urllib.request.urlopen(base + "/jobs?limit=10"))
swt.check("the job list carries the links too",
          any(l["rel"] == "tiles" for j in d["jobs"] for l in j["links"]), "")
EOF

# Without --features-db a posted detection job is refused, naming it.
"$SWATH" serve --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" --port 0 \
  2>"$WORK/serve2.log" &
track_bg $!
PORT2=$(serve_port "$WORK/serve2.log")
NJOBS=$(psql "$DB" -Atc "SELECT count(*) FROM swath_jobs")
got=$(curl -s -o "$WORK/nodb.json" -w '%{http_code}' -X POST \
  --data-binary "$(echo "$DET" | sed 's/"det"/"det2"/')" \
  "http://127.0.0.1:$PORT2/processes/detect/execution")
check_eq "a detection job posted without --features-db: 400 naming --features-db, nothing queued" \
  "400 yes $NJOBS" \
  "$got $(grep -q -- '--features-db' "$WORK/nodb.json" && echo yes) $(psql "$DB" -Atc "SELECT count(*) FROM swath_jobs")"

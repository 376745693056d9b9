#!/usr/bin/env bash
# test_detect_remote.sh: issue 18, point 2's last sentence: a detect job
# whose model runs behind a KServe v2 server (`swath model serve` over the
# committed model: the download/predict split) finds the same features as
# the same job with the model in-process (count, class, owning tile,
# geometry within 1 mm, scores within 1e-5), in the binary tensor protocol
# and in JSON; and a server that stops answering mid-run fails the tiles
# it was asked for (listed, exit 1), which a rerun against a live server
# completes with the same features.
. "$(dirname "$0")/lib.sh"
require_swath

MODEL="$SWATH_SRC/models/solar/solar.onnx"
[ -f "$MODEL" ] || die "the committed model is there" "missing: $MODEL"
"$PY" "$SWATH_SRC/tests/integration/detect_scene.py" "$WORK/data" >"$WORK/scene.txt" ||
  die "scene generated" "$(cat "$WORK/scene.txt")"

"$SWATH" model serve "$MODEL" --port 0 --threads 2 --name solar >"$WORK/serve.log" 2>&1 &
track_bg $!
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "swath model serve started" "$(cat "$WORK/serve.log")"

# job NAME MODEL_YAML
job() {
  cat >"$WORK/$1.yaml" <<EOF
process: detect
params:
  model: $2
  chip: {size: 256, overlap: 64}
  normalize: {scale: 0.00392157, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  classes: [solar_panel]
  min_score: 0.05
inputs:
  imagery: data/scene.tif
grid: {name: WebMercatorQuad, metatiling: 4}
zoom: 19
output: {path: out/$1}
EOF
}
job local "$MODEL"
job binary "{type: kserve, url: 'http://127.0.0.1:$PORT', name: solar}"
job json "{type: kserve, url: 'http://127.0.0.1:$PORT', name: solar, protocol: json}"
for j in local binary json; do check_run "$j: the run exits 0" 0 run "$WORK/$j.yaml"; done

cat >"$WORK/feat.py" <<'EOF'
from osgeo import ogr
def load(path):
    ds = ogr.Open(path)
    out = []
    for f in ds.GetLayer("features"):
        e = f.GetGeometryRef().GetEnvelope()
        out.append((f["class"], (f["z"], f["x"], f["y"]), e, f["score"]))
    return sorted(out, key=lambda t: (t[1], round(t[2][0], 2), round(t[2][2], 2)))
def same(a, b):
    if len(a) != len(b) or not a:
        return "%d features, not %d" % (len(b), len(a))
    for x, y in zip(a, b):
        if x[0] != y[0] or x[1] != y[1] or abs(x[3] - y[3]) > 1e-5 or \
                max(abs(u - v) for u, v in zip(x[2], y[2])) > 1e-3:
            return "differ: %r vs %r" % (x, y)
    return ""
EOF
for j in binary json; do
  check_py "$j: the features equal the in-process run's" "$WORK" "$j" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
a = feat.load(sys.argv[1] + "/out/local/features.gpkg")
why = feat.same(a, feat.load(sys.argv[1] + "/out/%s/features.gpkg" % sys.argv[2]))
print(len(a), "features")
if why: sys.exit(why)
EOF
done

# A server that is not there any more: every tile fails (listed), exit 1.
FREE=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
job gone "{type: kserve, url: 'http://127.0.0.1:$PORT', name: solar}"
"$SWATH" model serve "$MODEL" --port "$FREE" --name solar >"$WORK/serve2.log" 2>&1 &
SPID=$!
track_bg $SPID
[ -n "$(serve_port "$WORK/serve2.log")" ] || die "second server started" "$(cat "$WORK/serve2.log")"
sed -i "s/127.0.0.1:$PORT/127.0.0.1:$FREE/" "$WORK/gone.yaml"
# Stop it once the run has opened the model (the open needs it), before
# the tiles: a run with 1 worker and the server killed after its check.
( for _ in $(seq 1 200); do
    grep -q "tasks at zooms" "$WORK/gone.err" 2>/dev/null && break
    sleep 0.05
  done
  kill -9 $SPID ) &
KILLER=$!
"$SWATH" run --workers 1 "$WORK/gone.yaml" >"$WORK/gone.out" 2>"$WORK/gone.err"
RC=$?
wait $KILLER
check_eq "the server gone mid-run: exit 1, tiles listed as failed" "1 yes" \
  "$RC $([ -s "$WORK/out/gone/.swath/failed.txt" ] && echo yes)"
# The server back on its port (the job, so its key, unchanged).
"$SWATH" model serve "$MODEL" --port "$FREE" --name solar >"$WORK/serve3.log" 2>&1 &
track_bg $!
[ -n "$(serve_port "$WORK/serve3.log")" ] || die "the server restarted" "$(cat "$WORK/serve3.log")"
check_run "a rerun against the server, back, completes" 0 run "$WORK/gone.yaml"
check_py "after the rerun: the in-process run's features" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
why = feat.same(feat.load(sys.argv[1] + "/out/local/features.gpkg"),
                feat.load(sys.argv[1] + "/out/gone/features.gpkg"))
if why: sys.exit(why)
EOF

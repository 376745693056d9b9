#!/usr/bin/env bash
# test_model_remote.sh: models behind servers (docs/models.md, "Model
# servers"). swath's KServe v2 client against swath's own server (`swath
# model serve`) over a 1x1-convolution ONNX model generated here
# (model_fakes.py), and against fake KServe and TF Serving servers written
# from the protocols' documents that compute the same convolution with
# numpy:
#  - `model info` through kserve shows the served shapes; `model predict`
#    through kserve (binary and JSON) and tfserving (an NHWC signature)
#    equals the in-process result, and numpy's;
#  - the server answers bad requests with 400 {"error": ...} (wrong shape,
#    datatype, malformed JSON, unknown input, a batch over --max-batch),
#    404 for an unknown model, 413 for a body over --max-body;
#  - an unreachable server and an unknown model are one line, exit 2; an
#    answer of the wrong shape and a 400 are one line, exit 1, naming the
#    output or quoting the server; a 503 is retried.
. "$(dirname "$0")/lib.sh"
require_swath
FAKES=$SWATH_SRC/tests/integration/model_fakes.py

"$PY" "$FAKES" onnx "$WORK/conv.onnx" || die "generate the ONNX model"
"$PY" - "$WORK/in.f32" "$WORK/in5.f32" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(7)
rng.standard_normal((2, 3, 8, 8)).astype("<f4").tofile(sys.argv[1])
rng.standard_normal((5, 3, 8, 8)).astype("<f4").tofile(sys.argv[2])
PY

"$SWATH" model serve "$WORK/conv.onnx" --port 0 --threads 2 --max-batch 4 --max-body 1 \
  2>"$WORK/serve.log" &
track_bg $!
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "swath model serve started" "$(cat "$WORK/serve.log")"
grep -q "serving model 'conv' (KServe v2)" "$WORK/serve.log" && pass "serve names the model" ||
  fail "serve names the model" "$(cat "$WORK/serve.log")"
URL=http://127.0.0.1:$PORT

check_run "model info through kserve" 0 model info "$URL" --type kserve --name conv
for want in "runtime: kserve" "input: x: ? x 3 x 8 x 8" "output 0: y: ? x 2 x 8 x 8" \
  "output 1: p: ? x 2 x 8 x 8"; do
  grep -qF "$want" "$WORK/run.out" && pass "info shows '$want'" ||
    fail "info shows '$want'" "$(cat "$WORK/run.out")"
done

predict() { # NAME OUT_PREFIX ARGS...: swath model predict of in.f32
  local name=$1 out=$2
  shift 2
  check_run "$name" 0 model predict "$@" --chips "$WORK/in.f32" --shape 2,3,8,8 -o "$WORK/$out"
}
predict "predict in-process" local "$WORK/conv.onnx"
predict "predict through swath's server (binary)" ks_bin "$URL" --type kserve --name conv
predict "predict through swath's server (JSON)" ks_json "$URL" --type kserve --name conv \
  --protocol json

# Fake servers written from the protocol documents.
"$PY" "$FAKES" kserve >"$WORK/fake_ks.log" 2>&1 &
track_bg $!
"$PY" "$FAKES" tfserving >"$WORK/fake_tf.log" 2>&1 &
track_bg $!
KS=http://127.0.0.1:$(serve_port "$WORK/fake_ks.log")
TF=http://127.0.0.1:$(serve_port "$WORK/fake_tf.log")
predict "predict through a fake KServe (binary)" fk_bin "$KS" --type kserve --name conv
predict "predict through a fake KServe (JSON)" fk_json "$KS" --type kserve --name conv \
  --protocol json
predict "a 503 is retried" flaky "$KS" --type kserve --name flaky
predict "predict through a fake TF Serving (NHWC)" tf "$TF" --type tfserving --name conv

py_checks "$WORK" "$FAKES" "$KS" <<'PY'
import json, sys, urllib.request
import numpy as np
import swt
work, fakes, ks = sys.argv[1:4]
sys.path.insert(0, fakes.rsplit("/", 1)[0])
import model_fakes
x = np.fromfile(work + "/in.f32", dtype="<f4").reshape(2, 3, 8, 8)
y, p = model_fakes.conv_nchw(x)
def out(prefix, i):
    return np.fromfile("%s/%s.%d.f32" % (work, prefix, i), dtype="<f4").reshape(2, 2, 8, 8)
local = [out("local", 0), out("local", 1)]
swt.check("in-process equals numpy (1e-6)",
          np.abs(local[0] - y).max() <= 1e-6 and np.abs(local[1] - p).max() <= 1e-6,
          (np.abs(local[0] - y).max(), np.abs(local[1] - p).max()))
for prefix in ("ks_bin", "ks_json"):
    same = all(np.array_equal(out(prefix, i), local[i]) for i in (0, 1))
    swt.check("%s equals in-process exactly" % prefix, same)
for prefix in ("fk_bin", "fk_json", "flaky", "tf"):
    d = max(np.abs(out(prefix, i) - local[i]).max() for i in (0, 1))
    swt.check("%s equals in-process (1e-6)" % prefix, d <= 1e-6, d)
st = json.load(urllib.request.urlopen(ks + "/stats"))
swt.check("the flaky model was asked twice (503, then 200)", st["infer"].get("flaky") == 2,
          st["infer"])
hdr = st["headers"]
swt.check("binary requests say octet-stream and the header length",
          hdr[0][0] == "application/octet-stream" and int(hdr[0][1]) > 0, hdr)
swt.check("JSON requests say application/json and no header length",
          hdr[1] == ["application/json", None], hdr)
PY

# Bad answers and unreachable servers: one line each.
one_line() { # NAME RC PATTERN ARGS...
  local name=$1 rc=$2 pat=$3
  shift 3
  run_swath "$@"
  if [ "$RUN_RC" -eq "$rc" ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] &&
    grep -qF -- "$pat" "$WORK/run.err"; then
    pass "$name"
  else
    fail "$name" "exit status $RUN_RC (want $rc), want one line with: $pat" "$(last_run_output)"
  fi
}
FREE=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
one_line "an unreachable server: exit 2" 2 "model server http://127.0.0.1:$FREE: not ready or not reachable" \
  model info "http://127.0.0.1:$FREE" --type kserve --name conv
one_line "an unknown model on swath's server: exit 2" 2 "has no model 'nope'" \
  model info "$URL" --type kserve --name nope
one_line "an unknown model on a KServe: exit 2, the server's text" 2 "Model nope not found" \
  model info "$KS" --type kserve --name nope
one_line "an unknown model on TF Serving: exit 2" 2 "has no model 'nope'" \
  model info "$TF" --type tfserving --name nope
one_line "an answer of the wrong shape: exit 1, naming the output" 1 \
  "output 'y' came back 2 x 2 x 4 x 4; it declares 2 x 2 x 8 x 8" \
  model predict "$KS" --type kserve --name wrongshape --chips "$WORK/in.f32" --shape 2,3,8,8 \
  -o "$WORK/ws"
[ ! -e "$WORK/ws.0.f32" ] && pass "no output written for a wrong answer" ||
  fail "no output written for a wrong answer"
one_line "a 400: exit 1, the server's error text" 1 \
  "HTTP 400 (Bad Request): input x: the fake refuses this batch" \
  model predict "$KS" --type kserve --name bad400 --chips "$WORK/in.f32" --shape 2,3,8,8 \
  -o "$WORK/b4"
one_line "a batch over the served max_batch: exit 2" 2 "a batch of 5 chips; it takes at most 4" \
  model predict "$URL" --type kserve --name conv --chips "$WORK/in5.f32" --shape 5,3,8,8 \
  -o "$WORK/mb"
one_line "a protocol swath does not speak: exit 2" 2 "model.protocol 'grpc'" \
  model info "$URL" --type kserve --name conv --protocol grpc

# The server's answers to bad requests.
py_checks "$URL" <<'PY'
import json, sys, urllib.request, urllib.error
import swt
url = sys.argv[1]
def call(path, body=None, headers=None):
    req = urllib.request.Request(url + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
def infer(obj, path="/v2/models/conv/infer"):
    return call(path, json.dumps(obj).encode(), {"Content-Type": "application/json"})
def inp(shape, data=None, dt="FP32", name="x"):
    n = 1
    for d in shape:
        n *= d
    return {"inputs": [{"name": name, "shape": shape, "datatype": dt,
                        "data": data if data is not None else [0.5] * n}]}
def err(name, got, status, text):
    code, body = got[0], got[1]
    try:
        msg = json.loads(body).get("error", "")
    except ValueError:
        msg = ""
    swt.check(name, code == status and text in msg, (code, body[:300]))
s, b, _ = call("/v2/health/live"); swt.check("live", s == 200 and json.loads(b)["live"] is True)
s, b, _ = call("/v2/health/ready"); swt.check("ready", s == 200 and json.loads(b)["ready"] is True)
s, b, _ = call("/v2/models/conv/ready")
swt.check("model ready", s == 200 and json.loads(b) == {"name": "conv", "ready": True}, b)
s, b, _ = call("/v2/models/conv")
m = json.loads(b)
swt.check("metadata", s == 200 and m["inputs"] == [{"name": "x", "datatype": "FP32",
          "shape": [-1, 3, 8, 8]}] and [o["name"] for o in m["outputs"]] == ["y", "p"]
          and m["parameters"]["max_batch_size"] == 4, b)
err("unknown model: 404", call("/v2/models/nope"), 404, "unknown model 'nope'")
err("unknown version: 404", call("/v2/models/conv/versions/7"), 404, "no version '7'")
err("unknown model infer: 404", infer(inp([1, 3, 8, 8]), "/v2/models/nope/infer"), 404,
    "unknown model")
err("wrong shape: 400", infer(inp([1, 3, 4, 4])), 400, "input 'x' takes 3 x 8 x 8")
err("wrong datatype: 400", infer(inp([1, 3, 8, 8], dt="INT32")), 400, "datatype INT32")
err("unknown input: 400", infer(inp([1, 3, 8, 8], name="z")), 400, "no input 'z'")
err("malformed JSON: 400", call("/v2/models/conv/infer", b"{\"inputs\": [", {}), 400,
    "not JSON")
err("too few values: 400", infer(inp([1, 3, 8, 8], data=[1, 2])), 400,
    "\"data\" holds 2 values; its shape, 192")
err("batch over --max-batch: 400", infer(inp([5, 3, 8, 8])), 400, "at most 4")
o = inp([1, 3, 8, 8]); o["outputs"] = [{"name": "q"}]
err("unknown output: 400", infer(o), 400, "no output 'q'")
s, b, _ = call("/v2/models/conv/infer", b"{" + b" " * (1 << 20) + b"}", {})
swt.check("a body over --max-body: 413", s == 413, (s, b[:200]))
# Only the output asked for, in binary, with the header length.
o = inp([1, 3, 8, 8]); o["outputs"] = [{"name": "p", "parameters": {"binary_data": True}}]
o["id"] = "r1"
s, b, h = infer(o)
hl = int(h.get("Inference-Header-Content-Length", 0))
head = json.loads(b[:hl]) if hl else {}
swt.check("binary answer: one output, the id, 512 bytes after the header",
          s == 200 and head.get("id") == "r1" and [x["name"] for x in head["outputs"]] == ["p"]
          and head["outputs"][0]["parameters"]["binary_data_size"] == 512
          and len(b) == hl + 512 and h.get("Content-Type") == "application/octet-stream",
          (s, h, b[:300]))
PY

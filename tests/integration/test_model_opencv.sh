#!/usr/bin/env bash
# test_model_opencv.sh: the in-process ONNX runtime (OpenCV DNN) through
# `swath model info` and `swath model predict`. The models are written here
# with python3-onnx's helper API, so their outputs are known: a 3x3
# convolution (padded) followed by a sigmoid, and a ReLU, whose results
# numpy computes independently (the oracle, within 1e-5). Broken models
# (an operator OpenCV 4.6 lacks, a made-up one, a Conv OpenCV cannot
# import, one it imports but cannot run, a truncated file, a text file, a
# missing file, no declared shape, a 3-D input) must each give one
# 'swath:' line naming the model and the operator or reason, exit 2.
. "$(dirname "$0")/lib.sh"
require_swath
cd "$WORK" || die "work folder"

"$PY" - <<'EOF' || die "generate ONNX models with python3-onnx"
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T

rng = np.random.default_rng(7)
W = rng.normal(size=(2, 3, 3, 3)).astype(np.float32)
B = np.array([0.25, -0.5], np.float32)
np.save("W.npy", W); np.save("B.npy", B)

def vi(name, shape):
    return helper.make_tensor_value_info(name, T.FLOAT, shape)

def save(path, nodes, inputs, outputs, inits=(), opset=11):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), path)

inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")]
conv = helper.make_node("Conv", ["chips", "W", "B"], ["logits"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
# outputs listed "heat" then "feat": graph order, not node order
save("good.onnx",
     [helper.make_node("Relu", ["chips"], ["feat"]), conv,
      helper.make_node("Sigmoid", ["logits"], ["heat"])],
     [vi("chips", ["N", 3, 8, 8])], [vi("heat", ["N", 2, 8, 8]), vi("feat", ["N", 3, 8, 8])], inits)
save("fixed2.onnx", [helper.make_node("Relu", ["chips"], ["y"])],
     [vi("chips", [2, 3, 8, 8])], [vi("y", [2, 3, 8, 8])])
save("open_hw.onnx", [helper.make_node("Relu", ["chips"], ["y"])],
     [vi("chips", ["N", 4, "H", "W"])], [vi("y", ["N", 4, "H", "W"])])
save("hardmax.onnx", [helper.make_node("Hardmax", ["chips"], ["y"])],
     [vi("chips", [1, 3, 8, 8])], [vi("y", [1, 3, 8, 8])], opset=13)
save("madeup.onnx", [helper.make_node("FrobnicateX", ["chips"], ["y"])],
     [vi("chips", [1, 3, 8, 8])], [vi("y", [1, 3, 8, 8])])
save("conv_nokernel.onnx", [helper.make_node("Conv", ["chips", "W", "B"], ["y"], pads=[1, 1, 1, 1])],
     [vi("chips", [1, 3, 8, 8])], [vi("y", [1, 2, 8, 8])], inits)
save("noshape.onnx", [helper.make_node("Relu", ["chips"], ["y"])],
     [vi("chips", [1, 3, 8, 8])], [vi("y", None)])
# imports, but its Add cannot broadcast 3x8x8 with 3x7x7: only running it shows
save("add_bad.onnx", [helper.make_node("Add", ["chips", "A"], ["y"])],
     [vi("chips", ["N", 3, 8, 8])], [vi("y", ["N", 3, 8, 8])],
     [numpy_helper.from_array(np.ones((1, 3, 7, 7), np.float32), "A")])
save("rank3.onnx", [helper.make_node("Relu", ["chips"], ["y"])],
     [vi("chips", [3, 8, 8])], [vi("y", [3, 8, 8])])
data = open("good.onnx", "rb").read()
open("truncated.onnx", "wb").write(data[: len(data) // 2])
open("text.onnx", "w").write("this is not a model\n")
x = rng.normal(size=(3, 3, 8, 8)).astype("<f4")
x.tofile("chips3.f32")
EOF

# ---- swath model info ----
check_run "info good.onnx" 0 model info good.onnx
check_eq "info lines" "runtime: onnx
name: good.onnx
opset: 11
input: chips: ? x 3 x 8 x 8
output 0: heat: ? x 2 x 8 x 8
output 1: feat: ? x 3 x 8 x 8
swath feeds: N x 3 x 8 x 8 float32 chips, N any (params.batch)
chip.size must be 8; bands must list 3 bands" "$(cat "$WORK/run.out")"

check_run "info --json good.onnx" 0 model info --json good.onnx
check_py "info --json fields" "$WORK/run.out" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["runtime"] == "onnx" and j["name"] == "good.onnx" and j["opset"] == 11, j
assert j["input"] == {"name": "chips", "shape": [-1, 3, 8, 8]}, j["input"]
assert [o["name"] for o in j["outputs"]] == ["heat", "feat"], j["outputs"]
assert j["outputs"][0]["shape"] == [-1, 2, 8, 8]
assert j["chip_size"] == 8 and j["bands"] == 3 and j["max_batch"] == 0, j
EOF

check_run "info fixed2.onnx" 0 model info fixed2.onnx
check "fixed batch 2: N at most 2" grep -q "N at most 2" "$WORK/run.out"
check_run "info open_hw.onnx" 0 model info open_hw.onnx
check "open H and W: any chip size, 4 bands" \
  grep -qx "chip.size: any (the model leaves its input's height and width open); bands must list 4 bands" "$WORK/run.out"

# ---- swath model predict against numpy ----
check_run "predict a batch of 3" 0 model predict good.onnx --chips chips3.f32 --shape 3,3,8,8 -o out
check_eq "predict prints each output's shape" "output 0 heat: 3 x 2 x 8 x 8
output 1 feat: 3 x 3 x 8 x 8" "$(cat "$WORK/run.out")"
check_py "predict equals numpy within 1e-5" <<'EOF'
import numpy as np
x = np.fromfile("chips3.f32", "<f4").reshape(3, 3, 8, 8).astype(np.float64)
W = np.load("W.npy").astype(np.float64); B = np.load("B.npy").astype(np.float64)
p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
logits = np.zeros((3, 2, 8, 8)) + B[None, :, None, None]
for dy in range(3):
    for dx in range(3):
        logits += np.einsum("oc,nchw->nohw", W[:, :, dy, dx], p[:, :, dy:dy + 8, dx:dx + 8])
heat = 1 / (1 + np.exp(-logits))
got_heat = np.fromfile("out.0.f32", "<f4").reshape(3, 2, 8, 8)
got_feat = np.fromfile("out.1.f32", "<f4").reshape(3, 3, 8, 8)
e1 = np.abs(got_heat - heat).max(); e2 = np.abs(got_feat - np.maximum(x, 0)).max()
print("max abs error: heat %.3g, feat %.3g" % (e1, e2))
assert e1 <= 1e-5 and e2 <= 1e-5
assert heat.std() > 0.1  # not a degenerate case
EOF

# one chip: the same numbers as the first of the batch
"$PY" -c "import numpy as np; np.fromfile('chips3.f32','<f4')[:192].tofile('chip1.f32')"
check_run "predict a batch of 1" 0 model predict good.onnx --chips chip1.f32 --shape 1,3,8,8 -o one
check_py "batch of 1 equals the batch of 3's first chip" <<'EOF'
import numpy as np
a = np.fromfile("one.0.f32", "<f4"); b = np.fromfile("out.0.f32", "<f4")[: a.size]
assert a.size == 128 and np.abs(a - b).max() <= 1e-6, np.abs(a - b).max()
EOF

# ---- bad input: one line, exit 2, nothing written ----
bad() {
  local name=$1 pattern=$2
  shift 2
  run_swath "$@"
  local err
  err=$(cat "$WORK/run.err")
  if [ "$RUN_RC" -eq 2 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] && [[ "$err" == "swath: "* ]] &&
    grep -qF -- "$pattern" "$WORK/run.err"; then
    pass "$name: exit 2, one line: $pattern"
  else
    fail "$name: exit 2, one line: $pattern" "exit $RUN_RC" "$err"
  fi
}
bad "operator OpenCV 4.6 lacks" "model 'hardmax.onnx': operator 'Hardmax' is not supported by OpenCV DNN" \
  model info hardmax.onnx
bad "made-up operator" "model 'madeup.onnx': operator 'FrobnicateX' is not supported" model info madeup.onnx
bad "Conv without kernel_shape" "model 'conv_nokernel.onnx': operator 'Conv': kernel_size" \
  model info conv_nokernel.onnx
bad "truncated file" "model 'truncated.onnx': not an ONNX model" model info truncated.onnx
bad "text file" "model 'text.onnx': not an ONNX model" model info text.onnx
bad "missing file" "model 'nothere.onnx': cannot read: No such file or directory" model info nothere.onnx
bad "output without a shape" "model 'noshape.onnx': 'y' declares no shape" model info noshape.onnx
bad "loads but cannot run: fails at open" \
  "model 'add_bad.onnx': a first run on a zero batch of 1 x 3 x 8 x 8 failed: OpenCV's check" \
  model info add_bad.onnx
bad "3-D input" "model 'rank3.onnx': input 'chips' has 3 dimensions" model info rank3.onnx
bad "unknown runtime" "unknown model runtime 'onnxruntime'" \
  model info good.onnx --type onnxruntime
bad "URL without --type" "a model URL needs --type" model info http://127.0.0.1:1/
bad "predict: operator OpenCV lacks" "operator 'Hardmax'" \
  model predict hardmax.onnx --chips chip1.f32 --shape 1,3,8,8 -o hm
bad "predict: wrong band count" "chips of 4 x 8 x 6 (C x H x W); input 'chips' takes 3 x 8 x 8" \
  model predict good.onnx --chips chips3.f32 --shape 3,4,8,6 -o bad1
bad "predict: batch over the fixed batch" "a batch of 3 chips; it takes at most 2" \
  model predict fixed2.onnx --chips chips3.f32 --shape 3,3,8,8 -o bad2
bad "predict: file size and shape disagree" "'chips3.f32': 2304 bytes; the shape given needs" \
  model predict good.onnx --chips chips3.f32 --shape 2,3,8,8 -o bad3
bad "predict: bad --shape" "--shape: expected N,C,H,W" \
  model predict good.onnx --chips chips3.f32 --shape 3,3,8 -o bad4
bad "predict: no --chips" "--chips, --shape and -o are required" model predict good.onnx -o bad5
check "nothing written by failed predicts" test -z "$(ls hm.* bad*.* 2>/dev/null)"

#!/usr/bin/env bash
# test_model_bench.sh: `swath model bench` (issue 18, point 8: the model's
# ceiling that bench/detect.sh measures a run against). The model is a 3x3
# convolution (3 to 16 channels, 128 x 128) written here with python3-onnx. Checked: with --batches K
# the bench runs exactly K timed batches of B chips (the warm-up batch of
# each worker is not counted), from a chips file or random chips, on 1 or
# 2 workers (an instance each at most); chips/s is chips over wall; bad options,
# a chips file of the wrong size and a batch larger than the chips held
# are one line, exit 2. No timing is asserted (benchmarks live in bench/).
. "$(dirname "$0")/lib.sh"
require_swath
cd "$WORK" || die "work folder"

"$PY" - <<'PYEOF' || die "generate an ONNX model with python3-onnx"
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
w = numpy_helper.from_array(np.ones((16, 3, 3, 3), np.float32), "w")
conv = helper.make_node("Conv", ["chips", "w"], ["scores"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
g = helper.make_graph([conv], "g", [helper.make_tensor_value_info("chips", T.FLOAT, ["N", 3, 128, 128])],
                      [helper.make_tensor_value_info("scores", T.FLOAT, ["N", 16, 128, 128])], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), "conv.onnx")
np.random.default_rng(1).normal(size=(6, 3, 128, 128)).astype("<f4").tofile("chips6.f32")
np.zeros(100, "<f4").tofile("odd.f32")
PYEOF

# parse OUT: "chips batches wall chips/s busy instances" from the bench's second line
parse() {
  sed -n 's/^\([0-9]*\) chips in \([0-9]*\) batches in \([0-9.]*\) s: \([0-9.]*\) chips\/s; model busy \([0-9.]*\) s = [0-9]*% of [0-9]* x wall, \([0-9]*\) instance(s)$/\1 \2 \3 \4 \5 \6/p' "$1"
}

check_run "bench a chips file, batch 4, 7 batches" 0 model bench conv.onnx --chips chips6.f32 --batch 4 --batches 7
check "first line names the model, the chips and the set-up" \
  grep -qx "model bench conv.onnx: 6 chips (chips6.f32) x 3 x 128 x 128, batch 4, 1 worker(s)" "$WORK/run.out"
read -r n b wall rate busy inst <<<"$(parse "$WORK/run.out")"
check_eq "7 timed batches of 4 chips, one instance" "28 7 1" "$n $b $inst"
check_py "chips/s is chips over wall; busy within wall" "$n" "$wall" "$rate" "$busy" <<'PYEOF'
import sys
n, wall, rate, busy = map(float, sys.argv[1:])
# (wall and busy are printed to the millisecond)
assert wall > 0.002 and n / (wall + 0.0005) - 0.01 <= rate <= n / (wall - 0.0005) + 0.01, (n, wall, rate)
assert 0 < busy <= wall + 0.001, (busy, wall)
PYEOF

check_run "bench random chips on 2 workers" 0 model bench conv.onnx --random 5 --batch 2 --workers 2 --batches 9
read -r n b wall rate busy inst <<<"$(parse "$WORK/run.out")"
check_eq "9 batches of 2" "18 9" "$n $b"
# model.c's pool opens a second instance only when the first is busy.
check "at most one instance per worker" test "$inst" -ge 1 -a "$inst" -le 2
check_run "bench for a time" 0 model bench conv.onnx --random 2 --batch 2 --seconds 0.3
read -r n b wall rate busy inst <<<"$(parse "$WORK/run.out")"
check_py "a timed bench runs for about its seconds" "$n" "$b" "$wall" <<'PYEOF'
import sys
n, b, wall = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
assert b >= 1 and n == 2 * b and 0.3 <= wall < 5, (n, b, wall)
PYEOF

bad() {
  local name=$1 pattern=$2
  shift 2
  run_swath "$@"
  if [ "$RUN_RC" -eq 2 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] && grep -qF -- "$pattern" "$WORK/run.err" &&
    [ ! -s "$WORK/run.out" ]; then
    pass "$name: exit 2, one line: $pattern"
  else
    fail "$name: exit 2, one line: $pattern" "exit $RUN_RC" "$(cat "$WORK/run.err")"
  fi
}
bad "neither chips nor random" "give --chips IN.f32 or --random N (one)" model bench conv.onnx
bad "both chips and random" "give --chips IN.f32 or --random N (one)" \
  model bench conv.onnx --chips chips6.f32 --random 3
bad "a chips file of the wrong size" "400 bytes is not a whole number of 3 x 128 x 128 float32 chips" \
  model bench conv.onnx --chips odd.f32
bad "a missing chips file" "--chips 'nope.f32': cannot read it" model bench conv.onnx --chips nope.f32
bad "a batch larger than the chips" "a batch of 8 needs at least as many chips (have 6)" \
  model bench conv.onnx --chips chips6.f32 --batch 8
bad "batch 0" "--batch: expected a whole number in 1-1024, got '0'" model bench conv.onnx --random 2 --batch 0
bad "workers not a number" "--workers: expected a whole number in 1-256, got 'x'" model bench conv.onnx --random 2 --workers x
bad "seconds 0" "--seconds: '0' is not a number in (0, 86400]" model bench conv.onnx --random 2 --seconds 0
bad "bench options to info" "model info: --random, --batch, --workers, --seconds and --batches are for bench" \
  model info conv.onnx --workers 2
bad "predict options to bench" "model bench: --shape, -o and --json are not bench's" \
  model bench conv.onnx --random 2 --shape 1,3,128,128
bad "not a model" "model 'odd.f32'" model bench odd.f32 --random 2

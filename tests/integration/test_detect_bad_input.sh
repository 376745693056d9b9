#!/usr/bin/env bash
# test_detect_bad_input.sh: issue 18, point 9 (and point 1's model errors)
# for `swath run` of a detect job: each bad job is exit status 2 with one
# line naming the problem, before any tile runs, and leaves nothing that a
# later run would take as done (no state, no features store):
#   - a model whose input does not match chip.size, or the bands;
#   - bands the source lacks; normalize with the wrong number of values;
#   - a file that is not a model, a model with an operator OpenCV lacks;
#   - a missing model; no model at all; an unknown kind; several zooms;
#   - a model whose output does not fit the kind's layout.
. "$(dirname "$0")/lib.sh"
require_swath

MODEL="$SWATH_SRC/models/solar/solar.onnx"
[ -f "$MODEL" ] || die "the committed model is there" "missing: $MODEL"
gen_rgb "$WORK/data/img.tif" --size 256
gdal_translate -q -b 1 -b 2 "$WORK/data/img.tif" "$WORK/data/two.tif"
echo "not a model" >"$WORK/data/text.onnx"
# A model with an operator OpenCV 4.6 cannot import, made with python3-onnx.
py "$WORK/data/badop.onnx" <<'EOF'
import sys
import onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 256, 256])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 256, 256])
node = helper.make_node("SwathNoSuchOp", ["x"], ["y"], domain="")
g = helper.make_graph([node], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), sys.argv[1])
EOF
# A model with the right input and a classification-like output (N x 2).
py "$WORK/data/cls.onnx" <<'EOF'
import sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 256, 256])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
w = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Gemm", ["f", "w"], ["y"], transB=1)]
g = helper.make_graph(nodes, "g", [x], [y], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), sys.argv[1])
EOF

N=0
# bad NAME EXPECTED_WORDS PARAMS [INPUT] [ZOOM]: the run fails as it should.
bad() {
  N=$((N + 1))
  local out="$WORK/out/b$N"
  cat >"$WORK/b$N.yaml" <<EOF
process: detect
params: $3
inputs:
  imagery: ${4:-data/img.tif}
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: ${5:-16}
output: {path: out/b$N}
EOF
  run_swath run "$WORK/b$N.yaml"
  local lines
  lines=$(wc -l <"$WORK/run.err")
  if [ "$RUN_RC" -eq 2 ] && [ "$lines" -eq 1 ] && grep -qiE "$2" "$WORK/run.err" &&
    [ ! -e "$out/.swath/state.sqlite" ] && [ ! -e "$out/features.gpkg" ]; then
    pass "$1: exit 2, one line naming it, nothing written ($(cut -c1-150 "$WORK/run.err"))"
  else
    fail "$1" "exit status $RUN_RC (want 2), $lines line(s), want /$2/" "$(cat "$WORK/run.err")" \
      "$(ls -a "$out" 2>&1)"
  fi
}

bad "chip.size 320 for a 256-pixel model" "takes 3 x 256 x 256.*chip height.*320" \
  "{model: $MODEL, chip: {size: 320, overlap: 32}, classes: [solar_panel]}"
bad "two bands for a 3-band model" "takes 3 x 256 x 256.*bands .C. 2" \
  "{model: $MODEL, bands: [1, 2], classes: [solar_panel]}"
bad "band 4 of a 3-band source" "band 4.*3 band" \
  "{model: $MODEL, bands: [1, 2, 4], classes: [solar_panel]}"
bad "bands 1-3 of a 2-band source" "band 3.*2 band" \
  "{model: $MODEL, classes: [solar_panel]}" data/two.tif
bad "normalize.mean with 2 values for 3 bands" "normalize.mean.*3 band" \
  "{model: $MODEL, normalize: {mean: [0.4, 0.4]}, classes: [solar_panel]}"
bad "normalize.std of 0" "normalize.std" \
  "{model: $MODEL, normalize: {std: [0.2, 0, 0.2]}, classes: [solar_panel]}"
bad "a text file as the model" "text.onnx" "{model: data/text.onnx, classes: [a]}"
bad "an operator OpenCV lacks" "SwathNoSuchOp" "{model: data/badop.onnx, classes: [a]}"
bad "a missing model file" "nothere.onnx" "{model: data/nothere.onnx, classes: [a]}"
bad "no model" "params.model" "{classes: [a]}"
bad "an unknown kind" "kind.*boxes" "{model: $MODEL, kind: boxes, classes: [solar_panel]}"
bad "two classes for a 1-class detector" "detection needs output 0 as Nx6" \
  "{model: $MODEL, classes: [a, b]}"
bad "a classifier run as a detector" "detection needs output 0" \
  "{model: data/cls.onnx, classes: [a, b]}"
bad "a detector run as a classifier" "classification needs output 0" \
  "{model: $MODEL, kind: classification, classes: [a]}"
bad "several zooms" "one zoom" "{model: $MODEL, classes: [solar_panel]}" data/img.tif "[15, 16]"
bad "chip.overlap of half the chip" "chip.overlap" \
  "{model: $MODEL, chip: {size: 256, overlap: 128}, classes: [solar_panel]}"
bad "an unknown parameter" "unknown parameter 'chip.sise'" \
  "{model: $MODEL, chip: {sise: 256}, classes: [solar_panel]}"

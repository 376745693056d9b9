#!/usr/bin/env bash
# test_model_oracle.sh: swath's raw model outputs on fixed chips equal
# python3-torch running the original network. models/solar/solar.onnx (the
# export) goes through `swath model predict` (OpenCV DNN); solar.pt (the same
# weights) through SolarNet from models/solar/train.py in torch. Chips are
# generated here by models/solar/scenes.py and normalised as swath does
# (model_oracle.py); every output value must agree within 1e-4, for a batch
# of 4 chips (the model's batch axis is dynamic) and for one chip.
. "$(dirname "$0")/lib.sh"
require_swath

MODEL="$SWATH_SRC/models/solar/solar.onnx"
ORACLE="$SWATH_SRC/tests/integration/model_oracle.py"
py_checks make "$SWATH_SRC" "$WORK" <"$ORACLE" || die "torch reference made"

# The first chip alone, for the N=1 run.
head -c $((3 * 256 * 256 * 4)) "$WORK/chips.f32" >"$WORK/chip1.f32"

for n in 4 1; do
  in="$WORK/chips.f32"
  [ "$n" = 1 ] && in="$WORK/chip1.f32"
  check_run "model predict N=$n exits 0" 0 model predict "$MODEL" --chips "$in" \
    --shape "$n,3,256,256" -o "$WORK/pred$n" || continue
  py_checks compare "$WORK" "$WORK/pred$n" "$n" <"$ORACLE"
done

#!/usr/bin/env bash
# test_mutation_fuzz.sh: the mutation fuzzer of issue 16 against the real
# binary (mutation_fuzz.py says what it generates and checks): 486 hostile
# job files and 136 hostile bandmath expressions from a fixed seed, each
# under a time and memory limit. Every one must exit 0, 1 or 2; an exit 2
# prints one line and writes nothing.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/img.tif" --size 64
gen_dem "$WORK/data/b.tif" --size 64
mkdir -p "$WORK/out"
py_checks "$SWATH" "$WORK" <"$SWATH_SRC/tests/integration/mutation_fuzz.py"

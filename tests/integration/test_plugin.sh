#!/usr/bin/env bash
# test_plugin.sh: the sample plugin (examples/plugin, inverts pixel values)
# builds standalone with its own Makefile against include/swath/plugin.h alone,
# and a job with `process: path/to/invert_plugin.so` writes tiles whose pixels
# are 255 - those of a `convert` run of the same job (same tiles, same mask).
# The plugin built by CMake ($SWATH_BUILD_DIR/invert_plugin.so) gives the same.
. "$(dirname "$0")/lib.sh"
require_swath

# Standalone build in a copy of the tree (keeps the checkout clean; relative
# include paths in the Makefile still work).
mkdir -p "$WORK/tree/examples"
cp -r "$SWATH_SRC/include" "$WORK/tree/include"
cp -r "$SWATH_SRC/examples/plugin" "$WORK/tree/examples/plugin"
rm -f "$WORK/tree/examples/plugin"/*.so "$WORK/tree/examples/plugin"/*.o
PLUGIN=""
if [ -f "$WORK/tree/examples/plugin/Makefile" ]; then
  if check "make -C examples/plugin builds the sample plugin standalone" make -C "$WORK/tree/examples/plugin"; then
    PLUGIN=$(find "$WORK/tree/examples/plugin" -name '*.so' | head -n 1)
    if [ -n "$PLUGIN" ]; then pass "the standalone build produced a shared library ($(basename "$PLUGIN"))"
    else fail "the standalone build produced a shared library" "$(ls -la "$WORK/tree/examples/plugin")"; fi
  fi
else
  fail "examples/plugin has a Makefile" "$(ls "$SWATH_SRC/examples/plugin")"
fi
if [ -z "$PLUGIN" ]; then
  # Keep testing the engine with a direct compile of the same source.
  PLUGIN="$WORK/tree/examples/plugin/invert_plugin.so"
  cc -std=c17 -O2 -Wall -Wextra -Werror -shared -fPIC -I"$WORK/tree/include" \
    -o "$PLUGIN" "$WORK/tree/examples/plugin"/*.c 2>"$WORK/cc.log" ||
    die "compile examples/plugin with cc" "$(cat "$WORK/cc.log")"
fi
# The plugin exports the documented entry point and needs nothing from swath.
if nm -D --defined-only "$PLUGIN" | grep -qw swath_plugin_entry; then pass "the plugin exports swath_plugin_entry"
else fail "the plugin exports swath_plugin_entry" "$(nm -D --defined-only "$PLUGIN")"; fi
undef=$(nm -D --undefined-only "$PLUGIN" | awk '{print $NF}' | grep '^swath' || true)
check_eq "the plugin uses no swath symbols (everything comes through swath_host)" "" "$undef"

mkdir -p "$WORK/job/plugin"
cp "$PLUGIN" "$WORK/job/plugin/invert_plugin.so"
gen_rgb "$WORK/job/data/rgb.tif" --size 384

# The same job three times: built-in convert, the standalone plugin (a path
# relative to the job file), the CMake-built plugin (absolute path).
job() { # job FILE PROCESS OUT
  cat >"$1" <<EOF
process: $2
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [14, 15]
output: {path: $3, format: PNG}
EOF
}
job "$WORK/job/convert.yaml" convert out/convert
job "$WORK/job/invert.yaml" plugin/invert_plugin.so out/invert
check_run "convert run exits 0" 0 run "$WORK/job/convert.yaml" --workers 2 --no-progress
check_run "run with process: plugin/invert_plugin.so (relative to the job file) exits 0" 0 \
  run "$WORK/job/invert.yaml" --workers 2 --no-progress

py_checks "$WORK/job/out/convert" "$WORK/job/out/invert" <<'EOF'
import sys, swt
import numpy as np
conv, inv = sys.argv[1:3]
a, b = swt.list_tiles(conv, "png"), swt.list_tiles(inv, "png")
swt.check("the plugin wrote the same tiles as convert (%d)" % len(a), a and a == b,
          "only convert: %s, only plugin: %s" % (sorted(set(a) - set(b))[:5], sorted(set(b) - set(a))[:5]))
bad = []
for t in sorted(set(a) & set(b)):
    c, i = swt.Tile(swt.tile_path(conv, *t, "png")), swt.Tile(swt.tile_path(inv, *t, "png"))
    if not (c.valid == i.valid).all():
        bad.append("%s: masks differ on %d px" % (t, (c.valid != i.valid).sum()))
        continue
    d = np.abs(i.data - (255 - c.data))[:, c.valid]
    if d.size == 0 or d.max() > (0 if t[0] == 15 else 1):
        bad.append("%s: max |plugin - (255 - convert)| = %s" % (t, d.max() if d.size else "no pixels"))
swt.check("plugin pixels are 255 - convert's on every valid pixel (highest zoom exact, overviews within 1)",
          not bad, "\n".join(bad[:10]))
EOF

if [ -f "$SWATH_BUILD_DIR/invert_plugin.so" ]; then
  job "$WORK/job/invert2.yaml" "$SWATH_BUILD_DIR/invert_plugin.so" out/invert2
  check_run "run with the CMake-built plugin (absolute path) exits 0" 0 \
    run "$WORK/job/invert2.yaml" --workers 2 --no-progress
  py_checks "$WORK/job/out/invert" "$WORK/job/out/invert2" <<'EOF'
import sys, swt
a, b = swt.checksums(sys.argv[1], "png"), swt.checksums(sys.argv[2], "png")
swt.check("the CMake-built plugin gives the standalone build's tiles (%d)" % len(a), a and a == b)
EOF
else
  fail "the CMake build made invert_plugin.so" "not found: $SWATH_BUILD_DIR/invert_plugin.so"
fi

# A plugin that rejects a parameter it does not declare: exit 2 naming it.
sed -e 's|^output:.*|output: {path: out/bad, format: PNG}|' "$WORK/job/invert.yaml" >"$WORK/job/bad.yaml"
echo "params: {no_such_param: 1}" >>"$WORK/job/bad.yaml"
run_swath run "$WORK/job/bad.yaml" --no-progress
if [ "$RUN_RC" -eq 2 ] && grep -q "no_such_param" "$WORK/run.err"; then pass "an undeclared plugin parameter exits 2 and is named"
else fail "an undeclared plugin parameter exits 2 and is named" "exit $RUN_RC" "$(last_run_output)"; fi

#!/usr/bin/env bash
# test_bad_input.sh: bad input gets exit status 2, exactly one line on stderr
# ("swath: ..." naming the problem), and nothing written that a later run would
# trust: no {output}/.swath/state.sqlite and no tiles.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/img.tif" --size 256
echo "this is not a raster" >"$WORK/data/notraster.txt"
echo "a regular file" >"$WORK/afile"

# job NAME [EXTRA_YAML_LINES...] with defaults for every key; later keys win
# because callers pass complete replacement blocks via the variables below.
PROCESS="convert"
PARAMS=""
INPUTS="  img: data/img.tif"
ZOOM="13"
AREA=""
OUTPUT_EXTRA=""
EXTRA=""
write_job() { # write_job FILE OUTDIR
  {
    echo "process: $PROCESS"
    [ -n "$PARAMS" ] && echo "params: $PARAMS"
    echo "inputs:"
    echo "$INPUTS"
    echo "grid: {name: WebMercatorQuad, metatiling: 2}"
    echo "zoom: $ZOOM"
    [ -n "$AREA" ] && echo "area: $AREA"
    echo "output:"
    echo "  path: $2"
    echo "  format: ${FORMAT:-PNG}"
    [ -n "$OUTPUT_EXTRA" ] && echo "$OUTPUT_EXTRA"
    [ -n "$EXTRA" ] && echo "$EXTRA"
  } >"$1"
}
reset_job() {
  PROCESS="convert" PARAMS="" INPUTS="  img: data/img.tif" ZOOM="13" AREA="" OUTPUT_EXTRA="" EXTRA=""
}

# nothing_written NAME OUTDIR: no state store, no tiles.
nothing_written() {
  local name=$1 out=$2 found
  found=$(find "$out" \( -name state.sqlite -o -name '*.png' -o -name '*.tif' -o -name '*.tmp*' \) 2>/dev/null)
  if [ -z "$found" ]; then pass "$name: no state and no tiles written"
  else fail "$name: no state and no tiles written" "$found"; fi
}

# expect_bad NAME PATTERN JOB [FLAGS...]: exit 2, one stderr line
# "swath: ..." matching the extended regex PATTERN, nothing written.
N=0
expect_bad() {
  local name=$1 pattern=$2 job=$3
  shift 3
  run_swath run "$job" --no-progress "$@"
  if [ "$RUN_RC" -eq 2 ]; then pass "$name: exit status 2"
  else fail "$name: exit status 2" "got $RUN_RC" "$(last_run_output)"; fi
  local lines
  lines=$(wc -l <"$WORK/run.err")
  local first
  first=$(head -n 1 "$WORK/run.err")
  if [ "$lines" -eq 1 ] && [[ "$first" == swath:* ]]; then
    pass "$name: one line on stderr starting with 'swath:'"
  else
    fail "$name: one line on stderr starting with 'swath:'" "$lines line(s):" "$(cat "$WORK/run.err")"
  fi
  if grep -qE -- "$pattern" "$WORK/run.err"; then pass "$name: message names the problem (/$pattern/)"
  else fail "$name: message names the problem (/$pattern/)" "$(cat "$WORK/run.err")"; fi
  if [ -s "$WORK/run.out" ]; then fail "$name: nothing on stdout" "$(cat "$WORK/run.out")"; fi
  echo "    # $first"
}

# case_job NAME PATTERN [FLAGS...]: write the job from the variables and run it.
case_job() {
  local name=$1 pattern=$2
  shift 2
  N=$((N + 1))
  local out="$WORK/out$N"
  write_job "$WORK/job$N.yaml" "$out"
  expect_bad "$name" "$pattern" "$WORK/job$N.yaml" "$@"
  nothing_written "$name" "$out"
  reset_job
}

# A good job first: the cases below differ from it by one thing, so each
# failure is caused by that thing. (Exit 0 and tiles written.)
write_job "$WORK/good.yaml" "$WORK/good"
run_swath run "$WORK/good.yaml" --no-progress
if [ "$RUN_RC" -eq 0 ] && [ -n "$(tile_files "$WORK/good" png)" ]; then pass "the baseline job runs and writes tiles"
else fail "the baseline job runs and writes tiles" "exit $RUN_RC" "$(last_run_output)"; fi

INPUTS="  img: data/missing.tif"
case_job "missing input file" "missing\.tif"

INPUTS="  img: data/notraster.txt"
case_job "input that is not a raster" "notraster\.txt"

# YAML syntax error on line 6 (a flow sequence never closed / bad mapping).
N=$((N + 1))
cat >"$WORK/job$N.yaml" <<EOF
process: convert
inputs:
  img: data/img.tif
zoom: 13
output:
  path: $WORK/out$N: oops
  format: PNG
EOF
expect_bad "YAML syntax error" "(:6\b|line 6\b)" "$WORK/job$N.yaml"
nothing_written "YAML syntax error" "$WORK/out$N"

N=$((N + 1))
cat >"$WORK/job$N.yaml" <<EOF
process: convert
inputs:
  img: [data/img.tif
zoom: 13
output: {path: $WORK/out$N}
EOF
expect_bad "YAML syntax error (unclosed flow sequence)" "YAML|yaml|syntax" "$WORK/job$N.yaml"
nothing_written "YAML syntax error (unclosed flow sequence)" "$WORK/out$N"

EXTRA="frobnicate_key: 1"
case_job "unknown top-level key" "frobnicate_key"

OUTPUT_EXTRA="  fromat: PNG"
case_job "unknown key in output" "fromat"

PROCESS="nosuchprocess"
case_job "unknown process" "nosuchprocess"

PROCESS="hillshade" PARAMS="{azimuth: 315, sun_angle: 30}"
case_job "unknown parameter of hillshade" "sun_angle"

PROCESS="hillshade" PARAMS="{azimuth: north}"
case_job "hillshade parameter of the wrong type" "azimuth"

ZOOM="25"
case_job "zoom 25 on WebMercatorQuad" "25"

ZOOM="[20, 26]"
case_job "zoom range beyond the grid" "26"

case_job "--zoom 99" "99" --zoom 99

case_job "--zoom not a number" "--zoom" --zoom abc

AREA="{bounds: [-120.5, 30.1, -120.4, 30.2], crs: EPSG:4326}"
case_job "area that misses the inputs" "area|overlap|inputs"

case_job "--bounds that miss the inputs" "area|overlap|inputs|bounds" --bounds -120.5,30.1,-120.4,30.2

AREA="{bounds: [10, 86, 20, 89], crs: EPSG:4326}"
case_job "area that misses the grid (north of Web Mercator's 85.06)" "area|bounds|grid|overlap"

# Output under a regular file: mkdir fails even as root.
N=$((N + 1))
write_job "$WORK/job$N.yaml" "$WORK/afile/out"
expect_bad "unwritable output directory" "afile" "$WORK/job$N.yaml"
nothing_written "unwritable output directory" "$WORK/afile/out"
if [ -f "$WORK/afile" ] && [ "$(cat "$WORK/afile")" = "a regular file" ]; then pass "the regular file in the way is untouched"
else fail "the regular file in the way is untouched"; fi

libm=$(ls /usr/lib/*-linux-gnu/libm.so.6 /lib/*-linux-gnu/libm.so.6 2>/dev/null | head -n 1)
if [ -n "$libm" ]; then
  PROCESS="$libm"
  case_job "a plugin that is not a swath plugin (libm)" "libm\.so\.6"
else
  fail "find libm.so.6 for the not-a-plugin case"
fi

PROCESS="$WORK/nope_plugin.so"
case_job "a plugin path that does not exist" "nope_plugin\.so"

cp "$WORK/data/notraster.txt" "$WORK/fake_plugin.so"
PROCESS="$WORK/fake_plugin.so"
case_job "a plugin file that is not a shared library" "fake_plugin\.so"

FORMAT=BMP
case_job "unknown output format" "BMP"
FORMAT=PNG

OUTPUT_EXTRA="  resampling: sideways"
case_job "unknown resampling" "sideways"

case_job "--workers 0" "--workers" --workers 0
case_job "--workers abc" "--workers" --workers abc
case_job "--workers -3" "--workers" --workers -3
case_job "--bounds with three numbers" "--bounds" --bounds 8.4,47.3,8.6
case_job "--bounds south above north" "--bounds" --bounds 8.4,47.5,8.6,47.3
case_job "--bounds not numbers" "--bounds" --bounds a,b,c,d

# The job file itself missing.
expect_bad "job file that does not exist" "no_such_job\.yaml" "$WORK/no_such_job.yaml"

# swath tiles with bad flags: exit 2, one line on stderr.
tiles_bad() {
  local name=$1
  shift
  run_swath tiles "$@"
  if [ "$RUN_RC" -eq 2 ] && [ "$(wc -l <"$WORK/run.err")" -eq 1 ] && grep -q '^swath:' "$WORK/run.err"; then
    pass "swath tiles $name: exit 2 with one 'swath:' line"
  else
    fail "swath tiles $name: exit 2 with one 'swath:' line" "exit $RUN_RC" "$(cat "$WORK/run.err")"
  fi
}
tiles_bad "unknown option" --grid WebMercatorQuad --zoom 3 --bounds 0,0,1,1 --frobnicate
tiles_bad "without --grid" --zoom 3 --bounds 0,0,1,1
tiles_bad "unknown grid" --grid NoSuchGrid --zoom 3 --bounds 0,0,1,1
tiles_bad "without --zoom" --grid WebMercatorQuad --bounds 0,0,1,1
tiles_bad "--zoom abc" --grid WebMercatorQuad --zoom abc --bounds 0,0,1,1
tiles_bad "--zoom 25" --grid WebMercatorQuad --zoom 25 --bounds 0,0,1,1
tiles_bad "--bounds with three numbers" --grid WebMercatorQuad --zoom 3 --bounds 0,0,1
tiles_bad "--bounds and --area together" --grid WebMercatorQuad --zoom 3 --bounds 0,0,1,1 --area "$WORK/afile"
tiles_bad "without --bounds or --area" --grid WebMercatorQuad --zoom 3
tiles_bad "--metatiling 3" --grid WebMercatorQuad --zoom 3 --bounds 0,0,1,1 --metatiling 3
tiles_bad "--area that is not a vector file" --grid WebMercatorQuad --zoom 3 --area "$WORK/data/img.tif"
tiles_bad "--zoom without a value" --grid WebMercatorQuad --bounds 0,0,1,1 --zoom

# ---- Issue 16: hostile job files and expressions ---------------------------
# Each run is bounded in time and memory, so that a regression fails these
# checks instead of hanging the suite or the machine.
REAL_SWATH=$SWATH
SWATH="$WORK/swath-bounded"
printf '#!/bin/bash\nulimit -v 4000000\nexec timeout 60 %q "$@"\n' "$REAL_SWATH" >"$SWATH"
chmod +x "$SWATH"

# new_job: the next job's file ($J) and output folder ($O).
new_job() {
  N=$((N + 1))
  J="$WORK/job$N.yaml" O="$WORK/out$N"
}
# bad_job NAME PATTERN: run $J, expect it refused, nothing written in $O.
bad_job() {
  expect_bad "$1" "$2" "$J"
  nothing_written "$1" "$O"
}

new_job
printf 'process: convert\ninputs: {img: data/img.tif}\nzoom: 13\noutput: {path: %s}\n[a, b]: 1\n' "$O" >"$J"
bad_job "a list as a mapping key" "job$N\.yaml:5: a mapping key must be a plain value"
new_job
printf 'process: convert\noutput: {path: %s}\nx: %s%s\n' "$O" "$(printf '[%.0s' {1..70})" "$(printf ']%.0s' {1..70})" >"$J"
bad_job "70 levels of flow nesting" "job$N\.yaml:3: nested deeper than 64 levels"
new_job
{ printf 'process: convert\noutput: {path: %s}\nx: ' "$O"; head -c 100000 /dev/zero | tr '\0' '['; echo; } >"$J"
bad_job "100,000 levels of flow nesting" "job$N\.yaml:3: nested deeper than 64 levels"
new_job
{ printf 'process: convert\noutput: {path: %s}\n' "$O"; for i in $(seq 0 69); do printf '%*sk:\n' "$i" ''; done; } >"$J"
bad_job "70 levels of block nesting" "job$N\.yaml:67: nested deeper than 64 levels"
# The issue's 438-byte "billion laughs": 10^9 strings once expanded.
new_job
{
  printf 'process: convert\ninputs: {img: data/img.tif}\nzoom: 13\noutput: {path: %s}\n' "$O"
  echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  p=a
  for c in b c d e f g h i; do
    printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' $c $c $p $p $p $p $p $p $p $p $p $p
    p=$c
  done
  echo "params: {x: *i}"
} >"$J"
bad_job "YAML aliases (billion laughs)" "job$N\.yaml:6: YAML aliases \(\*a\) are not supported"
new_job
printf 'process: convert\ninputs:\n  img: data/img.tif\n  img: data/img.tif\nzoom: 13\noutput: {path: %s}\n' "$O" >"$J"
bad_job "a duplicate input name" "job$N\.yaml:4: duplicate key 'img'"

expect_bad "/dev/zero as the job file" "/dev/zero: not a regular file" /dev/zero
expect_bad "/dev/urandom as the job file" "/dev/urandom: not a regular file" /dev/urandom
mkdir -p "$WORK/ajobdir"
expect_bad "a directory as the job file" "ajobdir: is a directory" "$WORK/ajobdir"
new_job
{ printf 'process: convert\noutput: {path: %s}\n' "$O"; head -c 1048576 /dev/zero | tr '\0' '#'; } >"$J"
bad_job "a job file over 1 MiB" "more than the 1048576 bytes"
new_job
printf 'process: convert\noutput: {path: %s}\nzoom: 13\0\n' "$O" >"$J"
bad_job "a NUL byte in the job file" "job$N\.yaml:3: a NUL byte"

# Bandmath errors whose muParser message passes 2 KB (it quotes the rest of
# the expression) aborted in muParser's C API.
PROCESS="bandmath" PARAMS="{expression: $(printf 'x%.0s' {1..2020})}"
case_job "a 2,020-character unknown name in an expression" "2020 characters\): Unexpected token \"x{40}\.\.\.\" found at position 0"
LONG=$("$PY" -c '
e = " + ".join("(img.b1 - img.b2) * %d.25" % k for k in range(90))[:2088]
e = e[:e.rindex(" +")]
print(e.replace(" + ", " % ", 1))')
PROCESS="bandmath" PARAMS="{expression: \"$LONG\"}"
case_job "a ${#LONG}-character expression with one % typo" "found at position 25, near '\(img\.b1 - img\.b2\) \* 0\.25 % \(img"
# Issue 16 point 7: muParser's '=' assigned into the input band every later
# expression reads ("img.b1 = 0; img.b1" wrote a zero second band) and ','
# kept the last of several values; both exited 0.
FORMAT=GTiff PROCESS="bandmath" PARAMS='{expression: "img.b1 = 0; img.b1"}'
case_job "'=' in an expression" "expression 'img\.b1 = 0': Unexpected operator \"=\" found at position 7 \('=' assigns, .*compare with '=='\)"
FORMAT=GTiff PROCESS="bandmath" PARAMS='{expression: "img.b1, img.b2"}'
case_job "',' between two values" "expression 'img\.b1, img\.b2': gives 2 values separated by ','.* with ';'"
unset FORMAT
SWATH=$REAL_SWATH

# Issue 16 point 17: the metatiling error listed 1-16 while 32 and 64 are
# accepted; both messages list every value, and 64 runs.
new_job
printf 'process: convert\ninputs: {img: data/img.tif}\ngrid: {metatiling: 24}\nzoom: 13\noutput: {path: %s}\n' "$O" >"$J"
bad_job "metatiling 24" "job$N\.yaml:3: grid\.metatiling: 24 is not a power of two \(1, 2, 4, 8, 16, 32 or 64\)"
run_swath tiles --grid WebMercatorQuad --zoom 3 --bounds 0,0,1,1 --metatiling 24
if [ "$RUN_RC" -eq 2 ] && grep -q -- "--metatiling: 24 is not a power of two (1, 2, 4, 8, 16, 32 or 64)" "$WORK/run.err"; then
  pass "swath tiles --metatiling 24: the message lists the values"
else fail "swath tiles --metatiling 24: the message lists the values" "exit $RUN_RC" "$(cat "$WORK/run.err")"; fi
new_job
printf 'process: convert\ninputs: {img: data/img.tif}\ngrid: {metatiling: 64}\nzoom: 13\noutput: {path: %s}\n' "$O" >"$J"
check_run "metatiling 64 runs" 0 run "$J" --no-progress

# Issue 16 point 17: limits the docs now state (config.md, processes.md):
# PNG holds 1 or 3 bands, JPEG 1 or 3, WEBP 3 (a 6-band convert with the
# default format stops at start); hillshade's multidirectional and combined
# exclude each other.
gdalbuildvrt -q -separate "$WORK/data/six.vrt" "$WORK/data/img.tif" "$WORK/data/img.tif" "$WORK/data/img.tif" "$WORK/data/img.tif" "$WORK/data/img.tif" "$WORK/data/img.tif" &&
  [ "$(gdalinfo "$WORK/data/six.vrt" | grep -c '^Band ')" -eq 6 ] || die "a 6-band VRT"
new_job
printf 'process: convert\ninputs: {img: data/six.vrt}\nzoom: 13\noutput: {path: %s}\n' "$O" >"$J"
bad_job "6 bands into PNG (the default format)" "output: PNG holds 1 \(grey\) or 3 \(RGB\) bands plus alpha, not 6; use GTiff"
new_job
printf 'process: convert\nparams: {bands: "1,2"}\ninputs: {img: data/img.tif}\nzoom: 13\noutput: {path: %s, format: JPEG}\n' "$O" >"$J"
bad_job "2 bands into JPEG" "output: JPEG holds 1 or 3 bands, not 2"
new_job
printf 'process: convert\nparams: {bands: "1,2"}\ninputs: {img: data/img.tif}\nzoom: 13\noutput: {path: %s, format: WEBP}\n' "$O" >"$J"
bad_job "2 bands into WEBP" "output: WEBP holds 3 \(RGB\) bands plus alpha \(1 grey band is expanded to RGB\), not 2"
gen_dem "$WORK/data/dem.tif" --size 256
new_job
printf 'process: hillshade\nparams: {multidirectional: true, combined: true}\ninputs: {dem: data/dem.tif}\nzoom: 13\noutput: {path: %s}\n' "$O" >"$J"
bad_job "hillshade multidirectional and combined" "process hillshade: multidirectional and combined exclude each other"

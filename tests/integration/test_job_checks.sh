#!/usr/bin/env bash
# test_job_checks.sh: job values that used to run and mean something else, or
# fail tile by tile, are refused at the start (exit 2, one line on stderr,
# nothing written), and the ones that are fine mean what the docs say:
#   - output.compression checked against the GTiff driver's list and against
#     what the tiles' type and bands allow; quality/compression only where used
#   - output.path: empty, the job's own folder (or above it) refused; ~ expanded
#   - keys ignored in a combination (area.crs with file, overview_resampling
#     without overviews) and `name` of the wrong type refused
#   - relative paths with ':' resolve against the job's folder; GDAL's own
#     names (scheme://, /vsi..., DRIVER:...) pass through
#   - user values with newlines and escape sequences stay on one line
#   - the sample plugin handles every pixel type
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/img.tif" --size 256
gen_dem "$WORK/data/dem.tif" --size 256

# nothing_written NAME DIR: no state store and no tile under DIR.
nothing_written() {
  local found
  found=$(find "$2" \( -name state.sqlite -o -name '*.png' -o -name '*.tif' -o -name '*.jpg' \
    -o -name '*.webp' -o -name 'tilejson.json' \) 2>/dev/null)
  if [ -z "$found" ]; then pass "$1: nothing written"
  else fail "$1: nothing written" "$found"; fi
}

# expect_bad NAME PATTERN ARGS...: `swath ARGS` exits 2 with exactly one
# stderr line "swath: ..." matching the extended regex PATTERN, holding no
# control character (newline inside a value, ESC, CR, ...).
expect_bad() {
  local name=$1 pattern=$2
  shift 2
  run_swath "$@"
  if [ "$RUN_RC" -eq 2 ]; then pass "$name: exit status 2"
  else fail "$name: exit status 2" "got $RUN_RC" "$(last_run_output)"; fi
  local lines first
  lines=$(wc -l <"$WORK/run.err")
  first=$(head -n 1 "$WORK/run.err")
  if [ "$lines" -eq 1 ] && [[ "$first" == swath:* ]]; then pass "$name: one line on stderr"
  else fail "$name: one line on stderr" "$lines line(s):" "$(cat -v "$WORK/run.err")"; fi
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$WORK/run.err"; then
    fail "$name: no control character on stderr" "$(cat -v "$WORK/run.err")"
  fi
  if grep -qE -- "$pattern" "$WORK/run.err"; then pass "$name: names the problem (/$pattern/)"
  else fail "$name: names the problem (/$pattern/)" "$(cat -v "$WORK/run.err")"; fi
  echo "    # $(cat -v "$WORK/run.err" | head -n 1)"
}

# job FILE OUTPUT_YAML [INPUT] [EXTRA_TOP_LEVEL_YAML]: a job over one input.
job() {
  mkdir -p "$(dirname "$1")"
  {
    echo "process: convert"
    echo "inputs: {img: ${3:-$WORK/data/img.tif}}"
    echo "zoom: 13"
    echo "output: $2"
    [ -n "${4:-}" ] && echo "$4"
  } >"$1"
}

# --- point 9: compression -------------------------------------------------

job "$WORK/c1.yaml" "{path: $WORK/c1, format: GTiff, compression: ZSDT}"
expect_bad "GTiff compression ZSDT (a typo)" "compression.*ZSDT.*(DEFLATE|ZSTD)" run "$WORK/c1.yaml" --no-progress
nothing_written "GTiff compression ZSDT" "$WORK/c1"

job "$WORK/c2.yaml" "{path: $WORK/c2, format: GTiff, compression: JPEG, dtype: Int16}" "$WORK/data/dem.tif"
expect_bad "GTiff compression JPEG on Int16 tiles" "compression.*JPEG.*Int16" run "$WORK/c2.yaml" --no-progress
nothing_written "GTiff compression JPEG on Int16 tiles" "$WORK/c2"

job "$WORK/c3.yaml" "{path: $WORK/c3, format: GTiff, compression: WEBP}" "$WORK/data/dem.tif"
expect_bad "GTiff compression WEBP on Float32 tiles" "compression.*WEBP" run "$WORK/c3.yaml" --no-progress
nothing_written "GTiff compression WEBP on Float32 tiles" "$WORK/c3"

job "$WORK/c4.yaml" "{path: $WORK/c4, format: GTiff, compression: CCITTFAX4}"
expect_bad "GTiff compression CCITTFAX4 (1-bit only)" "compression.*CCITTFAX4" run "$WORK/c4.yaml" --no-progress
nothing_written "GTiff compression CCITTFAX4" "$WORK/c4"

# A paletted input keeps its colour table in GTiff tiles, which JPEG
# compression cannot hold ("JPEG compression not supported with paletted image").
py "$WORK/data/classes.tif" <<'PYEOF' || die "generate the paletted raster"
import sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[1], 256, 256, 1, gdal.GDT_Byte)
s = osr.SpatialReference()
s.ImportFromEPSG(32632)
ds.SetProjection(s.ExportToWkt())
ds.SetGeoTransform((461720, 10, 0, 5248280, 0, -10))
yy, xx = np.mgrid[0:256, 0:256]
ds.GetRasterBand(1).WriteArray(((xx // 60 + yy // 60) % 3).astype(np.uint8))
ct = gdal.ColorTable()
for i, c in enumerate([(0, 0, 0, 255), (200, 30, 30, 255), (30, 200, 30, 255)]):
    ct.SetColorEntry(i, c)
ds.GetRasterBand(1).SetRasterColorTable(ct)
PYEOF
job "$WORK/c4p.yaml" "{path: $WORK/c4p, format: GTiff, compression: JPEG}" "$WORK/data/classes.tif"
expect_bad "GTiff compression JPEG on paletted tiles" "compression.*JPEG.*paletted" run "$WORK/c4p.yaml" --no-progress
nothing_written "GTiff compression JPEG on paletted tiles" "$WORK/c4p"

job "$WORK/c5.yaml" "{path: $WORK/c5, format: JPEG, compression: DEFLATE}"
expect_bad "compression with JPEG tiles (ignored before)" "compression.*JPEG" run "$WORK/c5.yaml" --no-progress
nothing_written "compression with JPEG tiles" "$WORK/c5"

job "$WORK/c6.yaml" "{path: $WORK/c6, format: PNG, quality: 80}"
expect_bad "quality with PNG tiles (ignored before)" "quality.*PNG" run "$WORK/c6.yaml" --no-progress
nothing_written "quality with PNG tiles" "$WORK/c6"

job "$WORK/c7.yaml" "{path: $WORK/c7, format: GTiff, compression: LZW, quality: 80}"
expect_bad "quality with LZW GTiff tiles (ignored before)" "quality.*LZW" run "$WORK/c7.yaml" --no-progress
nothing_written "quality with LZW GTiff tiles" "$WORK/c7"

job "$WORK/c8.yaml" "{path: $WORK/c8, format: PNG, compression: fast}"
expect_bad "PNG compression that is not a level" "compression.*fast" run "$WORK/c8.yaml" --no-progress
nothing_written "PNG compression that is not a level" "$WORK/c8"

# What the driver accepts works, in any case, and means what it says
# (gdalinfo reads the tiles' compression and JPEG quality back).
job "$WORK/c9.yaml" "{path: $WORK/c9, format: GTiff, compression: zstd}"
check_run "GTiff compression zstd (lower case) runs" 0 run "$WORK/c9.yaml" --no-progress
job "$WORK/c10.yaml" "{path: $WORK/c10, format: GTiff, compression: JPEG, quality: 40, nodata: 0}"
check_run "GTiff compression JPEG with quality 40 on Byte RGB runs" 0 run "$WORK/c10.yaml" --no-progress
py_checks "$WORK/c9" "$WORK/c10" <<'EOF'
import sys, swt
from osgeo import gdal
for root, want, q in ((sys.argv[1], "ZSTD", None), (sys.argv[2], "JPEG", "40")):
    tiles = swt.list_tiles(root, "tif")
    md = [gdal.Open(swt.tile_path(root, *t, "tif")).GetMetadata("IMAGE_STRUCTURE") for t in tiles]
    swt.check("%s: every tile is %s-compressed (%d tiles)" % (root.rsplit("/", 1)[1], want, len(tiles)),
              tiles and all(m.get("COMPRESSION") == want for m in md), md[:2])
    if q:
        swt.check("%s: JPEG_QUALITY %s in every tile" % (root.rsplit("/", 1)[1], q),
                  tiles and all(m.get("JPEG_QUALITY") == q for m in md), md[:2])
EOF

# --- point 10: output path, ignored keys ------------------------------------

mkdir -p "$WORK/j10"
job "$WORK/j10/empty.yaml" '{path: "", format: PNG}' "$WORK/data/img.tif"
cp "$WORK/j10/empty.yaml" "$WORK/j10/empty.yaml.orig"
expect_bad "output.path empty" "output.path" run "$WORK/j10/empty.yaml" --no-progress
nothing_written "output.path empty" "$WORK/j10"
check "output.path empty: the job file is untouched" cmp "$WORK/j10/empty.yaml" "$WORK/j10/empty.yaml.orig"

job "$WORK/j10/job.yaml" '{path: ., format: PNG}' "$WORK/data/img.tif"
cp "$WORK/j10/job.yaml" "$WORK/j10/job.yaml.orig"
expect_bad "output.path is the job's own folder" "output.path.*job" run "$WORK/j10/job.yaml" --no-progress
nothing_written "output.path is the job's own folder" "$WORK/j10"
check "output.path is the job's own folder: the job file is untouched" cmp "$WORK/j10/job.yaml" "$WORK/j10/job.yaml.orig"

job "$WORK/j10/sub/job.yaml" '{path: .., format: PNG}' "$WORK/data/img.tif"
expect_bad "output folder above the job file" "output.path.*job" run "$WORK/j10/sub/job.yaml" --no-progress
nothing_written "output folder above the job file" "$WORK/j10"

ln -s "$WORK/j10" "$WORK/j10link"
job "$WORK/j10/link.yaml" "{path: $WORK/j10link, format: PNG}" "$WORK/data/img.tif"
expect_bad "output.path a symlink to the job's folder" "output.path.*job" run "$WORK/j10/link.yaml" --no-progress
nothing_written "output.path a symlink to the job's folder" "$WORK/j10"

mkdir -p "$WORK/home"
job "$WORK/j10/tilde.yaml" '{path: ~/tiles, format: PNG}' "$WORK/data/img.tif"
HOME="$WORK/home" check_run "output.path ~/tiles runs" 0 run "$WORK/j10/tilde.yaml" --no-progress
if [ -n "$(tile_files "$WORK/home/tiles" png)" ] && [ ! -e "$WORK/j10/~" ]; then
  pass "output.path ~/tiles writes into \$HOME/tiles, not a folder named ~"
else
  fail "output.path ~/tiles writes into \$HOME/tiles, not a folder named ~" "$(ls -la "$WORK/j10" "$WORK/home")"
fi
job "$WORK/j10/tilde2.yaml" '{path: ~, format: PNG}' "$WORK/data/img.tif"
HOME="$WORK/home2" check_run "output.path ~ runs" 0 run "$WORK/j10/tilde2.yaml" --no-progress
if [ -n "$(tile_files "$WORK/home2" png)" ] && [ ! -e "$WORK/j10/~" ]; then pass "output.path ~ is \$HOME"
else fail "output.path ~ is \$HOME" "$(ls -la "$WORK/j10")"; fi
job "$WORK/j10/tilde3.yaml" '{path: ~nosuchuser/tiles, format: PNG}' "$WORK/data/img.tif"
expect_bad "output.path ~user" "~nosuchuser" run "$WORK/j10/tilde3.yaml" --no-progress
nothing_written "output.path ~user" "$WORK/j10"
(unset HOME; "$SWATH" run "$WORK/j10/tilde.yaml" --no-progress >"$WORK/run.out" 2>"$WORK/run.err"; echo $? >"$WORK/rc")
if [ "$(cat "$WORK/rc")" = 2 ] && grep -q 'HOME' "$WORK/run.err"; then pass "output.path ~/tiles without \$HOME: exit 2 naming HOME"
else fail "output.path ~/tiles without \$HOME: exit 2 naming HOME" "exit $(cat "$WORK/rc")" "$(cat "$WORK/run.err")"; fi

echo '{"type": "Polygon", "coordinates": [[[8.5, 47.3], [8.6, 47.3], [8.6, 47.4], [8.5, 47.3]]]}' >"$WORK/area.geojson"
job "$WORK/k1.yaml" "{path: $WORK/k1, format: PNG}" "" "area: {file: $WORK/area.geojson, crs: EPSG:3857}"
expect_bad "area.crs next to area.file (ignored before)" "area.crs" run "$WORK/k1.yaml" --no-progress
nothing_written "area.crs next to area.file" "$WORK/k1"

job "$WORK/k2.yaml" "{path: $WORK/k2, format: PNG}" "" "name: [1, 2]"
expect_bad "name that is a list" "name" run "$WORK/k2.yaml" --no-progress
nothing_written "name that is a list" "$WORK/k2"
job "$WORK/k3.yaml" "{path: $WORK/k3, format: PNG}" "" "name: {a: 1}"
expect_bad "name that is a mapping" "name" run "$WORK/k3.yaml" --no-progress

job "$WORK/k4.yaml" "{path: $WORK/k4, format: PNG, overviews: false, overview_resampling: nearest}"
expect_bad "overview_resampling without overviews (ignored before)" "overview_resampling" run "$WORK/k4.yaml" --no-progress
nothing_written "overview_resampling without overviews" "$WORK/k4"

# --- point 11: relative paths with ':' -------------------------------------

mkdir -p "$WORK/p11/data" "$WORK/elsewhere"
cp "$WORK/data/img.tif" "$WORK/p11/data/img_10:30.tif"
cp "$WORK/data/img.tif" "$WORK/p11/img:b.tif"
job "$WORK/p11/job.yaml" '{path: "out_10:30", format: PNG}' '"data/img_10:30.tif"'
(cd "$WORK/elsewhere" && "$SWATH" run ../p11/job.yaml --no-progress >"$WORK/run.out" 2>"$WORK/run.err"; echo $? >"$WORK/rc")
check_eq "input data/img_10:30.tif and output out_10:30, run from another folder: exit 0" 0 "$(cat "$WORK/rc")" ||
  cat -v "$WORK/run.err" | _detail
if [ -n "$(tile_files "$WORK/p11/out_10:30" png)" ] && [ -z "$(ls -A "$WORK/elsewhere")" ]; then
  pass "tiles are in the job's folder (p11/out_10:30), nothing in the current folder"
else
  fail "tiles are in the job's folder (p11/out_10:30), nothing in the current folder" "$(ls -laR "$WORK/elsewhere" "$WORK/p11" | head -30)"
fi
job "$WORK/p11/job2.yaml" "{path: $WORK/p11/out2, format: PNG}" '"img:b.tif"'
(cd "$WORK/elsewhere" && "$SWATH" run ../p11/job2.yaml --no-progress >"$WORK/run.out" 2>"$WORK/run.err"; echo $? >"$WORK/rc")
check_eq "input img:b.tif ('img' is no GDAL driver) next to the job: exit 0" 0 "$(cat "$WORK/rc")" ||
  cat "$WORK/run.err" | _detail
# GDAL's own names still reach GDAL as written: a driver prefix (GTIFF_DIR,
# the GTiff driver's subdataset syntax) and vrt:// (a scheme).
job "$WORK/p11/job3.yaml" "{path: $WORK/p11/out3, format: PNG}" "\"GTIFF_DIR:1:$WORK/data/img.tif\""
check_run "input GTIFF_DIR:1:/abs/img.tif reaches GDAL unchanged" 0 run "$WORK/p11/job3.yaml" --no-progress
job "$WORK/p11/job4.yaml" "{path: $WORK/p11/out4, format: PNG}" "\"vrt://$WORK/data/img.tif?bands=3,2,1\""
check_run "input vrt:///abs/img.tif?bands=3,2,1 reaches GDAL unchanged" 0 run "$WORK/p11/job4.yaml" --no-progress
# Each worker opens its inputs in its own thread: GDAL shares the file behind
# a vrt:// connection among the handles of the thread that opened them, and
# with every handle opened by the main thread two workers read one GTiff
# handle at once ("TIFFReadEncodedTile() failed" in about a third of the
# runs). Eight runs of 4 workers over 3 zooms: each must have no failure.
gen_rgb "$WORK/data/img512.tif" --size 512
job "$WORK/p11/job5.yaml" "{path: $WORK/p11/out5, format: PNG}" "\"vrt://$WORK/data/img512.tif?bands=3,2,1\"" "zoom: [12, 14]"
sed -i '/^zoom: 13$/d' "$WORK/p11/job5.yaml"
vrt_failed=0
for i in 1 2 3 4 5 6 7 8; do
  rm -rf "$WORK/p11/out5"
  "$SWATH" run "$WORK/p11/job5.yaml" --no-progress --workers 4 >"$WORK/run.out" 2>"$WORK/run.err" || vrt_failed=$((vrt_failed + 1))
done
check_eq "vrt:// input read by 4 workers: 8 runs without a failed task" 0 "$vrt_failed" || _detail <"$WORK/run.err"

# --- point 12: control characters in user values ---------------------------

cat >"$WORK/e1.yaml" <<EOF
process: convert
inputs: {img: "data/x\\e[2J\\nswath: a forged line.tif"}
zoom: 13
output: {path: $WORK/e1, format: PNG}
EOF
expect_bad "input path with ESC[2J and a newline" 'x\\(x1b|e)\[2J\\nswath: a forged' run "$WORK/e1.yaml" --no-progress
cat >"$WORK/e2.yaml" <<EOF
process: convert
inputs: {img: $WORK/data/img.tif}
zoom: 13
output: {path: $WORK/e2, format: "PN\\e[31mG\\r\\nG"}
EOF
expect_bad "output.format with ESC, CR and LF" 'PN\\(x1b|e)\[31mG\\r\\nG' run "$WORK/e2.yaml" --no-progress
expect_bad "--zoom with ESC" '--zoom' run "$WORK/c9.yaml" --no-progress --zoom $'1\e[2J'
expect_bad "run: unknown option with a newline" 'frob' run "$WORK/c9.yaml" $'--frob\nswath: forged'
expect_bad "unknown command with ESC" 'nosuch' $'nosuch\e[2Jcmd'
expect_bad "unknown global option with ESC" 'bad' $'-bad\e]0;title\a' run

# --- point 14: the sample plugin on every pixel type -----------------------

PLUGIN="$SWATH_BUILD_DIR/invert_plugin.so"
[ -f "$PLUGIN" ] || die "the CMake build made invert_plugin.so" "not found: $PLUGIN"
for dt in Int16 Int32 UInt32 Float32 UInt16 Byte; do
  gdal_translate -q -ot "$dt" "$WORK/data/dem.tif" "$WORK/data/dem_$dt.tif" ||
    die "gdal_translate -ot $dt"
  for p in convert "$PLUGIN"; do
    n=$([ "$p" = convert ] && echo conv || echo inv)
    cat >"$WORK/pl_${n}_$dt.yaml" <<EOF
process: $p
params: $([ "$p" = convert ] && echo "{}" || echo "{max: 1000}")
inputs: {dem: $WORK/data/dem_$dt.tif}
zoom: 13
output: {path: $WORK/pl_${n}_$dt, format: GTiff, resampling: near}
EOF
    check_run "$([ "$p" = convert ] && echo convert || echo "invert plugin") on $dt input: exit 0" 0 \
      run "$WORK/pl_${n}_$dt.yaml" --no-progress
  done
  [ -s "$WORK/pl_inv_$dt/.swath/failed.txt" ] && fail "invert plugin on $dt: no failed tile" "$(head -n 3 "$WORK/pl_inv_$dt/.swath/failed.txt")"
done
# Oracle: numpy on convert's tiles (the input's values on the same pixels,
# nearest resampling): 1000 - v, clamped to the type's range.
py_checks "$WORK" <<'EOF'
import sys, swt
import numpy as np
w = sys.argv[1]
lim = {"Int16": (-32768, 32767), "Int32": (-2**31, 2**31 - 1), "UInt32": (0, 2**32 - 1),
       "UInt16": (0, 65535), "Byte": (0, 255), "Float32": (-np.inf, np.inf)}
for dt, (lo, hi) in lim.items():
    conv, inv = "%s/pl_conv_%s" % (w, dt), "%s/pl_inv_%s" % (w, dt)
    a, b = swt.list_tiles(conv, "tif"), swt.list_tiles(inv, "tif")
    bad = []
    for t in sorted(set(a) & set(b)):
        c, i = swt.Tile(swt.tile_path(conv, *t, "tif")), swt.Tile(swt.tile_path(inv, *t, "tif"))
        if i.dtype != dt:
            bad.append("%s: tile type %s" % (t, i.dtype))
        want = np.clip(1000 - c.data, lo, hi)
        if dt == "Float32":
            want = want.astype(np.float32).astype(np.float64)  # the value as Float32 holds it
        d = np.abs(i.data - want)[:, c.valid & i.valid]
        if (c.valid != i.valid).any() or d.size == 0 or d.max() > 0:
            bad.append("%s: masks differ on %d px, max |diff| %s" % (t, (c.valid != i.valid).sum(), d.max() if d.size else "-"))
    neg = any((swt.Tile(swt.tile_path(inv, *t, "tif")).data < 0).any() for t in b)
    swt.check("invert on %s: same %d tiles as convert, pixels = clamp(1000 - v) in the type" % (dt, len(a)),
              a and a == b and not bad, "\n".join(bad[:5]))
    if lo < 0:
        swt.check("invert on %s keeps negative results (1000 - v < 0 where v > 1000)" % dt, neg)
EOF

#!/usr/bin/env bash
# test_failures.sh: failed tiles are reported, listed and retried.
# The input is a VRT mosaic of two GeoTIFFs side by side; one of them is
# deleted, so the tasks that read it fail:
#   - exit status 1, {output}/.swath/failed.txt lists those tasks with a reason,
#     the tasks reading only the other file succeed;
# then the file is restored and the same command run again:
#   - only the failed tasks (and the overviews above them) are computed, the
#     tiles of tasks that had succeeded are untouched, exit 0, and the tile set
#     equals that of a clean run.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/left.tif" --size 512 --center 460440,5247000
gen_rgb "$WORK/data/right.tif" --size 512 --center 465560,5247000
gdalbuildvrt -q "$WORK/data/mosaic.vrt" "$WORK/data/left.tif" "$WORK/data/right.tif" ||
  die "gdalbuildvrt the mosaic"

for name in clean broken; do
  cat >"$WORK/$name.yaml" <<EOF
process: convert
inputs:
  img: data/mosaic.vrt
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [13, 15]
output: {path: out/$name, format: PNG}
EOF
done
OUT="$WORK/out/broken"

check_run "clean run over the whole mosaic exits 0" 0 run "$WORK/clean.yaml" --workers 2 --no-progress
if [ ! -s "$WORK/out/clean/.swath/failed.txt" ]; then pass "a clean run leaves no failure list (or an empty one)"
else fail "a clean run leaves no failure list (or an empty one)" "$(head "$WORK/out/clean/.swath/failed.txt")"; fi

# Delete one half of the mosaic (keep it aside, same mtime, to restore it).
mv "$WORK/data/right.tif" "$WORK/right.tif.saved"
check_run "a run with one mosaic file missing exits 1" 1 run "$WORK/broken.yaml" --workers 2 --no-progress
cp "$WORK/run.err" "$WORK/broken.err"
if grep -qiE 'fail' "$WORK/run.err"; then pass "the run says that tasks failed"
else fail "the run says that tasks failed" "$(last_run_output)"; fi
FAILED="$OUT/.swath/failed.txt"
if [ -s "$FAILED" ]; then pass "failed.txt lists the failures"
else die "failed.txt lists the failures" "missing or empty: $FAILED" "$(ls -la "$OUT/.swath" 2>&1)"; fi
echo "    # $(head -n 1 "$FAILED")"

# All metatiles at the highest zoom, for the checks below.
LL=$("$PY" -c 'import swt,sys; print(",".join("%.9f" % v for v in swt.lonlat_bounds(sys.argv[1])))' "$WORK/data/mosaic.vrt")
run_swath tiles --grid WebMercatorQuad --zoom 15 --metatiling 2 --bounds "$LL"
cp "$WORK/run.out" "$WORK/meta15.txt"

py_checks "$FAILED" "$WORK/data" "$WORK/right.tif.saved" "$WORK/meta15.txt" "$OUT" <<'EOF'
import re, sys, swt
failed_txt, data, right, meta15, out = sys.argv[1:6]
m, zmax = 2, 15
lines = [l.rstrip("\n") for l in open(failed_txt) if l.strip()]
bad_lines, failed = [], {}
for l in lines:
    mm = re.match(r"^(\d+)/(\d+)/(\d+)\s+(\S.*)$", l)
    if not mm:
        bad_lines.append(l)
    else:
        failed[tuple(map(int, mm.groups()[:3]))] = mm.group(4)
swt.check("each failed.txt line is 'z/x/y <reason>' (%d lines)" % len(lines), lines and not bad_lines,
          "\n".join(bad_lines[:5]))
reasons = sorted(set(failed.values()))
swt.check("the reasons are meaningful", all(len(r) >= 10 for r in reasons), "\n".join(reasons[:5]))
swt.check("the reason names the missing file", any("right.tif" in r for r in reasons), "\n".join(reasons[:5]))

def mbounds(z, x, y):
    a = swt.merc_bounds(z, x * m, y * m)
    b = swt.merc_bounds(z, x * m + m - 1, y * m + m - 1)
    return (a[0], b[1], b[2], a[3])

leaves = [tuple(map(int, l.strip().split("/"))) for l in open(meta15) if l.strip()]
left = data + "/left.tif"
inside_right = [t for t in leaves if swt.box_inside_raster(mbounds(*t), "EPSG:3857", right, 0)]
# Away from the missing file and fully on the remaining one (tasks off both
# rasters are rightly empty and write nothing).
only_left = [t for t in leaves if swt.box_misses_raster(mbounds(*t), "EPSG:3857", right, 4)
             and swt.box_inside_raster(mbounds(*t), "EPSG:3857", left, 0)]
swt.check("there are tasks inside the missing file (%d) and tasks far from it (%d)" % (len(inside_right), len(only_left)),
          inside_right and only_left)
swt.check("tasks inside the missing file failed", all(t in failed for t in inside_right),
          "not failed: %s" % [t for t in inside_right if t not in failed][:10])
swt.check("failed tasks all touch the missing file",
          all(not swt.box_misses_raster(mbounds(*t), "EPSG:3857", right, 4) for t in failed if t[0] == zmax),
          "far from it: %s" % [t for t in failed if swt.box_misses_raster(mbounds(*t), "EPSG:3857", right, 4)][:10])
swt.check("no task away from the missing file failed", not [t for t in only_left if t in failed],
          [t for t in only_left if t in failed][:10])
written = set(swt.list_tiles(out, "png", zmax))
lost = [t for t in only_left if not any((zmax, t[1] * m + i, t[2] * m + j) in written for i in range(m) for j in range(m))]
swt.check("tiles of tasks away from the missing file were written", not lost, lost[:10])
EOF

# Record what exists now: the highest zoom's tiles must survive the retry.
py "$OUT" "$WORK/stats_before.json" <<'EOF'
import json, sys, swt
json.dump({k: v for k, v in swt.stats(sys.argv[1]).items() if k.startswith("15/")}, open(sys.argv[2], "w"))
EOF

cp "$FAILED" "$WORK/failed_first.txt"

# Restore the file and run the same command again.
mv "$WORK/right.tif.saved" "$WORK/data/right.tif"
sleep 0.1
check_run "after restoring the file, the rerun exits 0" 0 run "$WORK/broken.yaml" --workers 2 --no-progress
if [ ! -s "$FAILED" ]; then pass "no failures listed after the successful rerun"
else fail "no failures listed after the successful rerun" "$(head "$FAILED")"; fi
py_checks "$OUT" "$WORK/stats_before.json" "$WORK/out/clean" "$WORK/run.err" "$WORK/broken.err" "$WORK/failed_first.txt" <<'EOF'
import json, re, sys, swt
out, before, clean, err, broken_err, failed_first = sys.argv[1:7]
zmin = 13
failed_tasks = {tuple(map(int, l.split()[0].split("/"))) for l in open(failed_first) if l.strip()}
above = {(z - k, x >> k, y >> k) for (z, x, y) in failed_tasks for k in range(1, z - zmin + 1)} - failed_tasks
text = open(err).read()
mm = re.search(r"\((\d+) done, (\d+) empty, (\d+) already done, (\d+) failed\)", text)
mb = re.search(r"\((\d+) done, (\d+) empty, (\d+) already done, (\d+) failed\)", open(broken_err).read())
if swt.check("both runs print a summary '(N done, N empty, N already done, N failed)'", mm and mb, text[-800:]):
    done, empty, already, failed = map(int, mm.groups())
    fdone, fempty, falready, ffailed = map(int, mb.groups())
    # The retry computes the failed tasks plus overviews above them, never more.
    swt.check("the rerun retried the %d failed task(s) and the %d overviews above them only: %d computed, %d already done"
              % (len(failed_tasks), len(above), done, already),
              ffailed == len(failed_tasks) and len(failed_tasks) <= done <= len(failed_tasks) + len(above)
              and failed == 0 and already > 0)
b = json.load(open(before))
now = swt.stats(out)
touched = [k for k in b if now.get(k) != tuple(b[k]) and now.get(k) != b[k]]
swt.check("tiles of tasks that had succeeded are untouched (%d)" % len(b), b and not touched, touched[:10])
a, c = swt.checksums(clean, "png"), swt.checksums(out, "png")
swt.check("the tile set equals a clean run's (%d tiles)" % len(a), a.keys() == c.keys(),
          "only clean: %s\nonly retried: %s" % (sorted(a.keys() - c.keys())[:10], sorted(c.keys() - a.keys())[:10]))
swt.check("the tiles' pixels equal a clean run's (overviews rebuilt)", a == c,
          "differ: %s" % [t for t in a if c.get(t) != a[t]][:10])
EOF

#!/usr/bin/env bash
# test_detect_borders.sh: issue 18, point 4 ("exactly once across borders")
# and point 6's crash safety, with the committed model (models/solar).
#
# A generated z19 scene (detect_scene.py) holds panels whose centres sit
# exactly on tile borders, chip borders, metatile borders (of metatiling 2
# and 8, and one pixel off them) and tile corners. Then:
#   - the features of metatiling 1, 2 and 8 and of 1 or 2 workers are the
#     same: count, class, owning tile, geometry within a pixel (0.3 m),
#     scores within 1e-5;
#   - every placed panel is found exactly once (matched at IoU >= 0.5 with
#     score >= 0.3) and no two kept boxes of a class overlap at IoU > 0.5
#     (the suppression's threshold), whichever chips and tiles found them;
#   - at the area's edge: a run over an area that cuts tiles keeps exactly
#     the full run's features owned by the area's tiles, for metatiling 1
#     and 8 alike;
#   - kill -9 in the middle of a run and a rerun give the features of an
#     uninterrupted run: none lost, none twice.
. "$(dirname "$0")/lib.sh"
require_swath

. "$SWATH_SRC/tests/integration/detect_lib.sh"
detect_scene

for m in 1 2 8; do
  detect_job "m$m" "$m"
  check_run "metatiling $m: the run exits 0" 0 run "$WORK/m$m.yaml"
done
detect_job w1 2
check_run "metatiling 2 on 1 worker: the run exits 0" 0 run --workers 1 "$WORK/w1.yaml"
# Read-ahead (run_ahead.c: the next task's inputs read while the model
# runs) is on by default with fewer workers than cores (w1 on a 2-core
# machine); these runs force it on and off.
detect_job ra1 2
export SWATH_READ_AHEAD=1
check_run "metatiling 2 on 2 workers reading ahead: the run exits 0" 0 run --workers 2 "$WORK/ra1.yaml"
detect_job ra0w1 8
export SWATH_READ_AHEAD=0
check_run "metatiling 8 on 1 worker, no read-ahead: the run exits 0" 0 run --workers 1 "$WORK/ra0w1.yaml"
export SWATH_READ_AHEAD=2
check_run "SWATH_READ_AHEAD=2: one line, exit 2" 2 run "$WORK/ra0w1.yaml"
unset SWATH_READ_AHEAD

py_checks "$WORK" <<'EOF'
import sys, json
sys.path.insert(0, sys.argv[1])
import swt, feat
w = sys.argv[1]
ref = feat.load(w + "/out/m1/features.gpkg")
for name in ("m2", "m8", "w1", "ra1", "ra0w1"):
    why = feat.same(ref, feat.load(w + "/out/%s/features.gpkg" % name))
    swt.check("the features of %s equal metatiling 1's (%d)" % (name, len(ref)), not why, why)
truth = [f["properties"]["px"] for f in json.load(open(w + "/data/scene.geojson"))["features"]]
gt = []
for f in json.load(open(w + "/data/scene.geojson"))["features"]:
    ring = f["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    gt.append((min(xs), max(xs), min(ys), max(ys)))
def iou(a, b):
    w_ = min(a[1], b[1]) - max(a[0], b[0]); h = min(a[3], b[3]) - max(a[2], b[2])
    if w_ <= 0 or h <= 0: return 0
    i = w_ * h
    return i / ((a[1]-a[0])*(a[3]-a[2]) + (b[1]-b[0])*(b[3]-b[2]) - i)
# (0.3: the model is less sure of panels alone on plain ground than in the
# scenes it was trained on, 0.34-0.47 for some upright ones; what is tested
# here is where they are reported, not the model's confidence)
det = [f[2] for f in ref if f[3] >= 0.3]
hits = [sum(1 for d in det if iou(d, t) >= 0.5) for t in gt]
missed = [truth[i] for i, h in enumerate(hits) if h == 0]
twice = [truth[i] for i, h in enumerate(hits) if h > 1]
swt.check("every one of the %d panels on borders is found" % len(gt), not missed,
          "missed (pixel boxes): %r" % missed)
swt.check("no panel is found twice", not twice, "twice: %r" % twice)
over = [(a, b) for i, a in enumerate(ref) for b in ref[i + 1:]
        if a[0] == b[0] and iou(a[2], b[2]) > 0.5]
swt.check("no two kept boxes of a class overlap at IoU > nms_iou (0.5), across chips and tiles",
          not over, repr(over[:3]))
EOF

# The area's edge: an area cutting tiles 1 and 5 (in x and y) of the scene.
read -r AREA < <(py "$TX0" "$TY0" <<'EOF'
import sys
H = 20037508.342789244; span = 2 * H / 2**19
tx0, ty0 = int(sys.argv[1]), int(sys.argv[2])
x0, x1 = -H + (tx0 + 1.5) * span, -H + (tx0 + 5.5) * span
y1, y0 = H - (ty0 + 1.5) * span, H - (ty0 + 5.5) * span
print("{bounds: [%r, %r, %r, %r], crs: EPSG:3857}" % (x0, y0, x1, y1))
EOF
)
for m in 1 8; do
  detect_job "a$m" "$m" "" "" "$AREA"
  check_run "metatiling $m over an area cutting tiles: exits 0" 0 run "$WORK/a$m.yaml"
done
py_checks "$WORK" "$TX0" "$TY0" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import swt, feat
w, tx0, ty0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
full = feat.load(w + "/out/m1/features.gpkg")
want = [f for f in full if 1 <= f[1][1] - tx0 <= 5 and 1 <= f[1][2] - ty0 <= 5]
for m in ("1", "8"):
    got = feat.load(w + "/out/a%s/features.gpkg" % m)
    why = feat.same(want, got)
    swt.check("metatiling %s over the area: the full run's %d features of the area's tiles, "
              "no more" % (m, len(want)), not why, why)
swt.check("the area holds some features and leaves some out", 0 < len(want) < len(full),
          "%d of %d" % (len(want), len(full)))
EOF

# kill -9 once some tasks have written their features, then run again
# (metatiling 2: 16 tasks, so the kill lands between two).
detect_job k 2
"$SWATH" run --workers 1 "$WORK/k.yaml" >"$WORK/k.out" 2>&1 &
PID=$!
track_bg "$PID"
for _ in $(seq 1 600); do
  n=$(py "$WORK/out/k/features.gpkg" <<'EOF' 2>/dev/null
import sqlite3, sys
try:
    # read-only: a plain connect would create an empty file at the store's
    # path if it polled before the run made the store (which then refuses it)
    print(sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=1)
          .execute("SELECT count(*) FROM features").fetchone()[0])
except Exception:
    print(0)
EOF
)
  [ "${n:-0}" -gt 0 ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if kill -9 "$PID" 2>/dev/null; then
  wait "$PID" 2>/dev/null
  pass "the run was killed (-9) after $n features were written"
else
  fail "the run was killed in the middle" "it ended before: $(tail -3 "$WORK/k.out")"
fi
check_run "the rerun exits 0" 0 run "$WORK/k.yaml"
check_py "after kill -9 and a rerun, the features equal an uninterrupted run's" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import feat
why = feat.same(feat.load(sys.argv[1] + "/out/m2/features.gpkg"),
                feat.load(sys.argv[1] + "/out/k/features.gpkg"))
if why: sys.exit(why)
EOF

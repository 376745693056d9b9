#!/usr/bin/env bash
# test_resume.sh: kill -9 in the middle of a run, run the same command again.
#   - the rerun exits 0 and reports the tasks recorded DONE as already done;
#   - their tiles are left untouched (same inode and mtime_ns);
#   - the final tiles equal those of a clean uninterrupted run (names and
#     decoded-pixel checksums);
#   - --overwrite then rewrites every tile (every mtime changes);
#   - no temporary files are left anywhere.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 1024
# metatiling 1: a task is a tile, so DONE tasks map to tile files one to one.
for name in clean resumed; do
  cat >"$WORK/$name.yaml" <<EOF
process: convert
inputs:
  img: data/rgb.tif
grid: {name: WebMercatorQuad, metatiling: 1}
zoom: [12, 16]
output: {path: out/$name, format: PNG}
EOF
done
RES="$WORK/out/resumed"
# already_done: N from the last run's summary "... N already done ...".
already_done() { cat "$WORK/run.err" "$WORK/run.out" | grep -oE '[0-9]+ already done' | head -n 1 | grep -oE '^[0-9]+'; }
DB=$(state_db "$RES")

# Task state from the store, whatever its table is called: the table with
# z, x, y and a state column; DONE is 1 (store.h's enum) or the word.
cat >"$WORK/state.py" <<'EOF'
import sqlite3, sys
def done(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            cols = [r[1].lower() for r in con.execute("PRAGMA table_info(%s)" % t)]
            st = [c for c in cols if c in ("state", "status")]
            if {"z", "x", "y"} <= set(cols) and st:
                return sorted(con.execute(
                    "SELECT z, x, y FROM %s WHERE %s IN (1, '1', 'done', 'DONE')" % (t, st[0])).fetchall())
        raise SystemExit("no task table (z, x, y, state) in %s" % db)
    finally:
        con.close()
if __name__ == "__main__":
    try:
        rows = done(sys.argv[1])
    except sqlite3.Error as e:  # the writer may hold a lock for a moment
        print(-1)
        sys.exit(0)
    if sys.argv[2:] == ["count"]:
        print(len(rows))
    else:
        for r in rows:
            print("%d/%d/%d" % r)
EOF

# A clean, uninterrupted run for reference.
T0=$(date +%s.%N)
check_run "clean uninterrupted run exits 0" 0 run "$WORK/clean.yaml" --workers 2 --no-progress
T1=$(date +%s.%N)
TOTAL=$(grep -oE '[0-9]+ tasks' "$WORK/run.err" | head -n 1 | grep -oE '[0-9]+')
echo "    # clean run: ${TOTAL:-?} tasks in $(awk "BEGIN {print $T1 - $T0}") s"
[ -n "$(tile_files "$WORK/out/clean" png)" ] || die "the clean run wrote tiles"

# The interrupted run: kill -9 once the store holds some DONE tasks.
"$SWATH" run "$WORK/resumed.yaml" --workers 2 --no-progress >"$WORK/bg.out" 2>"$WORK/bg.err" &
PID=$!
track_bg "$PID"
n=0
for _ in $(seq 1 1200); do
  if [ -f "$DB" ]; then
    n=$("$PY" "$WORK/state.py" "$DB" count 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 5 ] && break
  fi
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.05
done
if kill -9 "$PID" 2>/dev/null; then
  wait "$PID" 2>/dev/null
  pass "killed the run with -9 after $n task(s) were recorded DONE"
else
  wait "$PID"
  die "kill -9 the run while it works" "it finished (exit $?) before 5 tasks were recorded DONE; recorded: $n" \
    "$(tail -n 5 "$WORK/bg.err")"
fi

"$PY" "$WORK/state.py" "$DB" >"$WORK/done.txt" || die "read the DONE tasks from $DB" "$(cat "$WORK/done.txt")"
NDONE=$(wc -l <"$WORK/done.txt")
NTILES=$(tile_files "$RES" png | wc -l)
echo "    # after kill -9: $NDONE tasks DONE in the store, $NTILES tiles on disk, of ${TOTAL:-?} tasks"
[ "$NDONE" -gt 0 ] || die "some tasks recorded DONE before the kill"
if [ -n "$TOTAL" ] && [ "$NDONE" -lt "$TOTAL" ]; then pass "the run was interrupted part-way ($NDONE of $TOTAL DONE)"
else fail "the run was interrupted part-way" "DONE $NDONE of ${TOTAL:-?}"; fi

# Tiles of DONE tasks: present, with their inode and mtime recorded.
py "$RES" "$WORK/done.txt" "$WORK/before.json" <<'EOF' || die "record the DONE tasks' tiles"
import json, os, sys
res, done, dst = sys.argv[1:4]
out, missing = {}, []
for line in open(done):
    z, x, y = line.strip().split("/")
    p = "%s/%s/%s/%s.png" % (res, z, x, y)
    if os.path.exists(p):
        st = os.stat(p)
        out[line.strip()] = [st.st_ino, st.st_mtime_ns]
    else:
        missing.append(line.strip())
json.dump({"tiles": out, "missing": missing}, open(dst, "w"))
EOF
py_checks "$WORK/before.json" <<'EOF'
import json, sys, swt
b = json.load(open(sys.argv[1]))
swt.check("every task recorded DONE has its tile on disk (%d)" % len(b["tiles"]), not b["missing"],
          "DONE but no tile: %s" % b["missing"][:10])
EOF

sleep 0.1 # so that a rewritten tile would get a different mtime
check_run "rerun of the same command after kill -9 exits 0" 0 run "$WORK/resumed.yaml" --workers 2 --no-progress
ALREADY=$(already_done)
check_eq "the rerun reports the $NDONE DONE tasks as already done" "$NDONE" "${ALREADY:-<no 'N already done' in the output>}"
py_checks "$RES" "$WORK/before.json" <<'EOF'
import json, os, sys, swt
res, before = sys.argv[1:3]
b = json.load(open(before))["tiles"]
changed = []
for t, (ino, mt) in b.items():
    z, x, y = t.split("/")
    p = "%s/%s/%s/%s.png" % (res, z, x, y)
    st = os.stat(p) if os.path.exists(p) else None
    if not st or st.st_ino != ino or st.st_mtime_ns != mt:
        changed.append(t)
swt.check("the rerun left the %d tiles of DONE tasks untouched (inode, mtime_ns)" % len(b), b and not changed,
          "rewritten: %s" % changed[:10])
EOF

py_checks "$WORK/out/clean" "$RES" <<'EOF'
import sys, swt
clean, res = sys.argv[1:3]
a, b = swt.checksums(clean, "png"), swt.checksums(res, "png")
swt.check("resumed run has the clean run's tile set (%d tiles)" % len(a), a.keys() == b.keys(),
          "only clean: %s\nonly resumed: %s" % (sorted(a.keys() - b.keys())[:10], sorted(b.keys() - a.keys())[:10]))
diff = [t for t in a if t in b and a[t] != b[t]]
swt.check("resumed tiles have the clean run's pixels", not diff, "differ: %s" % diff[:10])
EOF

if [ -z "$(tmp_files "$WORK/out")" ]; then pass "no temporary files left after kill -9 and resume"
else fail "no temporary files left after kill -9 and resume" "$(tmp_files "$WORK/out")"; fi

# A third run has nothing left to do.
check_run "a run after completion exits 0" 0 run "$WORK/resumed.yaml" --workers 2 --no-progress
DONE3=$(grep -oE '\(([0-9]+) done' "$WORK/run.err" | head -n 1 | grep -oE '[0-9]+')
check_eq "a run after completion computes nothing" "0" "${DONE3:-<no '(N done' in the output>}"

# --overwrite rewrites every tile.
py "$RES" "$WORK/all_before.json" <<'EOF' || die "record all tiles"
import json, sys, swt
json.dump({k: v for k, v in swt.stats(sys.argv[1]).items() if k.endswith(".png")}, open(sys.argv[2], "w"))
EOF
sleep 0.1
check_run "--overwrite run exits 0" 0 run "$WORK/resumed.yaml" --workers 2 --no-progress --overwrite
ALREADY=$(already_done)
check_eq "--overwrite reports nothing as already done" "0" "${ALREADY:-<no 'N already done' in the output>}"
py_checks "$RES" "$WORK/all_before.json" "$WORK/out/clean" <<'EOF'
import json, sys, swt
res, before, clean = sys.argv[1:4]
b = json.load(open(before))
now = {k: v for k, v in swt.stats(res).items() if k.endswith(".png")}
same = [k for k in b if k in now and now[k][1] == b[k][1]]
swt.check("--overwrite rewrote every tile (%d, all mtimes changed)" % len(b), b and not same,
          "unchanged: %s" % same[:10])
a, c = swt.checksums(clean, "png"), swt.checksums(res, "png")
swt.check("--overwrite output equals the clean run's", a == c,
          "names equal: %s, differing tiles: %s" % (a.keys() == c.keys(), [t for t in a if c.get(t) != a[t]][:10]))
EOF
if [ -z "$(tmp_files "$WORK/out")" ]; then pass "no temporary files left after --overwrite"
else fail "no temporary files left after --overwrite" "$(tmp_files "$WORK/out")"; fi

#!/usr/bin/env bash
# test_queue_chaos.sh: workers die and the pooler restarts, nothing is lost
# or done twice (issue 19, point 4).
#
# A real PostgreSQL and pgbouncer (transaction pooling) on loopback; a
# hillshade job of a few thousand tiles submitted; 4 `swath worker`
# processes. While the job runs, the test kill -9s a random worker every
# 1-3 s and starts a new one, restarts pgbouncer once, and once stops a
# worker (SIGSTOP) for longer than its lease and lets it go on: its task
# was taken over, so its completion must be refused (fenced). At the end:
#   - every task completed exactly once in the queue's record;
#   - the tile tree byte-identical to `swath run` of the same job;
#   - no staging folder or temporary file left;
#   - `swath status` says done; the expired leases and fenced completions
#     are printed, and the stopped worker dropped its task or was fenced.
# Bounded: the job must end within 300 s.
. "$(dirname "$0")/lib.sh"
require_swath
start_postgres
start_pgbouncer
DB="$PGB_CONN"
LEASE=3

gen_dem "$WORK/data/dem.tif" --size 1024
for name in ref q; do
  cat >"$WORK/$name.yaml" <<EOF
process: hillshade
params: {azimuth: 315, altitude: 45}
inputs:
  dem: data/dem.tif
grid: {name: WebMercatorQuad, metatiling: 1, pixel_buffer: 1}
zoom: [9, 17]
output: {path: out/$name, format: PNG}
EOF
done
check_run "swath run of the job exits 0" 0 run "$WORK/ref.yaml" --workers 2 --no-progress
NTILES=$(tile_files "$WORK/out/ref" png | wc -l)
check "the job has a few thousand tiles ($NTILES)" test "$NTILES" -ge 1500
run_swath submit "$WORK/q.yaml" --db "$DB" --cell-zoom 16
ID=$(tr -d '[:space:]' <"$WORK/run.out")
check "submit exits 0 with a job id" test "$RUN_RC" -eq 0 -a -n "$ID" || exit 1

declare -A WPID
n_started=0
start_worker() {
  n_started=$((n_started + 1))
  "$SWATH" worker --db "$DB" --job "$ID" --workers 1 --lease $LEASE >"$WORK/w$n_started.log" 2>&1 &
  WPID[$1]=$!
  track_bg $!
}
for i in 1 2 3 4; do start_worker $i; done

state() { "$SWATH" status "$ID" --db "$DB" --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }
t0=$(date +%s)
kills=0 bounced=0 stopped=0
while :; do
  s=$(state)
  [ "$s" = done ] || [ "$s" = failed ] && break
  [ $(($(date +%s) - t0)) -gt 300 ] && break
  sleep "$(( (RANDOM % 3) + 1 ))"
  i=$(( (RANDOM % 4) + 1 ))
  if [ $stopped -lt 3 ] && [ $kills -ge 2 ] && ! grep -q "completion refused\|lease lost" "$WORK"/w*.log; then
    # Stop a worker past its lease (its task is taken over), then let it
    # go on: it must drop the task (heartbeat: lease lost) or have its
    # completion refused (fenced). Again (3 times at most) if it held none.
    kill -STOP "${WPID[$i]}" 2>/dev/null && stopped=$((stopped + 1))
    sleep $((LEASE * 2 + 1))
    kill -CONT "${WPID[$i]}" 2>/dev/null
    continue
  fi
  if [ $bounced = 0 ] && [ $kills -ge 4 ]; then
    restart_pgbouncer
    bounced=1
    continue
  fi
  kill -9 "${WPID[$i]}" 2>/dev/null && kills=$((kills + 1))
  start_worker $i
done
# The last workers finish the job (a worker exits once its job has ended).
for i in 1 2 3 4; do wait "${WPID[$i]}" 2>/dev/null; done
echo "  chaos: $kills workers killed (-9), pgbouncer restarted $bounced time(s), $stopped worker(s) stopped past their lease, $(($(date +%s) - t0)) s"
check_eq "the job ended done within 300 s" done "$(state)"
check "pgbouncer was restarted mid-run" test "$bounced" = 1
check "workers were killed mid-run" test "$kills" -ge 4

"$SWATH" status "$ID" --db "$DB" >"$WORK/status.txt" 2>&1
sed 's/^/  /' "$WORK/status.txt"
"$SWATH" status "$ID" --db "$DB" --json >"$WORK/status.json"
check_py "every task completed exactly once; leases expired" "$WORK/status.json" "$PG_LIBPQ" "$ID" <<'EOF'
import json, subprocess, sys
s = json.load(open(sys.argv[1]))
t = s["tasks"]
assert s["state"] == "done" and t["done"] + t["empty"] == t["total"] and t["failed"] == 0, s
rows = subprocess.run(["psql", sys.argv[2], "-Atc",
    "SELECT completions, count(*) FROM swath_tasks WHERE job = %d GROUP BY 1 ORDER BY 1" % int(sys.argv[3])],
    capture_output=True, text=True, check=True).stdout.split()
counts = dict(r.split("|") for r in rows)
assert list(counts) == ["1"] and int(counts["1"]) == t["total"], ("completions per task", counts)
print("  expired leases: %d, fenced completions: %d" % (s["expired_leases"], s["fenced_completions"]))
assert s["expired_leases"] >= 1, "kill -9 left no lease to expire?"
EOF
check "a worker stopped past its lease dropped its task or was fenced (its log says so)" grep -q "completion refused\|lease lost" "$WORK"/w*.log
same_bytes() {
  (cd "$1" && find . -path ./.swath -prune -o -type f -name '*.png' -print | sort | xargs md5sum) >"$WORK/a.md5"
  (cd "$2" && find . -path ./.swath -prune -o -type f -name '*.png' -print | sort | xargs md5sum) >"$WORK/b.md5"
  [ -s "$WORK/a.md5" ] && cmp -s "$WORK/a.md5" "$WORK/b.md5"
}
check "the tile tree is byte-identical to swath run's" same_bytes "$WORK/out/ref" "$WORK/out/q"
check_eq "no staging folder left" "" "$(ls -A "$WORK/out/q/.swath/stage" 2>/dev/null)"
check_eq "no temporary file left" "" "$(tmp_files "$WORK/out/q")"

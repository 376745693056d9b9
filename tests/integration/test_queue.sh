#!/usr/bin/env bash
# test_queue.sh: the PostgreSQL job queue (src/engine/queue*.c, store_pg.c)
# against a real PostgreSQL behind a real pgbouncer in transaction pooling
# with a pool smaller than the number of clients: the C driver
# swath_queuetest (tests/queue/) runs each test in a database of its own,
# talking to the queue only through pgbouncer; the last one restarts
# pgbouncer in the middle of its calls. One check per driver test.
. "$(dirname "$0")/lib.sh"

DRIVER=$SWATH_BUILD_DIR/swath_queuetest
[ -x "$DRIVER" ] || die "queue driver built" "not executable: $DRIVER"
start_postgres
start_pgbouncer
export SWATH_QUEUE_PGB="host=127.0.0.1 port=$PGB_PORT user=swath connect_timeout=10"
export SWATH_QUEUE_PG="host=127.0.0.1 port=$PG_PORT user=swath"
export SWATH_QUEUE_RESTART=$PGB_RESTART

for t in schema submit claims_concurrent overview_order lease_expiry fail_backoff \
  nothing_can_run cancel release claim_again commit_error store_view store_registry status job_done \
  pgbouncer_restart; do
  out=$("$DRIVER" "test_$t" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && grep -q "^\[  PASSED  \] 1 test" <<<"$out"; then
    pass "queue: $t"
    grep '^# ' <<<"$out" | sed -e 's/^/    /'
  else
    fail "queue: $t" "exit status $rc" "$out" "pgbouncer log:" "$(tail -5 "$WORK/pgb/pgbouncer.log")"
  fi
done

# Every test above went through pgbouncer, in transaction pooling.
check_eq "pgbouncer pool_mode" "pool_mode = transaction" "$(grep pool_mode "$WORK/pgb/pgbouncer.ini")"
n=$(grep -c "login attempt: db=q_" "$WORK/pgb/pgbouncer.log")
[ "$n" -gt 15 ] && pass "the driver's connections went through pgbouncer ($n logins)" ||
  fail "the driver's connections went through pgbouncer" "$n logins in its log"

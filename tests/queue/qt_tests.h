/* qt_tests.h: the tests of queue_test_lease.c and queue_test_store.c, run
 * by queue_test.c's main. */
#ifndef SWATH_TESTS_QT_TESTS_H
#define SWATH_TESTS_QT_TESTS_H

void test_lease_expiry(void **state);
void test_fail_backoff(void **state);
void test_nothing_can_run(void **state);
void test_cancel(void **state);
void test_release(void **state);
void test_claim_again(void **state);
void test_commit_error(void **state);
void test_store_view(void **state);
void test_store_registry(void **state);
void test_status(void **state);
void test_job_done(void **state);
void test_pgbouncer_restart(void **state);

#endif

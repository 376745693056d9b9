/* run_supervise.c: what swath_run and swath_prefetch do the same way while
 * their threads work and once they are done: SIGINT/SIGTERM caught into one
 * flag (threads poll it between tasks or requests, so an interrupted run
 * stops at a task boundary and resumes), the main thread's progress loop,
 * the inputs' fetchers cancelled, a failure list that is removed when
 * nothing failed.
 *
 * The flag is the one global of a run: a signal handler can set nothing
 * else. One run or prefetch at a time per process sets the handlers. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "core/error.h"
#include "core/progress.h"
#include "engine/run_int.h"

volatile sig_atomic_t swath__interrupted; /* set by SIGINT/SIGTERM only */
static void on_signal(int sig) {
  (void)sig;
  swath__interrupted = 1;
}

void swath__signals_catch(swath__signals *saved) {
  swath__interrupted = 0;
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &saved->old_int);
  sigaction(SIGTERM, &sa, &saved->old_term);
}

void swath__signals_restore(const swath__signals *saved) {
  sigaction(SIGINT, &saved->old_int, NULL);
  sigaction(SIGTERM, &saved->old_term, NULL);
}

int swath__interrupted_error(void) {
  return swath_error_set(SWATH_EINTR, "interrupted; run the same command again to resume");
}

void swath__supervise(swath_progress *pg, swath__tick_fn tick, void *ud, double min_draw) {
  double drawn = 0;
  for (;;) {
    swath__tick t = {.total = -1};
    tick(ud, &t);
    if (t.total >= 0) swath_progress_set_total(pg, t.total, t.estimate);
    if (t.extra[0]) snprintf(pg->extra, sizeof pg->extra, "%s", t.extra);
    if (t.over || swath_now() - drawn >= min_draw) {
      swath_progress_show(pg, t.finished, t.failed);
      drawn = swath_now();
    }
    if (t.over) break;
  }
  swath_progress_end(pg);
}

void swath__fetch_cancel_all(const run_ctx *rc, const char *why) {
  for (int i = 0; rc->fetchers && i < rc->job->ninputs; i++)
    if (rc->fetchers[i]) swath_fetch_cancel(rc->fetchers[i], why);
}

void swath__failure_list_close(FILE *f, const char *path) {
  if (!f) return;
  long size = ftell(f);
  fclose(f);
  if (size == 0) unlink(path);
}

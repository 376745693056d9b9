/* progress.c: see progress.h. */
#include "core/progress.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

double swath_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void swath_progress_init(swath_progress *p, const char *label, int64_t total, int mode) {
  p->label = label;
  p->total = total;
  p->estimate = 0;
  p->bar = mode < 0 ? isatty(STDERR_FILENO) : mode;
  p->interval = 10;
  p->start = p->last_line = swath_now();
  p->drawn = 0;
}

void swath_progress_set_total(swath_progress *p, int64_t total, int estimate) {
  p->total = total;
  p->estimate = estimate;
}

static void eta_text(char *buf, size_t n, double secs) {
  if (secs < 0 || secs > 360000) snprintf(buf, n, "--:--");
  else if (secs >= 3600) snprintf(buf, n, "%dh%02dm", (int)secs / 3600, ((int)secs / 60) % 60);
  else snprintf(buf, n, "%02d:%02d", (int)secs / 60, (int)secs % 60);
}

void swath_progress_show(swath_progress *p, int64_t done, int64_t failed) {
  double now = swath_now(), el = now - p->start;
  double rate = el > 0 ? done / el : 0;
  int known = p->total >= 0;
  /* a guess may fall short of what is done already */
  double frac = !known ? 0 : p->total > 0 ? fmin((double)done / p->total, 1) : 1;
  char eta[32], total[32];
  eta_text(eta, sizeof eta, known && rate > 0 && done <= p->total ? (p->total - done) / rate : -1);
  if (!known)
    snprintf(total, sizeof total, "?");
  else
    snprintf(total, sizeof total, "%s%lld", p->estimate ? "~" : "", (long long)p->total);
  if (p->bar) {
    if (swath_log_get_level() > SWATH_LOG_INFO) return;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %3.0f%% %lld/%s %s  %.1f/s  ETA %s", bar, frac * 100, (long long)done,
            total, p->label, rate, eta);
    if (failed) fprintf(stderr, "  %lld failed", (long long)failed);
    if (p->extra[0]) fprintf(stderr, "  %s", p->extra);
    fprintf(stderr, "\033[K");
    fflush(stderr);
    p->drawn = 1;
    return;
  }
  if (now - p->last_line < p->interval) return;
  p->last_line = now;
  swath_info("progress: %lld/%s %s (%.0f%%), %.1f/s, ETA %s%s%s%s", (long long)done, total,
             p->label, frac * 100, rate, eta, failed ? ", with failures" : "",
             p->extra[0] ? ", " : "", p->extra);
}

void swath_progress_end(swath_progress *p) {
  if (p->bar && p->drawn) {
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
  }
}

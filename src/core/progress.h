/* progress.h: progress of long work, shown as a redrawn bar on a terminal
 * and as a log line every `interval` seconds otherwise. The caller drives it
 * from one thread (a ticker); counts are read, never written, here. */
#ifndef SWATH_CORE_PROGRESS_H
#define SWATH_CORE_PROGRESS_H

#include <stdint.h>

typedef struct swath_progress {
  const char *label; /* e.g. "tiles" */
  int64_t total;     /* negative: not known yet (shown "?") */
  int estimate;      /* total is a guess (shown "~N") until set exact */
  int bar;           /* 1: redraw a bar on stderr; 0: log lines */
  double interval;   /* seconds between log lines */
  double start, last_line;
  int drawn;
  char extra[96]; /* shown after the counts when set, e.g. "1234 features" */
} swath_progress;

/* mode: -1 auto (bar if stderr is a terminal), 0 lines, 1 bar. */
void swath_progress_init(swath_progress *p, const char *label, int64_t total, int mode);
/* A new total, or an exact one for a guess (estimate = 0). */
void swath_progress_set_total(swath_progress *p, int64_t total, int estimate);
/* Show `done` of total (failed shown when non-zero). */
void swath_progress_show(swath_progress *p, int64_t done, int64_t failed);
/* Clear the bar line, if any, before the summary. */
void swath_progress_end(swath_progress *p);
/* Monotonic seconds. */
double swath_now(void);

#endif

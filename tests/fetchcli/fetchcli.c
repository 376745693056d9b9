/* fetchcli.c: a thin driver for the fetcher, for integration tests and for
 * poking at a server by hand. Reads requests from stdin, one per line:
 *
 *   URL DEST [WIDTH HEIGHT]      (DEST "-": keep the body in memory)
 *
 * and prints one line per request when it completes:
 *
 *   outcome \t cached \t attempts \t http_status \t url \t dest \t reason
 *
 * then one "stats" line (key=value, space separated) on stderr. Exit 0 if
 * every request ended done or empty, 1 otherwise, 2 for bad usage. */
#include <gdal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "io/fetch.h"

static void usage(void) {
  fprintf(stderr,
          "usage: swath_fetchcli [options] < requests\n"
          "  --max-in-flight N  --per-host N  --rate R  --burst B  --attempts N  --budget N\n"
          "  --connect-timeout-ms N  --timeout-ms N  --stall-timeout-ms N\n"
          "  --backoff-base-ms N  --backoff-max-ms N  --seed N  --no-host-pause\n"
          "  --empty 204,404  --kinds png,jpeg,webp,gtiff,xml,any  --expect WxH\n"
          "  --refetch  --queue-limit N  --finishers N  --header 'Name: value'\n"
          "  --user-agent S  --ca-file PEM  -v\n");
}

struct counts {
  pthread_mutex_t mu;
  long bad;
};

static void on_result(const swath_fetch_result *r, void *user) {
  struct counts *c = user;
  /* One fprintf per line: stdio locks the stream, so lines never mix. */
  fprintf(stdout, "%s\t%d\t%d\t%ld\t%s\t%s\t%s\n", swath_fetch_outcome_name(r->outcome), r->cached,
          r->attempts, r->http_status, r->url, r->dest ? r->dest : "-", r->reason ? r->reason : "");
  if (r->outcome == SWATH_FETCH_FAILED || r->outcome == SWATH_FETCH_ABORTED) {
    pthread_mutex_lock(&c->mu);
    c->bad++;
    pthread_mutex_unlock(&c->mu);
  }
}

static unsigned parse_kinds(const char *s) {
  unsigned k = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (!strcmp(t, "png"))
      k |= SWATH_FETCH_PNG;
    else if (!strcmp(t, "jpeg"))
      k |= SWATH_FETCH_JPEG;
    else if (!strcmp(t, "webp"))
      k |= SWATH_FETCH_WEBP;
    else if (!strcmp(t, "gtiff"))
      k |= SWATH_FETCH_GTIFF;
    else if (!strcmp(t, "xml"))
      k |= SWATH_FETCH_XML;
    else if (!strcmp(t, "any"))
      k |= SWATH_FETCH_ANY;
    else
      return 0;
  }
  return k;
}

int main(int argc, char **argv) {
  swath_fetch_config cfg;
  swath_fetch_config_default(&cfg);
  const char *headers[16] = {0};
  int nheaders = 0, ew = 0, eh = 0;
  unsigned kinds = 0, flags = 0;
  swath_log_set_level(SWATH_LOG_WARN);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
    if (OPT("--max-in-flight"))
      cfg.max_in_flight = atoi(v);
    else if (OPT("--per-host"))
      cfg.max_per_host = atoi(v);
    else if (OPT("--rate"))
      cfg.rate_per_host = atof(v);
    else if (OPT("--burst"))
      cfg.rate_burst = atof(v);
    else if (OPT("--attempts"))
      cfg.max_attempts = atoi(v);
    else if (OPT("--budget"))
      cfg.failure_budget = atoi(v);
    else if (OPT("--connect-timeout-ms"))
      cfg.connect_timeout_ms = atol(v);
    else if (OPT("--timeout-ms"))
      cfg.timeout_ms = atol(v);
    else if (OPT("--stall-timeout-ms"))
      cfg.stall_timeout_ms = atol(v);
    else if (OPT("--backoff-base-ms"))
      cfg.backoff_base_ms = atol(v);
    else if (OPT("--backoff-max-ms"))
      cfg.backoff_max_ms = atol(v);
    else if (OPT("--seed"))
      cfg.seed = strtoull(v, NULL, 0);
    else if (OPT("--queue-limit"))
      cfg.queue_limit = atoi(v);
    else if (OPT("--finishers"))
      cfg.finishers = atoi(v);
    else if (OPT("--user-agent"))
      cfg.user_agent = v;
    else if (OPT("--ca-file"))
      cfg.ca_file = v;
    else if (OPT("--header") && nheaders < 15)
      headers[nheaders++] = v;
    else if (OPT("--kinds")) {
      if (!(kinds = parse_kinds(v))) {
        fprintf(stderr, "swath_fetchcli: bad --kinds '%s'\n", v);
        return 2;
      }
    } else if (OPT("--expect")) {
      if (sscanf(v, "%dx%d", &ew, &eh) != 2) {
        fprintf(stderr, "swath_fetchcli: bad --expect '%s' (want WxH)\n", v);
        return 2;
      }
    } else if (OPT("--empty")) {
      int n = 0;
      char buf[128];
      snprintf(buf, sizeof buf, "%s", v);
      memset(cfg.empty_status, 0, sizeof cfg.empty_status);
      for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < SWATH_FETCH_MAX_EMPTY - 1;
           t = strtok_r(NULL, ",", &save))
        cfg.empty_status[n++] = atoi(t);
    } else if (strcmp(a, "--no-host-pause") == 0)
      cfg.pause_host_on_retry_after = 0;
    else if (strcmp(a, "--refetch") == 0)
      flags |= SWATH_FETCH_REFETCH;
    else if (strcmp(a, "-v") == 0)
      swath_log_set_level(SWATH_LOG_DEBUG);
    else {
      usage();
      return 2;
    }
#undef OPT
  }
  if (nheaders) cfg.headers = headers;

  GDALAllRegister();
  swath_fetcher *f;
  int rc = swath_fetch_new(&cfg, &f);
  if (rc) {
    fprintf(stderr, "swath_fetchcli: %s\n", swath_error_message());
    return swath_error_exit_status(rc);
  }
  struct counts counts = {.bad = 0};
  pthread_mutex_init(&counts.mu, NULL);

  char line[8192];
  long lineno = 0;
  while (fgets(line, sizeof line, stdin)) {
    lineno++;
    char url[4096], dest[4096];
    int w = ew, h = eh;
    int n = sscanf(line, "%4095s %4095s %d %d", url, dest, &w, &h);
    if (n <= 0) continue;
    if (n < 2) {
      fprintf(stderr, "swath_fetchcli: line %ld: want 'URL DEST [W H]'\n", lineno);
      swath_fetch_free(f);
      return 2;
    }
    swath_fetch_req req = {.url = url,
                           .dest = strcmp(dest, "-") == 0 ? NULL : dest,
                           .expect_width = w,
                           .expect_height = h,
                           .kinds = kinds,
                           .flags = flags,
                           .cb = on_result,
                           .user = &counts};
    if ((rc = swath_fetch_submit(f, &req))) {
      fprintf(stderr, "swath_fetchcli: line %ld: %s\n", lineno, swath_error_message());
      swath_fetch_free(f);
      return 2;
    }
  }
  rc = swath_fetch_wait_idle(f);
  if (rc) fprintf(stderr, "swath_fetchcli: %s\n", swath_error_message());
  swath_fetch_stats st;
  swath_fetch_stats_get(f, &st);
  fflush(stdout);
  fprintf(stderr,
          "stats submitted=%llu fetched=%llu cached=%llu empty=%llu failed=%llu aborted=%llu "
          "requests=%llu retries=%llu bytes=%llu wall_s=%.3f busy_s=%.3f busy=%.3f "
          "peak_in_flight=%d budget_exhausted=%d",
          (unsigned long long)st.submitted, (unsigned long long)st.fetched,
          (unsigned long long)st.cached, (unsigned long long)st.empty,
          (unsigned long long)st.failed, (unsigned long long)st.aborted,
          (unsigned long long)st.requests, (unsigned long long)st.retries,
          (unsigned long long)st.bytes, st.wall_seconds, st.busy_seconds,
          st.wall_seconds > 0 ? st.busy_seconds / st.wall_seconds : 0.0, st.peak_in_flight,
          st.budget_exhausted);
  for (int c = 0; c < SWATH_FETCH_C_COUNT; c++)
    fprintf(stderr, " %s=%llu", swath_fetch_cause_name((swath_fetch_cause)c),
            (unsigned long long)st.transient[c]);
  fprintf(stderr, "\n");
  swath_fetch_free(f);
  GDALDestroyDriverManager();
  pthread_mutex_destroy(&counts.mu);
  return counts.bad ? 1 : 0;
}

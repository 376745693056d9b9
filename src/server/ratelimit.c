/* ratelimit.c: token buckets in a chained hash table (ratelimit.h).
 *
 * Invariant: a bucket's tokens are stored as of its `t`; a take first
 * refills them for the time passed (capped at burst). One mutex: a take is
 * a hash, a few arithmetic operations and, rarely, a sweep. */
#include "server/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define NBUCKETS 4096
#define SWEEP_AT 8192 /* clients held before quiet ones are dropped */

typedef struct entry {
  struct entry *next;
  double tokens, t;
  char who[];
} entry;

struct swath_ratelimit {
  double rate, burst;
  pthread_mutex_t mu;
  entry *table[NBUCKETS];
  int n;
};

int swath_ratelimit_parse(const char *spec, double *rate, double *burst) {
  char *end;
  double n = strtod(spec, &end);
  if (end == spec || !(n > 0) || n > 1e9)
    return swath_error_set(
        SWATH_EINVAL, "--rate-limit '%s': a positive number of requests, N[/s|/m][,BURST]", spec);
  double per = 1;
  if (!strncmp(end, "/s", 2))
    end += 2;
  else if (!strncmp(end, "/m", 2))
    end += 2, per = 60;
  *rate = n / per;
  *burst = ceil(*rate) < 1 ? 1 : ceil(*rate);
  if (*end == ',') {
    const char *b = end + 1;
    double v = strtod(b, &end);
    if (end == b || !(v >= 1) || v > 1e9)
      return swath_error_set(SWATH_EINVAL, "--rate-limit '%s': the burst is a number >= 1", spec);
    *burst = v;
  }
  if (*end)
    return swath_error_set(SWATH_EINVAL, "--rate-limit '%s': expected N[/s|/m][,BURST]", spec);
  return 0;
}

int swath_ratelimit_new(double rate, double burst, swath_ratelimit **out) {
  *out = NULL;
  swath_ratelimit *r = calloc(1, sizeof *r);
  if (!r) return swath_error_set(SWATH_ENOMEM, "rate limit: out of memory");
  r->rate = rate;
  r->burst = burst;
  pthread_mutex_init(&r->mu, NULL);
  *out = r;
  return 0;
}

void swath_ratelimit_free(swath_ratelimit *r) {
  if (!r) return;
  for (int i = 0; i < NBUCKETS; i++)
    for (entry *e = r->table[i], *next; e; e = next) {
      next = e->next;
      free(e);
    }
  pthread_mutex_destroy(&r->mu);
  free(r);
}

static unsigned hash(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h % NBUCKETS;
}

/* Drop the buckets that would be full by now: their clients are as if new. */
static void sweep(swath_ratelimit *r, double now) {
  for (int i = 0; i < NBUCKETS; i++)
    for (entry **p = &r->table[i]; *p;) {
      entry *e = *p;
      if (e->tokens + (now - e->t) * r->rate >= r->burst) {
        *p = e->next;
        free(e);
        r->n--;
      } else {
        p = &e->next;
      }
    }
}

int swath_ratelimit_take(swath_ratelimit *r, const char *who, double now) {
  unsigned h = hash(who);
  pthread_mutex_lock(&r->mu);
  entry *e = r->table[h];
  while (e && strcmp(e->who, who))
    e = e->next;
  if (!e) {
    if (r->n >= SWEEP_AT) sweep(r, now);
    size_t len = strlen(who);
    e = malloc(sizeof *e + len + 1);
    if (!e) {
      pthread_mutex_unlock(&r->mu);
      return 0; /* no memory to remember it: let the request through */
    }
    memcpy(e->who, who, len + 1);
    e->tokens = r->burst;
    e->t = now;
    e->next = r->table[h];
    r->table[h] = e;
    r->n++;
  }
  double tokens = e->tokens + (now - e->t) * r->rate;
  if (tokens > r->burst) tokens = r->burst;
  e->t = now;
  int wait = 0;
  if (tokens >= 1) {
    e->tokens = tokens - 1;
  } else {
    e->tokens = tokens;
    wait = (int)ceil((1 - tokens) / r->rate);
    if (wait < 1) wait = 1;
  }
  pthread_mutex_unlock(&r->mu);
  return wait;
}

/* run_fetch.c: the fetch stage. With remote inputs a run's fetch thread
 * walks the same plan order over its own copy of the plan and submits each
 * leaf's remote requests (the sources' requests(), the function their read()
 * uses) to the inputs' fetchers, at most FETCH_AHEAD_TASKS leaves and
 * FETCH_AHEAD_BYTES of downloaded tiles ahead of the compute stage: the
 * queue between the stages is bounded in bytes, so memory and disk
 * read-ahead stay flat for any area. A worker whose tiles are not in the
 * cache yet fetches them itself, through the same fetcher. swath_prefetch
 * runs the same walk alone (or replays its failure list), tallying outcomes. */
#include "engine/run_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/secret.h"
#include "io/cache.h"

static void on_fetched(const swath_fetch_result *res, void *user) {
  walk_tag *tag = user;
  walk *w = tag->w;
  if (w->prefetch) {
    pthread_mutex_lock(&w->mu);
    switch (res->outcome) {
    case SWATH_FETCH_DONE:
      res->cached ? w->cached++ : w->fetched++;
      break;
    case SWATH_FETCH_EMPTY:
      res->cached ? w->cached++ : w->empty++;
      break;
    case SWATH_FETCH_FAILED:
      w->failed++;
      break;
    case SWATH_FETCH_ABORTED:
      w->aborted++;
      break;
    }
    if ((res->outcome == SWATH_FETCH_FAILED || res->outcome == SWATH_FETCH_ABORTED) &&
        w->failures) {
      /* Without secrets: a replay takes them from the job (replay_line). */
      char url[4096], reason[1024];
      swath_redact(res->url, url, sizeof url);
      swath_redact(res->reason ? res->reason : "failed", reason, sizeof reason);
      fprintf(w->failures, "%s\t%s\t%s\t%d\t%d\t%u\t%s\n", w->rc->job->inputs[tag->input].name, url,
              res->dest ? res->dest : "", tag->width, tag->height, tag->kinds, reason);
      fflush(w->failures);
    }
    if (res->outcome == SWATH_FETCH_FAILED && w->failed <= 5)
      swath_warn("%s: %s", res->url, res->reason ? res->reason : "failed");
    pthread_mutex_unlock(&w->mu);
  } else if (res->bytes) {
    /* Downloaded ahead of the compute stage: counts against the queue's bytes. */
    run_ctx *rc = w->rc;
    pthread_mutex_lock(&rc->lock);
    if (tag->seq > rc->compute_seq && tag->seq - rc->compute_seq < FETCH_RING) {
      rc->ring[tag->seq % FETCH_RING] += (int64_t)res->bytes;
      rc->ahead_bytes += (int64_t)res->bytes;
    }
    pthread_mutex_unlock(&rc->lock);
  }
  free(tag);
}

/* What prefetch makes of a request of an offline input: the cache is asked,
 * never the network; a file it would count as cached must pass the checks a
 * download gets. Ends in on_fetched like a fetched request. */
static void offline_request(const swath_fetch_req *r, walk_tag *tag) {
  swath_fetch_result res = {
      .outcome = SWATH_FETCH_DONE, .cached = 1, .url = r->url, .dest = r->dest};
  char reason[1200];
  swath_cache_state cs = r->dest ? swath_cache_lookup(r->dest) : SWATH_CACHE_MISS;
  if (cs == SWATH_CACHE_EMPTY) {
    res.outcome = SWATH_FETCH_EMPTY;
  } else if (cs == SWATH_CACHE_MISS) {
    res.outcome = SWATH_FETCH_FAILED;
    res.reason = "not in the cache, and the input is offline";
  } else if (swath_fetch_check_file(r->dest, r->kinds, r->expect_width, r->expect_height,
                                    (size_t)1 << 30)) {
    snprintf(reason, sizeof reason, "the cached file is damaged (%s), and the input is offline",
             swath_error_message());
    swath_error_clear();
    res.outcome = SWATH_FETCH_FAILED;
    res.reason = reason;
  }
  on_fetched(&res, tag);
}

/* swath_source_request_fn: submit one request of a leaf, once. */
static void submit_request(void *ud, const swath_fetch_req *r) {
  walk_submit *ws = ud;
  walk *w = ws->w;
  if (ws->rc) return;
  uint64_t h = swath_fnv1a_str(r->dest ? r->dest : r->url) | 1; /* 0 marks a free slot */
  uint64_t *slot = &w->seen[h % SEEN_SLOTS];
  if (*slot == h) return;
  *slot = h;
  walk_tag *tag = malloc(sizeof *tag);
  if (!tag) {
    ws->rc = swath_error_set(SWATH_ENOMEM, "out of memory");
    return;
  }
  *tag = (walk_tag){w, ws->seq, ws->input, r->expect_width, r->expect_height, r->kinds};
  if (w->rc->offline[ws->input]) {
    pthread_mutex_lock(&w->mu);
    w->requests++;
    pthread_mutex_unlock(&w->mu);
    offline_request(r, tag);
    return;
  }
  swath_fetch_req fr = *r;
  fr.cb = on_fetched;
  fr.user = tag;
  /* What prefetch reports as cached must be what a download would have
   * cached: a damaged file is fetched again (a run heals one when it fails
   * to decode it). */
  if (w->prefetch) fr.flags |= SWATH_FETCH_VERIFY;
  if ((ws->rc = swath_fetch_submit(w->rc->fetchers[ws->input], &fr))) {
    free(tag);
    return;
  }
  pthread_mutex_lock(&w->mu);
  w->requests++;
  pthread_mutex_unlock(&w->mu);
}

/* Submit (or count) the requests of one leaf for every remote input. */
static int walk_leaf(walk *w, swath_tile mt, int64_t seq) {
  run_ctx *rc = w->rc;
  swath_read_req req = swath__leaf_req(rc, mt);
  for (int i = 0; i < rc->job->ninputs; i++) {
    /* (a run's fetch stage leaves offline inputs to the compute stage) */
    if (!rc->fetchers[i] && !(rc->offline[i] && w->prefetch)) continue;
    walk_submit ws = {w, i, seq, 0};
    int r = rc->src_vt[i]->requests(w->src[i], &req, submit_request, &ws);
    if (r == SWATH_EEMPTY) continue;
    if (r || ws.rc) return r ? r : ws.rc;
  }
  return 0;
}

/* Next task of the walker's own plan: leaves are handed back as empty and
 * overviews released at once, so the walk never waits and holds no pixels. */
static int walk_next(walk *w, swath_task *t) {
  if (!swath_plan_next(w->plan, t)) return 0;
  swath_plan_report(w->plan, t->parent, t->quadrant, SWATH_CHILD_EMPTY);
  if (t->node) swath_plan_release(w->plan, t->node);
  return 1;
}

void swath__walk_free(walk *w) {
  for (int i = 0; w->src && i < w->rc->job->ninputs; i++)
    if (w->src[i]) w->rc->src_vt[i]->close(w->src[i]);
  free(w->src);
  free(w->seen);
  swath_plan_free(w->plan);
  pthread_mutex_destroy(&w->mu);
}

/* Handles of the remote inputs for the walker's thread, and a plan over
 * `store` (NULL: every task). */
int swath__walk_init(walk *w, run_ctx *rc, const swath_area *area, int overviews,
                     const swath_store_vtable *store, void *store_state) {
  memset(w, 0, sizeof *w);
  w->rc = rc;
  pthread_mutex_init(&w->mu, NULL);
  w->src = calloc((size_t)rc->job->ninputs, sizeof *w->src);
  w->seen = calloc(SEEN_SLOTS, sizeof *w->seen);
  if (!w->src || !w->seen) return swath_error_set(SWATH_ENOMEM, "out of memory");
  int r = 0;
  for (int i = 0; i < rc->job->ninputs && !r; i++) {
    if (!rc->fetchers[i] && !rc->offline[i]) continue;
    swath_source_info si;
    r = rc->src_vt[i]->open(&rc->specs[i], rc->g, &si, &w->src[i]);
  }
  if (!r) r = swath__plan_new(rc, area, overviews, store, store_state, &w->plan);
  return r;
}

/* The run's view of the store for the fetch stage's plan: it skips what is
 * done but records nothing. Called under rc->lock, like every store call. */
static int ro_get(void *st, swath_tile t, enum swath_task_state *out, unsigned char *covered,
                  int n) {
  run_ctx *rc = st;
  return rc->store->get(rc->store_state, t, out, covered, n);
}
static int ro_mark(void *st, swath_tile t, enum swath_task_state s, const char *msg,
                   const swath_tile_range *tiles, const unsigned char *covered, int n) {
  (void)st, (void)t, (void)s, (void)msg, (void)tiles, (void)covered, (void)n;
  return 0;
}
static const swath_store_vtable ro_store = {.name = "read-only", .get = ro_get, .mark = ro_mark};

/* The fetch stage of a run: stay ahead of the compute stage, within bounds. */
static void *fetch_main(void *arg) {
  walk *w = arg;
  run_ctx *rc = w->rc;
  for (;;) {
    swath_task t;
    pthread_mutex_lock(&rc->lock);
    while (!rc->stop && !swath__stopping(rc) &&
           (rc->fetch_seq - rc->compute_seq >= FETCH_AHEAD_TASKS ||
            rc->ahead_bytes > FETCH_AHEAD_BYTES))
      pthread_cond_wait(&rc->cond, &rc->lock);
    int got = !rc->stop && !swath__stopping(rc) && walk_next(w, &t);
    int64_t seq = got && t.kind == SWATH_TASK_LEAF ? ++rc->fetch_seq : 0;
    pthread_mutex_unlock(&rc->lock);
    if (!got) break;
    if (t.kind == SWATH_TASK_LEAF && walk_leaf(w, t.mt, seq)) {
      /* The compute stage reads through the same sources and reports it. */
      swath_warn("fetch stage stopped: %s", swath_error_message());
      break;
    }
  }
  return NULL;
}

int swath__fetch_stage_start(swath__fetch_stage *fs, run_ctx *rc, const swath_area *area,
                             int overviews, int redo) {
  memset(fs, 0, sizeof *fs);
  for (int i = 0; i < rc->job->ninputs; i++)
    fs->online |= rc->fetchers[i] != NULL;
  if (!fs->online) return 0;
  int r = swath__walk_init(&fs->w, rc, area, overviews, &ro_store, rc);
  if (r) return r;
  if (redo) swath_plan_redo(fs->w.plan);
  fs->running = pthread_create(&fs->thread, NULL, fetch_main, &fs->w) == 0;
  return 0;
}

int swath__fetch_stage_stop(swath__fetch_stage *fs, run_ctx *rc, swath_fetch_stats *stats) {
  int counted = fs->running;
  if (fs->running) {
    pthread_mutex_lock(&rc->lock);
    rc->stop = 1;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
    swath__fetch_totals(rc, stats); /* before the cancel counts aborts */
    swath__fetch_cancel_all(rc, "the run is over");
    pthread_join(fs->thread, NULL);
    fs->running = 0;
  }
  if (fs->online) swath__walk_free(&fs->w);
  fs->online = 0;
  return counted;
}

/* Sum of the fetchers' counters. */
void swath__fetch_totals(const run_ctx *rc, swath_fetch_stats *sum) {
  memset(sum, 0, sizeof *sum);
  for (int i = 0; rc->fetchers && i < rc->job->ninputs; i++) {
    if (!rc->fetchers[i]) continue;
    swath_fetch_stats st;
    swath_fetch_stats_get(rc->fetchers[i], &st);
    sum->submitted += st.submitted;
    sum->fetched += st.fetched;
    sum->cached += st.cached;
    sum->empty += st.empty;
    sum->failed += st.failed;
    sum->aborted += st.aborted;
    sum->coalesced += st.coalesced;
    sum->cache_invalid += st.cache_invalid;
    sum->requests += st.requests;
    sum->retries += st.retries;
    sum->bytes += st.bytes;
    if (st.busy_seconds > sum->busy_seconds) sum->busy_seconds = st.busy_seconds;
    sum->budget_exhausted |= st.budget_exhausted;
  }
}

/* Replay one line of a failure list: input, URL, path, width, height, kinds. */
static int replay_line(walk *w, char *line) {
  char *f[7], *save = NULL;
  int n = 0;
  line[strcspn(line, "\n")] = 0;
  for (char *t = strtok_r(line, "\t", &save); t && n < 7; t = strtok_r(NULL, "\t", &save))
    f[n++] = t;
  if (n < 6) return 0; /* not one of ours: ignore */
  int input = -1;
  for (int i = 0; i < w->rc->job->ninputs; i++)
    if (strcmp(w->rc->job->inputs[i].name, f[0]) == 0 && (w->rc->fetchers[i] || w->rc->offline[i]))
      input = i;
  if (input < 0) return 0; /* the job changed: that input is gone */
  /* The list holds URLs with their secrets redacted: the job's (current)
   * values go back in. */
  swath_secrets sec;
  char *url = NULL;
  int rc = swath_secrets_collect(w->rc->job->inputs[input].cfg, &sec);
  if (!rc) {
    rc = swath_secrets_restore(&sec, f[1], &url);
    swath_secrets_free(&sec);
  }
  if (rc)
    return swath_error_set(rc, "input %s: cannot replay %s: %s", f[0], f[1], swath_error_message());
  swath_fetch_req r = {.url = url,
                       .dest = *f[2] ? f[2] : NULL,
                       .expect_width = atoi(f[3]),
                       .expect_height = atoi(f[4]),
                       .kinds = (unsigned)strtoul(f[5], NULL, 10)};
  walk_submit ws = {w, input, 0, 0};
  submit_request(&ws, &r);
  free(url);
  return ws.rc;
}

void *swath__prefetch_main(void *arg) {
  prefetch_feed *pf = arg;
  walk *w = pf->w;
  if (pf->replay) {
    char line[16384];
    while (!pf->rc && !swath__interrupted && fgets(line, sizeof line, pf->replay))
      pf->rc = replay_line(w, line);
  } else {
    swath_task t;
    while (!pf->rc && !swath__interrupted && walk_next(w, &t)) {
      if (t.kind != SWATH_TASK_LEAF) continue;
      pf->rc = walk_leaf(w, t.mt, 0);
      pthread_mutex_lock(&w->mu);
      w->leaves++;
      pthread_mutex_unlock(&w->mu);
    }
  }
  if (pf->rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", swath_error_message());
    swath_error_set(pf->rc, "%s", msg);
  }
  pthread_mutex_lock(&w->mu);
  w->fed = 1;
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* model_bench.c: see model_bench.h.
 *
 * The threads share one counter of batches started (under `lock`) and one
 * start time: the clock starts when every thread has warmed its instance,
 * so the figure is the steady state a long run sees, and stops when the
 * last thread is done. A thread takes a new batch only while the time (or
 * the batch count) is not used up, so the wall time overshoots by at most
 * one batch per thread. */
#include "infer/model_bench.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/progress.h"
#include "infer/model_io.h"

typedef struct bench {
  swath_model *m;
  const swath_tensor *chips;
  swath_model_bench_opts o;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int warm;             /* threads done warming up */
  double t0;            /* set by the last thread to warm up */
  int64_t taken;        /* batches started after the warm-up */
  swath_model_stats s0; /* the model's figures at t0: the warm-ups are left out */
  int rc;               /* the first error */
} bench;

typedef struct worker {
  bench *b;
  int index;
  pthread_t th;
} worker;

/* Batch k: a window of `batch` chips in the pool, no copy. Windows step by
 * the batch and wrap, so every chip is used when the pool is large. */
static void window(const bench *b, int64_t k, swath_tensor *t) {
  const swath_tensor *c = b->chips;
  int64_t n = c->shape[0], B = b->o.batch, starts = n - B + 1;
  size_t per = (size_t)c->shape[1] * c->shape[2] * c->shape[3];
  *t = *c;
  t->shape[0] = B;
  t->data = c->data + (size_t)((k * B) % starts) * per;
}

static int run_one(bench *b, int64_t k) {
  swath_tensor in, out[SWATH_MODEL_MAX_OUTPUTS];
  window(b, k, &in);
  int rc = swath_model_run(b->m, &in, out);
  if (!rc)
    for (int i = 0; i < swath_model_get_info(b->m)->noutputs; i++)
      swath_tensor_free(&out[i]);
  return rc;
}

static void fail(bench *b, int rc) {
  pthread_mutex_lock(&b->lock);
  if (!b->rc) b->rc = rc;
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  bench *b = w->b;
  int rc = run_one(b, w->index); /* warm-up, untimed */
  pthread_mutex_lock(&b->lock);
  if (rc && !b->rc) b->rc = rc;
  if (++b->warm == b->o.workers) {
    swath_model_stats_get(b->m, &b->s0); /* every warm-up has been counted */
    b->t0 = swath_now();
    pthread_cond_broadcast(&b->cond);
  }
  while (b->warm < b->o.workers && !b->rc)
    pthread_cond_wait(&b->cond, &b->lock);
  pthread_mutex_unlock(&b->lock);
  for (;;) {
    pthread_mutex_lock(&b->lock);
    int go = !b->rc && swath_now() - b->t0 < b->o.seconds &&
             (b->o.batches <= 0 || b->taken < b->o.batches);
    int64_t k = b->taken;
    if (go) b->taken++;
    pthread_mutex_unlock(&b->lock);
    if (!go) break;
    if ((rc = run_one(b, k))) {
      fail(b, rc);
      break;
    }
  }
  return NULL;
}

int swath_model_bench(swath_model *m, const swath_tensor *chips, const swath_model_bench_opts *o,
                      swath_model_bench_result *res) {
  memset(res, 0, sizeof *res);
  if (!chips || chips->ndim != 4 || o->batch < 1 || chips->shape[0] < o->batch)
    return swath_error_set(SWATH_EINVAL,
                           "model bench: a batch of %d needs at least as many chips "
                           "(have %lld)",
                           o->batch, chips && chips->ndim == 4 ? (long long)chips->shape[0] : 0LL);
  if (o->workers < 1 || o->workers > 256)
    return swath_error_set(SWATH_EINVAL, "model bench: workers %d is not in 1-256", o->workers);
  if (!(o->seconds > 0))
    return swath_error_set(SWATH_EINVAL, "model bench: seconds must be more than 0");
  bench b = {.m = m, .chips = chips, .o = *o};
  pthread_mutex_init(&b.lock, NULL);
  pthread_cond_init(&b.cond, NULL);
  worker *w = calloc((size_t)o->workers, sizeof *w);
  int started = 0, rc = 0;
  if (!w) rc = swath_error_set(SWATH_ENOMEM, "model bench: out of memory");
  swath_model_stats s1;
  for (int i = 0; !rc && i < o->workers; i++) {
    w[i] = (worker){&b, i, 0};
    if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
      rc = swath_error_set(SWATH_EIO, "model bench: cannot start a thread");
      fail(&b, rc);
    } else {
      started++;
    }
  }
  for (int i = 0; i < started; i++)
    pthread_join(w[i].th, NULL);
  double t1 = swath_now();
  swath_model_stats_get(m, &s1);
  if (!rc) rc = b.rc;
  if (!rc) {
    res->wall_s = t1 - b.t0;
    res->chips = s1.chips - b.s0.chips;
    res->batches = s1.runs - b.s0.runs;
    res->busy_s = s1.busy_s - b.s0.busy_s;
    res->instances = s1.instances;
  }
  free(w);
  pthread_mutex_destroy(&b.lock);
  pthread_cond_destroy(&b.cond);
  return rc;
}

int swath_model_bench_chips(const char *path, int64_t n, int c, int h, int w, swath_tensor *out) {
  out->data = NULL;
  out->ndim = 0;
  if (c < 1 || h < 1 || w < 1)
    return swath_error_set(SWATH_EINVAL, "model bench: the chips' shape (C x H x W) is unknown: "
                                         "the model leaves it open");
  int64_t per = (int64_t)c * h * w;
  if (path) {
    struct stat st;
    if (stat(path, &st) != 0)
      return swath_error_set(SWATH_EINVAL, "--chips '%s': cannot read it", path);
    if (st.st_size == 0 || st.st_size % (per * 4) != 0)
      return swath_error_set(SWATH_EINVAL,
                             "--chips '%s': %lld bytes is not a whole number of %d x %d x %d "
                             "float32 chips (%lld bytes each)",
                             path, (long long)st.st_size, c, h, w, (long long)(per * 4));
    int64_t shape[4] = {st.st_size / (per * 4), c, h, w};
    return swath_tensor_read_f32(path, 4, shape, out);
  }
  if (n < 1 || n > (1 << 20))
    return swath_error_set(SWATH_EINVAL, "--random: %lld chips is not in 1-1048576", (long long)n);
  int64_t shape[4] = {n, c, h, w};
  int rc = swath_tensor_alloc(out, 4, shape);
  if (rc) return rc;
  uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift64: fixed values, no global state */
  for (size_t i = 0, cnt = swath_tensor_count(out); i < cnt; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out->data[i] = (float)((double)(x >> 11) / 9007199254740992.0 * 4.0 - 2.0);
  }
  return 0;
}

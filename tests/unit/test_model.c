/* test_model.c: model.c's registry, instance pool, input checks and
 * counters, around a fake runtime registered from here (no model file).
 *
 * The fake runtime records how many threads are inside run() at once and
 * whether one state is ever used by two threads at the same time; its
 * run() can wait until a given number of threads are inside together, so
 * a pool that handed out one state (or serialised callers) shows as a
 * timeout rather than as a lucky pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "infer/model.h"

typedef struct fake_state {
  int id;
  atomic_int users;
} fake_state;

static atomic_int g_opens, g_closes, g_inside, g_max_inside, g_shared, g_runs;
static int g_wait_for;             /* run() waits until this many are inside at once (0: no wait) */
static int g_fail_open_after = -1; /* opens after this many fail (-1: none) */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;

static void reset(int wait_for) {
  g_opens = g_closes = g_inside = g_max_inside = g_shared = g_runs = 0;
  g_wait_for = wait_for;
  g_fail_open_after = -1;
}

static int fake_open(const swath_model_spec *spec, void **state) {
  if (spec->name && !strcmp(spec->name, "broken"))
    return swath_error_set(SWATH_EINVAL, "model 'broken': cannot load it");
  int n = atomic_fetch_add(&g_opens, 1);
  if (g_fail_open_after >= 0 && n >= g_fail_open_after) {
    atomic_fetch_sub(&g_opens, 1);
    return swath_error_set(SWATH_EINVAL, "model 'fake': open %d failed", n);
  }
  fake_state *s = calloc(1, sizeof *s);
  s->id = n;
  *state = s;
  return 0;
}

static void fake_info(void *state, swath_model_info *out) {
  (void)state;
  memset(out, 0, sizeof *out);
  strcpy(out->runtime, "fake");
  strcpy(out->name, "fake");
  strcpy(out->input.name, "x");
  out->input.ndim = 4;
  int64_t in[4] = {-1, 3, 8, 8};
  memcpy(out->input.shape, in, sizeof in);
  out->noutputs = 1;
  strcpy(out->outputs[0].name, "y");
  out->outputs[0].ndim = 2;
  out->outputs[0].shape[0] = -1;
  out->outputs[0].shape[1] = 1;
  out->max_batch = 4;
}

static void note_inside(void) {
  int now = atomic_fetch_add(&g_inside, 1) + 1;
  int max = atomic_load(&g_max_inside);
  while (now > max && !atomic_compare_exchange_weak(&g_max_inside, &max, now)) {
  }
}

/* Wait (at most 2 s) until g_wait_for threads have been inside at once. */
static void wait_together(void) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 2;
  pthread_mutex_lock(&g_lock);
  pthread_cond_broadcast(&g_cond);
  while (atomic_load(&g_max_inside) < g_wait_for)
    if (pthread_cond_timedwait(&g_cond, &g_lock, &until)) break;
  pthread_mutex_unlock(&g_lock);
}

static int fake_run(void *state, const swath_tensor *in, swath_tensor *out) {
  fake_state *s = state;
  if (atomic_fetch_add(&s->users, 1) != 0) atomic_fetch_add(&g_shared, 1);
  note_inside();
  if (g_wait_for) wait_together();
  struct timespec nap = {0, 2000000};
  nanosleep(&nap, NULL);
  int64_t shape[2] = {in->shape[0], 1};
  int rc = swath_tensor_alloc(&out[0], 2, shape);
  for (int64_t i = 0; !rc && i < in->shape[0]; i++)
    out[0].data[i] = (float)s->id;
  atomic_fetch_sub(&g_inside, 1);
  atomic_fetch_sub(&s->users, 1);
  atomic_fetch_add(&g_runs, 1);
  return rc;
}

static void fake_close(void *state) {
  atomic_fetch_add(&g_closes, 1);
  free(state);
}

static const swath_model_vtable fake_vt = {"fake",    SWATH_MODEL_ABI, 0,         fake_open,
                                           fake_info, fake_run,        fake_close};
static const swath_model_vtable fake_conc_vt = {"fakeconc", SWATH_MODEL_ABI, 1,         fake_open,
                                                fake_info,  fake_run,        fake_close};

static int setup(void **st) {
  (void)st;
  return swath_model_register(&fake_vt) || swath_model_register(&fake_conc_vt);
}

static void registry(void **st) {
  (void)st;
  const swath_model_vtable *vt;
  assert_int_equal(swath_model_find("onnx", &vt), 0);
  assert_ptr_equal(vt, &swath_model_onnx);
  assert_int_equal(swath_model_find("fake", &vt), 0);
  assert_ptr_equal(vt, &fake_vt);
  assert_int_equal(swath_model_find("kserve", &vt), 0);
  assert_ptr_equal(vt, &swath_model_kserve);
  assert_int_equal(swath_model_find("tfserving", &vt), 0);
  assert_ptr_equal(vt, &swath_model_tfserving);
  assert_int_equal(swath_model_find("nope", &vt), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "unknown model runtime 'nope'"));
  assert_int_equal(swath_model_register(&fake_vt), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "registered already"));
  swath_model_vtable other = fake_vt;
  other.name = "fake2";
  other.abi_version = SWATH_MODEL_ABI + 1;
  assert_int_equal(swath_model_register(&other), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "ABI"));
  other.abi_version = SWATH_MODEL_ABI;
  other.run = NULL;
  assert_int_equal(swath_model_register(&other), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "lacks open, info, run or close"));
}

static void type_defaults(void **st) {
  (void)st;
  swath_model *m = NULL;
  /* A path alone means onnx: the onnx runtime's message, not "no type". */
  swath_model_spec spec = {.path = "/nonexistent/m.onnx"};
  assert_int_equal(swath_model_open(&spec, 1, &m), SWATH_EINVAL);
  assert_null(m);
  assert_string_equal(swath_error_message(),
                      "model '/nonexistent/m.onnx': cannot read: No such file or directory");
  swath_model_spec none = {0};
  assert_int_equal(swath_model_open(&none, 1, &m), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "no model given"));
  swath_model_spec url = {.url = "http://gpu:8000"};
  assert_int_equal(swath_model_open(&url, 1, &m), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "needs a type"));
  reset(0);
  swath_model_spec broken = {.type = "fake", .name = "broken"};
  assert_int_equal(swath_model_open(&broken, 2, &m), SWATH_EINVAL);
  assert_string_equal(swath_error_message(), "model 'broken': cannot load it");
}

static void chips(swath_tensor *t, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t shape[4] = {n, c, h, w};
  assert_int_equal(swath_tensor_alloc(t, 4, shape), 0);
  memset(t->data, 0, swath_tensor_count(t) * sizeof(float));
}

static void input_checks(void **st) {
  (void)st;
  reset(0);
  swath_model_spec spec = {.type = "fake", .name = "m"};
  swath_model *m;
  assert_int_equal(swath_model_open(&spec, 1, &m), 0);
  assert_int_equal(g_opens, 1); /* the first state is opened at once */
  swath_tensor in, out[SWATH_MODEL_MAX_OUTPUTS];
  chips(&in, 2, 4, 8, 8);
  assert_int_equal(swath_model_run(m, &in, out), SWATH_EINVAL);
  assert_non_null(
      strstr(swath_error_message(), "chips of 4 x 8 x 8 (C x H x W); input 'x' takes 3 x 8 x 8"));
  swath_tensor_free(&in);
  chips(&in, 2, 3, 8, 9);
  assert_int_equal(swath_model_run(m, &in, out), SWATH_EINVAL);
  swath_tensor_free(&in);
  chips(&in, 5, 3, 8, 8);
  assert_int_equal(swath_model_run(m, &in, out), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "a batch of 5 chips; it takes at most 4"));
  swath_tensor_free(&in);
  int64_t three[3] = {3, 8, 8};
  assert_int_equal(swath_tensor_alloc(&in, 3, three), 0);
  assert_int_equal(swath_model_run(m, &in, out), SWATH_EINVAL);
  swath_tensor_free(&in);
  assert_int_equal(g_runs, 0); /* none reached the runtime */
  chips(&in, 4, 3, 8, 8);
  assert_int_equal(swath_model_run(m, &in, out), 0);
  assert_int_equal(out[0].ndim, 2);
  assert_int_equal(out[0].shape[0], 4);
  swath_tensor_free(&out[0]);
  swath_tensor_free(&in);
  swath_model_stats s;
  swath_model_stats_get(m, &s);
  assert_int_equal(s.runs, 1);
  assert_int_equal(s.chips, 4);
  assert_int_equal(s.instances, 1);
  assert_true(s.busy_s >= 0.002);
  swath_model_close(m);
  assert_int_equal(g_closes, 1);
  /* The job's chip against the declared input: refused at open. */
  swath_model_spec wrong = {.type = "fake", .name = "m", .input_channels = 3, .input_height = 16};
  assert_int_equal(swath_model_open(&wrong, 1, &m), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(),
                         "takes 3 x 8 x 8 (C x H x W); the job feeds chip height (H) 16"));
  assert_int_equal(g_closes, 2); /* the state opened for the check is closed */
}

struct worker {
  swath_model *m;
  int runs, batch, rc;
};

static void *worker_main(void *p) {
  struct worker *w = p;
  for (int i = 0; i < w->runs && !w->rc; i++) {
    swath_tensor in, out[SWATH_MODEL_MAX_OUTPUTS];
    chips(&in, w->batch, 3, 8, 8);
    w->rc = swath_model_run(w->m, &in, out);
    if (!w->rc) swath_tensor_free(&out[0]);
    swath_tensor_free(&in);
  }
  return NULL;
}

/* nthreads threads, runs each, against a model of max_instances. */
static void hammer(const char *type, int max_instances, int nthreads, int runs, int wait_for,
                   swath_model_stats *s) {
  reset(wait_for);
  swath_model_spec spec = {.type = type, .name = "m"};
  swath_model *m;
  assert_int_equal(swath_model_open(&spec, max_instances, &m), 0);
  pthread_t th[8];
  struct worker w[8];
  for (int i = 0; i < nthreads; i++) {
    w[i] = (struct worker){m, runs, 1 + i % 4, 0};
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  }
  int64_t chips_sum = 0;
  for (int i = 0; i < nthreads; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].rc, 0);
    chips_sum += (int64_t)runs * w[i].batch;
  }
  swath_model_stats_get(m, s);
  assert_int_equal(s->runs, (int64_t)nthreads * runs);
  assert_int_equal(s->chips, chips_sum);
  assert_int_equal(g_opens, s->instances);
  swath_model_close(m);
  assert_int_equal(g_closes, g_opens);
}

static void pool_distinct_states(void **st) {
  (void)st;
  swath_model_stats s;
  /* 3 threads must be inside run() together: only distinct states allow it. */
  hammer("fake", 3, 3, 1, 3, &s);
  assert_int_equal(g_max_inside, 3);
  assert_int_equal(s.instances, 3);
  assert_int_equal(g_shared, 0);
  /* busy time is summed over threads: 3 overlapping runs of >= 2 ms each */
  assert_true(s.busy_s >= 0.006);
}

static void pool_max_instances(void **st) {
  (void)st;
  swath_model_stats s;
  hammer("fake", 2, 6, 10, 0, &s);
  assert_true(g_max_inside <= 2);
  assert_true(s.instances >= 1 && s.instances <= 2);
  assert_int_equal(g_shared, 0);
  hammer("fake", 0, 4, 5, 0, &s); /* 0 means one */
  assert_int_equal(s.instances, 1);
  assert_int_equal(g_max_inside, 1);
}

static void concurrent_runtime_one_state(void **st) {
  (void)st;
  swath_model_stats s;
  hammer("fakeconc", 8, 3, 1, 3, &s);
  assert_int_equal(s.instances, 1);
  assert_int_equal(g_opens, 1);
  assert_int_equal(g_max_inside, 3); /* one state, used by all at once */
}

static void lazy_open_failure(void **st) {
  (void)st;
  reset(2);
  g_fail_open_after = 1; /* the second state cannot be opened */
  swath_model_spec spec = {.type = "fake", .name = "m"};
  swath_model *m;
  assert_int_equal(swath_model_open(&spec, 2, &m), 0);
  pthread_t th[2];
  struct worker w[2] = {{m, 1, 1, 0}, {m, 1, 1, 0}};
  for (int i = 0; i < 2; i++)
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  /* One ran on the first state (waiting in run() for the other); the
   * other could not open a second state and got the runtime's error. */
  assert_true((w[0].rc == 0) != (w[1].rc == 0));
  assert_int_equal(w[0].rc + w[1].rc, SWATH_EINVAL);
  swath_model_stats s;
  swath_model_stats_get(m, &s);
  assert_int_equal(s.instances, 1);
  swath_model_close(m);
  assert_int_equal(g_closes, 1);
}

static void tensors(void **st) {
  (void)st;
  swath_tensor t;
  int64_t shape[3] = {2, 3, 4};
  assert_int_equal(swath_tensor_alloc(&t, 3, shape), 0);
  assert_int_equal(swath_tensor_count(&t), 24);
  swath_tensor_free(&t);
  assert_null(t.data);
  swath_tensor_free(&t); /* twice is harmless */
  int64_t bad[1] = {-2};
  assert_int_equal(swath_tensor_alloc(&t, 1, bad), SWATH_EINVAL);
  assert_int_equal(swath_tensor_alloc(&t, SWATH_TENSOR_MAX_DIMS + 1, shape), SWATH_EINVAL);
  int64_t huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
  assert_int_equal(swath_tensor_alloc(&t, 2, huge), SWATH_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(registry),           cmocka_unit_test(type_defaults),
      cmocka_unit_test(input_checks),       cmocka_unit_test(pool_distinct_states),
      cmocka_unit_test(pool_max_instances), cmocka_unit_test(concurrent_runtime_one_state),
      cmocka_unit_test(lazy_open_failure),  cmocka_unit_test(tensors),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

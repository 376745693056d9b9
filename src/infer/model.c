/* model.c: the runtime registry and the model wrapper every runtime shares
 * (model.h).
 *
 * The registry is a start-up table (core/registry.h): the built-ins are
 * added on first use from the `builtins` list below, others with
 * swath_model_register before any thread looks one up.
 *
 * The wrapper keeps a pool of states for a runtime that is not
 * `concurrent`: a state is used by one thread at a time. States are opened
 * lazily, up to max_instances, the first in swath_model_open so that a
 * model that cannot be loaded fails before any tile; a caller that finds
 * every state busy and the pool full waits on `freed`. With max_instances
 * equal to the run's workers no worker ever waits, and each holds its own
 * state for the length of a run() call. A concurrent runtime has one
 * state, used by every thread at once, and no lock around run().
 *
 * Invariants (under `lock`): nopen + nopening <= max; busy[i] only for
 * i < nopen; the stats are summed after each run(), whatever its result. */
#include "infer/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/registry.h"

/* ---- tensors ---- */

size_t swath_tensor_count(const swath_tensor *t) {
  size_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= (size_t)(t->shape[i] > 0 ? t->shape[i] : 0);
  return n;
}

int swath_tensor_alloc(swath_tensor *t, int ndim, const int64_t *shape) {
  t->data = NULL;
  t->ndim = 0;
  if (ndim < 0 || ndim > SWATH_TENSOR_MAX_DIMS)
    return swath_error_set(SWATH_EINVAL, "tensor: %d dimensions (at most %d)", ndim,
                           SWATH_TENSOR_MAX_DIMS);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] > 0 && n > SIZE_MAX / sizeof(float) / (size_t)shape[i]))
      return swath_error_set(SWATH_EINVAL, "tensor: dimension %d of %lld is out of range", i,
                             (long long)shape[i]);
    n *= (size_t)shape[i];
    t->shape[i] = shape[i];
  }
  t->ndim = ndim;
  t->data = malloc(n ? n * sizeof(float) : sizeof(float));
  if (!t->data) {
    t->ndim = 0;
    return swath_error_set(SWATH_ENOMEM, "tensor: cannot allocate %zu floats", n);
  }
  return 0;
}

void swath_tensor_free(swath_tensor *t) {
  if (!t) return;
  free(t->data);
  t->data = NULL;
  t->ndim = 0;
}

/* ---- registry ---- */

/* The built-in runtimes, registered on first use. */
static const swath_model_vtable *const builtins[] = {
    &swath_model_onnx,
    &swath_model_kserve,
    &swath_model_tfserving,
};

/* Names of runtimes swath knows of that may be missing from a build (or
 * not written yet): they get "not available" rather than "unknown". */
static const char *const planned[] = {"onnx", "kserve", "tfserving"};

static swath_registry g_models = {.what = "model runtime", .abi = SWATH_MODEL_ABI};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void add_builtins(void) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    swath_registry_add(&g_models, builtins[i]->name, builtins[i]->abi_version, builtins[i]);
}

int swath_model_register(const swath_model_vtable *vt) {
  pthread_once(&g_once, add_builtins);
  if (!vt) return swath_error_set(SWATH_EINVAL, "model runtime: no vtable");
  if (vt->abi_version == SWATH_MODEL_ABI && (!vt->open || !vt->info || !vt->run || !vt->close))
    return swath_error_set(SWATH_EINVAL,
                           "model runtime '%s': its vtable lacks open, info, run or close",
                           vt->name ? vt->name : "");
  return swath_registry_add(&g_models, vt->name, vt->abi_version, vt);
}

static void known_names(char *buf, size_t cap) {
  buf[0] = '\0';
  for (int i = 0; i < g_models.n; i++) {
    if (i) strncat(buf, ", ", cap - strlen(buf) - 1);
    strncat(buf, g_models.names[i], cap - strlen(buf) - 1);
  }
}

int swath_model_find(const char *name, const swath_model_vtable **out) {
  pthread_once(&g_once, add_builtins);
  const void *vt = NULL;
  *out = NULL;
  if (name && swath_registry_find(&g_models, name, &vt) == 0) {
    *out = vt;
    return 0;
  }
  char known[256];
  known_names(known, sizeof known);
  for (size_t i = 0; name && i < sizeof planned / sizeof planned[0]; i++)
    if (strcmp(name, planned[i]) == 0)
      return swath_error_set(SWATH_EINVAL,
                             "model runtime '%s' is not available in this build (available: %s)",
                             name, known[0] ? known : "none");
  return swath_error_set(SWATH_EINVAL, "unknown model runtime '%s' (available: %s)",
                         name ? name : "", known[0] ? known : "none");
}

/* ---- the model ---- */

struct swath_model {
  const swath_model_vtable *vt;
  swath_model_spec spec; /* strings owned (copied at open) */
  char *strs[7];
  swath_fetch_config fetch; /* a copy, when the spec had one */
  swath_model_info info;
  pthread_mutex_t lock;
  pthread_cond_t freed;
  int max, nopen, nopening;
  void **states;
  unsigned char *busy;
  swath_model_stats stats;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int copy_spec(swath_model *m, const swath_model_spec *spec, const char *type) {
  m->spec = *spec;
  const char *src[7] = {type,          spec->path,     spec->url,   spec->name,
                        spec->version, spec->protocol, spec->layout};
  const char **dst[7] = {&m->spec.type,    &m->spec.path,     &m->spec.url,   &m->spec.name,
                         &m->spec.version, &m->spec.protocol, &m->spec.layout};
  for (int i = 0; i < 7; i++) {
    m->strs[i] = src[i] ? strdup(src[i]) : NULL;
    if (src[i] && !m->strs[i]) return swath_error_set(SWATH_ENOMEM, "model: out of memory");
    *dst[i] = m->strs[i];
  }
  if (spec->fetch) {
    m->fetch = *spec->fetch;
    m->spec.fetch = &m->fetch;
  }
  return 0;
}

/* The runtime a spec names: its type, or "onnx" for a path alone. */
static int spec_runtime(const swath_model_spec *spec, const char **type) {
  *type = spec->type;
  if (!*type && spec->path) *type = "onnx";
  if (!*type)
    return swath_error_set(SWATH_EINVAL, "model: %s",
                           spec->url ? "a model URL needs a type (kserve or tfserving)"
                                     : "no model given (a .onnx path, or a type and a URL)");
  return 0;
}

static const char *model_label(const swath_model_spec *s) {
  if (s->path) return s->path;
  if (s->name) return s->name;
  return s->url ? s->url : "?";
}

/* What swath feeds (N x C x H x W) against what the spec and the model say. */
static int check_declared(const swath_model *m) {
  const swath_model_info *in = &m->info;
  const char *label = model_label(&m->spec);
  if (in->input.ndim != 4)
    return swath_error_set(SWATH_EINVAL,
                           "model '%s': input '%s' has %d dimensions; swath feeds chips as "
                           "N x C x H x W (4)",
                           label, in->input.name, in->input.ndim);
  if (in->noutputs < 1 || in->noutputs > SWATH_MODEL_MAX_OUTPUTS)
    return swath_error_set(SWATH_EINVAL, "model '%s': %d outputs (swath reads 1 to %d)", label,
                           in->noutputs, SWATH_MODEL_MAX_OUTPUTS);
  const int want[3] = {m->spec.input_channels, m->spec.input_height, m->spec.input_width};
  static const char *const what[3] = {"bands (C)", "chip height (H)", "chip width (W)"};
  for (int i = 0; i < 3; i++) {
    int64_t has = in->input.shape[i + 1];
    if (want[i] > 0 && has > 0 && has != want[i])
      return swath_error_set(SWATH_EINVAL,
                             "model '%s': input '%s' takes %lld x %lld x %lld (C x H x W); the "
                             "job feeds %s %d",
                             label, in->input.name, (long long)in->input.shape[1],
                             (long long)in->input.shape[2], (long long)in->input.shape[3], what[i],
                             want[i]);
  }
  return 0;
}

static void model_free(swath_model *m) {
  if (!m) return;
  for (int i = 0; i < m->nopen; i++)
    m->vt->close(m->states[i]);
  free(m->states);
  free(m->busy);
  for (int i = 0; i < 7; i++)
    free(m->strs[i]);
  pthread_mutex_destroy(&m->lock);
  pthread_cond_destroy(&m->freed);
  free(m);
}

int swath_model_open(const swath_model_spec *spec, int max_instances, swath_model **out) {
  *out = NULL;
  const char *type;
  const swath_model_vtable *vt;
  int rc = spec_runtime(spec, &type);
  if (!rc) rc = swath_model_find(type, &vt);
  if (rc) return rc;
  if (max_instances < 0)
    return swath_error_set(SWATH_EINVAL, "model: max_instances %d (0 or more)", max_instances);
  swath_model *m = calloc(1, sizeof *m);
  if (!m) return swath_error_set(SWATH_ENOMEM, "model: out of memory");
  m->vt = vt;
  m->max = vt->concurrent ? 1 : (max_instances ? max_instances : 1);
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->freed, NULL);
  m->states = calloc((size_t)m->max, sizeof *m->states);
  m->busy = calloc((size_t)m->max, 1);
  rc = (!m->states || !m->busy) ? swath_error_set(SWATH_ENOMEM, "model: out of memory") : 0;
  if (!rc) rc = copy_spec(m, spec, type);
  if (!rc) rc = vt->open(&m->spec, &m->states[0]);
  if (!rc) {
    m->nopen = 1;
    memset(&m->info, 0, sizeof m->info);
    vt->info(m->states[0], &m->info);
    rc = check_declared(m);
  }
  if (rc) {
    model_free(m);
    return rc;
  }
  m->stats.instances = 1;
  *out = m;
  return 0;
}

const swath_model_info *swath_model_get_info(const swath_model *m) { return &m->info; }

/* A state for this caller's exclusive use (its slot in *slot). */
static int acquire(swath_model *m, int *slot) {
  pthread_mutex_lock(&m->lock);
  for (;;) {
    for (int i = 0; i < m->nopen; i++) {
      if (!m->busy[i]) {
        m->busy[i] = 1;
        *slot = i;
        pthread_mutex_unlock(&m->lock);
        return 0;
      }
    }
    if (m->nopen + m->nopening < m->max) break;
    pthread_cond_wait(&m->freed, &m->lock);
  }
  /* Open outside the lock: loading a model takes a while, and the states
   * already open stay usable meanwhile. */
  m->nopening++;
  pthread_mutex_unlock(&m->lock);
  void *st = NULL;
  int rc = m->vt->open(&m->spec, &st);
  pthread_mutex_lock(&m->lock);
  m->nopening--;
  if (!rc) {
    *slot = m->nopen;
    m->states[m->nopen] = st;
    m->busy[m->nopen] = 1;
    m->nopen++;
    m->stats.instances = m->nopen;
  } else {
    pthread_cond_signal(&m->freed); /* a waiter may open in our place */
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

static int check_input(const swath_model *m, const swath_tensor *in) {
  const swath_tensor_info *d = &m->info.input;
  const char *label = model_label(&m->spec);
  if (!in || !in->data || in->ndim != 4)
    return swath_error_set(SWATH_EINVAL, "model '%s': chips must be N x C x H x W (got %d dims)",
                           label, in ? in->ndim : 0);
  if (in->shape[0] < 1)
    return swath_error_set(SWATH_EINVAL, "model '%s': a batch of %lld chips", label,
                           (long long)in->shape[0]);
  for (int i = 1; i < 4; i++)
    if (in->shape[i] < 1 || (d->shape[i] > 0 && in->shape[i] != d->shape[i]))
      return swath_error_set(SWATH_EINVAL,
                             "model '%s': chips of %lld x %lld x %lld (C x H x W); input '%s' "
                             "takes %lld x %lld x %lld (-1: any)",
                             label, (long long)in->shape[1], (long long)in->shape[2],
                             (long long)in->shape[3], d->name, (long long)d->shape[1],
                             (long long)d->shape[2], (long long)d->shape[3]);
  if (m->info.max_batch > 0 && in->shape[0] > m->info.max_batch)
    return swath_error_set(SWATH_EINVAL, "model '%s': a batch of %lld chips; it takes at most %d",
                           label, (long long)in->shape[0], m->info.max_batch);
  return 0;
}

static void dims_text(char *buf, size_t cap, int ndim, const int64_t *shape, int64_t first) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndim && k + 1 < cap; i++) {
    long long d = i == 0 && first > 0 ? first : shape[i];
    int w = d >= 0 ? snprintf(buf + k, cap - k, "%s%lld", i ? " x " : "", d)
                   : snprintf(buf + k, cap - k, "%s?", i ? " x " : "");
    k += w > 0 ? (size_t)w : 0;
  }
  if (k >= cap) buf[cap - 1] = '\0';
}

/* Each output as its declaration says: N first, then every declared size. */
static int check_outputs(const swath_model *m, int64_t n, const swath_tensor *out) {
  for (int i = 0; i < m->info.noutputs; i++) {
    const swath_tensor_info *d = &m->info.outputs[i];
    int ok = out[i].ndim == d->ndim && d->ndim >= 1 && out[i].shape[0] == n;
    for (int k = 1; ok && k < d->ndim; k++)
      ok = d->shape[k] <= 0 || out[i].shape[k] == d->shape[k];
    if (ok) continue;
    char want[160], got[160];
    dims_text(want, sizeof want, d->ndim, d->shape, n);
    dims_text(got, sizeof got, out[i].ndim, out[i].shape, 0);
    return swath_error_set(SWATH_EIO, "model '%s': output '%s' came back %s; it declares %s",
                           model_label(&m->spec), d->name, got[0] ? got : "with no dimensions",
                           want);
  }
  return 0;
}

int swath_model_run(swath_model *m, const swath_tensor *in, swath_tensor *out) {
  int rc = check_input(m, in);
  if (rc) return rc;
  int slot = 0;
  if (!m->vt->concurrent) {
    rc = acquire(m, &slot);
    if (rc) return rc;
  }
  double t0 = now_s();
  rc = m->vt->run(m->states[slot], in, out);
  if (!rc && (rc = check_outputs(m, in->shape[0], out)))
    for (int i = 0; i < m->info.noutputs; i++)
      swath_tensor_free(&out[i]);
  double dt = now_s() - t0;
  pthread_mutex_lock(&m->lock);
  m->stats.busy_s += dt;
  m->stats.runs++;
  m->stats.chips += in->shape[0];
  if (!m->vt->concurrent) {
    m->busy[slot] = 0;
    pthread_cond_signal(&m->freed);
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

void swath_model_stats_get(swath_model *m, swath_model_stats *out) {
  pthread_mutex_lock(&m->lock);
  *out = m->stats;
  pthread_mutex_unlock(&m->lock);
}

int swath_model_in_process(const swath_model *m) { return !m->vt->concurrent; }

void swath_model_close(swath_model *m) { model_free(m); }

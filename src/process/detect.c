/* detect.c: the `detect` process: a model run over chips of imagery, its
 * raw outputs turned into features (boxes, polygons, per-chip scores) that
 * the host keeps in the tile owning them (swath/plugin.h, io/features.h).
 *
 * A process tile runs every chip of the zoom's chip lattice (detect_int.h)
 * that lies wholly inside its buffered block, in batches of `batch`; the
 * pixel buffer (chip size + margin) makes sure every chip that can see an
 * object of the tile, or one competing with it in the suppression, is run.
 * Boxes are suppressed across all chips of the block, then every box goes
 * to the host, which keeps those whose centre is in one of its tiles: each
 * object is reported once, by the same chip, whatever the metatiling.
 *
 * The model is opened once in init (a model that cannot be loaded, or
 * whose input does not match chip and bands, fails there, before any tile),
 * with one instance per worker thread that runs it (infer/model.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "process/detect_int.h"
#include "process/process.h"

typedef struct detect_state {
  detect_cfg c;
  swath_model *model;
  int single_tail; /* a short last batch runs chip by chip (see detect_run) */
  char model_name[256];
  const swath_host *host;
} detect_state;

static const swath_param PARAMS[] = {
    {"model", "path", "", "ONNX model file (or model.type/url/name for a model server)"},
    {"model.type", "string", "", "onnx, kserve or tfserving"},
    {"model.url", "string", "", "model server base URL (kserve, tfserving)"},
    {"model.name", "string", "", "model name on the server"},
    {"model.version", "string", "", "model version on the server"},
    {"model.protocol", "string", "binary", "kserve: binary (tensor extension) or json"},
    {"model.layout", "string", "", "tfserving: nchw or nhwc (default: from the signature)"},
    {"model.path", "path", "", "ONNX model file (same as model:)"},
    {"kind", "string", "detection", "detection, segmentation or classification (docs/models.md)"},
    {"chip.size", "integer", "256", "model input size, pixels"},
    {"chip.overlap", "integer", "32", "overlap between neighbouring chips, pixels"},
    {"bands", "string", "1,2,3", "bands of the first input fed to the model, in order"},
    {"normalize.scale", "number", "0.00392156862745098", "pixel * scale ..."},
    {"normalize.mean", "string", "", "... - mean (one per band) ..."},
    {"normalize.std", "string", "", "... / std (one per band)"},
    {"classes", "string", "object", "class names, in the model's output order"},
    {"min_score", "number", "0.05", "scores below are not kept (exports choose their own)"},
    {"nms_iou", "number", "0.5", "detection: IoU above which the weaker box is suppressed"},
    {"edge", "integer", "2", "detection: boxes this close to a chip edge are cut: dropped"},
    {"margin", "integer", "-1", "pixels around a tile in its suppression (-1: the overlap)"},
    {"mask_threshold", "number", "0.5", "segmentation: probability of a mask pixel"},
    {"simplify", "number", "1", "segmentation: polygon simplification tolerance, pixels"},
    {"batch", "integer", "8", "chips per model call"},
    {"threads", "integer", "1", "threads per model instance (in-process runtime)"},
    {NULL, NULL, NULL, NULL}};

static double num(const swath_host *h, const swath_params *p, const char *k) {
  return strtod(h->param(p, k), NULL);
}

/* "a,b,c" into v (at most max); the count, or -1 if one is not a number. */
static int numbers(const char *s, double *v, int max) {
  int n = 0;
  while (s && *s) {
    char *end;
    double d = strtod(s, &end);
    if (end == s || !isfinite(d) || n == max) return -1;
    v[n++] = d;
    while (*end == ' ')
      end++;
    if (*end && *end != ',') return -1;
    s = *end ? end + 1 : end;
  }
  return n;
}

static int parse_bands(const swath_host *h, detect_cfg *c, const char *s, int have) {
  double v[DETECT_MAX_BANDS + 1];
  int n = numbers(s, v, DETECT_MAX_BANDS + 1);
  if (n <= 0 || n > DETECT_MAX_BANDS)
    return h->error(SWATH_PLUGIN_EINVAL,
                    "process detect: params.bands: '%s' is not a list of 1 to "
                    "%d band numbers",
                    s, DETECT_MAX_BANDS);
  for (int i = 0; i < n; i++) {
    if (v[i] != floor(v[i]) || v[i] < 1 || v[i] > have)
      return h->error(SWATH_PLUGIN_EINVAL,
                      "process detect: params.bands: band %g, but the input "
                      "has %d band(s)",
                      v[i], have);
    c->bands[i] = (int)v[i] - 1;
  }
  c->nbands = n;
  return 0;
}

static int parse_norm(const swath_host *h, const swath_params *p, const char *key, double *v,
                      int nb, double dflt) {
  const char *s = h->param(p, key);
  for (int i = 0; i < nb; i++)
    v[i] = dflt;
  if (!s || !*s) return 0;
  int n = numbers(s, v, DETECT_MAX_BANDS);
  if (n != nb)
    return h->error(SWATH_PLUGIN_EINVAL,
                    "process detect: params.%s: %s values for %d band(s): "
                    "'%s'",
                    key, n < 0 ? "not a list of" : "wrong number of", nb, s);
  for (int i = 0; i < nb && strcmp(key, "normalize.std") == 0; i++)
    if (v[i] == 0) return h->error(SWATH_PLUGIN_EINVAL, "process detect: params.normalize.std: 0");
  return 0;
}

static int parse_classes(const swath_host *h, detect_cfg *c, const char *s) {
  char *copy = strdup(s), *save = NULL;
  if (!copy) return h->error(SWATH_PLUGIN_EIO, "out of memory");
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ')
      t++;
    if (!*t || c->nclasses == DETECT_MAX_CLASSES) {
      free(copy);
      return h->error(SWATH_PLUGIN_EINVAL,
                      "process detect: params.classes: '%s' is not a list "
                      "of 1 to %d names",
                      s, DETECT_MAX_CLASSES);
    }
    c->classes[c->nclasses++] = strdup(t);
  }
  free(copy);
  if (!c->nclasses) return h->error(SWATH_PLUGIN_EINVAL, "process detect: params.classes: empty");
  return 0;
}

static int parse_cfg(const swath_host *h, const swath_params *p, const swath_input_desc *in,
                     detect_cfg *c) {
  const char *kind = h->param(p, "kind");
  if (strcmp(kind, "detection") == 0)
    c->kind = KIND_DETECTION;
  else if (strcmp(kind, "segmentation") == 0)
    c->kind = KIND_SEGMENTATION;
  else if (strcmp(kind, "classification") == 0)
    c->kind = KIND_CLASSIFICATION;
  else
    return h->error(SWATH_PLUGIN_EINVAL,
                    "process detect: params.kind: '%s' is not detection, "
                    "segmentation or classification",
                    kind);
  c->size = atoi(h->param(p, "chip.size"));
  c->overlap = atoi(h->param(p, "chip.overlap"));
  if (c->size < 8 || c->size > 4096)
    return h->error(SWATH_PLUGIN_EINVAL, "process detect: params.chip.size: %d is not in 8-4096",
                    c->size);
  if (c->overlap < 0 || c->overlap >= c->size / 2)
    return h->error(SWATH_PLUGIN_EINVAL,
                    "process detect: params.chip.overlap: %d is not in 0 to "
                    "half the chip size (%d)",
                    c->overlap, c->size / 2 - 1);
  c->stride = c->size - c->overlap;
  c->batch = atoi(h->param(p, "batch"));
  if (c->batch < 1 || c->batch > 1024)
    return h->error(SWATH_PLUGIN_EINVAL, "process detect: params.batch: %d is not in 1-1024",
                    c->batch);
  c->edge = atoi(h->param(p, "edge"));
  c->margin = atoi(h->param(p, "margin"));
  if (c->margin < 0) c->margin = c->overlap;
  if (c->kind != KIND_DETECTION) c->edge = 0; /* boxes only */
  if (c->edge < 0 || c->edge > c->overlap / 2 || c->margin > c->size)
    return h->error(SWATH_PLUGIN_EINVAL, "process detect: params.edge must be 0 to half the "
                                         "overlap, params.margin 0 to the chip size");
  int r = parse_bands(h, c, h->param(p, "bands"), in->bands);
  if (!r) r = parse_norm(h, p, "normalize.mean", c->mean, c->nbands, 0);
  if (!r) r = parse_norm(h, p, "normalize.std", c->std, c->nbands, 1);
  if (r) return r;
  c->scale = num(h, p, "normalize.scale");
  c->min_score = num(h, p, "min_score");
  c->nms_iou = num(h, p, "nms_iou");
  c->mask_threshold = num(h, p, "mask_threshold");
  c->simplify = num(h, p, "simplify");
  if (c->min_score < 0 || c->min_score > 1 || c->nms_iou <= 0 || c->nms_iou > 1 ||
      c->mask_threshold <= 0 || c->mask_threshold > 1 || c->simplify < 0)
    return h->error(SWATH_PLUGIN_EINVAL, "process detect: min_score must be in [0,1], nms_iou and "
                                         "mask_threshold in (0,1], simplify >= 0");
  return parse_classes(h, c, h->param(p, "classes"));
}

/* The model the params name, opened (its input checked against the chips
 * there) and its first output against the kind's layout. */
static int open_model(detect_state *s, const swath_params *p) {
  const swath_host *h = s->host;
  const char *path = h->param(p, "model"), *path2 = h->param(p, "model.path");
  const char *type = h->param(p, "model.type"), *url = h->param(p, "model.url");
  if (!*path) path = path2;
  if (!*path && !*url)
    return h->error(SWATH_PLUGIN_EINVAL, "process detect: params.model: a model file, or "
                                         "{type: kserve|tfserving, url: ..., name: ...}");
  const detect_cfg *c = &s->c;
  swath_model_spec spec = {
      .type = *type ? type : NULL,
      .path = *path ? path : NULL,
      .url = *url ? url : NULL,
      .name = *h->param(p, "model.name") ? h->param(p, "model.name") : NULL,
      .version = *h->param(p, "model.version") ? h->param(p, "model.version") : NULL,
      .protocol = *h->param(p, "model.protocol") ? h->param(p, "model.protocol") : NULL,
      .layout = *h->param(p, "model.layout") ? h->param(p, "model.layout") : NULL,
      .input_channels = c->nbands,
      .input_height = c->size,
      .input_width = c->size,
      .threads = atoi(h->param(p, "threads")),
  };
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int r = swath_model_open(&spec, cores > 0 ? (int)cores : 1, &s->model);
  if (r) return r; /* the message names the model */
  const swath_model_info *mi = swath_model_get_info(s->model);
  snprintf(s->model_name, sizeof s->model_name, "%s", mi->name);
  /* (swath_model_open checked the input against bands and chip.size, and
   * that there are outputs: the spec carries them) */
  if (mi->max_batch > 0 && s->c.batch > mi->max_batch) s->c.batch = mi->max_batch;
  s->single_tail = swath_model_in_process(s->model);
  return detect_check_output(c, &mi->outputs[0], mi->name);
}

static void detect_destroy(void *state) {
  detect_state *s = state;
  if (!s) return;
  swath_model_close(s->model);
  for (int i = 0; i < s->c.nclasses; i++)
    free(s->c.classes[i]);
  free(s);
}

static int detect_init(const swath_host *host, const swath_params *params,
                       const swath_input_desc *inputs, int ninputs, swath_process_info *info,
                       void **state) {
  (void)ninputs;
  detect_state *s = calloc(1, sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "out of memory");
  s->host = host;
  int r = parse_cfg(host, params, &inputs[0], &s->c);
  if (!r) r = open_model(s, params);
  if (r) {
    detect_destroy(s);
    return r == SWATH_EIO ? SWATH_PLUGIN_EIO : SWATH_PLUGIN_EINVAL;
  }
  swath_dtype dt = inputs[0].dtype; /* fill_chip reads these as they are */
  info->in_dtype = dt == SWATH_DT_BYTE || dt == SWATH_DT_UINT16 || dt == SWATH_DT_FLOAT32
                       ? SWATH_DT_UNKNOWN
                       : SWATH_DT_FLOAT32;
  info->features = 1;
  info->out_bands = 1;
  info->out_dtype = SWATH_DT_BYTE;
  info->pixel_buffer = s->c.size + s->c.margin;
  *state = s;
  return 0;
}

/* Does the chip at (x0, y0) hold any imagery? */
static int chip_has_data(const detect_cfg *c, const swath_raster *in, int x0, int y0) {
  if (!in->mask) return 1;
  for (int y = 0; y < c->size; y++) {
    const unsigned char *m = in->mask + (size_t)(y0 + y) * in->width + x0;
    for (int x = 0; x < c->size; x++)
      if (m[x]) return 1;
  }
  return 0;
}

/* One band of a chip, normalised: T is the block's sample type. */
#define FILL_BAND(T)                                                                               \
  do {                                                                                             \
    const T *band = (const T *)in->data + (size_t)c->bands[b] * plane;                             \
    for (int y = 0; y < c->size; y++) {                                                            \
      size_t row = (size_t)(y0 + y) * in->width + x0;                                              \
      float *o = dst + ((size_t)b * n + y) * n;                                                    \
      for (int x = 0; x < c->size; x++)                                                            \
        o[x] = (float)((in->mask && !in->mask[row + x] ? 0 : (double)band[row + x]) * sc + off);   \
    }                                                                                              \
  } while (0)

/* Chip `k` of the batch from the block at (x0, y0), normalised. The block
 * comes in its native type when that is Byte, UInt16 or Float32 (a Byte
 * block is a quarter of a Float32 one: less to allocate, zero and convert
 * for every process tile), else as Float32 (detect_init asks for it). */
static void fill_chip(const detect_cfg *c, const swath_raster *in, int x0, int y0, float *dst) {
  size_t plane = (size_t)in->width * in->height, n = (size_t)c->size;
  for (int b = 0; b < c->nbands; b++) {
    double sc = c->scale / c->std[b], off = -c->mean[b] / c->std[b];
    if (in->dtype == SWATH_DT_BYTE)
      FILL_BAND(unsigned char);
    else if (in->dtype == SWATH_DT_UINT16)
      FILL_BAND(unsigned short);
    else
      FILL_BAND(float);
  }
}

/* Floor division for the lattice (the block may start left of the origin). */
static long long div_floor(long long a, long long b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

typedef struct chip_pos {
  int x, y; /* top-left in the block */
} chip_pos;

/* Run the model over the batch of chips; decode them. */
static int run_batch(const detect_state *s, swath_tile_ctx *ctx, const chip_pos *pos, int n,
                     swath_tensor *in, detect_boxes *boxes, float *prob) {
  const detect_cfg *c = &s->c;
  in->shape[0] = n;
  swath_tensor out[SWATH_MODEL_MAX_OUTPUTS] = {0};
  int r = swath_model_run(s->model, in, out);
  for (int k = 0; !r && k < n; k++) {
    if (c->kind == KIND_DETECTION) {
      r = detect_decode_boxes(c, &out[0], k, pos[k].x, pos[k].y, boxes);
    } else if (c->kind == KIND_CLASSIFICATION) {
      if (out[0].ndim != 2 || out[0].shape[0] != n || out[0].shape[1] != c->nclasses) {
        r = swath_error_set(SWATH_EIO, "model '%s': output 0 is not %dx%d", s->model_name, n,
                            c->nclasses);
        break;
      }
      double h0 = c->overlap / 2.0;
      for (int j = 0; !r && j < c->nclasses; j++) {
        double sc = out[0].data[(size_t)k * c->nclasses + j];
        if (sc < c->min_score) continue;
        detect_box b = {
            pos[k].x + h0, pos[k].y + h0, pos[k].x + c->size - h0, pos[k].y + c->size - h0, sc, j};
        r = detect_add_box(s->host, ctx, c, &b);
      }
    } else {
      /* Segmentation: the chip's core into the block's class map. */
      const swath_tensor *o = &out[0];
      if (o->ndim != 4 || o->shape[0] != n || o->shape[1] != c->nclasses || o->shape[2] < 1 ||
          c->size % o->shape[2] || c->size % o->shape[3]) {
        r = swath_error_set(SWATH_EIO, "model '%s': output 0 is not %dx%dxHxW", s->model_name, n,
                            c->nclasses);
        break;
      }
      int oh = (int)o->shape[2], ow = (int)o->shape[3], rs = c->size / oh;
      int h0 = c->overlap / 2, bw = ctx->out->width, bh = ctx->out->height;
      for (int cl = 0; cl < c->nclasses; cl++)
        for (int y = h0; y < c->size - (c->overlap - h0); y++)
          for (int x = h0; x < c->size - (c->overlap - h0); x++) {
            int by = pos[k].y + y, bx = pos[k].x + x;
            prob[((size_t)cl * bh + by) * bw + bx] =
                o->data[(((size_t)k * c->nclasses + cl) * oh + y / rs) * ow + x / rs];
          }
    }
  }
  for (int i = 0; i < SWATH_MODEL_MAX_OUTPUTS; i++)
    swath_tensor_free(&out[i]);
  return r;
}

/* Run the `n` chips of t (pos[k] where they are): as one batch when it is
 * full, or when the runtime is a server (where a call is a round trip),
 * else chip by chip. An in-process model (OpenCV DNN) frees and reallocates
 * its network's buffers whenever the batch's shape changes, and the last
 * batch of each process tile is short, of a size that varies: buffers of
 * ever other sizes, coming and going between the workers' other buffers,
 * fragmented the allocator's heap further with every process tile
 * (bench/detect.sh (d), mosaics already reused: peak RSS of 16x the area
 * 350-359 MB against 327-330 MB; chip by chip 339-345 MB). One chip at a
 * time the model only ever sees two shapes, `batch` and 1 (open's check
 * runs 1 too), and runs only real chips: padding the tail with zero chips
 * would run ~4% more of them, while on a CPU a chip alone costs no more
 * than in a batch (`swath model bench --batch 1` against 8). */
static int run_chips(const detect_state *s, swath_tile_ctx *ctx, const chip_pos *pos, int n,
                     swath_tensor *t, detect_boxes *boxes, float *prob) {
  if (n == s->c.batch || !s->single_tail) return run_batch(s, ctx, pos, n, t, boxes, prob);
  size_t chip_floats = (size_t)s->c.nbands * s->c.size * s->c.size;
  int r = 0;
  for (int k = 0; !r && k < n; k++) {
    swath_tensor one = *t;
    one.data = t->data + (size_t)k * chip_floats;
    r = run_batch(s, ctx, pos + k, 1, &one, boxes, prob);
  }
  return r;
}

static int detect_run(const void *state, swath_tile_ctx *ctx) {
  const detect_state *s = state;
  const detect_cfg *c = &s->c;
  const swath_raster *in = &ctx->inputs[0];
  int W = in->width, H = in->height;
  /* The lattice's chips wholly inside the block. */
  long long j0 = div_floor(ctx->col0 + c->stride - 1, c->stride);
  long long j1 = div_floor(ctx->col0 + W - c->size, c->stride);
  long long i0 = div_floor(ctx->row0 + c->stride - 1, c->stride);
  long long i1 = div_floor(ctx->row0 + H - c->size, c->stride);
  chip_pos *pos = calloc((size_t)c->batch, sizeof *pos);
  swath_tensor t = {0};
  int64_t shape[4] = {c->batch, c->nbands, c->size, c->size};
  detect_boxes boxes = {0};
  float *prob = NULL;
  int r = pos ? swath_tensor_alloc(&t, 4, shape) : SWATH_ENOMEM;
  if (!r && c->kind == KIND_SEGMENTATION &&
      !(prob = calloc((size_t)c->nclasses * W * H, sizeof *prob)))
    r = SWATH_ENOMEM;
  if (r) r = swath_error_set(SWATH_ENOMEM, "out of memory");
  size_t chip_floats = (size_t)c->nbands * c->size * c->size;
  int n = 0;
  for (long long i = i0; !r && i <= i1; i++)
    for (long long j = j0; !r && j <= j1; j++) {
      pos[n] = (chip_pos){(int)(j * c->stride - ctx->col0), (int)(i * c->stride - ctx->row0)};
      if (chip_has_data(c, in, pos[n].x, pos[n].y)) { /* no imagery, nothing to find */
        fill_chip(c, in, pos[n].x, pos[n].y, t.data + (size_t)n * chip_floats);
        n++;
      }
      if (n && (n == c->batch || (i == i1 && j == j1))) { /* the last batch may be short */
        r = run_chips(s, ctx, pos, n, &t, &boxes, prob);
        n = 0;
      }
    }
  if (!r && c->kind == KIND_DETECTION) {
    detect_nms(&boxes, c->nms_iou);
    for (int k = 0; !r && k < boxes.n; k++)
      r = detect_add_box(s->host, ctx, c, &boxes.v[k]);
  }
  if (!r && c->kind == KIND_SEGMENTATION) r = detect_segment_features(s->host, ctx, c, prob, W, H);
  detect_boxes_free(&boxes);
  swath_tensor_free(&t);
  free(prob);
  free(pos);
  return r == 0 ? 0 : r == SWATH_EINVAL ? SWATH_PLUGIN_EINVAL : SWATH_PLUGIN_EIO;
}

static void detect_summary(const void *state, double wall_s, char *buf, size_t n) {
  const detect_state *s = state;
  swath_model_stats st;
  swath_model_stats_get(s->model, &st);
  int k = st.instances > 0 ? st.instances : 1;
  snprintf(buf, n,
           "model %s: %lld chips in %lld batches, %.1f chips/s; model busy %.1f s = %.0f%% of the "
           "run's wall time on %d instance(s), %.0f%% each",
           s->model_name, (long long)st.chips, (long long)st.runs,
           wall_s > 0 ? st.chips / wall_s : 0, st.busy_s, wall_s > 0 ? 100 * st.busy_s / wall_s : 0,
           k, wall_s > 0 ? 100 * st.busy_s / wall_s / k : 0);
}

const swath_process_vtable swath_process_detect = {
    .abi_version = SWATH_PLUGIN_ABI,
    .name = "detect",
    .description = "run a model (ONNX, KServe, TF Serving) over chips; features by kind "
                   "(docs/detection.md)",
    .params = PARAMS,
    .init = detect_init,
    .run = detect_run,
    .destroy = detect_destroy,
    .summary = detect_summary,
};

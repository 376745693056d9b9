/* bandmath.c: per-pixel expressions over named inputs' bands, evaluated by
 * muParser (Debian's libmuparser) in bulk mode: every input band is a plane
 * of doubles that muParser reads directly, so there is no per-pixel copy.
 *
 * Variables are <input>.b<N>. Several expressions separated by ';' make
 * several output bands. A pixel is nodata when any input is nodata there or
 * when the result is not finite (0/0, log of a negative ...); it gets
 * `nodata` and mask 0. The expression is compiled once in init against dummy
 * variables so that a typo is a config error, not a failed tile; that check
 * goes through muParser's C++ API (bandmath_check.cpp), whose error text
 * has no size limit. Errors quote a long expression only around the error
 * position, so the message stays one short line. A muParser handle is not
 * thread-safe: each run() builds its own. */
#include <gdal.h>
#include <math.h>
#include <muParserDLL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/raster.h"
#include "process/bandmath_int.h"
#include "process/process.h"

#define MAX_EXPR 16

typedef struct bm {
  int nexpr;
  char *expr[MAX_EXPR];
  int nvars;
  char **vars;    /* "name.bN" */
  int *var_input; /* which input */
  int *var_band;  /* 0-based band */
  swath_dtype out;
  double nodata;
} bm;

static const swath_param bm_params[] = {
    {"expression", "string", NULL,
     "e.g. (nir.b1 - red.b1) / (nir.b1 + red.b1); ';' separates output bands"},
    {"dtype", "string", "Float32", "output type"},
    {"nodata", "number", "",
     "value written where there is no data (default NaN for floats, 0 for integers)"},
    {NULL, NULL, NULL, NULL}};

static void bm_destroy(void *state) {
  bm *s = state;
  if (!s) return;
  for (int i = 0; i < s->nexpr; i++)
    free(s->expr[i]);
  for (int i = 0; i < s->nvars; i++)
    free(s->vars[i]);
  free(s->vars);
  free(s->var_input);
  free(s->var_band);
  free(s);
}

static muParserHandle_t new_parser(void) {
  muParserHandle_t h = mupCreate(muBASETYPE_FLOAT);
  mupDefineNameChars(h, SWATH__BANDMATH_NAME_CHARS);
  return h;
}

/* The bytes of s from `from` (at most n), widened to whole UTF-8
 * sequences, as "...text..." with marks where it was cut. */
static void excerpt(const char *s, size_t from, size_t n, char *out, size_t cap) {
  size_t len = strlen(s), to = from + n < len ? from + n : len;
  while (from > 0 && ((unsigned char)s[from] & 0xC0) == 0x80)
    from--;
  while (to < len && ((unsigned char)s[to] & 0xC0) == 0x80)
    to++;
  snprintf(out, cap, "%s%.*s%s", from ? "..." : "", (int)(to - from), s + from,
           to < len ? "..." : "");
}

/* An invalid expression: a short one is quoted whole; a long one by its
 * number and length, and the text around the error position. */
static int expr_error(const swath_host *host, const bm *s, int i, const char *why, int pos,
                      const swath_input_desc *in, int n) {
  char names[512] = "";
  for (int j = 0; j < n; j++) {
    if (j) strncat(names, ", ", sizeof names - strlen(names) - 1);
    strncat(names, in[j].name, sizeof names - strlen(names) - 1);
  }
  const char *e = s->expr[i];
  size_t len = strlen(e);
  if (len <= 80)
    return host->error(
        SWATH_PLUGIN_EINVAL,
        "process bandmath: expression '%s': %s (variables are <input>.b<N>; inputs: %s)", e, why,
        names);
  char near[128] = "";
  if (pos >= 0 && (size_t)pos <= len) {
    char ctx[100];
    excerpt(e, pos > 30 ? (size_t)pos - 30 : 0, 60, ctx, sizeof ctx);
    snprintf(near, sizeof near, ", near '%s'", ctx);
  }
  char head[64];
  excerpt(e, 0, 30, head, sizeof head);
  return host->error(SWATH_PLUGIN_EINVAL,
                     "process bandmath: expression %d ('%s', %zu characters): %s%s (variables are "
                     "<input>.b<N>; inputs: %s)",
                     i + 1, head, len, why, near, names);
}

static int bm_init(const swath_host *host, const swath_params *p, const swath_input_desc *in, int n,
                   swath_process_info *info, void **state) {
  bm *s = calloc(1, sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "process bandmath: out of memory");
  const char *e = host->param(p, "expression");
  char *copy = strdup(e ? e : "");
  int too_many = 0;
  for (char *tok = strtok(copy, ";"); tok; tok = strtok(NULL, ";")) {
    while (*tok == ' ')
      tok++;
    if (!*tok) continue;
    if (s->nexpr == MAX_EXPR)
      too_many = 1;
    else
      s->expr[s->nexpr++] = strdup(tok);
  }
  free(copy);
  if (too_many) {
    bm_destroy(s);
    return host->error(SWATH_PLUGIN_EINVAL,
                       "process bandmath: more than %d expressions (one per output band)",
                       MAX_EXPR);
  }
  if (s->nexpr == 0) {
    bm_destroy(s);
    return host->error(SWATH_PLUGIN_EINVAL, "process bandmath: expression is empty");
  }
  for (int i = 0; i < n; i++)
    s->nvars += in[i].bands;
  s->vars = calloc((size_t)s->nvars, sizeof *s->vars);
  s->var_input = calloc((size_t)s->nvars, sizeof(int));
  s->var_band = calloc((size_t)s->nvars, sizeof(int));
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int b = 0; b < in[i].bands; b++, k++) {
      char name[256];
      snprintf(name, sizeof name, "%s.b%d", in[i].name, b + 1);
      s->vars[k] = strdup(name);
      s->var_input[k] = i;
      s->var_band[k] = b;
    }
  const char *d = host->param(p, "dtype");
  if ((s->out = swath_dtype_parse(d)) == SWATH_DT_UNKNOWN) {
    bm_destroy(s);
    return host->error(SWATH_PLUGIN_EINVAL, "process bandmath: unknown dtype '%s'", d);
  }
  const char *nd = host->param(p, "nodata");
  int is_float = s->out == SWATH_DT_FLOAT32 || s->out == SWATH_DT_FLOAT64;
  s->nodata = nd && *nd ? atof(nd) : is_float ? NAN : 0;

  /* Compile each expression once against dummy variables. */
  for (int i = 0; i < s->nexpr; i++) {
    char why[256];
    int pos;
    int bad = swath__bandmath_check(s->expr[i], (const char *const *)s->vars, s->nvars, why,
                                    sizeof why, &pos);
    if (bad) {
      int r = bad < 0 ? host->error(SWATH_PLUGIN_EIO, "process bandmath: %s", why)
                      : expr_error(host, s, i, why, pos, in, n);
      bm_destroy(s);
      return r;
    }
  }
  info->in_dtype = SWATH_DT_FLOAT64;
  info->out_bands = s->nexpr;
  info->out_dtype = s->out;
  info->categorical = 0;
  *state = s;
  return 0;
}

static int bm_run(const void *state, swath_tile_ctx *ctx) {
  const bm *s = state;
  swath_raster *out = ctx->out;
  int px = out->width * out->height;
  /* All results first: a pixel that is not finite in any band is nodata in all. */
  double *res = malloc(sizeof(double) * (size_t)px * (size_t)s->nexpr);
  if (!res) return swath_error_set(SWATH_EIO, "process bandmath: out of memory");
  for (int e = 0; e < s->nexpr; e++) {
    double *r = res + (size_t)e * px;
    muParserHandle_t h = new_parser();
    for (int v = 0; v < s->nvars; v++)
      mupDefineBulkVar(h, s->vars[v],
                       swath_raster_band(&ctx->inputs[s->var_input[v]], s->var_band[v]));
    mupSetExpr(h, s->expr[e]);
    mupEvalBulk(h, r, px);
    if (mupError(h)) {
      /* Not mupGetErrorMsg: it copies into a static buffer (see bandmath_check.cpp). */
      int rc = swath_error_set(SWATH_EIO,
                               "process bandmath: expression %d: muParser error %d at position %d",
                               e + 1, (int)mupGetErrorCode(h), (int)mupGetErrorPos(h));
      mupRelease(h);
      free(res);
      return rc;
    }
    mupRelease(h);
    for (int i = 0; i < px; i++)
      if (!isfinite(r[i])) out->mask[i] = 0;
  }
  int es = (int)swath_dtype_size(out->dtype);
  for (int e = 0; e < s->nexpr; e++) {
    double *r = res + (size_t)e * px;
    for (int i = 0; i < px; i++)
      if (!out->mask[i]) r[i] = s->nodata;
    GDALCopyWords64(r, GDT_Float64, 8, swath_raster_band(out, e), (GDALDataType)out->dtype, es, px);
  }
  free(res);
  return 0;
}

const swath_process_vtable swath_process_bandmath = {
    .abi_version = SWATH_PLUGIN_ABI,
    .name = "bandmath",
    .description = "per-pixel expressions over named inputs' bands (muParser syntax)",
    .params = bm_params,
    .init = bm_init,
    .run = bm_run,
    .destroy = bm_destroy,
};

/* invert.c: a sample swath process plugin, and a template for your own.
 *
 * It inverts every band: out = max - in (max defaults to 255, for 8-bit
 * imagery). Build it with `make` in this folder (or it is built with swath as
 * invert_plugin.so) and use it in a job:
 *
 *     process: /path/to/invert_plugin.so
 *     params: {max: 255}
 *
 * The only symbol swath looks for is swath_plugin_entry; everything else is
 * static. See docs/plugins.md for the contract. */
#include <stdlib.h>

#include "swath/plugin.h"

typedef struct invert {
  double max;
} invert;

static const swath_param params[] = {
    {"max", "number", "255", "value that 0 maps to; out = max - in"},
    {NULL, NULL, NULL, NULL}};

static int init(const swath_host *host, const swath_params *p, const swath_input_desc *in, int n,
                swath_process_info *info, void **state) {
  if (n != 1) return host->error(SWATH_PLUGIN_EINVAL, "invert: takes one input, got %d", n);
  invert *s = malloc(sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "invert: out of memory");
  s->max = atof(host->param(p, "max"));
  /* Work in Float64 whatever the input is; write the input's own type. */
  info->in_dtype = SWATH_DT_FLOAT64;
  info->out_bands = in[0].bands;
  info->out_dtype = in[0].dtype;
  *state = s;
  return 0;
}

/* Called from several threads at once with the same state: read-only. */
static int run(const void *state, swath_tile_ctx *ctx) {
  const invert *s = state;
  const swath_raster *in = &ctx->inputs[0];
  swath_raster *out = ctx->out;
  size_t px = (size_t)in->width * in->height;
  const double *src = in->data;
  for (int b = 0; b < out->bands; b++) {
    for (size_t i = 0; i < px; i++) {
      double v = s->max - src[b * px + i];
      if (v < 0) v = 0;
      switch (out->dtype) {
      case SWATH_DT_BYTE: ((unsigned char *)out->data)[b * px + i] = (unsigned char)(v > 255 ? 255 : v + 0.5); break;
      case SWATH_DT_UINT16: ((unsigned short *)out->data)[b * px + i] = (unsigned short)(v > 65535 ? 65535 : v + 0.5); break;
      case SWATH_DT_FLOAT32: ((float *)out->data)[b * px + i] = (float)v; break;
      case SWATH_DT_FLOAT64: ((double *)out->data)[b * px + i] = v; break;
      default: return SWATH_PLUGIN_EIO;
      }
    }
  }
  return SWATH_PLUGIN_OK;
}

static void destroy(void *state) { free(state); }

static const swath_process_vtable vtable = {
    .abi_version = SWATH_PLUGIN_ABI,
    .name = "invert",
    .description = "invert every band: out = max - in",
    .params = params,
    .init = init,
    .run = run,
    .destroy = destroy,
};

const swath_process_vtable *swath_plugin_entry(int host_abi);
const swath_process_vtable *swath_plugin_entry(int host_abi) {
  return host_abi == SWATH_PLUGIN_ABI ? &vtable : NULL;
}

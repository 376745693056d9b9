/* invert.c: a sample swath process plugin, and a template for your own.
 *
 * It inverts every band: out = max - in (max defaults to 255, for 8-bit
 * imagery), written in the input's own type: rounded to the nearest whole
 * number for integer types and clamped to the type's range (Byte 0-255,
 * Int16 -32768-32767, ...); Float32 and Float64 keep the value as it is. Build it with `make` in
 * this folder (or it is built with swath as invert_plugin.so) and use it in a job:
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
  const swath_host *host; /* for error messages from run */
} invert;

static const swath_param params[] = {
    {"max", "number", "255", "value that 0 maps to; out = max - in"},
    {NULL, NULL, NULL, NULL}};

static int init(const swath_host *host, const swath_params *p, const swath_input_desc *in, int n,
                swath_process_info *info, void **state) {
  if (n != 1) return host->error(SWATH_PLUGIN_EINVAL, "invert: takes one input, got %d", n);
  if (in[0].dtype < SWATH_DT_BYTE || in[0].dtype > SWATH_DT_FLOAT64)
    return host->error(SWATH_PLUGIN_EINVAL,
                       "invert: input '%s' has pixel type %d, not one of Byte to Float64",
                       in[0].name, (int)in[0].dtype);
  invert *s = malloc(sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "invert: out of memory");
  s->max = atof(host->param(p, "max"));
  s->host = host;
  /* Work in Float64 whatever the input is; write the input's own type. */
  info->in_dtype = SWATH_DT_FLOAT64;
  info->out_bands = in[0].bands;
  info->out_dtype = in[0].dtype;
  *state = s;
  return 0;
}

/* v clamped to [lo, hi] and rounded half away from zero (no libm needed). */
static double whole(double v, double lo, double hi) {
  if (v != v) return 0; /* NaN: no integer holds it */
  if (v <= lo) return lo;
  if (v >= hi) return hi;
  return (double)(long long)(v < 0 ? v - 0.5 : v + 0.5);
}

/* Called from several threads at once with the same state: read-only. */
static int run(const void *state, swath_tile_ctx *ctx) {
  const invert *s = state;
  const swath_raster *in = &ctx->inputs[0];
  swath_raster *out = ctx->out;
  size_t n = (size_t)in->width * in->height * out->bands;
  const double *src = in->data;
  void *dst = out->data;
  for (size_t i = 0; i < n; i++) {
    double v = s->max - src[i];
    switch (out->dtype) {
    case SWATH_DT_BYTE:
      ((unsigned char *)dst)[i] = (unsigned char)whole(v, 0, 255);
      break;
    case SWATH_DT_UINT16:
      ((unsigned short *)dst)[i] = (unsigned short)whole(v, 0, 65535);
      break;
    case SWATH_DT_INT16:
      ((short *)dst)[i] = (short)whole(v, -32768, 32767);
      break;
    case SWATH_DT_UINT32:
      ((unsigned int *)dst)[i] = (unsigned int)whole(v, 0, 4294967295.0);
      break;
    case SWATH_DT_INT32:
      ((int *)dst)[i] = (int)whole(v, -2147483648.0, 2147483647);
      break;
    case SWATH_DT_FLOAT32:
      ((float *)dst)[i] = (float)v;
      break;
    case SWATH_DT_FLOAT64:
      ((double *)dst)[i] = v;
      break;
    default:
      /* Every type of the header is handled; a newer host may add more. */
      return s->host->error(SWATH_PLUGIN_EIO, "invert: cannot write pixel type %d",
                            (int)out->dtype);
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

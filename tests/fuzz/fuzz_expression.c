/* fuzz_expression.c: a bandmath expression (params.expression), through
 * the process's init (the compile check `swath run` does before any tile)
 * and, when it compiles, one run() over a 4x4 block, with three inputs:
 * nir and red (1 band), img (3 bands). */
#include "core/raster.h"
#include "fuzz_util.h"
#include "process/process.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static void run_once(const swath_process *p, void *st, const swath_process_info *info,
                     const swath_input_desc *d) {
  swath_raster in[3], out;
  for (int i = 0; i < 3; i++) {
    if (swath_raster_alloc(&in[i], 4, 4, d[i].bands, SWATH_DT_FLOAT64)) abort();
    double *v = (double *)in[i].data;
    for (int k = 0; k < 16 * d[i].bands; k++)
      v[k] = (k % 7) - 2.5 * i; /* zeros, negatives */
  }
  if (swath_raster_alloc(&out, 4, 4, info->out_bands, info->out_dtype)) abort();
  swath_tile_ctx ctx = {.ninputs = 3,
                        .input_desc = d,
                        .inputs = in,
                        .out = &out,
                        .buffer = 0,
                        .res_x = 1,
                        .res_y = 1};
  fuzz_check_rc(p->vt->run(st, &ctx), "bandmath run", 0);
  swath_raster_free(&out);
  for (int i = 0; i < 3; i++)
    swath_raster_free(&in[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  char *expr = fuzz_str(data, size);
  swath_process p;
  if (swath_process_open("bandmath", &p)) abort();
  swath_params *params = swath_params_new();
  swath_params_set(params, "expression", expr);
  int rc = swath_process_check_params(p.vt, params);
  fuzz_check_rc(rc, "bandmath params", 1);
  swath_input_desc d[3] = {
      {"nir", 1, SWATH_DT_UINT16}, {"red", 1, SWATH_DT_UINT16}, {"img", 3, SWATH_DT_BYTE}};
  swath_process_info info = {SWATH_DT_UNKNOWN, 1, SWATH_DT_BYTE, 0, 0, 0};
  void *st = NULL;
  if (!rc) {
    swath_error_clear();
    rc = p.vt->init(swath_process_host(), params, d, 3, &info, &st);
    fuzz_check_rc(rc, "bandmath init", 1);
  }
  if (!rc) {
    run_once(&p, st, &info, d);
    p.vt->destroy(st);
  }
  swath_params_free(params);
  swath_process_close(&p);
  free(expr);
  return 0;
}

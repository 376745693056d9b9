/* model_bench.h: the model's ceiling. The same model run over chips that
 * are already in memory, by `workers` threads at once, each calling
 * swath_model_run on batches of `batch` chips, as the workers of a detect
 * run do (one model instance per thread, the pool of model.c): how many
 * chips a second the model alone gets through on this machine, the figure
 * a detect run's chips/s is measured against (bench/detect.sh).
 *
 * Nothing is copied or normalised while the clock runs: each batch is a
 * window of the chips in memory handed to the model as it is. */
#ifndef SWATH_INFER_MODEL_BENCH_H
#define SWATH_INFER_MODEL_BENCH_H

#include <stdint.h>

#include "infer/model.h"

typedef struct swath_model_bench_opts {
  int batch;       /* chips per run() (at least 1, at most the chips held) */
  int workers;     /* threads, each with its own model instance */
  double seconds;  /* run batches until this long has passed (> 0) */
  int64_t batches; /* ... or until the threads ran this many in all (0: seconds only) */
} swath_model_bench_opts;

typedef struct swath_model_bench_result {
  int64_t chips, batches; /* counted after the warm-up */
  double wall_s;          /* from the start to the last thread's end */
  double busy_s;          /* inside run(), summed over the threads */
  int instances;          /* model instances used */
} swath_model_bench_result;

/* Run the bench over `chips` (N x C x H x W, N >= opts->batch). Each thread
 * first runs one batch untimed (OpenCV allocates its buffers on the first
 * run of a shape), then all start together. The model must be opened with
 * max_instances >= workers. SWATH_EINVAL for bad options, or the first
 * error a run() returned. */
int swath_model_bench(swath_model *m, const swath_tensor *chips, const swath_model_bench_opts *o,
                      swath_model_bench_result *res);

/* Chips for the bench: a raw little-endian float32 file of N x C x H x W
 * values (N from its size; swath_tensor_read_f32's format), or, with path
 * NULL, `n` chips of values drawn uniformly from [-2, 2] (seeded: the same
 * every time). SWATH_EINVAL naming the file when its size is not a whole
 * number of C x H x W chips. */
int swath_model_bench_chips(const char *path, int64_t n, int c, int h, int w, swath_tensor *out);

#endif

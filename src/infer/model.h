/* model.h: the model interface. A model turns a batch of chips (float32,
 * NCHW) into raw output tensors; what the outputs mean (boxes, masks,
 * scores) is the `detect` process's business (process/detect*.c,
 * docs/models.md), not the runtime's.
 *
 * Runtimes implement swath_model_vtable, one file each (the shape of the
 * sources and sinks): model_opencv.cpp (ONNX in-process through OpenCV DNN,
 * the project's only C++ file for models), model_kserve.c (KServe Open
 * Inference Protocol v2 over REST), model_tfserving.c (TensorFlow Serving
 * REST :predict). They are registered by name in model.c.
 *
 * What every runtime shares is written once in model.c, around the vtable:
 * the instance pool (a runtime whose state is not `concurrent` gets a pool
 * of states, each used by one thread at a time, opened lazily up to
 * max_instances and handed out under a lock: with max_instances = the
 * run's workers, each worker in run() has a state of its own), the checks of the
 * input against info(), and the busy-time and chip counters the run's
 * summary reports.
 *
 * Ownership: swath_model_open returns a model the caller closes; tensors
 * that run() fills are malloc'd by the runtime and freed by the caller
 * with swath_tensor_free. */
#ifndef SWATH_INFER_MODEL_H
#define SWATH_INFER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "io/fetch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWATH_TENSOR_MAX_DIMS 8
#define SWATH_MODEL_MAX_OUTPUTS 8

/* A dense float32 tensor, row-major (the last dimension varies fastest). */
typedef struct swath_tensor {
  int ndim;
  int64_t shape[SWATH_TENSOR_MAX_DIMS];
  float *data; /* prod(shape) floats */
} swath_tensor;

/* Number of elements (product of the shape; 1 for ndim 0). */
size_t swath_tensor_count(const swath_tensor *t);
/* Allocate t->data for `ndim` dims of `shape`; SWATH_ENOMEM. */
int swath_tensor_alloc(swath_tensor *t, int ndim, const int64_t *shape);
void swath_tensor_free(swath_tensor *t);

/* A tensor as a model declares it: -1 marks a dimension the model leaves
 * open (the batch, usually). */
typedef struct swath_tensor_info {
  char name[128];
  int ndim;
  int64_t shape[SWATH_TENSOR_MAX_DIMS];
} swath_tensor_info;

typedef struct swath_model_info {
  char runtime[32];        /* "onnx", "kserve", "tfserving" */
  char name[128];          /* the model's name (file name or the server's) */
  swath_tensor_info input; /* one input: the chips, N x C x H x W */
  int noutputs;
  swath_tensor_info outputs[SWATH_MODEL_MAX_OUTPUTS];
  int max_batch; /* the most chips one run() takes (0: any) */
  int opset;     /* onnx: the model's opset (default domain); 0: unknown or not ONNX */
} swath_model_info;

/* Where a model is and how to reach it. Strings are borrowed for the
 * vtable's open(); swath_model_open copies the spec (its strings and
 * *fetch, shallowly: the strings inside *fetch must outlive the model),
 * because a runtime that is not concurrent opens more states later. */
typedef struct swath_model_spec {
  const char *type;    /* "onnx" (default when path is set), "kserve", "tfserving" */
  const char *path;    /* onnx: the .onnx file */
  const char *url;     /* remote: the server's base URL, e.g. http://gpu:8000 */
  const char *name;    /* remote: the model's name on the server */
  const char *version; /* remote: a model version, or NULL */
  /* kserve: "binary" (the binary tensor extension; NULL means it) or
   * "json" (every tensor as JSON, for servers without the extension). */
  const char *protocol;
  /* tfserving: the layout of a 4-d signature input, "nchw" or "nhwc"; NULL:
   * guessed from its declared shape (model_tfserving.c). */
  const char *layout;
  /* Remote runtimes: limits, timeouts and retries of their fetcher (NULL:
   * defaults). The input/output shapes a remote model does not publish
   * come from here: */
  const swath_fetch_config *fetch;
  int input_channels, input_height, input_width; /* 0: what the model says */
  /* in-process: threads one instance may use (0: 1). OpenCV's thread
   * count is process-wide (cv::setNumThreads): the last open sets it for
   * every instance. swath opens one instance per worker thread and leaves
   * this at 1, so the run's thread budget is its --workers. */
  int threads;
} swath_model_spec;

/* Bump when swath_model_vtable, swath_model_spec or swath_model_info
 * changes layout. */
#define SWATH_MODEL_ABI 2

typedef struct swath_model_vtable {
  const char *name; /* the spec type it serves */
  int abi_version;  /* SWATH_MODEL_ABI */
  /* run() may be called from several threads at once on one state (a
   * remote runtime); 0: model.c keeps one state per caller thread. */
  int concurrent;
  /* Load or reach the model. A model that cannot be used (a file that is
   * not a model, an operator the runtime lacks, a server that does not
   * answer or has no such model) is SWATH_EINVAL with one line naming the
   * model and the reason. */
  int (*open)(const swath_model_spec *spec, void **state);
  void (*info)(void *state, swath_model_info *out);
  /* Run a batch: `in` is N x C x H x W; `out` (an array of at least
   * info.noutputs) gets info.noutputs tensors in the order info lists
   * them, each with the batch as its first dimension; on failure none is
   * left allocated. SWATH_EIO (a server fault, transient or not, or an
   * answer that is not what the protocol or the model's declaration says)
   * with the reason set: the run lists the tile as failed. */
  int (*run)(void *state, const swath_tensor *in, swath_tensor *out);
  void (*close)(void *state);
} swath_model_vtable;

/* Register a runtime (start-up only): SWATH_EINVAL for another ABI, a taken
 * name, or one without open, info, run or close. The built-ins are
 * registered on first use. */
int swath_model_register(const swath_model_vtable *vt);
/* The runtime registered as `name`; SWATH_EINVAL naming the known ones. */
int swath_model_find(const char *name, const swath_model_vtable **out);

/* The built-in runtimes (model.c registers them). */
extern const swath_model_vtable swath_model_onnx;      /* model_opencv.cpp */
extern const swath_model_vtable swath_model_kserve;    /* model_kserve.c */
extern const swath_model_vtable swath_model_tfserving; /* model_tfserving.c */

/* ---- model.c: a model as the rest of swath uses it ---- */

typedef struct swath_model swath_model;

typedef struct swath_model_stats {
  double busy_s; /* seconds inside run(), summed over threads */
  int64_t runs;  /* batches */
  int64_t chips; /* chips (batch items) */
  int instances; /* states opened (in-process: one per thread that ran) */
} swath_model_stats;

/* Open the model `spec` names. `max_instances`: for a runtime that is not
 * concurrent, the most states kept (one per worker thread; 0: 1). The
 * first state is opened now, so a model that cannot be loaded fails here,
 * before any tile runs; so does one whose input is not 4-D, whose outputs
 * are not 1 to SWATH_MODEL_MAX_OUTPUTS, or whose declared C, H or W differs
 * from spec->input_channels/height/width where both are set (SWATH_EINVAL,
 * one line). spec->type NULL with a path means "onnx". */
int swath_model_open(const swath_model_spec *spec, int max_instances, swath_model **out);
const swath_model_info *swath_model_get_info(const swath_model *m);
/* Run a batch (thread-safe). `in` must be N x C x H x W with C, H, W as the
 * model's input declares them (where it declares them) and N <= max_batch
 * (where set); SWATH_EINVAL otherwise. Splits nothing: the caller batches.
 * Each output must come back with the dimensions its declaration gives
 * (N first, then every declared size): SWATH_EIO naming the output, what
 * it declares and what came (a server answering the wrong shape). */
int swath_model_run(swath_model *m, const swath_tensor *in, swath_tensor *out);
void swath_model_stats_get(swath_model *m, swath_model_stats *out);
/* 1 when the runtime keeps a state per thread (in-process: OpenCV DNN,
 * whose buffers are sized by the last batch's shape and reallocated when
 * it changes), 0 for a concurrent one (a server: each run() a request). */
int swath_model_in_process(const swath_model *m);
void swath_model_close(swath_model *m);

#ifdef __cplusplus
}
#endif

#endif

/* tensor_json.h: float32 tensors as JSON arrays, for the remote runtimes'
 * JSON bodies (KServe v2 "data", TF Serving "inputs"/"outputs") and the
 * KServe server.
 *
 * Values are written with 9 significant digits, which read back as the
 * same float32 (a JSON round trip is exact). JSON has no NaN or infinity:
 * a tensor holding one cannot be written (SWATH_EINVAL). Reading accepts an
 * array flat or nested to any depth up to SWATH_TENSOR_MAX_DIMS, numbers
 * only (integers or reals, each within float32's range). */
#ifndef SWATH_INFER_TENSOR_JSON_H
#define SWATH_INFER_TENSOR_JSON_H

#include <jansson.h>

#include "core/json_out.h"
#include "infer/model.h"

/* Append t's values: one flat array (nested 0), or arrays nested in t's
 * shape (nested 1). SWATH_EINVAL for a value that is not finite. Out of
 * memory is out->failed (json_out.h). */
int swath_tensor_json_write(swath_jtext *out, const swath_tensor *t, int nested);

/* The shape of a nested array of numbers (one dimension per level; every
 * level rectangular), and the count of its numbers. SWATH_EINVAL naming
 * `what` and the problem (not an array, ragged, too deep, not a number). */
int swath_tensor_json_shape(const json_t *v, const char *what, int *ndim, int64_t *shape,
                            size_t *count);

/* Copy the numbers of `v` in row-major order into dst, which holds exactly
 * n: nested exactly as `shape` (ndim levels) says, or (shape NULL) flat or
 * nested in any way. SWATH_EINVAL naming `what` if v holds another count,
 * another nesting, or anything but numbers within float32's range. */
int swath_tensor_json_read(const json_t *v, const char *what, const int64_t *shape, int ndim,
                           float *dst, size_t n);

#endif

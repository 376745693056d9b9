/* tensor_json.c: float32 tensors as JSON arrays (tensor_json.h).
 *
 * Reading walks jansson values without recursion deeper than
 * SWATH_TENSOR_MAX_DIMS (deeper input is refused before it is walked), and
 * never writes past the n floats the caller holds: values are counted
 * while they are copied and the count is checked at every step. */
#include "infer/tensor_json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

#include "core/error.h"

static void write_level(swath_jtext *out, const swath_tensor *t, int dim, const float **p) {
  swath_jtext_lit(out, "[");
  int64_t n = t->shape[dim];
  for (int64_t i = 0; i < n && !out->failed; i++) {
    if (i) swath_jtext_lit(out, ",");
    if (dim + 1 < t->ndim)
      write_level(out, t, dim + 1, p);
    else
      swath_jtext_real(out, *(*p)++);
  }
  swath_jtext_lit(out, "]");
}

int swath_tensor_json_write(swath_jtext *out, const swath_tensor *t, int nested) {
  size_t n = swath_tensor_count(t);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(t->data[i]))
      return swath_error_set(SWATH_EINVAL,
                             "tensor value %zu is %g, which JSON cannot carry (use the binary "
                             "protocol)",
                             i, (double)t->data[i]);
  out->precision = 9; /* read back as the same float32 */
  swath_jtext_reserve(out, n * 14 + 64);
  const float *p = t->data;
  if (nested && t->ndim > 0) {
    write_level(out, t, 0, &p);
    return 0;
  }
  swath_jtext_lit(out, "[");
  for (size_t i = 0; i < n && !out->failed; i++) {
    if (i) swath_jtext_lit(out, ",");
    swath_jtext_real(out, p[i]);
  }
  swath_jtext_lit(out, "]");
  return 0;
}

int swath_tensor_json_shape(const json_t *v, const char *what, int *ndim, int64_t *shape,
                            size_t *count) {
  *ndim = 0;
  *count = 0;
  if (!json_is_array(v)) return swath_error_set(SWATH_EINVAL, "%s is not an array", what);
  /* The shape from the first element of each level; read() below checks
   * that every other element agrees (its count would differ otherwise, or
   * a number would stand where an array is, or the reverse). */
  const json_t *cur = v;
  size_t total = 1;
  while (json_is_array(cur)) {
    if (*ndim == SWATH_TENSOR_MAX_DIMS)
      return swath_error_set(SWATH_EINVAL, "%s is nested more than %d deep", what,
                             SWATH_TENSOR_MAX_DIMS);
    size_t len = json_array_size(cur);
    shape[(*ndim)++] = (int64_t)len;
    total *= len;
    if (len == 0) break;
    cur = json_array_get(cur, 0);
  }
  *count = total;
  if (total == 0) return 0;
  if (!json_is_number(cur))
    return swath_error_set(SWATH_EINVAL, "%s holds something other than numbers", what);
  return 0;
}

/* Depth-first copy; *k counts the values copied. A level of the shape is
 * checked where `shape` is given (nested read of a known shape). */
static int read_level(const json_t *v, const char *what, int depth, float *dst, size_t n, size_t *k,
                      const int64_t *shape, int ndim) {
  if (json_is_number(v)) {
    if (shape && depth != ndim)
      return swath_error_set(SWATH_EINVAL, "%s: a number at depth %d of %d", what, depth, ndim);
    double d = json_number_value(v);
    if (!(fabs(d) <= FLT_MAX))
      return swath_error_set(SWATH_EINVAL, "%s: %g is out of float32's range", what, d);
    if (*k >= n) return swath_error_set(SWATH_EINVAL, "%s holds more than %zu values", what, n);
    dst[(*k)++] = (float)d;
    return 0;
  }
  if (!json_is_array(v))
    return swath_error_set(SWATH_EINVAL, "%s holds something other than numbers", what);
  if (depth >= SWATH_TENSOR_MAX_DIMS || (shape && depth >= ndim))
    return swath_error_set(SWATH_EINVAL, "%s is nested too deep", what);
  size_t len = json_array_size(v);
  if (shape && (int64_t)len != shape[depth])
    return swath_error_set(SWATH_EINVAL, "%s is ragged: %zu values where %lld were expected", what,
                           len, (long long)shape[depth]);
  for (size_t i = 0; i < len; i++) {
    int rc = read_level(json_array_get(v, i), what, depth + 1, dst, n, k, shape, ndim);
    if (rc) return rc;
  }
  return 0;
}

int swath_tensor_json_read(const json_t *v, const char *what, const int64_t *shape, int ndim,
                           float *dst, size_t n) {
  if (!json_is_array(v)) return swath_error_set(SWATH_EINVAL, "%s is not an array", what);
  size_t k = 0;
  int rc = read_level(v, what, 0, dst, n, &k, shape, ndim);
  if (rc) return rc;
  if (k != n) return swath_error_set(SWATH_EINVAL, "%s holds %zu values, expected %zu", what, k, n);
  return 0;
}

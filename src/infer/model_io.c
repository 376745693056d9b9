/* model_io.c: see model_io.h. The float files are little-endian whatever
 * the host: values are converted byte by byte, so a file written on one
 * machine reads the same on another (and the same as numpy's '<f4'). */
#include "infer/model_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

int swath_model_chip_size(const swath_model_info *info) {
  const swath_tensor_info *in = &info->input;
  if (in->ndim != 4) return -1;
  int64_t h = in->shape[2], w = in->shape[3];
  if (h <= 0 && w <= 0) return 0;
  return h == w && h <= 1 << 20 ? (int)h : -1;
}

static void print_dims(const swath_tensor_info *t, FILE *f) {
  if (t->ndim == 0) fprintf(f, "(shape not declared)");
  for (int i = 0; i < t->ndim; i++) {
    if (i) fprintf(f, " x ");
    if (t->shape[i] > 0)
      fprintf(f, "%lld", (long long)t->shape[i]);
    else
      fprintf(f, "?");
  }
}

/* "3" or "any number of" for a dimension. */
static void print_dim_or(int64_t v, const char *open, FILE *f) {
  if (v > 0)
    fprintf(f, "%lld", (long long)v);
  else
    fprintf(f, "%s", open);
}

void swath_model_info_print(const swath_model_info *info, FILE *f) {
  fprintf(f, "runtime: %s\nname: %s\n", info->runtime, info->name);
  if (info->opset > 0) fprintf(f, "opset: %d\n", info->opset);
  fprintf(f, "input: %s: ", info->input.name);
  print_dims(&info->input, f);
  fprintf(f, "\n");
  for (int i = 0; i < info->noutputs; i++) {
    fprintf(f, "output %d: %s: ", i, info->outputs[i].name);
    print_dims(&info->outputs[i], f);
    fprintf(f, "\n");
  }
  if (info->input.ndim != 4) return;
  const int64_t *s = info->input.shape;
  fprintf(f, "swath feeds: N x ");
  print_dim_or(s[1], "C", f);
  fprintf(f, " x ");
  print_dim_or(s[2], "H", f);
  fprintf(f, " x ");
  print_dim_or(s[3], "W", f);
  fprintf(f, " float32 chips, ");
  if (info->max_batch > 0)
    fprintf(f, "N at most %d (params.batch)\n", info->max_batch);
  else
    fprintf(f, "N any (params.batch)\n");
  int chip = swath_model_chip_size(info);
  if (chip > 0)
    fprintf(f, "chip.size must be %d", chip);
  else if (chip == 0)
    fprintf(f, "chip.size: any (the model leaves its input's height and width open)");
  else
    fprintf(f, "chip.size: none fits (swath's chips are square; the input is %s x %s)",
            s[2] > 0 ? "fixed" : "open", s[3] > 0 ? "fixed" : "open");
  if (s[1] > 0)
    fprintf(f, "; bands must list %lld bands\n", (long long)s[1]);
  else
    fprintf(f, "; bands: any number\n");
}

static json_t *tensor_json(const swath_tensor_info *t) {
  json_t *shape = json_array();
  for (int i = 0; shape && i < t->ndim; i++)
    json_array_append_new(shape, json_integer(t->shape[i] > 0 ? t->shape[i] : -1));
  return json_pack("{s:s, s:o*}", "name", t->name, "shape", t->ndim ? shape : json_null());
}

json_t *swath_model_info_json(const swath_model_info *info) {
  json_t *outs = json_array();
  for (int i = 0; outs && i < info->noutputs; i++)
    json_array_append_new(outs, tensor_json(&info->outputs[i]));
  int chip = swath_model_chip_size(info);
  json_t *c = info->input.ndim == 4 && info->input.shape[1] > 0 ? json_integer(info->input.shape[1])
                                                                : json_null();
  return json_pack("{s:s, s:s, s:o, s:o, s:o*, s:i, s:o, s:o, s:o}", "runtime", info->runtime,
                   "name", info->name, "opset",
                   info->opset > 0 ? json_integer(info->opset) : json_null(), "input",
                   tensor_json(&info->input), "outputs", outs, "max_batch", info->max_batch,
                   "chip_size", chip > 0 ? json_integer(chip) : json_null(), "chip_size_open",
                   json_boolean(chip == 0), "bands", c);
}

int swath_tensor_read_f32(const char *path, int ndim, const int64_t *shape, swath_tensor *t) {
  t->data = NULL;
  t->ndim = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return swath_error_set(SWATH_EINVAL, "'%s': cannot read: %s", path, strerror(errno));
  struct stat st;
  int rc = fstat(fileno(f), &st) ? swath_error_set(SWATH_EINVAL, "'%s': %s", path, strerror(errno))
                                 : swath_tensor_alloc(t, ndim, shape);
  size_t n = rc ? 0 : swath_tensor_count(t);
  if (!rc && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)n * 4))
    rc = swath_error_set(SWATH_EINVAL,
                         "'%s': %lld bytes; the shape given needs %zu float32 values (%zu bytes)",
                         path, (long long)st.st_size, n, n * 4);
  unsigned char b[4];
  for (size_t i = 0; !rc && i < n; i++) {
    if (fread(b, 1, 4, f) != 4) {
      rc = swath_error_set(SWATH_EINVAL, "'%s': short read", path);
      break;
    }
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    memcpy(&t->data[i], &u, 4);
  }
  fclose(f);
  if (rc) swath_tensor_free(t);
  return rc;
}

static int write_one(const char *path, const swath_tensor *t) {
  FILE *f = fopen(path, "wb");
  if (!f) return swath_error_set(SWATH_EINVAL, "'%s': cannot write: %s", path, strerror(errno));
  size_t n = swath_tensor_count(t);
  int ok = 1;
  for (size_t i = 0; ok && i < n; i++) {
    uint32_t u;
    memcpy(&u, &t->data[i], 4);
    unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                          (unsigned char)(u >> 24)};
    ok = fwrite(b, 1, 4, f) == 4;
  }
  if (fclose(f)) ok = 0;
  return ok ? 0 : swath_error_set(SWATH_EIO, "'%s': write failed: %s", path, strerror(errno));
}

int swath_tensors_write_f32(const char *prefix, int n, const swath_tensor *t) {
  char tmp[SWATH_MODEL_MAX_OUTPUTS][4200], dst[SWATH_MODEL_MAX_OUTPUTS][4200];
  if (n < 0 || n > SWATH_MODEL_MAX_OUTPUTS)
    return swath_error_set(SWATH_EINVAL, "tensors: %d to write (at most %d)", n,
                           SWATH_MODEL_MAX_OUTPUTS);
  if (strlen(prefix) > 4096) return swath_error_set(SWATH_EINVAL, "output prefix too long");
  int rc = 0, done = 0;
  for (; !rc && done < n; done++) {
    snprintf(dst[done], sizeof dst[done], "%s.%d.f32", prefix, done);
    snprintf(tmp[done], sizeof tmp[done], "%s.%d.f32.tmp%ld", prefix, done, (long)getpid());
    rc = write_one(tmp[done], &t[done]);
  }
  for (int i = 0; !rc && i < n; i++)
    if (rename(tmp[i], dst[i]))
      rc =
          swath_error_set(SWATH_EIO, "'%s': cannot rename into place: %s", dst[i], strerror(errno));
  if (rc)
    for (int i = 0; i < done; i++)
      unlink(tmp[i]);
  return rc;
}

/* model_io.h: what `swath model` shows of a model (its declared tensors and
 * what swath will feed it, as text or JSON) and the raw tensor files it
 * reads and writes (little-endian float32, no header: the shape travels
 * separately). Callable from C like every command's work. */
#ifndef SWATH_INFER_MODEL_IO_H
#define SWATH_INFER_MODEL_IO_H

#include <jansson.h>
#include <stdio.h>

#include "infer/model.h"

/* The chip size a model's input takes: its H where H and W are declared
 * and equal; 0 where the model leaves them open; -1 where no square chip
 * fits (H != W, or only one of them declared). */
int swath_model_chip_size(const swath_model_info *info);

/* The description as lines of text ("runtime", "name", "opset", "input",
 * each "output", then what swath feeds and what chip.size and bands must
 * be). Open dimensions print as '?'. */
void swath_model_info_print(const swath_model_info *info, FILE *f);
/* The same as a JSON object (open dimensions as -1); the caller owns it.
 * NULL when memory runs out. */
json_t *swath_model_info_json(const swath_model_info *info);

/* Read a raw little-endian float32 file holding exactly a tensor of `shape`
 * into *t (allocated; the caller frees it with swath_tensor_free).
 * SWATH_EINVAL naming the file when it cannot be read or its size is not
 * 4 x prod(shape) bytes. */
int swath_tensor_read_f32(const char *path, int ndim, const int64_t *shape, swath_tensor *t);
/* Write `n` tensors as PREFIX.0.f32, PREFIX.1.f32, ... (little-endian
 * float32). All are written to temporary files first and renamed only when
 * every one is complete, so a failure leaves no partial output. */
int swath_tensors_write_f32(const char *prefix, int n, const swath_tensor *t);

#endif

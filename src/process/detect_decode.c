/* detect_decode.c: a detection model's raw output (docs/models.md: K class
 * heatmaps, then dx, dy, w, h, at stride R) decoded into boxes, and the
 * class-aware suppression that keeps one box per object across chips.
 *
 * A box closer than `edge` pixels to its chip's edge is dropped: the object
 * runs on beyond the chip and a neighbouring chip, which overlaps this one,
 * sees it whole (for objects up to overlap - 2 * edge pixels). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "process/detect_int.h"

int detect_boxes_push(detect_boxes *b, detect_box box) {
  if (b->n == b->cap) {
    int cap = b->cap ? 2 * b->cap : 256;
    detect_box *v = realloc(b->v, (size_t)cap * sizeof *v);
    if (!v) return swath_error_set(SWATH_ENOMEM, "out of memory");
    b->v = v, b->cap = cap;
  }
  b->v[b->n++] = box;
  return 0;
}

void detect_boxes_free(detect_boxes *b) {
  free(b->v);
  memset(b, 0, sizeof *b);
}

int detect_check_output(const detect_cfg *c, const swath_tensor_info *t, const char *model) {
  const int64_t *s = t->shape;
  int K = c->nclasses;
  switch (c->kind) {
  case KIND_DETECTION:
    if (t->ndim != 4 || (s[1] > 0 && s[1] != K + 4) || (s[2] > 0 && c->size % s[2]) ||
        (s[3] > 0 && c->size % s[3]))
      return swath_error_set(SWATH_EINVAL,
                             "model '%s': detection needs output 0 as Nx%dxHxW "
                             "(%d classes + dx, dy, w, h; H, W dividing chip.size %d), it has "
                             "%d dims with %lld channels",
                             model, K + 4, K, c->size, t->ndim, t->ndim > 1 ? (long long)s[1] : 0);
    break;
  case KIND_SEGMENTATION:
    if (t->ndim != 4 || (s[1] > 0 && s[1] != K) || (s[2] > 0 && c->size % s[2]))
      return swath_error_set(SWATH_EINVAL,
                             "model '%s': segmentation needs output 0 as Nx%dxHxW "
                             "(one map per class), it has %d dims",
                             model, K, t->ndim);
    break;
  case KIND_CLASSIFICATION:
    if (t->ndim != 2 || (s[1] > 0 && s[1] != K))
      return swath_error_set(SWATH_EINVAL,
                             "model '%s': classification needs output 0 as Nx%d "
                             "(one score per class), it has %d dims",
                             model, K, t->ndim);
    break;
  }
  return 0;
}

int detect_decode_boxes(const detect_cfg *c, const swath_tensor *out, int k, double ox, double oy,
                        detect_boxes *boxes) {
  int K = c->nclasses;
  if (out->ndim != 4 || out->shape[0] <= k || out->shape[1] != K + 4 || out->shape[2] < 1 ||
      out->shape[3] < 1 || c->size % out->shape[2] || c->size % out->shape[3])
    return swath_error_set(SWATH_EIO,
                           "the model answered output 0 of shape %lldx%lldx%lldx%lld, "
                           "not Nx%dxHxW for %d-pixel chips",
                           (long long)out->shape[0], (long long)(out->ndim > 1 ? out->shape[1] : 0),
                           (long long)(out->ndim > 2 ? out->shape[2] : 0),
                           (long long)(out->ndim > 3 ? out->shape[3] : 0), K + 4, c->size);
  int h = (int)out->shape[2], w = (int)out->shape[3];
  double R = (double)c->size / w, Ry = (double)c->size / h;
  size_t plane = (size_t)h * w;
  const float *base = out->data + (size_t)k * (K + 4) * plane;
  const float *dx = base + (size_t)K * plane, *dy = dx + plane, *bw = dy + plane, *bh = bw + plane;
  for (int cl = 0; cl < K; cl++) {
    const float *heat = base + (size_t)cl * plane;
    for (int i = 0; i < h; i++)
      for (int j = 0; j < w; j++) {
        float v = heat[(size_t)i * w + j];
        if (!(v >= c->min_score)) continue;
        int peak = 1; /* the largest of its 3x3 neighbourhood (ties: the first) */
        for (int a = -1; a <= 1 && peak; a++)
          for (int b = -1; b <= 1 && peak; b++) {
            int y = i + a, x = j + b;
            if ((a || b) && y >= 0 && y < h && x >= 0 && x < w) {
              float u = heat[(size_t)y * w + x];
              peak = u < v || (u == v && (a > 0 || (a == 0 && b > 0)));
            }
          }
        if (!peak) continue;
        size_t p = (size_t)i * w + j;
        double cx = (j + dx[p]) * R, cy = (i + dy[p]) * Ry, hw = bw[p] / 2, hh = bh[p] / 2;
        if (!(hw > 0) || !(hh > 0)) continue;
        if (cx - hw < c->edge || cy - hh < c->edge || cx + hw > c->size - c->edge ||
            cy + hh > c->size - c->edge)
          continue; /* cut by the chip's edge */
        int r = detect_boxes_push(
            boxes, (detect_box){ox + cx - hw, oy + cy - hh, ox + cx + hw, oy + cy + hh, v, cl});
        if (r) return r;
      }
  }
  return 0;
}

static double iou(const detect_box *a, const detect_box *b) {
  double w = fmin(a->x1, b->x1) - fmax(a->x0, b->x0), h = fmin(a->y1, b->y1) - fmax(a->y0, b->y0);
  if (w <= 0 || h <= 0) return 0;
  double i = w * h;
  return i / ((a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - i);
}

static int by_score(const void *pa, const void *pb) {
  const detect_box *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->cls != b->cls) return a->cls - b->cls;
  if (a->y0 != b->y0) return a->y0 < b->y0 ? -1 : 1;
  if (a->x0 != b->x0) return a->x0 < b->x0 ? -1 : 1;
  return 0;
}

void detect_nms(detect_boxes *b, double thr) {
  qsort(b->v, (size_t)b->n, sizeof *b->v, by_score);
  int kept = 0;
  for (int i = 0; i < b->n; i++) {
    int keep = 1;
    for (int k = 0; k < kept && keep; k++)
      keep = b->v[k].cls != b->v[i].cls || iou(&b->v[k], &b->v[i]) <= thr;
    if (keep) b->v[kept++] = b->v[i];
  }
  b->n = kept;
}

int detect_add_box(const swath_host *host, swath_tile_ctx *ctx, const detect_cfg *c,
                   const detect_box *b) {
  double x0 = ctx->minx + b->x0 * ctx->res_x, x1 = ctx->minx + b->x1 * ctx->res_x;
  double y0 = ctx->maxy - b->y0 * ctx->res_y, y1 = ctx->maxy - b->y1 * ctx->res_y;
  char wkt[400];
  snprintf(wkt, sizeof wkt,
           "POLYGON ((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g))", x0, y0, x1,
           y0, x1, y1, x0, y1, x0, y0);
  swath_feature f = {
      .wkt = wkt,
      .anchor_col = (b->x0 + b->x1) / 2,
      .anchor_row = (b->y0 + b->y1) / 2,
      .cls = c->classes[b->cls],
      .score = b->score,
  };
  return host->feature_add(ctx->features, &f);
}

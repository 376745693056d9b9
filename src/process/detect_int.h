/* detect_int.h: what the parts of the `detect` process share (private to
 * src/process/detect*.c).
 *
 *   detect.c         parameters, the model, the chip lattice, batches
 *   detect_decode.c  raw outputs -> boxes (detection), scores
 *                    (classification), non-maximum suppression
 *   detect_segment.c per-pixel scores -> polygons (segmentation)
 *
 * Chips lie on one lattice per zoom, anchored at the grid's origin: chip
 * (i, j) covers columns [j*stride, j*stride + size) of the zoom's whole
 * pixel lattice (stride = size - overlap), so the chips that see an object
 * are the same whatever the metatiling; a process tile runs every chip
 * that lies wholly inside its buffered block (docs/detection.md). */
#ifndef SWATH_PROCESS_DETECT_INT_H
#define SWATH_PROCESS_DETECT_INT_H

#include "infer/model.h"
#include "swath/plugin.h"

#define DETECT_MAX_BANDS 16
#define DETECT_MAX_CLASSES 64

typedef enum { KIND_DETECTION, KIND_SEGMENTATION, KIND_CLASSIFICATION } detect_kind;

typedef struct detect_cfg {
  detect_kind kind;
  int size, overlap, stride;
  int nbands, bands[DETECT_MAX_BANDS]; /* 0-based bands of the first input */
  double scale, mean[DETECT_MAX_BANDS], std[DETECT_MAX_BANDS];
  int nclasses;
  char *classes[DETECT_MAX_CLASSES];
  double min_score, nms_iou, mask_threshold, simplify;
  int edge;   /* detection: boxes closer than this to a chip's edge are cut: dropped */
  int batch;  /* chips per model call */
  int margin; /* pixels around the tile whose boxes take part in its suppression */
} detect_cfg;

/* A box in block pixels. */
typedef struct detect_box {
  double x0, y0, x1, y1, score;
  int cls;
} detect_box;

typedef struct detect_boxes {
  int n, cap;
  detect_box *v;
} detect_boxes;

int detect_boxes_push(detect_boxes *b, detect_box box);
void detect_boxes_free(detect_boxes *b);

/* Decode chip `k` of a detection output (N x (K+4) x h x w) into boxes in
 * block pixels (the chip's top-left at ox, oy), dropping those cut by the
 * chip's edge. SWATH_EIO if the output's shape is not the layout's. */
int detect_decode_boxes(const detect_cfg *c, const swath_tensor *out, int k, double ox, double oy,
                        detect_boxes *boxes);
/* Class-aware greedy non-maximum suppression, in place: highest score
 * first (ties: class, then position, so the order never depends on the
 * order boxes were found in). */
void detect_nms(detect_boxes *b, double iou);
/* Check an output's shape against the kind's layout for `n` chips (shape
 * dims of -1 pass). SWATH_EINVAL naming what differs. */
int detect_check_output(const detect_cfg *c, const swath_tensor_info *t, const char *model);

/* The features of a tile ctx: a box as a polygon in the grid's CRS. */
int detect_add_box(const swath_host *host, swath_tile_ctx *ctx, const detect_cfg *c,
                   const detect_box *b);

/* Segmentation: the chips' class maps are stitched into `prob` (K x H x W
 * floats over the block, each pixel from the chip whose core holds it);
 * then polygons per class. */
int detect_segment_features(const swath_host *host, swath_tile_ctx *ctx, const detect_cfg *c,
                            const float *prob, int w, int h);

#endif

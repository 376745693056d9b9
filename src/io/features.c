/* features.c: the per-task collector of a vector process's features
 * (features.h): which tile owns a feature, decided once here for every
 * vector process. */
#include "io/features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int swath_features_add(swath_features *fs, const swath_feature *f) {
  if (!f->wkt || !f->wkt[0]) return swath_error_set(SWATH_EINVAL, "a feature without a geometry");
  if (!isfinite(f->anchor_col) || !isfinite(f->anchor_row))
    return swath_error_set(SWATH_EINVAL, "a feature whose anchor is not a number");
  fs->offered++;
  /* The owner, in the zoom's lattice: the same tile from any block. */
  double gc = (double)fs->col0 + f->anchor_col, gr = (double)fs->row0 + f->anchor_row;
  int64_t tx = (int64_t)floor(gc / fs->tile_width), ty = (int64_t)floor(gr / fs->tile_height);
  int64_t ix = tx - fs->tx0, iy = ty - fs->ty0;
  if (ix < 0 || iy < 0 || ix >= fs->ntx || iy >= fs->nty) return 0; /* another tile's */
  if (fs->made && !fs->made[iy * fs->m + ix]) return 0;             /* outside the area */
  if (fs->n == fs->cap) {
    int cap = fs->cap ? 2 * fs->cap : 64;
    swath_feature_rec *v = realloc(fs->v, (size_t)cap * sizeof *v);
    if (!v) return swath_error_set(SWATH_ENOMEM, "out of memory");
    fs->v = v, fs->cap = cap;
  }
  swath_feature_rec *r = &fs->v[fs->n];
  *r = (swath_feature_rec){
      dup_or_null(f->wkt), dup_or_null(f->cls), f->score, f->has_value, f->value,
      {fs->zoom, tx, ty}};
  if (!r->wkt || (f->cls && !r->cls)) {
    free(r->wkt);
    free(r->cls);
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  fs->n++;
  return 0;
}

void swath_features_clear(swath_features *fs) {
  for (int i = 0; i < fs->n; i++) {
    free(fs->v[i].wkt);
    free(fs->v[i].cls);
  }
  free(fs->v);
  fs->v = NULL;
  fs->n = fs->cap = 0;
  fs->offered = 0;
}

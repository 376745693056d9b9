/* overview.c: see overview.h for the invariant this keeps on disk. */
#include "engine/overview.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/raster.h"

/* The first tile of n's child tile grid (one zoom down), whose side is 2m. */
static void child_origin(const swath_overview_ctx *c, swath_tile n, int64_t *ox, int64_t *oy) {
  *ox = 2 * n.x * c->m;
  *oy = 2 * n.y * c->m;
}

void swath_overview_note_child(const swath_overview_ctx *c, swath_plan_node *parent,
                               swath_tile child, const unsigned char *handled) {
  if (!parent->handled || !handled) return;
  int64_t ox, oy;
  child_origin(c, parent->mt, &ox, &oy);
  swath_tile_range tr = swath_grid_metatile_tiles(c->g, child, c->m);
  for (int64_t ty = tr.miny; ty <= tr.maxy; ty++)
    for (int64_t tx = tr.minx; tx <= tr.maxx; tx++)
      if (handled[(ty - tr.miny) * c->m + (tx - tr.minx)])
        parent->handled[(ty - oy) * 2 * c->m + (tx - ox)] = 1;
}

int swath_overview_load_tile(const swath_overview_ctx *c, swath_tile t, swath_raster *block, int x0,
                             int y0) {
  const swath_tile_matrix *tm = &c->g->m[t.z];
  int w = block->width,
      th = tm->tile_height < block->height - y0 ? tm->tile_height : block->height - y0;
  for (int y = 0; y < th; y++)
    memset(block->mask + (size_t)(y0 + y) * w + x0, 0,
           (size_t)(tm->tile_width < w - x0 ? tm->tile_width : w - x0));
  swath_raster tile;
  int r = c->sink->read_tile(c->sink_state, t, &tile);
  if (r == SWATH_EEMPTY) return 0;
  if (r) return r;
  size_t es = swath_dtype_size(block->dtype);
  int bands = tile.bands < block->bands ? tile.bands : block->bands;
  if (tile.dtype != block->dtype) swath_raster_convert(&tile, block->dtype);
  for (int y = 0; y < tile.height && y0 + y < block->height; y++) {
    int cw = tile.width < w - x0 ? tile.width : w - x0;
    for (int b = 0; b < bands; b++)
      memcpy((char *)swath_raster_band(block, b) + ((size_t)(y0 + y) * w + x0) * es,
             (char *)swath_raster_band(&tile, b) + (size_t)y * tile.width * es, (size_t)cw * es);
    if (tile.mask)
      memcpy(block->mask + (size_t)(y0 + y) * w + x0, tile.mask + (size_t)y * tile.width,
             (size_t)cw);
    else
      memset(block->mask + (size_t)(y0 + y) * w + x0, 255, (size_t)cw);
  }
  swath_raster_free(&tile);
  return 1;
}

int swath_overview_load(const swath_overview_ctx *c, swath_tile mt, swath_raster *block) {
  int w, h;
  swath_grid_metatile_size(c->g, mt, c->m, &w, &h);
  int r = swath_raster_alloc(block, w, h, c->bands, c->dtype);
  if (r) return r;
  swath_tile_range tr = swath_grid_metatile_tiles(c->g, mt, c->m);
  const swath_tile_matrix *tm = &c->g->m[mt.z];
  for (int64_t ty = tr.miny; ty <= tr.maxy; ty++) {
    for (int64_t tx = tr.minx; tx <= tr.maxx; tx++) {
      int x0 = (int)(tx - tr.minx) * tm->tile_width, y0 = (int)(ty - tr.miny) * tm->tile_height;
      r = swath_overview_load_tile(c, (swath_tile){mt.z, tx, ty}, block, x0, y0);
      if (r < 0) {
        swath_raster_free(block);
        return r;
      }
    }
  }
  return 0;
}

/* Copy the window (x0, y0, w, h) of src into the same window of dst (two
 * blocks of one metatile: same size, type and bands), clipped to them. */
static void copy_window(swath_raster *dst, const swath_raster *src, int x0, int y0, int w, int h) {
  if (x0 + w > dst->width) w = dst->width - x0;
  if (y0 + h > dst->height) h = dst->height - y0;
  size_t es = swath_dtype_size(dst->dtype);
  for (int y = y0; y < y0 + h; y++) {
    size_t off = (size_t)y * dst->width + x0;
    for (int b = 0; b < dst->bands; b++)
      memcpy((char *)swath_raster_band(dst, b) + off * es,
             (char *)swath_raster_band(src, b) + off * es, (size_t)w * es);
    memcpy(dst->mask + off, src->mask + off, (size_t)w);
  }
}

/* 1 if the window differs between two blocks of one metatile: in the mask,
 * or in a band where both are valid. */
static int window_differs(const swath_raster *a, const swath_raster *b, int x0, int y0, int w,
                          int h) {
  size_t es = swath_dtype_size(a->dtype);
  for (int y = y0; y < y0 + h && y < a->height; y++) {
    for (int x = x0; x < x0 + w && x < a->width; x++) {
      size_t i = (size_t)y * a->width + x;
      if ((a->mask[i] != 0) != (b->mask[i] != 0)) return 1;
      if (!a->mask[i]) continue;
      for (int k = 0; k < a->bands; k++)
        if (memcmp((char *)swath_raster_band(a, k) + i * es,
                   (char *)swath_raster_band(b, k) + i * es, es))
          return 1;
    }
  }
  return 0;
}

/* Which of n's tiles to write or remove (see overview.h). */
static void choose_tiles(const swath_overview_ctx *c, const swath_plan_node *n,
                         const swath_raster *block, const swath_raster *old,
                         unsigned char *select) {
  int has_tiles = n->stored == SWATH_TASK_DONE || n->stored == SWATH_TASK_STALE;
  swath_tile_range tr = swath_grid_metatile_tiles(c->g, n->mt, c->m);
  const swath_tile_matrix *tm = &c->g->m[n->mt.z];
  int64_t ox, oy;
  child_origin(c, n->mt, &ox, &oy);
  memset(select, 0, (size_t)c->m * c->m);
  for (int64_t ty = tr.miny; ty <= tr.maxy; ty++) {
    for (int64_t tx = tr.minx; tx <= tr.maxx; tx++) {
      int i = (int)((ty - tr.miny) * c->m + (tx - tr.minx));
      int cx = (int)(2 * tx - ox), cy = (int)(2 * ty - oy), s2 = 2 * c->m;
      int changed = n->handled[cy * s2 + cx] || n->handled[cy * s2 + cx + 1] ||
                    n->handled[(cy + 1) * s2 + cx] || n->handled[(cy + 1) * s2 + cx + 1];
      /* A tile its record does not cover was never made (the task was cut
       * by an earlier run's area): made now, if in this run's area. */
      int uncovered = n->stored == SWATH_TASK_DONE && !n->covered[i];
      if (!has_tiles || changed || uncovered)
        select[i] = 1;
      else if (n->stored == SWATH_TASK_STALE && old)
        select[i] = (unsigned char)window_differs(block, old, (int)(tx - tr.minx) * tm->tile_width,
                                                  (int)(ty - tr.miny) * tm->tile_height,
                                                  tm->tile_width, tm->tile_height);
    }
  }
}

int swath_overview_build(const swath_overview_ctx *c, swath_plan_node *n, swath_raster *block,
                         unsigned char *select) {
  swath_tile kids[4];
  swath_tile_children(n->mt, kids);
  int r = 0, keep = 0;
  int has_tiles = n->stored == SWATH_TASK_DONE || n->stored == SWATH_TASK_STALE;
  if (!n->buf.data) {
    int w, h;
    swath_grid_metatile_size(c->g, n->mt, c->m, &w, &h);
    if ((r = swath_raster_alloc(&n->buf, w, h, c->bands, c->dtype))) return r;
    memset(n->buf.mask, 0, (size_t)w * h);
  }
  const swath_tile_matrix *tm = &c->g->m[n->mt.z];
  int qw = c->m * tm->tile_width / 2, qh = c->m * tm->tile_height / 2;
  for (int q = 0; q < 4 && !r; q++) {
    keep |= n->child[q] == SWATH_CHILD_KEEP;
    if (n->child[q] != SWATH_CHILD_ONDISK) continue;
    swath_raster kid;
    if ((r = swath_overview_load(c, kids[q], &kid))) break;
    swath_raster_downsample2(&kid, &n->buf, (q & 1) * qw, (q >> 1) * qh, c->average);
    swath_raster_free(&kid);
  }
  /* The parent's own pixels: kept where a child was never computed, and
   * compared against where a STALE parent may be out of date. */
  swath_raster old = {0};
  int have_old = 0;
  if (!r && has_tiles && (keep || n->stored == SWATH_TASK_STALE)) {
    r = swath_overview_load(c, n->mt, &old);
    have_old = !r;
  }
  for (int q = 0; q < 4 && !r && have_old; q++)
    if (n->child[q] == SWATH_CHILD_KEEP)
      copy_window(&n->buf, &old, (q & 1) * qw, (q >> 1) * qh, qw, qh);
  *block = n->buf; /* take ownership */
  memset(&n->buf, 0, sizeof n->buf);
  if (!r) choose_tiles(c, n, block, have_old ? &old : NULL, select);
  if (have_old) swath_raster_free(&old);
  if (r) swath_raster_free(block);
  return r;
}

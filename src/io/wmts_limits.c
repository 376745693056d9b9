/* wmts_limits.c: a WMTS layer's TileMatrixSetLimits, and which way their
 * rows count.
 *
 * The standard counts TileRow from the top of the matrix, in GetTile and in
 * the limits alike. MapCache 1.14 writes the limits with rows counted from
 * the bottom (its own tile order) while its GetTile counts them from the top,
 * and it names the matrices of its limits "{set}:{index}" rather than by
 * their identifier. The numbers alone cannot tell the two orders apart (a
 * range lies inside the matrix either way, and the levels of a quadtree nest
 * either way), so the order is decided once per document:
 *
 *   1. by the layer's WGS84BoundingBox, where it tells the two readings
 *      apart: at the finest matrix whose row range is not symmetric, the
 *      reading whose tiles overlap the box more wins (a whole-world box
 *      overlaps both alike and decides nothing);
 *   2. else limits named "{set}:{index}", MapCache's mark, count from the
 *      bottom;
 *   3. else from the top, as the standard says.
 *
 * A matrix whose row range is symmetric reads the same both ways. Matrices
 * the limits do not name are not limited. The result is r->limits in the
 * top-down rows every other part of swath uses. */
#include "io/wmts_limits.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/area.h"
#include "core/error.h"
#include "core/log.h"

typedef struct raw_limit {
  int64_t row0, row1, col0, col1; /* as written */
} raw_limit;

static int parse_index(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
    end++;
  if (end == s || *end || errno || v < 0) return -1;
  *out = v;
  return 0;
}

/* The zoom a limit's TileMatrix names: a matrix identifier, or MapCache's
 * "{set}:{index}" (the identifier after the colon, else the index); -1 if
 * none. */
static int limit_zoom(const swath__remote *r, const char *name, const char *tms_id,
                      int *set_named) {
  const swath_grid *g = &r->tms;
  *set_named = 0;
  for (int z = g->min_zoom; z <= g->max_zoom; z++)
    if (strcmp(g->m[z].id, name) == 0) return z;
  size_t n = strlen(tms_id);
  if (strncmp(name, tms_id, n) != 0 || name[n] != ':') return -1;
  const char *rest = name + n + 1;
  *set_named = 1;
  for (int z = g->min_zoom; z <= g->max_zoom; z++)
    if (strcmp(g->m[z].id, rest) == 0) return z;
  int64_t k;
  return parse_index(rest, &k) == 0 && k <= g->max_zoom ? (int)k : -1;
}

/* Area of the part of `b` covered by rows row0..row1 (from the top) and
 * cols col0..col1 of matrix z. */
static double overlap(const swath_grid *g, int z, int64_t row0, int64_t row1, int64_t col0,
                      int64_t col1, swath_bounds b) {
  const swath_tile_matrix *m = &g->m[z];
  double tw = m->tile_width * m->cell_size, th = m->tile_height * m->cell_size;
  double x0 = fmax(b.minx, m->origin_x + (double)col0 * tw);
  double x1 = fmin(b.maxx, m->origin_x + (double)(col1 + 1) * tw);
  double y0 = fmax(b.miny, m->origin_y - (double)(row1 + 1) * th);
  double y1 = fmin(b.maxy, m->origin_y - (double)row0 * th);
  return x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;
}

/* 1 if the rows count from the bottom; `why` says how that was decided. */
static int rows_from_bottom(const swath__remote *r, const raw_limit *lim, const unsigned char *has,
                            int any_set_named, const swath_bounds *bbox, const char **why) {
  const swath_grid *g = &r->tms;
  int zf = -1; /* the finest matrix whose row range is not symmetric */
  for (int z = g->min_zoom; z <= g->max_zoom; z++)
    if (has[z] && lim[z].row0 != g->m[z].matrix_height - 1 - lim[z].row1) zf = z;
  if (zf < 0) {
    *why = "every row range is symmetric: both orders agree";
    return 0;
  }
  swath_bounds b;
  if (bbox && swath_bounds_transform(*bbox, "EPSG:4326", g->crs, &b) == 0) {
    int64_t h = g->m[zf].matrix_height;
    const raw_limit *l = &lim[zf];
    double top = overlap(g, zf, l->row0, l->row1, l->col0, l->col1, b);
    double bottom = overlap(g, zf, h - 1 - l->row1, h - 1 - l->row0, l->col0, l->col1, b);
    if (fabs(top - bottom) > 1e-6 * fmax(top, bottom)) {
      *why = "by the layer's WGS84BoundingBox";
      return bottom > top;
    }
  }
  swath_error_clear();
  if (any_set_named) {
    *why = "named {set}:{index}, as MapCache writes them";
    return 1;
  }
  *why = "as the standard says";
  return 0;
}

int swath__wmts_limits(swath__remote *r, const CPLXMLNode *link, const char *tms_id,
                       const swath_bounds *bbox) {
  const CPLXMLNode *set = CPLGetXMLNode((CPLXMLNode *)link, "TileMatrixSetLimits");
  if (!set) return 0;
  const swath_grid *g = &r->tms;
  raw_limit lim[SWATH_GRID_MAX_ZOOMS];
  unsigned char has[SWATH_GRID_MAX_ZOOMS] = {0};
  int any_set_named = 0, n = 0;
  for (const CPLXMLNode *c = set->psChild; c; c = c->psNext) {
    if (c->eType != CXT_Element || strcmp(c->pszValue, "TileMatrixLimits") != 0) continue;
    const char *name = CPLGetXMLValue(c, "TileMatrix", "");
    int named, z = limit_zoom(r, name, tms_id, &named);
    if (z < 0) {
      swath_debug("input %s: TileMatrixSetLimits name an unknown matrix '%s': ignored", r->name,
                  name);
      continue;
    }
    raw_limit *l = &lim[z];
    if (parse_index(CPLGetXMLValue(c, "MinTileRow", ""), &l->row0) ||
        parse_index(CPLGetXMLValue(c, "MaxTileRow", ""), &l->row1) ||
        parse_index(CPLGetXMLValue(c, "MinTileCol", ""), &l->col0) ||
        parse_index(CPLGetXMLValue(c, "MaxTileCol", ""), &l->col1) || l->row0 > l->row1 ||
        l->col0 > l->col1)
      return swath_error_set(
          SWATH_EINVAL,
          "input %s: the TileMatrixLimits of matrix %s are not "
          "MinTileRow <= MaxTileRow and MinTileCol <= MaxTileCol (whole numbers)",
          r->name, name);
    any_set_named |= named;
    has[z] = 1;
    n++;
  }
  const char *why;
  int flip = rows_from_bottom(r, lim, has, any_set_named, bbox, &why);
  for (int z = g->min_zoom; z <= g->max_zoom; z++) {
    if (!has[z]) continue;
    const swath_tile_matrix *m = &g->m[z];
    int64_t h = m->matrix_height;
    int64_t row0 = flip ? h - 1 - lim[z].row1 : lim[z].row0;
    int64_t row1 = flip ? h - 1 - lim[z].row0 : lim[z].row1;
    /* (a range beyond the matrix is cut to it) */
    r->has_limits[z] = 1;
    r->limits[z] = (swath_tile_range){
        z, lim[z].col0 < 0 ? 0 : lim[z].col0, row0 < 0 ? 0 : row0,
        lim[z].col1 < m->matrix_width ? lim[z].col1 : m->matrix_width - 1, row1 < h ? row1 : h - 1};
  }
  swath_debug("input %s: TileMatrixSetLimits for %d matrices, rows counted from the %s (%s)",
              r->name, n, flip ? "bottom" : "top", why);
  return 0;
}

/* area_lonlat.c: an area's extent in lon/lat, as TileJSON and STAC want it:
 * one box, or two boxes that meet at the antimeridian when the area crosses
 * it, and a point inside the area for a map's initial view.
 *
 * Each polygon of the area gives a longitude interval (its box in lon/lat;
 * one that crosses +-180 is cut in two there). Merged, the intervals leave
 * gaps on the circle of longitudes. The smallest extent holding them all
 * starts after the widest gap: when that gap is not the one through +-180,
 * the extent crosses the antimeridian. Zero-width intervals (a box that
 * only touches +-180, as rounding can make at the grid's edge) are dropped:
 * they would open a false second part. */
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdlib.h>

#include "core/area.h"
#include "core/error.h"

#define MIN_WIDTH 1e-9 /* degrees: narrower intervals are dropped, see above */
#define SNAP 1e-9      /* degrees: longitudes this close to +-180 are +-180 */

typedef struct arc {
  double w, e, s, n; /* w <= e, both within [-180, 180] */
} arc;

static int arc_cmp(const void *a, const void *b) {
  double d = ((const arc *)a)->w - ((const arc *)b)->w;
  return (d > 0) - (d < 0);
}

static void add_arc(arc *v, int *k, double w, double e, double s, double n) {
  if (e - w >= MIN_WIDTH) v[(*k)++] = (arc){w, e, s, n};
}

/* The lon/lat box of one polygon's envelope as one or two arcs. */
static void part_arcs(OGRCoordinateTransformationH ct, OGRGeometryH part, arc *v, int *k) {
  OGREnvelope e;
  OGR_G_GetEnvelope(part, &e);
  double x0, y0, x1, y1;
  if (!OCTTransformBounds(ct, e.MinX, e.MinY, e.MaxX, e.MaxY, &x0, &y0, &x1, &y1, 21)) return;
  /* The grid's edge comes back a rounding error inside +-180 (Web Mercator). */
  x0 = x0 < -180 + SNAP ? -180 : x0, x1 = x1 > 180 - SNAP ? 180 : x1;
  if (x0 <= x1) {
    add_arc(v, k, x0, x1, y0, y1);
  } else {
    add_arc(v, k, x0, 180, y0, y1);
    add_arc(v, k, -180, x1, y0, y1);
  }
}

/* Merge sorted arcs in place; returns how many remain. */
static int merge(arc *v, int k) {
  int m = 0;
  for (int i = 1; i < k; i++) {
    if (v[i].w <= v[m].e + MIN_WIDTH) {
      v[m].e = fmax(v[m].e, v[i].e);
      v[m].s = fmin(v[m].s, v[i].s);
      v[m].n = fmax(v[m].n, v[i].n);
    } else {
      v[++m] = v[i];
    }
  }
  return k ? m + 1 : 0;
}

static swath_bounds span(const arc *v, int from, int to) {
  swath_bounds b = {v[from].w, v[from].s, v[to].e, v[from].n};
  for (int i = from + 1; i <= to; i++)
    b.miny = fmin(b.miny, v[i].s), b.maxy = fmax(b.maxy, v[i].n);
  return b;
}

/* The extent of k merged arcs: after the widest gap. */
static void extent_of(const arc *v, int k, swath_lonlat_extent *out) {
  double widest = 180 - v[k - 1].e + (v[0].w + 180); /* the gap through +-180 */
  int cut = -1;
  for (int i = 0; i + 1 < k; i++)
    if (v[i + 1].w - v[i].e > widest) widest = v[i + 1].w - v[i].e, cut = i;
  if (cut < 0) {
    out->n = 1;
    out->box[0] = span(v, 0, k - 1);
  } else {
    out->n = 2;
    out->box[0] = span(v, cut + 1, k - 1);
    out->box[1] = span(v, 0, cut);
  }
}

/* A point inside the geometry, in lon/lat; 0 if there is none. */
static int inner_point(OGRCoordinateTransformationH ct, OGRGeometryH geom, double *lon,
                       double *lat) {
  CPLPushErrorHandler(CPLQuietErrorHandler);
  OGRGeometryH p = OGR_G_PointOnSurface(geom);
  CPLPopErrorHandler();
  if (!p) return 0;
  int ok = !OGR_G_IsEmpty(p);
  double x = ok ? OGR_G_GetX(p, 0) : 0, y = ok ? OGR_G_GetY(p, 0) : 0;
  OGR_G_DestroyGeometry(p);
  if (!ok || !OCTTransform(ct, 1, &x, &y, NULL)) return 0;
  *lon = x, *lat = y;
  return 1;
}

static OGRSpatialReferenceH srs_gis(const char *def) {
  OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
  if (s && OSRSetFromUserInput(s, def) != OGRERR_NONE) {
    OSRDestroySpatialReference(s);
    return NULL;
  }
  if (s) OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
  return s;
}

int swath_area_lonlat_extent(const swath_grid *g, const swath_area *a, swath_lonlat_extent *out) {
  *out = (swath_lonlat_extent){1, {{-180, -90, 180, 90}, {0, 0, 0, 0}}, 0, 0};
  OGRGeometryH geom = swath__area_geometry(a);
  int parts =
      wkbFlatten(OGR_G_GetGeometryType(geom)) == wkbPolygon ? 1 : OGR_G_GetGeometryCount(geom);
  if (parts < 1) return 0;
  arc *v = malloc(2 * (size_t)parts * sizeof *v);
  if (!v) return swath_error_set(SWATH_ENOMEM, "area: out of memory");
  CPLPushErrorHandler(CPLQuietErrorHandler);
  OGRSpatialReferenceH src = srs_gis(g->crs), dst = srs_gis("EPSG:4326");
  OGRCoordinateTransformationH ct = src && dst ? OCTNewCoordinateTransformation(src, dst) : NULL;
  CPLPopErrorHandler();
  int k = 0;
  for (int i = 0; ct && i < parts; i++)
    part_arcs(ct, parts == 1 ? geom : OGR_G_GetGeometryRef(geom, i), v, &k);
  qsort(v, (size_t)k, sizeof *v, arc_cmp);
  k = merge(v, k);
  if (k > 0) extent_of(v, k, out);
  free(v);
  /* Else the middle of the widest box, which lies on data for box areas. */
  if (!ct || !inner_point(ct, geom, &out->lon, &out->lat)) {
    int w =
        out->n == 2 && out->box[1].maxx - out->box[1].minx > out->box[0].maxx - out->box[0].minx;
    out->lon = (out->box[w].minx + out->box[w].maxx) / 2;
    out->lat = (out->box[w].miny + out->box[w].maxy) / 2;
  }
  if (ct) OCTDestroyCoordinateTransformation(ct);
  if (src) OSRDestroySpatialReference(src);
  if (dst) OSRDestroySpatialReference(dst);
  return 0;
}

/* area.c: areas as OGR polygons in the grid CRS, and the tiles that meet them.
 *
 * Invariants: an area's geometry is a valid, non-empty Polygon or
 * MultiPolygon in the grid CRS (x/y order), already clipped to the grid
 * extent; its prepared geometry and bbox always describe that geometry. Every
 * OSR object is set to traditional GIS order (x = lon), the order the grid
 * stores coordinates in. Boxes are shrunk by 1e-7 of their size before
 * intersection tests, so a tile that shares only an edge with the area is
 * not part of it, even after reprojection rounding. */
#include "core/area.h"

#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

#define SHRINK 1e-7      /* of a box's size, see above */
#define DENSIFY_STEPS 64 /* vertices per box edge before reprojection */
#define BLOCK 32         /* tiles tested as one box before tile by tile */

struct swath_area {
  OGRGeometryH geom;
  OGRPreparedGeometryH prep;
  swath_bounds bbox;
};

/* ---- helpers ------------------------------------------------------------- */

static OGRSpatialReferenceH srs_from(const char *def) {
  OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
  if (!s) return NULL;
  CPLPushErrorHandler(CPLQuietErrorHandler);
  OGRErr err = OSRSetFromUserInput(s, def);
  CPLPopErrorHandler();
  if (err != OGRERR_NONE) {
    OSRDestroySpatialReference(s);
    return NULL;
  }
  OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
  return s;
}

int swath_bounds_transform(swath_bounds b, const char *from, const char *to, swath_bounds *out) {
  OGRSpatialReferenceH src = srs_from(from), dst = srs_from(to);
  OGRCoordinateTransformationH ct = src && dst ? OCTNewCoordinateTransformation(src, dst) : NULL;
  int rc = SWATH_EINVAL;
  if (ct) {
    if (OSRIsGeographic(src) && !OSRIsGeographic(dst)) {
      b.miny = b.miny < -85.06 ? -85.06 : b.miny;
      b.maxy = b.maxy > 85.06 ? 85.06 : b.maxy;
    }
    double x0, y0, x1, y1;
    if (b.miny < b.maxy &&
        OCTTransformBounds(ct, b.minx, b.miny, b.maxx, b.maxy, &x0, &y0, &x1, &y1, 21)) {
      *out = (swath_bounds){x0, y0, x1, y1};
      rc = 0;
    }
    OCTDestroyCoordinateTransformation(ct);
  }
  if (src) OSRDestroySpatialReference(src);
  if (dst) OSRDestroySpatialReference(dst);
  return rc ? swath_error_set(rc, "bounds %g,%g,%g,%g do not transform from %.60s to %.60s", b.minx,
                              b.miny, b.maxx, b.maxy, from, to)
            : 0;
}

static OGRGeometryH box_polygon(double x0, double y0, double x1, double y1) {
  OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
  OGR_G_AddPoint_2D(ring, x0, y0);
  OGR_G_AddPoint_2D(ring, x1, y0);
  OGR_G_AddPoint_2D(ring, x1, y1);
  OGR_G_AddPoint_2D(ring, x0, y1);
  OGR_G_AddPoint_2D(ring, x0, y0);
  OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
  OGR_G_AddGeometryDirectly(poly, ring);
  return poly;
}

/* Rewrite the five points of a polygon made by box_polygon, so hot loops
 * need no allocation. */
static void box_set(OGRGeometryH poly, double x0, double y0, double x1, double y1) {
  OGRGeometryH ring = OGR_G_GetGeometryRef(poly, 0);
  OGR_G_SetPoint_2D(ring, 0, x0, y0);
  OGR_G_SetPoint_2D(ring, 1, x1, y0);
  OGR_G_SetPoint_2D(ring, 2, x1, y1);
  OGR_G_SetPoint_2D(ring, 3, x0, y1);
  OGR_G_SetPoint_2D(ring, 4, x0, y0);
}

/* Add copies of every polygon inside g (any nesting, curves linearized) to
 * the multipolygon mp; points and lines are dropped. */
static void collect_polygons(OGRGeometryH g, OGRGeometryH mp) {
  if (!g || OGR_G_IsEmpty(g)) return;
  OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
  switch (t) {
  case wkbPolygon: {
    OGRGeometryH c = OGR_G_Clone(g);
    OGR_G_FlattenTo2D(c);
    OGR_G_AddGeometryDirectly(mp, c);
    break;
  }
  case wkbCurvePolygon:
  case wkbMultiSurface:
  case wkbCompoundCurve:
  case wkbPolyhedralSurface:
  case wkbTIN:
  case wkbTriangle: {
    OGRGeometryH lin = OGR_G_GetLinearGeometry(g, 0, NULL);
    if (!lin) break;
    OGRGeometryH mpl = OGR_G_ForceToMultiPolygon(lin);
    if (mpl && wkbFlatten(OGR_G_GetGeometryType(mpl)) == wkbMultiPolygon) {
      for (int i = 0; i < OGR_G_GetGeometryCount(mpl); i++)
        collect_polygons(OGR_G_GetGeometryRef(mpl, i), mp);
    }
    if (mpl) OGR_G_DestroyGeometry(mpl);
    break;
  }
  case wkbMultiPolygon:
  case wkbGeometryCollection:
    for (int i = 0; i < OGR_G_GetGeometryCount(g); i++)
      collect_polygons(OGR_G_GetGeometryRef(g, i), mp);
    break;
  default:
    break;
  }
}

/* Take ownership of g; return a multipolygon of its polygon parts. */
static OGRGeometryH polygons_of(OGRGeometryH g) {
  OGRGeometryH mp = OGR_G_CreateGeometry(wkbMultiPolygon);
  collect_polygons(g, mp);
  if (g) OGR_G_DestroyGeometry(g);
  return mp;
}

/* Valid polygons only: GEOS predicates and overlays misbehave on
 * self-intersecting rings, which real files contain. Each polygon is made
 * valid on its own and the parts are then unioned. A multipolygon of
 * neighbours (units that share borders, or overlap) is invalid only because
 * its parts touch or overlap, and MakeValid on the whole of it rebuilds it
 * from the linework of all rings together: overlaps (faces covered twice)
 * vanish, and so did whole units (14% of the area of the file that
 * tests/data/gen_boundaries.py makes). Takes ownership; returns a valid
 * multipolygon. */
static OGRGeometryH make_valid(OGRGeometryH mp) {
  if (OGR_G_IsEmpty(mp) || OGR_G_IsValid(mp)) return mp;
  OGRGeometryH parts = OGR_G_CreateGeometry(wkbMultiPolygon);
  for (int i = 0; i < OGR_G_GetGeometryCount(mp); i++) {
    OGRGeometryH p = OGR_G_GetGeometryRef(mp, i);
    OGRGeometryH v = OGR_G_IsValid(p) ? NULL : OGR_G_MakeValid(p);
    collect_polygons(v ? v : p, parts);
    if (v) OGR_G_DestroyGeometry(v);
  }
  OGR_G_DestroyGeometry(mp);
  OGRGeometryH u = OGR_G_GetGeometryCount(parts) > 1 ? OGR_G_UnionCascaded(parts) : NULL;
  if (!u) return parts;
  OGR_G_DestroyGeometry(parts);
  return polygons_of(u);
}

static swath_bounds envelope(OGRGeometryH g) {
  OGREnvelope e;
  OGR_G_GetEnvelope(g, &e);
  return (swath_bounds){e.MinX, e.MinY, e.MaxX, e.MaxY};
}

/* Move mp (owned, in src) into the grid CRS, clipped to the grid extent.
 * Returns the new geometry (possibly empty) or NULL with the error set. */
static OGRGeometryH to_grid(const swath_grid *g, OGRSpatialReferenceH src, OGRGeometryH mp,
                            const char *what) {
  OGRSpatialReferenceH dst = srs_from(g->crs);
  if (!dst) {
    OGR_G_DestroyGeometry(mp);
    swath_error_set(SWATH_EINVAL, "grid %s: CRS '%s' is not one GDAL knows", g->name, g->crs);
    return NULL;
  }
  mp = make_valid(mp);
  OGRGeometryH extent = box_polygon(g->extent.minx, g->extent.miny, g->extent.maxx, g->extent.maxy);
  if (!OGR_G_IsEmpty(mp) && !OSRIsSame(src, dst)) {
    OGRCoordinateTransformationH back = OCTNewCoordinateTransformation(dst, src);
    OGRCoordinateTransformationH fwd = OCTNewCoordinateTransformation(src, dst);
    if (!fwd) {
      if (back) OCTDestroyCoordinateTransformation(back);
      OGR_G_DestroyGeometry(mp);
      OGR_G_DestroyGeometry(extent);
      OSRDestroySpatialReference(dst);
      swath_error_set(SWATH_EINVAL, "%s: no transformation from its CRS to grid %s (%s): %s", what,
                      g->name, g->crs, CPLGetLastErrorMsg());
      return NULL;
    }
    /* Cut away what lies beyond the grid before projecting, so points that
     * have no image in the grid CRS (the poles in Web Mercator, the far side
     * of the world in UTM) never reach the transformation. */
    double x0, y0, x1, y1;
    if (back &&
        OCTTransformBounds(back, g->extent.minx, g->extent.miny, g->extent.maxx, g->extent.maxy,
                           &x0, &y0, &x1, &y1, 21) &&
        x0 < x1 && y0 < y1) {
      OGRGeometryH cut = box_polygon(x0, y0, x1, y1);
      OGRGeometryH in = OGR_G_Intersection(mp, cut);
      OGR_G_DestroyGeometry(cut);
      if (in) {
        OGR_G_DestroyGeometry(mp);
        mp = polygons_of(in);
      }
    }
    if (back) OCTDestroyCoordinateTransformation(back);
    /* Straight edges in one CRS are curves in another. */
    swath_bounds e = envelope(mp);
    double step = fmax(e.maxx - e.minx, e.maxy - e.miny) / DENSIFY_STEPS;
    if (step > 0 && !OGR_G_IsEmpty(mp)) OGR_G_Segmentize(mp, step);
    OGRErr err = OGR_G_IsEmpty(mp) ? OGRERR_NONE : OGR_G_Transform(mp, fwd);
    OCTDestroyCoordinateTransformation(fwd);
    if (err != OGRERR_NONE) {
      OGR_G_DestroyGeometry(mp);
      OGR_G_DestroyGeometry(extent);
      OSRDestroySpatialReference(dst);
      swath_error_set(SWATH_EINVAL, "%s: cannot be transformed to grid %s (%s): %s", what, g->name,
                      g->crs, CPLGetLastErrorMsg());
      return NULL;
    }
    mp = make_valid(mp);
  }
  OSRDestroySpatialReference(dst);
  OGRGeometryH clipped = OGR_G_IsEmpty(mp) ? NULL : OGR_G_Intersection(mp, extent);
  OGR_G_DestroyGeometry(mp);
  OGR_G_DestroyGeometry(extent);
  return polygons_of(clipped);
}

static int area_set(swath_area *a, OGRGeometryH geom) {
  if (a->prep) OGRDestroyPreparedGeometry(a->prep);
  if (a->geom) OGR_G_DestroyGeometry(a->geom);
  a->geom = geom;
  a->prep = OGRCreatePreparedGeometry(geom);
  a->bbox = envelope(geom);
  return a->prep ? 0
                 : swath_error_set(SWATH_EIO, "area: cannot prepare geometry (GDAL without "
                                              "GEOS?)");
}

/* Union the parts (owned) and wrap them as an area, or say that nothing of
 * `what` lies in the grid. */
static int finish(const swath_grid *g, OGRGeometryH mp, const char *what, swath_area **out) {
  if (OGR_G_IsEmpty(mp)) {
    OGR_G_DestroyGeometry(mp);
    return swath_error_set(SWATH_EINVAL, "%s does not intersect grid %s", what, g->name);
  }
  OGRGeometryH u = OGR_G_GetGeometryCount(mp) > 1 ? OGR_G_UnionCascaded(mp) : NULL;
  if (u) {
    OGR_G_DestroyGeometry(mp);
    mp = polygons_of(u);
  }
  swath_area *a = calloc(1, sizeof *a);
  if (!a) {
    OGR_G_DestroyGeometry(mp);
    return SWATH_ENOMEM;
  }
  int rc = area_set(a, mp);
  if (rc) {
    swath_area_free(a);
    return rc;
  }
  *out = a;
  return 0;
}

/* ---- constructors ---------------------------------------------------------- */

int swath_area_from_bounds(const swath_grid *g, swath_bounds b, const char *crs, swath_area **out) {
  *out = NULL;
  char what[200];
  snprintf(what, sizeof what, "area %.10g,%.10g,%.10g,%.10g (%s)", b.minx, b.miny, b.maxx, b.maxy,
           crs);
  if (!(isfinite(b.minx) && isfinite(b.miny) && isfinite(b.maxx) && isfinite(b.maxy)) ||
      b.miny >= b.maxy || b.minx == b.maxx)
    return swath_error_set(SWATH_EINVAL, "%s: expected minx,miny,maxx,maxy with miny < maxy", what);
  OGRSpatialReferenceH src = srs_from(crs);
  if (!src) return swath_error_set(SWATH_EINVAL, "%s: '%s' is not a CRS GDAL knows", what, crs);
  OGRGeometryH mp = OGR_G_CreateGeometry(wkbMultiPolygon);
  if (b.minx > b.maxx) {
    if (!OSRIsGeographic(src)) {
      OSRDestroySpatialReference(src);
      OGR_G_DestroyGeometry(mp);
      return swath_error_set(SWATH_EINVAL,
                             "%s: minx above maxx, which only means crossing the antimeridian "
                             "in a geographic CRS",
                             what);
    }
    OGR_G_AddGeometryDirectly(mp, box_polygon(b.minx, b.miny, 180, b.maxy));
    OGR_G_AddGeometryDirectly(mp, box_polygon(-180, b.miny, b.maxx, b.maxy));
  } else {
    OGR_G_AddGeometryDirectly(mp, box_polygon(b.minx, b.miny, b.maxx, b.maxy));
  }
  CPLPushErrorHandler(CPLQuietErrorHandler);
  OGRGeometryH gm = to_grid(g, src, mp, what);
  CPLPopErrorHandler();
  OSRDestroySpatialReference(src);
  return gm ? finish(g, gm, what, out) : swath_error_code();
}

int swath_area_from_wkt(const swath_grid *g, const char *wkt, const char *crs, swath_area **out) {
  *out = NULL;
  OGRSpatialReferenceH src = srs_from(crs);
  if (!src) return swath_error_set(SWATH_EINVAL, "area WKT: '%s' is not a CRS GDAL knows", crs);
  char *p = (char *)wkt;
  OGRGeometryH geom = NULL;
  if (OGR_G_CreateFromWkt(&p, NULL, &geom) != OGRERR_NONE || !geom) {
    OSRDestroySpatialReference(src);
    return swath_error_set(SWATH_EINVAL, "area WKT '%.60s': not a valid WKT geometry", wkt);
  }
  OGRGeometryH mp = polygons_of(geom);
  if (OGR_G_IsEmpty(mp)) {
    OGR_G_DestroyGeometry(mp);
    OSRDestroySpatialReference(src);
    return swath_error_set(SWATH_EINVAL, "area WKT '%.60s': has no polygons", wkt);
  }
  CPLPushErrorHandler(CPLQuietErrorHandler);
  OGRGeometryH gm = to_grid(g, src, mp, "area WKT");
  CPLPopErrorHandler();
  OSRDestroySpatialReference(src);
  return gm ? finish(g, gm, "area WKT", out) : swath_error_code();
}

/* Polygons of one layer, moved into the grid CRS and appended to acc;
 * *found counts the polygons the layer had before clipping. */
static int layer_polygons(const swath_grid *g, OGRLayerH layer, const char *what, OGRGeometryH acc,
                          int *found) {
  OGRSpatialReferenceH lsrs = OGR_L_GetSpatialRef(layer);
  OGRSpatialReferenceH src = lsrs ? OSRClone(lsrs) : srs_from("EPSG:4326");
  if (!src) return swath_error_set(SWATH_EINVAL, "%s: layer CRS unusable", what);
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OGRGeometryH mp = OGR_G_CreateGeometry(wkbMultiPolygon);
  OGR_L_ResetReading(layer);
  OGRFeatureH f;
  while ((f = OGR_L_GetNextFeature(layer))) {
    collect_polygons(OGR_F_GetGeometryRef(f), mp);
    OGR_F_Destroy(f);
  }
  *found += OGR_G_GetGeometryCount(mp);
  int rc = 0;
  OGRGeometryH gm = OGR_G_IsEmpty(mp) ? mp : to_grid(g, src, mp, what);
  if (!gm) {
    rc = swath_error_code();
  } else {
    for (int i = 0; i < OGR_G_GetGeometryCount(gm); i++)
      OGR_G_AddGeometry(acc, OGR_G_GetGeometryRef(gm, i));
    OGR_G_DestroyGeometry(gm);
  }
  OSRDestroySpatialReference(src);
  return rc;
}

int swath_area_from_file(const swath_grid *g, const char *path, swath_area **out) {
  *out = NULL;
  char what[600];
  snprintf(what, sizeof what, "area file '%.500s'", path);
  if (GDALGetDriverCount() == 0) GDALAllRegister();
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  CPLPopErrorHandler();
  if (!ds) {
    struct stat st;
    if (strncmp(path, "/vsi", 4) != 0 && stat(path, &st) != 0)
      return swath_error_set(SWATH_EINVAL, "%s: no such file", what);
    const char *why = CPLGetLastErrorMsg();
    return swath_error_set(SWATH_EINVAL, "%s: not a vector file GDAL can read%s%s", what,
                           why && *why ? ": " : "", why ? why : "");
  }
  OGRGeometryH acc = OGR_G_CreateGeometry(wkbMultiPolygon);
  int rc = 0, found = 0;
  CPLPushErrorHandler(CPLQuietErrorHandler);
  for (int i = 0; i < GDALDatasetGetLayerCount(ds) && !rc; i++)
    rc = layer_polygons(g, GDALDatasetGetLayer(ds, i), what, acc, &found);
  CPLPopErrorHandler();
  GDALClose(ds);
  if (!rc && found == 0)
    rc = swath_error_set(SWATH_EINVAL, "%s: has no polygons (points and lines are ignored)", what);
  if (rc) {
    OGR_G_DestroyGeometry(acc);
    return rc;
  }
  return finish(g, acc, what, out);
}

/* ---- queries ----------------------------------------------------------------- */

int swath_area_clip(swath_area *a, swath_bounds b) {
  OGRGeometryH box = box_polygon(b.minx, b.miny, b.maxx, b.maxy);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  OGRGeometryH in = OGR_G_Intersection(a->geom, box);
  CPLPopErrorHandler();
  OGR_G_DestroyGeometry(box);
  OGRGeometryH mp = polygons_of(in);
  if (OGR_G_IsEmpty(mp)) {
    OGR_G_DestroyGeometry(mp);
    return swath_error_set(SWATH_EINVAL,
                           "area (%.10g,%.10g,%.10g,%.10g) does not intersect %.10g,%.10g,%.10g,"
                           "%.10g",
                           a->bbox.minx, a->bbox.miny, a->bbox.maxx, a->bbox.maxy, b.minx, b.miny,
                           b.maxx, b.maxy);
  }
  return area_set(a, mp);
}

void swath_area_free(swath_area *a) {
  if (!a) return;
  if (a->prep) OGRDestroyPreparedGeometry(a->prep);
  if (a->geom) OGR_G_DestroyGeometry(a->geom);
  free(a);
}

swath_area *swath_area_clone(const swath_area *a) {
  swath_area *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (area_set(c, OGR_G_Clone(a->geom))) {
    swath_area_free(c);
    return NULL;
  }
  return c;
}

swath_bounds swath_area_bounds(const swath_area *a) { return a->bbox; }

void *swath__area_geometry(const swath_area *a) { return a->geom; }

/* A box shrunk by SHRINK of its size (see the invariants above). */
static swath_bounds shrink(swath_bounds b) {
  double dx = (b.maxx - b.minx) * SHRINK, dy = (b.maxy - b.miny) * SHRINK;
  return (swath_bounds){b.minx + dx, b.miny + dy, b.maxx - dx, b.maxy - dy};
}

/* The test behind every query, on a box already shrunk. `scratch` is a
 * polygon from box_polygon that is overwritten; contains=1 asks whether the
 * box lies inside the area. */
static int box_raw(const swath_area *a, OGRGeometryH scratch, swath_bounds b, int contains) {
  if (!(b.minx < b.maxx && b.miny < b.maxy)) return 0;
  if (b.maxx <= a->bbox.minx || b.minx >= a->bbox.maxx || b.maxy <= a->bbox.miny ||
      b.miny >= a->bbox.maxy)
    return 0;
  box_set(scratch, b.minx, b.miny, b.maxx, b.maxy);
  return contains ? OGRPreparedGeometryContains(a->prep, scratch) != 0
                  : OGRPreparedGeometryIntersects(a->prep, scratch) != 0;
}

static int box_test(const swath_area *a, OGRGeometryH scratch, swath_bounds b, int contains) {
  return box_raw(a, scratch, shrink(b), contains);
}

int swath_area_intersects(const swath_area *a, swath_bounds b) {
  OGRGeometryH box = box_polygon(0, 0, 1, 1);
  int r = box_test(a, box, b, 0);
  OGR_G_DestroyGeometry(box);
  return r;
}

/* The box around the shrunk boxes of the metatiles x0..x1, y0..y1, each
 * shrunk by its own size as swath_area_intersects shrinks it: a range whose
 * box misses the area holds no metatile that meets it, and one whose box
 * lies inside holds only metatiles that meet it. (A range shrunk by its own,
 * larger size would miss where its edge metatile still meets the area.) A
 * metatile's column decides its x extent and its row its y extent. */
swath_bounds swath__area_metatiles_box(const swath_grid *g, int z, int m, int64_t x0, int64_t y0,
                                       int64_t x1, int64_t y1) {
  swath_bounds lo = shrink(swath_grid_metatile_bounds(g, (swath_tile){z, x0, y1}, m));
  swath_bounds hi =
      x0 == x1 && y0 == y1 ? lo : shrink(swath_grid_metatile_bounds(g, (swath_tile){z, x1, y0}, m));
  return (swath_bounds){lo.minx, lo.miny, hi.maxx, hi.maxy};
}

int swath__area_box_meets(const swath_area *a, void *scratch, swath_bounds b, int contains) {
  return box_raw(a, scratch, b, contains);
}

void *swath__area_scratch_new(void) { return box_polygon(0, 0, 1, 1); }

void swath__area_scratch_free(void *scratch) {
  if (scratch) OGR_G_DestroyGeometry(scratch);
}

/* ---- tile iterator --------------------------------------------------------------- */

/* Walks metatile rows y0..y1 and columns x0..x1. Within a row, a block of
 * BLOCK metatiles is first tested as one box (swath__area_metatiles_box, so
 * a block answers as its metatiles one by one would): a miss skips the
 * block, full containment yields it without further tests, so large
 * interiors and empty stretches cost one test per block. */
struct swath_tile_iter {
  swath_grid g;
  const swath_area *a;
  int z, m;
  int64_t x0, x1, y0, y1;
  int64_t y, x;      /* next candidate */
  int64_t block_end; /* last column of the current block */
  int block_in;      /* the current block lies inside the area */
  OGRGeometryH scratch;
};

int swath_tile_iter_new(const swath_grid *g, const swath_area *a, int z, int m,
                        swath_tile_iter **out) {
  *out = NULL;
  if (m < 1) return swath_error_set(SWATH_EINVAL, "metatiling %d must be at least 1", m);
  swath_tile_range r[2];
  int n = swath_grid_tiles_of_bounds(g, z, a->bbox, r);
  if (n < 0) return n;
  swath_tile_iter *it = calloc(1, sizeof *it);
  if (!it) return SWATH_ENOMEM;
  it->g = *g;
  it->a = a;
  it->z = z;
  it->m = m;
  it->scratch = box_polygon(0, 0, 1, 1);
  if (n == 0) {
    it->y0 = 0, it->y1 = -1;
  } else {
    it->x0 = r[0].minx / m, it->x1 = r[0].maxx / m;
    it->y0 = r[0].miny / m, it->y1 = r[0].maxy / m;
  }
  it->y = it->y0;
  it->x = it->x0;
  it->block_end = it->x0 - 1;
  *out = it;
  return 0;
}

static swath_bounds span_bounds(swath_tile_iter *it, int64_t xa, int64_t xb) {
  return swath__area_metatiles_box(&it->g, it->z, it->m, xa, it->y, xb, it->y);
}

int swath_tile_iter_next(swath_tile_iter *it, swath_tile *t) {
  while (it->y <= it->y1) {
    if (it->x > it->x1) {
      it->y++;
      it->x = it->x0;
      it->block_end = it->x0 - 1;
      continue;
    }
    if (it->x == it->x0 && it->block_end < it->x0 && it->x1 - it->x0 >= BLOCK &&
        !box_raw(it->a, it->scratch, span_bounds(it, it->x0, it->x1), 0)) {
      it->x = it->x1 + 1; /* the whole row misses */
      continue;
    }
    if (it->x > it->block_end) {
      int64_t end = it->x + BLOCK - 1 < it->x1 ? it->x + BLOCK - 1 : it->x1;
      swath_bounds bb = span_bounds(it, it->x, end);
      if (!box_raw(it->a, it->scratch, bb, 0)) {
        it->x = end + 1;
        continue;
      }
      it->block_end = end;
      it->block_in = end == it->x || box_raw(it->a, it->scratch, bb, 1);
    }
    int64_t x = it->x++;
    if (it->block_in || box_raw(it->a, it->scratch, span_bounds(it, x, x), 0)) {
      *t = (swath_tile){it->z, x, it->y};
      return 1;
    }
  }
  return 0;
}

void swath_tile_iter_free(swath_tile_iter *it) {
  if (!it) return;
  if (it->scratch) OGR_G_DestroyGeometry(it->scratch);
  free(it);
}

/* ---- lon/lat output ------------------------------------------------------------- */

struct swath_lonlat {
  OGRCoordinateTransformationH ct; /* NULL: the grid CRS is lon/lat already */
  int seg;
};

int swath_lonlat_new(const swath_grid *g, swath_lonlat **out) {
  *out = NULL;
  OGRSpatialReferenceH src = srs_from(g->crs), dst = srs_from("EPSG:4326");
  if (!src || !dst) {
    if (src) OSRDestroySpatialReference(src);
    if (dst) OSRDestroySpatialReference(dst);
    return swath_error_set(SWATH_EINVAL, "grid %s: CRS '%s' is not one GDAL knows", g->name,
                           g->crs);
  }
  swath_lonlat *t = calloc(1, sizeof *t);
  int rc = 0;
  if (!t) {
    rc = SWATH_ENOMEM;
  } else {
    const char *proj = OSRGetAttrValue(src, "PROJECTION", 0);
    /* Boxes stay boxes in lon/lat only for lon/lat and Mercator grids. */
    t->seg = OSRIsGeographic(src) || (proj && strstr(proj, "Mercator_1SP")) ? 1 : 8;
    t->ct = OCTNewCoordinateTransformation(src, dst);
    if (!t->ct)
      rc = swath_error_set(SWATH_EINVAL, "grid %s: no transformation from %s to EPSG:4326", g->name,
                           g->crs);
  }
  OSRDestroySpatialReference(src);
  OSRDestroySpatialReference(dst);
  if (rc) {
    swath_lonlat_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void swath_lonlat_free(swath_lonlat *t) {
  if (!t) return;
  if (t->ct) OCTDestroyCoordinateTransformation(t->ct);
  free(t);
}

int swath_lonlat_ring(swath_lonlat *t, swath_bounds b, double *xy) {
  int k = t->seg, n = 0;
  double xs[SWATH_LONLAT_RING_MAX], ys[SWATH_LONLAT_RING_MAX];
  /* Counter-clockwise from the bottom-left corner, as RFC 7946 asks. */
  const double cx[5] = {b.minx, b.maxx, b.maxx, b.minx, b.minx};
  const double cy[5] = {b.miny, b.miny, b.maxy, b.maxy, b.miny};
  for (int e = 0; e < 4; e++)
    for (int i = 0; i < k; i++, n++) {
      double f = (double)i / k;
      xs[n] = cx[e] + (cx[e + 1] - cx[e]) * f;
      ys[n] = cy[e] + (cy[e + 1] - cy[e]) * f;
    }
  xs[n] = cx[4], ys[n] = cy[4], n++;
  if (!OCTTransform(t->ct, n, xs, ys, NULL))
    return swath_error_set(SWATH_EINVAL, "bounds %.10g,%.10g,%.10g,%.10g: no lon/lat image", b.minx,
                           b.miny, b.maxx, b.maxy);
  for (int i = 0; i < n; i++)
    xy[2 * i] = xs[i], xy[2 * i + 1] = ys[i];
  return n;
}

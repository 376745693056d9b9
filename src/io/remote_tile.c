/* remote_tile.c: one cached service tile decoded into a remote read's mosaic
 * (see remote.h).
 *
 * The mosaic holds `bands` byte planes plus an alpha plane. Grey is repeated
 * into the colour planes, palettes are expanded (their alpha included). A
 * tile without an alpha channel is opaque except where its transparency is a
 * colour key: a PNG's tRNS chunk in an RGB or grey image, which GDAL reports
 * as the bands' nodata (as it does a GeoTIFF's nodata); a pixel equal to the
 * key in every band is transparent, as PNG defines it (one channel matching
 * is not enough).
 *
 * A run shares decoded tiles between its workers (tile_memo.h): a tile
 * another read decoded is pasted from the memo, the same planes a decode
 * here gives (the paste below is the one copy either way).
 *
 * GDAL's messages while decoding (libpng's "Read Error" and the like) are
 * caught and become the one-line reason of the error, with
 * *undecodable set: the caller drops the file and fetches it again. */
#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/remote.h"

typedef struct gdal_msgs {
  char first[512];
} gdal_msgs;

static void CPL_STDCALL catch_msgs(CPLErr cls, CPLErrorNum num, const char *msg) {
  (void)num;
  gdal_msgs *m = CPLGetErrorHandlerUserData();
  if (cls >= CE_Warning && m && !m->first[0]) snprintf(m->first, sizeof m->first, "%s", msg);
}

/* The colour key of a tile without alpha: every colour band has a nodata
 * value that is a byte. 1 and key[] filled, else 0. */
static int colour_key(GDALDatasetH ds, int ncolor, unsigned char key[4]) {
  for (int b = 0; b < ncolor; b++) {
    int has = 0;
    double v = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, b + 1), &has);
    if (!has || !(v >= 0 && v <= 255) || v != floor(v)) return 0;
    key[b] = (unsigned char)v;
  }
  return 1;
}

/* Alpha of a keyed tile into buf's plane `n` (which must exist). */
static void key_alpha(unsigned char *buf, size_t px, int ncolor, const unsigned char key[4]) {
  unsigned char *a = buf + (size_t)ncolor * px;
  for (size_t i = 0; i < px; i++) {
    int match = 1;
    for (int b = 0; b < ncolor && match; b++)
      match = buf[(size_t)b * px + i] == key[b];
    a[i] = match ? 0 : 255;
  }
}

/* Expand a palette in buf (indices in plane 0) into RGBA planes. */
static int expand_palette(unsigned char *buf, size_t px, GDALColorTableH ct) {
  unsigned char *idx = malloc(px);
  if (!idx) return -1;
  memcpy(idx, buf, px);
  int entries = GDALGetColorEntryCount(ct);
  for (size_t i = 0; i < px; i++) {
    GDALColorEntry ce = {0, 0, 0, 0};
    if (idx[i] < entries) GDALGetColorEntryAsRGB(ct, idx[i], &ce);
    buf[i] = (unsigned char)ce.c1, buf[px + i] = (unsigned char)ce.c2;
    buf[2 * px + i] = (unsigned char)ce.c3, buf[3 * px + i] = (unsigned char)ce.c4;
  }
  free(idx);
  return 0;
}

/* Decode into buf (at least 4 planes of w x h): *n planes, of which
 * *ncolor colour, and an alpha plane after them when *alpha. */
static int decode(GDALDatasetH ds, unsigned char *buf, int w, int h, int *n, int *ncolor,
                  int *alpha) {
  size_t px = (size_t)w * h;
  GDALColorTableH ct = GDALGetRasterColorTable(GDALGetRasterBand(ds, 1));
  *ncolor = *n;
  *alpha = 0;
  if (*n == 2 || *n == 4) {
    *ncolor = *n - 1;
    *alpha = 1;
  }
  if (GDALDatasetRasterIO(ds, GF_Read, 0, 0, w, h, buf, w, h, GDT_Byte, *n, NULL, 1, w,
                          (GSpacing)px) != CE_None)
    return -1;
  unsigned char key[4];
  if (ct) {
    if (expand_palette(buf, px, ct)) return -1;
    *ncolor = 3;
    *alpha = 1;
    *n = 4;
  } else if (!*alpha && colour_key(ds, *ncolor, key)) {
    key_alpha(buf, px, *ncolor, key);
    *alpha = 1;
    *n = *ncolor + 1;
  }
  return 0;
}

/* Open and decode the cached tile at `path`, which must be tw x th, into
 * *t (planes malloc'd). GDAL's messages become the error's reason. */
static int decode_file(const swath__remote *r, const char *path, int tw, int th,
                       swath_decoded_tile *t) {
  static const char *const drivers[] = {"PNG", "JPEG", "WEBP", "GTiff", NULL};
  gdal_msgs msgs = {""};
  CPLPushErrorHandlerEx(catch_msgs, &msgs);
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, NULL, NULL);
  int rc = 0, n = ds ? GDALGetRasterCount(ds) : 0;
  int w = ds ? GDALGetRasterXSize(ds) : 0, h = ds ? GDALGetRasterYSize(ds) : 0;
  unsigned char *buf = NULL;
  if (!ds) {
    rc = swath_error_set(SWATH_EIO, "input %s: cached tile %s does not open: %s", r->name, path,
                         msgs.first[0] ? msgs.first : "not an image GDAL reads");
  } else if (w != tw || h != th || n < 1) {
    rc = swath_error_set(SWATH_EIO, "input %s: cached tile %s is %dx%d, expected %dx%d", r->name,
                         path, w, h, tw, th);
  } else if (!(buf = malloc((size_t)w * h * (size_t)(n > 4 ? n : 4)))) {
    rc = swath_error_set(SWATH_ENOMEM, "out of memory");
  } else {
    int ncolor, alpha;
    if (decode(ds, buf, w, h, &n, &ncolor, &alpha)) {
      rc = swath_error_set(SWATH_EIO, "input %s: cached tile %s does not decode: %s", r->name, path,
                           msgs.first[0] ? msgs.first : "read failed");
    } else {
      /* Only the planes decode() filled (a memo entry holds these). */
      unsigned char *fit = realloc(buf, (size_t)w * h * (size_t)n);
      if (fit) buf = fit;
      *t = (swath_decoded_tile){w, h, n, ncolor, alpha, buf};
      buf = NULL;
    }
  }
  free(buf);
  if (ds) GDALClose(ds);
  CPLPopErrorHandler();
  return rc;
}

/* A decoded tile into the mosaic's `bands` planes and alpha at (ox, oy):
 * grey repeated, no alpha plane: opaque. */
static void paste_tile(const swath__remote *r, const swath_decoded_tile *t, unsigned char *planes,
                       int mw, int mh, int ox, int oy) {
  size_t plane = (size_t)mw * mh, px = (size_t)t->w * t->h;
  for (int b = 0; b <= r->bands; b++) {
    const unsigned char *src;
    if (b == r->bands)
      src = t->alpha ? t->planes + (size_t)(t->n - 1) * px : NULL;
    else
      src = t->planes + (size_t)(b < t->ncolor ? b : t->ncolor - 1) * px;
    unsigned char *dst = planes + (size_t)b * plane;
    for (int y = 0; y < t->h; y++) {
      unsigned char *d = dst + (size_t)(oy + y) * mw + ox;
      if (src)
        memcpy(d, src + (size_t)y * t->w, (size_t)t->w);
      else
        memset(d, 255, (size_t)t->w);
    }
  }
}

static int same_stat(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int swath__remote_paste(const swath__remote *r, const char *path, unsigned char *planes, int mw,
                        int mh, int ox, int oy, int tw, int th, int *undecodable) {
  *undecodable = 0;
  int rc = 0, hit = 0;
  struct stat st;
  swath_tile_memo_entry *e = NULL;
  if (r->memo && stat(path, &st) == 0) e = swath_tile_memo_get(r->memo, path, &st, &hit);
  if (hit) {
    /* Decoded by another read (its size checked then, against the same
     * zoom's tiles). */
    const swath_decoded_tile *t = swath_tile_memo_tile(e);
    if (t->w != tw || t->h != th)
      rc = swath_error_set(SWATH_EIO, "input %s: cached tile %s is %dx%d, expected %dx%d", r->name,
                           path, t->w, t->h, tw, th);
    else
      paste_tile(r, t, planes, mw, mh, ox, oy);
  } else {
    swath_decoded_tile t = {0};
    rc = decode_file(r, path, tw, th, &t);
    if (e) {
      /* Kept only if the file is still the one stat() saw before the
       * decode (a tile fetched again meanwhile is a new file). */
      struct stat after;
      int keep = !rc && stat(path, &after) == 0 && same_stat(&st, &after);
      swath_tile_memo_done(r->memo, e, rc ? NULL : &t, keep);
      if (!rc) paste_tile(r, swath_tile_memo_tile(e), planes, mw, mh, ox, oy);
    } else if (!rc) {
      paste_tile(r, &t, planes, mw, mh, ox, oy);
    }
    free(t.planes);
  }
  swath_tile_memo_release(r->memo, e);
  if (rc && rc != SWATH_ENOMEM) *undecodable = 1;
  return rc;
}

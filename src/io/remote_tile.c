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
 * GDAL's messages while decoding (libpng's "Read Error" and the like) are
 * caught and become the one-line reason of the error, with
 * *undecodable set: the caller drops the file and fetches it again. */
#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int swath__remote_paste(const swath__remote *r, const char *path, unsigned char *planes, int mw,
                        int mh, int ox, int oy, int tw, int th, int *undecodable) {
  static const char *const drivers[] = {"PNG", "JPEG", "WEBP", "GTiff", NULL};
  *undecodable = 0;
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
    if (decode(ds, buf, w, h, &n, &ncolor, &alpha))
      rc = swath_error_set(SWATH_EIO, "input %s: cached tile %s does not decode: %s", r->name, path,
                           msgs.first[0] ? msgs.first : "read failed");
    size_t plane = (size_t)mw * mh, px = (size_t)w * h;
    for (int b = 0; b <= r->bands && !rc; b++) {
      const unsigned char *src;
      if (b == r->bands)
        src = alpha ? buf + (size_t)(n - 1) * px : NULL;
      else
        src = buf + (size_t)(b < ncolor ? b : ncolor - 1) * px;
      unsigned char *dst = planes + (size_t)b * plane;
      for (int y = 0; y < h; y++) {
        unsigned char *d = dst + (size_t)(oy + y) * mw + ox;
        if (src)
          memcpy(d, src + (size_t)y * w, (size_t)w);
        else
          memset(d, 255, (size_t)w);
      }
    }
  }
  free(buf);
  if (ds) GDALClose(ds);
  CPLPopErrorHandler();
  if (rc && rc != SWATH_ENOMEM) *undecodable = 1;
  return rc;
}

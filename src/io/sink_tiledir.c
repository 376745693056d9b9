/* sink_tiledir.c: tiles as files, {path}/{z}/{x}/{y}.{ext}, through GDAL's
 * drivers (GTiff, PNG, JPEG, WEBP), except 8-bit PNGs, which swath's own
 * encoder writes (io/png_write.h: GDAL's PNG driver was the slowest step).
 *
 * A tile is encoded (io/tiledir_encode.c) from a MEM dataset that wraps the
 * caller's buffers (no copy of the pixels), or from the buffers directly for
 * PNG, into a temp file, then renamed into place: readers and
 * resumed runs never see a partial tile. Temp files live in
 * {path}/.swath/tmp/{pid}/ (same file system, so rename is atomic); a process
 * killed mid-write leaves its folder behind, and the next process to open
 * the sink removes the folders of processes that are no longer alive. The alpha
 * band is made from the mask (full = the type's maximum for PNG, 255
 * otherwise) and is always the last band; it is the only band labelled
 * Alpha (3 data bands are Red, Green, Blue; other counts Gray then
 * Undefined; a kept colour table makes band 1 Palette). GTiff tiles carry
 * their geotransform and CRS, so each opens georeferenced on its own.
 * finish() writes the metadata that makes the folder a product
 * (io/tiledir_meta.c), describing the extent set_extent() gives (every tile
 * of the product, from every run), or else the cfg's zooms and bounds. open() writes one small tile of the run's type and
 * bands with the run's options into /vsimem/ before it creates anything, so
 * options the driver refuses for this data (JPEG compression of Int16, ...)
 * stop the run at the start instead of failing every tile. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <cpl_conv.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/gdal_log.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/raster.h"
#include "io/png_write.h"
#include "io/sink.h"
#include "io/tiledir_blank.h"
#include "io/tiledir_meta.h"
#include "io/warp.h"

#include "io/tiledir_int.h"

const char *swath_sink_format_ext(const char *format) {
  if (!format) return NULL;
  if (strcasecmp(format, "GTiff") == 0) return "tif";
  if (strcasecmp(format, "PNG") == 0) return "png";
  if (strcasecmp(format, "JPEG") == 0) return "jpg";
  if (strcasecmp(format, "WEBP") == 0) return "webp";
  return NULL;
}

static int mkdirs(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
  struct stat st;
  return stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

/* Could the folder be made and written (swath run --check)? Nothing is
 * made: the deepest folder of the path that exists must be a folder this
 * process may write. -1 with errno otherwise. */
static int check_writable(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (;;) {
    struct stat st;
    if (stat(tmp, &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return errno = ENOTDIR, -1;
      return access(tmp, W_OK | X_OK);
    }
    if (errno != ENOENT) return -1;
    char *slash = strrchr(tmp, '/');
    if (!slash) return access(".", W_OK | X_OK);
    slash[slash == tmp] = '\0'; /* "/x" -> "/" */
  }
}

/* Remove what a dead process left in its temp folder. */
static void reap_tmp(const char *root) {
  DIR *d = opendir(root);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end || pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char sub[4400];
    snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
    DIR *sd = opendir(sub);
    struct dirent *f;
    while (sd && (f = readdir(sd))) {
      if (f->d_name[0] == '.' && (!f->d_name[1] || (f->d_name[1] == '.' && !f->d_name[2]))) continue;
      char file[4700];
      snprintf(file, sizeof file, "%s/%s", sub, f->d_name);
      unlink(file);
    }
    if (sd) closedir(sd);
    rmdir(sub);
  }
  closedir(d);
}

static void td_close(void *st) {
  tiledir *t = st;
  if (!t) return;
  if (t->has_blanks) swath__blanks_close(&t->blanks);
  if (t->tmpdir[0]) rmdir(t->tmpdir);
  free(t->path);
  free(t->format);
  free(t->compression);
  free(t->name);
  CPLFree(t->wkt);
  if (t->palette) GDALDestroyColorTable(t->palette);
  free(t);
}

/* The input's colour table, where the tiles can hold it: TIFF colour maps
 * are for Byte and UInt16 bands. Elsewhere the tiles hold the class indexes
 * as they are, which the warning says. */
static void keep_palette(tiledir *t, const swath_sink_cfg *cfg) {
  t->cfg.palette = NULL, t->cfg.palette_n = 0;
  if (!cfg->palette || cfg->palette_n <= 0 || cfg->bands != 1) return;
  if (strcmp(t->ext, "tif") != 0 ||
      (cfg->dtype != SWATH_DT_BYTE && cfg->dtype != SWATH_DT_UINT16)) {
    swath_warn("output: the input's colour table is not kept: %s tiles hold the class indexes as "
               "%s values (GTiff keeps it for Byte and UInt16; or expand the input first: "
               "gdal_translate -expand rgba)",
               t->format, strcmp(t->ext, "tif") == 0 ? swath_dtype_name(cfg->dtype) : "grey");
    return;
  }
  t->palette = GDALCreateColorTable(GPI_RGB);
  for (int i = 0; i < cfg->palette_n; i++) {
    const unsigned char *p = cfg->palette[i];
    GDALColorEntry e = {p[0], p[1], p[2], p[3]};
    GDALSetColorEntry(t->palette, i, &e);
  }
}

/* Tiles that go through GDAL's driver (all but 8-bit PNG): one 16x16 tile
 * written to memory with the tiles' own options, type and bands. */
static int probe_write(const tiledir *t) {
  const swath_sink_cfg *c = &t->cfg;
  if (strcmp(t->ext, "png") == 0 && c->dtype == SWATH_DT_BYTE && c->bands + c->alpha <= 4) return 0;
  swath_raster r = {0};
  if (swath_raster_alloc(&r, 16, 16, c->bands, c->dtype))
    return swath_error_set(SWATH_ENOMEM, "output: out of memory");
  void *alpha = c->alpha ? calloc(16 * 16, swath_dtype_size(c->dtype)) : NULL;
  char tmp[64];
  snprintf(tmp, sizeof tmp, "/vsimem/swath-probe-%p.%s", (void *)t, t->ext);
  int rc = c->alpha && !alpha
               ? SWATH_ENOMEM
               : swath__tiledir_write_gdal(t, (swath_tile){c->min_zoom, 0, 0}, tmp, &r, r.data, alpha);
  VSIUnlink(tmp);
  free(alpha);
  swath_raster_free(&r);
  if (rc == SWATH_ENOMEM) return swath_error_set(rc, "output: out of memory");
  if (rc) {
    char what[160];
    snprintf(what, sizeof what, "%s tiles of %d band%s%s%s", swath_dtype_name(c->dtype), c->bands,
             c->bands == 1 ? "" : "s", c->alpha ? " plus alpha" : "",
             t->palette ? " with a colour table" : "");
    const char *why = CPLGetLastErrorMsg(); /* without the probe's own file name */
    if (strncmp(why, tmp, strlen(tmp)) == 0 && strncmp(why + strlen(tmp), ": ", 2) == 0)
      why += strlen(tmp) + 2;
    if (strcmp(t->ext, "tif") == 0)
      return swath_error_set(
          SWATH_EINVAL,
          "output.compression: GTiff compression '%s' cannot hold %s (LZW, DEFLATE, "
          "ZSTD, LZMA, PACKBITS, LERC and NONE take any): %s",
          t->compression ? t->compression : "DEFLATE", what, why);
    return swath_error_set(SWATH_EINVAL, "output: %s cannot hold %s; use GTiff: %s", t->format,
                           what, why);
  }
  return 0;
}

/* The GTiff driver's own list of COMPRESS values (its creation option list). */
static int gtiff_compressions(char *list, size_t n, const char *want) {
  if (GDALGetDriverCount() == 0) GDALAllRegister();
  GDALDriverH drv = GDALGetDriverByName("GTiff");
  const char *xml = drv ? GDALGetMetadataItem(drv, GDAL_DMD_CREATIONOPTIONLIST, NULL) : NULL;
  CPLXMLNode *root = xml ? CPLParseXMLString(xml) : NULL;
  int found = 0;
  size_t used = 0;
  list[0] = '\0';
  CPLXMLNode *opts = root ? CPLGetXMLNode(root, "=CreationOptionList") : NULL;
  for (CPLXMLNode *o = opts ? opts->psChild : NULL; o; o = o->psNext) {
    if (o->eType != CXT_Element || strcmp(o->pszValue, "Option") != 0 ||
        strcmp(CPLGetXMLValue(o, "name", ""), "COMPRESS") != 0)
      continue;
    for (CPLXMLNode *v = o->psChild; v; v = v->psNext) {
      if (v->eType != CXT_Element || strcmp(v->pszValue, "Value") != 0) continue;
      const char *name = CPLGetXMLValue(v, NULL, "");
      found |= strcasecmp(name, want) == 0;
      int k = snprintf(list + used, n - used, "%s%s", used ? ", " : "", name);
      if (k > 0 && (size_t)k < n - used) used += (size_t)k;
    }
  }
  if (root) CPLDestroyXMLNode(root);
  return found;
}

int swath_sink_check_options(const char *format, const char *compression, int quality) {
  const char *ext = swath_sink_format_ext(format);
  if (!ext)
    return swath_error_set(SWATH_EINVAL,
                           "output.format: unknown format '%s' (GTiff, PNG, JPEG, WEBP)", format);
  int tif = strcmp(ext, "tif") == 0, png = strcmp(ext, "png") == 0;
  if (compression && !tif && !png)
    return swath_error_set(SWATH_EINVAL,
                           "output.compression: %s tiles take no compression setting (quality sets "
                           "theirs); remove it",
                           format);
  if (compression && png &&
      !(strlen(compression) == 1 && compression[0] >= '1' && compression[0] <= '9'))
    return swath_error_set(
        SWATH_EINVAL,
        "output.compression: PNG compression is a zlib level from 1 (fastest) to 9, not '%s'",
        compression);
  if (compression && tif) {
    char list[1024];
    if (!gtiff_compressions(list, sizeof list, compression))
      return swath_error_set(SWATH_EINVAL, "output.compression: GTiff has no compression '%s' (%s)",
                             compression, list[0] ? list : "this GDAL's GTiff driver lists none");
  }
  if (quality && png)
    return swath_error_set(
        SWATH_EINVAL, "output.quality: PNG tiles are lossless (quality is for JPEG, WEBP and GTiff "
                      "with compression JPEG or WEBP); remove it, or set compression 1-9");
  if (quality && tif &&
      !(compression &&
        (strcasecmp(compression, "JPEG") == 0 || strcasecmp(compression, "WEBP") == 0)))
    return swath_error_set(SWATH_EINVAL,
                           "output.quality: GTiff with compression %s is lossless (quality is for "
                           "compression JPEG or WEBP); remove it",
                           compression ? compression : "DEFLATE");
  return 0;
}

/* A tile without data: every pixel masked (alpha 0, or the nodata value). */
static int blank_raster(const tiledir *t, int w, int h, swath_raster *r) {
  int rc = swath_raster_alloc(r, w, h, t->data_bands, t->cfg.dtype);
  if (!rc) memset(r->mask, 0, (size_t)w * h);
  return rc;
}

static int encode_blank(void *sink, int w, int h, const char *dest) {
  const tiledir *t = sink;
  swath_raster r;
  int rc = blank_raster(t, w, h, &r);
  if (!rc) rc = swath__tiledir_encode(t, (swath_tile){-1, 0, 0}, &r, dest);
  swath_raster_free(&r);
  return rc;
}

/* Everything a blank tile's bytes depend on, hashed. */
static void blank_signature(const tiledir *t, char sig[17]) {
  char s[512];
  snprintf(s, sizeof s, "%s b%d g%d a%d t%d n%d:%.17g c%s q%d", t->ext, t->data_bands,
           t->grey_to_rgb, t->cfg.alpha, (int)t->cfg.dtype, t->cfg.has_nodata, t->cfg.nodata,
           t->compression ? t->compression : "", t->cfg.quality);
  uint64_t h = swath_fnv1a_str(s);
  for (int i = 0; t->palette && i < GDALGetColorEntryCount(t->palette); i++) {
    const GDALColorEntry *e = GDALGetColorEntry(t->palette, i);
    short v[4] = {e->c1, e->c2, e->c3, e->c4};
    h = swath_fnv1a(h, v, sizeof v);
  }
  snprintf(sig, 17, "%016llx", (unsigned long long)h);
}

static int td_create(void *st) {
  tiledir *t = st;
  /* Prove the folder is writable now, not at the first tile. */
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/.swath-probe.%d", t->path, (int)getpid());
  FILE *f = NULL;
  if (mkdirs(t->path) || !(f = fopen(probe, "w")))
    return swath_error_set(SWATH_EINVAL, "output: cannot write to '%s': %s", t->path,
                           strerror(errno));
  fclose(f);
  unlink(probe);
  char root[4096];
  snprintf(root, sizeof root, "%s/.swath/tmp", t->path);
  snprintf(t->tmpdir, sizeof t->tmpdir, "%s/%d", root, (int)getpid());
  if (mkdirs(t->tmpdir)) {
    int e = errno;
    t->tmpdir[0] = 0;
    return swath_error_set(SWATH_EINVAL, "output: cannot create '%s/%d': %s", root, (int)getpid(),
                           strerror(e));
  }
  reap_tmp(root);
  if (t->cfg.link_empty && !t->has_blanks) {
    char sig[17];
    blank_signature(t, sig);
    int r =
        swath__blanks_open(&t->blanks, &t->cfg, t->path, t->ext, t->tmpdir, sig, encode_blank, t);
    t->has_blanks = r == 0;
    if (r) return r;
  }
  return 0;
}

static int td_open(const swath_sink_cfg *cfg, void **out) {
  *out = NULL;
  const char *ext = swath_sink_format_ext(cfg->format);
  if (!ext) return swath_error_set(SWATH_EINVAL, "output: unknown format '%s' (GTiff, PNG, JPEG, WEBP)", cfg->format);
  int png = strcmp(ext, "png") == 0, tif = strcmp(ext, "tif") == 0;
  if (png && cfg->dtype != SWATH_DT_BYTE && cfg->dtype != SWATH_DT_UINT16)
    return swath_error_set(SWATH_EINVAL, "output: PNG holds Byte or UInt16, not %s; set output.dtype or use GTiff",
                           swath_dtype_name(cfg->dtype));
  if (!png && !tif && cfg->dtype != SWATH_DT_BYTE)
    return swath_error_set(SWATH_EINVAL, "output: %s holds Byte, not %s; set output.dtype or use GTiff", cfg->format,
                           swath_dtype_name(cfg->dtype));
  if (png && cfg->bands != 1 && cfg->bands != 3)
    return swath_error_set(SWATH_EINVAL, "output: PNG holds 1 (grey) or 3 (RGB) bands plus alpha, not %d; use GTiff",
                           cfg->bands);
  if (strcmp(ext, "webp") == 0 && cfg->bands != 1 && cfg->bands != 3)
    return swath_error_set(
        SWATH_EINVAL,
        "output: WEBP holds 3 (RGB) bands plus alpha (1 grey band is expanded to RGB), not %d; "
        "use PNG or GTiff",
        cfg->bands);
  int rc = swath_sink_check_options(cfg->format, cfg->compression, cfg->quality);
  if (rc) return rc;
  if (strcmp(ext, "jpg") == 0 && cfg->bands != 1 && cfg->bands != 3)
    return swath_error_set(SWATH_EINVAL, "output: JPEG holds 1 or 3 bands, not %d; use PNG or GTiff", cfg->bands);
  tiledir *t = calloc(1, sizeof *t);
  if (!t) return swath_error_set(SWATH_ENOMEM, "output: out of memory");
  t->cfg = *cfg;
  t->path = strdup(cfg->path);
  t->format = strdup(cfg->format);
  t->compression = cfg->compression ? strdup(cfg->compression) : NULL;
  t->name = strdup(cfg->name ? cfg->name : "swath");
  t->cfg.path = t->path;
  t->cfg.format = t->format;
  t->cfg.compression = t->compression;
  t->cfg.name = t->name;
  t->ext = ext;
  /* WEBP has no grey images: grey is written as R=G=B, as libwebp itself
   * stores a grey picture, and the metadata says 3 bands. */
  t->data_bands = cfg->bands;
  t->grey_to_rgb = strcmp(ext, "webp") == 0 && cfg->bands == 1;
  if (t->grey_to_rgb) t->cfg.bands = 3;
  t->drv = GDALGetDriverByName(cfg->format);
  if (!t->drv || !GDALGetDriverByName("MEM")) { /* MEM: tiles are handed to GDAL through it */
    td_close(t);
    return swath_error_set(SWATH_EINVAL, "output: this GDAL has no %s driver", cfg->format);
  }
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  if (OSRSetFromUserInput(srs, cfg->grid->crs) == OGRERR_NONE) OSRExportToWkt(srs, &t->wkt);
  OSRDestroySpatialReference(srs);
  keep_palette(t, cfg); /* before the probe: JPEG in GTiff cannot hold a palette */
  if ((rc = probe_write(t))) {
    td_close(t);
    return rc;
  }
  if (cfg->check ? check_writable(t->path) : 0) {
    int e = errno;
    td_close(t);
    return swath_error_set(SWATH_EINVAL, "output: cannot write to '%s': %s", cfg->path,
                           strerror(e));
  }
  if (!cfg->check && (rc = td_create(t))) {
    td_close(t);
    return rc;
  }
  *out = t;
  return 0;
}

static void tile_path(const tiledir *t, swath_tile tl, char *dir, size_t dn, char *file, size_t fn) {
  snprintf(dir, dn, "%s/%d/%lld", t->path, tl.z, (long long)tl.x);
  snprintf(file, fn, "%s/%lld.%s", dir, (long long)tl.y, t->ext);
}

static int td_write(void *st, swath_tile tl, const swath_raster *r) {
  tiledir *t = st;
  char dir[4096], file[4200], tmp[4500];
  tile_path(t, tl, dir, sizeof dir, file, sizeof file);
  if (mkdirs(dir)) return swath_error_set(SWATH_EIO, "output: cannot create '%s': %s", dir, strerror(errno));
  snprintf(tmp, sizeof tmp, "%s/%d-%lld-%lld.%s.%lx", t->tmpdir, tl.z, (long long)tl.x, (long long)tl.y, t->ext,
           (unsigned long)pthread_self());
  int rc = swath__tiledir_encode(t, tl, r, tmp);
  if (rc) return rc;
  if (rename(tmp, file)) {
    int e = errno;
    unlink(tmp);
    return swath_error_set(SWATH_EIO, "output: cannot rename into '%s': %s", file, strerror(e));
  }
  return 0;
}

static int td_read(void *st, swath_tile tl, swath_raster *out) {
  tiledir *t = st;
  memset(out, 0, sizeof *out);
  char dir[4096], file[4200];
  tile_path(t, tl, dir, sizeof dir, file, sizeof file);
  if (access(file, F_OK) != 0) return SWATH_EEMPTY;
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  GDALDatasetH ds =
      GDALOpenEx(file, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
  CPLPopErrorHandler();
  if (!ds)
    return swath_error_set(SWATH_EIO, "output: cannot read back tile '%s': %s", file,
                           swath_gdal_why("GDAL gave no reason"));
  int n = GDALGetRasterCount(ds), w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
  int has_alpha = n > 1 && GDALGetRasterColorInterpretation(GDALGetRasterBand(ds, n)) == GCI_AlphaBand;
  int bands = has_alpha ? n - 1 : n;
  if (t->grey_to_rgb) bands = 1; /* R = G = B: the grey result */
  int r = swath_raster_alloc(out, w, h, bands, t->cfg.dtype);
  for (int b = 0; !r && b < bands; b++)
    if (GDALRasterIO(GDALGetRasterBand(ds, b + 1), GF_Read, 0, 0, w, h, swath_raster_band(out, b), w, h,
                     (GDALDataType)out->dtype, 0, 0) != CE_None)
      r = swath_error_set(SWATH_EIO, "output: cannot read back tile '%s'", file);
  if (!r && has_alpha) {
    if (GDALRasterIO(GDALGetRasterBand(ds, n), GF_Read, 0, 0, w, h, out->mask, w, h, GDT_Byte, 0, 0) != CE_None)
      r = swath_error_set(SWATH_EIO, "output: cannot read back tile '%s'", file);
    for (size_t i = 0; !r && i < (size_t)w * h; i++) out->mask[i] = out->mask[i] ? 255 : 0;
  } else if (!r && t->cfg.has_nodata) {
    for (size_t i = 0; i < (size_t)w * h; i++) {
      double v;
      GDALCopyWords((char *)out->data + i * swath_dtype_size(out->dtype), (GDALDataType)out->dtype, 0, &v, GDT_Float64, 0, 1);
      out->mask[i] = (v == t->cfg.nodata || (isnan(v) && isnan(t->cfg.nodata))) ? 0 : 255;
    }
  }
  GDALClose(ds);
  if (r) swath_raster_free(out);
  return r;
}

static int td_remove(void *st, swath_tile tl) {
  tiledir *t = st;
  char dir[4096], file[4200];
  tile_path(t, tl, dir, sizeof dir, file, sizeof file);
  if (t->has_blanks && swath__blanks_inside(&t->blanks, tl)) {
    if (mkdirs(dir))
      return swath_error_set(SWATH_EIO, "output: cannot create '%s': %s", dir, strerror(errno));
    return swath__blanks_link(&t->blanks, tl, file);
  }
  if (unlink(file) && errno != ENOENT) return swath_error_set(SWATH_EIO, "output: cannot remove '%s': %s", file, strerror(errno));
  return 0;
}

/* GDAL's STACTA driver (3.6) learns the bands from the tile at the top-left
 * corner of the limits of the first zoom that has one there, and cannot
 * open the pyramid (even with SKIP_MISSING_METATILE) if no zoom has: then
 * that position of the lowest zoom gets an all-nodata tile. Not in JPEG,
 * where it would be a black square for every XYZ client. The one an
 * earlier run wrote counts as absent here, and goes when it is no longer
 * where a fresh run would put it. */
static int write_prototype(tiledir *t, const swath_sink_extent *e) {
  swath_tile old;
  char oldfile[4200];
  int had = swath__prototype_recall(t->path, &old, oldfile, sizeof oldfile);
  int first = -1, need = strcmp(t->ext, "jpg") != 0;
  swath_tile_range l, l0 = {0};
  for (int z = t->cfg.min_zoom; need && z <= t->cfg.max_zoom; z++) {
    if (!swath__tiledir_limits(&t->cfg, e, z, &l)) continue;
    if (first < 0) first = z, l0 = l;
    char dir[4096], file[4200];
    tile_path(t, (swath_tile){z, l.minx, l.miny}, dir, sizeof dir, file, sizeof file);
    if (access(file, F_OK) == 0 && !(had && strcmp(file, oldfile) == 0)) need = 0;
  }
  if (first < 0) need = 0;
  swath_tile at = {first, l0.minx, l0.miny};
  if (need && had && old.z == at.z && old.x == at.x && old.y == at.y) return 0;
  if (had) {
    if (unlink(oldfile) && errno != ENOENT)
      return swath_error_set(SWATH_EIO, "output: cannot remove '%s': %s", oldfile, strerror(errno));
    swath__prototype_forget(t->path);
  }
  if (!need) return 0;
  const swath_tile_matrix *m = &t->cfg.grid->m[first];
  swath_raster r;
  int rc = blank_raster(t, m->tile_width, m->tile_height, &r);
  if (rc) return rc;
  rc = td_write(t, at, &r);
  swath_raster_free(&r);
  if (!rc) {
    char dir[4096], file[4200];
    tile_path(t, at, dir, sizeof dir, file, sizeof file);
    rc = swath__prototype_record(t->path, at, file);
  }
  return rc;
}

static int td_finish(void *st, const char *job_yaml) {
  tiledir *t = st;
  int r = job_yaml ? swath__tiledir_write_file(&t->cfg, "job.yaml", job_yaml) : 0;
  const swath_sink_extent *e = t->has_extent ? &t->extent : NULL;
  if (!r && t->has_blanks) {
    int64_t made = 0;
    r = swath__blanks_fill(&t->blanks, &made);
    if (!r && made)
      swath_info("output: %lld empty positions linked to the blank tile", (long long)made);
  } else if (!r) {
    r = write_prototype(t, e);
  }
  return r ? r : swath__tiledir_write_meta(&t->cfg, t->ext, e);
}

static void td_set_extent(void *st, const swath_sink_extent *e) {
  tiledir *t = st;
  t->extent = *e;
  t->has_extent = 1;
  t->cfg.min_zoom = e->min_zoom;
  t->cfg.max_zoom = e->max_zoom;
  t->cfg.bounds = e->bounds;
  t->cfg.lonlat = e->lonlat;
  if (t->has_blanks) swath__blanks_set_extent(&t->blanks, &t->extent);
}

/* A zoom folder: digits only ({path}/{z}). */
static int is_number(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static int td_has_tiles(void *st) {
  tiledir *t = st;
  DIR *d = opendir(t->path);
  if (!d) return 0;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    if (!is_number(e->d_name)) continue;
    char zdir[4400];
    snprintf(zdir, sizeof zdir, "%s/%s", t->path, e->d_name);
    DIR *zd = opendir(zdir);
    struct dirent *x;
    while (zd && !found && (x = readdir(zd))) {
      if (!is_number(x->d_name)) continue;
      char xdir[4700];
      snprintf(xdir, sizeof xdir, "%s/%s", zdir, x->d_name);
      DIR *xd = opendir(xdir);
      struct dirent *f;
      while (xd && !found && (f = readdir(xd)))
        found = f->d_name[0] != '.';
      if (xd) closedir(xd);
    }
    if (zd) closedir(zd);
  }
  closedir(d);
  return found;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)ftw;
  int r = flag == FTW_DP ? rmdir(path) : unlink(path);
  return r && errno != ENOENT ? -1 : 0;
}

static int td_clear(void *st) {
  tiledir *t = st;
  DIR *d = opendir(t->path);
  if (!d)
    return swath_error_set(SWATH_EIO, "output: cannot read '%s': %s", t->path, strerror(errno));
  int r = 0;
  struct dirent *e;
  while (!r && (e = readdir(d))) {
    if (!is_number(e->d_name)) continue;
    char zdir[4400];
    snprintf(zdir, sizeof zdir, "%s/%s", t->path, e->d_name);
    if (nftw(zdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS))
      r = swath_error_set(SWATH_EIO, "output: cannot remove the tiles under '%s': %s", zdir,
                          strerror(errno));
  }
  closedir(d);
  static const char *const meta[] = {"job.yaml", "tilejson.json", "tms.json", "stac.json", NULL};
  for (int i = 0; !r && meta[i]; i++) {
    char file[4300];
    snprintf(file, sizeof file, "%s/%s", t->path, meta[i]);
    if (unlink(file) && errno != ENOENT)
      r = swath_error_set(SWATH_EIO, "output: cannot remove '%s': %s", file, strerror(errno));
  }
  return r;
}

const swath_sink_vtable swath_sink_tiledir = {
    .name = "tiledir",
    .abi_version = SWATH_SINK_ABI,
    .open = td_open,
    .write_tile = td_write,
    .read_tile = td_read,
    .remove_tile = td_remove,
    .create = td_create,
    .has_tiles = td_has_tiles,
    .clear = td_clear,
    .set_extent = td_set_extent,
    .finish = td_finish,
    .close = td_close,
};

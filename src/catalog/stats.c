/* stats.c: colour statistics (mean red, green, blue and brightness) of each
 * scene's true-colour asset, computed over a thread pool and cached in the
 * catalog with the method that produced them.
 *
 * Methods: exact (every pixel), step:N (every Nth pixel of every Nth row,
 * starting at 0,0), overview:WxH (one read of the whole raster into a W x H
 * buffer, which GDAL serves from overviews or JPEG 2000 resolution levels).
 * Nodata pixels never count: a pixel counts only when none of its three
 * bands is nodata. A cached value is reused when it was computed with the
 * method asked for, or exactly (exact answers every question); otherwise it
 * is recomputed and replaced, method and all, so a stored value always says
 * how it was made. Brightness is the mean of the three channel means.
 *
 * Threads: each worker opens its own GDAL datasets (no shared handles) and
 * the calling thread alone writes to SQLite. */
#include <cpl_conv.h>
#include <gdal.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"
#include "core/gdal_log.h"
#include "core/log.h"

#define CHUNK 256
#define ROWS_PER_READ 64

/* ---- choosing the colour source ----------------------------------------- */

static int has_role(const json_t *asset, const char *role) {
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(asset, "roles"), i,
                     r) if (json_is_string(r) && !strcmp(json_string_value(r), role)) return 1;
  return 0;
}

static const char *common_name(const json_t *asset) {
  return json_string_value(
      json_object_get(json_array_get(json_object_get(asset, "eo:bands"), 0), "common_name"));
}

static const char *href(const json_t *asset) {
  return json_string_value(json_object_get(asset, "href"));
}

void swath__color_src_clear(swath__color_src *s) {
  for (int k = 0; k < 3; k++)
    free(s->paths[k]);
  memset(s, 0, sizeof *s);
}

int swath__color_pick(const json_t *item, swath__color_src *out) {
  memset(out, 0, sizeof *out);
  json_t *assets = json_object_get(item, "assets"), *props = json_object_get(item, "properties");
  int s2 = json_object_get(props, "s2:product_id") != NULL;
  out->zero_nodata = s2;
  const char *key;
  json_t *a, *visual = NULL, *rgb[3] = {NULL, NULL, NULL}, *data = NULL;
  const char *vkey = NULL;
  static const char *const names[3] = {"red", "green", "blue"};
  static const char *const s2keys[3] = {"B04", "B03", "B02"};
  json_object_foreach(assets, key, a) {
    if (!href(a)) continue;
    if (!visual && (!strcmp(key, "TCI") || !strcmp(key, "visual") || has_role(a, "visual")))
      visual = a, vkey = key;
    for (int k = 0; k < 3; k++) {
      const char *cn = common_name(a);
      if (!rgb[k] &&
          (!strcmp(key, s2keys[k]) || !strcmp(key, names[k]) || (cn && !strcmp(cn, names[k]))))
        rgb[k] = a;
    }
    if (!data && (!strcmp(key, "data") || has_role(a, "data"))) data = a;
  }
  if (visual) {
    for (int k = 0; k < 3; k++) {
      out->paths[k] = swath_href_to_gdal(href(visual));
      out->bands[k] = k + 1;
    }
    snprintf(out->source, sizeof out->source, "%s", vkey);
  } else if (rgb[0] && rgb[1] && rgb[2]) {
    for (int k = 0; k < 3; k++) {
      out->paths[k] = swath_href_to_gdal(href(rgb[k]));
      out->bands[k] = 1;
    }
    /* Sentinel-2 L1C bands are reflectance x 10000; the TCI maps 0..2000
     * to 0..255, so scale the same way to keep rankings comparable. */
    out->scale = s2 ? 255.0 / 2000.0 : 0;
    snprintf(out->source, sizeof out->source, "%s", s2 ? "B04,B03,B02" : "red,green,blue");
  } else if (data) {
    json_t *rb = json_object_get(props, "swath:rgb_bands");
    for (int k = 0; k < 3; k++) {
      out->paths[k] = swath_href_to_gdal(href(data));
      json_int_t b = json_integer_value(json_array_get(rb, k));
      out->bands[k] = b > 0 ? (int)b : k + 1;
    }
    snprintf(out->source, sizeof out->source, "data:%d,%d,%d", out->bands[0], out->bands[1],
             out->bands[2]);
  } else {
    return SWATH_ENOTFOUND;
  }
  for (int k = 0; k < 3; k++)
    if (!out->paths[k]) {
      swath__color_src_clear(out);
      return swath_error_set(SWATH_ENOMEM, "stats: out of memory");
    }
  return 0;
}

char *swath__color_source(const json_t *item) {
  swath__color_src s;
  if (swath__color_pick(item, &s)) return NULL;
  size_t n = strlen(s.source) + strlen(s.paths[0]) + strlen(s.paths[1]) + strlen(s.paths[2]) + 8;
  char *out = malloc(n);
  if (out) snprintf(out, n, "%s|%s|%s|%s", s.source, s.paths[0], s.paths[1], s.paths[2]);
  swath__color_src_clear(&s);
  return out;
}

/* ---- one raster ------------------------------------------------------------ */

struct chan {
  GDALDatasetH ds;
  GDALRasterBandH band, mask;
  int has_nodata;
  double nodata;
};

static int open_chans(const char *const paths[3], const int bands[3], struct chan ch[3], int *w,
                      int *h) {
  memset(ch, 0, 3 * sizeof *ch);
  for (int k = 0; k < 3; k++) {
    /* the same file for several channels: one dataset, several bands */
    for (int j = 0; j < k; j++)
      if (!strcmp(paths[j], paths[k])) ch[k].ds = ch[j].ds;
    if (!ch[k].ds) {
      /* GDAL's reason goes into the scene's one line (and shows at -v) */
      swath_gdal_reset();
      CPLPushErrorHandler(swath_gdal_handler);
      ch[k].ds = GDALOpenEx(paths[k], GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                            NULL, NULL, NULL);
      CPLPopErrorHandler();
      if (!ch[k].ds)
        return swath_error_set(SWATH_EIO, "cannot open '%s': %s", paths[k],
                               swath_gdal_why("GDAL gave no reason"));
    }
    if (bands[k] < 1 || bands[k] > GDALGetRasterCount(ch[k].ds))
      return swath_error_set(SWATH_EINVAL, "'%s' has no band %d", paths[k], bands[k]);
    ch[k].band = GDALGetRasterBand(ch[k].ds, bands[k]);
    ch[k].nodata = GDALGetRasterNoDataValue(ch[k].band, &ch[k].has_nodata);
    int flags = GDALGetMaskFlags(ch[k].band);
    /* nodata values are tested directly; alpha or mask bands are read */
    if (!(flags & (GMF_ALL_VALID | GMF_NODATA))) ch[k].mask = GDALGetMaskBand(ch[k].band);
    int bw = GDALGetRasterBandXSize(ch[k].band), bh = GDALGetRasterBandYSize(ch[k].band);
    if (k == 0) {
      *w = bw, *h = bh;
    } else if (bw != *w || bh != *h) {
      return swath_error_set(SWATH_EINVAL, "'%s' is %dx%d but '%s' is %dx%d", paths[0], *w, *h,
                             paths[k], bw, bh);
    }
  }
  return 0;
}

static void close_chans(struct chan ch[3]) {
  for (int k = 0; k < 3; k++) {
    int dup = 0;
    for (int j = 0; j < k; j++)
      dup |= ch[j].ds == ch[k].ds;
    if (ch[k].ds && !dup) GDALClose(ch[k].ds);
  }
}

struct acc {
  double sum[3];
  int64_t n;
};

/* Accumulate a window read as nx x ny values per channel (buffers of
 * doubles, masks as bytes or NULL), taking every `step`-th column. */
static void accumulate(struct acc *a, struct chan ch[3], double *v[3], unsigned char *m[3],
                       size_t count, int step, double scale, int zero_nodata) {
  for (size_t i = 0; i < count; i += (size_t)step) {
    double x[3];
    int ok = 1;
    for (int k = 0; k < 3 && ok; k++) {
      x[k] = v[k][i];
      if (ch[k].has_nodata && (x[k] == ch[k].nodata || (isnan(ch[k].nodata) && isnan(x[k]))))
        ok = 0;
      else if (m[k] && m[k][i] == 0)
        ok = 0;
      else if (zero_nodata && x[k] == 0)
        ok = 0;
      else if (isnan(x[k]))
        ok = 0;
    }
    if (!ok) continue;
    for (int k = 0; k < 3; k++) {
      double y = scale > 0 ? fmin(x[k] * scale, 255.0) : x[k];
      a->sum[k] += y;
    }
    a->n++;
  }
}

static int read_win(struct chan ch[3], int x0, int y0, int w, int h, int bw, int bh, double *v[3],
                    unsigned char *m[3]) {
  for (int k = 0; k < 3; k++) {
    if (GDALRasterIO(ch[k].band, GF_Read, x0, y0, w, h, v[k], bw, bh, GDT_Float64, 0, 0) != CE_None)
      return swath_error_set(SWATH_EIO, "read failed: %s", CPLGetLastErrorMsg());
    if (ch[k].mask &&
        GDALRasterIO(ch[k].mask, GF_Read, x0, y0, w, h, m[k], bw, bh, GDT_Byte, 0, 0) != CE_None)
      return swath_error_set(SWATH_EIO, "mask read failed: %s", CPLGetLastErrorMsg());
  }
  return 0;
}

int swath_rgb_stats_compute(const char *const paths[3], const int bands[3], double scale,
                            int zero_nodata, const swath_stats_opts *o, swath_rgb_stats *out) {
  memset(out, 0, sizeof *out);
  struct chan ch[3];
  int w = 0, h = 0;
  int rc = open_chans(paths, bands, ch, &w, &h);
  if (rc) {
    close_chans(ch);
    return rc;
  }
  int step = o->method == SWATH_STATS_STEP && o->step > 1 ? o->step : 1;
  int bw = w, bh = ROWS_PER_READ;
  if (o->method == SWATH_STATS_OVERVIEW) {
    int target = o->overview > 0 ? o->overview : 1024;
    double f = (double)(w > h ? w : h) / target;
    if (f < 1) f = 1;
    bw = (int)ceil(w / f), bh = (int)ceil(h / f);
  }
  double *v[3] = {NULL, NULL, NULL};
  unsigned char *m[3] = {NULL, NULL, NULL};
  size_t cells = (size_t)bw * (size_t)bh;
  for (int k = 0; k < 3 && !rc; k++) {
    v[k] = malloc(cells * sizeof(double));
    m[k] = ch[k].mask ? malloc(cells) : NULL;
    if (!v[k] || (ch[k].mask && !m[k])) rc = swath_error_set(SWATH_ENOMEM, "stats: out of memory");
  }
  struct acc a = {{0, 0, 0}, 0};
  if (!rc && o->method == SWATH_STATS_OVERVIEW) {
    if (!(rc = read_win(ch, 0, 0, w, h, bw, bh, v, m)))
      accumulate(&a, ch, v, m, cells, 1, scale, zero_nodata);
    snprintf(out->method, sizeof out->method, "overview:%dx%d", bw, bh);
  } else if (!rc && step > 1) {
    /* one full row per sampled row, then every step-th pixel of it */
    for (int y = 0; y < h && !rc; y += step)
      if (!(rc = read_win(ch, 0, y, w, 1, w, 1, v, m)))
        accumulate(&a, ch, v, m, (size_t)w, step, scale, zero_nodata);
    snprintf(out->method, sizeof out->method, "step:%d", step);
  } else if (!rc) {
    for (int y = 0; y < h && !rc; y += ROWS_PER_READ) {
      int rows = h - y < ROWS_PER_READ ? h - y : ROWS_PER_READ;
      if (!(rc = read_win(ch, 0, y, w, rows, w, rows, v, m)))
        accumulate(&a, ch, v, m, (size_t)w * rows, 1, scale, zero_nodata);
    }
    snprintf(out->method, sizeof out->method, "exact");
  }
  for (int k = 0; k < 3; k++) {
    free(v[k]);
    free(m[k]);
  }
  close_chans(ch);
  if (rc) return rc;
  out->pixels = a.n;
  if (a.n == 0) return swath_error_set(SWATH_EEMPTY, "no valid pixels (all nodata)");
  for (int k = 0; k < 3; k++)
    out->mean[k] = a.sum[k] / (double)a.n;
  out->brightness = (out->mean[0] + out->mean[1] + out->mean[2]) / 3.0;
  return 0;
}

/* ---- many scenes ---------------------------------------------------------- */

struct task {
  int64_t rid;
  char *id, *collection;
  swath__color_src src;
  swath_rgb_stats st;
  int rc;
  char msg[256];
};

struct pool {
  struct task *t;
  size_t n;
  atomic_size_t next;
  const swath_stats_opts *o;
};

static void *worker(void *arg) {
  struct pool *p = arg;
  /* Remote assets (/vsicurl/ on GCS): do not list the bucket "folder" on
   * open, and let GDAL retry transient HTTP errors; per thread, so the
   * process-wide configuration stays the user's.
   * The calling thread works too, so what is set here is unset at the end. */
  int set_readdir = !CPLGetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", NULL);
  int set_retry = !CPLGetConfigOption("GDAL_HTTP_MAX_RETRY", NULL);
  if (set_readdir) CPLSetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
  if (set_retry) {
    CPLSetThreadLocalConfigOption("GDAL_HTTP_MAX_RETRY", "3");
    CPLSetThreadLocalConfigOption("GDAL_HTTP_RETRY_DELAY", "1");
  }
  for (;;) {
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n) break;
    struct task *t = &p->t[i];
    const char *paths[3] = {t->src.paths[0], t->src.paths[1], t->src.paths[2]};
    t->rc = swath_rgb_stats_compute(paths, t->src.bands, t->src.scale, t->src.zero_nodata, p->o,
                                    &t->st);
    if (t->rc) snprintf(t->msg, sizeof t->msg, "%s", swath_error_message());
  }
  if (set_readdir) CPLSetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", NULL);
  if (set_retry) {
    CPLSetThreadLocalConfigOption("GDAL_HTTP_MAX_RETRY", NULL);
    CPLSetThreadLocalConfigOption("GDAL_HTTP_RETRY_DELAY", NULL);
  }
  return NULL;
}

static int run_chunk(swath_catalog *c, struct task *t, size_t n, const swath_stats_opts *o,
                     swath_stats_report *r) {
  struct pool p = {t, n, 0, o};
  int nth = o->threads > 1 ? o->threads : 1;
  if ((size_t)nth > n) nth = (int)n;
  pthread_t th[64];
  if (nth > 64) nth = 64;
  int started = 0;
  for (int k = 1; k < nth; k++)
    if (pthread_create(&th[started], NULL, worker, &p) == 0) started++;
  worker(&p); /* the calling thread works too */
  for (int k = 0; k < started; k++)
    pthread_join(th[k], NULL);

  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(c->db,
                         "UPDATE items SET red = ?1, green = ?2, blue = ?3, bright = ?4, "
                         "cmethod = ?5, cpixels = ?6, csource = ?8 WHERE rid = ?7",
                         -1, &st, NULL))
    return swath__sql_error(c->db, "stats");
  int rc = swath__exec(c->db, "BEGIN IMMEDIATE");
  for (size_t i = 0; i < n && !rc; i++) {
    if (t[i].rc == SWATH_EEMPTY) {
      r->no_data++;
      if (o->on_fail) o->on_fail(o->ud, t[i].collection, t[i].id, t[i].msg);
      continue;
    }
    if (t[i].rc) {
      r->failed++;
      if (o->on_fail) o->on_fail(o->ud, t[i].collection, t[i].id, t[i].msg);
      continue;
    }
    for (int k = 0; k < 3; k++)
      sqlite3_bind_double(st, k + 1, t[i].st.mean[k]);
    sqlite3_bind_double(st, 4, t[i].st.brightness);
    sqlite3_bind_text(st, 5, t[i].st.method, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, t[i].st.pixels);
    sqlite3_bind_int64(st, 7, t[i].rid);
    sqlite3_bind_text(st, 8, t[i].src.source, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = swath__sql_error(c->db, "stats: storing");
    sqlite3_reset(st);
    if (!rc) r->computed++;
  }
  sqlite3_finalize(st);
  if (!rc) rc = swath__exec(c->db, "COMMIT");
  if (rc) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static void free_tasks(struct task *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(t[i].id);
    free(t[i].collection);
    swath__color_src_clear(&t[i].src);
  }
  free(t);
}

int swath_catalog_stats(swath_catalog *c, const swath_search *q, const swath_stats_opts *o,
                        swath_stats_report *r) {
  memset(r, 0, sizeof *r);
  if (c->readonly) return swath_error_set(SWATH_EINVAL, "stats: the catalog is open read-only");
  char want[48];
  if (o->method == SWATH_STATS_STEP && o->step > 1)
    snprintf(want, sizeof want, "step:%d", o->step);
  else if (o->method == SWATH_STATS_OVERVIEW)
    snprintf(want, sizeof want, "overview:");
  else
    snprintf(want, sizeof want, "exact");
  sqlite3_stmt *st;
  int rc = swath__search_prepare_all(c, q, SWATH__ROW_COLS, &st);
  if (rc) return rc;
  /* Collect the work first: the selection must not see its own updates. */
  struct task *t = NULL;
  size_t n = 0, cap = 0;
  int s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    swath__row row;
    swath__row_read(st, 0, &row);
    r->selected++;
    const char *m = row.has_color ? row.cmethod : NULL;
    /* overview sizes differ per raster: any overview read answers an
     * overview request; exact answers everything */
    if (!o->force && m &&
        (!strcmp(m, "exact") || !strcmp(m, want) ||
         (o->method == SWATH_STATS_OVERVIEW && !strncmp(m, "overview:", 9)))) {
      r->cached++;
      continue;
    }
    json_t *item;
    if ((rc = swath__row_item(&row, &item))) break;
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      struct task *nt = realloc(t, cap * sizeof *t);
      if (!nt) {
        json_decref(item);
        rc = swath_error_set(SWATH_ENOMEM, "stats: out of memory");
        break;
      }
      t = nt;
    }
    struct task *k = &t[n];
    memset(k, 0, sizeof *k);
    k->rid = row.rid;
    k->id = strdup(row.id);
    k->collection = strdup(row.collection);
    n++;
    int prc = swath__color_pick(item, &k->src);
    json_decref(item);
    if (prc == SWATH_ENOTFOUND) {
      k->rc = SWATH_EINVAL;
      snprintf(k->msg, sizeof k->msg,
               "no true-colour asset (visual/TCI, red/green/blue bands or "
               "a data asset)");
    } else if (prc) {
      rc = prc;
    }
  }
  if (!rc && s != SQLITE_DONE && s != SQLITE_ROW) rc = swath__sql_error(c->db, "stats");
  sqlite3_finalize(st);
  /* scenes without a colour source fail up front; the rest go to the pool */
  for (size_t i = 0; i < n && !rc; i += CHUNK) {
    size_t m = n - i < CHUNK ? n - i : CHUNK;
    struct task *todo = t + i;
    size_t ready = 0;
    for (size_t j = 0; j < m; j++) {
      if (todo[j].src.paths[0]) {
        struct task tmp = todo[ready];
        todo[ready++] = todo[j];
        todo[j] = tmp;
      }
    }
    for (size_t j = ready; j < m; j++) {
      r->failed++;
      if (o->on_fail) o->on_fail(o->ud, todo[j].collection, todo[j].id, todo[j].msg);
    }
    if (ready) rc = run_chunk(c, todo, ready, o, r);
    swath_info("stats: %lld of %lld scenes done", (long long)(i + m), (long long)n);
  }
  free_tasks(t, n);
  return rc;
}

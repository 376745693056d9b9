/* ingest.c: picks the ingest format for a path and feeds what it reads into
 * the store; also the line reader the text formats share.
 *
 * Invariants: memory stays bounded whatever the input size (records are
 * streamed one at a time into prepared statements, lines are read through a
 * fixed buffer that only grows for a single over-long line). Malformed
 * records are counted and reported with their line number, never fatal; a
 * failure that stops the ingest still commits the records before it (a
 * re-ingest updates them in place, so nothing is duplicated).
 *
 * Gzip input (a Sentinel-2 index is 1.2 GB of it for 10M rows) is inflated
 * here with ISA-L, not by GDAL's /vsigzip/ (zlib): zlib's inflate was a
 * third of the CPU of a bulk ingest's row phase; ISA-L's is several times
 * faster (since then the writer thread, not this reader, bounds that
 * phase: see rtree_pack.c and store.c's bulk inserts). The compressed bytes
 * still come through VSI (a local file or /vsicurl/), every member of a
 * multi-member file is read, each member's CRC is checked, and a stream
 * that ends early is an error. */
#define _GNU_SOURCE /* struct stat64 behind GDAL's VSIStatBufL */
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"
#include "core/log.h"

#define CHUNK (1 << 20)

struct swath__lines {
  VSILFILE *f;
  char *buf;
  size_t cap, start, end; /* unread bytes are buf[start..end) */
  int eof;
  int64_t lineno;
  struct inflate_state *gz; /* gzip input: inflated here (NULL: plain) */
  unsigned char *in;        /* compressed bytes read, CHUNK of them */
  int in_eof;
};

char *swath__vsi_path(const char *path) {
  if (strncmp(path, "/vsigzip/", 9) == 0) return strdup(path);
  unsigned char magic[2] = {0, 0};
  VSILFILE *f = VSIFOpenL(path, "rb");
  size_t n = 0;
  if (f) {
    n = VSIFReadL(magic, 1, 2, f);
    VSIFCloseL(f);
  }
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    size_t len = strlen(path) + 10;
    char *s = malloc(len);
    if (s) snprintf(s, len, "/vsigzip/%s", path);
    return s;
  }
  return strdup(path);
}

int swath__lines_open(const char *path, swath__lines **out) {
  *out = NULL;
  swath__lines *l = calloc(1, sizeof *l);
  if (!l || !(l->buf = malloc(CHUNK + 1))) {
    free(l);
    return swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  }
  l->cap = CHUNK;
  int gz = strncmp(path, "/vsigzip/", 9) == 0;
  if (gz && (!(l->gz = malloc(sizeof *l->gz)) || !(l->in = malloc(CHUNK)))) {
    swath__lines_close(l);
    return swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  }
  if (!(l->f = VSIFOpenL(gz ? path + 9 : path, "rb"))) {
    swath__lines_close(l);
    return swath_error_set(SWATH_EINVAL, "ingest: cannot open '%s'", gz ? path + 9 : path);
  }
  if (gz) {
    isal_inflate_init(l->gz);
    l->gz->crc_flag = ISAL_GZIP; /* header parsed, CRC and length checked */
  }
  *out = l;
  return 0;
}

/* Up to n bytes of the file into dst: how many (0 at its end), or the
 * (negative) code of the error set. VSIFEofL is set at a clean end; a
 * short read without it is an error (a failed download). */
static long read_raw(swath__lines *l, void *dst, size_t n) {
  size_t got = VSIFReadL(dst, 1, n, l->f);
  if (got == 0 && !VSIFEofL(l->f))
    return swath_error_set(SWATH_EIO, "ingest: read error after line %lld", (long long)l->lineno);
  return (long)got;
}

/* Up to n bytes of text into dst: read, or inflated from the gzip members.
 * Returns how many (0 at the end), or the (negative) code of the error set. */
static long read_text(swath__lines *l, char *dst, size_t n) {
  if (!l->gz) return read_raw(l, dst, n);
  struct inflate_state *s = l->gz;
  if (n > (size_t)1 << 30) n = (size_t)1 << 30; /* (ISA-L counts in 32 bits) */
  s->next_out = (uint8_t *)dst;
  s->avail_out = (uint32_t)n;
  while (s->avail_out == n) {
    if (!s->avail_in && !l->in_eof) {
      long got = read_raw(l, l->in, CHUNK);
      if (got < 0) return got;
      l->in_eof = got == 0;
      s->next_in = l->in;
      s->avail_in = (uint32_t)got;
    }
    if (s->block_state == ISAL_BLOCK_FINISH) { /* a member ended */
      if (!s->avail_in) return 0;              /* and the file */
      uint8_t *in = s->next_in;                /* another member follows */
      uint32_t avail = s->avail_in;
      isal_inflate_reset(s);
      s->crc_flag = ISAL_GZIP;
      s->next_in = in, s->avail_in = avail;
      s->next_out = (uint8_t *)dst, s->avail_out = (uint32_t)n;
    }
    int r = isal_inflate(s);
    if (r < 0)
      return swath_error_set(SWATH_EINVAL,
                             "ingest: the gzip stream is corrupt after line %lld (%s)",
                             (long long)l->lineno,
                             r == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch"
                             : r == ISAL_INVALID_WRAPPER  ? "not a gzip header"
                                                          : "invalid deflate data");
    if (s->avail_out == n && !s->avail_in && l->in_eof && s->block_state != ISAL_BLOCK_FINISH)
      return swath_error_set(SWATH_EIO, "ingest: the gzip stream ends early, after line %lld",
                             (long long)l->lineno);
  }
  return (long)(n - s->avail_out);
}

int swath__lines_next(swath__lines *l, char **line, size_t *len) {
  for (;;) {
    char *nl = l->end > l->start ? memchr(l->buf + l->start, '\n', l->end - l->start) : NULL;
    if (nl || (l->eof && l->end > l->start)) {
      char *s = l->buf + l->start;
      size_t n = nl ? (size_t)(nl - s) : l->end - l->start;
      l->start += n + (nl ? 1 : 0);
      if (n && s[n - 1] == '\r') n--;
      s[n] = '\0'; /* buf has one spare byte past cap for the last line */
      l->lineno++;
      *line = s;
      *len = n;
      return 1;
    }
    if (l->eof) return 0;
    /* Move the partial line to the front; grow only if it fills the buffer. */
    if (l->start > 0) {
      memmove(l->buf, l->buf + l->start, l->end - l->start);
      l->end -= l->start;
      l->start = 0;
    }
    if (l->end == l->cap) {
      char *nb = realloc(l->buf, 2 * l->cap + 1);
      if (!nb)
        return swath_error_set(SWATH_ENOMEM, "ingest: line %lld is too long for memory",
                               (long long)l->lineno + 1);
      l->buf = nb;
      l->cap *= 2;
    }
    long got = read_text(l, l->buf + l->end, l->cap - l->end);
    if (got < 0) return (int)got;
    if (got == 0) l->eof = 1;
    l->end += (size_t)got;
  }
}

int64_t swath__lines_number(const swath__lines *l) { return l->lineno; }

void swath__lines_close(swath__lines *l) {
  if (!l) return;
  if (l->f) VSIFCloseL(l->f);
  free(l->buf);
  free(l->gz);
  free(l->in);
  free(l);
}

/* ---- dispatch --------------------------------------------------------- */

static const swath_ingest_vtable *const FORMATS[] = {&swath_ingest_s2csv, &swath_ingest_stac,
                                                     &swath_ingest_rasters, NULL};

/* ---- the pipeline: a format's reader thread feeds the store's writer -----
 * Reading (gunzip, parsing, GeoJSON/WKB) runs in its own thread and hands
 * scenes over in batches, so it overlaps the SQLite writes on a second core.
 * A batch owns copies of its scenes' strings; at most QUEUE batches wait. */

#define BATCH_SCENES 4096
#define BATCH_BYTES (2 << 20)
#define QUEUE 4

struct batch {
  swath_scene sc[BATCH_SCENES];
  int n;
  char *arena;
  size_t used, cap;
};

struct pipe {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct batch *q[QUEUE];
  int head, count;
  int done;  /* the reader finished (rc in reader_rc) */
  int abort; /* the writer failed: the reader stops */
  struct batch *cur;
  /* reader side */
  const swath_ingest_vtable *fmt;
  const char *path;
  const swath_ingest_opts *o;
  const char *source;
  int reader_rc;
  char reader_msg[1024];
  int64_t bad;
};

static struct batch *batch_new(void) {
  struct batch *b = calloc(1, sizeof *b);
  if (b && !(b->arena = malloc(BATCH_BYTES))) {
    free(b);
    return NULL;
  }
  if (b) b->cap = BATCH_BYTES;
  return b;
}

static void batch_free(struct batch *b) {
  if (!b) return;
  free(b->arena);
  free(b);
}

/* Copy n bytes into the arena (growing it for one huge scene). */
static void *arena_copy(struct batch *b, const void *p, size_t n) {
  if (!p) return NULL;
  size_t need = (n + 7) & ~(size_t)7;
  if (b->used + need > b->cap) return NULL;
  void *d = b->arena + b->used;
  memcpy(d, p, n);
  b->used += need;
  return d;
}

static int push(struct pipe *p, struct batch *b) {
  pthread_mutex_lock(&p->mu);
  while (p->count == QUEUE && !p->abort)
    pthread_cond_wait(&p->cv, &p->mu);
  int abort = p->abort;
  if (!abort) {
    p->q[(p->head + p->count) % QUEUE] = b;
    p->count++;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  if (abort) batch_free(b);
  return abort ? SWATH_EINTR : 0;
}

static int q_put(void *ud, const swath_scene *s) {
  struct pipe *p = ud;
  size_t need = strlen(s->id) + strlen(s->collection) + strlen(s->doc) + 3 + s->wkb_len + 64 +
                (s->color_src ? strlen(s->color_src) + 1 : 0);
  struct batch *b = p->cur;
  if (b && (b->n == BATCH_SCENES || b->used + need > b->cap)) {
    p->cur = NULL;
    int rc = push(p, b);
    if (rc) return rc;
    b = NULL;
  }
  if (!b) {
    if (!(b = p->cur = batch_new())) return swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  }
  if (need > b->cap) {
    char *a = realloc(b->arena, need);
    if (!a) return swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
    b->arena = a;
    b->cap = need;
  }
  swath_scene *d = &b->sc[b->n++];
  *d = *s;
  d->id = arena_copy(b, s->id, strlen(s->id) + 1);
  d->collection = arena_copy(b, s->collection, strlen(s->collection) + 1);
  d->doc = arena_copy(b, s->doc, strlen(s->doc) + 1);
  d->wkb = s->wkb ? arena_copy(b, s->wkb, s->wkb_len) : NULL;
  d->color_src = s->color_src ? arena_copy(b, s->color_src, strlen(s->color_src) + 1) : NULL;
  return 0;
}

static void q_bad(void *ud, int64_t line, const char *msg) {
  struct pipe *p = ud;
  p->bad++;
  if (p->o->on_bad) p->o->on_bad(p->o->ud, p->source, line, msg);
}

static void *reader(void *arg) {
  struct pipe *p = arg;
  swath_ingest_sink sink = {q_put, q_bad, p};
  int rc = p->fmt->run(p->path, p->o, &sink);
  if (!rc && p->cur) {
    rc = push(p, p->cur);
    p->cur = NULL;
  }
  batch_free(p->cur);
  p->cur = NULL;
  if (rc) snprintf(p->reader_msg, sizeof p->reader_msg, "%s", swath_error_message());
  pthread_mutex_lock(&p->mu);
  p->reader_rc = rc;
  p->done = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static struct batch *pop(struct pipe *p) {
  pthread_mutex_lock(&p->mu);
  while (p->count == 0 && !p->done)
    pthread_cond_wait(&p->cv, &p->mu);
  struct batch *b = NULL;
  if (p->count) {
    b = p->q[p->head];
    p->head = (p->head + 1) % QUEUE;
    p->count--;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return b;
}

/* Run the format in a reader thread; store every scene from this thread. */
static int pipeline(swath_catalog *c, const swath_ingest_vtable *fmt, const char *vpath,
                    const char *source, const swath_ingest_opts *o, swath_ingest_report *r) {
  struct pipe p;
  memset(&p, 0, sizeof p);
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  p.fmt = fmt, p.path = vpath, p.o = o, p.source = source;
  pthread_t th;
  if (pthread_create(&th, NULL, reader, &p) != 0)
    return swath_error_set(SWATH_EIO, "ingest: cannot start the reader thread");
  int rc = 0;
  struct batch *b;
  while ((b = pop(&p))) {
    int stored = 0, updated = 0;
    rc = swath__store_put_many(c, b->sc, b->n, &stored, &updated);
    r->read += stored;
    r->updated += updated;
    r->inserted += stored - updated;
    batch_free(b);
    if (rc) {
      pthread_mutex_lock(&p.mu);
      p.abort = 1;
      pthread_cond_broadcast(&p.cv);
      pthread_mutex_unlock(&p.mu);
      while ((b = pop(&p)))
        batch_free(b);
      break;
    }
  }
  pthread_join(th, NULL);
  r->read += p.bad;
  r->malformed += p.bad;
  if (!rc && p.reader_rc) rc = swath_error_set(p.reader_rc, "%s", p.reader_msg);
  pthread_mutex_destroy(&p.mu);
  pthread_cond_destroy(&p.cv);
  return rc;
}

int swath_catalog_ingest(swath_catalog *c, const char *path, const swath_ingest_opts *o,
                         swath_ingest_report *r) {
  static const swath_ingest_opts defaults = {0};
  if (!o) o = &defaults;
  memset(r, 0, sizeof *r);
  VSIStatBufL sb;
  if (VSIStatL(path, &sb) != 0)
    return swath_error_set(SWATH_EINVAL, "ingest: '%s' does not exist", path);
  int is_dir = VSI_ISDIR(sb.st_mode);
  char *vpath = is_dir ? strdup(path) : swath__vsi_path(path);
  if (!vpath) return swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  char head[4096];
  size_t n = 0;
  if (!is_dir) {
    VSILFILE *f = VSIFOpenL(vpath, "rb");
    if (!f) {
      free(vpath);
      return swath_error_set(SWATH_EINVAL, "ingest: cannot read '%s'", path);
    }
    n = VSIFReadL(head, 1, sizeof head - 1, f);
    VSIFCloseL(f);
    head[n] = '\0';
  }
  const swath_ingest_vtable *fmt = NULL;
  if (o->format) {
    for (int i = 0; FORMATS[i]; i++)
      if (strcmp(FORMATS[i]->name, o->format) == 0) fmt = FORMATS[i];
    if (!fmt) {
      free(vpath);
      return swath_error_set(SWATH_EINVAL,
                             "ingest: unknown format '%s' (expected s2csv, stac or "
                             "rasters)",
                             o->format);
    }
  } else {
    int best = 0;
    for (int i = 0; FORMATS[i]; i++) {
      if (FORMATS[i]->abi != SWATH_INGEST_ABI) continue;
      int score = FORMATS[i]->probe(vpath, head, n, is_dir);
      if (score > best) {
        best = score;
        fmt = FORMATS[i];
      }
    }
    if (!fmt) {
      free(vpath);
      return swath_error_set(SWATH_EINVAL,
                             "ingest: '%s' is neither a Sentinel-2 index CSV (header GRANULE_ID,"
                             "PRODUCT_ID,...), STAC items (JSON, ItemCollection, NDJSON) nor a "
                             "folder of rasters",
                             path);
    }
  }
  r->format = fmt->name;
  swath_info("ingest: reading '%s' as %s", path, fmt->name);
  int bulk = swath__store_bulk_begin(c);
  if (bulk < 0) {
    free(vpath);
    return bulk;
  }
  if (bulk) swath_info("ingest: new catalog: bulk build (indexes and R*Tree at the end)");
  int rc = pipeline(c, fmt, vpath, path, o, r);
  free(vpath);
  /* Keep the records read before a failure (a re-ingest updates them in
   * place, so nothing is duplicated); the message says where it stopped. */
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", swath_error_message());
  int rc2;
  if (bulk) {
    int64_t dups = 0;
    rc2 = swath__store_bulk_end(c, &dups);
    r->inserted -= dups;
    r->updated += dups;
  } else {
    rc2 = swath__store_commit(c);
  }
  if (rc) return swath_error_set(rc, "%s", msg);
  return rc2;
}

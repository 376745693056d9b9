/* rtree_pack.c: bulk-loads the catalog's R*Tree (items_rtree) when a new
 * catalog is built, instead of inserting entries one by one.
 *
 * Why: SQLite's R*Tree insert costs ~12 us per entry on the machines we
 * measured (ChooseLeaf, node rewrites and three shadow tables per insert),
 * which alone caps ingest at ~80k rows/s. Packing writes every node once.
 *
 * How: entries are sorted by the Hilbert index of their bbox centre, then
 * by time, with a bounded-memory external sort (runs of RUN entries in
 * temporary files, then a k-way merge); consecutive entries fill leaves,
 * whose bounds fill the level above, up to the root (node 1). The nodes are
 * written in SQLite's documented R*Tree format (see the "Database Format of
 * R-Tree Tables" comment in SQLite's rtree.c): %_node(nodeno, data) where
 * data is [depth (root only), cell count] as big-endian 16-bit integers then
 * cells of a big-endian 64-bit id and big-endian float32 coordinates;
 * %_rowid(rowid, nodeno, a0, a1, ...) for every entry, the a's being the
 * auxiliary columns; %_parent(nodeno, parentnode) for every node but the
 * root. Coordinates are rounded outwards to float32 as SQLite itself does,
 * so the tree never misses an entry. The result is an ordinary R*Tree:
 * later inserts and deletes use SQLite's own code, and rtreecheck() accepts
 * it (tests check that).
 *
 * Entry ids (k) are numbered in leaf order, and each entry's %_rowid row
 * carries the item's rid, datetime, id and collection (catalog_int.h): the
 * rows of one area's entries then sit together in %_rowid, so a search
 * reads them from a few pages instead of one items page each (search_sql.c).
 * For that the sort carries each entry's rid and datetime, its collection
 * as a number (a catalog has few), and its id as an offset into a text log
 * (a temporary file, mapped when the entries are written).
 *
 * Each full run is sorted and written by a helper thread while the next
 * one fills (two buffers). The entries come from the ingest's writer
 * thread, which bounds a bulk ingest's row phase: sorting a run there cost
 * it 0.35 s per million rows. The last run is sorted the same way while the
 * indexes are built (swath__rtpack_flush). When the tree is written, the
 * runs are merged on a helper thread too, and the writer thread only
 * formats nodes and feeds SQLite (see "merge"). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "catalog/catalog_int.h"
#include "core/error.h"

#define RUN (1 << 20) /* entries per in-memory run by default: 64 MB */
#define NCOORD 6

struct entry {
  uint64_t key; /* Hilbert index << 32 | day; until the run is sorted, the grid
                   cell instead: x << 48 | y << 32 | day (see keys_finish) */
  int64_t id;   /* the item's rid */
  int64_t dt;
  uint64_t text;   /* offset of the item's id (NUL-terminated) in the text log */
  uint32_t len;    /* the id's length */
  uint32_t coll;   /* index in colls */
  float c[NCOORD]; /* minx, maxx, miny, maxy, t0, t1 */
};

/* A key and where its entry is, for the radix sort (see write_sorted). */
struct pair {
  uint64_t key;
  uint64_t i;
};

/* A run being sorted and written to a temporary file by the helper. */
struct job {
  struct entry *buf;
  size_t n;
  struct pair *pairs; /* 2 n of them: the sort's two buffers */
  FILE *f;            /* the run, once written (NULL if that failed) */
};

struct swath__rtpack {
  size_t run;          /* entries per run */
  struct entry *buf;   /* the run filling */
  struct entry *spare; /* the other buffer: the helper's job, or idle */
  struct pair *pairs;  /* the helper's sort buffers (2 run of them) */
  size_t n;
  struct job job;
  pthread_t helper;
  int running;  /* a job was handed over (spill_wait before touching job or spare) */
  int threaded; /* ... to the helper thread (else it ran in place) */
  FILE **runs;
  size_t *run_len;
  int nruns;
  int64_t last_id; /* entries come in increasing rid order */
  FILE *text;      /* the text log */
  uint64_t text_len;
  char **colls;
  int *coll_len;
  uint32_t ncolls, last_coll;
};

static float round_down(double d) {
  float f = (float)d;
  return (double)f > d ? nextafterf(f, -INFINITY) : f;
}

static float round_up(double d) {
  float f = (float)d;
  return (double)f < d ? nextafterf(f, INFINITY) : f;
}

/* Hilbert index of (x, y) on a 2^16 grid (the rotate-and-flip walk).
 * Without branches: where the quadrant says so, flip both (x = s-1-x,
 * y = s-1-y), then swap them, through masks. The branches mispredicted
 * about half the time: 177 ns a call, 86 ns without (10M random points). */
static uint32_t hilbert(uint32_t x, uint32_t y) {
  uint32_t d = 0;
  for (uint32_t s = 1u << 15; s > 0; s >>= 1) {
    uint32_t rx = (x & s) > 0, ry = (y & s) > 0;
    d += s * s * ((3 * rx) ^ ry);
    uint32_t flip = -(rx & (ry ^ 1)), swap = -(ry ^ 1);
    x ^= flip & (x ^ (s - 1 - x));
    y ^= flip & (y ^ (s - 1 - y));
    uint32_t t = swap & (x ^ y);
    x ^= t;
    y ^= t;
  }
  return d;
}

int swath__rtpack_new(size_t run, swath__rtpack **out) {
  swath__rtpack *p = calloc(1, sizeof *p);
  if (p) p->run = run ? run : RUN;
  if (!p || !(p->buf = malloc(p->run * sizeof *p->buf)) || !(p->text = tmpfile())) {
    if (p) free(p->buf);
    free(p);
    return swath_error_set(SWATH_ENOMEM, "catalog: out of memory for the R*Tree build");
  }
  *out = p;
  return 0;
}

static int cmp_entry(const void *a, const void *b) {
  const struct entry *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* The Hilbert index of each entry's cell, computed where the run is
 * sorted: on the helper thread, not on the ingest's writer thread, where
 * it was most of swath__rtpack_add. */
static void keys_finish(struct entry *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t hx = (uint32_t)(e[i].key >> 48), hy = (uint32_t)(e[i].key >> 32) & 0xffffu;
    e[i].key = ((uint64_t)hilbert(hx, hy) << 32) | (e[i].key & 0xffffffffu);
  }
}

/* Writes the n entries of e to f in cmp_entry's order. A run comes in rid
 * order (swath__rtpack_add sees to it), so a stable sort by key alone gives
 * that order: a least significant digit radix sort of (key, index) pairs,
 * a byte a pass, skipping the bytes all keys share (the day's high bytes),
 * then the entries gathered in that order. qsort took 0.33 s of the
 * helper's CPU a 1M-entry run (comparisons through a pointer, 64-byte
 * moves), 3.3 s of a 10M-row ingest's row phase, whose two cores are
 * busy. */
static int write_sorted(const struct entry *e, size_t n, struct pair *a, FILE *f) {
  struct pair *b = a + n;
  for (size_t i = 0; i < n; i++)
    a[i] = (struct pair){e[i].key, i};
  size_t count[8][256];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < 8; d++)
      count[d][(a[i].key >> (8 * d)) & 0xff]++;
  for (int d = 0; d < 8 && n; d++) {
    if (count[d][(a[0].key >> (8 * d)) & 0xff] == n) continue; /* one value: nothing to do */
    size_t pos[256], sum = 0;
    for (size_t v = 0; v < 256; v++) {
      pos[v] = sum;
      sum += count[d][v];
    }
    for (size_t i = 0; i < n; i++)
      b[pos[(a[i].key >> (8 * d)) & 0xff]++] = a[i];
    struct pair *t = a;
    a = b;
    b = t;
  }
  struct entry out[1024];
  for (size_t i = 0; i < n;) {
    size_t k = n - i < 1024 ? n - i : 1024;
    for (size_t j = 0; j < k; j++)
      out[j] = e[a[i + j].i];
    if (fwrite(out, sizeof *out, k, f) != k) return -1;
    i += k;
  }
  return 0;
}

static void *spill_job(void *arg) {
  struct job *j = arg;
  keys_finish(j->buf, j->n);
  FILE *f = tmpfile();
  if (f && (write_sorted(j->buf, j->n, j->pairs, f) != 0 || fflush(f) != 0)) {
    fclose(f);
    f = NULL;
  }
  if (f) rewind(f);
  j->f = f;
  return NULL;
}

/* Waits for the helper's run, if any, and adds it to the runs. */
static int spill_wait(swath__rtpack *p) {
  if (!p->running) return 0;
  if (p->threaded) pthread_join(p->helper, NULL);
  p->running = 0;
  FILE **runs = realloc(p->runs, (p->nruns + 1) * sizeof *runs);
  size_t *lens = realloc(p->run_len, (p->nruns + 1) * sizeof *lens);
  if (runs) p->runs = runs;
  if (lens) p->run_len = lens;
  if (!p->job.f || !runs || !lens) {
    if (p->job.f) fclose(p->job.f);
    return swath_error_set(SWATH_EIO, "catalog: cannot write the R*Tree sort run to a temporary "
                                      "file (TMPDIR full?)");
  }
  p->runs[p->nruns] = p->job.f;
  p->run_len[p->nruns++] = p->job.n;
  return 0;
}

/* Hands the full buffer to the helper, which sorts it and writes it as a
 * run, and goes on filling the other one. */
static int spill(swath__rtpack *p) {
  if (!p->n) return 0;
  int rc = spill_wait(p); /* (the spare buffer is free once it returns) */
  if (rc) return rc;
  if ((!p->spare && !(p->spare = malloc(p->run * sizeof *p->spare))) ||
      (!p->pairs && !(p->pairs = malloc(2 * p->run * sizeof *p->pairs))))
    return swath_error_set(SWATH_ENOMEM, "catalog: out of memory for the R*Tree build");
  p->job = (struct job){p->buf, p->n, p->pairs, NULL};
  p->buf = p->spare;
  p->spare = p->job.buf;
  p->n = 0;
  p->threaded = pthread_create(&p->helper, NULL, spill_job, &p->job) == 0;
  if (!p->threaded) spill_job(&p->job); /* no thread: sort it here */
  p->running = 1;
  return 0;
}

int swath__rtpack_flush(swath__rtpack *p) { return spill(p); }

/* The number of collection `coll`, added to the list if new. */
static int coll_index(swath__rtpack *p, const char *coll, uint32_t *out) {
  if (p->ncolls && !strcmp(p->colls[p->last_coll], coll)) {
    *out = p->last_coll;
    return 0;
  }
  uint32_t k = 0;
  while (k < p->ncolls && strcmp(p->colls[k], coll))
    k++;
  if (k == p->ncolls) {
    char **n = realloc(p->colls, (p->ncolls + 1) * sizeof *n);
    if (n) p->colls = n;
    int *l = n ? realloc(p->coll_len, (p->ncolls + 1) * sizeof *l) : NULL;
    if (l) p->coll_len = l;
    if (!l || !(p->colls[k] = strdup(coll)))
      return swath_error_set(SWATH_ENOMEM, "catalog: out of memory for the R*Tree build");
    l[k] = (int)strlen(coll);
    p->ncolls++;
  }
  *out = p->last_coll = k;
  return 0;
}

int swath__rtpack_add(swath__rtpack *p, int64_t id, const swath_scene *s) {
  if (id <= p->last_id) /* (write_sorted relies on it) */
    return swath_error_set(SWATH_EINTERNAL, "catalog: R*Tree entries out of rid order");
  p->last_id = id;
  if (p->n == p->run) {
    int rc = spill(p);
    if (rc) return rc;
  }
  const double *bbox = s->bbox;
  int64_t t0 = s->dt0, t1 = s->dt1;
  struct entry *e = &p->buf[p->n];
  int rc = coll_index(p, s->collection, &e->coll);
  if (rc) return rc;
  size_t len = strlen(s->id) + 1;
  if (fwrite(s->id, 1, len, p->text) != len)
    return swath_error_set(SWATH_EIO, "catalog: cannot write item ids to a temporary file for the "
                                      "R*Tree build (TMPDIR full?)");
  e->text = p->text_len;
  e->len = (uint32_t)(len - 1);
  p->text_len += len;
  e->dt = s->dt;
  p->n++;
  /* crossing the antimeridian: [west, east + 360], as rtree_put in store.c */
  int cross = bbox[0] > bbox[2];
  double w = bbox[0], east = cross ? bbox[2] + 360.0 : bbox[2];
  e->id = id;
  e->c[0] = round_down(w);
  e->c[1] = round_up(east);
  e->c[2] = round_down(bbox[1]);
  e->c[3] = round_up(bbox[3]);
  e->c[4] = round_down((double)t0 / SWATH_DAY_MS);
  e->c[5] = round_up((double)t1 / SWATH_DAY_MS);
  double cx = (w + east) / 2, cy = (bbox[1] + bbox[3]) / 2;
  uint32_t hx = (uint32_t)fmin(65535.0, fmax(0.0, (cx + 180.0) / 360.0 * 65536.0));
  uint32_t hy = (uint32_t)fmin(65535.0, fmax(0.0, (cy + 90.0) / 180.0 * 65536.0));
  /* then by day, so the leaves of one footprint cover short time spans */
  int64_t day = t0 / 86400000 + (1LL << 31);
  uint32_t d = day < 0 ? 0 : day > 0xffffffffLL ? 0xffffffffu : (uint32_t)day;
  e->key = ((uint64_t)hx << 48) | ((uint64_t)hy << 32) | d; /* (keys_finish) */
  return 0;
}

void swath__rtpack_free(swath__rtpack *p) {
  if (!p) return;
  if (p->running) { /* (not spill_wait: no error message now) */
    if (p->threaded) pthread_join(p->helper, NULL);
    if (p->job.f) fclose(p->job.f);
  }
  for (int k = 0; k < p->nruns; k++)
    fclose(p->runs[k]);
  if (p->text) fclose(p->text);
  for (uint32_t k = 0; k < p->ncolls; k++)
    free(p->colls[k]);
  free(p->colls);
  free(p->coll_len);
  free(p->runs);
  free(p->run_len);
  free(p->buf);
  free(p->spare);
  free(p->pairs);
  free(p);
}

/* ---- merge ------------------------------------------------------------------ */

/* The k-way merge of the runs runs on a helper thread, which hands the
 * entries in leaf order to the writer in chunks of whole leaves through a
 * small ring: picking the smallest head and reading the runs was a quarter
 * of the R*Tree phase on the writer thread, the one that feeds SQLite. */
#define NCHUNK 4         /* chunks in the ring */
#define CHUNK_LEAVES 256 /* leaves per chunk (fewer if a run holds fewer) */

struct cursor {
  FILE *f;
  size_t left;
  struct entry e;
};

static int cursor_next(struct cursor *c) {
  if (!c->left) return 0;
  if (fread(&c->e, sizeof c->e, 1, c->f) != 1) return -1;
  c->left--;
  return 1;
}

struct chunk {
  struct entry *e;
  size_t n;
  int last; /* nothing follows this chunk */
};

struct merge {
  struct cursor *cur; /* a run each; e.id < 0 once it is exhausted */
  int ncur;
  const int64_t *skip; /* rids deleted as duplicates (sorted) */
  size_t nskip;
  struct entry next; /* one entry looked ahead, so that a chunk knows it is the last */
  int have_next;
  int failed; /* a run could not be read (set by the filling thread) */
  size_t cap; /* entries per chunk: CHUNK_LEAVES whole leaves */
  struct chunk ring[NCHUNK];
  unsigned filled, taken; /* chunks filled and taken so far */
  int stop;               /* the writer gave up: the helper ends */
  int threaded;           /* else the writer fills ring[0] itself */
  pthread_t helper;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

/* The next entry in merged order that was not deleted; 0 at the end. */
static int merge_pull(struct merge *m, struct entry *out) {
  for (;;) {
    int best = -1;
    for (int k = 0; k < m->ncur; k++)
      if (m->cur[k].e.id >= 0 && (best < 0 || cmp_entry(&m->cur[k].e, &m->cur[best].e) < 0))
        best = k;
    if (best < 0 || m->failed) return 0;
    *out = m->cur[best].e;
    int r = cursor_next(&m->cur[best]);
    if (r < 0) m->failed = 1;
    if (r <= 0) m->cur[best].e.id = -1;
    if (!m->nskip || !bsearch(&out->id, m->skip, m->nskip, sizeof *m->skip, swath__cmp_i64))
      return 1;
  }
}

static void fill(struct merge *m, struct chunk *ch) {
  ch->n = 0;
  while (m->have_next && ch->n < m->cap) {
    ch->e[ch->n++] = m->next;
    m->have_next = merge_pull(m, &m->next);
  }
  ch->last = !m->have_next;
}

static void *merge_main(void *arg) {
  struct merge *m = arg;
  pthread_mutex_lock(&m->mu);
  for (;;) {
    while (!m->stop && m->filled - m->taken == NCHUNK)
      pthread_cond_wait(&m->cv, &m->mu);
    if (m->stop) break;
    struct chunk *ch = &m->ring[m->filled % NCHUNK];
    pthread_mutex_unlock(&m->mu);
    fill(m, ch);
    pthread_mutex_lock(&m->mu);
    m->filled++;
    pthread_cond_broadcast(&m->cv);
    if (ch->last) break;
  }
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

/* Opens a cursor on each run and starts the helper (without a thread, the
 * writer fills one chunk at a time itself). */
static int merge_start(struct merge *m, swath__rtpack *p, size_t cap, const int64_t *skip,
                       size_t nskip) {
  *m = (struct merge){.ncur = p->nruns, .skip = skip, .nskip = nskip, .cap = cap};
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cv, NULL);
  if (m->ncur && !(m->cur = calloc((size_t)m->ncur, sizeof *m->cur)))
    return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  for (int k = 0; k < m->ncur; k++) {
    m->cur[k].f = p->runs[k];
    m->cur[k].left = p->run_len[k];
    int r = cursor_next(&m->cur[k]);
    if (r < 0) m->failed = 1;
    if (r <= 0) m->cur[k].e.id = -1;
  }
  m->have_next = merge_pull(m, &m->next);
  for (int k = 0; k < NCHUNK; k++)
    if (!(m->ring[k].e = malloc(cap * sizeof *m->ring[k].e)))
      return swath_error_set(SWATH_ENOMEM, "catalog: out of memory for the R*Tree build");
  m->threaded = pthread_create(&m->helper, NULL, merge_main, m) == 0;
  return 0;
}

/* The next chunk in merged order; merge_release hands it back. */
static struct chunk *merge_take(struct merge *m) {
  if (!m->threaded) {
    fill(m, &m->ring[0]);
    return &m->ring[0];
  }
  pthread_mutex_lock(&m->mu);
  while (m->filled == m->taken)
    pthread_cond_wait(&m->cv, &m->mu);
  struct chunk *ch = &m->ring[m->taken % NCHUNK];
  pthread_mutex_unlock(&m->mu);
  return ch;
}

static void merge_release(struct merge *m) {
  if (!m->threaded) return;
  pthread_mutex_lock(&m->mu);
  m->taken++;
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

/* Stops and joins the helper (done or not) and frees the chunks. */
static void merge_end(struct merge *m) {
  if (m->threaded) {
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->helper, NULL);
    m->threaded = 0;
  }
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  for (int k = 0; k < NCHUNK; k++)
    free(m->ring[k].e);
  free(m->cur);
}

/* ---- writing nodes ------------------------------------------------------------- */

struct writer {
  sqlite3 *db;
  sqlite3_stmt *node, *parent, *rowid, *rowids; /* rowids: a full leaf's rows at once */
  int node_size, max_cells;
  int64_t next_node;
  unsigned char *blob;
  const swath__rtpack *p;
  const char *text; /* the text log, mapped */
};

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static void put_cell(unsigned char *p, int64_t id, const float c[NCOORD]) {
  uint64_t u = (uint64_t)id;
  for (int k = 0; k < 8; k++)
    p[k] = (unsigned char)(u >> (56 - 8 * k));
  for (int j = 0; j < NCOORD; j++) {
    uint32_t b;
    memcpy(&b, &c[j], 4);
    for (int k = 0; k < 4; k++)
      p[8 + 4 * j + k] = (unsigned char)(b >> (24 - 8 * k));
  }
}

static int write_node(struct writer *w, int64_t nodeno, int depth, const int64_t *ids,
                      float (*c)[NCOORD], int n) {
  memset(w->blob, 0, (size_t)w->node_size);
  if (nodeno == 1) put16(w->blob, (unsigned)depth);
  put16(w->blob + 2, (unsigned)n);
  for (int i = 0; i < n; i++)
    put_cell(w->blob + 4 + i * (8 + 4 * NCOORD), ids[i], c[i]);
  sqlite3_bind_int64(w->node, 1, nodeno);
  sqlite3_bind_blob(w->node, 2, w->blob, w->node_size, SQLITE_STATIC);
  int r = sqlite3_step(w->node);
  sqlite3_reset(w->node);
  return r == SQLITE_DONE ? 0 : swath__sql_error(w->db, "catalog: writing an R*Tree node");
}

static void grow(float box[NCOORD], const float c[NCOORD], int first) {
  for (int j = 0; j < NCOORD; j += 2) {
    if (first || c[j] < box[j]) box[j] = c[j];
    if (first || c[j + 1] > box[j + 1]) box[j + 1] = c[j + 1];
  }
}

/* One level above `ids/c` (n entries): groups of max_cells become nodes;
 * their numbers and bounds replace the arrays. Children get their parent. */
static int build_level(struct writer *w, int64_t **ids, float (**c)[NCOORD], size_t *n) {
  size_t groups = (*n + (size_t)w->max_cells - 1) / (size_t)w->max_cells;
  int64_t *nids = malloc(groups * sizeof *nids);
  float(*nc)[NCOORD] = malloc(groups * sizeof *nc);
  if (!nids || !nc) {
    free(nids);
    free(nc);
    return swath_error_set(SWATH_ENOMEM, "catalog: out of memory for the R*Tree build");
  }
  for (size_t g = 0; g < groups; g++) {
    size_t a = g * (size_t)w->max_cells, b = a + (size_t)w->max_cells;
    if (b > *n) b = *n;
    int64_t nodeno = w->next_node++;
    int rc = write_node(w, nodeno, 0, *ids + a, *c + a, (int)(b - a));
    if (rc) {
      free(nids);
      free(nc);
      return rc;
    }
    for (size_t i = a; i < b; i++) {
      grow(nc[g], (*c)[i], i == a);
    }
    nids[g] = nodeno;
  }
  free(*ids);
  free(*c);
  *ids = nids;
  *c = nc;
  *n = groups;
  return 0;
}

/* A leaf: its node, then the %_rowid rows of its entries (ids k0, k0 + 1, ...). */
static int write_leaf(struct writer *w, int64_t nodeno, int64_t k0, const struct entry *e, int n) {
  int64_t ids[64] = {0};
  float c[64][NCOORD];
  for (int i = 0; i < n; i++) {
    ids[i] = k0 + i;
    memcpy(c[i], e[i].c, sizeof c[i]);
  }
  int rc = write_node(w, nodeno, 0, ids, c, n);
  /* one statement per full leaf: a step per row was a third of the cost.
   * The rows' rowids are left NULL: entries are numbered from 1 in the
   * order they are written, so SQLite appends each with the one it picks,
   * max + 1 (checked), where a given rowid costs a seek per row to check
   * that it is free: 12% of the R*Tree phase's writer thread. */
  int many = n == w->max_cells;
  sqlite3_stmt *st = many ? w->rowids : w->rowid;
  for (int i = 0; i < n && !rc; i++) {
    int b = many ? 6 * i : 0;
    sqlite3_bind_null(st, b + 1);
    sqlite3_bind_int64(st, b + 2, nodeno);
    sqlite3_bind_int64(st, b + 3, e[i].id);
    sqlite3_bind_int64(st, b + 4, e[i].dt);
    sqlite3_bind_text(st, b + 5, w->text + e[i].text, (int)e[i].len, SQLITE_STATIC);
    sqlite3_bind_text(st, b + 6, w->p->colls[e[i].coll], w->p->coll_len[e[i].coll], SQLITE_STATIC);
    if (many && i < n - 1) continue;
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = swath__sql_error(w->db, "catalog: R*Tree");
    else if (sqlite3_last_insert_rowid(w->db) != k0 + i)
      rc = swath_error_set(SWATH_EINTERNAL, "catalog: R*Tree entry %lld stored as %lld",
                           (long long)(k0 + i), (long long)sqlite3_last_insert_rowid(w->db));
    sqlite3_reset(st);
  }
  return rc;
}

/* Appends node `nodeno` with bounds from c (n entries) to the level being
 * built (ids/c/n/cap, grown as needed). */
static int add_child(int64_t **ids, float (**c)[NCOORD], size_t *n, size_t *cap, int64_t nodeno,
                     const struct entry *e, int ne) {
  if (*n == *cap) {
    size_t nc = *cap ? 2 * *cap : 1024;
    int64_t *ni = realloc(*ids, nc * sizeof *ni);
    if (ni) *ids = ni;
    float(*ncs)[NCOORD] = ni ? realloc(*c, nc * sizeof *ncs) : NULL;
    if (!ni || !ncs) return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
    *c = ncs;
    *cap = nc;
  }
  (*ids)[*n] = nodeno;
  for (int i = 0; i < ne; i++)
    grow((*c)[*n], e[i].c, i == 0);
  (*n)++;
  return 0;
}

int swath__rtpack_write(swath__rtpack *p, sqlite3 *db, const char *table, const int64_t *skip,
                        size_t nskip) {
  struct writer w = {db, NULL, NULL, NULL, NULL, 0, 0, 2, NULL, p, NULL};
  char sql[256];
  int rc = 0;
  sqlite3_stmt *st;
  int64_t *ids = NULL; /* the level being built: node numbers and bounds */
  float(*c)[NCOORD] = NULL;
  size_t n = 0, cap = 0;
  struct merge m;
  int merging = 0; /* m was started */
  snprintf(sql, sizeof sql, "SELECT length(data) FROM \"%s_node\" WHERE nodeno = 1", table);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL)) return swath__sql_error(db, "catalog: R*Tree");
  if (sqlite3_step(st) == SQLITE_ROW) w.node_size = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  w.max_cells = (w.node_size - 4) / (8 + 4 * NCOORD);
  if (w.max_cells > 51) w.max_cells = 51; /* SQLite's RTREE_MAXCELLS */
  if (w.max_cells < 4)
    return swath_error_set(SWATH_EINTERNAL, "catalog: unexpected R*Tree node size %d", w.node_size);
  snprintf(sql, sizeof sql,
           "DELETE FROM \"%s_node\"; DELETE FROM \"%s_rowid\"; DELETE FROM "
           "\"%s_parent\"",
           table, table, table);
  if ((rc = swath__exec(db, sql))) return rc;
  if (fflush(p->text))
    return swath_error_set(SWATH_EIO, "catalog: cannot write item ids to a temporary file for the "
                                      "R*Tree build (TMPDIR full?)");
  void *map = MAP_FAILED;
  /* (read in leaf order, so all over the file: populated at once) */
  if (p->text_len && (map = mmap(NULL, (size_t)p->text_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
                                 fileno(p->text), 0)) == MAP_FAILED)
    return swath_error_set(SWATH_EIO, "catalog: cannot map the R*Tree build's temporary file");
  w.text = map == MAP_FAILED ? NULL : map;
  snprintf(sql, sizeof sql, "INSERT INTO \"%s_node\" VALUES(?1, ?2)", table);
  if (sqlite3_prepare_v2(db, sql, -1, &w.node, NULL)) {
    rc = swath__sql_error(db, "catalog");
    goto done;
  }
  for (int many = 0; many < 2; many++) {
    char *ins =
        sqlite3_mprintf("INSERT INTO \"%w_rowid\"(rowid, nodeno, a0, a1, a2, a3) VALUES", table);
    for (int i = 0; ins && i < (many ? w.max_cells : 1); i++)
      ins = sqlite3_mprintf("%z%s(?, ?, ?, ?, ?, ?)", ins, i ? ", " : "");
    int bad = !ins || sqlite3_prepare_v2(db, ins, -1, many ? &w.rowids : &w.rowid, NULL);
    sqlite3_free(ins);
    if (bad) {
      rc = swath__sql_error(db, "catalog");
      goto done;
    }
  }
  if (!(w.blob = malloc((size_t)w.node_size))) {
    rc = swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
    goto done;
  }
  /* every entry into a sorted run (swath__rtpack_flush started the last) */
  if ((rc = spill(p)) || (rc = spill_wait(p))) goto done;
  size_t mc = (size_t)w.max_cells;
  merging = 1;
  size_t leaves = p->run / mc; /* (no more per chunk than a run holds: tests set small runs) */
  leaves = leaves < 1 ? 1 : leaves > CHUNK_LEAVES ? CHUNK_LEAVES : leaves;
  if ((rc = merge_start(&m, p, mc * leaves, skip, nskip))) goto done;

  /* Leaves filled in merged order: chunks hold whole leaves, and the last
   * leaf, which may be the root, is kept back. Entry ids are numbered from
   * 1 in this order. */
  struct entry leaf[64];
  int ln = 0;
  int64_t k0 = 1; /* the id of the next leaf's first entry */
  for (int last = 0; !last && !rc;) {
    struct chunk *ch = merge_take(&m);
    last = ch->last;
    for (size_t off = 0; off < ch->n && !rc; off += mc) {
      size_t cnt = ch->n - off < mc ? ch->n - off : mc;
      const struct entry *e = ch->e + off;
      if (last && off + cnt == ch->n) {
        memcpy(leaf, e, cnt * sizeof *e);
        ln = (int)cnt;
        break;
      }
      /* the next leaf's ids lie all over the id log: start fetching them
       * (a cache miss each, 1 s over 10M entries) */
      for (size_t i = off + mc; w.text && i < off + 2 * mc && i < ch->n; i++)
        __builtin_prefetch(w.text + ch->e[i].text);
      int64_t nodeno = w.next_node++;
      if (!(rc = write_leaf(&w, nodeno, k0, e, (int)cnt)))
        rc = add_child(&ids, &c, &n, &cap, nodeno, e, (int)cnt);
      k0 += (int64_t)cnt;
    }
    merge_release(&m);
  }
  if (!rc && m.failed)
    rc = swath_error_set(SWATH_EIO, "catalog: reading an R*Tree sort run failed");
  if (rc) goto done;
  int depth = 0;
  if (n == 0) {
    /* everything fits in the root, which is then a leaf */
    if ((rc = write_leaf(&w, 1, k0, leaf, ln))) goto done;
  } else {
    if (ln) {
      int64_t nodeno = w.next_node++;
      if ((rc = write_leaf(&w, nodeno, k0, leaf, ln)) ||
          (rc = add_child(&ids, &c, &n, &cap, nodeno, leaf, ln)))
        goto done;
    }
    /* parents: record each level's children as we go up */
    snprintf(sql, sizeof sql, "INSERT INTO \"%s_parent\" VALUES(?1, ?2)", table);
    if (sqlite3_prepare_v2(db, sql, -1, &w.parent, NULL)) {
      rc = swath__sql_error(db, "catalog");
      goto done;
    }
    depth = 1;
    while (n > (size_t)w.max_cells) {
      int64_t first = w.next_node;
      int64_t *children = malloc(n * sizeof *children);
      if (!children) {
        rc = swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
        goto done;
      }
      memcpy(children, ids, n * sizeof *children);
      size_t nchildren = n;
      if ((rc = build_level(&w, &ids, &c, &n))) {
        free(children);
        goto done;
      }
      for (size_t i = 0; i < nchildren && !rc; i++) {
        sqlite3_bind_int64(w.parent, 1, children[i]);
        sqlite3_bind_int64(w.parent, 2, first + (int64_t)(i / (size_t)w.max_cells));
        if (sqlite3_step(w.parent) != SQLITE_DONE) rc = swath__sql_error(db, "catalog: R*Tree");
        sqlite3_reset(w.parent);
      }
      free(children);
      if (rc) goto done;
      depth++;
    }
    if ((rc = write_node(&w, 1, depth, ids, c, (int)n))) goto done;
    for (size_t i = 0; i < n && !rc; i++) {
      sqlite3_bind_int64(w.parent, 1, ids[i]);
      sqlite3_bind_int64(w.parent, 2, 1);
      if (sqlite3_step(w.parent) != SQLITE_DONE) rc = swath__sql_error(db, "catalog: R*Tree");
      sqlite3_reset(w.parent);
    }
  }
done:
  sqlite3_finalize(w.node);
  sqlite3_finalize(w.parent);
  sqlite3_finalize(w.rowid);
  sqlite3_finalize(w.rowids);
  if (map != MAP_FAILED) munmap(map, (size_t)p->text_len);
  free(w.blob);
  free(ids);
  free(c);
  if (merging) merge_end(&m);
  return rc;
}

/* tile_memo.c: decoded cached tiles shared by a run's workers; see
 * tile_memo.h.
 *
 * Invariants (under m->mu): an entry is in the table (its hash chain and
 * the recency list) or detached; `bytes` is the sum of the planes of the
 * decoded entries in the table and never exceeds the budget; an entry is
 * freed only when it is detached and no thread holds it (refs 0). A
 * claimed entry (PENDING) is held by its claimer until _done, so it is
 * never evicted; waiters hold it too and wake on m->cv. */
#include "io/tile_memo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

enum { PENDING, READY, FAILED };

struct swath_tile_memo_entry {
  char *path;
  uint64_t hash;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  int state;
  int refs;
  int in_table;
  int shareable; /* READY from the file as keyed: waiters may use it */
  swath_decoded_tile t;
  size_t bytes;
  swath_tile_memo_entry *chain;         /* next in the hash bucket */
  swath_tile_memo_entry *newer, *older; /* recency list */
};

struct swath_tile_memo {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t budget, bytes, peak;
  swath_tile_memo_entry **buckets;
  size_t nbuckets, count; /* entries in the table */
  swath_tile_memo_entry *newest, *oldest;
  uint64_t hits, misses, evicted;
};

swath_tile_memo *swath_tile_memo_new(size_t budget) {
  swath_tile_memo *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->nbuckets = 1024;
  if (!(m->buckets = calloc(m->nbuckets, sizeof *m->buckets))) {
    free(m);
    return NULL;
  }
  m->budget = budget;
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cv, NULL);
  return m;
}

static void entry_free(swath_tile_memo_entry *e) {
  free(e->t.planes);
  free(e->path);
  free(e);
}

void swath_tile_memo_free(swath_tile_memo *m) {
  if (!m) return;
  for (swath_tile_memo_entry *e = m->newest, *next; e; e = next) {
    next = e->older;
    entry_free(e);
  }
  free(m->buckets);
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  free(m);
}

static void list_unlink(swath_tile_memo *m, swath_tile_memo_entry *e) {
  if (e->newer)
    e->newer->older = e->older;
  else
    m->newest = e->older;
  if (e->older)
    e->older->newer = e->newer;
  else
    m->oldest = e->newer;
  e->newer = e->older = NULL;
}

static void list_push(swath_tile_memo *m, swath_tile_memo_entry *e) {
  e->older = m->newest;
  e->newer = NULL;
  if (m->newest) m->newest->newer = e;
  m->newest = e;
  if (!m->oldest) m->oldest = e;
}

/* Take e out of the table; free it if nobody holds it. */
static void detach(swath_tile_memo *m, swath_tile_memo_entry *e) {
  swath_tile_memo_entry **p = &m->buckets[e->hash % m->nbuckets];
  while (*p != e)
    p = &(*p)->chain;
  *p = e->chain;
  e->chain = NULL;
  list_unlink(m, e);
  e->in_table = 0;
  m->count--;
  if (e->state == READY) m->bytes -= e->bytes;
  if (e->refs == 0) entry_free(e);
}

/* More buckets when the chains grow long (small tiles, a large budget). */
static void grow(swath_tile_memo *m) {
  size_t n = m->nbuckets * 4;
  swath_tile_memo_entry **b = calloc(n, sizeof *b);
  if (!b) return; /* longer chains, still correct */
  for (size_t i = 0; i < m->nbuckets; i++)
    for (swath_tile_memo_entry *e = m->buckets[i], *next; e; e = next) {
      next = e->chain;
      e->chain = b[e->hash % n];
      b[e->hash % n] = e;
    }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
}

static int same_file(const swath_tile_memo_entry *e, const struct stat *st) {
  return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
         e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

swath_tile_memo_entry *swath_tile_memo_get(swath_tile_memo *m, const char *path,
                                           const struct stat *st, int *hit) {
  *hit = 0;
  uint64_t h = swath_fnv1a_str(path);
  pthread_mutex_lock(&m->mu);
  for (;;) {
    swath_tile_memo_entry *e = m->buckets[h % m->nbuckets];
    while (e && !(e->hash == h && strcmp(e->path, path) == 0))
      e = e->chain;
    if (e && !same_file(e, st)) {
      /* The file was replaced (fetched again): this entry is of the old one. */
      detach(m, e);
      e = NULL;
    }
    if (e) {
      e->refs++;
      list_unlink(m, e);
      list_push(m, e);
      while (e->state == PENDING)
        pthread_cond_wait(&m->cv, &m->mu);
      if (e->state == READY && e->shareable) {
        m->hits++;
        *hit = 1;
        pthread_mutex_unlock(&m->mu);
        return e;
      }
      /* The decode failed or was not kept: decode it here (claim anew). */
      if (--e->refs == 0 && !e->in_table) entry_free(e);
      continue;
    }
    e = calloc(1, sizeof *e);
    if (e && !(e->path = strdup(path))) {
      free(e);
      e = NULL;
    }
    if (!e) {
      pthread_mutex_unlock(&m->mu);
      return NULL;
    }
    e->hash = h;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = st->st_size;
    e->mtime = st->st_mtim;
    e->state = PENDING;
    e->refs = 1;
    e->in_table = 1;
    if (m->count >= 2 * m->nbuckets) grow(m);
    e->chain = m->buckets[h % m->nbuckets];
    m->buckets[h % m->nbuckets] = e;
    list_push(m, e);
    m->count++;
    m->misses++;
    pthread_mutex_unlock(&m->mu);
    return e;
  }
}

/* Make room for `need` bytes: the least recently used entries nobody holds
 * go first. 1 if it fits. */
static int make_room(swath_tile_memo *m, size_t need) {
  if (need > m->budget) return 0;
  for (swath_tile_memo_entry *e = m->oldest, *newer; e && m->bytes + need > m->budget; e = newer) {
    newer = e->newer;
    if (e->refs == 0 && e->state == READY) {
      detach(m, e);
      m->evicted++;
    }
  }
  return m->bytes + need <= m->budget;
}

void swath_tile_memo_done(swath_tile_memo *m, swath_tile_memo_entry *e, swath_decoded_tile *t,
                          int keep) {
  pthread_mutex_lock(&m->mu);
  if (t) {
    e->t = *t;
    memset(t, 0, sizeof *t);
    e->bytes = (size_t)e->t.w * e->t.h * (size_t)e->t.n;
    e->shareable = keep;
    if (e->in_table && keep && make_room(m, e->bytes)) {
      m->bytes += e->bytes;
      if (m->bytes > m->peak) m->peak = m->bytes;
    } else if (e->in_table) {
      detach(m, e); /* (still PENDING: its bytes were never counted) */
    }
    e->state = READY;
  } else {
    e->state = FAILED;
    if (e->in_table) detach(m, e);
  }
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

const swath_decoded_tile *swath_tile_memo_tile(const swath_tile_memo_entry *e) {
  return e->state == READY ? &e->t : NULL;
}

void swath_tile_memo_release(swath_tile_memo *m, swath_tile_memo_entry *e) {
  if (!e) return;
  pthread_mutex_lock(&m->mu);
  if (--e->refs == 0 && !e->in_table) entry_free(e);
  pthread_mutex_unlock(&m->mu);
}

void swath_tile_memo_stats_get(swath_tile_memo *m, swath_tile_memo_stats *out) {
  pthread_mutex_lock(&m->mu);
  *out = (swath_tile_memo_stats){m->hits, m->misses, m->evicted, m->bytes, m->peak};
  pthread_mutex_unlock(&m->mu);
}

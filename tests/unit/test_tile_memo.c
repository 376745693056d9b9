/* test_tile_memo.c: the run's shared memo of decoded cached tiles
 * (io/tile_memo.h) and the paste through it (io/remote_tile.c).
 *
 *  - the memo alone: a second get of the same file is a hit with the same
 *    planes; a file with another inode, size or mtime is a miss (fetched
 *    again into the cache); the budget holds (least recently used entries
 *    go first, the stats count them); an entry in use survives eviction
 *    and is freed by its last release (ASan: no use after free); a tile
 *    larger than the budget is decoded but not kept; a failed decode leaves
 *    nothing; a thread asking for a tile another is decoding waits for it
 *    (one decode, the waiter a hit);
 *  - the paste: PNG tiles of every kind the decoder treats apart (RGB,
 *    RGBA, palette with transparent entries, grey, grey and RGB with a tRNS
 *    colour key, grey + alpha) pasted into mosaics of 1, 3 and 4 bands:
 *    through the memo on a miss and on a hit, the mosaic is byte for byte
 *    the one pasted without a memo; a tile replaced in the cache (a rename,
 *    as the cache writes) is decoded again, not served from the memo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "io/remote.h"
#include "io/tile_memo.h"

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  return tmpdir_make("tile-memo");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove();
}

/* A fake file identity for the memo alone. */
static struct stat fake_stat(ino_t ino, off_t size, time_t mtime) {
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_dev = 1;
  st.st_ino = ino;
  st.st_size = size;
  st.st_mtim.tv_sec = mtime;
  return st;
}

/* A w x w tile of n planes filled with `v`. */
static swath_decoded_tile fake_tile(int w, int n, unsigned char v) {
  swath_decoded_tile t = {w, w, n, n, 0, malloc((size_t)w * w * n)};
  assert_non_null(t.planes);
  memset(t.planes, v, (size_t)w * w * n);
  return t;
}

/* Get `path` and, on a miss, decode it as a tile of value v: returns the
 * entry (held) and whether it was a hit. */
static swath_tile_memo_entry *get_or_put(swath_tile_memo *m, const char *path,
                                         const struct stat *st, int w, unsigned char v, int *hit) {
  swath_tile_memo_entry *e = swath_tile_memo_get(m, path, st, hit);
  assert_non_null(e);
  if (!*hit) {
    swath_decoded_tile t = fake_tile(w, 1, v);
    swath_tile_memo_done(m, e, &t, 1);
    assert_null(t.planes); /* taken */
  }
  return e;
}

static void test_hits_and_stat(void **state) {
  (void)state;
  swath_tile_memo *m = swath_tile_memo_new(1 << 20);
  struct stat a = fake_stat(10, 100, 1000);
  int hit;
  swath_tile_memo_entry *e = get_or_put(m, "/c/15/1/2.png", &a, 16, 7, &hit);
  assert_false(hit);
  swath_tile_memo_release(m, e);
  e = get_or_put(m, "/c/15/1/2.png", &a, 16, 99, &hit);
  assert_true(hit);
  assert_int_equal(swath_tile_memo_tile(e)->planes[0], 7); /* the first decode's */
  swath_tile_memo_release(m, e);
  /* Another file at that path (fetched again: new inode; or rewritten:
   * other size, other mtime): decoded again. */
  struct stat changed[3] = {fake_stat(11, 100, 1000), fake_stat(10, 101, 1000),
                            fake_stat(10, 100, 1001)};
  for (int i = 0; i < 3; i++) {
    e = get_or_put(m, "/c/15/1/2.png", &changed[i], 16, (unsigned char)(20 + i), &hit);
    assert_false(hit);
    assert_int_equal(swath_tile_memo_tile(e)->planes[0], 20 + i);
    swath_tile_memo_release(m, e);
  }
  /* Another path with the same z/x/y (another input's cache): its own. */
  e = get_or_put(m, "/d/15/1/2.png", &a, 16, 5, &hit);
  assert_false(hit);
  assert_int_equal(swath_tile_memo_tile(e)->planes[0], 5);
  swath_tile_memo_release(m, e);
  swath_tile_memo_stats s;
  swath_tile_memo_stats_get(m, &s);
  assert_int_equal(s.hits, 1);
  assert_int_equal(s.misses, 5);
  assert_int_equal(s.bytes, 2 * 16 * 16); /* the replaced entries left */
  swath_tile_memo_free(m);
}

static void test_budget_and_refs(void **state) {
  (void)state;
  /* Room for three 32 x 32 one-plane tiles. */
  swath_tile_memo *m = swath_tile_memo_new(3 * 1024);
  struct stat st = fake_stat(1, 1, 1);
  char path[8][16];
  int hit;
  for (int i = 0; i < 8; i++)
    snprintf(path[i], sizeof path[i], "/t/%d.png", i);
  /* Tile 0 stays held while 1..4 come in: 1 and 2 go, 0 survives. */
  swath_tile_memo_entry *held = get_or_put(m, path[0], &st, 32, 100, &hit);
  for (int i = 1; i <= 4; i++)
    swath_tile_memo_release(m, get_or_put(m, path[i], &st, 32, (unsigned char)i, &hit));
  swath_tile_memo_stats s;
  swath_tile_memo_stats_get(m, &s);
  assert_true(s.bytes <= 3 * 1024);
  assert_int_equal(s.evicted, 2);
  for (int i = 0; i < 32 * 32; i++)
    assert_int_equal(swath_tile_memo_tile(held)->planes[i], 100);
  swath_tile_memo_release(m, held);
  /* Recency: 0, 3, 4 are in; a hit on 0 makes 3 the oldest, which a new
   * tile pushes out. */
  swath_tile_memo_release(m, get_or_put(m, path[0], &st, 32, 0, &hit));
  assert_true(hit);
  swath_tile_memo_release(m, get_or_put(m, path[5], &st, 32, 5, &hit));
  swath_tile_memo_release(m, get_or_put(m, path[4], &st, 32, 0, &hit));
  assert_true(hit);
  swath_tile_memo_release(m, get_or_put(m, path[0], &st, 32, 0, &hit));
  assert_true(hit);
  swath_tile_memo_release(m, get_or_put(m, path[3], &st, 32, 3, &hit));
  assert_false(hit);
  /* Every entry held: a new tile is not kept (the budget holds), but its
   * claimer reads it; the held ones stay intact. */
  swath_tile_memo_entry *h[3];
  for (int i = 0; i < 3; i++) {
    h[i] = get_or_put(m, path[i == 0 ? 0 : i == 1 ? 3 : 4], &st, 32, 0, &hit);
    assert_true(hit);
  }
  swath_tile_memo_entry *big = get_or_put(m, path[6], &st, 32, 66, &hit);
  assert_false(hit);
  assert_int_equal(swath_tile_memo_tile(big)->planes[1023], 66);
  swath_tile_memo_stats_get(m, &s);
  assert_true(s.bytes <= 3 * 1024);
  assert_true(s.peak <= 3 * 1024);
  swath_tile_memo_release(m, big);
  for (int i = 0; i < 3; i++)
    swath_tile_memo_release(m, h[i]);
  swath_tile_memo_release(m, get_or_put(m, path[6], &st, 32, 67, &hit));
  assert_false(hit); /* it was not kept */
  /* Larger than the whole budget: decoded, read, not kept. */
  swath_tile_memo_entry *huge = get_or_put(m, path[7], &st, 64, 77, &hit);
  assert_int_equal(swath_tile_memo_tile(huge)->planes[64 * 64 - 1], 77);
  swath_tile_memo_release(m, huge);
  swath_tile_memo_release(m, get_or_put(m, path[7], &st, 64, 78, &hit));
  assert_false(hit);
  swath_tile_memo_free(m);
}

static void test_failed_and_not_kept(void **state) {
  (void)state;
  swath_tile_memo *m = swath_tile_memo_new(1 << 20);
  struct stat st = fake_stat(1, 1, 1);
  int hit;
  swath_tile_memo_entry *e = swath_tile_memo_get(m, "/f.png", &st, &hit);
  assert_false(hit);
  swath_tile_memo_done(m, e, NULL, 1); /* the decode failed */
  assert_null(swath_tile_memo_tile(e));
  swath_tile_memo_release(m, e);
  e = get_or_put(m, "/f.png", &st, 8, 1, &hit);
  assert_false(hit);
  swath_tile_memo_release(m, e);
  /* Decoded, but the file changed during the decode: read, not kept. */
  e = swath_tile_memo_get(m, "/g.png", &st, &hit);
  swath_decoded_tile t = fake_tile(8, 1, 9);
  swath_tile_memo_done(m, e, &t, 0);
  assert_int_equal(swath_tile_memo_tile(e)->planes[0], 9);
  swath_tile_memo_release(m, e);
  e = get_or_put(m, "/g.png", &st, 8, 10, &hit);
  assert_false(hit);
  swath_tile_memo_release(m, e);
  swath_tile_memo_free(m);
}

typedef struct waiter {
  swath_tile_memo *m;
  struct stat st;
  int hit;
  unsigned char v;
} waiter;

static void *wait_for_tile(void *arg) {
  waiter *w = arg;
  swath_tile_memo_entry *e = swath_tile_memo_get(w->m, "/w.png", &w->st, &w->hit);
  if (!e) {
    w->hit = -2; /* not even a claim */
    return NULL;
  }
  if (!w->hit) {
    swath_decoded_tile t = fake_tile(8, 1, 2);
    swath_tile_memo_done(w->m, e, &t, 1);
  }
  w->v = swath_tile_memo_tile(e)->planes[0];
  swath_tile_memo_release(w->m, e);
  return NULL;
}

static void test_waits_for_a_decode(void **state) {
  (void)state;
  swath_tile_memo *m = swath_tile_memo_new(1 << 20);
  waiter w = {m, fake_stat(1, 1, 1), -1, 0};
  int hit;
  swath_tile_memo_entry *e = swath_tile_memo_get(m, "/w.png", &w.st, &hit);
  assert_false(hit);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wait_for_tile, &w), 0);
  usleep(100 * 1000); /* the other thread is waiting, or about to */
  swath_decoded_tile t = fake_tile(8, 1, 1);
  swath_tile_memo_done(m, e, &t, 1);
  swath_tile_memo_release(m, e);
  pthread_join(th, NULL);
  assert_int_equal(w.hit, 1);
  assert_int_equal(w.v, 1);
  swath_tile_memo_stats s;
  swath_tile_memo_stats_get(m, &s);
  assert_int_equal(s.misses, 1);
  assert_int_equal(s.hits, 1);
  /* A claim that fails: the waiter decodes it itself. */
  w.hit = -1;
  swath_tile_memo_free(m);
  m = swath_tile_memo_new(1 << 20);
  w.m = m;
  e = swath_tile_memo_get(m, "/w.png", &w.st, &hit);
  assert_int_equal(pthread_create(&th, NULL, wait_for_tile, &w), 0);
  usleep(100 * 1000);
  swath_tile_memo_done(m, e, NULL, 1);
  swath_tile_memo_release(m, e);
  pthread_join(th, NULL);
  assert_int_equal(w.hit, 0);
  assert_int_equal(w.v, 2);
  swath_tile_memo_free(m);
}

/* ---- the paste ---- */

enum { RGB, RGBA, PAL, GREY, GREY_KEY, RGB_KEY, GREY_ALPHA, NKINDS };
static const char *const KIND[] = {"rgb",      "rgba",    "pal",       "grey",
                                   "grey-key", "rgb-key", "grey-alpha"};

/* A 64 x 64 PNG of `kind` at `path` (through a temporary name and a
 * rename, as the cache writes); `seed` varies its pixels. Every kind has
 * pixels of the colour key or transparent palette entries. */
static void write_tile(const char *path, int kind, int seed) {
  static const int nb[] = {3, 4, 1, 1, 1, 3, 2};
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("MEM"), "", 64, 64, nb[kind], GDT_Byte, NULL);
  unsigned char px[64 * 64];
  for (int b = 0; b < nb[kind]; b++) {
    for (int i = 0; i < 64 * 64; i++) {
      int x = i % 64, y = i / 64;
      px[i] = (unsigned char)((x * (3 + b) + y * (5 + seed) + 17 * b + seed) % 251);
      if ((x / 8 + y / 8 + seed) % 4 == 0) px[i] = (unsigned char)(10 * (b + 1)); /* the key */
      if (kind == PAL) px[i] %= 200; /* inside the table */
      if ((kind == RGBA || kind == GREY_ALPHA) && b == nb[kind] - 1)
        px[i] = (unsigned char)((x + y) % 3 == 0 ? 0 : x * 4);
    }
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, 64, 64, px, 64, 64, GDT_Byte, 0, 0),
                     CE_None);
    if (kind == GREY_KEY || kind == RGB_KEY) GDALSetRasterNoDataValue(band, 10 * (b + 1));
  }
  if (kind == PAL) {
    GDALColorTableH ct = GDALCreateColorTable(GPI_RGB);
    for (int i = 0; i < 200; i++) {
      GDALColorEntry ce = {(short)(i * 7 % 256), (short)(i * 13 % 256), (short)(255 - i),
                           (short)(i % 5 == 0   ? 0
                                   : i % 5 == 1 ? 128
                                                : 255)};
      GDALSetColorEntry(ct, i, &ce);
    }
    GDALSetRasterColorTable(GDALGetRasterBand(ds, 1), ct);
    GDALDestroyColorTable(ct);
  }
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s.tmp.png", path);
  GDALDatasetH out = GDALCreateCopy(GDALGetDriverByName("PNG"), tmp, ds, FALSE, NULL, NULL, NULL);
  assert_non_null(out);
  GDALClose(out);
  GDALClose(ds);
  snprintf(tmp + strlen(tmp), sizeof tmp - strlen(tmp), ".aux.xml");
  unlink(tmp);
  tmp[strlen(tmp) - strlen(".aux.xml")] = 0;
  assert_int_equal(rename(tmp, path), 0);
}

/* A 2 x 2 mosaic of 64 px tiles of `bands` + alpha planes, the tiles of
 * paths pasted at their places, through `memo` (NULL: none). */
static unsigned char *mosaic(int bands, swath_tile_memo *memo, const char *const *paths) {
  swath__remote r;
  memset(&r, 0, sizeof r);
  snprintf(r.name, sizeof r.name, "img");
  r.bands = bands;
  r.memo = memo;
  size_t plane = 128 * 128;
  unsigned char *planes = calloc(plane, (size_t)bands + 1);
  assert_non_null(planes);
  for (int k = 0; k < 4; k++) {
    int bad;
    int rc = swath__remote_paste(&r, paths[k], planes, 128, 128, (k % 2) * 64, (k / 2) * 64, 64, 64,
                                 &bad);
    assert_int_equal(rc, 0);
  }
  return planes;
}

static void test_paste_identical(void **state) {
  (void)state;
  char paths[NKINDS][256];
  for (int k = 0; k < NKINDS; k++) {
    snprintf(paths[k], sizeof paths[k], "%s/%s.png", tmpdir, KIND[k]);
    write_tile(paths[k], k, k);
  }
  swath_tile_memo *memo = swath_tile_memo_new(64 << 20);
  int pastes = 0;
  /* Every kind next to every other, each mosaic made three ways. */
  for (int bands = 1; bands <= 4; bands++)
    for (int k = 0; k < NKINDS; k++) {
      const char *p[4] = {paths[k], paths[(k + 1) % NKINDS], paths[(k + 3) % NKINDS],
                          paths[(k + 5) % NKINDS]};
      unsigned char *fresh = mosaic(bands, NULL, p);
      unsigned char *a = mosaic(bands, memo, p); /* misses the first time round */
      unsigned char *b = mosaic(bands, memo, p); /* hits */
      size_t n = (size_t)128 * 128 * (bands + 1);
      if (memcmp(fresh, a, n) || memcmp(fresh, b, n))
        fail_msg("bands %d, tiles %s %s %s %s: the mosaic through the memo differs", bands, KIND[k],
                 KIND[(k + 1) % NKINDS], KIND[(k + 3) % NKINDS], KIND[(k + 5) % NKINDS]);
      free(fresh);
      free(a);
      free(b);
      pastes += 8;
    }
  swath_tile_memo_stats s;
  swath_tile_memo_stats_get(memo, &s);
  assert_int_equal(s.misses, NKINDS); /* each file decoded once */
  assert_int_equal(s.hits, pastes - NKINDS);
  swath_tile_memo_free(memo);
}

static void test_paste_refetched(void **state) {
  (void)state;
  char path[256];
  snprintf(path, sizeof path, "%s/refetched.png", tmpdir);
  write_tile(path, RGB, 1);
  const char *p[4] = {path, path, path, path};
  swath_tile_memo *memo = swath_tile_memo_new(64 << 20);
  unsigned char *before = mosaic(3, memo, p);
  write_tile(path, RGB, 2); /* fetched again: another file at that path */
  unsigned char *fresh = mosaic(3, NULL, p);
  unsigned char *after = mosaic(3, memo, p);
  size_t n = (size_t)128 * 128 * 4;
  assert_true(memcmp(before, fresh, n) != 0);
  assert_memory_equal(fresh, after, n);
  swath_tile_memo_stats s;
  swath_tile_memo_stats_get(memo, &s);
  assert_int_equal(s.misses, 2);
  assert_int_equal(s.hits, 6);
  free(before);
  free(fresh);
  free(after);
  swath_tile_memo_free(memo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hits_and_stat),       cmocka_unit_test(test_budget_and_refs),
      cmocka_unit_test(test_failed_and_not_kept), cmocka_unit_test(test_waits_for_a_decode),
      cmocka_unit_test(test_paste_identical),     cmocka_unit_test(test_paste_refetched),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

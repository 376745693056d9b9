/* test_plan.c: the task order of engine/plan.c, driven by a fake in-memory
 * store and a single simulated worker: every metatile of every zoom is
 * handed out exactly once, children strictly before their parent, finished
 * tasks recorded in the store are skipped, and half-built parents stay few.
 * Reruns: children outside the area say what the store records of them; a
 * top-zoom task over recorded children is an overview of them; a STALE
 * task is rebuilt; a task recorded over part of its metatile (an earlier
 * run's area cut it) is done again by a run that needs more of it, and by
 * no other. Queued jobs: the plans of a job's cells (swath_plan_set_root)
 * and of the overview tasks above them, run in the queue's order, hand out
 * exactly the metatiles of the whole plan, each once, and an overview task
 * over its finished children is an overview of them (cells.c streams
 * exactly those tasks). */
#include <gdal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/area.h"
#include "core/grid.h"
#include "engine/cells.h"
#include "engine/plan.h"

/* A fake store: a small open-addressing table of (z,x,y) -> state. */
#define CAP 65536
#define MAXM 4
typedef struct fake {
  swath_tile key[CAP];
  int state[CAP];
  int used[CAP];
  unsigned char covered[CAP][MAXM * MAXM]; /* as marked; all 1 for NULL */
  int marks;
} fake;

static unsigned slot(fake *f, swath_tile t) {
  uint64_t h =
      ((uint64_t)t.z * 1000003u) ^ ((uint64_t)t.x * 2654435761u) ^ ((uint64_t)t.y * 40503u);
  unsigned i = (unsigned)(h % CAP);
  while (f->used[i] && !(f->key[i].z == t.z && f->key[i].x == t.x && f->key[i].y == t.y))
    i = (i + 1) % CAP;
  return i;
}
static int f_get(void *st, swath_tile t, enum swath_task_state *out, unsigned char *covered,
                 int n) {
  fake *f = st;
  unsigned i = slot(f, t);
  *out = f->used[i] ? (enum swath_task_state)f->state[i] : SWATH_TASK_PENDING;
  for (int k = 0; covered && k < n; k++)
    covered[k] = f->used[i] ? f->covered[i][k] : 1;
  return 0;
}
static int f_mark(void *st, swath_tile t, enum swath_task_state s, const char *msg,
                  const swath_tile_range *tiles, const unsigned char *covered, int n) {
  (void)msg, (void)tiles;
  fake *f = st;
  unsigned i = slot(f, t);
  f->used[i] = 1;
  f->key[i] = t;
  f->state[i] = (int)s;
  for (int k = 0; k < MAXM * MAXM; k++)
    f->covered[i][k] = !covered || k >= n ? SWATH_COVERED : covered[k];
  f->marks++;
  return 0;
}
static const swath_store_vtable fake_vt = {.name = "fake", .get = f_get, .mark = f_mark};

static swath_grid grid;
static swath_area *area;

static int setup(void **st) {
  (void)st;
  GDALAllRegister();
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 256, &grid), 0);
  /* Around Zurich. */
  assert_int_equal(
      swath_area_from_bounds(&grid, (swath_bounds){8.45, 47.32, 8.63, 47.43}, "EPSG:4326", &area),
      0);
  return 0;
}
static int teardown(void **st) {
  (void)st;
  swath_area_free(area);
  return 0;
}

/* Drive the plan to the end with one worker; returns tasks handed out. */
static int64_t drive(swath_plan *p, fake *f, int minz, int maxz, int m, int *max_live_ready) {
  int64_t n = 0;
  swath_task t;
  *max_live_ready = 0;
  fake *handed = calloc(1, sizeof *handed);
  swath_task queue[64];
  int q = 0;
  for (;;) {
    /* Take up to 4 tasks before finishing any, like several workers would. */
    while (q < 4 && swath_plan_next(p, &t))
      queue[q++] = t;
    if (q == 0) break;
    t = queue[--q];
    n++;
    /* Every child of an overview must be finished already. */
    if (t.kind == SWATH_TASK_OVERVIEW) {
      assert_true(t.mt.z < maxz);
      swath_tile kids[4];
      swath_tile_children(t.mt, kids);
      for (int i = 0; i < 4; i++) {
        if (t.node->child[i] != SWATH_CHILD_DATA) continue; /* not visited: outside the area */
        enum swath_task_state s;
        f_get(f, kids[i], &s, NULL, 0);
        assert_true(s == SWATH_TASK_DONE || s == SWATH_TASK_EMPTY);
      }
    } else {
      assert_int_equal(t.mt.z, maxz);
    }
    enum swath_task_state s;
    f_get(handed, t.mt, &s, NULL, 0);
    assert_int_equal(s, SWATH_TASK_PENDING); /* never handed out twice */
    f_mark(handed, t.mt, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
    f_mark(f, t.mt, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
    swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
    if (t.node) swath_plan_release(p, t.node);
  }
  (void)minz;
  (void)m;
  free(handed);
  assert_true(swath_plan_finished(p));
  return n;
}

static void every_task_once_children_first(void **st) {
  (void)st;
  for (int m = 1; m <= 4; m *= 2) {
    fake *f = calloc(1, sizeof *f);
    swath_plan *p;
    assert_int_equal(swath_plan_new(&grid, area, 10, 15, m, 1, &fake_vt, f, &p), 0);
    int live;
    int64_t n = drive(p, f, 10, 15, m, &live);
    int64_t expect = 0;
    for (int z = 10; z <= 15; z++)
      expect += swath_area_count_tiles(&grid, area, z, m);
    assert_int_equal(n, expect);
    swath_plan_free(p);
    free(f);
  }
}

static void resume_skips_finished(void **st) {
  (void)st;
  fake *f = calloc(1, sizeof *f);
  swath_plan *p;
  /* First run: finish everything. */
  assert_int_equal(swath_plan_new(&grid, area, 12, 14, 1, 1, &fake_vt, f, &p), 0);
  int live;
  int64_t first = drive(p, f, 12, 14, 1, &live);
  swath_plan_free(p);
  /* Second run over the same state: nothing to do, all skipped. */
  assert_int_equal(swath_plan_new(&grid, area, 12, 14, 1, 1, &fake_vt, f, &p), 0);
  int64_t second = drive(p, f, 12, 14, 1, &live);
  assert_int_equal(second, 0);
  assert_int_equal(swath_plan_counts_get(p)->skipped, first);
  swath_plan_free(p);

  /* Forget one leaf: exactly it and its ancestors run again. */
  swath_tile_iter *it;
  swath_tile leaf;
  assert_int_equal(swath_tile_iter_new(&grid, area, 14, 1, &it), 0);
  assert_int_equal(swath_tile_iter_next(it, &leaf), 1);
  swath_tile_iter_free(it);
  f->used[slot(f, leaf)] = 0;
  swath_tile anc = swath_tile_parent(leaf);
  f->used[slot(f, anc)] = 0;
  /* Rebuild the parent too (a real run records it only after its children). */
  assert_int_equal(swath_plan_new(&grid, area, 12, 14, 1, 1, &fake_vt, f, &p), 0);
  int64_t third = drive(p, f, 12, 14, 1, &live);
  /* The leaf, its parent, and the grandparent (whose child now has new data). */
  assert_int_equal(third, 3);
  swath_plan_free(p);
  free(f);
}

static void without_overviews_every_zoom_is_a_leaf(void **st) {
  (void)st;
  fake *f = calloc(1, sizeof *f);
  swath_plan *p;
  assert_int_equal(swath_plan_new(&grid, area, 11, 13, 2, 0, &fake_vt, f, &p), 0);
  swath_task t;
  int64_t n = 0;
  while (swath_plan_next(p, &t)) {
    assert_int_equal(t.kind, SWATH_TASK_LEAF);
    assert_null(t.parent);
    n++;
  }
  assert_true(swath_plan_finished(p));
  int64_t expect = 0;
  for (int z = 11; z <= 13; z++)
    expect += swath_area_count_tiles(&grid, area, z, 2);
  assert_int_equal(n, expect);
  swath_plan_free(p);
  free(f);
}

/* What the store says a child outside the area gives its parent. */
static enum swath_child_result expected_child(fake *f, swath_tile kid) {
  enum swath_task_state s;
  f_get(f, kid, &s, NULL, 0);
  return s == SWATH_TASK_DONE || s == SWATH_TASK_STALE ? SWATH_CHILD_ONDISK
         : s == SWATH_TASK_EMPTY                       ? SWATH_CHILD_EMPTY
                                                       : SWATH_CHILD_KEEP;
}

static void outside_children_come_from_the_store(void **st) {
  (void)st;
  fake *f = calloc(1, sizeof *f);
  swath_plan *p;
  int live;
  /* A finished product at 11-13 over the whole area, and one empty task. */
  assert_int_equal(swath_plan_new(&grid, area, 11, 13, 2, 1, &fake_vt, f, &p), 0);
  drive(p, f, 11, 13, 2, &live);
  swath_plan_free(p);
  swath_tile_iter *it;
  swath_tile empty;
  assert_int_equal(swath_tile_iter_new(&grid, area, 13, 2, &it), 0);
  assert_int_equal(swath_tile_iter_next(it, &empty), 1);
  swath_tile_iter_free(it);
  f_mark(f, empty, SWATH_TASK_EMPTY, NULL, NULL, NULL, 0);
  /* A rerun over a small part of it, one zoom deeper. */
  swath_area *sub;
  assert_int_equal(
      swath_area_from_bounds(&grid, (swath_bounds){8.52, 47.37, 8.53, 47.38}, "EPSG:4326", &sub),
      0);
  assert_int_equal(swath_plan_new(&grid, sub, 11, 14, 2, 1, &fake_vt, f, &p), 0);
  swath_task t;
  int overviews = 0, outside = 0, keep = 0;
  while (swath_plan_next(p, &t)) {
    if (t.kind == SWATH_TASK_OVERVIEW) {
      overviews++;
      swath_tile kids[4];
      swath_tile_children(t.mt, kids);
      for (int i = 0; i < 4; i++) {
        if (t.node->child[i] == SWATH_CHILD_DATA) continue; /* visited */
        outside++;
        keep += t.node->child[i] == SWATH_CHILD_KEEP;
        assert_int_equal(t.node->child[i], expected_child(f, kids[i]));
      }
      /* Overviews of this run sit at 11-13: the old top zoom is one now. */
      assert_true(t.mt.z >= 11 && t.mt.z <= 13);
      swath_plan_release(p, t.node);
    } else {
      assert_int_equal(t.mt.z, 14);
    }
    swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
  }
  assert_true(swath_plan_finished(p));
  assert_true(overviews >= 3);
  assert_true(outside > 0); /* some children lie outside the small area */
  assert_true(keep > 0);    /* zoom 14 outside it was never computed */
  swath_plan_free(p);
  swath_area_free(sub);
  free(f);
}

static void top_zoom_over_recorded_children_is_an_overview(void **st) {
  (void)st;
  fake *f = calloc(1, sizeof *f);
  swath_plan *p;
  int live;
  assert_int_equal(swath_plan_new(&grid, area, 12, 14, 1, 1, &fake_vt, f, &p), 0);
  int64_t all = drive(p, f, 12, 14, 1, &live);
  swath_plan_free(p);
  /* 12-13 is done: nothing to do. */
  assert_int_equal(swath_plan_new(&grid, area, 12, 13, 1, 1, &fake_vt, f, &p), 0);
  swath_task t;
  assert_int_equal(swath_plan_next(p, &t), 0);
  assert_true(swath_plan_finished(p));
  swath_plan_free(p);
  /* Redone (--overwrite), zoom 13 is built from zoom 14 on disk, not from
   * the inputs: its children never computed lie outside the area. */
  assert_int_equal(swath_plan_new(&grid, area, 12, 13, 1, 1, &fake_vt, f, &p), 0);
  swath_plan_redo(p);
  int64_t n = 0;
  while (swath_plan_next(p, &t)) {
    n++;
    assert_int_equal(t.kind, SWATH_TASK_OVERVIEW);
    if (t.mt.z ==
        13) { /* children from disk (or never computed, outside the area): none from the inputs */
      swath_tile kids[4];
      swath_tile_children(t.mt, kids);
      for (int i = 0; i < 4; i++)
        assert_int_equal(t.node->child[i], expected_child(f, kids[i]));
    }
    swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
    swath_plan_release(p, t.node);
  }
  assert_true(swath_plan_finished(p));
  assert_int_equal(n, all - swath_area_count_tiles(&grid, area, 14, 1));
  swath_plan_free(p);
  free(f);
}

static void stale_is_rebuilt(void **st) {
  (void)st;
  fake *f = calloc(1, sizeof *f);
  swath_plan *p;
  int live;
  assert_int_equal(swath_plan_new(&grid, area, 12, 14, 1, 1, &fake_vt, f, &p), 0);
  drive(p, f, 12, 14, 1, &live);
  swath_plan_free(p);
  swath_tile_iter *it;
  swath_tile mid;
  assert_int_equal(swath_tile_iter_new(&grid, area, 13, 1, &it), 0);
  assert_int_equal(swath_tile_iter_next(it, &mid), 1);
  swath_tile_iter_free(it);
  f_mark(f, mid, SWATH_TASK_STALE, NULL, NULL, NULL, 0);
  assert_int_equal(swath_plan_new(&grid, area, 12, 14, 1, 1, &fake_vt, f, &p), 0);
  swath_task t;
  assert_int_equal(swath_plan_next(p, &t), 1);
  assert_int_equal(t.kind, SWATH_TASK_OVERVIEW);
  assert_int_equal(t.mt.z, 13);
  assert_int_equal(t.mt.x, mid.x);
  for (int i = 0; i < 4; i++)
    assert_int_not_equal(t.node->child[i], SWATH_CHILD_DATA);
  swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
  swath_plan_release(p, t.node);
  /* Then its parent, whose child changed; nothing else. */
  assert_int_equal(swath_plan_next(p, &t), 1);
  assert_int_equal(t.mt.z, 12);
  swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
  swath_plan_release(p, t.node);
  assert_int_equal(swath_plan_next(p, &t), 0);
  assert_true(swath_plan_finished(p));
  swath_plan_free(p);
  free(f);
}

/* Drive a plan as run.c does over area `a`: each task records as covered
 * the tiles of `a` (and those its record covered before). Returns the
 * tasks handed out; *partial_leaves counts leaves handed out that the store
 * recorded over part of their metatile. */
static int64_t drive_area(swath_plan *p, fake *f, const swath_area *a, int m, int *partial_leaves) {
  int64_t n = 0;
  swath_task t;
  *partial_leaves = 0;
  while (swath_plan_next(p, &t)) {
    n++;
    enum swath_task_state s;
    unsigned char old[MAXM * MAXM], made[MAXM * MAXM] = {0};
    f_get(f, t.mt, &s, old, m * m);
    int whole = 1;
    for (int i = 0; i < m * m; i++)
      whole &= old[i];
    if (t.kind == SWATH_TASK_LEAF) *partial_leaves += (s == SWATH_TASK_DONE) && !whole;
    swath_tile_range tr = swath_grid_metatile_tiles(&grid, t.mt, m);
    for (int64_t y = tr.miny; y <= tr.maxy; y++)
      for (int64_t x = tr.minx; x <= tr.maxx; x++)
        made[(y - tr.miny) * m + (x - tr.minx)] =
            swath_area_intersects(a, swath_grid_tile_bounds(&grid, (swath_tile){t.mt.z, x, y}));
    swath_plan_covered(&grid, m, t.mt, (int)s, old, t.node ? t.node->partial : NULL, made);
    f_mark(f, t.mt, SWATH_TASK_DONE, NULL, NULL, made, m * m);
    swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
    if (t.node) swath_plan_release(p, t.node);
  }
  assert_true(swath_plan_finished(p));
  return n;
}

static void partial_tasks_are_done_again_where_needed(void **st) {
  (void)st;
  /* A small area whose edges cut metatiles at every zoom, inside `area`. */
  swath_area *small;
  assert_int_equal(swath_area_from_bounds(&grid, (swath_bounds){8.5213, 47.3711, 8.5384, 47.3822},
                                          "EPSG:4326", &small),
                   0);
  for (int m = 2; m <= MAXM; m *= 2) {
    fake *f = calloc(1, sizeof *f);
    swath_plan *p;
    int partial;
    assert_int_equal(swath_plan_new(&grid, small, 12, 15, m, 1, &fake_vt, f, &p), 0);
    int64_t first = drive_area(p, f, small, m, &partial);
    swath_plan_free(p);
    /* The same area again: finished. */
    assert_int_equal(swath_plan_new(&grid, small, 12, 15, m, 1, &fake_vt, f, &p), 0);
    assert_int_equal(drive_area(p, f, small, m, &partial), 0);
    assert_int_equal(swath_plan_counts_get(p)->skipped, first);
    swath_plan_free(p);
    /* Everything: every task, the small area's edge leaves among them. */
    int64_t all = 0;
    for (int z = 12; z <= 15; z++)
      all += swath_area_count_tiles(&grid, area, z, m);
    assert_int_equal(swath_plan_new(&grid, area, 12, 15, m, 1, &fake_vt, f, &p), 0);
    int64_t second = drive_area(p, f, area, m, &partial);
    int64_t fully_inside = swath_plan_counts_get(p)->skipped;
    swath_plan_free(p);
    assert_true(partial > 0);
    assert_int_equal(second + fully_inside, all);
    /* Leaves of the small area that cover it whole are not done again;
     * their parents are (a child changed). */
    int64_t top_small = swath_area_count_tiles(&grid, small, 15, m);
    assert_int_equal(fully_inside, top_small - partial);
    /* Then neither area has anything left to do. */
    assert_int_equal(swath_plan_new(&grid, area, 12, 15, m, 1, &fake_vt, f, &p), 0);
    assert_int_equal(drive_area(p, f, area, m, &partial), 0);
    swath_plan_free(p);
    assert_int_equal(swath_plan_new(&grid, small, 12, 15, m, 1, &fake_vt, f, &p), 0);
    assert_int_equal(drive_area(p, f, small, m, &partial), 0);
    swath_plan_free(p);
    free(f);
    /* Zooms 12-14 over everything after the small area at 12-15: zoom 14 is
     * the top zoom, and a zoom-14 task of the small area has children on
     * disk. It is done again unless every tile of it, and every child tile
     * of those, is in the small area (the small run computed them all, so
     * each quarter is its child's average); done again, it is a leaf
     * computed from the inputs with its node (quarters over children never
     * computed take the inputs' pixels, as in a fresh 12-14 run). */
    f = calloc(1, sizeof *f);
    assert_int_equal(swath_plan_new(&grid, small, 12, 15, m, 1, &fake_vt, f, &p), 0);
    drive_area(p, f, small, m, &partial);
    swath_plan_free(p);
    int cut14 = 0, done14 = 0;
    swath_tile_iter *it;
    swath_tile mt;
    assert_int_equal(swath_tile_iter_new(&grid, small, 14, m, &it), 0);
    while (swath_tile_iter_next(it, &mt)) {
      swath_tile_range tr = swath_grid_metatile_tiles(&grid, mt, m);
      int inside = 1;
      for (int64_t y = tr.miny; y <= tr.maxy; y++)
        for (int64_t x = tr.minx; x <= tr.maxx; x++)
          for (int k = 0; k < 5; k++) { /* the tile, then its four children */
            swath_tile c = k == 0 ? (swath_tile){14, x, y}
                                  : (swath_tile){15, 2 * x + (k - 1) % 2, 2 * y + (k - 1) / 2};
            inside &= swath_area_intersects(small, swath_grid_tile_bounds(&grid, c));
          }
      cut14 += !inside;
      done14++;
    }
    swath_tile_iter_free(it);
    assert_true(cut14 > 0);
    assert_int_equal(swath_plan_new(&grid, area, 12, 14, m, 1, &fake_vt, f, &p), 0);
    swath_task t;
    int rebuilt14 = 0;
    int64_t leaves14 = 0;
    while (swath_plan_next(p, &t)) {
      if (t.mt.z == 14 && t.node) {
        rebuilt14++;
        assert_int_equal(t.kind, SWATH_TASK_LEAF);
        assert_true(t.node->from_inputs);
      }
      leaves14 += t.kind == SWATH_TASK_LEAF;
      swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
      if (t.node) swath_plan_release(p, t.node);
    }
    assert_true(swath_plan_finished(p));
    assert_int_equal(rebuilt14, cut14);
    assert_int_equal(leaves14, swath_area_count_tiles(&grid, area, 14, m) - (done14 - cut14));
    swath_plan_free(p);
    free(f);
  }
  swath_area_free(small);
}

static void quadtree_check(void **st) {
  (void)st;
  assert_true(swath_plan_grid_is_quadtree(&grid, 0, 20));
  swath_grid g = grid;
  g.m[5].cell_size *= 1.5;
  assert_false(swath_plan_grid_is_quadtree(&g, 3, 8));
  assert_true(swath_plan_grid_is_quadtree(&g, 6, 8));
}

/* A job cut as the queue cuts it (cells at cz, one task per metatile
 * above): each cell's plan covers exactly its subtree, the tasks above are
 * overviews of the children the cells recorded, and together they are
 * the whole plan's metatiles, each once. cells.c streams the same tasks. */
static void cells_and_roots_cover_the_plan_once(void **st) {
  (void)st;
  for (int m = 1; m <= 2; m *= 2) {
    for (int cz = 10; cz <= 15; cz += 2) {
      fake *f = calloc(1, sizeof *f), *handed = calloc(1, sizeof *handed);
      swath_cells c;
      assert_int_equal(swath_cells_start(&c, &grid, area, 10, 15, m, 1, cz), 0);
      swath_qtask qt;
      int64_t n = 0, cells = 0;
      int r;
      while ((r = swath_cells_next(&c, &qt)) == 1) {
        swath_plan *p;
        int top = qt.kind == SWATH_QTASK_CELL ? 15 : qt.mt.z;
        assert_true(qt.kind == SWATH_QTASK_CELL ? qt.mt.z == cz : qt.mt.z < cz);
        cells += qt.kind == SWATH_QTASK_CELL;
        assert_int_equal(swath_plan_new(&grid, area, qt.mt.z, top, m, 1, &fake_vt, f, &p), 0);
        swath_plan_set_root(p, qt.mt);
        swath_task t;
        int64_t in_task = 0;
        for (;;) {
          if (!swath_plan_next(p, &t)) break;
          /* Under the root, handed out once over all tasks. */
          int dz = t.mt.z - qt.mt.z;
          assert_true(dz >= 0);
          assert_int_equal(t.mt.x >> dz, qt.mt.x);
          assert_int_equal(t.mt.y >> dz, qt.mt.y);
          enum swath_task_state s;
          f_get(handed, t.mt, &s, NULL, 0);
          assert_int_equal(s, SWATH_TASK_PENDING);
          f_mark(handed, t.mt, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
          /* Above the cells a task is the overview of recorded children. */
          if (qt.kind == SWATH_QTASK_TILE) assert_int_equal(t.kind, SWATH_TASK_OVERVIEW);
          f_mark(f, t.mt, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
          swath_plan_report(p, t.parent, t.quadrant, SWATH_CHILD_DATA);
          if (t.node) swath_plan_release(p, t.node);
          in_task++;
        }
        assert_true(swath_plan_finished(p));
        assert_true(in_task >= 1);
        n += in_task;
        swath_plan_free(p);
      }
      assert_int_equal(r, 0);
      swath_cells_free(&c);
      int64_t expect = 0;
      for (int z = 10; z <= 15; z++)
        expect += swath_area_count_tiles(&grid, area, z, m);
      assert_int_equal(n, expect);
      assert_int_equal(cells, swath_area_count_tiles(&grid, area, cz, m));
      free(f);
      free(handed);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_task_once_children_first),
      cmocka_unit_test(resume_skips_finished),
      cmocka_unit_test(without_overviews_every_zoom_is_a_leaf),
      cmocka_unit_test(quadtree_check),
      cmocka_unit_test(outside_children_come_from_the_store),
      cmocka_unit_test(top_zoom_over_recorded_children_is_an_overview),
      cmocka_unit_test(stale_is_rebuilt),
      cmocka_unit_test(partial_tasks_are_done_again_where_needed),
      cmocka_unit_test(cells_and_roots_cover_the_plan_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* plan.c: see plan.h for the order and its memory bound. */
#include "engine/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/raster.h"

typedef struct frame {
  swath_plan_node *node;
  int next_child;
} frame;

struct swath_plan {
  const swath_grid *g;
  const swath_area *area;
  int min_zoom, max_zoom, m, overviews;
  int from_children; /* the job builds overviews: a task with recorded children is one */
  int redo;          /* --overwrite: tasks in the area are not skipped */
  const swath_store_vtable *store;
  void *store_state;
  swath_tile_iter *roots; /* metatiles of the zoom being walked */
  int has_root, root_given; /* swath_plan_set_root: the one root, handed out yet */
  swath_tile root;
  int zoom;               /* without overviews: the zoom being walked */
  frame stack[SWATH_GRID_MAX_ZOOMS + 1];
  int depth;
  swath_plan_node *ready, *ready_tail;
  int64_t live_nodes;
  int exhausted;
  swath_plan_counts counts;
  unsigned char *scratch, *leaf_covered, *kid_covered; /* m*m flags each */
};

int swath_plan_grid_is_quadtree(const swath_grid *g, int min_zoom, int max_zoom) {
  for (int z = min_zoom + 1; z <= max_zoom; z++) {
    const swath_tile_matrix *a = &g->m[z - 1], *b = &g->m[z];
    double tol = a->cell_size * 1e-9;
    if (fabs(a->cell_size - 2 * b->cell_size) > tol * 4 || fabs(a->origin_x - b->origin_x) > tol ||
        fabs(a->origin_y - b->origin_y) > tol || a->tile_width != b->tile_width ||
        a->tile_height != b->tile_height || b->matrix_width != 2 * a->matrix_width ||
        b->matrix_height != 2 * a->matrix_height)
      return 0;
  }
  return 1;
}

int swath_plan_new(const swath_grid *g, const swath_area *area, int min_zoom, int max_zoom,
                   int metatiling, int overviews, const swath_store_vtable *store,
                   void *store_state, swath_plan **out) {
  *out = NULL;
  swath_plan *p = calloc(1, sizeof *p);
  if (!p) return swath_error_set(SWATH_ENOMEM, "plan: out of memory");
  p->g = g;
  p->area = area;
  p->min_zoom = min_zoom;
  p->max_zoom = max_zoom;
  p->m = metatiling;
  p->overviews = overviews && min_zoom < max_zoom;
  p->from_children = overviews;
  p->store = store;
  p->store_state = store_state;
  p->zoom = p->overviews ? min_zoom : max_zoom;
  p->scratch = malloc((size_t)3 * metatiling * metatiling);
  if (!p->scratch) {
    free(p);
    return swath_error_set(SWATH_ENOMEM, "plan: out of memory");
  }
  p->leaf_covered = p->scratch + (size_t)metatiling * metatiling;
  p->kid_covered = p->leaf_covered + (size_t)metatiling * metatiling;
  int rc = swath_tile_iter_new(g, area, p->zoom, metatiling, &p->roots);
  if (rc) {
    free(p->scratch);
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void swath_plan_redo(swath_plan *p) { p->redo = 1; }

static void free_node(swath_plan *p, swath_plan_node *n) {
  swath_raster_free(&n->buf);
  free(n->handled);
  free(n);
  p->live_nodes--;
}

void swath_plan_free(swath_plan *p) {
  if (!p) return;
  for (int i = 0; i < p->depth; i++)
    free_node(p, p->stack[i].node);
  while (p->ready) {
    swath_plan_node *n = p->ready;
    p->ready = n->next_ready;
    free_node(p, n);
  }
  swath_tile_iter_free(p->roots);
  free(p->scratch);
  free(p);
}

const swath_plan_counts *swath_plan_counts_get(const swath_plan *p) { return &p->counts; }

/* The recorded state of mt, and (covered: m*m flags, or NULL) its covered tiles. */
static int stored_state(swath_plan *p, swath_tile mt, unsigned char *covered) {
  enum swath_task_state s = SWATH_TASK_PENDING;
  int n = p->m * p->m;
  if (!p->store || p->store->get(p->store_state, mt, &s, covered, n)) {
    if (covered) memset(covered, 1, (size_t)n);
    return SWATH_TASK_PENDING;
  }
  return (int)s;
}

/* Flags (m*m) of mt's tiles in the run's area: with metatiling 1 the
 * metatile is the tile, and it is visited only when in the area. */
static void area_tiles(swath_plan *p, swath_tile mt, unsigned char *in) {
  swath_tile_range tr = swath_grid_metatile_tiles(p->g, mt, p->m);
  memset(in, 0, (size_t)p->m * p->m);
  for (int64_t ty = tr.miny; ty <= tr.maxy; ty++)
    for (int64_t tx = tr.minx; tx <= tr.maxx; tx++)
      in[(ty - tr.miny) * p->m + (tx - tr.minx)] =
          p->m == 1 ||
          swath_area_intersects(p->area, swath_grid_tile_bounds(p->g, (swath_tile){mt.z, tx, ty}));
}

/* 1 if a task recorded finished (DONE or EMPTY, covering `covered`) is
 * finished for this run: it covers every tile of it in the run's area. */
static int finished_here(swath_plan *p, swath_tile mt, int stored, const unsigned char *covered) {
  if (p->redo || (stored != SWATH_TASK_DONE && stored != SWATH_TASK_EMPTY)) return 0;
  int n = p->m * p->m, whole = 1;
  for (int i = 0; i < n; i++)
    whole &= covered[i] != 0;
  if (whole) return 1;
  area_tiles(p, mt, p->scratch);
  for (int i = 0; i < n; i++)
    if (p->scratch[i] && !covered[i]) return 0;
  return 1;
}

void swath_plan_covered(const swath_grid *g, int m, swath_tile mt, int stored,
                        const unsigned char *old, const unsigned char *partial,
                        unsigned char *made) {
  swath_tile_range tr = swath_grid_metatile_tiles(g, mt, m);
  int keep = stored == SWATH_TASK_DONE || stored == SWATH_TASK_EMPTY;
  for (int y = 0; y < m; y++)
    for (int x = 0; x < m; x++) {
      int i = y * m + x;
      if (tr.minx + x > tr.maxx || tr.miny + y > tr.maxy)
        made[i] = SWATH_COVERED;
      else if (made[i])
        made[i] = partial && partial[i] ? SWATH_COVERED_PARTIAL : SWATH_COVERED;
      else
        made[i] = keep ? old[i] : 0;
    }
}

/* The child tiles of n never computed (n->kept, (2m)^2 flags) by what the
 * store records of its four children (a child's task covers the tiles it
 * made; a STALE one has them all on disk), and n's tiles that will be made
 * with such a quarter left to older pixels or none (n->partial): all but
 * those taking the inputs' pixels (`from_inputs`) or their own complete
 * pixels on disk. Returns 1 if any child tile is kept. Children have
 * recorded their state before reporting, so this reads the final one. */
static int fill_kept(swath_plan *p, swath_plan_node *n, int from_inputs) {
  int m = p->m, s2 = 2 * m, any = 0;
  memset(n->kept, 0, (size_t)s2 * s2);
  memset(n->partial, 0, (size_t)m * m);
  if (!p->store) return 0;
  swath_tile kids[4];
  swath_tile_children(n->mt, kids);
  int64_t ox = 2 * n->mt.x * m, oy = 2 * n->mt.y * m, cols, rows;
  for (int q = 0; q < 4; q++) {
    swath_grid_metatile_matrix(p->g, kids[q].z, m, &cols, &rows);
    if (kids[q].x >= cols || kids[q].y >= rows) continue;
    int s = stored_state(p, kids[q], p->kid_covered);
    if (s == SWATH_TASK_STALE) continue;
    int recorded = s == SWATH_TASK_DONE || s == SWATH_TASK_EMPTY;
    swath_tile_range tr = swath_grid_metatile_tiles(p->g, kids[q], m);
    for (int64_t ty = tr.miny; ty <= tr.maxy; ty++)
      for (int64_t tx = tr.minx; tx <= tr.maxx; tx++)
        if (!recorded || !p->kid_covered[(ty - tr.miny) * m + (tx - tr.minx)]) {
          n->kept[(ty - oy) * s2 + (tx - ox)] = 1;
          any = 1;
        }
  }
  int has_tiles = n->stored == SWATH_TASK_DONE || n->stored == SWATH_TASK_STALE;
  for (int y = 0; y < m && any && !from_inputs; y++)
    for (int x = 0; x < m; x++) {
      const unsigned char *k = n->kept + 2 * y * s2 + 2 * x;
      int own = has_tiles && n->covered[y * m + x] == SWATH_COVERED;
      n->partial[y * m + x] = !own && (k[0] || k[1] || k[s2] || k[s2 + 1]);
    }
  return any;
}

/* 1 if a kept child tile of n (of its tiles recorded PARTIAL only, if
 * `partial_only`) is in the run's area: there a fresh run of this run's
 * zooms has the inputs' pixels at n's zoom. A child tile outside the area
 * is outside every run of these zooms so far: it stays as the deeper runs
 * left it (lowering the top zoom reuses every task). */
static int kept_in_area(swath_plan *p, const swath_plan_node *n, int partial_only) {
  int m = p->m, s2 = 2 * m;
  int64_t ox = 2 * n->mt.x * m, oy = 2 * n->mt.y * m;
  for (int k = 0; k < s2 * s2; k++) {
    int cx = k % s2, cy = k / s2;
    if (!n->kept[k] || (partial_only && n->covered[(cy / 2) * m + cx / 2] != SWATH_COVERED_PARTIAL))
      continue;
    swath_tile c = {n->mt.z + 1, ox + cx, oy + cy};
    if (swath_area_intersects(p->area, swath_grid_tile_bounds(p->g, c))) return 1;
  }
  return 0;
}

static void check_complete(swath_plan *p, swath_plan_node *n);

void swath_plan_report(swath_plan *p, swath_plan_node *parent, int quadrant,
                       enum swath_child_result r) {
  if (!parent) return;
  parent->child[quadrant] = (unsigned char)r;
  parent->reported++;
  check_complete(p, parent);
}

/* A sealed node whose children have all reported: skip it, record it empty,
 * or queue it to be built. A node with tiles on disk is built when some
 * child changed (DATA) or it is STALE; it is never recorded empty from
 * children that say nothing about its pixels (KEEP). */
static void check_complete(swath_plan *p, swath_plan_node *n) {
  if (!n->sealed || n->reported < n->expected) return;
  int data = 0, ondisk = 0;
  for (int i = 0; i < 4; i++) {
    data |= n->child[i] == SWATH_CHILD_DATA;
    ondisk |= n->child[i] == SWATH_CHILD_ONDISK;
  }
  int has_tiles = n->stored == SWATH_TASK_DONE || n->stored == SWATH_TASK_STALE;
  int finished = finished_here(p, n->mt, n->stored, n->covered);
  if (!data && n->stored == SWATH_TASK_DONE && finished) {
    p->counts.skipped++;
    swath_plan_node *parent = n->parent;
    int q = n->quadrant;
    free_node(p, n);
    swath_plan_report(p, parent, q, SWATH_CHILD_ONDISK);
    return;
  }
  if (!data && !ondisk && !has_tiles) {
    if (finished) {
      p->counts.skipped++;
    } else {
      p->counts.empty++;
      fill_kept(p, n, 0);
      area_tiles(p, n->mt, p->scratch);
      swath_plan_covered(p->g, p->m, n->mt, n->stored, n->covered, n->partial, p->scratch);
      if (p->store)
        p->store->mark(p->store_state, n->mt, SWATH_TASK_EMPTY, NULL, NULL, p->scratch,
                       p->m * p->m);
    }
    swath_plan_node *parent = n->parent;
    int q = n->quadrant;
    free_node(p, n);
    swath_plan_report(p, parent, q, SWATH_CHILD_EMPTY);
    return;
  }
  fill_kept(p, n, 0);
  n->next_ready = NULL;
  if (p->ready_tail)
    p->ready_tail->next_ready = n;
  else
    p->ready = n;
  p->ready_tail = n;
}

static swath_plan_node *new_node(swath_plan *p, swath_tile mt, swath_plan_node *parent, int q) {
  swath_plan_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->mt = mt;
  n->parent = parent;
  n->quadrant = q;
  /* handled, covered, kept, partial */
  n->handled = calloc((size_t)10 * p->m * p->m, 1);
  if (!n->handled) {
    free(n);
    return NULL;
  }
  n->covered = n->handled + (size_t)4 * p->m * p->m;
  n->kept = n->covered + (size_t)p->m * p->m;
  n->partial = n->kept + (size_t)4 * p->m * p->m;
  n->stored = stored_state(p, mt, n->covered);
  p->live_nodes++;
  return n;
}

static int metatile_in_area(swath_plan *p, swath_tile mt) {
  int64_t cols, rows;
  swath_grid_metatile_matrix(p->g, mt.z, p->m, &cols, &rows);
  if (mt.x < 0 || mt.y < 0 || mt.x >= cols || mt.y >= rows) return 0;
  return swath_area_intersects(p->area, swath_grid_metatile_bounds(p->g, mt, p->m));
}

/* What a child the walk does not visit (outside the area or the matrix)
 * gives its parent: what the store records of it. */
static enum swath_child_result outside_child(swath_plan *p, swath_tile mt) {
  int64_t cols, rows;
  swath_grid_metatile_matrix(p->g, mt.z, p->m, &cols, &rows);
  if (mt.x < 0 || mt.y < 0 || mt.x >= cols || mt.y >= rows) return SWATH_CHILD_EMPTY;
  switch (stored_state(p, mt, NULL)) {
  case SWATH_TASK_DONE:
  case SWATH_TASK_STALE:
    return SWATH_CHILD_ONDISK;
  case SWATH_TASK_EMPTY:
    return SWATH_CHILD_EMPTY;
  default:
    return SWATH_CHILD_KEEP;
  }
}

/* 1 if the store records a child of mt: the product goes deeper there, so
 * mt is an overview of what is on disk, not a tile of the inputs. */
static int has_recorded_children(swath_plan *p, swath_tile mt) {
  if (!p->from_children || !p->store || !swath_grid_has_zoom(p->g, mt.z + 1) ||
      !swath_plan_grid_is_quadtree(p->g, mt.z, mt.z + 1))
    return 0;
  swath_tile kids[4];
  swath_tile_children(mt, kids);
  for (int i = 0; i < 4; i++) {
    int s = stored_state(p, kids[i], NULL);
    if (s == SWATH_TASK_DONE || s == SWATH_TASK_STALE || s == SWATH_TASK_EMPTY) return 1;
  }
  return 0;
}

/* Visit one metatile: a leaf becomes a task (1) or a report; an inner tile
 * becomes a node pushed on the stack. At the top zoom, over recorded
 * children, the node is built from the store's children alone if they were
 * all computed; otherwise it is a leaf computed from the inputs with that
 * node attached: its quarters over computed children take their average
 * (overview.h). Returns 1 if *t was filled. */
static int visit(swath_plan *p, swath_tile mt, swath_plan_node *parent, int q, swath_task *t) {
  if (parent) parent->expected++;
  if (mt.z == p->max_zoom || !p->overviews) {
    int s = stored_state(p, mt, p->leaf_covered), partial = 0;
    for (int i = 0; i < p->m * p->m; i++)
      partial |= p->leaf_covered[i] == SWATH_COVERED_PARTIAL;
    int finished = finished_here(p, mt, s, p->leaf_covered);
    swath_plan_node *n = NULL;
    if ((!finished || partial) && has_recorded_children(p, mt)) {
      if (!(n = new_node(p, mt, parent, q))) {
        if (parent) parent->expected--;
        return 0;
      }
      swath_tile kids[4];
      swath_tile_children(mt, kids);
      for (int i = 0; i < 4; i++)
        n->child[i] = (unsigned char)outside_child(p, kids[i]);
      n->sealed = 1;
      fill_kept(p, n, 1);
      /* A PARTIAL tile is finished unless its quarters to fill are in the area. */
      if (finished && kept_in_area(p, n, 1)) finished = 0;
    }
    if (finished) {
      if (n) free_node(p, n);
      p->counts.skipped++;
      swath_plan_report(p, parent, q,
                        s == SWATH_TASK_DONE ? SWATH_CHILD_ONDISK : SWATH_CHILD_EMPTY);
      return 0;
    }
    if (n) {
      if (kept_in_area(p, n, 0)) {
        n->from_inputs = 1;
        *t = (swath_task){
            .kind = SWATH_TASK_LEAF, .mt = mt, .node = n, .parent = parent, .quadrant = q};
        return 1;
      }
      check_complete(p, n);
      return 0;
    }
    *t = (swath_task){.kind = SWATH_TASK_LEAF, .mt = mt, .parent = parent, .quadrant = q};
    return 1;
  }
  swath_plan_node *n = new_node(p, mt, parent, q);
  if (!n) { /* out of memory: count the child as failed to report */
    if (parent) parent->expected--;
    return 0;
  }
  p->stack[p->depth++] = (frame){n, 0};
  return 0;
}

/* The next metatile the walk starts from at p->zoom: the iterator's, or
 * the one root swath_plan_set_root gave (if it meets the area). */
static int next_root(swath_plan *p, swath_tile *mt) {
  if (!p->has_root) return swath_tile_iter_next(p->roots, mt);
  if (p->root_given) return 0;
  p->root_given = 1;
  if (!metatile_in_area(p, p->root)) return 0;
  *mt = p->root;
  return 1;
}

void swath_plan_set_root(swath_plan *p, swath_tile root) {
  swath_tile_iter_free(p->roots);
  p->roots = NULL;
  p->has_root = 1;
  p->root = root;
}

int swath_plan_next(swath_plan *p, swath_task *t) {
  if (p->ready) {
    swath_plan_node *n = p->ready;
    p->ready = n->next_ready;
    if (!p->ready) p->ready_tail = NULL;
    *t = (swath_task){.kind = SWATH_TASK_OVERVIEW,
                      .mt = n->mt,
                      .node = n,
                      .parent = n->parent,
                      .quadrant = n->quadrant};
    return 1;
  }
  while (!p->exhausted) {
    if (p->depth == 0) {
      swath_tile mt;
      if (!next_root(p, &mt)) {
        swath_tile_iter_free(p->roots);
        p->roots = NULL;
        /* Without overviews, walk the next zoom down. */
        if (!p->overviews && !p->has_root && p->zoom > p->min_zoom &&
            swath_tile_iter_new(p->g, p->area, --p->zoom, p->m, &p->roots) == 0)
          continue;
        p->exhausted = 1;
        break;
      }
      if (visit(p, mt, NULL, 0, t)) return 1;
      if (p->ready) return swath_plan_next(p, t);
      continue;
    }
    frame *f = &p->stack[p->depth - 1];
    if (f->next_child == 4) {
      swath_plan_node *n = f->node;
      p->depth--;
      n->sealed = 1;
      check_complete(p, n);
      if (p->ready) return swath_plan_next(p, t);
      continue;
    }
    int q = f->next_child++;
    swath_tile kids[4];
    swath_tile_children(f->node->mt, kids);
    if (!metatile_in_area(p, kids[q])) {
      f->node->child[q] = (unsigned char)outside_child(p, kids[q]);
      continue;
    }
    if (visit(p, kids[q], f->node, q, t)) return 1;
    if (p->ready) return swath_plan_next(p, t);
  }
  return 0;
}

int swath_plan_finished(const swath_plan *p) {
  return p->exhausted && !p->ready && p->live_nodes == 0;
}

void swath_plan_release(swath_plan *p, swath_plan_node *node) { free_node(p, node); }

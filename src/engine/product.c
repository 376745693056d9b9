/* product.c: see product.h. The folder's product is whatever the store
 * records under its job key; tiles are never deleted here except when the
 * user asks for another job's product to be replaced (--overwrite). */
#include "engine/product.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/area.h"
#include "core/error.h"
#include "core/log.h"

int swath_product_claim(const swath_job *job, const swath_store_vtable *store, void *store_state,
                        int same, int64_t done, const swath_sink_vtable *sink, void *sink_state,
                        int overwrite, int *redo) {
  *redo = 0;
  if (same) {
    *redo = overwrite;
    return 0;
  }
  int tiles = done == 0 && sink->has_tiles(sink_state);
  if (done > 0 || tiles) {
    if (!overwrite)
      return swath_error_set(
          SWATH_EINVAL,
          "output '%s' holds another job's tiles (%s): use --overwrite to replace them, or "
          "another output path",
          job->out_path,
          done ? "they were made with other process, params, inputs, grid or output settings"
               : "they have no swath state");
    swath_info("output %s: removing another job's tiles (--overwrite)", job->out_path);
    int r = sink->clear(sink_state);
    if (r) return r;
  }
  /* After the tiles: a run killed in between still finds the old key. */
  return store->reset(store_state);
}

typedef struct run_list {
  int n;
  swath_bounds bounds; /* union of the runs' areas */
  char *text;          /* comment lines, one per run */
  size_t len, cap;
  int oom;
} run_list;

static void collect_run(void *ud, const swath_store_run *run) {
  run_list *l = ud;
  if (l->n++ == 0)
    l->bounds = run->bounds;
  else {
    l->bounds.minx = run->bounds.minx < l->bounds.minx ? run->bounds.minx : l->bounds.minx;
    l->bounds.miny = run->bounds.miny < l->bounds.miny ? run->bounds.miny : l->bounds.miny;
    l->bounds.maxx = run->bounds.maxx > l->bounds.maxx ? run->bounds.maxx : l->bounds.maxx;
    l->bounds.maxy = run->bounds.maxy > l->bounds.maxy ? run->bounds.maxy : l->bounds.maxy;
  }
  char line[1024];
  int k = snprintf(line, sizeof line, "#   zoom %d-%d, area: %s\n", run->min_zoom, run->max_zoom,
                   run->area ? run->area : "?");
  if (k < 0) return;
  size_t n = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
  if (l->len + n + 1 > l->cap) {
    size_t cap = (l->len + n + 1) * 2;
    char *t = realloc(l->text, cap);
    if (!t) {
      l->oom = 1;
      return;
    }
    l->text = t;
    l->cap = cap;
  }
  memcpy(l->text + l->len, line, n + 1);
  l->len += n;
}

/* Tile limits of what the store records, clipped to the grid. */
static int recorded_limits(const swath_job *job, const swath_store_vtable *store, void *st,
                           swath_sink_extent *e) {
  int r = store->tile_limits(st, job->metatiling, e->limits, e->have);
  if (r) return r;
  e->min_zoom = e->max_zoom = -1;
  for (int z = 0; z < SWATH_GRID_MAX_ZOOMS; z++) {
    if (!e->have[z]) continue;
    if (!swath_grid_has_zoom(&job->grid, z)) {
      e->have[z] = 0;
      continue;
    }
    swath_tile_range *t = &e->limits[z];
    const swath_tile_matrix *m = &job->grid.m[z];
    if (t->maxx > m->matrix_width - 1) t->maxx = m->matrix_width - 1;
    if (t->maxy > m->matrix_height - 1) t->maxy = m->matrix_height - 1;
    if (e->min_zoom < 0) e->min_zoom = z;
    e->max_zoom = z;
  }
  return 0;
}

/* Bounds of a tile range, in the grid CRS. */
static swath_bounds range_bounds(const swath_grid *g, const swath_tile_range *t) {
  swath_bounds a = swath_grid_tile_bounds(g, (swath_tile){t->z, t->minx, t->maxy});
  swath_bounds b = swath_grid_tile_bounds(g, (swath_tile){t->z, t->maxx, t->miny});
  return (swath_bounds){a.minx, a.miny, b.maxx, b.maxy};
}

int swath_product_add_run(const swath_job *job, const swath_store_vtable *store, void *store_state,
                          swath_bounds area_bounds) {
  run_list l = {0};
  int r = store->each_run(store_state, collect_run, &l);
  free(l.text);
  if (r) return r;
  if (l.n == 0) {
    /* A product made before runs were recorded: its tiles stand for them. */
    swath_sink_extent e;
    if ((r = recorded_limits(job, store, store_state, &e))) return r;
    if (e.max_zoom >= 0) {
      swath_store_run old = {e.min_zoom, e.max_zoom,
                             range_bounds(&job->grid, &e.limits[e.max_zoom]),
                             "earlier runs (not recorded): the extent of their tiles"};
      if ((r = store->add_run(store_state, &old))) return r;
    }
  }
  return swath_product_record_run(job, store, store_state, area_bounds);
}

int swath_product_record_run(const swath_job *job, const swath_store_vtable *store,
                             void *store_state, swath_bounds area_bounds) {
  char area[1200];
  swath_job_area_text(job, area, sizeof area);
  swath_store_run run = {job->min_zoom, job->max_zoom, area_bounds, area};
  return store->add_run(store_state, &run);
}

/* The lon/lat extent of the product's bounds (grid CRS). */
static void product_lonlat(const swath_job *job, swath_bounds area_bounds,
                           const swath_lonlat_extent *run_lonlat, swath_sink_extent *e) {
  e->lonlat = *run_lonlat;
  if (memcmp(&e->bounds, &area_bounds, sizeof area_bounds) == 0) return;
  swath_area *box = NULL;
  swath_lonlat_extent ll;
  if (swath_area_from_bounds(&job->grid, e->bounds, job->grid.crs, &box) == 0 &&
      swath_area_lonlat_extent(&job->grid, box, &ll) == 0) {
    ll.lon = run_lonlat->lon, ll.lat = run_lonlat->lat; /* on data, which the box may not be */
    e->lonlat = ll;
  }
  swath_area_free(box);
  swath_error_clear();
}

int swath_product_extent(const swath_job *job, const swath_store_vtable *store, void *store_state,
                         swath_bounds area_bounds, const swath_lonlat_extent *run_lonlat,
                         swath_sink_extent *e) {
  memset(e, 0, sizeof *e);
  int r = recorded_limits(job, store, store_state, e);
  if (r) return r;
  run_list l = {0};
  r = store->each_run(store_state, collect_run, &l);
  free(l.text);
  if (r) return r;
  e->bounds = l.n ? l.bounds : area_bounds;
  if (e->max_zoom < 0) { /* nothing on disk: describe the run */
    e->min_zoom = job->min_zoom;
    e->max_zoom = job->max_zoom;
  } else {
    /* Within the tiles: an area whose run did not get far is not claimed. */
    swath_bounds t = range_bounds(&job->grid, &e->limits[e->max_zoom]);
    for (int z = e->min_zoom; z < e->max_zoom; z++) {
      if (!e->have[z]) continue;
      swath_bounds b = range_bounds(&job->grid, &e->limits[z]);
      t = (swath_bounds){b.minx < t.minx ? b.minx : t.minx, b.miny < t.miny ? b.miny : t.miny,
                         b.maxx > t.maxx ? b.maxx : t.maxx, b.maxy > t.maxy ? b.maxy : t.maxy};
    }
    swath_bounds c = {e->bounds.minx > t.minx ? e->bounds.minx : t.minx,
                      e->bounds.miny > t.miny ? e->bounds.miny : t.miny,
                      e->bounds.maxx < t.maxx ? e->bounds.maxx : t.maxx,
                      e->bounds.maxy < t.maxy ? e->bounds.maxy : t.maxy};
    if (c.minx < c.maxx && c.miny < c.maxy) e->bounds = c;
  }
  product_lonlat(job, area_bounds, run_lonlat, e);
  return 0;
}

int swath_product_job_yaml(const swath_job *job, const swath_store_vtable *store, void *store_state,
                           char **out) {
  run_list l = {0};
  int r = store->each_run(store_state, collect_run, &l);
  if (!r && l.oom) r = swath_error_set(SWATH_ENOMEM, "job.yaml: out of memory");
  char *abs = realpath(job->path, NULL); /* the job's relative paths are relative to its folder */
  const char *jp = abs ? abs : job->path;
  size_t n = (l.text ? strlen(l.text) : 0) + strlen(jp) + 1024;
  char *header = r ? NULL : malloc(n);
  if (!r && !header) r = swath_error_set(SWATH_ENOMEM, "job.yaml: out of memory");
  if (!r) {
    snprintf(header, n,
             "# The job as swath last ran it into this folder: zoom and area are those\n"
             "# of that run (--zoom and --bounds applied). Relative paths are relative\n"
             "# to the folder of the job file it was run from: %s\n"
             "# The folder holds the tiles of every run of this job (same job key) since\n"
             "# it was created or overwritten; tilejson.json and stac.json describe them all:\n"
             "%s",
             jp, l.text ? l.text : "");
    r = swath_job_yaml(job, header, out);
  }
  free(header);
  free(l.text);
  free(abs);
  return r;
}

/* job_size.c: see job_size.h.
 *
 * The counting thread owns a copy of the grid and a clone of the area; the
 * rest of the state is guarded by `mu`. A zoom's exact count replaces its
 * estimate only once that zoom is finished, so the total moves from the
 * estimate to the count zoom by zoom and never counts a zoom twice. */
#include "engine/job_size.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"

struct swath_task_count {
  swath_grid g;
  swath_area *area;
  int z0, z1, m;
  atomic_int stop;
  pthread_t thread;
  pthread_mutex_t mu; /* guards what follows */
  pthread_cond_t cond;
  int64_t counted;                        /* zooms z0 .. next-1 */
  int64_t estimate[SWATH_GRID_MAX_ZOOMS]; /* per zoom, set before the thread starts */
  int next;                               /* the zoom being counted */
  int finished, failed;
};

static void *count_main(void *arg) {
  swath_task_count *c = arg;
  for (int z = c->z0; z <= c->z1; z++) {
    int64_t n = swath_area_count_tiles_until(&c->g, c->area, z, c->m, &c->stop);
    pthread_mutex_lock(&c->mu);
    if (n < 0)
      c->failed = 1;
    else
      c->counted += n, c->next = z + 1;
    pthread_mutex_unlock(&c->mu);
    if (n < 0) break;
  }
  pthread_mutex_lock(&c->mu);
  c->finished = 1;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

int swath_task_count_start(const swath_grid *g, const swath_area *area, int z0, int z1, int m,
                           swath_task_count **out) {
  *out = NULL;
  swath_task_count *c = calloc(1, sizeof *c);
  if (!c) return swath_error_set(SWATH_ENOMEM, "out of memory");
  c->g = *g;
  c->z0 = z0, c->z1 = z1, c->m = m, c->next = z0;
  atomic_init(&c->stop, 0);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cond, NULL);
  int rc = (c->area = swath_area_clone(area)) ? 0 : swath_error_set(SWATH_ENOMEM, "out of memory");
  for (int z = z0; z <= z1 && !rc; z++) {
    int64_t e = swath_area_estimate_tiles(g, area, z, m);
    if (e < 0)
      rc = (int)e;
    else
      c->estimate[z] = e;
  }
  if (!rc && pthread_create(&c->thread, NULL, count_main, c))
    rc = swath_error_set(SWATH_EIO, "cannot start a thread to count tasks");
  if (rc) {
    swath_area_free(c->area);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int64_t swath_task_count_get(swath_task_count *c, int *exact) {
  pthread_mutex_lock(&c->mu);
  int64_t total = c->counted;
  for (int z = c->next; z <= c->z1; z++)
    total += c->estimate[z];
  *exact = c->finished && !c->failed;
  pthread_mutex_unlock(&c->mu);
  return total;
}

int swath_task_count_wait(swath_task_count *c, double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double whole = floor(seconds);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&c->mu);
  while (!c->finished)
    if (pthread_cond_timedwait(&c->cond, &c->mu, &ts)) break;
  int exact = c->finished && !c->failed;
  pthread_mutex_unlock(&c->mu);
  return exact;
}

void swath_task_count_free(swath_task_count *c) {
  if (!c) return;
  atomic_store(&c->stop, 1);
  pthread_join(c->thread, NULL);
  swath_area_free(c->area);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cond);
  free(c);
}

/* "the whole grid NAME" or "the inputs' footprint (box in CRS)". */
static void extent_text(const swath_grid *g, swath_bounds b, char *buf, size_t n) {
  const swath_bounds *e = &g->extent;
  double tol = 1e-9 * fmax(e->maxx - e->minx, e->maxy - e->miny);
  if (fabs(b.minx - e->minx) <= tol && fabs(b.miny - e->miny) <= tol &&
      fabs(b.maxx - e->maxx) <= tol && fabs(b.maxy - e->maxy) <= tol)
    snprintf(buf, n, "the whole grid %s", g->name);
  else
    snprintf(buf, n, "the inputs' footprint (%.10g,%.10g,%.10g,%.10g in %.60s)", b.minx, b.miny,
             b.maxx, b.maxy, g->crs);
}

/* What a remote job without area covers: 1 and the tiles, the zooms and
 * the extent in words; 0 if it has an area (or no remote input); or a
 * negative code. */
static int64_t no_area_size(const swath_job *job, const swath_area *area, const char *remote,
                            int overviews, char *zooms, size_t nz, char *over, size_t no,
                            int64_t *tiles) {
  if (!remote || job->area_file || job->has_bounds) return 0;
  int z0 = overviews ? job->max_zoom : job->min_zoom, z1 = job->max_zoom;
  *tiles = 0;
  for (int z = z0; z <= z1; z++) {
    int64_t n = swath_area_estimate_tiles(&job->grid, area, z, 1);
    if (n < 0) return n;
    *tiles += n;
  }
  extent_text(&job->grid, swath_area_bounds(area), over, no);
  if (z0 == z1)
    snprintf(zooms, nz, "zoom %d", z0);
  else
    snprintf(zooms, nz, "zooms %d-%d", z0, z1);
  return 1;
}

int swath_job_size_check(const swath_job *job, const swath_area *area, const char *remote,
                         int overviews, int yes) {
  char over[400], zooms[32];
  int64_t tiles;
  int64_t r =
      no_area_size(job, area, remote, overviews, zooms, sizeof zooms, over, sizeof over, &tiles);
  if (r <= 0) return (int)r;
  if (tiles <= SWATH_NO_AREA_MAX_TILES || yes) return 0;
  return swath_error_set(SWATH_EINVAL,
                         "%s: no area, so the job covers %s: %lld tiles at %s, about as many "
                         "requests to input %s; give the job an area (or --bounds), or pass "
                         "--yes to go ahead (without an area the limit is %d tiles)",
                         job->path, over, (long long)tiles, zooms, remote, SWATH_NO_AREA_MAX_TILES);
}

void swath_job_size_note(const swath_job *job, const swath_area *area, const char *remote,
                         int overviews) {
  char over[400], zooms[32];
  int64_t tiles;
  if (no_area_size(job, area, remote, overviews, zooms, sizeof zooms, over, sizeof over, &tiles) <=
      0)
    return;
  int big = tiles > SWATH_NO_AREA_MAX_TILES;
  swath_log(big ? SWATH_LOG_WARN : SWATH_LOG_INFO,
            "%s: no area: %lld tiles at %s over %s, about as many requests to input %s%s",
            job->path, (long long)tiles, zooms, over, remote, big ? " (--yes)" : "");
}

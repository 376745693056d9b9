/* sink_none.c: the raster sink of a product without tiles: a vector
 * process's (its features go to the features store, io/features.h). The
 * output folder holds the job as run (job.yaml) and the state, nothing
 * else; the engine's calls that concern tiles find none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/cache.h"
#include "io/sink.h"

typedef struct none_sink {
  char *path;
} none_sink;

static int none_open(const swath_sink_cfg *cfg, void **state) {
  none_sink *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(cfg->path))) {
    free(s);
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  *state = s;
  return 0;
}

static int none_create(void *state) {
  none_sink *s = state;
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/job.yaml", s->path);
  return swath_cache_make_parent(probe);
}

static int none_write_tile(void *state, swath_tile t, const swath_raster *tile) {
  (void)state, (void)tile;
  return swath_error_set(SWATH_EINTERNAL, "a product without tiles was given tile %d/%lld/%lld",
                         t.z, (long long)t.x, (long long)t.y);
}

static int none_read_tile(void *state, swath_tile t, swath_raster *out) {
  (void)state, (void)t, (void)out;
  return SWATH_EEMPTY;
}

static int none_remove_tile(void *state, swath_tile t) {
  (void)state, (void)t;
  return 0;
}

static int none_has_tiles(void *state) {
  (void)state;
  return 0;
}

static int none_clear(void *state) {
  none_sink *s = state;
  char path[4200];
  snprintf(path, sizeof path, "%s/job.yaml", s->path);
  if (unlink(path) && errno != ENOENT)
    return swath_error_set(SWATH_EIO, "output: cannot remove '%s': %s", path, strerror(errno));
  return 0;
}

static void none_set_extent(void *state, const swath_sink_extent *e) { (void)state, (void)e; }

static int none_finish(void *state, const char *job_yaml) {
  none_sink *s = state;
  if (!job_yaml) return 0;
  char path[4200];
  snprintf(path, sizeof path, "%s/job.yaml", s->path);
  return swath_cache_write(path, job_yaml, strlen(job_yaml), 0);
}

static void none_close(void *state) {
  none_sink *s = state;
  if (!s) return;
  free(s->path);
  free(s);
}

const swath_sink_vtable swath_sink_none = {
    .name = "none",
    .abi_version = SWATH_SINK_ABI,
    .open = none_open,
    .create = none_create,
    .write_tile = none_write_tile,
    .read_tile = none_read_tile,
    .remove_tile = none_remove_tile,
    .has_tiles = none_has_tiles,
    .clear = none_clear,
    .set_extent = none_set_extent,
    .finish = none_finish,
    .close = none_close,
};

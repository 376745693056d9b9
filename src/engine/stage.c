/* stage.c: the staged sink (stage.h). A staging folder holds one attempt of
 * one task; its name carries the attempt, so the next attempt of a task
 * removes what the earlier ones left without asking who is alive (workers
 * on other machines share the folder, their pids mean nothing here). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "engine/stage.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "engine/run.h"
#include "engine/run_int.h"

struct swath_stage {
  const swath_sink_vtable *inner;
  void *out;          /* the output's instance (not owned) */
  swath_sink_cfg cfg; /* the output's configuration */
  char root[4200];    /* {output}/.swath/stage */
  char dir[4300];     /* this task's folder ("" between tasks) */
  void *st;           /* the stage instance, NULL between tasks */
  pthread_mutex_t mu; /* guards removed */
  swath_tile *removed;
  size_t nremoved, cap;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

static void rm_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int swath_stage_new(const swath_sink_vtable *inner, void *out_state, const swath_sink_cfg *cfg,
                    swath_stage **out) {
  *out = NULL;
  if (!inner->read_tile || !inner->remove_tile || strcmp(inner->name, "tiledir") != 0)
    return swath_error_set(SWATH_EINVAL,
                           "output sink '%s' cannot be staged for queued tasks (a folder of tile "
                           "files can): run the job with swath run",
                           inner->name);
  swath_stage *s = calloc(1, sizeof *s);
  if (!s) return swath_error_set(SWATH_ENOMEM, "out of memory");
  s->inner = inner;
  s->out = out_state;
  s->cfg = *cfg;
  snprintf(s->root, sizeof s->root, "%s/%s/stage", cfg->path, SWATH_STATE_DIR);
  pthread_mutex_init(&s->mu, NULL);
  *out = s;
  return 0;
}

static void close_stage(swath_stage *s) {
  if (s->st) s->inner->close(s->st);
  s->st = NULL;
  s->nremoved = 0;
}

int swath_stage_begin(swath_stage *s, swath_tile root, int attempt) {
  close_stage(s);
  char old[4400];
  for (int a = 1; a < attempt; a++) {
    snprintf(old, sizeof old, "%s/%d-%lld-%lld.a%d", s->root, root.z, (long long)root.x,
             (long long)root.y, a);
    rm_tree(old);
  }
  snprintf(s->dir, sizeof s->dir, "%s/%d-%lld-%lld.a%d", s->root, root.z, (long long)root.x,
           (long long)root.y, attempt);
  rm_tree(s->dir);
  if (swath__mkdir_p(s->dir))
    return swath_error_set(SWATH_EIO, "cannot create the staging folder '%s': %s", s->dir,
                           strerror(errno));
  swath_sink_cfg c = s->cfg;
  c.path = s->dir;
  c.check = 1;
  int r = s->inner->open(&c, &s->st);
  if (!r && s->inner->create) r = s->inner->create(s->st);
  if (r) close_stage(s);
  return r;
}

/* Move every file under `dir` (relative path `rel`) to the output. Safe to
 * run again after a partial run: what was moved is not there any more. */
static int move_files(swath_stage *s, const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  /* Gone: an earlier run of this commit moved everything (the queue runs a
   * commit again when the connection dropped before its COMMIT). */
  if (!d && errno == ENOENT && !*rel) return 0;
  if (!d) return swath_error_set(SWATH_EIO, "cannot read '%s': %s", dir, strerror(errno));
  int r = 0;
  struct dirent *e;
  while (!r && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue; /* ., .., and the stage instance's own .swath */
    char from[4600], to[4600], sub[600];
    snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
    snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
    snprintf(to, sizeof to, "%s/%s", s->cfg.path, sub);
    struct stat st;
    if (lstat(from, &st)) continue;
    if (S_ISDIR(st.st_mode)) {
      r = move_files(s, from, sub);
      continue;
    }
    if (rename(from, to) == 0) continue;
    char parent[4600];
    snprintf(parent, sizeof parent, "%s", to);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    if (errno != ENOENT || swath__mkdir_p(parent) || rename(from, to))
      r = swath_error_set(SWATH_EIO, "cannot move '%s' into place: %s", from, strerror(errno));
  }
  closedir(d);
  return r;
}

int swath_stage_commit(swath_stage *s) {
  if (s->st) s->inner->close(s->st);
  s->st = NULL;
  /* Removals first: a tile the stage holds was written after any removal
   * of it (the stage instance dropped its own copy at each removal). */
  int r = 0;
  for (size_t i = 0; !r && i < s->nremoved; i++) {
    int k = s->inner->remove_tile(s->out, s->removed[i]);
    if (k && k != SWATH_EEMPTY) r = k;
  }
  s->nremoved = 0;
  if (!r && s->dir[0]) r = move_files(s, s->dir, "");
  if (!r && s->dir[0]) rm_tree(s->dir);
  return r;
}

void swath_stage_discard(swath_stage *s) {
  close_stage(s);
  if (s->dir[0]) rm_tree(s->dir);
  s->dir[0] = 0;
}

void swath_stage_remove_all(const char *output) {
  char root[4200];
  snprintf(root, sizeof root, "%s/%s/stage", output, SWATH_STATE_DIR);
  rm_tree(root);
}

void swath_stage_free(swath_stage *s) {
  if (!s) return;
  close_stage(s);
  pthread_mutex_destroy(&s->mu);
  free(s->removed);
  free(s);
}

/* ---- the sink ---- */

static int was_removed(swath_stage *s, swath_tile t) {
  int found = 0;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->nremoved && !found; i++)
    found = s->removed[i].z == t.z && s->removed[i].x == t.x && s->removed[i].y == t.y;
  pthread_mutex_unlock(&s->mu);
  return found;
}

static int staged_open(const swath_sink_cfg *cfg, void **state) {
  (void)cfg, (void)state;
  return swath_error_set(SWATH_EINTERNAL, "the staged sink is made by swath_stage_new");
}

static int staged_create(void *st) {
  (void)st;
  return 0;
}

static int staged_write(void *st, swath_tile t, const swath_raster *tile) {
  swath_stage *s = st;
  if (!s->st) return swath_error_set(SWATH_EINTERNAL, "staged sink: no task begun");
  return s->inner->write_tile(s->st, t, tile);
}

static int staged_read(void *st, swath_tile t, swath_raster *out) {
  swath_stage *s = st;
  int r = s->st ? s->inner->read_tile(s->st, t, out) : SWATH_EEMPTY;
  if (r != SWATH_EEMPTY) return r;
  if (was_removed(s, t)) return SWATH_EEMPTY;
  return s->inner->read_tile(s->out, t, out);
}

static int staged_remove(void *st, swath_tile t) {
  swath_stage *s = st;
  if (s->st) s->inner->remove_tile(s->st, t);
  pthread_mutex_lock(&s->mu);
  int r = 0;
  if (s->nremoved == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    swath_tile *v = realloc(s->removed, cap * sizeof *v);
    if (!v)
      r = swath_error_set(SWATH_ENOMEM, "out of memory");
    else
      s->removed = v, s->cap = cap;
  }
  if (!r) s->removed[s->nremoved++] = t;
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int staged_has_tiles(void *st) {
  swath_stage *s = st;
  return s->inner->has_tiles(s->out);
}

static int staged_clear(void *st) {
  (void)st;
  return swath_error_set(SWATH_EINVAL, "a queued job does not clear its output");
}

static void staged_set_extent(void *st, const swath_sink_extent *e) {
  swath_stage *s = st;
  s->inner->set_extent(s->out, e);
}

static int staged_finish(void *st, const char *job_yaml) {
  swath_stage *s = st;
  return s->inner->finish(s->out, job_yaml);
}

static void staged_close(void *st) { (void)st; /* swath_stage_free */ }

const swath_sink_vtable swath_sink_staged = {
    .name = "staged",
    .abi_version = SWATH_SINK_ABI,
    .open = staged_open,
    .create = staged_create,
    .write_tile = staged_write,
    .read_tile = staged_read,
    .remove_tile = staged_remove,
    .has_tiles = staged_has_tiles,
    .clear = staged_clear,
    .set_extent = staged_set_extent,
    .finish = staged_finish,
    .close = staged_close,
};

/* tiledir_blank.c: output.empty_tiles: link. Every position inside
 * stac.json's limits that has no tile becomes a hard link to one shared
 * all-nodata tile, so readers that open every position of the limits (GDAL's
 * STACTA driver without -oo SKIP_MISSING_METATILE=YES) find a tile there:
 * a directory entry per position, no inode or data of its own (mapcache
 * shares its blank tiles the same way).
 *
 * The blank is {root}/.swath/blank/{w}x{h}-{sig}-{k}.{ext}: sig names what
 * it holds (bands, type, alpha, nodata, format options), so a blank made for
 * another product is never reused, and positions linked to one are linked
 * again; k numbers copies, since a file system caps the links to one inode
 * (ext4: 65000) and a full copy answers EMLINK.
 *
 * Invariants: a link is made under a temp name and renamed over the
 * position, and a real tile is renamed over a link, so a position that had
 * a file always has one. Links are not tiles: resume and overviews go by
 * the state store, and a link reads as all no-data. */
#include "io/tiledir_blank.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "io/tiledir_meta.h"

static void blank_path(const swath__blanks *b, int w, int h, int k, char *out, size_t n) {
  snprintf(out, n, "%s/%dx%d-%s-%d.%s", b->dir, w, h, b->sig, k, b->ext);
}

static int mkdir1(const char *p) { return mkdir(p, 0777) && errno != EEXIST ? -1 : 0; }

/* Copy k of the w x h blank exists (made now if it did not). */
static int ensure_blank(swath__blanks *b, int w, int h, int k, char *path, size_t n) {
  blank_path(b, w, h, k, path, n);
  if (access(path, F_OK) == 0) return 0;
  if (mkdir1(b->dir))
    return swath_error_set(SWATH_EIO, "output: cannot create '%s': %s", b->dir, strerror(errno));
  char tmp[4500];
  snprintf(tmp, sizeof tmp, "%s/blank-%dx%d-%d.%s.%lx", b->tmpdir, w, h, k, b->ext,
           (unsigned long)pthread_self());
  int r = b->encode(b->sink, w, h, tmp);
  if (r) return r;
  /* Two processes may both make it: either file is the same blank. */
  if (rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    return swath_error_set(SWATH_EIO, "output: cannot rename into '%s': %s", path, strerror(e));
  }
  return 0;
}

/* The copy of the w x h blank in use, and its slot. */
static int current(swath__blanks *b, int w, int h) {
  pthread_mutex_lock(&b->lock);
  int i = 0;
  while (i < b->ncopy && (b->copy[i].w != w || b->copy[i].h != h))
    i++;
  if (i == b->ncopy && i < (int)(sizeof b->copy / sizeof b->copy[0])) {
    b->copy[i].w = w, b->copy[i].h = h, b->copy[i].k = 0;
    b->ncopy++;
  }
  int k = i < b->ncopy ? b->copy[i].k : 0;
  pthread_mutex_unlock(&b->lock);
  return k;
}

static void full(swath__blanks *b, int w, int h, int k) {
  pthread_mutex_lock(&b->lock);
  for (int i = 0; i < b->ncopy; i++)
    if (b->copy[i].w == w && b->copy[i].h == h && b->copy[i].k == k) b->copy[i].k = k + 1;
  pthread_mutex_unlock(&b->lock);
}

/* Link `file` to the w x h blank; replace: over whatever is there (through a
 * temp name), else only where nothing is (EEXIST is then success). */
static int link_blank(swath__blanks *b, int w, int h, const char *file, int replace) {
  char src[4400], tmp[4500];
  snprintf(tmp, sizeof tmp, "%s/link.%s.%lx", b->tmpdir, b->ext, (unsigned long)pthread_self());
  for (int k = current(b, w, h);; k++) {
    int r = ensure_blank(b, w, h, k, src, sizeof src);
    if (r) return r;
    const char *dst = replace ? tmp : file;
    if (replace) unlink(tmp);
    if (link(src, dst) == 0) break;
    if (errno == EMLINK) { /* this copy is full: the next one */
      full(b, w, h, k);
      continue;
    }
    if (errno == EEXIST && !replace) return 0;
    return swath_error_set(SWATH_EIO, "output: cannot link '%s' to the blank tile '%s': %s", dst,
                           src, strerror(errno));
  }
  if (replace && rename(tmp, file)) {
    int e = errno;
    unlink(tmp);
    return swath_error_set(SWATH_EIO, "output: cannot rename into '%s': %s", file, strerror(e));
  }
  /* rename() of a link over a link to the same inode leaves both names. */
  if (replace) unlink(tmp);
  return 0;
}

/* Remember the inodes of blanks that are not ours (another product's). */
static void find_stale(swath__blanks *b) {
  DIR *d = opendir(b->dir);
  if (!d) return;
  char mine[32];
  snprintf(mine, sizeof mine, "-%s-", b->sig);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strstr(e->d_name, mine)) continue;
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", b->dir, e->d_name);
    struct stat st;
    if (stat(p, &st) || !S_ISREG(st.st_mode)) continue;
    void *grown = realloc(b->stale, (b->nstale + 1) * sizeof *b->stale);
    if (!grown) break;
    b->stale = grown;
    b->stale[b->nstale].dev = st.st_dev, b->stale[b->nstale].ino = st.st_ino;
    b->nstale++;
  }
  closedir(d);
}

int swath__blanks_open(swath__blanks *b, const swath_sink_cfg *cfg, const char *root,
                       const char *ext, const char *tmpdir, const char *sig,
                       swath__blank_encode_fn encode, void *sink) {
  memset(b, 0, sizeof *b);
  b->cfg = cfg, b->root = root, b->ext = ext, b->tmpdir = tmpdir, b->encode = encode,
  b->sink = sink;
  snprintf(b->sig, sizeof b->sig, "%s", sig);
  snprintf(b->dir, sizeof b->dir, "%s/.swath/blank", root);
  pthread_mutex_init(&b->lock, NULL);
  find_stale(b);
  for (int z = cfg->min_zoom; z <= cfg->max_zoom; z++)
    b->has_lim[z] = swath__tiledir_limits(cfg, NULL, z, &b->lim[z]);
  /* Prove now, not at the first empty tile, that hard links work here. */
  const swath_tile_matrix *m = &cfg->grid->m[cfg->max_zoom];
  char src[4400], probe[4300];
  int r = ensure_blank(b, m->tile_width, m->tile_height, current(b, m->tile_width, m->tile_height),
                       src, sizeof src);
  if (r) return r;
  snprintf(probe, sizeof probe, "%s/.swath-link-probe.%d", root, (int)getpid());
  unlink(probe);
  if (link(src, probe) && errno != EMLINK)
    return swath_error_set(
        SWATH_EINVAL,
        "output.empty_tiles: link: cannot make a hard link in '%s': %s (the output's "
        "file system must take hard links; or leave empty_tiles out and open the "
        "pyramid with -oo SKIP_MISSING_METATILE=YES)",
        root, strerror(errno));
  unlink(probe);
  return 0;
}

void swath__blanks_close(swath__blanks *b) {
  pthread_mutex_destroy(&b->lock);
  free(b->stale);
  b->stale = NULL;
}

int swath__blanks_inside(const swath__blanks *b, swath_tile tl) {
  const swath_tile_range *l = &b->lim[tl.z];
  return tl.z >= b->cfg->min_zoom && tl.z <= b->cfg->max_zoom && b->has_lim[tl.z] &&
         tl.x >= l->minx && tl.x <= l->maxx && tl.y >= l->miny && tl.y <= l->maxy;
}

int swath__blanks_link(swath__blanks *b, swath_tile tl, const char *file) {
  const swath_tile_matrix *m = &b->cfg->grid->m[tl.z];
  return link_blank(b, m->tile_width, m->tile_height, file, 1);
}

static int is_stale(const swath__blanks *b, const char *file, ino_t d_ino) {
  size_t i = 0;
  while (i < b->nstale && b->stale[i].ino != d_ino)
    i++;
  if (i == b->nstale) return 0;
  struct stat st;
  if (stat(file, &st)) return 0;
  for (i = 0; i < b->nstale; i++)
    if (b->stale[i].ino == st.st_ino && b->stale[i].dev == st.st_dev) return 1;
  return 0;
}

/* One column of zoom z: link rows y0..y1 that have no tile in {z}/{x}/. */
static int fill_column(swath__blanks *b, int z, int64_t x, int64_t y0, int64_t y1,
                       unsigned char *have, int64_t *made) {
  const swath_tile_matrix *m = &b->cfg->grid->m[z];
  char dir[4300], file[4600];
  snprintf(dir, sizeof dir, "%s/%d/%lld", b->root, z, (long long)x);
  size_t n = (size_t)(y1 - y0 + 1);
  memset(have, 0, n);
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char *end;
    long long y = strtoll(e->d_name, &end, 10);
    if (end == e->d_name || *end != '.' || strcmp(end + 1, b->ext) || y < y0 || y > y1) continue;
    snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
    have[y - y0] = b->nstale && is_stale(b, file, e->d_ino) ? 2 : 1;
  }
  if (d) closedir(d);
  int made_dir = d != NULL;
  for (size_t i = 0; i < n; i++) {
    if (have[i] == 1) continue;
    if (!made_dir) {
      char zdir[4300];
      snprintf(zdir, sizeof zdir, "%s/%d", b->root, z);
      if (mkdir1(zdir) || mkdir1(dir))
        return swath_error_set(SWATH_EIO, "output: cannot create '%s': %s", dir, strerror(errno));
      made_dir = 1;
    }
    snprintf(file, sizeof file, "%s/%lld.%s", dir, (long long)(y0 + (int64_t)i), b->ext);
    int r = link_blank(b, m->tile_width, m->tile_height, file, have[i] == 2);
    if (r) return r;
    ++*made;
  }
  return 0;
}

void swath__blanks_set_extent(swath__blanks *b, const swath_sink_extent *e) {
  memset(b->has_lim, 0, sizeof b->has_lim);
  for (int z = b->cfg->min_zoom; z <= b->cfg->max_zoom; z++)
    b->has_lim[z] = swath__tiledir_limits(b->cfg, e, z, &b->lim[z]);
}

int swath__blanks_fill(swath__blanks *b, int64_t *made) {
  *made = 0;
  for (int z = b->cfg->min_zoom; z <= b->cfg->max_zoom; z++) {
    if (!b->has_lim[z]) continue;
    swath_tile_range l = b->lim[z];
    unsigned char *have = malloc((size_t)(l.maxy - l.miny + 1));
    if (!have) return swath_error_set(SWATH_ENOMEM, "output: out of memory");
    int r = 0;
    for (int64_t x = l.minx; !r && x <= l.maxx; x++)
      r = fill_column(b, z, x, l.miny, l.maxy, have, made);
    free(have);
    if (r) return r;
  }
  return 0;
}

/* ---- the prototype tile ------------------------------------------------- */

static void prototype_record_path(const char *root, char *out, size_t n) {
  snprintf(out, n, "%s/.swath/prototype", root);
}

int swath__prototype_recall(const char *root, swath_tile *tl, char *file, size_t n) {
  char rec[4200], rel[4096], path[8400];
  prototype_record_path(root, rec, sizeof rec);
  FILE *f = fopen(rec, "r");
  if (!f) return 0;
  int z;
  long long x, y;
  unsigned long long ino;
  int ok = fscanf(f, "%d %lld %lld %llu %4095[^\n]", &z, &x, &y, &ino, rel) == 5;
  fclose(f);
  snprintf(path, sizeof path, "%s/%s", root, rel);
  struct stat st;
  if (ok && stat(path, &st) == 0 && (unsigned long long)st.st_ino == ino && strlen(path) < n) {
    *tl = (swath_tile){z, x, y};
    memcpy(file, path, strlen(path) + 1);
    return 1;
  }
  unlink(rec);
  return 0;
}

int swath__prototype_record(const char *root, swath_tile tl, const char *file) {
  char rec[4200], tmp[4300];
  struct stat st;
  size_t n = strlen(root);
  if (strncmp(file, root, n) || file[n] != '/') return swath_error_set(SWATH_EINVAL, "output: '%s' is not under '%s'", file, root);
  if (stat(file, &st)) return swath_error_set(SWATH_EIO, "output: cannot stat '%s': %s", file, strerror(errno));
  snprintf(rec, sizeof rec, "%s/.swath", root);
  if (mkdir1(rec)) return swath_error_set(SWATH_EIO, "output: cannot create '%s': %s", rec, strerror(errno));
  prototype_record_path(root, rec, sizeof rec);
  snprintf(tmp, sizeof tmp, "%s.%d", rec, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return swath_error_set(SWATH_EIO, "output: cannot write '%s': %s", tmp, strerror(errno));
  int bad = fprintf(f, "%d %lld %lld %llu %s\n", tl.z, (long long)tl.x, (long long)tl.y,
                    (unsigned long long)st.st_ino, file + n + 1) < 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, rec)) {
    unlink(tmp);
    return swath_error_set(SWATH_EIO, "output: cannot write '%s'", rec);
  }
  return 0;
}

void swath__prototype_forget(const char *root) {
  char rec[4200];
  prototype_record_path(root, rec, sizeof rec);
  unlink(rec);
}

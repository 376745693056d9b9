/* tiledir_blank.h: the shared all-nodata tile that the empty positions of a
 * tile directory link to (output.empty_tiles: link); internal to
 * sink_tiledir.c, see tiledir_blank.c. */
#ifndef SWATH_IO_TILEDIR_BLANK_H
#define SWATH_IO_TILEDIR_BLANK_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "io/sink.h"

/* Writes an all-nodata tile of w x h pixels, without georeferencing, to
 * the new file `dest`. */
typedef int (*swath__blank_encode_fn)(void *sink, int w, int h, const char *dest);

typedef struct swath__blanks {
  const swath_sink_cfg *cfg; /* the sink's (grid, zooms, area bounds) */
  const char *root, *ext, *tmpdir;
  char dir[4200]; /* {root}/.swath/blank */
  char sig[17];   /* what a blank holds, in its file name */
  swath__blank_encode_fn encode;
  void *sink;
  pthread_mutex_t lock; /* guards copy[] */
  int ncopy;
  struct {
    int w, h, k;
  } copy[8];                                  /* the copy in use per tile size */
  swath_tile_range lim[SWATH_GRID_MAX_ZOOMS]; /* stac.json's limits per zoom */
  unsigned char has_lim[SWATH_GRID_MAX_ZOOMS];
  size_t nstale;
  struct {
    dev_t dev;
    ino_t ino;
  } * stale; /* blanks of other products: positions linked to them are redone */
} swath__blanks;

/* Set up for the sink at `root`; `sig` is a hex string that changes with
 * anything a blank tile holds. Also proves hard links work there (by
 * linking one blank), else SWATH_EINVAL naming the file system's answer. */
int swath__blanks_open(swath__blanks *b, const swath_sink_cfg *cfg, const char *root,
                       const char *ext, const char *tmpdir, const char *sig,
                       swath__blank_encode_fn encode, void *sink);
void swath__blanks_close(swath__blanks *b);
/* Is tile tl inside stac.json's limits (a position that gets a link)? */
int swath__blanks_inside(const swath__blanks *b, swath_tile tl);
/* Make `file` (the path of tile tl) a link to the blank, replacing
 * atomically whatever is there. */
int swath__blanks_link(swath__blanks *b, swath_tile tl, const char *file);
/* The limits are now those of `e` (the product's tiles on disk, from every
 * run), over the zooms of b->cfg. */
void swath__blanks_set_extent(swath__blanks *b, const swath_sink_extent *e);
/* Link every position inside stac.json's limits that has no file (or a
 * link to another product's blank). `made` counts the links made. */
int swath__blanks_fill(swath__blanks *b, int64_t *made);

/* The prototype: the one all-nodata tile written (without empty_tiles:
 * link) so that GDAL's STACTA driver learns the bands, see
 * sink_tiledir.c. Its position is kept in {root}/.swath/prototype with the
 * file's name (under root) and inode, so that a later run whose limits start elsewhere removes it
 * (a fresh run would not have it), unless a real tile replaced it since.
 * recall: 1 and the tile and file when the recorded prototype is still
 * there, unchanged; else 0 (and the record is dropped). */
int swath__prototype_recall(const char *root, swath_tile *tl, char *file, size_t n);
int swath__prototype_record(const char *root, swath_tile tl, const char *file);
void swath__prototype_forget(const char *root);

#endif

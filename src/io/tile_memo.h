/* tile_memo.h: decoded cached tiles shared by every worker thread of one
 * run for one remote input, so that a tile decoded for one process tile is
 * not decoded again for its neighbour (a block reaches `pixel_buffer`
 * pixels into its neighbours: bench/detect.sh decoded 37% of its tiles
 * twice). remote_tile.c pastes from an entry exactly as from a fresh
 * decode: the entry is what the decode produced.
 *
 * An entry is keyed by the cached file's path and valid only for the file
 * as stat() describes it (device, inode, size, modification time): a tile
 * fetched again into the cache (a rename: a new inode) is decoded again.
 *
 * Bounded in bytes (the planes held): when a new entry does not fit, the
 * least recently used entries that no thread holds go first. Entries are
 * counted references: one in use is never freed, and is freed by its last
 * release once evicted or replaced. A thread that asks for a tile another
 * thread is decoding waits for that decode instead of repeating it (the
 * workers run neighbouring metatiles side by side, which share tiles).
 *
 * Thread-safe: one mutex over the table (held for lookups and list moves,
 * never while decoding or copying pixels). */
#ifndef SWATH_IO_TILE_MEMO_H
#define SWATH_IO_TILE_MEMO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* A tile as remote_tile.c decodes it: `n` planes of w x h bytes, the first
 * `ncolor` colour (grey: 1; palettes already expanded), then an alpha plane
 * (the last) when `alpha`. */
typedef struct swath_decoded_tile {
  int w, h, n, ncolor, alpha;
  unsigned char *planes; /* malloc'd */
} swath_decoded_tile;

typedef struct swath_tile_memo swath_tile_memo;
typedef struct swath_tile_memo_entry swath_tile_memo_entry;

typedef struct swath_tile_memo_stats {
  uint64_t hits;    /* tiles found decoded (or waited for) */
  uint64_t misses;  /* tiles the caller decoded */
  uint64_t evicted; /* entries dropped for the budget */
  size_t bytes;     /* planes held now */
  size_t peak;      /* most planes held at once */
} swath_tile_memo_stats;

/* A memo holding at most `budget` bytes of planes; NULL if out of memory.
 * Freed by swath_tile_memo_free once no entry is held. */
swath_tile_memo *swath_tile_memo_new(size_t budget);
void swath_tile_memo_free(swath_tile_memo *m);

/* The entry for `path` as `st` describes it, referenced: release it with
 * swath_tile_memo_release. *hit = 1: it holds the decoded tile
 * (swath_tile_memo_tile). *hit = 0: the caller has claimed it and must
 * decode the file and hand the result to swath_tile_memo_done (which also
 * releases the claim's reference); other threads asking meanwhile wait.
 * NULL (*hit 0) only when out of memory: decode without the memo. */
swath_tile_memo_entry *swath_tile_memo_get(swath_tile_memo *m, const char *path,
                                           const struct stat *st, int *hit);

/* End a claim: `t` decoded (its planes are taken: the entry or, when it
 * cannot be kept within the budget, nobody holds them once released), or
 * NULL when the decode failed (the entry is dropped; waiting threads claim
 * it in turn). `keep` 0 drops it even when decoded (the file changed during
 * the decode). The entry stays referenced by the caller, who reads the
 * tile from it (when t was given) and then releases it. */
void swath_tile_memo_done(swath_tile_memo *m, swath_tile_memo_entry *e, swath_decoded_tile *t,
                          int keep);

/* The decoded tile of an entry that was a hit or finished by _done with a
 * tile. Valid until the entry is released. */
const swath_decoded_tile *swath_tile_memo_tile(const swath_tile_memo_entry *e);

void swath_tile_memo_release(swath_tile_memo *m, swath_tile_memo_entry *e);

void swath_tile_memo_stats_get(swath_tile_memo *m, swath_tile_memo_stats *out);

#endif

/* store_cover.h: the covered flags of a mark (store.h) as the bits the
 * stores keep, shared by store_sqlite.c and store_pg.c so both read each
 * other's layout: one bit per tile for "made", then, only if some tile is
 * SWATH_COVERED_PARTIAL, as many bits again for those (no bits at all:
 * every tile SWATH_COVERED; older stores have the first half only:
 * nothing partial). */
#ifndef SWATH_ENGINE_STORE_COVER_H
#define SWATH_ENGINE_STORE_COVER_H

/* n flags to bits (*len bytes, the caller frees them); NULL if out of
 * memory. */
unsigned char *swath__cover_pack(const unsigned char *flags, int n, int *len);
/* len bytes of bits (NULL: all made) to n flags. */
void swath__cover_unpack(const unsigned char *bits, int len, unsigned char *flags, int n);

#endif

/* store_cover.c: see store_cover.h. */
#include "engine/store_cover.h"

#include <stdlib.h>

#include "engine/store.h"

unsigned char *swath__cover_pack(const unsigned char *flags, int n, int *len) {
  int half = (n + 7) / 8, partial = 0;
  for (int i = 0; i < n; i++)
    partial |= flags[i] == SWATH_COVERED_PARTIAL;
  *len = partial ? 2 * half : half;
  unsigned char *b = calloc((size_t)*len + 1, 1);
  for (int i = 0; b && i < n; i++) {
    if (flags[i]) b[i >> 3] |= (unsigned char)(1u << (i & 7));
    if (flags[i] == SWATH_COVERED_PARTIAL) b[half + (i >> 3)] |= (unsigned char)(1u << (i & 7));
  }
  return b;
}

void swath__cover_unpack(const unsigned char *bits, int len, unsigned char *flags, int n) {
  int half = (n + 7) / 8;
  for (int i = 0; i < n; i++) {
    int made = !bits || (i >> 3 < len && (bits[i >> 3] >> (i & 7) & 1));
    int partial = bits && half + (i >> 3) < len && (bits[half + (i >> 3)] >> (i & 7) & 1);
    flags[i] = !made ? 0 : partial ? SWATH_COVERED_PARTIAL : SWATH_COVERED;
  }
}

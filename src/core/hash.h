/* hash.h: FNV-1a, 64 bit: the project's one byte/string hash (cache folder
 * names, job keys, capability file names, in-memory hash tables). A stable
 * fingerprint, not a security measure. Its values are part of on-disk
 * formats (cache folders, stored job keys): never change the function. */
#ifndef SWATH_CORE_HASH_H
#define SWATH_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SWATH_FNV_OFFSET 0xcbf29ce484222325ULL

/* Continue hash `h` over n bytes (start with SWATH_FNV_OFFSET). */
static inline uint64_t swath_fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
  return h;
}

/* The hash of a NUL-terminated string (the NUL excluded). */
static inline uint64_t swath_fnv1a_str(const char *s) {
  return swath_fnv1a(SWATH_FNV_OFFSET, s, strlen(s));
}

#endif

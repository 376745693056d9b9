/* bandmath_int.h: what bandmath.c shares with bandmath_check.cpp (and the
 * expression fuzz target); nothing else includes it. */
#ifndef SWATH_PROCESS_BANDMATH_INT_H
#define SWATH_PROCESS_BANDMATH_INT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Characters of variable names: <input>.b<N> has a dot. */
#define SWATH__BANDMATH_NAME_CHARS                                                                 \
  "0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ."

/* Compile `expr` against the variables `vars` (nvars of them) and evaluate
 * it once. 0: valid. 1: invalid, with muParser's reason in msg (at most cap
 * bytes; a long token it quotes is shortened) and the 0-based position of
 * the error in *pos (-1 when muParser gives none). Negative: out of memory
 * or an unexpected failure, also described in msg. Thread-safe. */
int swath__bandmath_check(const char *expr, const char *const *vars, int nvars, char *msg,
                          size_t cap, int *pos);

#ifdef __cplusplus
}
#endif

#endif

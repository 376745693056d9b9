/* png_check.h: prove that a PNG body decodes, without decoding its pixels.
 *
 * The fetcher must not cache a tile that a decoder would refuse. Decoding a
 * PNG through GDAL and libpng to find out costs zlib's inflate, its Adler-32,
 * row unfiltering and GDAL's per-dataset set-up: on loopback that was most of
 * `swath prefetch`'s CPU. Everything a PNG decoder can fail on is in the
 * container and the zlib stream, so this check walks the chunks (signature,
 * IHDR first and valid, PLTE before IDAT for palette images, consecutive
 * IDATs, IEND, no unknown critical chunk, every chunk's CRC-32), inflates the
 * concatenated IDAT data with libdeflate (which verifies the Adler-32) into a
 * buffer of exactly the size IHDR implies (Adam7 passes included), and checks
 * each row's filter byte. Unfiltering cannot fail, so it is skipped.
 *
 * The answer is one-sided: 1 means "proven good"; 0 means "not proven", and
 * the caller decodes the body the slow way for the verdict and its message.
 * So nothing a decoder accepts is refused here (extra data after the image,
 * a bad CRC on an ancillary chunk, an image over 256 MB raw go to GDAL), and
 * nothing it refuses is accepted.
 */
#ifndef SWATH_IO_PNG_CHECK_H
#define SWATH_IO_PNG_CHECK_H

#include <stddef.h>

/* 1 if `body` is a complete, decodable PNG of expect_w x expect_h pixels (a
 * zero expectation accepts any), 0 otherwise. Sets no error. Thread-safe. */
int swath__png_check(const void *body, size_t len, int expect_w, int expect_h);

#endif

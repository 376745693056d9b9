/* png_encode.c: swath's PNG encoder (src/io/png_write.c) against GDAL's PNG
 * driver, side by side on the same tiles: 256x256 RGBA tiles cut from a
 * raster (its first three bands, alpha 255), each encoded by both, by
 * default each at its own default deflate level (GDAL 6, swath 6), in five
 * alternating passes. Prints the median pass's ms per tile, total bytes and
 * the ratios, and checks that GDAL decodes every swath tile to the pixels
 * given.
 *
 *   png_encode RASTER [TILES [GDAL_LEVEL [SWATH_LEVEL]]]   (300, 6, 6)
 *
 * Built and run by bench/png.sh. */
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/png_write.h"
#include "io/warp.h"

#define T 256
#define REPS 5

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v) {
  qsort(v, REPS, sizeof *v, cmp_double);
  return v[REPS / 2];
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: png_encode RASTER [TILES [GDAL_LEVEL [SWATH_LEVEL]]]\n");
    return 2;
  }
  int ntiles = argc > 2 ? atoi(argv[2]) : 300, level = argc > 3 ? atoi(argv[3]) : 6;
  int slevel = argc > 4 ? atoi(argv[4]) : SWATH_PNG_DEFAULT_LEVEL;
  GDALAllRegister();
  GDALDatasetH src = GDALOpen(argv[1], GA_ReadOnly);
  if (!src || GDALGetRasterCount(src) < 3) {
    fprintf(stderr, "png_encode: '%s' is not a raster with 3 bands\n", argv[1]);
    return 2;
  }
  int cols = GDALGetRasterXSize(src) / T, rows = GDALGetRasterYSize(src) / T;
  if (ntiles <= 0 || ntiles > cols * rows) ntiles = cols * rows;
  size_t plane = (size_t)T * T;
  unsigned char *px = malloc((size_t)ntiles * 4 * plane);
  /* tiles spread over the raster, row-major with a stride */
  int stride = cols * rows / ntiles;
  for (int i = 0; i < ntiles; i++) {
    int k = i * stride, tx = k % cols, ty = k / cols;
    unsigned char *t = px + (size_t)i * 4 * plane;
    int bands[3] = {1, 2, 3};
    if (GDALDatasetRasterIO(src, GF_Read, tx * T, ty * T, T, T, t, T, T, GDT_Byte, 3, bands, 0, 0,
                            0) != CE_None)
      return 1;
    memset(t + 3 * plane, 255, plane);
  }
  GDALClose(src);

  /* The two encoders alternate, REPS passes each, and the median pass of
   * each counts: on a shared machine one pass of either can be a third off. */
  GDALDriverH png = GDALGetDriverByName("PNG");
  char opt[32];
  snprintf(opt, sizeof opt, "ZLEVEL=%d", level);
  char *opts[] = {opt, NULL};
  size_t gdal_bytes = 0, swath_bytes = 0;
  unsigned char **enc = calloc((size_t)ntiles, sizeof *enc);
  size_t *len = calloc((size_t)ntiles, sizeof *len);
  double gdal_pass[REPS], swath_pass[REPS];
  for (int rep = 0; rep < REPS; rep++) {
    /* GDAL's driver: CreateCopy of a MEM dataset over the tile into /vsimem/ */
    gdal_bytes = 0;
    double t0 = now_ms();
    for (int i = 0; i < ntiles; i++) {
      GDALDatasetH m = swath__mem_dataset(T, T, SWATH_DT_BYTE, px + (size_t)i * 4 * plane, 4, NULL);
      GDALSetRasterColorInterpretation(GDALGetRasterBand(m, 4), GCI_AlphaBand);
      GDALDatasetH out = GDALCreateCopy(png, "/vsimem/png_encode.png", m, FALSE, opts, NULL, NULL);
      GDALClose(out);
      GDALClose(m);
      vsi_l_offset n = 0;
      VSIGetMemFileBuffer("/vsimem/png_encode.png", &n, FALSE);
      gdal_bytes += (size_t)n;
      VSIUnlink("/vsimem/png_encode.png");
      VSIUnlink("/vsimem/png_encode.png.aux.xml");
    }
    gdal_pass[rep] = now_ms() - t0;

    swath_bytes = 0;
    t0 = now_ms();
    for (int i = 0; i < ntiles; i++) {
      const unsigned char *planes[4];
      for (int b = 0; b < 4; b++)
        planes[b] = px + ((size_t)i * 4 + b) * plane;
      free(enc[i]);
      if (swath_png_encode(T, T, 4, planes, slevel, &enc[i], &len[i])) return 1;
      swath_bytes += len[i];
    }
    swath_pass[rep] = now_ms() - t0;
  }
  double gdal_ms = median(gdal_pass), swath_ms = median(swath_pass);

  /* every swath tile decodes to its pixels */
  unsigned char *back = malloc(4 * plane);
  for (int i = 0; i < ntiles; i++) {
    VSILFILE *fp = VSIFileFromMemBuffer("/vsimem/png_check.png", enc[i], len[i], FALSE);
    VSIFCloseL(fp);
    GDALDatasetH d = GDALOpen("/vsimem/png_check.png", GA_ReadOnly);
    int ok = d &&
             GDALDatasetRasterIO(d, GF_Read, 0, 0, T, T, back, T, T, GDT_Byte, 4, NULL, 0, 0, 0) ==
                 CE_None &&
             memcmp(back, px + (size_t)i * 4 * plane, 4 * plane) == 0;
    if (d) GDALClose(d);
    VSIUnlink("/vsimem/png_check.png");
    if (!ok) {
      fprintf(stderr, "png_encode: tile %d does not decode to its pixels\n", i);
      return 1;
    }
    free(enc[i]);
  }
  printf("%d tiles of 256x256 RGBA, median of %d alternating passes\n", ntiles, REPS);
  printf("%-14s %6s %10s %12s\n", "encoder", "level", "ms/tile", "bytes");
  printf("%-14s %6d %10.3f %12zu\n", "GDAL PNG", level, gdal_ms / ntiles, gdal_bytes);
  printf("%-14s %6d %10.3f %12zu\n", "swath", slevel, swath_ms / ntiles, swath_bytes);
  printf("speed ratio (GDAL time / swath time): %.2f; size ratio (swath / GDAL): %.3f\n",
         gdal_ms / swath_ms, (double)swath_bytes / (double)gdal_bytes);
  free(back);
  free(enc);
  free(len);
  free(px);
  GDALDestroyDriverManager();
  return 0;
}

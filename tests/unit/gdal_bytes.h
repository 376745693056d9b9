/* gdal_bytes.h: the bytes a GDAL driver writes for a dataset, for unit tests
 * that need real encoded images (PNG, JPEG, WEBP, GTiff). Include after
 * cmocka.h and gdal.h. */
#ifndef SWATH_TEST_GDAL_BYTES_H
#define SWATH_TEST_GDAL_BYTES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>

/* `src` encoded by `driver` (through /vsimem/, left clean); caller frees. */
static unsigned char *gdal_bytes(const char *driver, GDALDatasetH src, size_t *len) {
  static int serial;
  char name[96], aux[112];
  snprintf(name, sizeof name, "/vsimem/test-gdal-bytes-%d-%s", serial++, driver);
  GDALDatasetH out = GDALCreateCopy(GDALGetDriverByName(driver), name, src, FALSE, NULL, NULL, NULL);
  assert_non_null(out);
  GDALClose(out);
  vsi_l_offset n = 0;
  GByte *data = VSIGetMemFileBuffer(name, &n, FALSE);
  assert_non_null(data);
  unsigned char *copy = malloc(n);
  memcpy(copy, data, n);
  VSIUnlink(name);
  snprintf(aux, sizeof aux, "%s.aux.xml", name);
  VSIUnlink(aux);
  *len = (size_t)n;
  return copy;
}

#endif

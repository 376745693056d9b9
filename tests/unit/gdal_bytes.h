/* gdal_bytes.h: GDAL for unit tests of encoded images (PNG, JPEG, WEBP,
 * GTiff): the bytes a driver writes for a dataset, a dataset opened back from
 * bytes, and the set-up that registers the drivers and keeps GDAL quiet.
 * Include after cmocka.h and gdal.h. */
#ifndef SWATH_TEST_GDAL_BYTES_H
#define SWATH_TEST_GDAL_BYTES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>
#include <cpl_vsi.h>

static inline int gdal_quiet_setup(void **state) {
  (void)state;
  GDALAllRegister();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  return 0;
}

static inline int gdal_quiet_teardown(void **state) {
  (void)state;
  CPLPopErrorHandler();
  GDALDestroyDriverManager();
  return 0;
}

/* `body` opened by GDAL's `driver` from a /vsimem/ file named into `name`
 * (NULL if it does not open); gdal_close_bytes() closes and removes it. */
static inline GDALDatasetH gdal_open_bytes(const unsigned char *body, size_t len, const char *driver,
                                    char name[64]) {
  static int serial;
  snprintf(name, 64, "/vsimem/test-gdal-open-%d", serial++);
  VSILFILE *fp = VSIFileFromMemBuffer(name, (GByte *)body, (vsi_l_offset)len, FALSE);
  assert_non_null(fp);
  VSIFCloseL(fp);
  const char *drivers[] = {driver, NULL};
  return GDALOpenEx(name, GDAL_OF_RASTER, drivers, NULL, NULL);
}

static inline void gdal_close_bytes(GDALDatasetH ds, const char *name) {
  if (ds) GDALClose(ds);
  VSIUnlink(name);
}

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

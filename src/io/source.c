/* source.c: the registry of source types, the one place that lists them. */
#include <stdlib.h>
#include <string.h>

#include "io/source.h"

static const swath_source_vtable *const g_sources[] = {&swath_source_gdal, &swath_source_xyz,
                                                       &swath_source_wmts, &swath_source_wms, NULL};

const swath_source_vtable *swath_source_find(const char *type) {
  for (int i = 0; g_sources[i]; i++)
    if (strcmp(g_sources[i]->name, type) == 0) return g_sources[i];
  return NULL;
}

const char *swath_source_types(void) { return "gdal, xyz, wmts, wms"; }

void swath_source_held_clear(swath_source_held *h) {
  if (!h) return;
  free(h->path);
  free(h->body);
  h->path = h->body = NULL;
}

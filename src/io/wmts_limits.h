/* wmts_limits.h: a WMTS layer's TileMatrixSetLimits, read into
 * swath__remote.limits (tiles outside them do not exist: reads treat them as
 * empty and never ask for them). See wmts_limits.c for the row order. */
#ifndef SWATH_IO_WMTS_LIMITS_H
#define SWATH_IO_WMTS_LIMITS_H

#include <cpl_minixml.h>

#include "io/remote.h"

/* Read the limits of `link` (the layer's TileMatrixSetLink to set `tms_id`,
 * whose matrices are already r->tms) into r->has_limits / r->limits.
 * `bbox` (may be NULL) is the layer's WGS84BoundingBox. No
 * TileMatrixSetLimits: nothing is limited. SWATH_EINVAL with one line for a
 * malformed one. */
int swath__wmts_limits(swath__remote *r, const CPLXMLNode *link, const char *tms_id,
                       const swath_bounds *bbox);

#endif

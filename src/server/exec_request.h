/* exec_request.h: an OGC API - Processes execute request turned into a
 * swath job, with the service's limits on what a posted job may touch.
 *
 * The body is {"inputs": {...}} (plus "outputs", "response" and
 * "subscriber", accepted and ignored); its inputs are the job file's keys
 * but `process` (name, params, inputs, grid, zoom, area, output, cache),
 * as JSON. The job's text is that object with `process` added and every
 * local path made absolute: input paths (inputs, area.file, a grid .json,
 * "path" parameters) against the first input root, output paths
 * (output.path, output.features, cache.path) against the outputs root.
 * A path is refused (SWATH_EINVAL, one line naming the key) if it has a
 * `..` segment, starts with `~`, is absolute outside its roots, leads
 * outside them through a symlink (realpath of its longest existing
 * prefix), or is not a plain path: `file://`, `vrt://`, `/vsi...`, any
 * other `scheme:` or GDAL `PREFIX:` form. Inputs may also be http(s)://
 * URLs. Nothing here reads a file's contents; only its path is resolved. */
#ifndef SWATH_SERVER_EXEC_REQUEST_H
#define SWATH_SERVER_EXEC_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "swath/plugin.h"

typedef struct swath_exec_roots {
  const char *const *inputs; /* input roots, resolved (realpath); may be empty */
  int ninputs;
  const char *outputs; /* the outputs root, resolved */
} swath_exec_roots;

/* The job text (malloc'd, the caller frees) for `process`, whose declared
 * parameters are `params` (for the "path" ones; may be NULL), from the
 * request body. SWATH_EINVAL with one line for a bad body or a refused
 * path. */
int swath_exec_request_job(const swath_exec_roots *roots, const char *process,
                           const swath_param *params, const char *body, size_t len, char **out);

#endif

/* job_path.h: path values of a job file (inputs, area.file, a plugin, a
 * grid file, cache.path, output.path) as the files they name.
 *
 * A path relative to the job file's folder is taken from there, whatever the
 * current directory; `~` and `~/...` are $HOME as in a shell (`~user` is
 * refused); an empty path is refused. For the keys GDAL opens (inputs,
 * area.file) a value GDAL names itself is left as written: a URL
 * (`scheme://...`), `/vsi...`, or `PREFIX:...` where PREFIX is a GDAL
 * driver's name, a driver's published connection prefix (`PG:`, `WFS:`) or
 * an upper-case subdataset form of a driver's name (`GTIFF_DIR:`,
 * `NITF_IM:`, `HDF4_SDS:`). Anything else holding ':' is a file name. */
#ifndef SWATH_ENGINE_JOB_PATH_H
#define SWATH_ENGINE_JOB_PATH_H

#include "core/config.h"

/* 1 if GDAL names `p` itself (see above); registers GDAL's drivers if none are. */
int swath_is_gdal_name(const char *p);
/* A local path: `dir` is the job file's folder, `at` the value's node for
 * the error's line (or NULL), `what` the key in messages. *out is malloc'd. */
int swath_job_path(const char *dir, const char *p, const swath_cfg *at, const char *what,
                   char **out);
/* The same for a value GDAL opens: GDAL's own names pass as written. */
int swath_job_gdal_path(const char *dir, const char *p, const swath_cfg *at, const char *what,
                        char **out);

#endif

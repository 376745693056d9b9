/* product.h: what an output folder holds across runs.
 *
 * A folder holds one product: the tiles of one job key (a hash of what
 * changes pixels), made by any number of runs of that job over any zooms
 * and areas. The state store records its tasks and its runs. A run of
 * another job into the folder is refused (SWATH_EINVAL, one line) unless
 * --overwrite, which deletes the old product first; so a folder never mixes
 * two jobs' tiles. The metadata (tilejson.json, stac.json, job.yaml)
 * describe the whole product: every tile on disk, every run. */
#ifndef SWATH_ENGINE_PRODUCT_H
#define SWATH_ENGINE_PRODUCT_H

#include "engine/job.h"
#include "engine/store.h"
#include "io/sink.h"

/* Make the folder this job's. `same` and `done` are what the store's open()
 * said. If the folder holds another job's tiles (another job key with
 * finished tasks, or tiles without state), refuse unless `overwrite`, which
 * deletes them first; then the store adopts the job key. *redo is set when
 * --overwrite is to redo this job's own finished tasks. */
int swath_product_claim(const swath_job *job, const swath_store_vtable *store, void *store_state,
                        int same, int64_t done, const swath_sink_vtable *sink, void *sink_state,
                        int overwrite, int *redo);

/* Record this run (its zooms and its area, `area_bounds` in the grid CRS). */
int swath_product_add_run(const swath_job *job, const swath_store_vtable *store, void *store_state,
                          swath_bounds area_bounds);
/* Record the run alone, without the guess for a product made before runs
 * were recorded (a queued job's output starts empty: swath submit). */
int swath_product_record_run(const swath_job *job, const swath_store_vtable *store,
                             void *store_state, swath_bounds area_bounds);

/* The product's extent: zooms that have tiles, tile limits per zoom (the
 * tasks recorded finished, clipped to the grid), bounds (the runs' areas,
 * within the tiles). Falls back to the job's zooms and `area_bounds` when
 * nothing is recorded. Its lon/lat extent is `run_lonlat` (this run's area,
 * split at the antimeridian) when the product is this run's area, else the
 * box of the runs' areas with the center kept on this run's area. */
int swath_product_extent(const swath_job *job, const swath_store_vtable *store, void *store_state,
                         swath_bounds area_bounds, const swath_lonlat_extent *run_lonlat,
                         swath_sink_extent *e);

/* job.yaml: the job as run, after comment lines that list the runs of the
 * product (malloc'd; the caller frees). */
int swath_product_job_yaml(const swath_job *job, const swath_store_vtable *store, void *store_state,
                           char **out);

#endif

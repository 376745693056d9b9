/* submit.c: swath_submit (submit.h), the one way a job enters the queue.
 *
 * Nothing is written to the queue before every check has passed; the
 * tasks are streamed from the area (engine/cells.h), so the memory used
 * does not depend on the job's size. */
#include "engine/submit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/cells.h"
#include "engine/run_task.h"

int swath_submit(swath_queue *q, const char *conninfo, const swath_job *job,
                 const swath_submit_opts *o, swath_submit_result *res) {
  memset(res, 0, sizeof *res);
  swath_task_runner *tr = NULL;
  char *yaml = NULL, key[17], path[PATH_MAX];
  swath_cells cells = {0};
  int r = swath_task_runner_check(job, o->yes, &tr);
  if (!r) r = swath_task_runner_check_output(tr, o->overwrite);
  if (!r && o->path)
    snprintf(path, sizeof path, "%s", o->path);
  else if (!r && !realpath(job->path, path))
    r = swath_error_set(SWATH_EINVAL, "%s: cannot resolve its path", job->path);
  int overviews = tr ? swath_task_runner_overviews(tr) : 0, cz = 0;
  const swath_area *area = tr ? swath_task_runner_area(tr) : NULL;
  if (!r)
    r = swath_cells_zoom(&job->grid, area, job->min_zoom, job->max_zoom, job->metatiling, overviews,
                         o->cell_zoom, &cz);
  if (!r) r = swath_job_yaml(job, NULL, &yaml);
  if (!r)
    r = swath_cells_start(&cells, &job->grid, area, job->min_zoom, job->max_zoom, job->metatiling,
                          overviews, cz);
  swath_queue *own = NULL;
  if (!r && !q && !(r = swath_queue_open(conninfo, &own))) q = own;
  if (!r) {
    swath_job_key(job, key);
    swath_qjob_spec spec = {.key = key,
                            .yaml = yaml,
                            .path = path,
                            .output = job->out_path,
                            .min_zoom = job->min_zoom,
                            .max_zoom = job->max_zoom,
                            .cell_zoom = cz,
                            .overviews = overviews,
                            .max_attempts = o->max_attempts};
    r = swath_queue_submit(q, &spec, swath_cells_next, &cells, &res->id, &res->ntasks);
  }
  if (!r) {
    res->cell_zoom = cz;
    res->overviews = overviews;
  }
  swath_cells_free(&cells);
  swath_queue_close(own);
  free(yaml);
  swath_task_runner_close(tr);
  return r;
}

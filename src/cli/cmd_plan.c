/* cmd_plan.c: `swath plan job.yaml [--zoom] [--bounds] [--workers N]
 * [--cell-zoom Z] [--json]`: what a run or a submit of the job would do, with
 * every check a run makes and nothing written: tasks and tiles per zoom,
 * the cells a submit would queue, and a worker's estimated peak memory
 * (engine/job_memory.h). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/area.h"
#include "core/error.h"
#include "engine/cells.h"
#include "engine/job.h"
#include "engine/job_memory.h"
#include "engine/run_task.h"

typedef struct plan_opts {
  long workers, cell_zoom;
  int json;
} plan_opts;

static void usage(FILE *f) {
  fprintf(f, "usage: swath plan JOB.yaml [options]\n"
             "  --zoom Z|Z1-Z2         zooms (overrides the job's)\n"
             "  --bounds W,S,E,N       area in lon/lat (overrides the job's)\n"
             "  --workers N            compute threads of the worker to size (default: cores)\n"
             "  --cell-zoom Z          zoom of the cells (default: as swath submit chooses)\n"
             "  --json                 the same as JSON\n"
             "Checks the job as `swath run --check` does and writes nothing.\n");
}

static int plan_option(void *ud, int c, const char *arg) {
  plan_opts *o = ud;
  switch (c) {
  case 'w':
    return swath_cli_long(arg, "--workers", 1, 1024, &o->workers);
  case 'C':
    return swath_cli_long(arg, "--cell-zoom", 0, SWATH_GRID_MAX_ZOOMS - 1, &o->cell_zoom);
  case 'J':
    o->json = 1;
    return 0;
  }
  return 0;
}

/* Tasks and tiles per zoom, and the queue's cells, into `out`. */
static int plan_json(const swath_job *job, swath_task_runner *tr, const plan_opts *o, json_t *out) {
  const swath_area *area = swath_task_runner_area(tr);
  int ov = swath_task_runner_overviews(tr), cz;
  int r = swath_cells_zoom(&job->grid, area, job->min_zoom, job->max_zoom, job->metatiling, ov,
                           (int)o->cell_zoom, &cz);
  if (r) return r;
  json_t *zooms = json_array();
  json_int_t tasks = 0, tiles = 0, cells = 0, above = 0;
  for (int z = job->min_zoom; z <= job->max_zoom; z++) {
    int64_t mt = swath_area_count_tiles(&job->grid, area, z, job->metatiling);
    int64_t t = swath_area_count_tiles(&job->grid, area, z, 1);
    if (mt < 0) return (int)mt;
    if (t < 0) return (int)t;
    tasks += mt, tiles += t;
    if (ov && z == cz) cells = mt;
    if (!ov || z < cz) above += mt;
    json_array_append_new(zooms, json_pack("{si sI sI ss}", "zoom", z, "metatiles", (json_int_t)mt,
                                           "tiles", (json_int_t)t, "from",
                                           ov && z < job->max_zoom ? "children" : "inputs"));
  }
  json_object_set_new(out, "job", json_string(job->path));
  json_object_set_new(out, "metatiling", json_integer(job->metatiling));
  json_object_set_new(out, "overviews", json_boolean(ov));
  json_object_set_new(out, "zooms", zooms);
  json_object_set_new(out, "metatiles", json_integer(tasks));
  json_object_set_new(out, "tiles", json_integer(tiles));
  json_object_set_new(out, "queue",
                      json_pack("{s:o s:I s:I s:I}", "cell_zoom",
                                ov ? json_integer(cz) : json_null(), "cells", cells, "tile_tasks",
                                above, "tasks", cells + above + 1 /* FINISH */));
  swath_job_memory mem;
  r = swath_job_memory_estimate(job, tr, (int)o->workers, cz, &mem);
  if (r) return r;
  json_object_set_new(out, "memory", swath_job_memory_json(&mem));
  return 0;
}

static void print_plan(const json_t *p) {
  printf("%s: metatiling %lld, %s\n", json_string_value(json_object_get(p, "job")),
         (long long)json_integer_value(json_object_get(p, "metatiling")),
         json_is_true(json_object_get(p, "overviews")) ? "overviews built from the top zoom"
                                                       : "every zoom from the inputs");
  printf("%6s %12s %14s  %s\n", "zoom", "metatiles", "tiles", "from");
  size_t i;
  json_t *z;
  json_array_foreach(json_object_get(p, "zooms"), i, z) {
    printf("%6lld %12lld %14lld  %s\n", (long long)json_integer_value(json_object_get(z, "zoom")),
           (long long)json_integer_value(json_object_get(z, "metatiles")),
           (long long)json_integer_value(json_object_get(z, "tiles")),
           json_string_value(json_object_get(z, "from")));
  }
  printf("%6s %12lld %14lld\n", "all",
         (long long)json_integer_value(json_object_get(p, "metatiles")),
         (long long)json_integer_value(json_object_get(p, "tiles")));
  const json_t *q = json_object_get(p, "queue");
  const json_t *cz = json_object_get(q, "cell_zoom");
  if (json_is_integer(cz))
    printf("queue (swath submit): %lld cells at zoom %lld, %lld overview tasks above them, "
           "%lld tasks with the finish task\n",
           (long long)json_integer_value(json_object_get(q, "cells")),
           (long long)json_integer_value(cz),
           (long long)json_integer_value(json_object_get(q, "tile_tasks")),
           (long long)json_integer_value(json_object_get(q, "tasks")));
  else
    printf("queue (swath submit): %lld tasks (one per metatile) with the finish task\n",
           (long long)json_integer_value(json_object_get(q, "tasks")));
  swath_job_memory_print(stdout, json_object_get(p, "memory"));
}

int swath_cmd_plan(int argc, char **argv) {
  static const struct option options[] = {{"workers", required_argument, 0, 'w'},
                                          {"cell-zoom", required_argument, 0, 'C'},
                                          {"json", no_argument, 0, 'J'},
                                          {0, 0, 0, 0}};
  plan_opts o = {.workers = 0, .cell_zoom = -1};
  swath_job_cmd cmd = {
      .name = "plan", .usage = usage, .options = options, .option = plan_option, .ud = &o};
  swath_job *job;
  int st = swath_cli_job_args(&cmd, argc, argv, &job);
  if (st >= 0) return st;
  swath_task_runner *tr = NULL;
  int r = swath_task_runner_check(job, 1 /* a plan only shows the size */, &tr);
  json_t *p = json_object();
  if (!r) r = p ? plan_json(job, tr, &o, p) : swath_error_set(SWATH_ENOMEM, "out of memory");
  if (!r && o.json) {
    char *s = json_dumps(p, JSON_INDENT(2));
    if (s) printf("%s\n", s);
    free(s);
  } else if (!r) {
    print_plan(p);
  }
  json_decref(p);
  swath_task_runner_close(tr);
  swath_job_free(job);
  return swath_cli_status(r);
}

/* job_memory.c: a worker's peak memory for a job (job_memory.h).
 *
 * The base is measured (the resident set once the job is set up: GDAL and
 * its drivers, the inputs probed, the process and one model instance
 * loaded); the rest is counted from the buffers the engine allocates,
 * times factors that bench/memory.sh checks against measured peaks:
 *   - a compute thread holds each input's block (the metatile and its pixel
 *     buffer, in the type the process asks for, plus a mask byte) and what
 *     the source needed to make it (a read or warp buffer of the same size:
 *     READ_COPIES), the process's output block and the metatile cut from
 *     it, and one tile being encoded;
 *   - overview nodes: the plan keeps about one half-built parent metatile
 *     per zoom level under the task's root;
 *   - GDAL's block cache holds the local inputs' blocks under the tasks
 *     being computed: a worker opens its input handles per task and a
 *     closed handle drops its blocks, so the cache holds about one block
 *     window per thread at the input's own resolution (at most
 *     GDAL_CACHEMAX, 128 MB unless set), not the whole input;
 *   - remote inputs: the fetcher's transfers in flight and decoded tiles;
 *   - a vector process's worker reads its next task's blocks ahead. */
#include "engine/job_memory.h"

#include <cpl_conv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "engine/run_int.h"

#define READ_COPIES 2
#define FETCH_BYTES ((int64_t)4 << 20) /* per remote input: transfers' buffers, a decoded tile */
#define MIB (1024.0 * 1024.0)

/* The resident set now, from /proc (0 where there is none). */
static int64_t rss_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

static int64_t gdal_cache_max(void) {
  const char *v = CPLGetConfigOption("GDAL_CACHEMAX", "128");
  int64_t n = strtoll(v, NULL, 10);
  return n < 100000 ? n << 20 : n; /* GDAL: MB below 100000, bytes above */
}

int swath_job_memory_estimate(const swath_job *job, swath_task_runner *tr, int workers,
                              int cell_zoom, swath_job_memory *out) {
  memset(out, 0, sizeof *out);
  run_ctx *rc = swath__task_runner_ctx(tr);
  if (workers <= 0) workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (workers < 1) workers = 1;
  out->workers = workers;
  out->base = rss_now();
  const swath_tile_matrix *tm = &rc->g->m[job->max_zoom];
  int64_t mw = (int64_t)rc->m * tm->tile_width, mh = (int64_t)rc->m * tm->tile_height;
  int64_t bw = mw + 2 * rc->buffer, bh = mh + 2 * rc->buffer, block = bw * bh;
  int64_t in = 0, local = 0, nremote = 0;
  double cell = rc->g->m[job->max_zoom].cell_size;
  for (int i = 0; i < job->ninputs; i++) {
    const swath_source_info *si = &rc->src_info[i];
    swath_dtype dt = rc->info.in_dtype != SWATH_DT_UNKNOWN ? rc->info.in_dtype : si->dtype;
    in += block * ((int64_t)si->bands * (int64_t)swath_dtype_size(dt) + 1) * READ_COPIES;
    if (rc->fetchers[i] || rc->offline[i]) {
      nremote++;
    } else if (si->native_res > 0) {
      /* The input's pixels under one block, at its own resolution. */
      double scale = cell / si->native_res;
      local += (int64_t)((double)block * scale * scale) * si->bands *
               (int64_t)swath_dtype_size(si->dtype);
    }
  }
  int64_t out_px = (int64_t)rc->info.out_bands * (int64_t)swath_dtype_size(rc->info.out_dtype) + 1;
  int64_t tile = (int64_t)tm->tile_width * tm->tile_height * out_px * 2;
  out->per_thread = rc->info.features ? in + block : in + block * out_px + mw * mh * out_px + tile;
  /* A vector process's worker holds the next task's blocks too, read
   * while the process runs (run_ahead.c). */
  if (rc->info.features && rc->read_ahead) out->per_thread += in / READ_COPIES;
  if (rc->overviews) {
    int levels = job->max_zoom - (cell_zoom > job->min_zoom ? cell_zoom : job->min_zoom);
    out->overviews = (int64_t)levels * mw * mh * out_px;
  }
  int64_t cmax = gdal_cache_max();
  out->gdal_cache = local * workers < cmax ? local * workers : cmax;
  out->fetch = nremote * FETCH_BYTES;
  out->total = out->base + workers * out->per_thread + out->overviews + out->gdal_cache +
               out->fetch + out->model;
  return 0;
}

json_t *swath_job_memory_json(const swath_job_memory *m) {
  return json_pack("{si sI sI sI sI sI sI sI si}", "workers", m->workers, "base", m->base,
                   "per_thread", m->per_thread, "overviews", m->overviews, "gdal_cache",
                   m->gdal_cache, "fetch", m->fetch, "model", m->model, "total", m->total,
                   "total_mib", (int)((double)m->total / MIB + 0.999));
}

static double mib(const json_t *m, const char *k) {
  return (double)json_integer_value(json_object_get(m, k)) / MIB;
}

void swath_job_memory_print(FILE *f, const json_t *m) {
  fprintf(f,
          "peak memory of a worker with %lld threads: about %.0f MiB (set up %.0f, %.0f per "
          "thread, overviews %.0f, GDAL cache %.0f, downloads %.0f, more model instances %.0f)\n",
          (long long)json_integer_value(json_object_get(m, "workers")), mib(m, "total"),
          mib(m, "base"), mib(m, "per_thread"), mib(m, "overviews"), mib(m, "gdal_cache"),
          mib(m, "fetch"), mib(m, "model"));
}

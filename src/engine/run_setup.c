/* run_setup.c: what swath_run and swath_prefetch share before and after
 * their threads run. Every check on user input happens here, in the main
 * thread, before any tile is written: inputs opened once (checking opens
 * write nothing), the area built and clipped, the size of a remote job
 * without area checked, the process initialised, the output checked. */
#include "engine/run_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/secret.h"
#include "engine/job_size.h"
#include "engine/product.h"

int swath__mkdir_p(const char *path) {
  char tmp[4400];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    *p = '/';
  }
  return (mkdir(tmp, 0777) && errno != EEXIST) ? -1 : 0;
}

void swath__run_ctx_init(run_ctx *rc, const swath_job *job) {
  memset(rc, 0, sizeof *rc);
  rc->job = job;
  rc->g = &job->grid;
  rc->m = job->metatiling;
  pthread_mutex_init(&rc->lock, NULL);
  pthread_cond_init(&rc->cond, NULL);
}

int swath__state_dir(const swath_job *job, char *buf, size_t n) {
  snprintf(buf, n, "%s/%s", job->out_path, SWATH_STATE_DIR);
  if (swath__mkdir_p(buf))
    return swath_error_set(SWATH_EINVAL, "output: cannot create '%s': %s", buf, strerror(errno));
  return 0;
}

/* Open inputs once to learn what they are; fill descs and the footprint. */
static int probe_inputs(run_ctx *rc, swath_bounds *fp) {
  const swath_job *job = rc->job;
  rc->descs = calloc((size_t)job->ninputs, sizeof *rc->descs);
  rc->src_info = calloc((size_t)job->ninputs, sizeof *rc->src_info);
  rc->specs = calloc((size_t)job->ninputs, sizeof *rc->specs);
  rc->src_vt = calloc((size_t)job->ninputs, sizeof *rc->src_vt);
  rc->fetchers = calloc((size_t)job->ninputs, sizeof *rc->fetchers);
  rc->offline = calloc((size_t)job->ninputs, sizeof *rc->offline);
  rc->held = calloc((size_t)job->ninputs, sizeof *rc->held);
  rc->memos = calloc((size_t)job->ninputs, sizeof *rc->memos);
  if (!rc->descs || !rc->src_info || !rc->specs || !rc->src_vt || !rc->fetchers || !rc->offline ||
      !rc->held || !rc->memos)
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  for (int i = 0; i < job->ninputs; i++) {
    const swath_job_input *in = &job->inputs[i];
    rc->specs[i] = (swath_source_spec){in->name, in->type, in->uri,      in->cfg, job->cache_dir,
                                       NULL,     0,        &rc->held[i], NULL};
    rc->src_vt[i] = swath_source_find(in->type);
    /* One fetcher per remote input, shared by every thread's handle. */
    int r = swath_source_fetcher_new(&rc->specs[i], &rc->fetchers[i]);
    if (r) return r;
    rc->specs[i].fetcher = rc->fetchers[i];
    rc->offline[i] = (unsigned char)swath_source_offline(&rc->specs[i]);
    int remote = rc->fetchers[i] != NULL || rc->offline[i];
    rc->nremote += remote;
    /* The decoded tiles every worker's handle of this input shares. */
    if (remote && rc->memo_budget > 0) {
      if (!(rc->memos[i] = swath_tile_memo_new(rc->memo_budget)))
        return swath_error_set(SWATH_ENOMEM, "out of memory");
      rc->specs[i].memo = rc->memos[i];
    }
  }
  for (int i = 0; i < job->ninputs; i++) {
    const swath_source_vtable *vt = rc->src_vt[i];
    void *st;
    /* The first open checks that the service answers, and writes nothing:
     * no cache folder or document before every check has passed. */
    rc->specs[i].check = 1;
    int r = vt->open(&rc->specs[i], rc->g, &rc->src_info[i], &st);
    rc->specs[i].check = 0;
    if (r) return r;
    vt->close(st);
    swath_source_info *si = &rc->src_info[i];
    rc->descs[i] = (swath_input_desc){job->inputs[i].name, si->bands, si->dtype};
    if (i == 0)
      *fp = si->footprint;
    else {
      fp->minx = si->footprint.minx < fp->minx ? si->footprint.minx : fp->minx;
      fp->miny = si->footprint.miny < fp->miny ? si->footprint.miny : fp->miny;
      fp->maxx = si->footprint.maxx > fp->maxx ? si->footprint.maxx : fp->maxx;
      fp->maxy = si->footprint.maxy > fp->maxy ? si->footprint.maxy : fp->maxy;
    }
  }
  return 0;
}

static int build_area(const swath_job *job, const swath_grid *g, swath_bounds fp,
                      swath_area **area) {
  int r;
  if (job->area_file)
    r = swath_area_from_file(g, job->area_file, area);
  else if (job->has_bounds)
    r = swath_area_from_bounds(g, job->bounds, job->bounds_crs, area);
  else
    r = swath_area_from_bounds(g, fp, g->crs, area);
  if (r) return r;
  r = swath_area_clip(*area, fp);
  if (r) {
    swath_area_free(*area);
    *area = NULL;
    return swath_error_set(
        SWATH_EINVAL, "area does not overlap the inputs (inputs cover %.6g,%.6g,%.6g,%.6g in %s)",
        fp.minx, fp.miny, fp.maxx, fp.maxy, g->crs);
  }
  return 0;
}

/* Release what swath__run_setup() and a run made (everything NULL-safe). */
void swath__run_ctx_free(run_ctx *rc, swath_area *area) {
  if (rc->store_state) rc->store->close(rc->store_state);
  if (rc->sink_state) rc->sink->close(rc->sink_state);
  if (rc->fstore_state) swath_features_ogr.close(rc->fstore_state);
  if (rc->proc_state && rc->proc.vt->destroy) rc->proc.vt->destroy(rc->proc_state);
  if (rc->proc.vt) swath_process_close(&rc->proc);
  swath_area_free(area);
  for (int i = 0; rc->fetchers && i < rc->job->ninputs; i++)
    swath_fetch_free(rc->fetchers[i]);
  free(rc->fetchers);
  free(rc->offline);
  for (int i = 0; rc->held && i < rc->job->ninputs; i++)
    swath_source_held_clear(&rc->held[i]);
  free(rc->held);
  /* (after the workers: their handles, which held entries, are closed) */
  for (int i = 0; rc->memos && i < rc->job->ninputs; i++)
    swath_tile_memo_free(rc->memos[i]);
  free(rc->memos);
  free(rc->descs);
  free(rc->src_info);
  free(rc->specs);
  free((void *)rc->src_vt);
  pthread_mutex_destroy(&rc->lock);
  pthread_cond_destroy(&rc->cond);
}

int swath__memo_budget(int nworkers, size_t *bytes) {
  *bytes = TILE_MEMO_PER_WORKER * (size_t)(nworkers > 0 ? nworkers : 1);
  const char *v = getenv("SWATH_TILE_MEMO_MB");
  if (!v || !*v) return 0;
  char *end;
  errno = 0;
  long long mb = strtoll(v, &end, 10);
  if (*end || errno || mb < 0 || mb > (1LL << 20) || end == v)
    return swath_error_set(SWATH_EINVAL,
                           "SWATH_TILE_MEMO_MB: '%s' is not a whole number of MB from 0 (no tile "
                           "memo) to 1048576",
                           v);
  *bytes = (size_t)mb << 20;
  return 0;
}

void swath__memo_totals(const run_ctx *rc, swath_run_stats *stats) {
  for (int i = 0; rc->memos && i < rc->job->ninputs; i++) {
    if (!rc->memos[i]) continue;
    swath_tile_memo_stats ms;
    swath_tile_memo_stats_get(rc->memos[i], &ms);
    stats->tile_decodes += ms.misses;
    stats->tile_memo_hits += ms.hits;
    stats->tile_memo_budget += rc->memo_budget;
    stats->tile_memo_peak += ms.peak;
  }
}

/* The first remote input's name (NULL if none), and whether only the top
 * zoom is computed from the inputs: what job_size.h asks. */
const char *swath__remote_input(const run_ctx *rc) {
  for (int i = 0; i < rc->job->ninputs; i++)
    if (rc->fetchers[i] || rc->offline[i]) return rc->job->inputs[i].name;
  return NULL;
}

int swath__top_zoom_only(const run_ctx *rc) {
  return rc->job->overviews &&
         swath_plan_grid_is_quadtree(rc->g, rc->job->min_zoom, rc->job->max_zoom);
}

/* What a run and a prefetch share: inputs probed (fetchers made), area,
 * the size of a remote job without area checked (`yes`: go ahead above
 * job_size.h's limit), process initialised (it decides the pixel buffer,
 * so the requests). */
int swath__run_setup(run_ctx *rc, swath_area **area, int yes) {
  const swath_job *job = rc->job;
  swath_bounds fp = {0, 0, 0, 0};
  int r;
  if ((r = probe_inputs(rc, &fp))) return r;
  if ((r = build_area(job, rc->g, fp, area))) return r;
  if ((r = swath_job_size_check(job, *area, swath__remote_input(rc), swath__top_zoom_only(rc),
                                yes)))
    return r;

  /* Process. */
  if ((r = swath_process_open(job->process, &rc->proc))) return r;
  rc->info = (swath_process_info){
      SWATH_DT_UNKNOWN, rc->descs[0].bands, rc->descs[0].dtype, 0, rc->src_info[0].categorical, 0};
  swath_error_clear();
  r = rc->proc.vt->init(swath_process_host(), job->params, rc->descs, job->ninputs, &rc->info,
                        &rc->proc_state);
  if (r) {
    if (!*swath_error_message())
      swath_error_set(SWATH_EINVAL, "process %s: init failed", rc->proc.vt->name);
    return r == SWATH_EIO ? SWATH_EIO : SWATH_EINVAL;
  }
  if (rc->info.features && job->min_zoom != job->max_zoom)
    return swath_error_set(SWATH_EINVAL,
                           "process %s finds features at one zoom (the resolution its model "
                           "was made for), not zooms %d-%d",
                           rc->proc.vt->name, job->min_zoom, job->max_zoom);
  rc->buffer =
      job->pixel_buffer > rc->info.pixel_buffer ? job->pixel_buffer : rc->info.pixel_buffer;
  rc->out_dtype = job->dtype ? job->dtype : rc->info.out_dtype;
  rc->sink_bands = rc->info.out_bands;
  rc->average = job->overview_resampling ? strcmp(job->overview_resampling, "average") == 0
                                         : !rc->info.categorical;
  return 0;
}

/* The last check before anything is written, once the inputs, area,
 * process and output (opened in check mode) have passed: tiles without
 * state are another job's (swath_product_claim says the same of tiles with
 * another job's state, which needs the store, made after this). */
static int check_output(run_ctx *rc, int overwrite) {
  const swath_job *job = rc->job;
  char path[4200];
  snprintf(path, sizeof path, "%s/%s/state.sqlite", job->out_path, SWATH_STATE_DIR);
  if (!overwrite && access(path, F_OK) != 0 && rc->sink->has_tiles(rc->sink_state))
    return swath_error_set(SWATH_EINVAL,
                           "output '%s' holds another job's tiles (they have no swath state): use "
                           "--overwrite to replace them, or another output path",
                           job->out_path);
  return 0;
}

int swath__open_output(run_ctx *rc, const swath_area *area, int overwrite, int *overviews,
                       swath_lonlat_extent *lonlat) {
  const swath_job *job = rc->job;
  /* Sink first: an unwritable output must fail before any state is created. */
  *overviews = job->overviews && !rc->info.features;
  if (*overviews && !swath_plan_grid_is_quadtree(rc->g, job->min_zoom, job->max_zoom)) {
    swath_warn("grid %s: zooms %d-%d do not halve, so every zoom is computed from the inputs",
               rc->g->name, job->min_zoom, job->max_zoom);
    *overviews = 0;
  }
  int r;
  if ((r = swath_area_lonlat_extent(rc->g, area, lonlat))) return r;
  /* The input's colour table still names the output's values when the
   * process kept the input's categorical flag and its single band. */
  const swath_source_info *in0 = &rc->src_info[0];
  int palette =
      rc->info.categorical && in0->palette_n > 0 && in0->bands == 1 && rc->sink_bands == 1;
  swath_sink_cfg sc = {
      .path = job->out_path,
      .format = job->format,
      .dtype = rc->out_dtype,
      .bands = rc->sink_bands,
      .alpha = strcmp(job->format, "JPEG") != 0 &&
               !(strcmp(job->format, "GTiff") == 0 && job->has_nodata),
      .has_nodata = job->has_nodata,
      .nodata = job->nodata,
      .compression = job->compression,
      .quality = job->quality,
      .grid = rc->g,
      .min_zoom = job->min_zoom,
      .max_zoom = job->max_zoom,
      .name = job->process,
      .lonlat = *lonlat,
      .bounds = swath_area_bounds(area),
      .palette = palette ? (const unsigned char(*)[4])in0->palette : NULL,
      .palette_n = palette ? in0->palette_n : 0,
      .link_empty = job->link_empty,
      .check = 1, /* nothing is made before every check has passed */
  };
  rc->sink_cfg = sc;
  if ((r = rc->sink->open(&sc, &rc->sink_state))) return r;
  if (rc->info.features) {
    swath_features_cfg fc = {.path = job->features, .crs = rc->g->crs, .check = 1};
    if ((r = swath_features_ogr.open(&fc, &rc->fstore_state))) return r;
  }
  return check_output(rc, overwrite);
}

/* A vector process's features store, opened for the run: another job's
 * features are refused, or deleted with --overwrite (like tiles). */
static int open_features(run_ctx *rc, int overwrite, int same, const char *key) {
  const swath_job *job = rc->job;
  swath_features_cfg fc = {
      .path = job->features, .crs = rc->g->crs, .job = key, .model = rc->proc.vt->name};
  int r = swath_features_ogr.open(&fc, &rc->fstore_state);
  if (r) return r;
  rc->fstore = &swath_features_ogr;
  int64_t n = 0;
  if (same && !overwrite) return 0; /* resume: a task's features are replaced when it runs */
  if ((r = rc->fstore->count(rc->fstore_state, &n))) return r;
  if (n == 0) return 0;
  if (!same && !overwrite)
    return swath_error_set(SWATH_EINVAL,
                           "features store '%s' holds %lld features of another job: use "
                           "--overwrite to replace them, or another output.features",
                           job->features, (long long)n);
  swath_info("features store %s: removing %lld features (--overwrite)", job->features,
             (long long)n);
  return rc->fstore->clear(rc->fstore_state);
}

int swath__open_state(run_ctx *rc, const swath_area *area, int overwrite, int overviews,
                      int *redo) {
  const swath_job *job = rc->job;
  int r;
  if ((r = rc->sink->create(rc->sink_state))) return r;
  rc->overviews = overviews;
  rc->ov = (swath_overview_ctx){rc->g,          rc->m,         rc->sink,   rc->sink_state,
                                rc->sink_bands, rc->out_dtype, rc->average};

  char state_dir[4096], path[4200], key[17];
  if ((r = swath__state_dir(job, state_dir, sizeof state_dir))) return r;
  swath_job_key(job, key);
  snprintf(path, sizeof path, "%s/state.sqlite", state_dir);
  int same = 0;
  int64_t recorded = 0;
  if ((r = rc->store->open(path, key, &same, &recorded, &rc->store_state))) return r;
  /* One product per folder: another job's tiles are refused or (--overwrite) deleted. */
  if ((r = swath_product_claim(job, rc->store, rc->store_state, same, recorded, rc->sink,
                               rc->sink_state, overwrite, redo)))
    return r;
  if (rc->info.features && (r = open_features(rc, overwrite, same, key))) return r;
  if ((r = swath_product_add_run(job, rc->store, rc->store_state, swath_area_bounds(area))))
    return r;
  snprintf(path, sizeof path, "%s/failed.txt", state_dir);
  rc->failures = fopen(path, "w");
  return 0;
}

int swath__plan_new(const run_ctx *rc, const swath_area *area, int overviews,
                    const swath_store_vtable *store, void *store_state, swath_plan **out) {
  const swath_job *job = rc->job;
  int lo = rc->has_scope ? rc->scope_root.z : job->min_zoom;
  int hi = rc->has_scope ? rc->scope_max : job->max_zoom;
  int r = swath_plan_new(rc->g, area, lo, hi, rc->m, overviews, store, store_state, out);
  if (!r && rc->has_scope) swath_plan_set_root(*out, rc->scope_root);
  return r;
}

/* swath run --check, once every check has passed: what the run would do. */
int swath__check_only(run_ctx *rc, const swath_area *area, int overviews, int64_t *tasks,
                      int64_t *tiles) {
  const swath_job *job = rc->job;
  long long total = 0, ntiles = 0;
  for (int z = job->min_zoom; z <= job->max_zoom; z++) {
    total += swath_area_count_tiles(rc->g, area, z, rc->m);
    ntiles += rc->m > 1 ? swath_area_count_tiles(rc->g, area, z, 1) : 0;
  }
  *tasks = total;
  *tiles = rc->m > 1 ? ntiles : total;
  swath_info("%s: check passed: %lld tasks at zooms %d-%d (%dx%d metatiles%s) -> %s; "
             "nothing written",
             job->path, total, job->min_zoom, job->max_zoom, rc->m, rc->m,
             overviews ? ", overviews from the top zoom" : "", job->out_path);
  return 0;
}

/* Metadata of the whole product (every tile on disk, from every run) and
 * the job as run. */
int swath__finish_product(run_ctx *rc, const swath_job *job, swath_bounds area_bounds,
                          const swath_lonlat_extent *lonlat) {
  swath_sink_extent e;
  char *yaml = NULL;
  int r = swath_product_extent(job, rc->store, rc->store_state, area_bounds, lonlat, &e);
  if (!r) r = swath_product_job_yaml(job, rc->store, rc->store_state, &yaml);
  if (!r && yaml) {
    /* The job is stored with the output, which is meant to be shared: its
     * secrets (API keys in URLs, headers) stay out. */
    char *text = swath_redact_yaml(yaml);
    free(yaml);
    yaml = text;
    if (!text) r = swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  if (!r) {
    rc->sink->set_extent(rc->sink_state, &e);
    r = rc->sink->finish(rc->sink_state, yaml);
  }
  free(yaml);
  return r;
}

/* run.c: one job on one machine.
 *
 *   set-up (main thread): open inputs once for their footprints, build the
 *     area, initialise the process, open the sink and the state store; every
 *     check on user input happens here, before any tile is written.
 *   workers (N threads): take the next task from the plan under one lock;
 *     each owns its input handles (GDAL handles are not shared); read,
 *     process, cut into tiles, write, record, and hand the halved pixels to
 *     the parent so overviews are built as soon as their children are done.
 *   fetch stage (1 thread, only with remote inputs): walks the same plan
 *     order over its own copy of the plan and submits each leaf's remote
 *     requests (the sources' requests(), the function their read() uses)
 *     to the inputs' fetchers, at most FETCH_AHEAD_TASKS leaves and
 *     FETCH_AHEAD_BYTES of downloaded tiles ahead of the compute stage: the
 *     queue between the stages is bounded in bytes, so memory and disk
 *     read-ahead stay flat for any area. A worker whose tiles are not in the
 *     cache yet fetches them itself, through the same fetcher.
 *   ticker (main thread): progress, and a store flush about once a second.
 *
 * swath_prefetch runs the fetch stage alone over the whole plan (no sink, no
 * store) with its own progress, summary and failure list. *
 * A task's state is recorded only after its tiles were renamed into place,
 * so kill -9 at any moment costs at most the tasks in flight. */
#include "engine/run.h"

#include <cpl_conv.h>
#include <errno.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/area.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/raster.h"
#include "core/secret.h"
#include "engine/job_size.h"
#include "engine/overview.h"
#include "engine/plan.h"
#include "engine/product.h"
#include "engine/store.h"
#include "io/cache.h"
#include "io/fetch.h"
#include "io/sink.h"
#include "io/source.h"
#include "process/process.h"

/* The bounded queue between the fetch and compute stages. */
#define FETCH_AHEAD_TASKS 128
#define FETCH_AHEAD_BYTES ((int64_t)256 << 20)
#define FETCH_RING 1024 /* > FETCH_AHEAD_TASKS */
/* Submitted cache paths remembered to skip the tiles neighbouring leaves
 * share (a direct-mapped set of hashes: bounded memory, catches the
 * near-in-order repeats that matter). */
#define SEEN_SLOTS (1u << 16)

typedef struct run_ctx {
  const swath_job *job;
  const swath_grid *g;
  int m;                      /* metatiling */
  int buffer;                 /* pixel buffer actually read */
  swath_process proc;
  void *proc_state;
  swath_process_info info;
  swath_input_desc *descs;
  swath_source_info *src_info;
  swath_source_spec *specs;            /* per input */
  const swath_source_vtable **src_vt;  /* per input */
  swath_dtype out_dtype;      /* what is written */
  int sink_bands;             /* data bands written */
  int average;                /* overview resampling */
  const swath_sink_vtable *sink;
  void *sink_state;
  const swath_store_vtable *store;
  void *store_state;
  swath_plan *plan;
  swath_overview_ctx ov; /* how overviews are built (set once the sink is open) */
  int overviews;         /* zooms below the top are built from children */

  pthread_mutex_t lock;       /* guards the plan, counters, node buffers' allocation */
  pthread_cond_t cond;
  int in_flight;
  int stop;                   /* interrupted or fatal: hand out no more tasks */
  int64_t done, empty, failed, tiles_written, pixels;
  int64_t leaves, built; /* tasks computed from the inputs / overviews built */
  int64_t stale_below;   /* overview tasks below the run's zooms now older than their children */
  double read_busy, compute_busy, write_busy;
  FILE *failures;

  swath_fetcher **fetchers;   /* per input; NULL for inputs that fetch nothing */
  unsigned char *offline; /* per input: remote, offline (no fetcher; prefetch checks the cache) */
  swath_source_held *held; /* per input: what its checking open fetched, written by the next */
  int nremote;            /* remote inputs, offline ones included */
  /* fetch stage accounting, under lock */
  int64_t fetch_seq, compute_seq; /* leaves submitted by the fetch stage / computed */
  int64_t ahead_bytes;
  int64_t ring[FETCH_RING];
} run_ctx;

static volatile sig_atomic_t g_interrupted; /* set by SIGINT/SIGTERM only */
static void on_signal(int sig) {
  (void)sig;
  g_interrupted = 1;
}

typedef struct worker {
  run_ctx *rc;
  void **src;       /* per input source state */
  swath_area *area; /* own copy (area queries are not thread-safe); NULL with metatiling 1 */
  int failed_open;   /* the code its inputs' open failed with (open_msg says why), or 0 */
  char open_msg[512];
} worker;

/* Cut a metatile block into output tiles: write those holding data, remove
 * those without. Only tiles flagged in `select` (m*m, row-major; NULL: all)
 * are touched; `handled` (m*m) gets those written or removed, `made` (m*m)
 * the tiles of the area, and *range the tiles of the block that hold data,
 * touched or not (minx > maxx if none). Returns the number of tiles written
 * or a negative code.
 *
 * Where a metatile reaches beyond the area, its tiles outside it are neither
 * written nor removed (a run touches only its own area), and the block
 * takes what is on disk there (overview.h's contract with the parent): the
 * parent is built from the area's tiles of this run and what earlier runs
 * left, the same for any metatiling. The task is recorded as covering the
 * area's tiles only (store.h), so a run over more of it does it again. */
static void range_add(swath_tile_range *r, int64_t x, int64_t y) {
  r->minx = x < r->minx ? x : r->minx, r->maxx = x > r->maxx ? x : r->maxx;
  r->miny = y < r->miny ? y : r->miny, r->maxy = y > r->maxy ? y : r->maxy;
}

static int write_tiles(worker *w, swath_tile mt, swath_raster *block, const unsigned char *select,
                       unsigned char *handled, unsigned char *made, swath_tile_range *range) {
  run_ctx *rc = w->rc;
  swath_tile_range tr = swath_grid_metatile_tiles(rc->g, mt, rc->m);
  const swath_tile_matrix *tm = &rc->g->m[mt.z];
  *range = (swath_tile_range){mt.z, INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN};
  int written = 0;
  for (int64_t ty = tr.miny; ty <= tr.maxy; ty++) {
    for (int64_t tx = tr.minx; tx <= tr.maxx; tx++) {
      int i = (int)((ty - tr.miny) * rc->m + (tx - tr.minx));
      int x0 = (int)(tx - tr.minx) * tm->tile_width, y0 = (int)(ty - tr.miny) * tm->tile_height;
      swath_tile t = {mt.z, tx, ty};
      int outside = rc->m > 1 && !swath_area_intersects(w->area, swath_grid_tile_bounds(rc->g, t));
      if (outside) {
        int r = swath_overview_load_tile(&rc->ov, t, block, x0, y0);
        if (r < 0) return r;
        if (r > 0) range_add(range, tx, ty);
        continue;
      }
      made[i] = 1;
      swath_raster tile;
      int r = swath_raster_crop(block, x0, y0, tm->tile_width, tm->tile_height, &tile);
      if (r) return r;
      int valid = swath_raster_any_valid(&tile);
      if (valid) range_add(range, tx, ty);
      if (select && !select[i]) {
        swath_raster_free(&tile);
        continue;
      }
      handled[i] = 1;
      if (!valid) {
        rc->sink->remove_tile(rc->sink_state, t);
        swath_raster_free(&tile);
        continue;
      }
      r = rc->sink->write_tile(rc->sink_state, t, &tile);
      swath_raster_free(&tile);
      if (r) return r;
      written++;
    }
  }
  return written;
}

/* Give a finished task to the parent node: its block halved into the
 * parent's quadrant (if it has pixels), and which tiles it wrote or removed.
 * A task that failed leaves the parent's own pixels there (KEEP). */
static int hand_to_parent(run_ctx *rc, const swath_task *t, const swath_raster *block,
                          const unsigned char *handled, enum swath_child_result res) {
  swath_plan_node *p = t->parent;
  int rcode = 0;
  pthread_mutex_lock(&rc->lock);
  if (block && !p->buf.data) {
    int w, h;
    swath_grid_metatile_size(rc->g, p->mt, rc->m, &w, &h);
    rcode = swath_raster_alloc(&p->buf, w, h, block->bands, block->dtype);
    if (!rcode) memset(p->buf.mask, 0, (size_t)w * h);
  }
  pthread_mutex_unlock(&rc->lock);
  if (block && !rcode) {
    /* Quadrants are disjoint, so children write without the lock. */
    int qw = rc->m * rc->g->m[p->mt.z].tile_width, qh = rc->m * rc->g->m[p->mt.z].tile_height;
    int dx = (t->quadrant & 1) * qw / 2, dy = (t->quadrant >> 1) * qh / 2;
    swath_raster_downsample2(block, &p->buf, dx, dy, rc->average);
  }
  swath_overview_note_child(&rc->ov, p, t->mt, handled);
  if (rcode) res = SWATH_CHILD_KEEP;
  pthread_mutex_lock(&rc->lock);
  swath_plan_report(rc->plan, p, t->quadrant, res);
  pthread_cond_broadcast(&rc->cond);
  pthread_mutex_unlock(&rc->lock);
  return rcode;
}

/* What a leaf reads from every input: the metatile plus the pixel buffer.
 * The fetch stage and prefetch use the same request, so they ask the
 * sources for exactly the tiles the compute stage will read. */
static swath_read_req leaf_req(const run_ctx *rc, swath_tile mt) {
  int mw, mh;
  swath_grid_metatile_size(rc->g, mt, rc->m, &mw, &mh);
  swath_bounds b = swath_grid_metatile_bounds(rc->g, mt, rc->m);
  double res = rc->g->m[mt.z].cell_size;
  int buf = rc->buffer;
  return (swath_read_req){
      .crs = rc->g->crs,
      .bounds = {b.minx - buf * res, b.miny - buf * res, b.maxx + buf * res, b.maxy + buf * res},
      .width = mw + 2 * buf,
      .height = mh + 2 * buf,
      .resampling = rc->job->resampling,
      .dtype = rc->info.in_dtype,
      .warp_error = rc->job->warp_error,
  };
}

/* Compute a leaf from the inputs into the metatile block (interior only).
 * Returns 0 with *block filled, SWATH_EEMPTY, or an error. */
static int compute_leaf(worker *w, swath_tile mt, swath_raster *block, double *t_read, double *t_comp) {
  run_ctx *rc = w->rc;
  const swath_job *job = rc->job;
  int mw, mh;
  swath_grid_metatile_size(rc->g, mt, rc->m, &mw, &mh);
  double res = rc->g->m[mt.z].cell_size;
  int buf = rc->buffer;
  swath_read_req req = leaf_req(rc, mt);
  double t0 = swath_now();
  swath_raster *in = calloc((size_t)job->ninputs, sizeof *in);
  if (!in) return swath_error_set(SWATH_ENOMEM, "out of memory");
  int any = 0, r = 0;
  for (int i = 0; i < job->ninputs && !r; i++) {
    r = rc->src_vt[i]->read(w->src[i], &req, &in[i]);
    if (r == SWATH_EEMPTY) {
      /* No data from this input here: an all-masked block keeps band maths simple. */
      swath_dtype dt = req.dtype ? req.dtype : rc->src_info[i].dtype;
      r = swath_raster_alloc(&in[i], req.width, req.height, rc->src_info[i].bands, dt);
      if (!r) memset(in[i].mask, 0, (size_t)req.width * req.height);
    } else if (!r) {
      any = 1;
    }
  }
  double t1 = swath_now();
  *t_read += t1 - t0;
  swath_raster out = {0};
  if (!r && !any) r = SWATH_EEMPTY;
  if (!r) r = swath_raster_alloc(&out, req.width, req.height, rc->info.out_bands, rc->info.out_dtype);
  if (!r) {
    size_t px = (size_t)req.width * req.height;
    for (int i = 0; i < job->ninputs; i++)
      for (size_t k = 0; k < px; k++) out.mask[k] &= in[i].mask[k];
    swath_tile_ctx ctx = {
        .ninputs = job->ninputs,
        .input_desc = rc->descs,
        .inputs = in,
        .out = &out,
        .buffer = buf,
        .res_x = res,
        .res_y = res,
        .minx = req.bounds.minx,
        .miny = req.bounds.miny,
        .maxx = req.bounds.maxx,
        .maxy = req.bounds.maxy,
        .geographic = rc->g->is_geographic,
        .zoom = mt.z,
    };
    swath_error_clear();
    r = rc->proc.vt->run(rc->proc_state, &ctx);
    if (r && r != SWATH_EEMPTY && !*swath_error_message())
      swath_error_set(r, "process %s failed without a message", rc->proc.vt->name);
  }
  for (int i = 0; i < job->ninputs; i++) swath_raster_free(&in[i]);
  free(in);
  if (!r) r = swath_raster_crop(&out, buf, buf, mw, mh, block);
  swath_raster_free(&out);
  if (!r && rc->out_dtype != rc->info.out_dtype) r = swath_raster_convert(block, rc->out_dtype);
  if (!r && !swath_raster_any_valid(block)) {
    swath_raster_free(block);
    r = SWATH_EEMPTY;
  }
  *t_comp += swath_now() - t1;
  return r;
}

static void record_failure(run_ctx *rc, swath_tile mt, const char *msg) {
  /* Under rc->lock. */
  rc->failed++;
  char text[1024];
  swath_redact(msg, text, sizeof text); /* (error messages are already) */
  msg = text;
  rc->store->mark(rc->store_state, mt, SWATH_TASK_FAILED, msg, NULL, NULL, 0);
  if (rc->failures) {
    fprintf(rc->failures, "%d/%lld/%lld\t%s\n", mt.z, (long long)mt.x, (long long)mt.y, msg);
    fflush(rc->failures);
  }
  if (rc->failed <= 5) swath_warn("task %d/%lld/%lld failed: %s", mt.z, (long long)mt.x, (long long)mt.y, msg);
}

/* A task changed tiles on disk: its parent, if recorded finished, is older
 * than its children now. Recorded STALE before the task's own mark, so that
 * a run killed before the parent is rebuilt leaves it to be rebuilt. The
 * parent of a task at the run's lowest zoom is outside the run: it stays
 * STALE until a run with its zoom rebuilds it. Under rc->lock. */
static void mark_parent_stale(run_ctx *rc, const swath_task *t) {
  if (!rc->overviews) return;
  if (t->parent) {
    swath_plan_node *p = t->parent;
    if (!p->stale_marked && (p->stored == SWATH_TASK_DONE || p->stored == SWATH_TASK_EMPTY))
      rc->store->mark(rc->store_state, p->mt, SWATH_TASK_STALE, NULL, NULL, NULL, 0);
    p->stale_marked = 1;
    return;
  }
  swath_tile pm = {t->mt.z - 1, t->mt.x >> 1, t->mt.y >> 1};
  if (pm.z < rc->g->min_zoom || !swath_plan_grid_is_quadtree(rc->g, pm.z, t->mt.z)) return;
  enum swath_task_state s;
  if (rc->store->get(rc->store_state, pm, &s, NULL, 0) ||
      (s != SWATH_TASK_DONE && s != SWATH_TASK_EMPTY))
    return;
  rc->store->mark(rc->store_state, pm, SWATH_TASK_STALE, NULL, NULL, NULL, 0);
  rc->stale_below++;
}

/* The tiles a finished task records as covered (store.h): those of the
 * area (`made`) and those its record covered before (read into `old` for a
 * leaf); a leaf that found no data anywhere covers its whole metatile
 * (NULL). Under rc->lock. */
static const unsigned char *task_covered(run_ctx *rc, const swath_task *t, int wrote,
                                         unsigned char *made, unsigned char *old) {
  if (!wrote) return NULL;
  enum swath_task_state s = SWATH_TASK_PENDING;
  if (t->kind == SWATH_TASK_OVERVIEW) {
    s = (enum swath_task_state)t->node->stored;
    old = t->node->covered;
  } else if (rc->store->get(rc->store_state, t->mt, &s, old, rc->m * rc->m)) {
    s = SWATH_TASK_PENDING;
  }
  swath_plan_covered(rc->g, rc->m, t->mt, (int)s, old, made);
  return made;
}

static void run_task(worker *w, swath_task *t) {
  run_ctx *rc = w->rc;
  swath_raster block = {0};
  double t_read = 0, t_comp = 0, t0;
  size_t mm = (size_t)rc->m * rc->m;
  /* handled: the tiles written or removed; select: those an overview may
   * touch; made: the area's tiles; old: scratch for task_covered. */
  unsigned char *handled = calloc(4, mm), *select = NULL;
  int r;
  if (!handled)
    r = swath_error_set(SWATH_ENOMEM, "out of memory");
  else if (t->kind == SWATH_TASK_LEAF)
    r = compute_leaf(w, t->mt, &block, &t_read, &t_comp);
  else {
    select = handled + mm;
    t0 = swath_now();
    r = swath_overview_build(&rc->ov, t->node, &block, select);
    t_comp += swath_now() - t0;
  }
  t0 = swath_now();
  int written = 0, changed = 0, wrote = !r;
  swath_tile_range range = {0};
  if (!r) {
    written = write_tiles(w, t->mt, &block, select, handled, handled + 2 * mm, &range);
    if (written < 0) r = written;
  }
  for (size_t i = 0; handled && i < mm; i++)
    changed |= handled[i]; /* even if writing failed part-way */
  int valid = !r && range.minx <= range.maxx;
  if (!r && !valid) r = SWATH_EEMPTY;
  double t_write = swath_now() - t0;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", swath_error_message());

  /* Record before telling the parent: the parent's DONE must never precede its children's. */
  pthread_mutex_lock(&rc->lock);
  if (t->kind == SWATH_TASK_LEAF) {
    /* This leaf's fetched tiles leave the queue between the stages. */
    int64_t slot = ++rc->compute_seq % FETCH_RING;
    rc->ahead_bytes -= rc->ring[slot];
    rc->ring[slot] = 0;
  }
  rc->read_busy += t_read;
  rc->compute_busy += t_comp;
  rc->write_busy += t_write;
  if (changed) mark_parent_stale(rc, t);
  const unsigned char *covered = NULL;
  if (r == 0 || r == SWATH_EEMPTY) {
    covered = task_covered(rc, t, wrote, handled + 2 * mm, handled + 3 * mm);
    if (t->kind == SWATH_TASK_LEAF)
      rc->leaves++;
    else
      rc->built++;
  }
  if (r == 0) {
    rc->done++;
    rc->tiles_written += written;
    rc->pixels += (int64_t)block.width * block.height;
    rc->store->mark(rc->store_state, t->mt, SWATH_TASK_DONE, NULL, &range, covered, (int)mm);
  } else if (r == SWATH_EEMPTY) {
    rc->empty++;
    rc->store->mark(rc->store_state, t->mt, SWATH_TASK_EMPTY, NULL, NULL, covered, (int)mm);
  } else {
    record_failure(rc, t->mt, msg[0] ? msg : "unknown error");
  }
  pthread_mutex_unlock(&rc->lock);

  /* A task that removed tiles changed its parent too, even with no pixels left. */
  enum swath_child_result res = r == 0 || (r == SWATH_EEMPTY && changed) ? SWATH_CHILD_DATA
                                : r == SWATH_EEMPTY                      ? SWATH_CHILD_EMPTY
                                                                         : SWATH_CHILD_KEEP;
  if (t->parent)
    hand_to_parent(rc, t, res == SWATH_CHILD_DATA && block.data ? &block : NULL, handled, res);
  swath_raster_free(&block);
  free(handled);
  if (t->kind == SWATH_TASK_OVERVIEW) {
    pthread_mutex_lock(&rc->lock);
    swath_plan_release(rc->plan, t->node);
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
  }
}

/* A worker opens its own input handles, in its own thread: GDAL shares a
 * dataset opened in shared mode (the file behind a vrt:// connection or a
 * VRT's sources) among the handles of the thread that opened it, and two
 * workers must never read through one dataset. */
static int worker_open(worker *w) {
  run_ctx *rc = w->rc;
  for (int k = 0; k < rc->job->ninputs; k++) {
    swath_source_info si;
    int r = rc->src_vt[k]->open(&rc->specs[k], rc->g, &si, &w->src[k]);
    if (r) {
      w->failed_open = r;
      snprintf(w->open_msg, sizeof w->open_msg, "%s", swath_error_message());
      pthread_mutex_lock(&rc->lock);
      rc->stop = 1;
      pthread_cond_broadcast(&rc->cond);
      pthread_mutex_unlock(&rc->lock);
      return r;
    }
  }
  return 0;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  run_ctx *rc = w->rc;
  if (worker_open(w)) return NULL;
  for (;;) {
    swath_task t;
    pthread_mutex_lock(&rc->lock);
    int got = 0;
    while (!rc->stop && !g_interrupted) {
      if ((got = swath_plan_next(rc->plan, &t))) break;
      if (swath_plan_finished(rc->plan) || rc->in_flight == 0) break;
      pthread_cond_wait(&rc->cond, &rc->lock);
    }
    if (got) rc->in_flight++;
    pthread_mutex_unlock(&rc->lock);
    if (!got) break;
    run_task(w, &t);
    pthread_mutex_lock(&rc->lock);
    rc->in_flight--;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
  }
  pthread_mutex_lock(&rc->lock);
  pthread_cond_broadcast(&rc->cond);
  pthread_mutex_unlock(&rc->lock);
  return NULL;
}

/* ---- the fetch stage ---- */

typedef struct walk {
  run_ctx *rc;
  swath_plan *plan;
  void **src;        /* the walker's own handles of the remote inputs */
  uint64_t *seen;    /* SEEN_SLOTS hashes of submitted cache paths */
  int prefetch;      /* swath_prefetch: tally outcomes, list failures */
  pthread_mutex_t mu; /* guards what follows */
  int64_t requests;   /* submitted (each ends in one callback) */
  int64_t leaves;     /* prefetch: leaves walked so far */
  int64_t fetched, cached, empty, failed, aborted; /* callbacks so far, by outcome */
  int fed;           /* every request has been submitted */
  FILE *failures;
} walk;

typedef struct walk_tag {
  walk *w;
  int64_t seq;  /* the leaf's place in the fetch order (run) */
  int input;    /* for the failure list: enough to replay the request */
  int width, height;
  unsigned kinds;
} walk_tag;

typedef struct walk_submit {
  walk *w;
  int input;
  int64_t seq;
  int rc;
} walk_submit;

static void on_fetched(const swath_fetch_result *res, void *user) {
  walk_tag *tag = user;
  walk *w = tag->w;
  if (w->prefetch) {
    pthread_mutex_lock(&w->mu);
    switch (res->outcome) {
    case SWATH_FETCH_DONE: res->cached ? w->cached++ : w->fetched++; break;
    case SWATH_FETCH_EMPTY: res->cached ? w->cached++ : w->empty++; break;
    case SWATH_FETCH_FAILED: w->failed++; break;
    case SWATH_FETCH_ABORTED: w->aborted++; break;
    }
    if ((res->outcome == SWATH_FETCH_FAILED || res->outcome == SWATH_FETCH_ABORTED) && w->failures) {
      /* Without secrets: a replay takes them from the job (replay_line). */
      char url[4096], reason[1024];
      swath_redact(res->url, url, sizeof url);
      swath_redact(res->reason ? res->reason : "failed", reason, sizeof reason);
      fprintf(w->failures, "%s\t%s\t%s\t%d\t%d\t%u\t%s\n", w->rc->job->inputs[tag->input].name, url,
              res->dest ? res->dest : "", tag->width, tag->height, tag->kinds, reason);
      fflush(w->failures);
    }
    if (res->outcome == SWATH_FETCH_FAILED && w->failed <= 5)
      swath_warn("%s: %s", res->url, res->reason ? res->reason : "failed");
    pthread_mutex_unlock(&w->mu);
  } else if (res->bytes) {
    /* Downloaded ahead of the compute stage: counts against the queue's bytes. */
    run_ctx *rc = w->rc;
    pthread_mutex_lock(&rc->lock);
    if (tag->seq > rc->compute_seq && tag->seq - rc->compute_seq < FETCH_RING) {
      rc->ring[tag->seq % FETCH_RING] += (int64_t)res->bytes;
      rc->ahead_bytes += (int64_t)res->bytes;
    }
    pthread_mutex_unlock(&rc->lock);
  }
  free(tag);
}

/* What prefetch makes of a request of an offline input: the cache is asked,
 * never the network; a file it would count as cached must pass the checks a
 * download gets. Ends in on_fetched like a fetched request. */
static void offline_request(const swath_fetch_req *r, walk_tag *tag) {
  swath_fetch_result res = {
      .outcome = SWATH_FETCH_DONE, .cached = 1, .url = r->url, .dest = r->dest};
  char reason[1200];
  swath_cache_state cs = r->dest ? swath_cache_lookup(r->dest) : SWATH_CACHE_MISS;
  if (cs == SWATH_CACHE_EMPTY) {
    res.outcome = SWATH_FETCH_EMPTY;
  } else if (cs == SWATH_CACHE_MISS) {
    res.outcome = SWATH_FETCH_FAILED;
    res.reason = "not in the cache, and the input is offline";
  } else if (swath_fetch_check_file(r->dest, r->kinds, r->expect_width, r->expect_height,
                                    (size_t)1 << 30)) {
    snprintf(reason, sizeof reason, "the cached file is damaged (%s), and the input is offline",
             swath_error_message());
    swath_error_clear();
    res.outcome = SWATH_FETCH_FAILED;
    res.reason = reason;
  }
  on_fetched(&res, tag);
}

/* swath_source_request_fn: submit one request of a leaf, once. */
static void submit_request(void *ud, const swath_fetch_req *r) {
  walk_submit *ws = ud;
  walk *w = ws->w;
  if (ws->rc) return;
  uint64_t h = swath_fnv1a_str(r->dest ? r->dest : r->url) | 1; /* 0 marks a free slot */
  uint64_t *slot = &w->seen[h % SEEN_SLOTS];
  if (*slot == h) return;
  *slot = h;
  walk_tag *tag = malloc(sizeof *tag);
  if (!tag) {
    ws->rc = swath_error_set(SWATH_ENOMEM, "out of memory");
    return;
  }
  *tag = (walk_tag){w, ws->seq, ws->input, r->expect_width, r->expect_height, r->kinds};
  if (w->rc->offline[ws->input]) {
    pthread_mutex_lock(&w->mu);
    w->requests++;
    pthread_mutex_unlock(&w->mu);
    offline_request(r, tag);
    return;
  }
  swath_fetch_req fr = *r;
  fr.cb = on_fetched;
  fr.user = tag;
  /* What prefetch reports as cached must be what a download would have
   * cached: a damaged file is fetched again (a run heals one when it fails
   * to decode it). */
  if (w->prefetch) fr.flags |= SWATH_FETCH_VERIFY;
  if ((ws->rc = swath_fetch_submit(w->rc->fetchers[ws->input], &fr))) {
    free(tag);
    return;
  }
  pthread_mutex_lock(&w->mu);
  w->requests++;
  pthread_mutex_unlock(&w->mu);
}

/* Submit (or count) the requests of one leaf for every remote input. */
static int walk_leaf(walk *w, swath_tile mt, int64_t seq) {
  run_ctx *rc = w->rc;
  swath_read_req req = leaf_req(rc, mt);
  for (int i = 0; i < rc->job->ninputs; i++) {
    /* (a run's fetch stage leaves offline inputs to the compute stage) */
    if (!rc->fetchers[i] && !(rc->offline[i] && w->prefetch)) continue;
    walk_submit ws = {w, i, seq, 0};
    int r = rc->src_vt[i]->requests(w->src[i], &req, submit_request, &ws);
    if (r == SWATH_EEMPTY) continue;
    if (r || ws.rc) return r ? r : ws.rc;
  }
  return 0;
}

/* Next task of the walker's own plan: leaves are handed back as empty and
 * overviews released at once, so the walk never waits and holds no pixels. */
static int walk_next(walk *w, swath_task *t) {
  if (!swath_plan_next(w->plan, t)) return 0;
  swath_plan_report(w->plan, t->parent, t->quadrant, SWATH_CHILD_EMPTY);
  if (t->kind == SWATH_TASK_OVERVIEW) swath_plan_release(w->plan, t->node);
  return 1;
}

static void walk_free(walk *w) {
  for (int i = 0; w->src && i < w->rc->job->ninputs; i++)
    if (w->src[i]) w->rc->src_vt[i]->close(w->src[i]);
  free(w->src);
  free(w->seen);
  swath_plan_free(w->plan);
  pthread_mutex_destroy(&w->mu);
}

/* Handles of the remote inputs for the walker's thread, and a plan over
 * `store` (NULL: every task). */
static int walk_init(walk *w, run_ctx *rc, const swath_area *area, int overviews,
                     const swath_store_vtable *store, void *store_state) {
  memset(w, 0, sizeof *w);
  w->rc = rc;
  pthread_mutex_init(&w->mu, NULL);
  w->src = calloc((size_t)rc->job->ninputs, sizeof *w->src);
  w->seen = calloc(SEEN_SLOTS, sizeof *w->seen);
  if (!w->src || !w->seen) return swath_error_set(SWATH_ENOMEM, "out of memory");
  int r = 0;
  for (int i = 0; i < rc->job->ninputs && !r; i++) {
    if (!rc->fetchers[i] && !rc->offline[i]) continue;
    swath_source_info si;
    r = rc->src_vt[i]->open(&rc->specs[i], rc->g, &si, &w->src[i]);
  }
  if (!r)
    r = swath_plan_new(rc->g, area, rc->job->min_zoom, rc->job->max_zoom, rc->m, overviews, store,
                       store_state, &w->plan);
  return r;
}

/* The run's view of the store for the fetch stage's plan: it skips what is
 * done but records nothing. Called under rc->lock, like every store call. */
static int ro_get(void *st, swath_tile t, enum swath_task_state *out, unsigned char *covered,
                  int n) {
  run_ctx *rc = st;
  return rc->store->get(rc->store_state, t, out, covered, n);
}
static int ro_mark(void *st, swath_tile t, enum swath_task_state s, const char *msg,
                   const swath_tile_range *tiles, const unsigned char *covered, int n) {
  (void)st, (void)t, (void)s, (void)msg, (void)tiles, (void)covered, (void)n;
  return 0;
}
static const swath_store_vtable ro_store = {.name = "read-only", .get = ro_get, .mark = ro_mark};

/* The fetch stage of a run: stay ahead of the compute stage, within bounds. */
static void *fetch_main(void *arg) {
  walk *w = arg;
  run_ctx *rc = w->rc;
  for (;;) {
    swath_task t;
    pthread_mutex_lock(&rc->lock);
    while (!rc->stop && !g_interrupted &&
           (rc->fetch_seq - rc->compute_seq >= FETCH_AHEAD_TASKS || rc->ahead_bytes > FETCH_AHEAD_BYTES))
      pthread_cond_wait(&rc->cond, &rc->lock);
    int got = !rc->stop && !g_interrupted && walk_next(w, &t);
    int64_t seq = got && t.kind == SWATH_TASK_LEAF ? ++rc->fetch_seq : 0;
    pthread_mutex_unlock(&rc->lock);
    if (!got) break;
    if (t.kind == SWATH_TASK_LEAF && walk_leaf(w, t.mt, seq)) {
      /* The compute stage reads through the same sources and reports it. */
      swath_warn("fetch stage stopped: %s", swath_error_message());
      break;
    }
  }
  return NULL;
}

/* Sum of the fetchers' counters. */
static void fetch_totals(const run_ctx *rc, swath_fetch_stats *sum) {
  memset(sum, 0, sizeof *sum);
  for (int i = 0; rc->fetchers && i < rc->job->ninputs; i++) {
    if (!rc->fetchers[i]) continue;
    swath_fetch_stats st;
    swath_fetch_stats_get(rc->fetchers[i], &st);
    sum->submitted += st.submitted;
    sum->fetched += st.fetched;
    sum->cached += st.cached;
    sum->empty += st.empty;
    sum->failed += st.failed;
    sum->aborted += st.aborted;
    sum->coalesced += st.coalesced;
    sum->cache_invalid += st.cache_invalid;
    sum->requests += st.requests;
    sum->retries += st.retries;
    sum->bytes += st.bytes;
    if (st.busy_seconds > sum->busy_seconds) sum->busy_seconds = st.busy_seconds;
    sum->budget_exhausted |= st.budget_exhausted;
  }
}

static int mkdir_p(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    *p = '/';
  }
  return (mkdir(tmp, 0777) && errno != EEXIST) ? -1 : 0;
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
  if (!rc->descs || !rc->src_info || !rc->specs || !rc->src_vt || !rc->fetchers || !rc->offline ||
      !rc->held)
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  for (int i = 0; i < job->ninputs; i++) {
    const swath_job_input *in = &job->inputs[i];
    rc->specs[i] = (swath_source_spec){in->name,       in->type, in->uri, in->cfg,
                                       job->cache_dir, NULL,     0,       &rc->held[i]};
    rc->src_vt[i] = swath_source_find(in->type);
    /* One fetcher per remote input, shared by every thread's handle. */
    int r = swath_source_fetcher_new(&rc->specs[i], &rc->fetchers[i]);
    if (r) return r;
    rc->specs[i].fetcher = rc->fetchers[i];
    rc->offline[i] = (unsigned char)swath_source_offline(&rc->specs[i]);
    rc->nremote += rc->fetchers[i] != NULL || rc->offline[i];
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
    if (i == 0) *fp = si->footprint;
    else {
      fp->minx = si->footprint.minx < fp->minx ? si->footprint.minx : fp->minx;
      fp->miny = si->footprint.miny < fp->miny ? si->footprint.miny : fp->miny;
      fp->maxx = si->footprint.maxx > fp->maxx ? si->footprint.maxx : fp->maxx;
      fp->maxy = si->footprint.maxy > fp->maxy ? si->footprint.maxy : fp->maxy;
    }
  }
  return 0;
}

static int build_area(const swath_job *job, const swath_grid *g, swath_bounds fp, swath_area **area) {
  int r;
  if (job->area_file) r = swath_area_from_file(g, job->area_file, area);
  else if (job->has_bounds) r = swath_area_from_bounds(g, job->bounds, job->bounds_crs, area);
  else r = swath_area_from_bounds(g, fp, g->crs, area);
  if (r) return r;
  r = swath_area_clip(*area, fp);
  if (r) {
    swath_area_free(*area);
    *area = NULL;
    return swath_error_set(SWATH_EINVAL, "area does not overlap the inputs (inputs cover %.6g,%.6g,%.6g,%.6g in %s)",
                           fp.minx, fp.miny, fp.maxx, fp.maxy, g->crs);
  }
  return 0;
}

static void summary(const swath_run_stats *s) {
  swath_info(
      "finished in %.1f s: %lld tasks (%lld done, %lld empty, %lld already done, %lld failed), "
      "%lld computed from the inputs, %lld overviews built, "
      "%lld tiles written, %.1f tiles/s, %.2f Mpx/s",
      s->seconds, (long long)s->total, (long long)s->done, (long long)s->empty,
      (long long)s->skipped, (long long)s->failed, (long long)s->leaves, (long long)s->overviews,
      (long long)s->tiles_written, s->seconds > 0 ? s->tiles_written / s->seconds : 0,
      s->seconds > 0 ? s->pixels / s->seconds / 1e6 : 0);
  double cap = s->seconds * s->workers;
  const swath_fetch_stats *f = &s->fetch;
  /* The parts add up to the requests: one that joined a download already in
   * flight shares its outcome, counted once, there; what the fetch stage
   * still had queued when computing ended was dropped. */
  uint64_t ended = f->fetched + f->cached + f->empty + f->failed + f->aborted + f->coalesced;
  char dropped[64] = "";
  if (f->submitted > ended)
    snprintf(dropped, sizeof dropped, ", %llu not needed any more",
             (unsigned long long)(f->submitted - ended));
  if (f->submitted)
    swath_info(
        "fetch: %llu requests (%llu fetched, %llu cached, %llu empty, %llu failed, %llu aborted, "
        "%llu joined a download in flight%s), %.1f MB, fetch stage busy %.0f%% of the run",
        (unsigned long long)f->submitted, (unsigned long long)f->fetched,
        (unsigned long long)f->cached, (unsigned long long)f->empty, (unsigned long long)f->failed,
        (unsigned long long)f->aborted, (unsigned long long)f->coalesced, dropped, f->bytes / 1e6,
        s->seconds > 0 ? 100 * f->busy_seconds / s->seconds : 0);
  if (cap > 0)
    swath_info("busy: read %.0f%%, compute %.0f%%, write %.0f%% of %d worker threads",
               100 * s->read_busy / cap, 100 * s->compute_busy / cap, 100 * s->write_busy / cap,
               s->workers);
}

/* Release what setup() and a run made (everything NULL-safe). */
static void ctx_free(run_ctx *rc, swath_area *area) {
  if (rc->store_state) rc->store->close(rc->store_state);
  if (rc->sink_state) rc->sink->close(rc->sink_state);
  if (rc->proc_state && rc->proc.vt->destroy) rc->proc.vt->destroy(rc->proc_state);
  if (rc->proc.vt) swath_process_close(&rc->proc);
  swath_area_free(area);
  for (int i = 0; rc->fetchers && i < rc->job->ninputs; i++) swath_fetch_free(rc->fetchers[i]);
  free(rc->fetchers);
  free(rc->offline);
  for (int i = 0; rc->held && i < rc->job->ninputs; i++)
    swath_source_held_clear(&rc->held[i]);
  free(rc->held);
  free(rc->descs);
  free(rc->src_info);
  free(rc->specs);
  free((void *)rc->src_vt);
  pthread_mutex_destroy(&rc->lock);
  pthread_cond_destroy(&rc->cond);
}

/* The first remote input's name (NULL if none), and whether only the top
 * zoom is computed from the inputs: what job_size.h asks. */
static const char *remote_input(const run_ctx *rc) {
  for (int i = 0; i < rc->job->ninputs; i++)
    if (rc->fetchers[i] || rc->offline[i]) return rc->job->inputs[i].name;
  return NULL;
}

static int top_zoom_only(const run_ctx *rc) {
  return rc->job->overviews &&
         swath_plan_grid_is_quadtree(rc->g, rc->job->min_zoom, rc->job->max_zoom);
}

/* What a run and a prefetch share: inputs probed (fetchers made), area,
 * the size of a remote job without area checked (`yes`: go ahead above
 * job_size.h's limit), process initialised (it decides the pixel buffer,
 * so the requests). */
static int setup(run_ctx *rc, swath_area **area, int yes) {
  const swath_job *job = rc->job;
  swath_bounds fp = {0, 0, 0, 0};
  int r;
  if ((r = probe_inputs(rc, &fp))) return r;
  if ((r = build_area(job, rc->g, fp, area))) return r;
  if ((r = swath_job_size_check(job, *area, remote_input(rc), top_zoom_only(rc), yes))) return r;

  /* Process. */
  if ((r = swath_process_open(job->process, &rc->proc))) return r;
  rc->info = (swath_process_info){SWATH_DT_UNKNOWN, rc->descs[0].bands, rc->descs[0].dtype, 0, rc->src_info[0].categorical};
  swath_error_clear();
  r = rc->proc.vt->init(swath_process_host(), job->params, rc->descs, job->ninputs, &rc->info, &rc->proc_state);
  if (r) {
    if (!*swath_error_message()) swath_error_set(SWATH_EINVAL, "process %s: init failed", rc->proc.vt->name);
    return r == SWATH_EIO ? SWATH_EIO : SWATH_EINVAL;
  }
  rc->buffer = job->pixel_buffer > rc->info.pixel_buffer ? job->pixel_buffer : rc->info.pixel_buffer;
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

/* swath run --check, once every check has passed: what the run would do. */
static int check_only(run_ctx *rc, const swath_area *area, int overviews) {
  const swath_job *job = rc->job;
  long long total = 0;
  for (int z = job->min_zoom; z <= job->max_zoom; z++)
    total += swath_area_count_tiles(rc->g, area, z, rc->m);
  swath_info("%s: check passed: %lld tasks at zooms %d-%d (%dx%d metatiles%s) -> %s; "
             "nothing written",
             job->path, total, job->min_zoom, job->max_zoom, rc->m, rc->m,
             overviews ? ", overviews from the top zoom" : "", job->out_path);
  return 0;
}

/* Metadata of the whole product (every tile on disk, from every run) and
 * the job as run. */
static int finish_product(run_ctx *rc, const swath_job *job, swath_bounds area_bounds,
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

int swath_run(const swath_job *job, const swath_run_opts *opts, swath_run_stats *stats) {
  memset(stats, 0, sizeof *stats);
  double t_start = swath_now();
  /* A bounded block cache: peak memory must not follow the input size. */
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) CPLSetConfigOption("GDAL_CACHEMAX", "128");
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");

  run_ctx rc_s = {0}, *rc = &rc_s;
  rc->job = job;
  rc->g = &job->grid;
  rc->m = job->metatiling;
  rc->sink = &swath_sink_tiledir;
  rc->store = &swath_store_sqlite;
  pthread_mutex_init(&rc->lock, NULL);
  pthread_cond_init(&rc->cond, NULL);
  swath_area *area = NULL;
  worker *workers = NULL;
  pthread_t *threads = NULL;
  int nworkers = opts->workers > 0 ? opts->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (nworkers < 1) nworkers = 1;
  int r = 0;

  swath_task_count *count = NULL; /* counts stats->total while the run starts */
  if ((r = setup(rc, &area, opts->yes))) goto out;

  /* Sink first: an unwritable output must fail before any state is created. */
  int overviews = job->overviews;
  if (overviews && !swath_plan_grid_is_quadtree(rc->g, job->min_zoom, job->max_zoom)) {
    swath_warn("grid %s: zooms %d-%d do not halve, so every zoom is computed from the inputs",
               rc->g->name, job->min_zoom, job->max_zoom);
    overviews = 0;
  }
  swath_lonlat_extent lonlat;
  if ((r = swath_area_lonlat_extent(rc->g, area, &lonlat))) goto out;
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
      .alpha = strcmp(job->format, "JPEG") != 0 && !(strcmp(job->format, "GTiff") == 0 && job->has_nodata),
      .has_nodata = job->has_nodata,
      .nodata = job->nodata,
      .compression = job->compression,
      .quality = job->quality,
      .grid = rc->g,
      .min_zoom = job->min_zoom,
      .max_zoom = job->max_zoom,
      .name = job->process,
      .lonlat = lonlat,
      .bounds = swath_area_bounds(area),
      .palette = palette ? (const unsigned char(*)[4])in0->palette : NULL,
      .palette_n = palette ? in0->palette_n : 0,
      .link_empty = job->link_empty,
      .check = 1, /* nothing is made before every check has passed */
  };
  if ((r = rc->sink->open(&sc, &rc->sink_state))) goto out;
  if ((r = check_output(rc, opts->overwrite))) goto out;
  if (opts->check) {
    r = check_only(rc, area, overviews);
    goto out;
  }
  if ((r = rc->sink->create(rc->sink_state))) goto out;
  rc->overviews = overviews;
  rc->ov = (swath_overview_ctx){rc->g,          rc->m,         rc->sink,   rc->sink_state,
                                rc->sink_bands, rc->out_dtype, rc->average};

  char state_dir[4096], path[4200], key[17];
  snprintf(state_dir, sizeof state_dir, "%s/%s", job->out_path, SWATH_STATE_DIR);
  if (mkdir_p(state_dir)) {
    r = swath_error_set(SWATH_EINVAL, "output: cannot create '%s': %s", state_dir, strerror(errno));
    goto out;
  }
  swath_job_key(job, key);
  snprintf(path, sizeof path, "%s/state.sqlite", state_dir);
  int same = 0, redo = 0;
  int64_t recorded = 0;
  if ((r = rc->store->open(path, key, &same, &recorded, &rc->store_state))) goto out;
  /* One product per folder: another job's tiles are refused or (--overwrite) deleted. */
  if ((r = swath_product_claim(job, rc->store, rc->store_state, same, recorded, rc->sink,
                               rc->sink_state, opts->overwrite, &redo)))
    goto out;
  if ((r = swath_product_add_run(job, rc->store, rc->store_state, swath_area_bounds(area))))
    goto out;
  snprintf(path, sizeof path, "%s/failed.txt", state_dir);
  rc->failures = fopen(path, "w");

  if ((r = swath_task_count_start(rc->g, area, job->min_zoom, job->max_zoom, rc->m, &count)))
    goto out;
  int exact; /* a small count is in at once: the first line is exact */
  swath_task_count_wait(count, 0.2);
  stats->total = swath_task_count_get(count, &exact);
  if ((r = swath_plan_new(rc->g, area, job->min_zoom, job->max_zoom, rc->m, overviews, rc->store,
                          rc->store_state, &rc->plan)))
    goto out;
  if (redo) swath_plan_redo(rc->plan);
  swath_job_size_note(job, area, remote_input(rc), top_zoom_only(rc));
  swath_info("%s: %s%lld tasks at zooms %d-%d (%dx%d metatiles) on %d workers -> %s", job->path,
             exact ? "" : "about ", (long long)stats->total, job->min_zoom, job->max_zoom, rc->m,
             rc->m, nworkers, job->out_path);

  /* Workers, each with its own input handles. */
  workers = calloc((size_t)nworkers, sizeof *workers);
  threads = calloc((size_t)nworkers, sizeof *threads);
  if (!workers || !threads) {
    r = swath_error_set(SWATH_ENOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < nworkers && !r; i++) {
    workers[i].rc = rc;
    workers[i].src = calloc((size_t)job->ninputs, sizeof(void *));
    workers[i].area = rc->m > 1 ? swath_area_clone(area) : NULL;
    if (!workers[i].src || (rc->m > 1 && !workers[i].area))
      r = swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  if (r) goto out;

  g_interrupted = 0;
  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int started = 0, fetching = 0;
  pthread_t fetch_thread;
  walk fw;
  memset(&fw, 0, sizeof fw);
  /* A fetch stage for the inputs that fetch (offline ones read the cache only). */
  int online = 0;
  for (int i = 0; i < job->ninputs; i++)
    online |= rc->fetchers[i] != NULL;
  if (online) {
    if ((r = walk_init(&fw, rc, area, overviews, &ro_store, rc))) goto out_walk;
    if (redo) swath_plan_redo(fw.plan);
    fetching = pthread_create(&fetch_thread, NULL, fetch_main, &fw) == 0;
  }
  for (; started < nworkers; started++)
    if (pthread_create(&threads[started], NULL, worker_main, &workers[started])) break;
  if (started == 0) {
    r = swath_error_set(SWATH_EIO, "cannot start worker threads");
  } else {
    swath_progress pg;
    swath_progress_init(&pg, "tasks", stats->total, opts->progress);
    swath_progress_set_total(&pg, stats->total, !exact);
    for (;;) {
      pthread_mutex_lock(&rc->lock);
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      int finished = (swath_plan_finished(rc->plan) || rc->stop || g_interrupted) && rc->in_flight == 0;
      if (!finished) pthread_cond_timedwait(&rc->cond, &rc->lock, &ts);
      int64_t finished_tasks = rc->done + rc->empty + rc->failed;
      const swath_plan_counts *pc = swath_plan_counts_get(rc->plan);
      finished_tasks += pc->skipped + pc->empty;
      int64_t failed = rc->failed;
      rc->store->flush(rc->store_state);
      pthread_mutex_unlock(&rc->lock);
      if (!exact) {
        int64_t total = swath_task_count_get(count, &exact);
        swath_progress_set_total(&pg, total, !exact);
      }
      swath_progress_show(&pg, finished_tasks, failed);
      if (finished) break;
    }
    swath_progress_end(&pg);
    /* Workers leave once the plan is finished; wake any that wait. */
    pthread_mutex_lock(&rc->lock);
    rc->stop = 1;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
  }
  for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
  for (int i = 0; i < started && !r; i++)
    if (workers[i].failed_open) r = swath_error_set(workers[i].failed_open, "%s", workers[i].open_msg);
  if (fetching) {
    /* Computing is over: what the fetch stage still has queued is not needed. */
    pthread_mutex_lock(&rc->lock);
    rc->stop = 1;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
    fetch_totals(rc, &stats->fetch); /* before the cancel counts aborts */
    for (int i = 0; i < job->ninputs; i++)
      if (rc->fetchers[i]) swath_fetch_cancel(rc->fetchers[i], "the run is over");
    pthread_join(fetch_thread, NULL);
  }
out_walk:
  if (online) walk_free(&fw);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (!r) r = rc->store->flush(rc->store_state);

  /* The count outlives only runs cut short; it is in long before a whole run ends. */
  swath_task_count_wait(count, swath_plan_finished(rc->plan) ? 3600 : 0);
  stats->total = swath_task_count_get(count, &exact);
  const swath_plan_counts *pc = swath_plan_counts_get(rc->plan);
  stats->done = rc->done;
  stats->leaves = rc->leaves;
  stats->overviews = rc->built;
  stats->empty = rc->empty + pc->empty;
  stats->skipped = pc->skipped;
  stats->failed = rc->failed;
  stats->tiles_written = rc->tiles_written;
  stats->pixels = rc->pixels;
  stats->read_busy = rc->read_busy;
  stats->compute_busy = rc->compute_busy;
  stats->write_busy = rc->write_busy;
  stats->workers = nworkers;
  if (!fetching) fetch_totals(rc, &stats->fetch);
  if (!r) r = finish_product(rc, job, swath_area_bounds(area), &lonlat);
  stats->seconds = swath_now() - t_start;
  summary(stats);
  if (!r && g_interrupted)
    r = swath_error_set(SWATH_EINTR, "interrupted; run the same command again to resume");
  else if (!r && !swath_plan_finished(rc->plan))
    r = swath_error_set(SWATH_EINTERNAL, "the plan did not finish (a bug): rerun to resume");
  else if (!r && rc->failed)
    r = swath_error_set(SWATH_EIO, "%lld task(s) failed; listed in %s/%s/failed.txt; run again to retry",
                        (long long)rc->failed, job->out_path, SWATH_STATE_DIR);
  if (rc->stale_below)
    swath_warn("%lld overview task(s) at zoom %d, below this run's zooms, are now older than their "
               "children: "
               "run again with --zoom from %d (or lower) over this area to rebuild them",
               (long long)rc->stale_below, job->min_zoom - 1, job->min_zoom - 1);

out:
  if (workers) {
    for (int i = 0; i < nworkers; i++) {
      for (int k = 0; workers[i].src && k < job->ninputs; k++)
        if (workers[i].src[k]) rc->src_vt[k]->close(workers[i].src[k]);
      free(workers[i].src);
      swath_area_free(workers[i].area);
    }
  }
  free(workers);
  free(threads);
  if (rc->failures) {
    long size = ftell(rc->failures);
    fclose(rc->failures);
    if (size == 0) {
      snprintf(path, sizeof path, "%s/%s/failed.txt", job->out_path, SWATH_STATE_DIR);
      unlink(path);
    }
  }
  swath_task_count_free(count);
  swath_plan_free(rc->plan);
  ctx_free(rc, area);
  return r;
}

/* ---- swath prefetch ---- */

typedef struct prefetch_feed {
  walk *w;
  FILE *replay; /* the previous failure list, or NULL: walk the plan */
  int rc;       /* read after the join */
} prefetch_feed;

/* Replay one line of a failure list: input, URL, path, width, height, kinds. */
static int replay_line(walk *w, char *line) {
  char *f[7], *save = NULL;
  int n = 0;
  line[strcspn(line, "\n")] = 0;
  for (char *t = strtok_r(line, "\t", &save); t && n < 7; t = strtok_r(NULL, "\t", &save)) f[n++] = t;
  if (n < 6) return 0; /* not one of ours: ignore */
  int input = -1;
  for (int i = 0; i < w->rc->job->ninputs; i++)
    if (strcmp(w->rc->job->inputs[i].name, f[0]) == 0 && (w->rc->fetchers[i] || w->rc->offline[i]))
      input = i;
  if (input < 0) return 0; /* the job changed: that input is gone */
  /* The list holds URLs with their secrets redacted: the job's (current)
   * values go back in. */
  swath_secrets sec;
  char *url = NULL;
  int rc = swath_secrets_collect(w->rc->job->inputs[input].cfg, &sec);
  if (!rc) {
    rc = swath_secrets_restore(&sec, f[1], &url);
    swath_secrets_free(&sec);
  }
  if (rc)
    return swath_error_set(rc, "input %s: cannot replay %s: %s", f[0], f[1], swath_error_message());
  swath_fetch_req r = {.url = url,
                       .dest = *f[2] ? f[2] : NULL,
                       .expect_width = atoi(f[3]),
                       .expect_height = atoi(f[4]),
                       .kinds = (unsigned)strtoul(f[5], NULL, 10)};
  walk_submit ws = {w, input, 0, 0};
  submit_request(&ws, &r);
  free(url);
  return ws.rc;
}

static void *prefetch_main(void *arg) {
  prefetch_feed *pf = arg;
  walk *w = pf->w;
  if (pf->replay) {
    char line[16384];
    while (!pf->rc && !g_interrupted && fgets(line, sizeof line, pf->replay)) pf->rc = replay_line(w, line);
  } else {
    swath_task t;
    while (!pf->rc && !g_interrupted && walk_next(w, &t)) {
      if (t.kind != SWATH_TASK_LEAF) continue;
      pf->rc = walk_leaf(w, t.mt, 0);
      pthread_mutex_lock(&w->mu);
      w->leaves++;
      pthread_mutex_unlock(&w->mu);
    }
  }
  if (pf->rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", swath_error_message());
    swath_error_set(pf->rc, "%s", msg);
  }
  pthread_mutex_lock(&w->mu);
  w->fed = 1;
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int swath_prefetch(const swath_job *job, const swath_prefetch_opts *opts, swath_prefetch_stats *stats) {
  memset(stats, 0, sizeof *stats);
  double t_start = swath_now();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  run_ctx rc_s = {0}, *rc = &rc_s;
  rc->job = job;
  rc->g = &job->grid;
  rc->m = job->metatiling;
  pthread_mutex_init(&rc->lock, NULL);
  pthread_cond_init(&rc->cond, NULL);
  swath_area *area = NULL;
  walk w;
  memset(&w, 0, sizeof w);
  int walk_made = 0;
  FILE *replay = NULL;
  char state_dir[4096], path[4200], old[4300];
  swath_task_count *leaves = NULL; /* the process tiles the walk will visit */
  int r = setup(rc, &area, opts->yes);
  if (!r && !rc->nremote)
    r = swath_error_set(SWATH_EINVAL, "%s: no remote inputs (xyz, wmts, wms): nothing to prefetch", job->path);
  int overviews = job->overviews && swath_plan_grid_is_quadtree(rc->g, job->min_zoom, job->max_zoom);
  snprintf(state_dir, sizeof state_dir, "%s/%s", job->out_path, SWATH_STATE_DIR);
  snprintf(path, sizeof path, "%s/prefetch-failed.txt", state_dir);
  snprintf(old, sizeof old, "%s.replay", path);
  if (!r && mkdir_p(state_dir))
    r = swath_error_set(SWATH_EINVAL, "output: cannot create '%s': %s", state_dir, strerror(errno));
  if (!r && opts->retry_failed) {
    if (rename(path, old) != 0 && errno != ENOENT)
      r = swath_error_set(SWATH_EIO, "cannot move '%s' aside: %s", path, strerror(errno));
    else if (!(replay = fopen(old, "r")))
      swath_info("%s: no failures to retry", path);
  }
  if (!r) {
    walk_made = 1; /* walk_init leaves it freeable whatever happens */
    r = walk_init(&w, rc, area, overviews, NULL, NULL);
  }
  /* No pass to count the requests first: over a large area it would keep
   * the servers waiting for minutes. The progress total is estimated from
   * the requests per process tile so far until the walk is over. */
  if (!r && !opts->retry_failed)
    r = swath_task_count_start(rc->g, area, overviews ? job->max_zoom : job->min_zoom,
                               job->max_zoom, rc->m, &leaves);
  if (!r && (opts->retry_failed ? replay != NULL : 1)) {
    w.prefetch = 1;
    if (!(w.failures = fopen(path, "w")))
      r = swath_error_set(SWATH_EINVAL, "cannot write '%s': %s", path, strerror(errno));
  }
  if (!r && w.prefetch) {
    swath_job_size_note(job, area, remote_input(rc), top_zoom_only(rc));
    int exact = 0;
    if (leaves) swath_task_count_wait(leaves, 0.2);
    int64_t nleaves = leaves ? swath_task_count_get(leaves, &exact) : 0;
    if (leaves)
      swath_info("%s: prefetching the requests of %s%lld process tiles at zooms %d-%d into %s",
                 job->path, exact ? "" : "about ", (long long)nleaves, job->min_zoom, job->max_zoom,
                 job->cache_dir);
    else
      swath_info("%s: prefetching the failed requests at zooms %d-%d into %s", job->path,
                 job->min_zoom, job->max_zoom, job->cache_dir);
    g_interrupted = 0;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    prefetch_feed pf = {&w, replay, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, prefetch_main, &pf)) {
      r = swath_error_set(SWATH_EIO, "cannot start a thread");
    } else {
      swath_progress pg;
      swath_progress_init(&pg, "requests", -1, opts->progress);
      /* Poll often (the end of a short run should not wait), draw 5 times a
       * second. Over when everything is submitted and has had its callback. */
      double drawn = 0;
      for (;;) {
        pthread_mutex_lock(&w.mu);
        int64_t finished = w.fetched + w.cached + w.empty + w.failed + w.aborted;
        int64_t failed = w.failed + w.aborted, requests = w.requests, walked = w.leaves;
        int fed = w.fed, over = w.fed && finished >= w.requests;
        pthread_mutex_unlock(&w.mu);
        if (fed) {
          swath_progress_set_total(&pg, requests, 0);
        } else if (leaves && walked > 0) {
          nleaves = swath_task_count_get(leaves, &exact);
          double guess = (double)requests * (double)nleaves / (double)walked;
          swath_progress_set_total(&pg, guess > requests ? (int64_t)guess : requests, 1);
        }
        if (over || swath_now() - drawn >= 0.2) {
          swath_progress_show(&pg, finished, failed);
          drawn = swath_now();
        }
        if (g_interrupted)
          for (int i = 0; i < job->ninputs; i++)
            if (rc->fetchers[i]) swath_fetch_cancel(rc->fetchers[i], "interrupted");
        if (over) break;
        usleep(10000);
      }
      pthread_join(th, NULL);
      swath_progress_end(&pg);
      if (pf.rc) r = pf.rc;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  if (w.failures) {
    long size = ftell(w.failures);
    fclose(w.failures);
    if (size == 0) unlink(path);
  }
  if (replay) {
    fclose(replay);
    unlink(old);
  }
  stats->fetched = w.fetched;
  stats->cached = w.cached;
  stats->empty = w.empty;
  stats->failed = w.failed;
  stats->aborted = w.aborted;
  stats->requests = w.requests;
  swath_fetch_stats fs;
  fetch_totals(rc, &fs);
  stats->bytes = fs.bytes;
  stats->attempts = fs.requests;
  stats->seconds = swath_now() - t_start;
  if (!r && w.prefetch) {
    swath_info("prefetch finished in %.1f s: %lld requests: %lld fetched, %lld already cached, %lld empty, "
               "%lld failed, %lld aborted; %.1f MB in %llu HTTP requests (%.1f requests/s, %llu retries)",
               stats->seconds, (long long)stats->requests, (long long)stats->fetched, (long long)stats->cached,
               (long long)stats->empty, (long long)stats->failed, (long long)stats->aborted, stats->bytes / 1e6,
               (unsigned long long)fs.requests, stats->seconds > 0 ? fs.requests / stats->seconds : 0,
               (unsigned long long)fs.retries);
    if (fs.cache_invalid)
      swath_warn("%llu cached file(s) failed the checks a download gets (damaged): requested again",
                 (unsigned long long)fs.cache_invalid);
    if (g_interrupted) r = swath_error_set(SWATH_EINTR, "interrupted; run the same command again to resume");
    else if (stats->failed || stats->aborted)
      r = swath_error_set(SWATH_EIO, "%lld request(s) failed; listed in %s; retry them with --retry-failed",
                          (long long)(stats->failed + stats->aborted), path);
  }
  if (walk_made) walk_free(&w);
  swath_task_count_free(leaves);
  ctx_free(rc, area);
  return r;
}

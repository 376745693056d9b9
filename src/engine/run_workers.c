/* run_workers.c: the compute stage of a run. N threads take the next task
 * from the plan under one lock; each owns its input handles (GDAL handles
 * are not shared) and its copy of the area; a task is read, processed, cut
 * into tiles, written, recorded, and its halved pixels handed to the parent
 * so overviews are built as soon as their children are done. A task's state
 * is recorded only after its tiles were renamed into place, so kill -9 at
 * any moment costs at most the tasks in flight. */
#include "engine/run_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/raster.h"
#include "core/secret.h"

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
swath_read_req swath__leaf_req(const run_ctx *rc, swath_tile mt) {
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

int swath__read_leaf(worker *w, swath_tile mt, swath__leaf_inputs *li) {
  run_ctx *rc = w->rc;
  const swath_job *job = rc->job;
  swath_read_req req = swath__leaf_req(rc, mt);
  double t0 = swath_now();
  *li = (swath__leaf_inputs){.mt = mt};
  li->in = calloc((size_t)job->ninputs, sizeof *li->in);
  if (!li->in) return li->r = swath_error_set(SWATH_ENOMEM, "out of memory");
  int r = 0;
  for (int i = 0; i < job->ninputs && !r; i++) {
    r = rc->src_vt[i]->read(w->src[i], &req, &li->in[i]);
    if (r == SWATH_EEMPTY) {
      /* No data from this input here: an all-masked block keeps band maths simple. */
      swath_dtype dt = req.dtype ? req.dtype : rc->src_info[i].dtype;
      r = swath_raster_alloc(&li->in[i], req.width, req.height, rc->src_info[i].bands, dt);
      if (!r) memset(li->in[i].mask, 0, (size_t)req.width * req.height);
    } else if (!r) {
      li->any = 1;
    }
  }
  li->t_read = swath_now() - t0;
  if (r) snprintf(li->msg, sizeof li->msg, "%s", swath_error_message());
  return li->r = r;
}

void swath__leaf_inputs_free(const run_ctx *rc, swath__leaf_inputs *li) {
  for (int i = 0; li->in && i < rc->job->ninputs; i++)
    swath_raster_free(&li->in[i]);
  free(li->in);
  li->in = NULL;
}

/* Compute a leaf from the inputs into the metatile block (interior only).
 * Returns 0 with *block filled, SWATH_EEMPTY, or an error. A vector
 * process's leaf (fs set) fills fs instead, and block is NULL. `pre`: the
 * leaf's inputs read ahead (run_ahead.c; consumed), or NULL to read them
 * here. */
static int compute_leaf(worker *w, swath_tile mt, swath_raster *block, double *t_read,
                        double *t_comp, swath_features *fs, swath__leaf_inputs *pre) {
  run_ctx *rc = w->rc;
  const swath_job *job = rc->job;
  int mw, mh;
  swath_grid_metatile_size(rc->g, mt, rc->m, &mw, &mh);
  double res = rc->g->m[mt.z].cell_size;
  int buf = rc->buffer;
  swath_read_req req = swath__leaf_req(rc, mt);
  swath__leaf_inputs li;
  if (pre) {
    li = *pre;
    *pre = (swath__leaf_inputs){0};
    if (li.r) swath_error_set(li.r, "%s", li.msg);
  } else {
    swath__read_leaf(w, mt, &li);
  }
  swath_raster *in = li.in;
  if (!in) return li.r;
  int any = li.any, r = li.r;
  *t_read += li.t_read;
  double t1 = swath_now();
  swath_raster out = {0};
  if (!r && !any) r = SWATH_EEMPTY;
  if (!r)
    r = fs ? swath_raster_alloc(&out, req.width, req.height, 1, SWATH_DT_BYTE)
           : swath_raster_alloc(&out, req.width, req.height, rc->info.out_bands,
                                rc->info.out_dtype);
  if (!r) {
    size_t px = (size_t)req.width * req.height;
    for (int i = 0; i < job->ninputs; i++)
      for (size_t k = 0; k < px; k++)
        out.mask[k] &= in[i].mask[k];
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
        .col0 = (long long)(mt.x * rc->m * rc->g->m[mt.z].tile_width - buf),
        .row0 = (long long)(mt.y * rc->m * rc->g->m[mt.z].tile_height - buf),
        .features = fs,
    };
    swath_error_clear();
    r = rc->proc.vt->run(rc->proc_state, &ctx);
    if (r && r != SWATH_EEMPTY && !*swath_error_message())
      swath_error_set(r, "process %s failed without a message", rc->proc.vt->name);
  }
  swath__leaf_inputs_free(rc, &li);
  if (fs) {
    swath_raster_free(&out);
    *t_comp += swath_now() - t1;
    return r;
  }
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

/* A leaf is computed: its fetched tiles leave the queue between the
 * stages (the fetch stage may run further ahead). Under rc->lock. */
static void leaf_computed(run_ctx *rc) {
  int64_t slot = ++rc->compute_seq % FETCH_RING;
  rc->ahead_bytes -= rc->ring[slot];
  rc->ring[slot] = 0;
}

static void record_failure(run_ctx *rc, swath_tile mt, const char *msg) {
  /* Under rc->lock. */
  rc->failed++;
  char text[1024];
  swath_redact(msg, text, sizeof text); /* (error messages are already) */
  msg = text;
  if (!rc->first_failure[0]) {
    int n = snprintf(rc->first_failure, sizeof rc->first_failure, "task %d/%lld/%lld: ", mt.z,
                     (long long)mt.x, (long long)mt.y);
    size_t k = strlen(msg), room = n > 0 ? sizeof rc->first_failure - (size_t)n - 1 : 0;
    if (k > room) k = room;
    memcpy(rc->first_failure + n, msg, k);
    rc->first_failure[n + k] = 0;
  }
  rc->store->mark(rc->store_state, mt, SWATH_TASK_FAILED, msg, NULL, NULL, 0);
  if (rc->failures) {
    fprintf(rc->failures, "%d/%lld/%lld\t%s\n", mt.z, (long long)mt.x, (long long)mt.y, msg);
    fflush(rc->failures);
  }
  if (rc->failed <= 5)
    swath_warn("task %d/%lld/%lld failed: %s", mt.z, (long long)mt.x, (long long)mt.y, msg);
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
  swath_plan_covered(rc->g, rc->m, t->mt, (int)s, old, t->node ? t->node->partial : NULL, made);
  return made;
}

/* A vector process's task: its features, the ones it owns in the area's
 * tiles, replace what an earlier attempt wrote there (in one transaction,
 * features.h), and only then is the task recorded: killed in between, the
 * task runs again and writes the same features once. No tiles, no parent
 * (one zoom, no overviews). */
void swath__run_vector_task(worker *w, swath_task *t, swath__leaf_inputs *pre) {
  run_ctx *rc = w->rc;
  const swath_tile_matrix *tm = &rc->g->m[t->mt.z];
  swath_tile_range tr = swath_grid_metatile_tiles(rc->g, t->mt, rc->m);
  size_t mm = (size_t)rc->m * rc->m;
  unsigned char *made = calloc(2, mm); /* the area's tiles, then scratch for task_covered */
  double t_read = 0, t_comp = 0;
  int r = made ? 0 : swath_error_set(SWATH_ENOMEM, "out of memory"), all = 1;
  for (int64_t ty = tr.miny; made && ty <= tr.maxy; ty++)
    for (int64_t tx = tr.minx; tx <= tr.maxx; tx++) {
      swath_tile tile = {t->mt.z, tx, ty};
      int in = rc->m == 1 || swath_area_intersects(w->area, swath_grid_tile_bounds(rc->g, tile));
      made[(ty - tr.miny) * rc->m + (tx - tr.minx)] = (unsigned char)in;
      all &= in;
    }
  swath_features fs = {
      .zoom = t->mt.z,
      .col0 = tr.minx * tm->tile_width - rc->buffer,
      .row0 = tr.miny * tm->tile_height - rc->buffer,
      .tx0 = tr.minx,
      .ty0 = tr.miny,
      .m = rc->m,
      .ntx = (int)(tr.maxx - tr.minx + 1),
      .nty = (int)(tr.maxy - tr.miny + 1),
      .tile_width = tm->tile_width,
      .tile_height = tm->tile_height,
      .origin_x = tm->origin_x,
      .origin_y = tm->origin_y,
      .made = made,
  };
  if (!r) r = compute_leaf(w, t->mt, NULL, &t_read, &t_comp, &fs, pre);
  double t0 = swath_now();
  if (!r || r == SWATH_EEMPTY) {
    int wr = rc->fstore->write_task(rc->fstore_state, t->mt, rc->m, all ? NULL : made, fs.v, fs.n);
    if (wr) r = wr;
  }
  if (!r && fs.n == 0) r = SWATH_EEMPTY;
  double t_write = swath_now() - t0;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", swath_error_message());

  pthread_mutex_lock(&rc->lock);
  leaf_computed(rc);
  rc->read_busy += t_read;
  rc->compute_busy += t_comp;
  rc->write_busy += t_write;
  if (r == 0 || r == SWATH_EEMPTY) {
    const unsigned char *covered = task_covered(rc, t, 1, made, made + mm);
    rc->leaves++;
    if (r == 0) {
      rc->done++;
      rc->features += fs.n;
      swath_tile_range range = {t->mt.z, tr.minx, tr.miny, tr.maxx, tr.maxy};
      rc->store->mark(rc->store_state, t->mt, SWATH_TASK_DONE, NULL, &range, covered, (int)mm);
    } else {
      rc->empty++;
      rc->store->mark(rc->store_state, t->mt, SWATH_TASK_EMPTY, NULL, NULL, covered, (int)mm);
    }
  } else {
    record_failure(rc, t->mt, msg[0] ? msg : "unknown error");
  }
  pthread_mutex_unlock(&rc->lock);
  swath_features_clear(&fs);
  free(made);
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
  else if (t->kind == SWATH_TASK_LEAF) {
    r = compute_leaf(w, t->mt, &block, &t_read, &t_comp, NULL, NULL);
    if (t->node && (!r || r == SWATH_EEMPTY)) /* over children on disk (plan.h) */
      r = swath_overview_over_inputs(&rc->ov, t->node, &block, select = handled + mm);
  } else {
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
  if (t->kind == SWATH_TASK_LEAF) leaf_computed(rc);
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
  if (t->node) {
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

int swath__claim_task(run_ctx *rc, swath_task *t, int wait) {
  pthread_mutex_lock(&rc->lock);
  int got = 0;
  while (!rc->stop && !swath__stopping(rc)) {
    if ((got = swath_plan_next(rc->plan, t))) break;
    if (!wait || swath_plan_finished(rc->plan) || rc->in_flight == 0) break;
    pthread_cond_wait(&rc->cond, &rc->lock);
  }
  if (got) rc->in_flight++;
  pthread_mutex_unlock(&rc->lock);
  return got;
}

void swath__task_finished(run_ctx *rc) {
  pthread_mutex_lock(&rc->lock);
  rc->in_flight--;
  pthread_cond_broadcast(&rc->cond);
  pthread_mutex_unlock(&rc->lock);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  run_ctx *rc = w->rc;
  if (worker_open(w)) return NULL;
  if (rc->fstore && rc->read_ahead) {
    swath__vector_loop(w);
  } else {
    swath_task t;
    while (swath__claim_task(rc, &t, 1)) {
      if (rc->fstore)
        swath__run_vector_task(w, &t, NULL);
      else
        run_task(w, &t);
      swath__task_finished(rc);
    }
  }
  pthread_mutex_lock(&rc->lock);
  pthread_cond_broadcast(&rc->cond);
  pthread_mutex_unlock(&rc->lock);
  return NULL;
}

int swath__workers_new(swath__workers *p, run_ctx *rc, const swath_area *area, int n) {
  memset(p, 0, sizeof *p);
  p->w = calloc((size_t)n, sizeof *p->w);
  p->threads = calloc((size_t)n, sizeof *p->threads);
  if (!p->w || !p->threads) return swath_error_set(SWATH_ENOMEM, "out of memory");
  p->n = n;
  int r = 0;
  for (int i = 0; i < n && !r; i++) {
    p->w[i].rc = rc;
    p->w[i].src = calloc((size_t)rc->job->ninputs, sizeof(void *));
    p->w[i].area = rc->m > 1 ? swath_area_clone(area) : NULL;
    if (!p->w[i].src || (rc->m > 1 && !p->w[i].area))
      r = swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  return r;
}

int swath__workers_start(swath__workers *p) {
  for (; p->started < p->n; p->started++)
    if (pthread_create(&p->threads[p->started], NULL, worker_main, &p->w[p->started])) break;
  return p->started ? 0 : swath_error_set(SWATH_EIO, "cannot start worker threads");
}

int swath__workers_join(swath__workers *p, int r) {
  for (int i = 0; i < p->started; i++)
    pthread_join(p->threads[i], NULL);
  for (int i = 0; i < p->started && !r; i++)
    if (p->w[i].failed_open) r = swath_error_set(p->w[i].failed_open, "%s", p->w[i].open_msg);
  return r;
}

void swath__workers_free(swath__workers *p, run_ctx *rc) {
  for (int i = 0; p->w && i < p->n; i++) {
    for (int k = 0; p->w[i].src && k < rc->job->ninputs; k++)
      if (p->w[i].src[k]) rc->src_vt[k]->close(p->w[i].src[k]);
    free(p->w[i].src);
    swath_area_free(p->w[i].area);
  }
  free(p->w);
  free(p->threads);
  memset(p, 0, sizeof *p);
}

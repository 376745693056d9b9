/* stage.h: a queued task's tiles written aside and moved into place only
 * when the queue accepts the task (fenced completion, engine/queue.h), so
 * a worker whose lease was taken over never replaces the newer attempt's
 * tiles, and a worker killed mid-task leaves nothing in the output.
 *
 * The staged sink wraps the job's sink (the "output" instance, opened on
 * the output folder): write_tile goes to a second instance of the same sink
 * opened on the task's staging folder, {output}/.swath/stage/{z}-{x}-{y}.a{attempt}
 * (on the output's file system, so a commit is renames); read_tile reads the
 * stage first, then the output (an overview inside the task reads what the
 * task wrote); remove_tile is recorded and done at commit; has_tiles,
 * set_extent and finish go to the output. Sinks whose output is not a
 * folder of files cannot be staged (swath_stage_new refuses them). */
#ifndef SWATH_ENGINE_STAGE_H
#define SWATH_ENGINE_STAGE_H

#include "core/grid.h"
#include "io/sink.h"

typedef struct swath_stage swath_stage;

/* The sink whose state is a swath_stage. */
extern const swath_sink_vtable swath_sink_staged;

/* A stage over the output instance (inner, out_state: not owned) of the
 * sink opened with `cfg` (kept: its pointers must outlive the stage). */
int swath_stage_new(const swath_sink_vtable *inner, void *out_state, const swath_sink_cfg *cfg,
                    swath_stage **out);
/* Start a task: its staging folder made empty (what an earlier attempt
 * there left is removed, as are the folders of the task's attempts before
 * `attempt`) and the stage instance opened on it. */
int swath_stage_begin(swath_stage *s, swath_tile root, int attempt);
/* Move every staged file into the output (same relative path, folders
 * made), remove the recorded tiles, and remove the staging folder. Called
 * inside the queue's fenced completion, which may call it again (the
 * connection dropped before the COMMIT): a second call finishes what the
 * first left and does nothing twice. */
int swath_stage_commit(swath_stage *s);
/* Drop the task's staged files (a failed or refused task). */
void swath_stage_discard(swath_stage *s);
/* Remove the whole staging root {output}/.swath/stage (the job is over). */
void swath_stage_remove_all(const char *output);
void swath_stage_free(swath_stage *s);

#endif

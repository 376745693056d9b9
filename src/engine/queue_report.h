/* queue_report.h: a queued job's progress as people and programs read it,
 * written once for `swath status` and the job service. */
#ifndef SWATH_ENGINE_QUEUE_REPORT_H
#define SWATH_ENGINE_QUEUE_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "engine/queue.h"

/* Percent of the job's tasks finished (done, empty or failed), 0-100. */
double swath_qjob_percent(const swath_qjob *j);
/* The job's figures as a JSON object (new reference; NULL if out of
 * memory): id, state, process file, output, zooms, tasks by state, tiles,
 * percent, rate, eta, workers, expired leases, fenced completions, last
 * error, times (ISO 8601 UTC). */
json_t *swath_qjob_json(const swath_qjob *j);
/* The same in a few lines for people. */
void swath_qjob_print(FILE *f, const swath_qjob *j);

#endif

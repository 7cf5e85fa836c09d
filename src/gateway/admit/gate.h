/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_ADMIT_ADMIT_STAGE_H
#define JITWG_GATEWAY_ADMIT_ADMIT_STAGE_H

/*
 * The admit stage: the queue every ingest source submits to (ingest.h),
 * one thread that owns the seen-ephemeral filter (ephemeral.h: replays
 * dropped, jitwg_admit_duplicate_total) and the per-source token buckets
 * (admit.h), and hands what they pass to identification in batches. The buckets engage when the
 * gateway-wide rate passes the threshold or the identify queue is more than
 * half full.
 *
 * Queue: 4096 initiations; full -> drop newest (jitwg_admit_queue_dropped_total).
 *
 * Threads: admit_stage_reconfigure() from any thread (applied on the
 * stage's thread before its next batch); new/stop/free from one thread.
 */

#include "gateway/admit/admit.h"
#include "gateway/identify/identify.h"
#include "gateway/ingest/ingest.h"
#include "gateway/core/metrics.h"

struct admit_stage_config {
	struct admit_config buckets;
	size_t queue_cap;             /* initiations (4096) */
	struct identify *identify;    /* the next stage; not owned */
	struct metrics *metrics;      /* not owned */
};

/* Returns the running stage or NULL with errno set. */
struct admit_stage *admit_stage_new(const struct admit_stage_config *cfg);
/* Refuses new submissions, passes on what is queued, joins the thread. Idempotent. */
void admit_stage_stop(struct admit_stage *a);
/* Stops if needed and frees. NULL is a no-op. */
void admit_stage_free(struct admit_stage *a);
/* New rate/burst/threshold for the buckets (table size is kept). */
void admit_stage_reconfigure(struct admit_stage *a, const struct admit_config *cfg);

#endif

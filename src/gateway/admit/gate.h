/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_ADMIT_GATE_H
#define JITWG_GATEWAY_ADMIT_GATE_H

/*
 * The admission gate: what every ingest source runs on its own thread, in
 * ingest_submit() (ingest.h), before anything is queued. It owns the
 * seen-ephemeral filter (ephemeral.h: replays dropped,
 * jitwg_admit_duplicate_total) and the per-source token buckets (admit.h),
 * and hands what they pass to identification in one push per batch; a
 * lone initiation that finds identify's queue empty is decoded on the
 * source's thread instead, at most 100 a second (the quiet path, gate.c).
 * The buckets engage when the gateway-wide rate passes the threshold or the
 * identify queue is more than half full.
 *
 * Why not a stage of its own: its work per initiation is two table
 * look-ups, far less than a hand-off to another thread costs (a wake-up,
 * 80-300 us on a VM, on every cold connect: docs/PERFORMANCE.md
 * "coldconnect"). Junk is still shed before the first queue (identify's).
 * The quiet path saves the next wake-up, a worker's, where that is cheap.
 *
 * Threads: ingest_submit() and admit_gate_reconfigure() from any thread
 * (one mutex serialises the sources; the new configuration applies from
 * the next batch); new/stop/free from one thread.
 */

#include "gateway/admit/admit.h"
#include "gateway/identify/identify.h"
#include "gateway/ingest/ingest.h"
#include "gateway/core/metrics.h"

struct admit_gate_config {
	struct admit_config buckets;
	struct identify *identify;    /* the next stage; not owned */
	struct metrics *metrics;      /* not owned */
};

/* Returns the gate or NULL with errno set. */
struct admit_gate *admit_gate_new(const struct admit_gate_config *cfg);
/* Refuses new submissions from now on; one in progress completes first. Idempotent. */
void admit_gate_stop(struct admit_gate *a);
/* Frees (call after every source has stopped). NULL is a no-op. */
void admit_gate_free(struct admit_gate *a);
/* New rate/burst/threshold for the buckets (table size is kept). */
void admit_gate_reconfigure(struct admit_gate *a, const struct admit_config *cfg);

#endif

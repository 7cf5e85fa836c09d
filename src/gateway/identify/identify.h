/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_IDENTIFY_IDENTIFY_H
#define JITWG_GATEWAY_IDENTIFY_IDENTIFY_H

/*
 * The identify stage: admitted initiations in a bounded queue, a few
 * threads each with its own ss cache running the authenticated decoder
 * (src/noise). Only a NOISE_OK verdict moves on, to the replay guard at the
 * lookup stage's door (lookup_submit()). Every verdict is counted.
 *
 * Queue: 4096 initiations; full -> drop newest (jitwg_identify_queue_dropped_total).
 * A replay the guard refuses becomes a NOTICE_REPLAY_SEEN to the install
 * stage (notice.h), which keeps the peer's endpoint where it was.
 *
 * Threads: identify_push() and identify_loaded() from any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include "gateway/ingest/ingest.h"
#include "gateway/core/notice.h"
#include "gateway/lookup/lookup.h"
#include "gateway/core/metrics.h"
#include "noise/noise.h"

struct identify_config {
	unsigned int threads;                 /* >= 1 */
	size_t queue_cap;                     /* initiations (4096) */
	size_t sscache_cap;                   /* per thread (4096) */
	const struct noise_responder *responder; /* shared, read-only; not owned */
	struct lookup *lookup;                /* not owned */
	struct notice_inbox replays;          /* NOTICE_REPLAY_SEEN goes here (send NULL: nowhere) */
	struct metrics *metrics;              /* not owned */
};

struct identify;

/* Starts the threads. Returns NULL with errno set. */
struct identify *identify_new(const struct identify_config *cfg);

/* Refuses new work, decodes what is queued, joins the threads. Idempotent; NULL is a no-op. */
void identify_stop(struct identify *id);

/* Stops if needed and frees. NULL is a no-op. */
void identify_free(struct identify *id);

/*
 * Queues n initiations; those that don't fit are dropped and counted.
 * Returns how many were queued. Never blocks.
 */
size_t identify_push(struct identify *id, const struct ingest_initiation *in, size_t n);

/* True while the queue is more than half full: admission should engage. */
bool identify_loaded(const struct identify *id);

/* True while nothing is queued. */
bool identify_idle(const struct identify *id);

/*
 * Decodes one initiation on the caller's thread, with the caller's ss cache
 * (never one a worker or another thread is using; NULL computes ss), and
 * passes it on exactly as a worker would. The quiet path of admit/gate.c.
 */
void identify_now(struct identify *id, struct noise_sscache *cache, const struct ingest_initiation *in);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_WORKERS_H
#define JITWG_GATEWAY_WORKERS_H

/*
 * The identify stage: a bounded queue of admitted initiations and a few
 * worker threads, each with its own ss cache, running the authenticated
 * decoder. Only a NOISE_OK verdict moves on, to lookup_submit() (which runs
 * the replay guard). Every verdict is counted.
 *
 * Threads: workers_push() is called by one producer (the capture thread);
 * workers_loaded() from any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include "capture/capture.h"
#include "gateway/install.h"
#include "gateway/lookup.h"
#include "gateway/metrics.h"
#include "noise/noise.h"

struct workers_config {
	unsigned int threads;                 /* >= 1 */
	size_t queue_cap;                     /* packets (4096) */
	size_t sscache_cap;                   /* per thread (4096) */
	const struct noise_responder *responder; /* shared, read-only; not owned */
	struct lookup *lookup;                /* not owned */
	struct installer *installer;          /* told about replays; not owned, may be NULL */
	struct metrics *metrics;              /* not owned */
};

struct workers;

/* Starts the threads. Returns NULL with errno set. */
struct workers *workers_new(const struct workers_config *cfg);

/*
 * Decodes what is queued, then stops and joins the threads (drain). NULL is
 * a no-op.
 */
void workers_free(struct workers *w);

/*
 * Queues n packets; those that don't fit are dropped and counted in
 * identify_queue_dropped. Returns how many were queued. Never blocks.
 */
size_t workers_push(struct workers *w, const struct capture_pkt *pkts, size_t n);

/* True while the queue is more than half full: admission should engage. */
bool workers_loaded(struct workers *w);

#endif

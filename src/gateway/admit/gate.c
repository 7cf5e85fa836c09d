// SPDX-License-Identifier: MIT
#include "gateway/admit/admit-stage.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "gateway/admit/ephemeral.h"
#include "gateway/core/stage.h"

/* The seen-ephemeral filter (ephemeral.h): 2 x 2^17 slots (2 MiB), 10 s generations. */
enum { ADMIT_BATCH = 64, EPHEMERAL_SLOTS = 1 << 17 };
#define EPHEMERAL_WINDOW_NS 10000000000ULL

struct admit_stage {
	struct stage *st;
	struct admit *buckets;        /* stage thread only */
	struct ephemeral_filter *seen; /* stage thread only */
	struct identify *identify;
	struct metrics *m;
	pthread_mutex_t mu;           /* pending */
	bool has_pending;
	struct admit_config pending;
};

static const char *const source_names[INGEST_SOURCE_MAX] = { "capture", "relay" };

const char *ingest_source_name(enum ingest_source s)
{
	return (unsigned)s < INGEST_SOURCE_MAX ? source_names[s] : "unknown";
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static void admit_handle(void *ctx, void *tls, void *items, size_t n)
{
	struct admit_stage *a = ctx;
	struct ingest_initiation *in = items, pass[ADMIT_BATCH];
	size_t i, np = 0;

	for (i = 0; i < n; ++i) {
		bool loaded = identify_loaded(a->identify);
		bool seen = ephemeral_filter_seen(a->seen, in[i].bytes, in[i].source, ts_ns(&in[i].ts));

		if (admit_check(a->buckets, &in[i].admit_by.sa, ts_ns(&in[i].ts), loaded)) {
			/* Under load a replayed ephemeral goes before it costs a
			 * decode: per-source buckets cannot hold back one message
			 * replayed from many sources. Unloaded, a replay is
			 * decoded and meets the replay guard (endpoint restore). */
			if (seen && (loaded || admit_engaged(a->buckets))) {
				metrics_inc(&a->m->admit_duplicate);
				continue;
			}
			pass[np++] = in[i];
		} else {
			metrics_inc(&a->m->admit_dropped);
		}
	}
	metrics_gauge_set(&a->m->admit_engaged, admit_engaged(a->buckets));
	if (np)
		identify_push(a->identify, pass, np);
}

static int admit_tick(void *ctx, void *tls, bool stopping, bool *busy)
{
	struct admit_stage *a = ctx;

	pthread_mutex_lock(&a->mu);
	if (a->has_pending) {
		admit_reconfigure(a->buckets, &a->pending);
		a->has_pending = false;
	}
	pthread_mutex_unlock(&a->mu);
	return -1;
}

static const struct stage_ops admit_ops = {
	.handle = admit_handle,
	.tick = admit_tick,
};

size_t ingest_submit(struct admit_stage *a, const struct ingest_initiation *in, size_t n)
{
	return stage_push(a->st, in, n);
}

struct admit_stage *admit_stage_new(const struct admit_stage_config *cfg)
{
	struct admit_stage *a = calloc(1, sizeof(*a));
	struct stage_config sc = {
		.name = "admit",
		.item_size = sizeof(struct ingest_initiation),
		.capacity = cfg->queue_cap ? cfg->queue_cap : 4096,
		.batch = ADMIT_BATCH,
		.threads = 1,
		.ops = &admit_ops,
		.ctx = a,
		.dropped = &cfg->metrics->admit_queue_dropped,
	};
	int e;

	if (!a)
		return NULL;
	a->identify = cfg->identify;
	a->m = cfg->metrics;
	pthread_mutex_init(&a->mu, NULL);
	a->buckets = admit_new(&cfg->buckets);
	a->seen = ephemeral_filter_new(EPHEMERAL_SLOTS, EPHEMERAL_WINDOW_NS);
	if (!a->buckets || !a->seen)
		goto fail;
	a->st = stage_new(&sc);
	if (!a->st)
		goto fail;
	return a;
fail:
	e = errno;
	admit_free(a->buckets);
	ephemeral_filter_free(a->seen);
	pthread_mutex_destroy(&a->mu);
	free(a);
	errno = e;
	return NULL;
}

void admit_stage_stop(struct admit_stage *a)
{
	if (a)
		stage_stop(a->st);
}

void admit_stage_free(struct admit_stage *a)
{
	if (!a)
		return;
	stage_free(a->st);
	admit_free(a->buckets);
	ephemeral_filter_free(a->seen);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void admit_stage_reconfigure(struct admit_stage *a, const struct admit_config *cfg)
{
	pthread_mutex_lock(&a->mu);
	a->pending = *cfg;
	a->has_pending = true;
	pthread_mutex_unlock(&a->mu);
	stage_wake(a->st);
}

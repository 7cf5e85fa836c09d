/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_METRICS_H
#define JITWG_REGISTRY_METRICS_H

/*
 * The registry's own /metrics (docs/OPERATIONS.md lists them): HTTP requests
 * by route and status code, a latency histogram by route, and the store's
 * error and connection-pool figures. Counters are relaxed atomics bumped by
 * the HTTP worker threads without locks; a scrape reads each once.
 *
 * Routes are a fixed set so that a client probing random paths cannot grow
 * the label space: anything unknown counts as "other".
 */

#include <stdatomic.h>
#include <stdint.h>
#include "registry/store.h"

enum reg_route {
	REG_ROUTE_HEALTHZ = 0, /* /healthz */
	REG_ROUTE_PEERS,       /* /v1/peers (list, create) */
	REG_ROUTE_PEER,        /* /v1/peers/{key} (get, delete) */
	REG_ROUTE_POOL,        /* /v1/pool */
	REG_ROUTE_METRICS,     /* /metrics */
	REG_ROUTE_OTHER,
	REG_ROUTE_MAX,
};

enum {
	REG_STATUS_FIRST = 100,
	REG_STATUS_SLOTS = 500, /* 100..599; anything else is counted as 500 */
	REG_LATENCY_BUCKETS = 14,
};

extern const double reg_latency_bounds[REG_LATENCY_BUCKETS];

struct reg_metrics {
	atomic_uint_fast64_t requests[REG_ROUTE_MAX][REG_STATUS_SLOTS];
	atomic_uint_fast64_t latency_bucket[REG_ROUTE_MAX][REG_LATENCY_BUCKETS];
	atomic_uint_fast64_t latency_count[REG_ROUTE_MAX];
	atomic_uint_fast64_t latency_sum_ns[REG_ROUTE_MAX];
};

/* The route label of a request path (without the query string). Pure. */
enum reg_route reg_route_of(const char *path);

/* Counts one answered request. Any thread. */
void reg_metrics_observe(struct reg_metrics *m, enum reg_route route, int status, uint64_t elapsed_ns);

/*
 * The Prometheus text of m, the store's figures (s may be NULL), the
 * requests in flight and the long polls held. Returns malloc'd text or NULL + errno (ENOMEM).
 */
char *reg_metrics_render(const struct reg_metrics *m, const struct store *s, long in_flight, long feed_waiters);

#endif

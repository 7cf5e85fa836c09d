// SPDX-License-Identifier: MIT
#include "registry/metrics.h"

#include <stdio.h>
#include <string.h>

#include "common/promtext.h"

const double reg_latency_bounds[REG_LATENCY_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
};

static const char *const route_names[REG_ROUTE_MAX] = {
	"/healthz", "/v1/peers", "/v1/peers/{key}", "/v1/pool", "/metrics", "other",
};

enum reg_route reg_route_of(const char *path)
{
	static const char peers[] = "/v1/peers/";

	if (!strcmp(path, "/healthz"))
		return REG_ROUTE_HEALTHZ;
	if (!strcmp(path, "/v1/peers") || !strcmp(path, peers))
		return REG_ROUTE_PEERS;
	if (!strncmp(path, peers, sizeof(peers) - 1) && !strchr(path + sizeof(peers) - 1, '/'))
		return REG_ROUTE_PEER;
	if (!strcmp(path, "/v1/pool"))
		return REG_ROUTE_POOL;
	if (!strcmp(path, "/metrics"))
		return REG_ROUTE_METRICS;
	return REG_ROUTE_OTHER;
}

static uint64_t get(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit((atomic_uint_fast64_t *)c, memory_order_relaxed);
}

static void inc(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

void reg_metrics_observe(struct reg_metrics *m, enum reg_route route, int status, uint64_t elapsed_ns)
{
	double s = (double)elapsed_ns / 1e9;
	size_t i;

	if ((unsigned)route >= REG_ROUTE_MAX)
		route = REG_ROUTE_OTHER;
	if (status < REG_STATUS_FIRST || status >= REG_STATUS_FIRST + REG_STATUS_SLOTS)
		status = 500;
	inc(&m->requests[route][status - REG_STATUS_FIRST], 1);
	for (i = 0; i < REG_LATENCY_BUCKETS; ++i) {
		if (s <= reg_latency_bounds[i]) {
			inc(&m->latency_bucket[route][i], 1);
			break;
		}
	}
	inc(&m->latency_sum_ns[route], elapsed_ns);
	inc(&m->latency_count[route], 1);
}

char *reg_metrics_render(const struct reg_metrics *m, const struct store *s, long in_flight, long feed_waiters)
{
	struct promtext b;
	struct store_stats st = { 0 };
	uint64_t per[REG_LATENCY_BUCKETS], v;
	char labels[64];
	size_t r, i;

	promtext_init(&b);
	promtext_family(&b, "jitwg_registry_http_requests_total", "counter",
			"HTTP requests answered, by route and status code.");
	for (r = 0; r < REG_ROUTE_MAX; ++r) {
		for (i = 0; i < REG_STATUS_SLOTS; ++i) {
			v = get(&m->requests[r][i]);
			if (v)
				promtext_put(&b, "jitwg_registry_http_requests_total{route=\"%s\",code=\"%zu\"} %llu\n",
					     route_names[r], i + REG_STATUS_FIRST, (unsigned long long)v);
		}
	}
	promtext_family(&b, "jitwg_registry_http_request_duration_seconds", "histogram",
			"Time from a request's headers to its response queued, by route.");
	for (r = 0; r < REG_ROUTE_MAX; ++r) {
		for (i = 0; i < REG_LATENCY_BUCKETS; ++i)
			per[i] = get(&m->latency_bucket[r][i]);
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_names[r]);
		promtext_histogram(&b, "jitwg_registry_http_request_duration_seconds", labels, reg_latency_bounds,
				   per, REG_LATENCY_BUCKETS, get(&m->latency_count[r]),
				   (double)get(&m->latency_sum_ns[r]) / 1e9);
	}
	promtext_family(&b, "jitwg_registry_http_requests_in_flight", "gauge",
			"HTTP requests received and not yet completed.");
	promtext_put(&b, "jitwg_registry_http_requests_in_flight %ld\n", in_flight);
	promtext_family(&b, "jitwg_registry_feed_waiters", "gauge",
			"Long polls of the change feed held now (suspended connections; also counted in flight).");
	promtext_put(&b, "jitwg_registry_feed_waiters %ld\n", feed_waiters);

	if (s)
		store_stats(s, &st);
	promtext_family(&b, "jitwg_registry_store_errors_total", "counter",
			"Store operations that failed in the database (I/O, constraint or connection errors).");
	promtext_put(&b, "jitwg_registry_store_errors_total %llu\n", (unsigned long long)st.errors);
	promtext_family(&b, "jitwg_registry_store_connections", "gauge",
			"Database connections in the store's pool (--threads).");
	promtext_put(&b, "jitwg_registry_store_connections %u\n", st.connections);
	promtext_family(&b, "jitwg_registry_store_connections_in_use", "gauge",
			"Pooled database connections held by a request right now.");
	promtext_put(&b, "jitwg_registry_store_connections_in_use %u\n", st.in_use);
	promtext_family(&b, "jitwg_registry_store_connection_waits_total", "counter",
			"Store operations that found every pooled connection busy and waited.");
	promtext_put(&b, "jitwg_registry_store_connection_waits_total %llu\n", (unsigned long long)st.waits);
	return promtext_finish(&b);
}

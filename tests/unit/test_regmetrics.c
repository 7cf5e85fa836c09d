// SPDX-License-Identifier: MIT
/*
 * The registry's /metrics: route labels from a fixed set, status codes as
 * given (out of range counts as 500), a cumulative histogram per route, and
 * the store's figures (SQLite in a temporary file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "registry/metrics.h"
#include "registry/store.h"

static void test_routes(void **state)
{
	assert_int_equal(reg_route_of("/healthz"), REG_ROUTE_HEALTHZ);
	assert_int_equal(reg_route_of("/v1/peers"), REG_ROUTE_PEERS);
	assert_int_equal(reg_route_of("/v1/peers/"), REG_ROUTE_PEERS);
	assert_int_equal(reg_route_of("/v1/peers/abc"), REG_ROUTE_PEER);
	assert_int_equal(reg_route_of("/v1/peers/abc/def"), REG_ROUTE_OTHER);
	assert_int_equal(reg_route_of("/v1/pool"), REG_ROUTE_POOL);
	assert_int_equal(reg_route_of("/metrics"), REG_ROUTE_METRICS);
	assert_int_equal(reg_route_of("/random/probe"), REG_ROUTE_OTHER);
	assert_int_equal(reg_route_of(""), REG_ROUTE_OTHER);
}

static void test_render(void **state)
{
	struct reg_metrics *m = calloc(1, sizeof(*m));
	char path[] = "/tmp/test_regmetrics.XXXXXX";
	int fd = mkstemp(path);
	struct store *s;
	char *text;
	const char *want[] = {
		"# TYPE jitwg_registry_http_requests_total counter\n",
		"jitwg_registry_http_requests_total{route=\"/v1/peers/{key}\",code=\"200\"} 2\n",
		"jitwg_registry_http_requests_total{route=\"/v1/peers/{key}\",code=\"404\"} 1\n",
		"jitwg_registry_http_requests_total{route=\"other\",code=\"500\"} 1\n",
		"# TYPE jitwg_registry_http_request_duration_seconds histogram\n",
		"jitwg_registry_http_request_duration_seconds_bucket{route=\"/v1/peers/{key}\",le=\"0.0001\"} 0\n",
		"jitwg_registry_http_request_duration_seconds_bucket{route=\"/v1/peers/{key}\",le=\"0.001\"} 2\n",
		"jitwg_registry_http_request_duration_seconds_bucket{route=\"/v1/peers/{key}\",le=\"0.5\"} 3\n",
		"jitwg_registry_http_request_duration_seconds_bucket{route=\"/v1/peers/{key}\",le=\"+Inf\"} 3\n",
		"jitwg_registry_http_request_duration_seconds_count{route=\"/v1/peers/{key}\"} 3\n",
		"jitwg_registry_http_request_duration_seconds_sum{route=\"/v1/peers/{key}\"} 0.301000\n",
		"jitwg_registry_http_requests_in_flight 2\n",
		"jitwg_registry_feed_waiters 1\n",
		"jitwg_registry_store_errors_total 0\n",
		"jitwg_registry_store_connections 3\n",
		"jitwg_registry_store_connections_in_use 0\n",
		"# TYPE jitwg_registry_store_connection_waits_total counter\n",
	};
	size_t i;

	assert_non_null(m);
	assert_true(fd >= 0);
	close(fd);
	s = store_open(path, 3);
	assert_non_null(s);
	reg_metrics_observe(m, REG_ROUTE_PEER, 200, 500000);      /* 0.5 ms */
	reg_metrics_observe(m, REG_ROUTE_PEER, 200, 500000);
	reg_metrics_observe(m, REG_ROUTE_PEER, 404, 300000000);   /* 300 ms */
	reg_metrics_observe(m, REG_ROUTE_OTHER, 999, 1000);       /* out of range: 500 */
	text = reg_metrics_render(m, s, 2, 1);
	assert_non_null(text);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); ++i) {
		if (!strstr(text, want[i]))
			fail_msg("missing: %s\nin:\n%s", want[i], text);
	}
	/* Nothing counted where nothing happened. */
	assert_null(strstr(text, "route=\"/healthz\",code="));
	free(text);
	store_free(s);
	unlink(path);
	{
		char aux[sizeof(path) + 8];

		snprintf(aux, sizeof(aux), "%s-wal", path);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", path);
		unlink(aux);
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

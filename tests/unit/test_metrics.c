// SPDX-License-Identifier: MIT
/* Prometheus rendering: required names, labels and a consistent histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/core/metrics.h"

static void test_render(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	const char *names[] = {
		"jitwg_peers_installed 3\n", "jitwg_peers_stale 1\n", "jitwg_admit_dropped_total 7\n",
		"jitwg_installs_total 2\n", "jitwg_evictions_total 0\n",
		"jitwg_handshakes_total{verdict=\"ok\"} 5\n", "jitwg_handshakes_total{verdict=\"bad-mac1\"} 1\n",
		"jitwg_registry_requests_total{status=\"ok\"} 1\n",
		"jitwg_registry_requests_total{status=\"not_found\"} 0\n",
		"jitwg_cache_total{result=\"hit\"} 4\n", "jitwg_cache_total{result=\"miss\"} 1\n",
		"jitwg_cache_total{result=\"negative\"} 0\n", "jitwg_cache_total{result=\"stale\"} 0\n",
		"# TYPE jitwg_install_seconds histogram\n",
		"jitwg_install_seconds_bucket{le=\"0.001\"} 1\n",
		"jitwg_install_seconds_bucket{le=\"0.01\"} 2\n",
		"jitwg_install_seconds_bucket{le=\"+Inf\"} 3\n",
		"jitwg_install_seconds_count 3\n",
	};
	char *text;
	size_t i;

	metrics_gauge_set(&m->peers_installed, 3);
	metrics_gauge_set(&m->peers_stale, 1);
	metrics_add(&m->admit_dropped, 7);
	metrics_add(&m->installs, 2);
	metrics_add(&m->handshakes[NOISE_OK], 5);
	metrics_inc(&m->handshakes[NOISE_BAD_MAC1]);
	metrics_inc(&m->registry_requests[METRICS_REG_OK]);
	metrics_add(&m->cache[METRICS_CACHE_HIT], 4);
	metrics_inc(&m->cache[METRICS_CACHE_MISS]);
	metrics_observe_install(m, 0.0008);
	metrics_observe_install(m, 0.007);
	metrics_observe_install(m, 30.0); /* beyond the last bucket: only +Inf */
	text = metrics_render(m);
	assert_non_null(text);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
		if (!strstr(text, names[i]))
			fail_msg("missing: %s", names[i]);
	}
	assert_non_null(strstr(text, "jitwg_install_seconds_sum 30.0078"));
	free(text);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

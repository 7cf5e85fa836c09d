// SPDX-License-Identifier: MIT
/*
 * In-process lookup cost of the registry store: store_peer_get() of random
 * registered keys, one thread, no HTTP, no network. Separates the database's
 * share of a GET from the server's and the machine's.
 *
 *   storebench DB PATHS_FILE COUNT
 *
 * PATHS_FILE is bulkload's sample ("/v1/peers/<base64url>" per line).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/store.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint8_t (*keys)[WG_KEY_LEN] = NULL;
	struct peer_record r;
	struct store *s;
	uint64_t *lat, t0, t1, seed = 0x1234567;
	size_t nkeys = 0, cap = 0, i, count;
	char line[256];
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: storebench DB PATHS_FILE COUNT\n");
		return 2;
	}
	count = strtoul(argv[3], NULL, 10);
	f = fopen(argv[2], "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (nkeys == cap) {
			cap = cap ? cap * 2 : 1024;
			keys = realloc(keys, cap * sizeof(*keys));
		}
		if (strncmp(line, "/v1/peers/", 10) || key_from_base64url(keys[nkeys], line + 10))
			continue;
		nkeys++;
	}
	fclose(f);
	s = store_open(argv[1], 1);
	lat = calloc(count, sizeof(*lat));
	if (!s || !nkeys || !lat)
		return 1;
	for (i = 0; i < count; ++i) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		t0 = now_ns();
		if (store_peer_get(s, keys[seed % nkeys], 0, &r)) {
			fprintf(stderr, "storebench: a registered key was not found\n");
			return 1;
		}
		t1 = now_ns();
		peer_record_clear(&r);
		lat[i] = t1 - t0;
	}
	qsort(lat, count, sizeof(*lat), cmp_u64);
	printf("storebench: %zu store_peer_get() of random keys (%s, 1 thread): "
	       "p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
	       count, store_backend_name(s), lat[count / 2] / 1e3, lat[count * 99 / 100] / 1e3,
	       lat[count * 999 / 1000] / 1e3, lat[count - 1] / 1e3);
	store_free(s);
	free(lat);
	free(keys);
	return 0;
}

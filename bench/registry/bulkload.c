// SPDX-License-Identifier: MIT
/*
 * Bulk loader for the registry benchmark: writes N peers straight through a
 * store backend's insert() (the same code the server's create path ends in),
 * in transactions of BATCH rows, skipping HTTP and the per-peer overlap
 * probe. Peer i gets a pseudo-random key derived from i and the address
 * 10.0.0.0 + 2 + i (so up to 16M peers fit in 10.0.0.0/8, one /32 each).
 *
 *   bulkload DB N SAMPLE_FILE SAMPLES
 *
 * Prints the load rate, and writes SAMPLES random keys' GET paths
 * ("/v1/peers/<base64url>") to SAMPLE_FILE for the load generators.
 * A benchmark tool, not part of any binary or test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "registry/store.h"

enum { BATCH = 20000 };

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void bench_key(uint64_t i, uint8_t key[static WG_KEY_LEN])
{
	uint64_t s = i * 4 + 0x6a6974;
	int j;

	for (j = 0; j < 4; ++j) {
		uint64_t v = splitmix64(&s);

		memcpy(key + 8 * j, &v, 8);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const struct store_backend *be;
	struct store_conn *c;
	struct peer_record r = { 0 };
	struct cidr ip = { .family = AF_INET, .prefix = 32 };
	char u[WG_KEY_B64URL_LEN + 1];
	unsigned long n, i, samples;
	uint64_t seed = 42;
	uint32_t a;
	double t0, t1;
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: bulkload DB N SAMPLE_FILE SAMPLES\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	samples = strtoul(argv[4], NULL, 10);
	if (n > (1UL << 24) - 4) {
		fprintf(stderr, "bulkload: at most 16M peers\n");
		return 2;
	}
	be = strncmp(argv[1], "postgres", 8) ? &store_sqlite_backend : &store_pg_backend;
	c = be->connect(argv[1]);
	if (!c) {
		fprintf(stderr, "bulkload: cannot open %s\n", argv[1]);
		return 1;
	}
	r.allowed_ips = &ip;
	r.n_allowed_ips = 1;
	r.created_at = time(NULL);
	t0 = now();
	for (i = 0; i < n; ++i) {
		if (i % BATCH == 0 && be->begin(c))
			return 1;
		bench_key(i, r.public_key);
		a = htonl(0x0a000002u + (uint32_t)i);
		memcpy(ip.addr, &a, 4);
		if (store_db_insert(be, c, &r)) {
			fprintf(stderr, "bulkload: insert %lu failed (database not empty?)\n", i);
			return 1;
		}
		if ((i + 1) % BATCH == 0 || i + 1 == n) {
			if (be->commit(c))
				return 1;
		}
	}
	t1 = now();
	printf("bulkload: %lu peers in %.1f s = %.0f peers/s (%s, batches of %d)\n", n, t1 - t0, n / (t1 - t0),
	       be->name, BATCH);
	f = fopen(argv[3], "w");
	if (!f)
		return 1;
	for (i = 0; i < samples && n; ++i) {
		bench_key(splitmix64(&seed) % n, r.public_key);
		key_to_base64url(u, r.public_key);
		fprintf(f, "/v1/peers/%s\n", u);
	}
	fclose(f);
	be->disconnect(c);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * The fleet bench's population, deterministic by index: client i has the
 * private key SHA-256("jitwg-fleet" || i) (clamped), the tunnel address
 * 10.64.0.0 + i (/32) and the home gateway gw-(i mod G).
 *
 *   fleetkeys keys FROM N G        prints "priv pub ip gw" for i in [FROM, FROM+N)
 *   fleetkeys load DB FROM N G     registers those peers straight through a store
 *                                  backend's insert() (bulk, as bench/registry's
 *                                  bulkload), in transactions of 20000
 *   fleetkeys sql FROM N G         the same rows as a psql script (COPY into peers
 *                                  and ranges, then their change-feed rows): for a
 *                                  million peers, where a round trip per row is too slow
 *
 * A benchmark tool, not part of any binary or test; bench/fleet/run.sh builds it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto/x25519.h"
#include "registry/store.h"
#include "wire/keys.h"

enum { BATCH = 20000 };

static int keypair(unsigned long i, uint8_t priv[static 32], uint8_t pub[static 32])
{
	char seed[64];
	unsigned int len = 32;
	int n = snprintf(seed, sizeof(seed), "jitwg-fleet%lu", i);

	if (!EVP_Digest(seed, (size_t)n, priv, &len, EVP_sha256(), NULL))
		return -1;
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	return x25519_public_from_private(pub, priv);
}

static void hex(const uint8_t *b, size_t n)
{
	size_t i;

	fputs("\\\\x", stdout);
	for (i = 0; i < n; ++i)
		printf("%02x", b[i]);
}

/* COPY text format; bytea as \\x hex (the backslash doubled for COPY). */
static int sql(unsigned long from, unsigned long n, unsigned long g)
{
	uint8_t priv[32], (*pubs)[32] = calloc(n ? n : 1, 32), *pub;
	unsigned long i;
	uint32_t a;
	long now = (long)time(NULL);

	if (!pubs)
		return 1;
	for (i = 0; i < n; ++i)
		if (keypair(from + i, priv, pubs[i]))
			return 1;
	puts("BEGIN;");
	puts("COPY peers (key, gateway, psk, keepalive, expires_at, created_at, ips) FROM stdin;");
	for (i = from; i < from + n; ++i) {
		pub = pubs[i - from];
		hex(pub, 32);
		a = 0x0a400000u + (uint32_t)i;
		printf("\tgw-%lu\t\\N\t0\t0\t%ld\t%u.%u.%u.%u/32\n", i % g, now, a >> 24, (a >> 16) & 255,
		       (a >> 8) & 255, a & 255);
	}
	puts("\\.");
	puts("COPY ranges (fam, lo, hi, key, expires_at) FROM stdin;");
	for (i = from; i < from + n; ++i) {
		uint8_t ip[4];

		pub = pubs[i - from];
		a = htonl(0x0a400000u + (uint32_t)i);
		memcpy(ip, &a, 4);
		fputs("4\t", stdout);
		hex(ip, 4);
		putchar('\t');
		hex(ip, 4);
		putchar('\t');
		hex(pub, 32);
		puts("\t0");
	}
	puts("\\.");
	/* the feed rows the store's insert() would have written, in one statement */
	puts("INSERT INTO changes (key, gw, deleted, at) SELECT p.key, coalesce(p.gateway, ''), 0, p.created_at"
	     " FROM peers p WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE c.key = p.key) ORDER BY p.key;");
	puts("COMMIT;");
	free(pubs);
	return 0;
}

static void tunnel_ip(unsigned long i, struct cidr *ip)
{
	uint32_t a = htonl(0x0a400000u + (uint32_t)i);

	memset(ip, 0, sizeof(*ip));
	ip->family = AF_INET;
	ip->prefix = 32;
	memcpy(ip->addr, &a, 4);
}

int main(int argc, char **argv)
{
	unsigned long from, n, g, i;
	uint8_t priv[32];
	struct peer_record r = { 0 };
	struct cidr ip;
	char ps[WG_KEY_B64_LEN + 1], pb[WG_KEY_B64_LEN + 1], is[CIDR_STR_MAX];
	const struct store_backend *be;
	struct store_conn *c;
	bool load;

	if (argc < 5 || (strcmp(argv[1], "keys") && strcmp(argv[1], "load") && strcmp(argv[1], "sql")) ||
	    (!strcmp(argv[1], "load") && argc != 6)) {
		fprintf(stderr, "usage: fleetkeys keys|sql FROM N G | fleetkeys load DB FROM N G\n");
		return 2;
	}
	load = !strcmp(argv[1], "load");
	from = strtoul(argv[load ? 3 : 2], NULL, 10);
	n = strtoul(argv[load ? 4 : 3], NULL, 10);
	g = strtoul(argv[load ? 5 : 4], NULL, 10);
	if (!g || from + n > (1UL << 22)) {
		fprintf(stderr, "fleetkeys: G >= 1 and at most 4M clients (10.64.0.0/10)\n");
		return 2;
	}
	if (!strcmp(argv[1], "sql"))
		return sql(from, n, g);
	if (!load) {
		for (i = from; i < from + n; ++i) {
			if (keypair(i, priv, r.public_key))
				return 1;
			key_to_base64(ps, priv);
			key_to_base64(pb, r.public_key);
			tunnel_ip(i, &ip);
			cidr_format(is, &ip);
			printf("%s %s %s gw-%lu\n", ps, pb, is, i % g);
		}
		return 0;
	}
	be = strncmp(argv[2], "postgres", 8) ? &store_sqlite_backend : &store_pg_backend;
	c = be->connect(argv[2]);
	if (!c) {
		fprintf(stderr, "fleetkeys: cannot open %s\n", argv[2]);
		return 1;
	}
	r.allowed_ips = &ip;
	r.n_allowed_ips = 1;
	r.has_gateway = true;
	r.created_at = time(NULL);
	for (i = from; i < from + n; ++i) {
		if ((i - from) % BATCH == 0 && be->begin(c))
			return 1;
		if (keypair(i, priv, r.public_key))
			return 1;
		tunnel_ip(i, &ip);
		snprintf(r.gateway, sizeof(r.gateway), "gw-%lu", i % g);
		if (store_db_insert(be, c, &r)) {
			fprintf(stderr, "fleetkeys: insert %lu failed (already registered?)\n", i);
			return 1;
		}
		if ((i - from + 1) % BATCH == 0 || i + 1 == from + n) {
			if (be->commit(c))
				return 1;
		}
	}
	be->disconnect(c);
	return 0;
}

// SPDX-License-Identifier: MIT
/* Admission: engagement threshold, per-source buckets, bounded table. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/admit/admit.h"
#include "gateway/admit/gate.h"
#include <stdlib.h>
#include <time.h>

#define MS 1000000ULL

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(1234) };
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

/* 100 clients behind one NAT address on a quiet gateway: all pass. */
static void test_nat_quiet(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .threshold = 500 });
	struct sockaddr_in s = v4("192.0.2.1");
	int i, pass = 0;

	assert_non_null(a);
	for (i = 0; i < 100; ++i)
		pass += admit_check(a, (struct sockaddr *)&s, 1000 * MS + (uint64_t)i * 5 * MS, false);
	assert_int_equal(pass, 100);
	assert_false(admit_engaged(a));
	admit_free(a);
}

/* A flood from one address engages the buckets; it gets its burst, others still pass. */
static void test_flood_one_source(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .rate = 20, .burst = 5, .threshold = 100 });
	struct sockaddr_in bad = v4("198.51.100.7"), good;
	uint64_t t = 5000 * MS;
	int i, bad_pass = 0, good_pass = 0;
	char ip[32];

	for (i = 0; i < 10000; ++i) /* 10k packets in 100 ms */
		bad_pass += admit_check(a, (struct sockaddr *)&bad, t + (uint64_t)i * 10000, false);
	assert_true(admit_engaged(a));
	/* Before engagement (first ~100 packets) everything passes; after, at most burst + rate * 0.1 s. */
	assert_true(bad_pass <= 101 + 5 + 2);
	for (i = 0; i < 50; ++i) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		good = v4(ip);
		good_pass += admit_check(a, (struct sockaddr *)&good, t + 100 * MS + (uint64_t)i, false);
	}
	assert_int_equal(good_pass, 50);
	admit_free(a);
}

/* Engaged: a source refills at the configured rate. */
static void test_refill(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .rate = 20, .burst = 5, .threshold = 0 });
	struct sockaddr_in s = v4("10.1.2.3");
	uint64_t t = 1000 * MS;
	int i, pass = 0;

	for (i = 0; i < 10; ++i)
		pass += admit_check(a, (struct sockaddr *)&s, t, false);
	assert_int_equal(pass, 5);
	/* 50 ms later: one token (20/s). */
	assert_true(admit_check(a, (struct sockaddr *)&s, t + 50 * MS, false));
	assert_false(admit_check(a, (struct sockaddr *)&s, t + 50 * MS, false));
	admit_free(a);
}

/* IPv6 sources in one /64 share a bucket; another /64 does not. */
static void test_ipv6_prefix(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .rate = 1, .burst = 1, .threshold = 0 });
	struct sockaddr_in6 x = { .sin6_family = AF_INET6 }, y = x, z = x;
	uint64_t t = 1000 * MS;

	inet_pton(AF_INET6, "2001:db8:1:2::1", &x.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2::ffff", &y.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:3::1", &z.sin6_addr);
	assert_true(admit_check(a, (struct sockaddr *)&x, t, false));
	assert_false(admit_check(a, (struct sockaddr *)&y, t, false));
	assert_true(admit_check(a, (struct sockaddr *)&z, t, false));
	admit_free(a);
}

/* Loaded next stage engages the buckets even below the threshold. */
static void test_loaded(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .rate = 20, .burst = 2, .threshold = 1000000 });
	struct sockaddr_in s = v4("10.9.9.9");
	int i, pass = 0;

	for (i = 0; i < 10; ++i)
		pass += admit_check(a, (struct sockaddr *)&s, 1000 * MS, true);
	assert_int_equal(pass, 2);
	admit_free(a);
}

/*
 * Many more sources than table slots: memory stays bounded, and cycling
 * through addresses buys no fresh buckets: the 64 slots hand out at most
 * their 64 bursts (plus the 0.1 ms of refill, nothing at 20/s).
 */
static void test_bounded(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .threshold = 0, .table_size = 64 });
	struct sockaddr_in s = { .sin_family = AF_INET };
	uint32_t i;
	int pass = 0;

	for (i = 0; i < 100000; ++i) {
		s.sin_addr.s_addr = htonl(0x0a000000 + i);
		pass += admit_check(a, (struct sockaddr *)&s, 1000 * MS + i, false);
	}
	assert_true(pass >= 64 && pass <= 64 * 5);
	admit_free(a);
}

/*
 * The bypass from issue 8: 200 sources in one /24 flooding round robin
 * (40,000/s for 5 s) while the buckets are engaged. Each source is held to
 * its burst plus 20/s, so at most 200 * (5 + 100) of the 200,000 pass;
 * before the fix every one passed. A legitimate client, from another
 * prefix and from inside the same /24, still gets every initiation through.
 */
static void test_flood_one_slash24(void **state)
{
	struct admit *a = admit_new(&(struct admit_config){ .rate = 20, .burst = 5, .threshold = 500 });
	struct sockaddr_in src[200], legit = v4("203.0.113.9"), neighbour = v4("198.51.100.250");
	uint64_t t = 1000 * MS, step = 25000; /* 25 us */
	int round, i, pass = 0, legit_pass = 0, legit_sent = 0;
	char ip[32];

	for (i = 0; i < 200; ++i) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		src[i] = v4(ip);
	}
	for (round = 0; round < 1000; ++round) {
		for (i = 0; i < 200; ++i, t += step)
			pass += admit_check(a, (struct sockaddr *)&src[i], t, false);
		if (round % 100 == 50) {
			/* A round is 5 ms: the legitimate clients try every 0.5 s. */
			legit_pass += admit_check(a, (struct sockaddr *)&legit, t, false);
			legit_pass += admit_check(a, (struct sockaddr *)&neighbour, t, false);
			legit_sent += 2;
		}
	}
	assert_true(admit_engaged(a));
	printf("# 200 sources in one /24: %d of 200000 passed; legit %d of %d\n", pass, legit_pass,
	       legit_sent);
	assert_true(pass <= 200 * (5 + 100) + 500);
	assert_int_equal(legit_pass, legit_sent);
	admit_free(a);
}

/* n initiations, distinct ephemerals, from 192.0.2.x with x = first + i (or all from first when same). */
static void initiations(struct ingest_initiation *in, size_t n, int first, bool same)
{
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(in, 0, n * sizeof(*in));
	for (i = 0; i < n; ++i) {
		char a[32];

		snprintf(a, sizeof(a), "192.0.2.%d", same ? first : first + (int)i);
		in[i].bytes[0] = 1;
		in[i].bytes[8] = (uint8_t)i; /* the ephemeral: bytes 8..40 */
		in[i].bytes[9] = (uint8_t)first;
		in[i].admit_by.sin = v4(a);
		in[i].endpoint = in[i].admit_by;
		in[i].source = INGEST_CAPTURE;
		in[i].ts = now;
	}
}

/* Initiations identify has given a verdict on so far. */
static uint64_t verdicts(struct metrics *m)
{
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(m->handshakes) / sizeof(m->handshakes[0]); ++i)
		n += atomic_load(&m->handshakes[i]);
	return n;
}

/*
 * The gate on the submitter's thread: a lone initiation on an idle gateway
 * is decoded there and then (the quiet path: its verdict is counted before
 * ingest_submit() returns); what passes is queued for identify at once
 * (more than one batch of 64 in one call), an engaged bucket and a
 * replayed ephemeral are refused before any queue, and a stopped gate
 * takes nothing. The junk bytes fail identify's mac1 check, so lookup is
 * never reached.
 */
static void test_gate(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	uint8_t priv[32] = { 1 };
	struct noise_responder *r = noise_responder_new(priv);
	struct identify *id;
	struct admit_gate *g;
	struct ingest_initiation in[100];

	assert_non_null(m);
	assert_non_null(r);
	id = identify_new(&(struct identify_config){ .threads = 1, .responder = r, .metrics = m });
	assert_non_null(id);
	/* quiet: one initiation, decoded on this thread; then 100 sources, one initiation each, all pass */
	g = admit_gate_new(&(struct admit_gate_config){ .buckets = { .threshold = 500 }, .identify = id, .metrics = m });
	assert_non_null(g);
	initiations(in, 1, 200, false);
	assert_int_equal(ingest_submit(g, in, 1), 1);
	assert_int_equal(verdicts(m), 1);
	initiations(in, 100, 1, false);
	assert_int_equal(ingest_submit(g, in, 100), 100);
	admit_gate_free(g);

	/* engaged (threshold 0): one source gets its burst of 5 */
	g = admit_gate_new(&(struct admit_gate_config){ .buckets = { .threshold = 0, .rate = 20, .burst = 5 },
						       .identify = id, .metrics = m });
	assert_non_null(g);
	initiations(in, 10, 7, true);
	assert_int_equal(ingest_submit(g, in, 10), 5);
	assert_int_equal(atomic_load(&m->admit_dropped), 5);
	/* the same ephemeral again, from a fresh source: a replay, dropped before the queue */
	initiations(in, 1, 7, false);
	in[0].admit_by.sin = v4("198.51.100.1");
	assert_int_equal(ingest_submit(g, in, 1), 0);
	assert_int_equal(atomic_load(&m->admit_duplicate), 1);
	admit_gate_stop(g);
	in[0].admit_by.sin = v4("198.51.100.2");
	in[0].bytes[10] = 0xff;
	assert_int_equal(ingest_submit(g, in, 1), 0);
	admit_gate_free(g);
	identify_free(id);
	noise_responder_free(r);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_quiet),
		cmocka_unit_test(test_flood_one_source),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_loaded),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_flood_one_slash24),
		cmocka_unit_test(test_gate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

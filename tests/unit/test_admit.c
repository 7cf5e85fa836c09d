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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

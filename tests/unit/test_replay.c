// SPDX-License-Identifier: MIT
/* The replay guard's in-memory table: ordering, authority, bounds, races. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/lookup/replay.h"

static void mkkey(uint8_t key[WG_KEY_LEN], unsigned int n)
{
	memset(key, 0, WG_KEY_LEN);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[31] = 0x5a;
}

/* TAI64N of second s and nanosecond ns, big-endian as on the wire. */
static void mkts(uint8_t ts[TAI64N_LEN], uint64_t s, uint32_t ns)
{
	uint64_t v = 0x400000000000000aULL + s;
	int i;

	for (i = 0; i < 8; ++i)
		ts[i] = (uint8_t)(v >> (56 - 8 * i));
	for (i = 0; i < 4; ++i)
		ts[8 + i] = (uint8_t)(ns >> (24 - 8 * i));
}

static void test_order(void **state)
{
	struct replay *r = replay_new(64);
	uint8_t k[WG_KEY_LEN], t1[12], t2[12], t3[12];

	assert_non_null(r);
	replay_set_loaded(r);
	mkkey(k, 1);
	mkts(t1, 100, 5);
	mkts(t2, 100, 6);       /* newer only in the nanoseconds */
	mkts(t3, 99, 999999999);
	assert_true(tai64n_newer(t2, t1));
	assert_false(tai64n_newer(t1, t1));
	assert_int_equal(replay_check(r, k, t1), REPLAY_FRESH);
	assert_int_equal(replay_check(r, k, t1), REPLAY_OLD);   /* same timestamp */
	assert_int_equal(replay_check(r, k, t3), REPLAY_OLD);   /* older */
	assert_int_equal(replay_check(r, k, t2), REPLAY_FRESH);
	assert_int_equal(replay_check(r, k, t1), REPLAY_OLD);
	replay_free(r);
	replay_free(NULL);
}

static void test_not_loaded_is_unverified(void **state)
{
	struct replay *r = replay_new(64);
	uint8_t k[WG_KEY_LEN], t1[12], t2[12], t0[12];

	mkkey(k, 2);
	mkts(t0, 50, 0);
	mkts(t1, 100, 0);
	mkts(t2, 101, 0);
	/* Before the persisted marks are in, memory cannot say "never seen". */
	assert_int_equal(replay_check(r, k, t1), REPLAY_UNVERIFIED);
	assert_int_equal(replay_check(r, k, t1), REPLAY_OLD);
	assert_int_equal(replay_check(r, k, t2), REPLAY_UNVERIFIED);
	/* The store said t0: memory keeps the max and is now authoritative. */
	replay_merge(r, k, t0);
	assert_int_equal(replay_check(r, k, t2), REPLAY_OLD);
	mkts(t2, 102, 0);
	assert_int_equal(replay_check(r, k, t2), REPLAY_FRESH);
	replay_free(r);
}

static void test_merge_raises(void **state)
{
	struct replay *r = replay_new(64);
	uint8_t k[WG_KEY_LEN], t1[12], t2[12];

	mkkey(k, 3);
	mkts(t1, 100, 0);
	mkts(t2, 200, 0);
	replay_merge(r, k, t2);
	replay_merge(r, k, t1); /* never lowers */
	replay_set_loaded(r);
	assert_int_equal(replay_check(r, k, t1), REPLAY_OLD);
	assert_int_equal(replay_check(r, k, t2), REPLAY_OLD);
	mkts(t2, 200, 1);
	assert_int_equal(replay_check(r, k, t2), REPLAY_FRESH);
	replay_free(r);
}

/* A bounded table: past its capacity, misses fall back to the store. */
static void test_overflow(void **state)
{
	struct replay *r = replay_new(8); /* one bucket of eight ways */
	uint8_t k[WG_KEY_LEN], t[12];
	unsigned int i, unverified = 0;

	replay_set_loaded(r);
	mkts(t, 100, 0);
	for (i = 0; i < 8; ++i) {
		mkkey(k, 100 + i);
		assert_int_equal(replay_check(r, k, t), REPLAY_FRESH);
	}
	for (i = 8; i < 40; ++i) {
		mkkey(k, 100 + i);
		/* The ninth key drops one: from then on a miss is not authoritative. */
		unverified += replay_check(r, k, t) == REPLAY_UNVERIFIED;
	}
	assert_true(unverified >= 31);
	/* Keys still in memory are answered from memory either way. */
	mkkey(k, 139);
	assert_int_equal(replay_check(r, k, t), REPLAY_OLD);
	replay_free(r);
}

struct race {
	struct replay *r;
	pthread_barrier_t round;
	atomic_uint passed[64];
};

static void *racer(void *arg)
{
	struct race *race = arg;
	uint8_t k[WG_KEY_LEN], t[12];
	unsigned int i, j;

	for (j = 0; j < 50; ++j) {
		/* Every thread offers the same timestamps in the same round. */
		pthread_barrier_wait(&race->round);
		for (i = 0; i < 64; ++i) {
			mkkey(k, i);
			mkts(t, 1000 + j, 0);
			if (replay_check(race->r, k, t) != REPLAY_OLD)
				atomic_fetch_add(&race->passed[i], 1);
		}
	}
	return NULL;
}

/* Threads submitting the same (key, timestamp): exactly one passes each. */
static void test_race(void **state)
{
	struct race race = { .r = replay_new(1024) };
	pthread_t th[4];
	unsigned int i;

	replay_set_loaded(race.r);
	pthread_barrier_init(&race.round, NULL, 4);
	for (i = 0; i < 4; ++i)
		assert_int_equal(pthread_create(&th[i], NULL, racer, &race), 0);
	for (i = 0; i < 4; ++i)
		pthread_join(th[i], NULL);
	/* 50 rounds, each timestamp offered four times at once: exactly one passed. */
	for (i = 0; i < 64; ++i)
		assert_int_equal(atomic_load(&race.passed[i]), 50);
	pthread_barrier_destroy(&race.round);
	replay_free(race.r);
}

/* Loading never displaces: rows come most recent first, so the first ones stay. */
static void test_load_keeps_most_recent(void **state)
{
	struct replay *r = replay_new(8); /* one bucket */
	uint8_t k[WG_KEY_LEN], t[12], t2[12];
	unsigned int i;

	mkts(t, 100, 0);
	mkts(t2, 101, 0);
	for (i = 0; i < 12; ++i) {
		mkkey(k, 300 + i);
		replay_load(r, k, t);
	}
	replay_set_loaded(r);
	for (i = 0; i < 8; ++i) {
		mkkey(k, 300 + i);
		assert_int_equal(replay_check(r, k, t), REPLAY_OLD);
	}
	/* The rest did not fit: the bucket is flagged, so they go to the store. */
	mkkey(k, 311);
	assert_int_equal(replay_check(r, k, t2), REPLAY_UNVERIFIED);
	/* A live key displaces the least recent loaded row, not the most recent. */
	mkkey(k, 300);
	assert_int_equal(replay_check(r, k, t), REPLAY_OLD);
	mkkey(k, 301);
	assert_int_equal(replay_check(r, k, t), REPLAY_OLD);
	replay_free(r);
}

static void test_bad_capacity(void **state)
{
	assert_null(replay_new((size_t)1 << 40));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_not_loaded_is_unverified),
		cmocka_unit_test(test_merge_raises),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_load_keeps_most_recent),
		cmocka_unit_test(test_bad_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

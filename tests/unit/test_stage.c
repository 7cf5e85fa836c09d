// SPDX-License-Identifier: MIT
/* The stage abstraction: bounded queue, drop counting, reserve, drain on stop, tick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <cmocka.h>

#include "gateway/core/stage.h"

struct sink {
	pthread_mutex_t mu;
	pthread_mutex_t gate;        /* held by the test to block the handler */
	uint64_t sum;
	size_t seen;
	int busy_ticks;              /* tick reports busy this many more times */
};

static void sink_handle(void *ctx, void *tls, void *items, size_t n)
{
	struct sink *s = ctx;
	uint32_t *v = items;
	size_t i;

	pthread_mutex_lock(&s->gate);
	pthread_mutex_unlock(&s->gate);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < n; ++i)
		s->sum += v[i];
	s->seen += n;
	pthread_mutex_unlock(&s->mu);
}

static int sink_tick(void *ctx, void *tls, bool stopping, bool *busy)
{
	struct sink *s = ctx;

	pthread_mutex_lock(&s->mu);
	if (stopping && s->busy_ticks > 0) {
		s->busy_ticks--;
		*busy = true;
	}
	pthread_mutex_unlock(&s->mu);
	return *busy ? 1 : -1;
}

static const struct stage_ops ops = { .handle = sink_handle, .tick = sink_tick };

static struct stage *mk(struct sink *s, size_t cap, unsigned threads, atomic_uint_fast64_t *dropped)
{
	struct stage_config c = {
		.name = "t", .item_size = sizeof(uint32_t), .capacity = cap, .batch = 8,
		.threads = threads, .ops = &ops, .ctx = s, .dropped = dropped,
	};
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->gate, NULL);
	return stage_new(&c);
}

static void test_drain_on_stop(void **state)
{
	struct sink s;
	atomic_uint_fast64_t dropped = 0;
	struct stage *st = mk(&s, 1000, 3, &dropped);
	uint32_t v[100];
	size_t i;

	assert_non_null(st);
	for (i = 0; i < 100; ++i)
		v[i] = (uint32_t)i + 1;
	for (i = 0; i < 10; ++i)
		assert_int_equal(stage_push(st, v, 100), 100);
	stage_stop(st);
	assert_int_equal(s.seen, 1000);
	assert_int_equal(s.sum, 10 * 5050);
	assert_int_equal(dropped, 0);
	/* A stopped stage refuses, safely, until it is freed. */
	assert_int_equal(stage_push(st, v, 1), 0);
	assert_int_equal(stage_push_if(st, v, 0, true, NULL, NULL), -ESHUTDOWN);
	stage_free(st);
}

static int refuse_odd(void *arg, void *slot)
{
	uint32_t *v = slot;

	(*(int *)arg)++;
	return (*v & 1) ? -EINVAL : 0;
}

static void test_full_drops_newest(void **state)
{
	struct sink s;
	atomic_uint_fast64_t dropped = 0;
	struct stage *st;
	uint32_t v[20] = { 0 };
	int checks = 0;

	st = mk(&s, 16, 1, &dropped);
	assert_non_null(st);
	pthread_mutex_lock(&s.gate); /* the handler blocks: at most one batch leaves the queue */
	usleep(10000);
	assert_int_equal(stage_push(st, v, 8), 8);
	/* the thread takes these 8 (one batch) and waits at the gate */
	for (int i = 0; i < 500 && stage_depth(st); ++i)
		usleep(2000);
	assert_int_equal(stage_depth(st), 0);
	assert_int_equal(stage_push(st, v, 20), 16);
	assert_int_equal(dropped, 4);
	assert_true(stage_loaded(st));
	/* Full: push_if refuses without calling check, and counts only when asked. */
	v[0] = 2;
	assert_int_equal(stage_push_if(st, v, 0, false, refuse_odd, &checks), -EAGAIN);
	assert_int_equal(checks, 0);
	assert_int_equal(dropped, 4);
	assert_int_equal(stage_push_if(st, v, 0, true, refuse_odd, &checks), -EAGAIN);
	assert_int_equal(dropped, 5);
	pthread_mutex_unlock(&s.gate);
	stage_stop(st);
	assert_int_equal(s.seen, 24);
	stage_free(st);
}

static void test_reserve_and_check(void **state)
{
	struct sink s;
	struct stage *st = mk(&s, 8, 1, NULL);
	uint32_t v = 3;
	int checks = 0, i;

	assert_non_null(st);
	pthread_mutex_lock(&s.gate);
	assert_int_equal(stage_push_if(st, &v, 0, true, refuse_odd, &checks), -EINVAL);
	assert_int_equal(checks, 1);
	v = 4;
	/* With a reserve of 4 of 8 slots, at most 4 are queued (one may be in the handler). */
	for (i = 0; i < 8; ++i)
		stage_push_if(st, &v, 4, true, refuse_odd, &checks);
	assert_true(stage_depth(st) <= 4);
	pthread_mutex_unlock(&s.gate);
	stage_free(st);
}

static void test_tick_busy_delays_stop(void **state)
{
	struct sink s;
	struct stage *st = mk(&s, 8, 1, NULL);

	assert_non_null(st);
	s.busy_ticks = 5;
	stage_stop(st);
	assert_int_equal(s.busy_ticks, 0);
	stage_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_on_stop),
		cmocka_unit_test(test_full_drops_newest),
		cmocka_unit_test(test_reserve_and_check),
		cmocka_unit_test(test_tick_busy_delays_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

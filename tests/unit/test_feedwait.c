// SPDX-License-Identifier: MIT
/*
 * The long-poll waiter set: parking against the wake generation, wake-all,
 * deadlines per wait value in order (also for a re-parked entry), close.
 * suspend/resume are recorded instead of touching libmicrohttpd.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "registry/feedwait.h"

static int suspended, resumed;
static void *last_resumed;

static void fake_suspend(void *conn)
{
	(void)conn;
	suspended++;
}

static void fake_resume(void *conn)
{
	resumed++;
	last_resumed = conn;
}

static void entry(struct feedwait_entry *e, void *conn, unsigned int wait_s, uint64_t deadline)
{
	memset(e, 0, sizeof(*e));
	e->conn = conn;
	e->wait_s = wait_s;
	e->deadline_ms = deadline;
}

static void test_park_wake(void **state)
{
	struct feedwait w;
	struct feedwait_entry a, b;
	uint64_t g;

	(void)state;
	suspended = resumed = 0;
	assert_int_equal(feedwait_init(&w, fake_suspend, fake_resume), 0);
	g = feedwait_generation(&w);
	entry(&a, &a, 5, 5000);
	entry(&b, &b, 30, 30000);
	assert_int_equal(feedwait_park(&w, &a, g), 0);
	assert_int_equal(feedwait_park(&w, &b, g), 0);
	assert_int_equal(feedwait_count(&w), 2);
	assert_int_equal(suspended, 2);
	feedwait_wake(&w);
	assert_int_equal(resumed, 2);
	assert_int_equal(feedwait_count(&w), 0);
	assert_false(a.parked);
	/* a query that raced the wake must not park on the old generation */
	assert_int_equal(feedwait_park(&w, &a, g), -EAGAIN);
	assert_int_equal(feedwait_park(&w, &a, feedwait_generation(&w)), 0);
	assert_int_equal(feedwait_park(&w, &b, feedwait_generation(&w)), 0);
	feedwait_close(&w);
	assert_int_equal(feedwait_count(&w), 0);
	entry(&a, &a, 5, 5000);
	assert_int_equal(feedwait_park(&w, &a, feedwait_generation(&w)), -ECANCELED);
	feedwait_uninit(&w);
}

static void test_deadlines(void **state)
{
	struct feedwait w;
	struct feedwait_entry e[4];
	uint64_t g;

	(void)state;
	resumed = 0;
	assert_int_equal(feedwait_init(&w, fake_suspend, fake_resume), 0);
	g = feedwait_generation(&w);
	entry(&e[0], &e[0], 3, 3000);
	entry(&e[1], &e[1], 3, 4000);
	entry(&e[2], &e[2], 60, 60000);
	/* re-parked after a wake that did not concern it: earlier deadline, placed before e[1] */
	entry(&e[3], &e[3], 3, 3500);
	assert_int_equal(feedwait_park(&w, &e[0], g), 0);
	assert_int_equal(feedwait_park(&w, &e[1], g), 0);
	assert_int_equal(feedwait_park(&w, &e[2], g), 0);
	assert_int_equal(feedwait_park(&w, &e[3], g), 0);
	assert_int_equal(feedwait_expire(&w, 2999), 3000);
	assert_int_equal(resumed, 0);
	assert_int_equal(feedwait_expire(&w, 3600), 4000);
	assert_int_equal(resumed, 2);
	assert_ptr_equal(last_resumed, &e[3]);
	assert_int_equal(feedwait_expire(&w, 4000), 60000);
	assert_int_equal(resumed, 3);
	assert_int_equal(feedwait_expire(&w, 60000), 0);
	assert_int_equal(resumed, 4);
	entry(&e[0], &e[0], 61, 1);
	assert_int_equal(feedwait_park(&w, &e[0], g), -EINVAL);
	feedwait_uninit(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_park_wake),
		cmocka_unit_test(test_deadlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

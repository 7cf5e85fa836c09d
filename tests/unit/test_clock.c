// SPDX-License-Identifier: MIT
/* common/clock: the earliest-due helper and deadline arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"

struct timer {
	char name[3];
	uint64_t due_ms;
};

static void test_earliest(void **state)
{
	struct timer t[] = { { "a", 30 }, { "b", 10 }, { "c", 20 } };

	assert_true(clock_earliest(t, 3, sizeof(t[0]), offsetof(struct timer, due_ms)) == 10);
	assert_true(clock_earliest(t, 1, sizeof(t[0]), offsetof(struct timer, due_ms)) == 30);
	assert_true(clock_earliest(t, 0, sizeof(t[0]), offsetof(struct timer, due_ms)) == UINT64_MAX);
}

static void test_timespec_add(void **state)
{
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 999000000 };

	timespec_add_ms(&ts, 1002);
	assert_int_equal(ts.tv_sec, 3);
	assert_int_equal(ts.tv_nsec, 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_earliest),
		cmocka_unit_test(test_timespec_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

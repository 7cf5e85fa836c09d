// SPDX-License-Identifier: MIT
/* The seen-ephemeral filter (gateway/admit/ephemeral.h): replays within the
 * window are caught whatever else changed, sources are kept apart, entries
 * age out after two windows, and a full table fails open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/admit/ephemeral.h"

static void msg_with(uint8_t m[148], uint32_t n)
{
	memset(m, 0, 148);
	m[0] = 1;
	memcpy(m + 8, &n, sizeof(n));
	m[39] = 0x5a;
}

static void test_replay_caught(void **state)
{
	struct ephemeral_filter *f = ephemeral_filter_new(1024, 1000);
	uint8_t m[148];

	assert_non_null(f);
	msg_with(m, 7);
	assert_false(ephemeral_filter_seen(f, m, 0, 0));
	/* Sender index, mac1, the rest rewritten: still the same ephemeral. */
	m[4] ^= 0xff;
	m[120] ^= 0xff;
	m[60] ^= 1;
	assert_true(ephemeral_filter_seen(f, m, 0, 10));
	/* Another source (the relay) is not a replay of the capture's copy. */
	assert_false(ephemeral_filter_seen(f, m, 1, 10));
	/* One byte of the ephemeral differs: a new message. */
	m[40 - 1] ^= 1;
	assert_false(ephemeral_filter_seen(f, m, 0, 20));
	ephemeral_filter_free(f);
}

static void test_ages_out(void **state)
{
	struct ephemeral_filter *f = ephemeral_filter_new(1024, 1000);
	uint8_t m[148];

	msg_with(m, 1);
	assert_false(ephemeral_filter_seen(f, m, 0, 0));
	assert_true(ephemeral_filter_seen(f, m, 0, 1500));  /* rotated at 1500: previous generation */
	assert_true(ephemeral_filter_seen(f, m, 0, 2400));
	msg_with(m, 2);
	assert_false(ephemeral_filter_seen(f, m, 0, 2500)); /* rotates: the generation of t=0 cleared */
	msg_with(m, 1);
	assert_false(ephemeral_filter_seen(f, m, 0, 2501)); /* forgotten */
	ephemeral_filter_free(f);
}

static void test_full_fails_open(void **state)
{
	struct ephemeral_filter *f = ephemeral_filter_new(1024, 1000000);
	uint8_t m[148];
	uint32_t i, caught = 0;

	for (i = 0; i < 5000; ++i) {
		msg_with(m, i + 100);
		assert_false(ephemeral_filter_seen(f, m, 0, 0));
	}
	assert_true(ephemeral_filter_full(f) > 0);
	for (i = 0; i < 5000; ++i) {
		msg_with(m, i + 100);
		caught += ephemeral_filter_seen(f, m, 0, 0);
	}
	/* What was recorded is still caught; the rest passes. */
	assert_true(caught >= 900 && caught <= 1024);
	ephemeral_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_caught),
		cmocka_unit_test(test_ages_out),
		cmocka_unit_test(test_full_fails_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

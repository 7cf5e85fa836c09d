// SPDX-License-Identifier: MIT
/* crypto/keyedtab: sizing, find, claim (free first, then the lowest rank), release, wipe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/keyedtab.h"

struct item {
	uint8_t key[8];
	uint64_t rank;
};

static uint64_t item_rank(const void *e, void *ctx)
{
	return ((const struct item *)e)->rank;
}

static void key_of(uint8_t key[8], uint64_t n)
{
	memcpy(key, &n, 8);
}

static void test_sizing(void **state)
{
	struct keyedtab t;

	assert_int_equal(keyedtab_init(&t, 100, 8, sizeof(struct item), 8), 0);
	assert_int_equal(t.nsets, 16); /* smallest power of two with 8 * nsets >= 100 */
	keyedtab_uninit(&t);
	keyedtab_uninit(&t); /* a no-op once uninit'd */
	assert_int_equal(keyedtab_init(&t, 1, 4, 4, 8), -EINVAL); /* key longer than the entry */
	assert_int_equal(keyedtab_init(&t, 1, 0, 16, 8), -EINVAL);
}

/* Fills one set, then claims more keys of that set: evicts the lowest rank, or refuses without a rank. */
static void test_claim(void **state)
{
	struct keyedtab t;
	uint8_t key[8], first[8];
	struct item *e;
	size_t set, n = 0, filled = 0;
	bool evicted;

	assert_int_equal(keyedtab_init(&t, 16, 4, sizeof(struct item), 8), 0);
	key_of(first, 0);
	set = keyedtab_set(&t, first);
	for (n = 0; filled < 6 && n < 100000; ++n) {
		key_of(key, n);
		if (keyedtab_set(&t, key) != set)
			continue;
		assert_null(keyedtab_find(&t, set, key));
		if (filled == 4) {
			assert_null(keyedtab_claim(&t, set, key, NULL, NULL, &evicted));
			assert_false(evicted);
		}
		e = keyedtab_claim(&t, set, key, item_rank, NULL, &evicted);
		assert_non_null(e);
		assert_int_equal(evicted, filled >= 4);
		if (filled >= 4) /* the lowest rank went: rank 10 (the first key), then 11 */
			assert_int_equal(e->rank, 10 + filled - 4);
		assert_memory_equal(e->key, key, 8);
		e->rank = 10 + filled++;
		assert_ptr_equal(keyedtab_find(&t, set, key), e);
	}
	assert_int_equal(filled, 6);
	assert_null(keyedtab_find(&t, set, first));
	keyedtab_wipe(&t);
	assert_null(keyedtab_find(&t, set, key));
	keyedtab_uninit(&t);
}

/* A released entry's way is free again: a full set takes a new key without a rank. */
static void test_release(void **state)
{
	struct keyedtab t;
	uint8_t key[8], keys[4][8];
	struct item *e;
	size_t set, n, filled = 0;

	assert_int_equal(keyedtab_init(&t, 16, 4, sizeof(struct item), 8), 0);
	key_of(key, 0);
	set = keyedtab_set(&t, key);
	for (n = 0; filled < 5 && n < 100000; ++n) {
		key_of(key, n);
		if (keyedtab_set(&t, key) != set)
			continue;
		if (filled == 4) {
			assert_null(keyedtab_claim(&t, set, key, NULL, NULL, NULL));
			keyedtab_release(&t, keyedtab_find(&t, set, keys[1]));
			assert_null(keyedtab_find(&t, set, keys[1]));
		}
		e = keyedtab_claim(&t, set, key, NULL, NULL, NULL);
		assert_non_null(e);
		if (filled < 4)
			memcpy(keys[filled], key, 8);
		filled++;
	}
	assert_int_equal(filled, 5);
	assert_non_null(keyedtab_find(&t, set, keys[0]));
	assert_non_null(keyedtab_find(&t, set, key));
	keyedtab_uninit(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizing),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

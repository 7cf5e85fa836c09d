// SPDX-License-Identifier: MIT
/* The bounded buffer (common/buf.h): the maximum, consume and compact, release when empty. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/buf.h"

static void test_buf_bounds(void **state)
{
	struct buf b = BUF_INIT(1000, false);
	uint8_t x[600];

	memset(x, 'x', sizeof(x));
	assert_int_equal(buf_put(&b, x, 600), 0);
	assert_int_equal(buf_len(&b), 600);
	/* over the maximum: refused whole, nothing changes */
	assert_int_equal(buf_put(&b, x, 401), -ENOBUFS);
	assert_int_equal(buf_len(&b), 600);
	assert_int_equal(buf_room(&b), 400);
	assert_int_equal(buf_put(&b, x, 400), 0);
	assert_int_equal(buf_len(&b), 1000);
	assert_true(b.cap <= 1000); /* never a block past the maximum */
	assert_int_equal(buf_put(&b, x, 1), -ENOBUFS);
	assert_int_equal(buf_put(&b, x, SIZE_MAX), -ENOBUFS);
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.max, 1000);
}

static void test_buf_consume_compact(void **state)
{
	struct buf b = BUF_INIT(512, true);
	uint8_t in[256], out[256];

	for (int i = 0; i < 256; ++i)
		in[i] = (uint8_t)i;
	assert_int_equal(buf_put(&b, in, 256), 0);
	assert_int_equal(b.cap, 256); /* grows with the data */
	buf_consume(&b, 200);
	assert_int_equal(buf_len(&b), 56);
	assert_memory_equal(buf_data(&b), in + 200, 56);
	/* the consumed front is reused before the block grows */
	assert_int_equal(buf_put(&b, in, 200), 0);
	assert_int_equal(b.cap, 256);
	memcpy(out, buf_data(&b), 256);
	assert_memory_equal(out, in + 200, 56);
	assert_memory_equal(out + 56, in, 200);
	/* an emptied buffer holds no memory */
	buf_consume(&b, 256);
	assert_null(b.p);
	assert_int_equal(buf_len(&b), 0);
	assert_null(buf_data(&b));
	buf_free(&b);
}

static void test_buf_str(void **state)
{
	struct buf b = BUF_INIT(8, true);

	assert_int_equal(buf_put_str(&b, "abc", 3), 0);
	assert_int_equal(buf_put_str(&b, "def", 3), 0);
	assert_string_equal((const char *)buf_data(&b), "abcdef");
	assert_int_equal(buf_len(&b), 6);
	/* the NUL needs room too */
	assert_int_equal(buf_put_str(&b, "gh", 2), -ENOBUFS);
	assert_int_equal(buf_put_str(&b, "g", 1), 0);
	assert_string_equal((const char *)buf_data(&b), "abcdefg");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_buf_consume_compact),
		cmocka_unit_test(test_buf_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

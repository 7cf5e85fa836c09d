// SPDX-License-Identifier: MIT
/* RFC 3339 timestamps: the record's expires_at / created_at and the CLI. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/rfc3339.h"

static void test_rfc3339(void **state)
{
	char s[RFC3339_MAX];
	int64_t t;

	assert_int_equal(rfc3339_parse(&t, "1970-01-01T00:00:01Z"), 0);
	assert_int_equal(t, 1);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00.123456Z"), 0);
	assert_int_equal(t, 1709208000);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00-05:30"), 0);
	assert_int_equal(t, 1709208000 + 5 * 3600 + 1800);
	rfc3339_format(s, 1709208000);
	assert_string_equal(s, "2024-02-29T12:00:00Z");
	assert_int_equal(rfc3339_parse(&t, "2023-02-29T12:00:00Z"), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00"), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00Zjunk"), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00+0100"), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-13-01T00:00:00Z"), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00."), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00+0"), -EINVAL);
	assert_int_equal(rfc3339_parse(&t, "2024-02-29T12:00:00+01:"), -EINVAL);
	/* the last four-digit-year instant round-trips; an offset past it is refused */
	assert_int_equal(rfc3339_parse(&t, "9999-12-31T23:59:59Z"), 0);
	rfc3339_format(s, t);
	assert_string_equal(s, "9999-12-31T23:59:59Z");
	assert_int_equal(rfc3339_parse(&t, "9999-12-31T23:59:59-00:01"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/* CIDR parsing, formatting and overlap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "wire/cidr.h"

static void roundtrip(const char *in, const char *want)
{
	struct cidr c;
	char s[CIDR_STR_MAX];

	assert_int_equal(cidr_parse(&c, in), 0);
	cidr_format(s, &c);
	assert_string_equal(s, want);
}

static void test_parse(void **state)
{
	roundtrip("10.0.0.0/8", "10.0.0.0/8");
	roundtrip("10.1.2.3", "10.1.2.3/32");
	roundtrip("0.0.0.0/0", "0.0.0.0/0");
	roundtrip("fd00:0::/64", "fd00::/64");
	roundtrip("::1", "::1/128");
	roundtrip("fd00::1/128", "fd00::1/128");
}

static void test_reject(void **state)
{
	static const char *bad[] = {
		"", "10.0.0.1/24", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/ 8",
		"10.0.0.0/0x8", "10.0.0/8", "fd00::/129", "fd00::1/64", "host/32", "10.0.0.0/8/8",
		"10.0.0.0/0008",
	};
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
		assert_int_equal(cidr_parse(&c, bad[i]), -EINVAL);
	assert_int_equal(cidr_parse(&c, NULL), -EINVAL);
}

/* Each way to get a prefix wrong has its own reason. */
static void test_why(void **state)
{
	static const struct { const char *in, *why; } t[] = {
		{ "10.8.0.300/32", "not an IPv4 or IPv6 address" },
		{ "fd00:8::zz/128", "not an IPv4 or IPv6 address" },
		{ "10.9.0.0/33", "the prefix length is over 32 (IPv4)" },
		{ "fd00::/129", "the prefix length is over 128 (IPv6)" },
		{ "10.0.0.0/x", "the prefix length after '/' must be a decimal number" },
		{ "10.0.0.1/24", "host bits must be zero (the address past the prefix length)" },
	};
	const char *why = "unset";
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); ++i) {
		assert_int_equal(cidr_parse_why(&c, t[i].in, &why), -EINVAL);
		assert_string_equal(why, t[i].why);
	}
	assert_int_equal(cidr_parse_why(&c, "10.8.0.0/24", &why), 0);
	assert_null(why);
}

static bool overlap(const char *a, const char *b)
{
	struct cidr x, y;

	assert_int_equal(cidr_parse(&x, a), 0);
	assert_int_equal(cidr_parse(&y, b), 0);
	assert_true(cidr_overlap(&x, &y) == cidr_overlap(&y, &x));
	return cidr_overlap(&x, &y);
}

static void test_overlap(void **state)
{
	assert_true(overlap("10.0.0.0/8", "10.1.0.0/16"));
	assert_true(overlap("10.0.0.1/32", "10.0.0.1/32"));
	assert_true(overlap("0.0.0.0/0", "192.168.1.1/32"));
	assert_false(overlap("10.0.0.0/24", "10.0.1.0/24"));
	assert_false(overlap("10.0.0.1/32", "10.0.0.2/32"));
	assert_false(overlap("10.0.0.0/8", "fd00::/8"));
	assert_true(overlap("fd00::/64", "fd00::5/128"));
	assert_false(overlap("fd00::/64", "fd00:0:0:1::/64"));
	assert_true(overlap("10.0.0.0/7", "11.0.0.0/8"));
	assert_false(overlap("10.0.0.0/8", "11.0.0.0/8"));
}

static void test_equal(void **state)
{
	struct cidr a, b;

	assert_int_equal(cidr_parse(&a, "fd00::/64"), 0);
	assert_int_equal(cidr_parse(&b, "fd00:0:0:0::/64"), 0);
	assert_true(cidr_equal(&a, &b));
	assert_int_equal(cidr_parse(&b, "fd00::/65"), 0);
	assert_false(cidr_equal(&a, &b));
	assert_int_equal(a.family, AF_INET6);
}

static void list_roundtrip(const char *in, size_t want_n)
{
	struct cidr *c;
	size_t n;
	char *text;

	assert_int_equal(cidr_list_parse(in, &c, &n), 0);
	assert_int_equal(n, want_n);
	assert_int_equal(cidr_list_format(c, n, &text), 0);
	assert_string_equal(text, in);
	free(text);
	free(c);
}

static void test_list(void **state)
{
	static const char *const bad[] = { ",", "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8,,fd00::/8",
					   "10.0.0.0/8, fd00::/8", "10.0.0.1/8", "x" };
	struct cidr *c = (struct cidr *)1;
	size_t i, n = 99;

	(void)state;
	list_roundtrip("", 0);
	list_roundtrip("10.0.0.2/32", 1);
	list_roundtrip("10.0.0.2/32,fd00::2/128,0.0.0.0/0", 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
		assert_int_equal(cidr_list_parse(bad[i], &c, &n), -EINVAL);
		assert_null(c);
		assert_int_equal(n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

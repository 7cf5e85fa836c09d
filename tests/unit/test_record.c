// SPDX-License-Identifier: MIT
/* The peer record's JSON form: round trips, strictness. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "wire/record.h"

static const char *K1 = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
#define PK "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
static const char *K2 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

static int parse(struct peer_record *r, const char *json, const char **field)
{
	return peer_record_from_json(r, json, strlen(json), field);
}

static void test_full_roundtrip(void **state)
{
	struct peer_record r, r2;
	const char *field = "x";
	char json[512], *out, *out2;

	snprintf(json, sizeof(json),
		 "{\"public_key\":\"%s\",\"allowed_ips\":[\"10.0.0.2/32\",\"fd00::2/128\"],"
		 "\"gateway\":\"gw-1.eu\",\"preshared_key\":\"%s\",\"persistent_keepalive\":25,"
		 "\"expires_at\":\"2030-01-02T03:04:05Z\",\"created_at\":\"2026-11-21T20:00:00+01:00\"}",
		 K1, K2);
	assert_int_equal(parse(&r, json, &field), 0);
	assert_null(field);
	assert_int_equal(r.n_allowed_ips, 2);
	assert_int_equal(r.allowed_ips[0].family, AF_INET);
	assert_int_equal(r.allowed_ips[1].prefix, 128);
	assert_true(r.has_gateway);
	assert_string_equal(r.gateway, "gw-1.eu");
	assert_true(r.has_preshared_key);
	assert_int_equal(r.persistent_keepalive, 25);
	assert_int_equal(r.expires_at, 1893553445);
	assert_int_equal(r.created_at, 1795291200 - 3600);

	out = peer_record_to_json(&r);
	assert_non_null(out);
	/* base64 '/' and '+' must not be escaped; the gateway parses this text */
	assert_null(strstr(out, "\\/"));
	assert_non_null(strstr(out, "\"expires_at\":\"2030-01-02T03:04:05Z\""));
	assert_int_equal(parse(&r2, out, &field), 0);
	assert_true(peer_record_equal(&r, &r2));
	assert_int_equal(r2.created_at, r.created_at);
	out2 = peer_record_to_json(&r2);
	assert_string_equal(out, out2);
	free(out);
	free(out2);
	peer_record_clear(&r);
	peer_record_clear(&r2);
}

static void test_minimal(void **state)
{
	struct peer_record r, c;
	char json[128], *out;

	snprintf(json, sizeof(json), " {\"public_key\": \"%s\"}\n", K1);
	assert_int_equal(parse(&r, json, NULL), 0);
	assert_int_equal(r.n_allowed_ips, 0);
	assert_false(r.has_gateway);
	assert_false(r.has_preshared_key);
	assert_int_equal(r.expires_at, 0);
	out = peer_record_to_json(&r);
	assert_non_null(out);
	assert_non_null(strstr(out, "\"allowed_ips\":[]"));
	assert_null(strstr(out, "gateway"));
	assert_null(strstr(out, "expires_at"));
	free(out);
	assert_int_equal(peer_record_copy(&c, &r), 0);
	assert_true(peer_record_equal(&r, &c));
	peer_record_clear(&c);
	peer_record_clear(&r);
	peer_record_clear(NULL);
}

static void test_nulls_are_absent(void **state)
{
	struct peer_record r;
	char json[256];

	snprintf(json, sizeof(json),
		 "{\"public_key\":\"%s\",\"gateway\":null,\"preshared_key\":null,\"expires_at\":null,"
		 "\"allowed_ips\":null,\"persistent_keepalive\":null}", K1);
	assert_int_equal(parse(&r, json, NULL), 0);
	assert_false(r.has_gateway);
	peer_record_clear(&r);
}

static void expect_bad(const char *json, const char *want_field)
{
	struct peer_record r;
	const char *field = NULL;

	memset(&r, 0xa5, sizeof(r));
	assert_int_equal(parse(&r, json, &field), -EINVAL);
	assert_non_null(field);
	if (strcmp(field, want_field))
		fail_msg("%s: field '%s', want '%s'", json, field, want_field);
	assert_null(r.allowed_ips);
	assert_int_equal(r.n_allowed_ips, 0);
}

static void test_strict(void **state)
{
	char j[512];

	expect_bad("", "body");
	expect_bad("{", "body");
	expect_bad("[]", "body");
	expect_bad("\"x\"", "body");
	expect_bad("{} x", "body");
	expect_bad("{'public_key': 1}", "body");
	expect_bad("{\"public_key\":1 /* c */}", "body");
	expect_bad("{\"public_key\":1,}", "body");
	expect_bad("{\"public_key\":\"\xff\"}", "body");
	expect_bad("{\"public_key\":01}", "body");
	snprintf(j, sizeof(j), "{\"public_key\":\"%s\",\"public_key\":\"%s\"}", K1, K2);
	expect_bad(j, "body"); /* repeated member: ambiguous */
	expect_bad("{}", "public_key");
	expect_bad("{\"public_key\":\"abc\"}", "public_key");
	expect_bad("{\"public_key\":5}", "public_key");
	expect_bad("{\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", "public_key");
	/* urlsafe alphabet is for paths only */
	expect_bad("{\"public_key\":\"yAnz5TF-lXXJte14tji3zlMNq-hd2rYUIgJBgB3fBmk=\"}", "public_key");

#define BAD(extra, field)                                                          \
	do {                                                                       \
		snprintf(j, sizeof(j), "{\"public_key\":\"%s\",%s}", K1, extra);   \
		expect_bad(j, field);                                              \
	} while (0)
	BAD("\"nickname\":\"bob\"", "nickname");
	BAD("\"extra\":{\"a\":\"b:c\",\"d\":[1,{\"e\":2}]}", "extra");
	BAD("\"allowed_ips\":\"10.0.0.1/32\"", "allowed_ips");
	BAD("\"allowed_ips\":[\"10.0.0.1/24\"]", "allowed_ips");
	BAD("\"allowed_ips\":[\"10.0.0.300/32\"]", "allowed_ips");
	BAD("\"allowed_ips\":[5]", "allowed_ips");
	BAD("\"allowed_ips\":[\"10.0.0.0/24\",\"10.0.0.7/32\"]", "allowed_ips");
	BAD("\"allowed_ips\":[\"10.0.0.1/32\\u0000\"]", "allowed_ips");
	BAD("\"gateway\":7", "gateway");
	BAD("\"gateway\":\"\"", "gateway");
	BAD("\"gateway\":\"a b\"", "gateway");
	BAD("\"gateway\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", "gateway");
	BAD("\"preshared_key\":\"short\"", "preshared_key");
	BAD("\"persistent_keepalive\":\"25\"", "persistent_keepalive");
	BAD("\"persistent_keepalive\":25.0", "persistent_keepalive");
	BAD("\"persistent_keepalive\":-1", "persistent_keepalive");
	BAD("\"persistent_keepalive\":65536", "persistent_keepalive");
	BAD("\"persistent_keepalive\":true", "persistent_keepalive");
	BAD("\"expires_at\":\"tomorrow\"", "expires_at");
	BAD("\"expires_at\":1700000000", "expires_at");
	BAD("\"expires_at\":\"2026-02-30T00:00:00Z\"", "expires_at");
	BAD("\"created_at\":\"2026-01-01 00:00:00Z\"", "created_at");
#undef BAD
}

static void test_equal(void **state)
{
	struct peer_record a, b;
	char j1[256], j2[256];

	snprintf(j1, sizeof(j1), "{\"public_key\":\"%s\",\"allowed_ips\":[\"10.0.0.2/32\",\"10.0.0.3/32\"]}", K1);
	snprintf(j2, sizeof(j2), "{\"public_key\":\"%s\",\"allowed_ips\":[\"10.0.0.3/32\",\"10.0.0.2/32\"]}", K1);
	assert_int_equal(parse(&a, j1, NULL), 0);
	assert_int_equal(parse(&b, j2, NULL), 0);
	assert_true(peer_record_equal(&a, &b));
	b.persistent_keepalive = 1;
	assert_false(peer_record_equal(&a, &b));
	b.persistent_keepalive = 0;
	b.has_gateway = true;
	strcpy(b.gateway, "x");
	assert_false(peer_record_equal(&a, &b));
	peer_record_clear(&a);
	peer_record_clear(&b);
	assert_true(peer_gateway_valid("gw_1.example-2"));
	assert_false(peer_gateway_valid("gw/1"));
}

/* name and owner round-trip, are validated, and count in equality. */
static void test_name_owner(void **state)
{
	struct peer_record r, r2;
	const char *field;
	char *text;

	(void)state;
	assert_int_equal(parse(&r, "{\"public_key\":\"" PK "\",\"name\":\"lap-1.x\",\"owner\":\"a_b@example.com\"}",
			       &field), 0);
	assert_true(r.has_name && r.has_owner);
	assert_string_equal(r.name, "lap-1.x");
	assert_string_equal(r.owner, "a_b@example.com");
	text = peer_record_to_json(&r);
	assert_non_null(text);
	assert_int_equal(parse(&r2, text, &field), 0);
	assert_true(peer_record_equal(&r, &r2));
	r2.owner[0] = 'z';
	assert_false(peer_record_equal(&r, &r2));
	free(text);
	peer_record_clear(&r);
	peer_record_clear(&r2);
	assert_int_equal(parse(&r, "{\"public_key\":\"" PK "\",\"name\":\"has space\"}", &field), -EINVAL);
	assert_string_equal(field, "name");
	assert_int_equal(parse(&r, "{\"public_key\":\"" PK "\",\"owner\":\"\"}", &field), -EINVAL);
	assert_string_equal(field, "owner");
	assert_int_equal(parse(&r, "{\"public_key\":\"" PK "\",\"owner\":1}", &field), -EINVAL);
	assert_true(peer_label_valid("a@b"));
	assert_false(peer_label_valid("a/b"));
}

/* Partial bodies: only the allowed members, which ones were given (also as null), no key needed. */
static void test_fields(void **state)
{
	static const char patch[] = "{\"expires_at\":null,\"allowed_ips\":[\"10.0.0.1/32\"]}";
	struct peer_record r;
	unsigned int present;
	const char *field;

	(void)state;
	assert_int_equal(peer_record_fields_from_json(&r, patch, strlen(patch), PEER_F_EXPIRES_AT | PEER_F_ALLOWED_IPS,
						      &present, &field), 0);
	assert_int_equal(present, PEER_F_EXPIRES_AT | PEER_F_ALLOWED_IPS);
	assert_int_equal(r.n_allowed_ips, 1);
	assert_int_equal(r.expires_at, 0);
	peer_record_clear(&r);
	assert_int_equal(peer_record_fields_from_json(&r, patch, strlen(patch), PEER_F_EXPIRES_AT, &present, &field),
			 -EINVAL);
	assert_string_equal(field, "allowed_ips");
	assert_int_equal(peer_record_fields_from_json(&r, "{}", 2, PEER_F_ALL, &present, &field), 0);
	assert_int_equal(present, 0);
	assert_int_equal(peer_record_fields_from_json(&r, "{\"colour\":1}", 12, PEER_F_ALL, &present, &field), -EINVAL);
	assert_string_equal(field, "colour");
	/* the full parser still requires the key */
	assert_int_equal(parse(&r, "{\"name\":\"x\"}", &field), -EINVAL);
	assert_string_equal(field, "public_key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_roundtrip),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_nulls_are_absent),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_name_owner),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

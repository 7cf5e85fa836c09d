// SPDX-License-Identifier: MIT
/*
 * The responder's consumption of an initiation: valid messages from the
 * spec-side builder, every byte of every field flipped (with and without
 * re-signing mac1), every wrong length and type, wrong keys, the ss cache
 * (hits, eviction, re-binding to another key) and NULL arguments. The real
 * wireguard-go captures are checked in test_identify_data.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "noise/internal.h"
#include "noise/noise.h"
#include "wire/keys.h"
#include "wire/messages.h"

struct fixture {
	uint8_t resp_priv[32], resp_pub[32];
	uint8_t init_priv[32], init_pub[32];
	uint8_t ts[12];
	uint8_t msg[148];
	struct noise_responder *r;
	struct noise_sscache *cache;
};

static int setup(void **state)
{
	static struct fixture f;
	int i;

	memset(&f, 0, sizeof(f));
	assert_int_equal(x25519_generate(f.resp_priv), 0);
	assert_int_equal(x25519_public_from_private(f.resp_pub, f.resp_priv), 0);
	assert_int_equal(x25519_generate(f.init_priv), 0);
	assert_int_equal(x25519_public_from_private(f.init_pub, f.init_priv), 0);
	for (i = 0; i < 12; ++i)
		f.ts[i] = (uint8_t)(0x40 + i);
	assert_int_equal(noise_initiation_create(f.msg, f.init_priv, f.resp_pub, 0xdeadbeef, f.ts, NULL), 0);
	f.r = noise_responder_new(f.resp_priv);
	assert_non_null(f.r);
	f.cache = noise_sscache_new(64);
	assert_non_null(f.cache);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	noise_sscache_free(f->cache);
	noise_responder_free(f->r);
	return 0;
}

static void expect_ok(const struct noise_result *res, const struct fixture *f, uint32_t index)
{
	assert_int_equal(res->verdict, NOISE_OK);
	assert_true(res->has_sender_index);
	assert_int_equal(res->sender_index, index);
	assert_true(res->has_static);
	assert_memory_equal(res->initiator_static, f->init_pub, 32);
	assert_true(res->has_timestamp);
	assert_memory_equal(res->timestamp, f->ts, 12);
}

static void test_valid(void **state)
{
	struct fixture *f = *state;
	struct noise_result res;
	uint8_t pub[32];
	uint64_t hits, misses, inserts;

	noise_responder_public_key(f->r, pub);
	assert_memory_equal(pub, f->resp_pub, 32);
	/* The sender index is little-endian on the wire. */
	assert_int_equal(f->msg[4], 0xef);
	assert_int_equal(noise_consume_initiation(f->r, NULL, f->msg, 148, &res), 0);
	expect_ok(&res, f, 0xdeadbeef);
	assert_int_equal(noise_consume_initiation(f->r, f->cache, f->msg, 148, &res), 0);
	expect_ok(&res, f, 0xdeadbeef);
	assert_int_equal(noise_consume_initiation(f->r, f->cache, f->msg, 148, &res), 0);
	expect_ok(&res, f, 0xdeadbeef);
	noise_sscache_stats(f->cache, &hits, &misses, &inserts);
	assert_true(hits >= 1);
	assert_true(inserts >= 1);
	(void)misses;
}

static void test_names(void **state)
{
	assert_string_equal(noise_verdict_name(NOISE_OK), "ok");
	assert_string_equal(noise_verdict_name(NOISE_BAD_FORMAT), "bad-format");
	assert_string_equal(noise_verdict_name(NOISE_BAD_MAC1), "bad-mac1");
	assert_string_equal(noise_verdict_name(NOISE_BAD_STATIC), "bad-static");
	assert_string_equal(noise_verdict_name(NOISE_BAD_TIMESTAMP), "bad-timestamp");
	assert_string_equal(noise_verdict_name((enum noise_verdict)99), "unknown");
}

static void expect_format(const struct noise_result *res)
{
	assert_int_equal(res->verdict, NOISE_BAD_FORMAT);
	assert_false(res->has_sender_index);
	assert_false(res->has_static);
	assert_false(res->has_timestamp);
}

static void test_lengths_and_types(void **state)
{
	struct fixture *f = *state;
	struct noise_result res;
	uint8_t big[300];
	size_t len;
	int t;

	memset(big, 0, sizeof(big));
	memcpy(big, f->msg, 148);
	for (len = 0; len < sizeof(big); ++len) {
		if (len == 148)
			continue;
		assert_int_equal(noise_consume_initiation(f->r, f->cache, big, len, &res), 0);
		expect_format(&res);
	}
	assert_int_equal(noise_consume_initiation(f->r, f->cache, NULL, 0, &res), 0);
	expect_format(&res);
	for (t = 0; t < 256; ++t) {
		if (t == 1)
			continue;
		big[0] = (uint8_t)t;
		assert_int_equal(noise_consume_initiation(f->r, f->cache, big, 148, &res), 0);
		expect_format(&res);
	}
}

static enum noise_verdict consume(struct fixture *f, const uint8_t *msg, struct noise_result *res)
{
	assert_int_equal(noise_consume_initiation(f->r, f->cache, msg, 148, res), 0);
	return res->verdict;
}

/*
 * Every byte flipped, as sent (mac1 now wrong) and re-signed (mac1 right,
 * so the inner checks decide). sender_index and mac2 are not covered by
 * the Noise transcript: re-signed, a changed index is still ok, and mac2
 * is only checked against a cookie under load, which identification never
 * asks for.
 */
static void test_flip_every_byte(void **state)
{
	struct fixture *f = *state;
	struct noise_result res;
	uint8_t m[148];
	size_t i;
	int resign;

	for (resign = 0; resign <= 1; ++resign) {
		for (i = 0; i < 148; ++i) {
			enum noise_verdict want;

			memcpy(m, f->msg, 148);
			m[i] ^= (uint8_t)(1u << (i % 8));
			if (resign && i < 116)
				noise_initiation_set_mac1(m, f->resp_pub);
			if (i < 4)
				want = NOISE_BAD_FORMAT;
			else if (!resign && i < 116)
				want = NOISE_BAD_MAC1;
			else if (i < 8)
				want = NOISE_OK;
			else if (i < 88)
				want = NOISE_BAD_STATIC;
			else if (i < 116)
				want = NOISE_BAD_TIMESTAMP;
			else if (i < 132)
				want = NOISE_BAD_MAC1;
			else
				want = NOISE_OK;
			if (consume(f, m, &res) != want)
				fail_msg("byte %zu resign %d: got %s want %s", i, resign,
					 noise_verdict_name(res.verdict), noise_verdict_name(want));
			assert_int_equal(res.has_sender_index, want != NOISE_BAD_FORMAT);
			assert_int_equal(res.has_static, want == NOISE_OK || want == NOISE_BAD_TIMESTAMP);
			if (res.has_static)
				assert_memory_equal(res.initiator_static, f->init_pub, 32);
			assert_int_equal(res.has_timestamp, want == NOISE_OK);
		}
	}
}

static void test_wrong_keys(void **state)
{
	struct fixture *f = *state;
	struct noise_result res;
	uint8_t other_priv[32], other_pub[32], m[148];
	struct noise_responder *other;

	assert_int_equal(x25519_generate(other_priv), 0);
	assert_int_equal(x25519_public_from_private(other_pub, other_priv), 0);
	/* Addressed to another responder: mac1 does not match ours. */
	assert_int_equal(noise_initiation_create(m, f->init_priv, other_pub, 7, f->ts, NULL), 0);
	assert_int_equal(consume(f, m, &res), NOISE_BAD_MAC1);
	/* Signed for us but encrypted to another key: es fails. */
	noise_initiation_set_mac1(m, f->resp_pub);
	assert_int_equal(consume(f, m, &res), NOISE_BAD_STATIC);
	/* The same cache serves another responder after re-binding, and back. */
	other = noise_responder_new(other_priv);
	assert_non_null(other);
	noise_initiation_set_mac1(m, other_pub);
	assert_int_equal(noise_consume_initiation(other, f->cache, m, 148, &res), 0);
	assert_int_equal(res.verdict, NOISE_OK);
	assert_int_equal(noise_consume_initiation(other, f->cache, f->msg, 148, &res), 0);
	assert_int_equal(res.verdict, NOISE_BAD_MAC1);
	assert_int_equal(consume(f, f->msg, &res), NOISE_OK);
	noise_responder_free(other);
	noise_responder_free(NULL);
}

static void test_small_order_ephemeral(void **state)
{
	struct fixture *f = *state;
	struct noise_result res;
	uint8_t m[148];

	memcpy(m, f->msg, 148);
	memset(m + 8, 0, 32);
	noise_initiation_set_mac1(m, f->resp_pub);
	assert_int_equal(consume(f, m, &res), NOISE_BAD_STATIC);
	assert_false(res.has_static);
	m[8] = 1;
	noise_initiation_set_mac1(m, f->resp_pub);
	assert_int_equal(consume(f, m, &res), NOISE_BAD_STATIC);
}

/*
 * A static key of small order, sealed correctly under es (anyone can: es
 * needs only the sender's ephemeral), must stop at ss: the DH is all-zero
 * and refused, so the verdict is bad-timestamp and the cache gets nothing.
 */
static void test_small_order_static(void **state)
{
	static const uint8_t points[][32] = {
		{ 0 },
		{ 1 },
		{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		  0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	};
	struct fixture *f = *state;
	struct noise_sscache *cache = noise_sscache_new(8);
	struct noise_result res;
	struct blake2s_state s;
	uint8_t ck[32], h[32], key[32], dh[32], e_priv[32], m[148];
	uint64_t inserts;
	size_t i;

	assert_non_null(cache);
	for (i = 0; i < sizeof(points) / sizeof(points[0]); ++i) {
		memcpy(m, f->msg, 148);
		assert_int_equal(x25519_generate(e_priv), 0);
		noise_initial_state(ck, h, f->resp_pub);
		/* e */
		assert_int_equal(x25519_public_from_private(m + 8, e_priv), 0);
		kdf(ck, NULL, NULL, ck, m + 8, 32);
		blake2s_init(&s, 32);
		blake2s_update(&s, h, 32);
		blake2s_update(&s, m + 8, 32);
		blake2s_final(&s, h);
		/* es, then s = the small-order point */
		assert_int_equal(x25519(dh, e_priv, f->resp_pub), 0);
		kdf(ck, key, NULL, ck, dh, 32);
		assert_int_equal(aead_encrypt(NULL, m + 40, points[i], 32, 0, h, 32, key), 0);
		noise_initiation_set_mac1(m, f->resp_pub);
		assert_int_equal(noise_consume_initiation(f->r, cache, m, 148, &res), 0);
		assert_int_equal(res.verdict, NOISE_BAD_TIMESTAMP);
		assert_true(res.has_static);
		assert_memory_equal(res.initiator_static, points[i], 32);
		assert_false(res.has_timestamp);
		assert_int_equal(noise_consume_initiation(f->r, NULL, m, 148, &res), 0);
		assert_int_equal(res.verdict, NOISE_BAD_TIMESTAMP);
	}
	noise_sscache_stats(cache, NULL, NULL, &inserts);
	assert_int_equal(inserts, 0);
	noise_sscache_free(cache);
}

/* Far more initiators than slots: eviction never yields a wrong answer. */
static void test_cache_eviction(void **state)
{
	struct fixture *f = *state;
	struct noise_sscache *small = noise_sscache_new(8);
	struct noise_result res;
	uint8_t priv[40][32], pub[32], m[148];
	uint64_t hits, misses, inserts;
	int round, i;

	assert_non_null(small);
	for (i = 0; i < 40; ++i)
		assert_int_equal(x25519_generate(priv[i]), 0);
	for (round = 0; round < 3; ++round) {
		for (i = 0; i < 40; ++i) {
			int k = round == 1 ? i % 4 : i;

			assert_int_equal(noise_initiation_create(m, priv[k], f->resp_pub, (uint32_t)i,
								 f->ts, NULL), 0);
			assert_int_equal(noise_consume_initiation(f->r, small, m, 148, &res), 0);
			assert_int_equal(res.verdict, NOISE_OK);
			assert_int_equal(x25519_public_from_private(pub, priv[k]), 0);
			assert_memory_equal(res.initiator_static, pub, 32);
		}
	}
	noise_sscache_stats(small, &hits, &misses, &inserts);
	assert_true(hits >= 36); /* round 1 cycles four keys through eight slots */
	assert_int_equal(hits + misses, 120);
	assert_int_equal(inserts, misses);
	noise_sscache_free(small);
	noise_sscache_free(NULL);
	assert_null(noise_sscache_new(0));
}

static void test_null_args(void **state)
{
	struct fixture *f = *state;
	struct noise_result res;

	assert_int_equal(noise_consume_initiation(NULL, NULL, f->msg, 148, &res), -EINVAL);
	assert_int_equal(noise_consume_initiation(f->r, NULL, f->msg, 148, NULL), -EINVAL);
	assert_int_equal(noise_consume_initiation(f->r, NULL, NULL, 148, &res), -EINVAL);
}

/* A fixed ephemeral makes the builder deterministic. */
static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	uint8_t e[32], a[148], b[148];

	assert_int_equal(x25519_generate(e), 0);
	assert_int_equal(noise_initiation_create(a, f->init_priv, f->resp_pub, 1, f->ts, e), 0);
	assert_int_equal(noise_initiation_create(b, f->init_priv, f->resp_pub, 1, f->ts, e), 0);
	assert_memory_equal(a, b, 148);
	assert_int_equal(noise_initiation_create(b, f->init_priv, f->resp_pub, 1, f->ts, NULL), 0);
	assert_memory_not_equal(a + 8, b + 8, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_lengths_and_types),
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_small_order_ephemeral),
		cmocka_unit_test(test_small_order_static),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_deterministic),
	};

	static const char *names[] = { "auto", "generic", "ssse3", "avx512vl" };
	int impl, failed = 0;

	/* The decoder pairs BLAKE2s blocks where the CPU can: run it on every
	 * compression function this CPU has. */
	for (impl = BLAKE2S_IMPL_AUTO; impl <= BLAKE2S_IMPL_AVX512VL; ++impl) {
		if (!blake2s_use_impl((enum blake2s_impl)impl))
			continue;
		printf("BLAKE2s %s:\n", names[impl]);
		failed += _cmocka_run_group_tests(names[impl], tests, sizeof(tests) / sizeof(tests[0]), setup,
						  teardown);
	}
	blake2s_use_impl(BLAKE2S_IMPL_AUTO);
	return failed;
}

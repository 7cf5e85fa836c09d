// SPDX-License-Identifier: MIT
/*
 * BLAKE2s, keyed BLAKE2s, HMAC-BLAKE2s and the KDF: RFC 7693 known answers,
 * then agreement with OpenSSL's independent implementations (EVP digest
 * BLAKE2S-256, EVP_MAC BLAKE2SMAC and HMAC) over every length that crosses
 * a block boundary, and every split of the input into two updates.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "wire/keys.h"

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(hex_decode(out, len, hex, strlen(hex)), (long)len);
}

/* RFC 7693 appendix B. */
static void test_rfc7693_abc(void **state)
{
	uint8_t want[32], got[32];

	unhex(want, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	blake2s(got, 32, "abc", 3, NULL, 0);
	assert_memory_equal(got, want, 32);
}

/* RFC 7693 appendix E: the self-test "grand hash" over many parameters. */
static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t t, a = 0xDEAD4BAD * seed, b = 1;
	size_t i;

	for (i = 0; i < len; ++i) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

static void test_rfc7693_selftest(void **state)
{
	static const size_t md_len[4] = { 16, 20, 28, 32 };
	static const size_t in_len[6] = { 0, 3, 64, 65, 255, 1024 };
	uint8_t in[1024], md[32], key[32], want[32], got[32];
	struct blake2s_state ctx;
	size_t i, j, outlen, inlen;

	unhex(want, 32, "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
	blake2s_init(&ctx, 32);
	for (i = 0; i < 4; ++i) {
		outlen = md_len[i];
		for (j = 0; j < 6; ++j) {
			inlen = in_len[j];
			selftest_seq(in, inlen, (uint32_t)inlen);
			blake2s(md, outlen, in, inlen, NULL, 0);
			blake2s_update(&ctx, md, outlen);
			selftest_seq(key, outlen, (uint32_t)outlen);
			blake2s(md, outlen, in, inlen, key, outlen);
			blake2s_update(&ctx, md, outlen);
		}
	}
	blake2s_final(&ctx, got);
	assert_memory_equal(got, want, 32);
}

static void evp_digest(uint8_t out[32], const uint8_t *in, size_t len)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	unsigned int n = 0;

	assert_non_null(md);
	assert_int_equal(EVP_Digest(in, len, out, &n, md, NULL), 1);
	assert_int_equal(n, 32);
	EVP_MD_free(md);
}

static void evp_mac(uint8_t *out, size_t outlen, const char *alg, const uint8_t *key,
		    size_t keylen, const uint8_t *in, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, alg, NULL);
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[3], *p = params;
	size_t n = 0;

	assert_non_null(mac);
	ctx = EVP_MAC_CTX_new(mac);
	assert_non_null(ctx);
	if (!strcmp(alg, "HMAC"))
		*p++ = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "BLAKE2S-256", 0);
	else
		*p++ = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen);
	*p = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_MAC_init(ctx, key, keylen, params), 1);
	assert_int_equal(EVP_MAC_update(ctx, in, len), 1);
	assert_int_equal(EVP_MAC_final(ctx, out, &n, outlen), 1);
	assert_int_equal(n, outlen);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

static void test_against_evp_unkeyed(void **state)
{
	uint8_t in[300], want[32], got[32];
	struct blake2s_state s;
	size_t len, split;

	selftest_seq(in, sizeof(in), 7);
	for (len = 0; len <= sizeof(in); ++len) {
		evp_digest(want, in, len);
		blake2s(got, 32, in, len, NULL, 0);
		assert_memory_equal(got, want, 32);
		for (split = 0; split <= len; split += (len < 140 ? 1 : 37)) {
			blake2s_init(&s, 32);
			blake2s_update(&s, in, split);
			blake2s_update(&s, in + split, len - split);
			blake2s_final(&s, got);
			assert_memory_equal(got, want, 32);
		}
	}
}

static void test_against_evp_keyed(void **state)
{
	uint8_t in[200], key[32], want[32], got[32];
	size_t len, keylen, outlen;

	selftest_seq(in, sizeof(in), 11);
	selftest_seq(key, sizeof(key), 3);
	for (len = 0; len <= sizeof(in); len += 3) {
		for (keylen = 1; keylen <= 32; keylen += 31) {
			for (outlen = 16; outlen <= 32; outlen += 16) {
				evp_mac(want, outlen, "BLAKE2SMAC", key, keylen, in, len);
				blake2s(got, outlen, in, len, key, keylen);
				assert_memory_equal(got, want, outlen);
			}
		}
	}
}

static void test_flush_pending(void **state)
{
	uint8_t key[32], in[116], want[16], got[16];
	struct blake2s_state pre, s;

	/* A precomputed keyed state (as for mac1) must give the same MAC. */
	selftest_seq(key, sizeof(key), 5);
	selftest_seq(in, sizeof(in), 9);
	blake2s(want, 16, in, sizeof(in), key, sizeof(key));
	blake2s_init_key(&pre, 16, key, sizeof(key));
	blake2s_flush_pending(&pre);
	s = pre;
	blake2s_update(&s, in, sizeof(in));
	blake2s_final(&s, got);
	assert_memory_equal(got, want, 16);
}

static void test_hmac_against_evp(void **state)
{
	uint8_t key[100], in[200], want[32], got[32];
	size_t keylen, len;

	selftest_seq(key, sizeof(key), 13);
	selftest_seq(in, sizeof(in), 17);
	for (keylen = 0; keylen <= sizeof(key); keylen += 4) {
		for (len = 0; len <= sizeof(in); len += 13) {
			evp_mac(want, 32, "HMAC", key, keylen, in, len);
			hmac_blake2s(got, key, keylen, in, len);
			assert_memory_equal(got, want, 32);
		}
	}
}

/* The KDF written out from its definition with the generic HMAC. */
static void test_kdf(void **state)
{
	uint8_t ck[32], in[32], t0[32], t1[32], t2[32], t3[32], buf[33];
	uint8_t g1[32], g2[32], g3[32];
	struct hmac_blake2s_key k;

	selftest_seq(ck, sizeof(ck), 19);
	selftest_seq(in, sizeof(in), 23);
	hmac_blake2s(t0, ck, 32, in, 32);
	buf[0] = 1;
	hmac_blake2s(t1, t0, 32, buf, 1);
	memcpy(buf, t1, 32);
	buf[32] = 2;
	hmac_blake2s(t2, t0, 32, buf, 33);
	memcpy(buf, t2, 32);
	buf[32] = 3;
	hmac_blake2s(t3, t0, 32, buf, 33);

	kdf(g1, g2, g3, ck, in, 32);
	assert_memory_equal(g1, t1, 32);
	assert_memory_equal(g2, t2, 32);
	assert_memory_equal(g3, t3, 32);
	memset(g2, 0, 32);
	kdf(g1, g2, NULL, ck, in, 32);
	assert_memory_equal(g2, t2, 32);
	hmac_blake2s_key_init(&k, ck, 32);
	kdf_keyed(g1, NULL, NULL, &k, in, 32);
	assert_memory_equal(g1, t1, 32);
	/* The output may overwrite the chaining key it came from. */
	memcpy(g1, ck, 32);
	kdf(g1, g2, NULL, g1, in, 32);
	assert_memory_equal(g1, t1, 32);
	assert_memory_equal(g2, t2, 32);
	hmac_blake2s_key_wipe(&k);
}

/* Every compression function the CPU has, through all of the above. */
static int run_all(const struct CMUnitTest *tests, size_t n)
{
	static const char *names[] = { "auto", "generic", "ssse3", "avx512vl" };
	int impl, failed = 0;

	for (impl = BLAKE2S_IMPL_AUTO; impl <= BLAKE2S_IMPL_AVX512VL; ++impl) {
		if (!blake2s_use_impl((enum blake2s_impl)impl)) {
			printf("BLAKE2s %s: not supported by this CPU, skipped\n", names[impl]);
			continue;
		}
		printf("BLAKE2s %s:\n", names[impl]);
		failed += _cmocka_run_group_tests(names[impl], tests, n, NULL, NULL);
	}
	blake2s_use_impl(BLAKE2S_IMPL_AUTO);
	return failed;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7693_abc),
		cmocka_unit_test(test_rfc7693_selftest),
		cmocka_unit_test(test_against_evp_unkeyed),
		cmocka_unit_test(test_against_evp_keyed),
		cmocka_unit_test(test_flush_pending),
		cmocka_unit_test(test_hmac_against_evp),
		cmocka_unit_test(test_kdf),
	};

	return run_all(tests, sizeof(tests) / sizeof(tests[0]));
}

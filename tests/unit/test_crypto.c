// SPDX-License-Identifier: MIT
/*
 * X25519 (RFC 7748 vectors, small-order points, the reused-peer-key path
 * against fresh contexts) and ChaCha20-Poly1305 with WireGuard's nonce
 * (against EVP driven directly, tampering, counters).
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "crypto/aead.h"
#include "crypto/siphash.h"
#include "crypto/x25519.h"
#include "wire/keys.h"

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(hex_decode(out, len, hex, strlen(hex)), (long)len);
}

static void test_rfc7748(void **state)
{
	uint8_t k[32], u[32], want[32], got[32];
	uint8_t a[32], ap[32], b[32], bp[32], s[32], pub[32];

	/* Section 5.2, first vector. */
	unhex(k, 32, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	unhex(u, 32, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	unhex(want, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	assert_int_equal(x25519(got, k, u), 0);
	assert_memory_equal(got, want, 32);

	/* Section 6.1. */
	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(ap, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex(bp, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	unhex(s, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_int_equal(x25519_public_from_private(pub, a), 0);
	assert_memory_equal(pub, ap, 32);
	assert_int_equal(x25519_public_from_private(pub, b), 0);
	assert_memory_equal(pub, bp, 32);
	assert_int_equal(x25519(got, a, bp), 0);
	assert_memory_equal(got, s, 32);
	assert_int_equal(x25519(got, b, ap), 0);
	assert_memory_equal(got, s, 32);
}

static void test_small_order(void **state)
{
	static const char *points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	};
	uint8_t priv[32], u[32], out[32];
	struct x25519_key *k;
	struct x25519_ctx *c;
	size_t i;

	assert_int_equal(x25519_generate(priv), 0);
	k = x25519_key_new(priv);
	assert_non_null(k);
	c = x25519_ctx_new(k);
	assert_non_null(c);
	for (i = 0; i < sizeof(points) / sizeof(points[0]); ++i) {
		unhex(u, 32, points[i]);
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(x25519_ctx_derive(c, out, u), -EINVAL);
		assert_true(key_is_zero(out));
	}
	/* The context still works after failures. */
	assert_int_equal(x25519_public_from_private(u, priv), 0);
	assert_int_equal(x25519_ctx_derive(c, out, u), 0);
	x25519_ctx_free(c);
	x25519_key_free(k);
	x25519_ctx_free(NULL);
	x25519_key_free(NULL);
}

/* The reused peer object must give what a fresh context gives, every time. */
static void test_ctx_matches_fresh(void **state)
{
	uint8_t priv[32], peer_priv[32], peer_pub[32], a[32], b[32], pub[32], pub2[32];
	struct x25519_key *k;
	struct x25519_ctx *c;
	int i;

	assert_int_equal(x25519_generate(priv), 0);
	k = x25519_key_new(priv);
	assert_non_null(k);
	x25519_key_public(k, pub);
	assert_int_equal(x25519_public_from_private(pub2, priv), 0);
	assert_memory_equal(pub, pub2, 32);
	c = x25519_ctx_new(k);
	assert_non_null(c);
	for (i = 0; i < 50; ++i) {
		assert_int_equal(x25519_generate(peer_priv), 0);
		assert_int_equal(x25519_public_from_private(peer_pub, peer_priv), 0);
		assert_int_equal(x25519_ctx_derive(c, a, peer_pub), 0);
		assert_int_equal(x25519(b, peer_priv, pub), 0);
		assert_memory_equal(a, b, 32);
	}
	x25519_ctx_free(c);
	x25519_key_free(k);
}

static void evp_seal(uint8_t *out, const uint8_t *in, size_t len, const uint8_t nonce[12],
		     const uint8_t *ad, size_t adlen, const uint8_t key[32])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)adlen), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + len), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void test_aead(void **state)
{
	uint8_t key[32], ad[32], pt[48], ct[64], want[64], back[48], nonce[12] = { 0 };
	struct aead_ctx *c = aead_ctx_new();
	size_t len, i;

	assert_non_null(c);
	for (i = 0; i < 32; ++i) {
		key[i] = (uint8_t)(i * 3 + 1);
		ad[i] = (uint8_t)(255 - i);
	}
	for (i = 0; i < sizeof(pt); ++i)
		pt[i] = (uint8_t)(i * 7);
	/* nonce = 0x00000000 || le64(0x0102030405060708) */
	for (i = 0; i < 8; ++i)
		nonce[4 + i] = (uint8_t)(8 - i);
	for (len = 0; len <= sizeof(pt); len += 12) {
		evp_seal(want, pt, len, nonce, ad, sizeof(ad), key);
		assert_int_equal(aead_encrypt(c, ct, pt, len, 0x0102030405060708ULL, ad, sizeof(ad), key), 0);
		assert_memory_equal(ct, want, len + AEAD_TAG_LEN);
		assert_int_equal(aead_decrypt(c, back, ct, len + AEAD_TAG_LEN, 0x0102030405060708ULL,
					      ad, sizeof(ad), key), 0);
		assert_memory_equal(back, pt, len);
		/* Any flipped bit, in ciphertext, tag, ad, counter or key, fails. */
		for (i = 0; i < len + AEAD_TAG_LEN; ++i) {
			ct[i] ^= 0x20;
			assert_int_equal(aead_decrypt(c, back, ct, len + AEAD_TAG_LEN,
						      0x0102030405060708ULL, ad, sizeof(ad), key), -EBADMSG);
			ct[i] ^= 0x20;
		}
		ad[5] ^= 1;
		assert_int_equal(aead_decrypt(c, back, ct, len + AEAD_TAG_LEN, 0x0102030405060708ULL,
					      ad, sizeof(ad), key), -EBADMSG);
		ad[5] ^= 1;
		assert_int_equal(aead_decrypt(c, back, ct, len + AEAD_TAG_LEN, 0x0102030405060709ULL,
					      ad, sizeof(ad), key), -EBADMSG);
		key[31] ^= 0x80;
		assert_int_equal(aead_decrypt(c, back, ct, len + AEAD_TAG_LEN, 0x0102030405060708ULL,
					      ad, sizeof(ad), key), -EBADMSG);
		key[31] ^= 0x80;
	}
	assert_int_equal(aead_decrypt(c, back, ct, AEAD_TAG_LEN - 1, 0, ad, sizeof(ad), key), -EBADMSG);
	aead_ctx_free(c);
	aead_ctx_free(NULL);
}

/* Random keys, counters and every length up to four ChaCha blocks. */
static void test_aead_lengths(void **state)
{
	uint8_t key[32], ad[64], pt[260], ct[276], want[276], back[260], nonce[12] = { 0 };
	struct aead_ctx *c = aead_ctx_new();
	uint64_t counter = 0;
	size_t len, adlen, i;
	unsigned seed = 12345;

	assert_non_null(c);
	for (len = 0; len <= sizeof(pt); ++len) {
		for (i = 0; i < 32; ++i)
			key[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		for (i = 0; i < len; ++i)
			pt[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		for (i = 0; i < sizeof(ad); ++i)
			ad[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		adlen = (len * 7) % 65;
		counter = len % 3 == 0 ? len : ((uint64_t)seed << 32) ^ len;
		for (i = 0; i < 8; ++i)
			nonce[4 + i] = (uint8_t)(counter >> (8 * i));
		evp_seal(want, pt, len, nonce, ad, adlen, key);
		assert_int_equal(aead_encrypt(c, ct, pt, len, counter, adlen ? ad : NULL, adlen, key), 0);
		assert_memory_equal(ct, want, len + AEAD_TAG_LEN);
		memset(back, 0xee, sizeof(back));
		assert_int_equal(aead_decrypt(c, back, ct, len + AEAD_TAG_LEN, counter, ad, adlen, key), 0);
		assert_memory_equal(back, pt, len);
		/* Decrypting in place works too. */
		assert_int_equal(aead_decrypt(c, ct, ct, len + AEAD_TAG_LEN, counter, ad, adlen, key), 0);
		assert_memory_equal(ct, pt, len);
	}
	aead_ctx_free(c);
}

/* The reference vectors (key 00..0f, input 00..len-1), output as the
 * little-endian 64-bit word; cross-checked with `openssl mac SIPHASH`. */
static void test_siphash_vectors(void **state)
{
	static const struct {
		size_t len;
		uint64_t want;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },  { 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL },  { 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL }, { 32, 0x7127512f72f27cceULL },
		{ 63, 0x958a324ceb064572ULL },
	};
	struct siphash_key k;
	uint8_t in[64], key[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); ++i)
		in[i] = (uint8_t)i;
	for (i = 0; i < sizeof(key); ++i)
		key[i] = (uint8_t)i;
	memcpy(&k.k[0], key, 8);
	memcpy(&k.k[1], key + 8, 8);
	k.k[0] = le64toh(k.k[0]);
	k.k[1] = le64toh(k.k[1]);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i)
		assert_true(siphash24(&k, in, v[i].len) == v[i].want);
	/* Any alignment. */
	memmove(in + 1, in, 32);
	assert_true(siphash24(&k, in + 1, 32) == 0x7127512f72f27cceULL);
	assert_int_equal(siphash_key_random(&k), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748),
		cmocka_unit_test(test_small_order),
		cmocka_unit_test(test_ctx_matches_fresh),
		cmocka_unit_test(test_aead),
		cmocka_unit_test(test_aead_lengths),
		cmocka_unit_test(test_siphash_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * HMAC over the hand-written BLAKE2s. The pad blocks are compressed as soon
 * as the key is known ("flushed"), which is valid only when a message of at
 * least one byte follows: every HMAC in WireGuard's KDF has one. The empty
 * message keeps the pad pending so the one-shot function stays general.
 */
#include "crypto/hmac.h"

#include <stdbool.h>
#include <string.h>

static void key_init(struct hmac_blake2s_key *k, const void *key, size_t keylen, bool flush)
{
	uint8_t block[BLAKE2S_BLOCK_LEN], hashed[BLAKE2S_HASH_LEN];
	int i;

	memset(block, 0, sizeof(block));
	if (keylen > BLAKE2S_BLOCK_LEN) {
		blake2s(hashed, BLAKE2S_HASH_LEN, key, keylen, NULL, 0);
		memcpy(block, hashed, BLAKE2S_HASH_LEN);
	} else if (keylen) {
		memcpy(block, key, keylen);
	}
	for (i = 0; i < BLAKE2S_BLOCK_LEN; ++i)
		block[i] ^= 0x36;
	blake2s_init(&k->inner, BLAKE2S_HASH_LEN);
	blake2s_update(&k->inner, block, BLAKE2S_BLOCK_LEN);
	for (i = 0; i < BLAKE2S_BLOCK_LEN; ++i)
		block[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&k->outer, BLAKE2S_HASH_LEN);
	blake2s_update(&k->outer, block, BLAKE2S_BLOCK_LEN);
	/* The outer hash always gets the 32-byte inner digest after its pad;
	 * with a message to come, both pads compress side by side. */
	if (flush)
		blake2s_flush_pending2(&k->inner, &k->outer);
	else
		blake2s_flush_pending(&k->outer);
	explicit_bzero(block, sizeof(block));
	explicit_bzero(hashed, sizeof(hashed));
}

void hmac_blake2s_key_init(struct hmac_blake2s_key *k, const void *key, size_t keylen)
{
	key_init(k, key, keylen, true);
}

void hmac_blake2s_key_wipe(struct hmac_blake2s_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

void hmac_blake2s_keyed(uint8_t out[static BLAKE2S_HASH_LEN], const struct hmac_blake2s_key *k,
			const void *in1, size_t len1, const void *in2, size_t len2)
{
	struct blake2s_state s;
	uint8_t inner[BLAKE2S_HASH_LEN];

	s = k->inner;
	blake2s_update(&s, in1, len1);
	blake2s_update(&s, in2, len2);
	blake2s_final(&s, inner);
	s = k->outer;
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out);
	explicit_bzero(inner, sizeof(inner));
}

void hmac_blake2s(uint8_t out[static BLAKE2S_HASH_LEN], const void *key, size_t keylen,
		  const void *in, size_t inlen)
{
	struct hmac_blake2s_key k;

	key_init(&k, key, keylen, inlen > 0);
	hmac_blake2s_keyed(out, &k, in, inlen, NULL, 0);
	hmac_blake2s_key_wipe(&k);
}

/* tau_1..3 from tau0 = the KDF's first HMAC, already computed. */
static void kdf_expand(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t secret[static BLAKE2S_HASH_LEN])
{
	struct hmac_blake2s_key tau0;
	uint8_t prev[BLAKE2S_HASH_LEN];
	uint8_t idx;

	hmac_blake2s_key_init(&tau0, secret, BLAKE2S_HASH_LEN);
	if (!t1)
		goto out;
	idx = 1;
	hmac_blake2s_keyed(prev, &tau0, &idx, 1, NULL, 0);
	memcpy(t1, prev, BLAKE2S_HASH_LEN);
	if (!t2)
		goto out;
	idx = 2;
	hmac_blake2s_keyed(prev, &tau0, prev, sizeof(prev), &idx, 1);
	memcpy(t2, prev, BLAKE2S_HASH_LEN);
	if (!t3)
		goto out;
	idx = 3;
	hmac_blake2s_keyed(prev, &tau0, prev, sizeof(prev), &idx, 1);
	memcpy(t3, prev, BLAKE2S_HASH_LEN);
out:
	hmac_blake2s_key_wipe(&tau0);
	explicit_bzero(prev, sizeof(prev));
}

void kdf_keyed(uint8_t *t1, uint8_t *t2, uint8_t *t3, const struct hmac_blake2s_key *ck,
	       const void *in, size_t inlen)
{
	uint8_t secret[BLAKE2S_HASH_LEN];

	/* An empty input would need the unflushed pad: kdf() handles it. */
	hmac_blake2s_keyed(secret, ck, in, inlen, NULL, 0);
	kdf_expand(t1, t2, t3, secret);
	explicit_bzero(secret, sizeof(secret));
}

void kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[static BLAKE2S_HASH_LEN],
	 const void *in, size_t inlen)
{
	struct hmac_blake2s_key k;
	uint8_t secret[BLAKE2S_HASH_LEN];

	/* The transport keys come from KDF2(ck, empty): the one-shot HMAC
	 * keeps the inner pad pending for that. */
	if (!inlen) {
		hmac_blake2s(secret, ck, BLAKE2S_HASH_LEN, NULL, 0);
		kdf_expand(t1, t2, t3, secret);
		explicit_bzero(secret, sizeof(secret));
		return;
	}
	hmac_blake2s_key_init(&k, ck, BLAKE2S_HASH_LEN);
	kdf_keyed(t1, t2, t3, &k, in, inlen);
	hmac_blake2s_key_wipe(&k);
}

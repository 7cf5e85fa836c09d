// SPDX-License-Identifier: MIT
/*
 * BLAKE2s after RFC 7693. The compression function is written with the
 * rounds unrolled and the message schedule as a constant table so the
 * compiler keeps the sixteen state words in registers; on the handshake's
 * short inputs this beats EVP by a wide margin (docs/ARCHITECTURE.md).
 */
#include "crypto/blake2s.h"

#include <endian.h>
#include <string.h>
#include <openssl/crypto.h>

static const uint32_t iv[8] = {
	0x6A09E667UL, 0xBB67AE85UL, 0x3C6EF372UL, 0xA54FF53AUL,
	0x510E527FUL, 0x9B05688CUL, 0x1F83D9ABUL, 0x5BE0CD19UL,
};

static const uint8_t sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t ror32(uint32_t w, unsigned c)
{
	return (w >> c) | (w << (32 - c));
}

static void compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN], uint32_t inc,
		     uint32_t last)
{
	uint32_t m[16], v[16];
	int i;

	s->t[0] += inc;
	s->t[1] += s->t[0] < inc;
	for (i = 0; i < 16; ++i) {
		uint32_t w;

		memcpy(&w, block + 4 * i, 4);
		m[i] = le32toh(w);
	}
	memcpy(v, s->h, sizeof(s->h));
	v[8] = iv[0];
	v[9] = iv[1];
	v[10] = iv[2];
	v[11] = iv[3];
	v[12] = iv[4] ^ s->t[0];
	v[13] = iv[5] ^ s->t[1];
	v[14] = iv[6] ^ last;
	v[15] = iv[7];

#define G(r, i, a, b, c, d)                                   \
	do {                                                  \
		a += b + m[sigma[r][2 * i]];                  \
		d = ror32(d ^ a, 16);                         \
		c += d;                                       \
		b = ror32(b ^ c, 12);                         \
		a += b + m[sigma[r][2 * i + 1]];              \
		d = ror32(d ^ a, 8);                          \
		c += d;                                       \
		b = ror32(b ^ c, 7);                          \
	} while (0)
#define ROUND(r)                                              \
	do {                                                  \
		G(r, 0, v[0], v[4], v[8], v[12]);             \
		G(r, 1, v[1], v[5], v[9], v[13]);             \
		G(r, 2, v[2], v[6], v[10], v[14]);            \
		G(r, 3, v[3], v[7], v[11], v[15]);            \
		G(r, 4, v[0], v[5], v[10], v[15]);            \
		G(r, 5, v[1], v[6], v[11], v[12]);            \
		G(r, 6, v[2], v[7], v[8], v[13]);             \
		G(r, 7, v[3], v[4], v[9], v[14]);             \
	} while (0)
	ROUND(0);
	ROUND(1);
	ROUND(2);
	ROUND(3);
	ROUND(4);
	ROUND(5);
	ROUND(6);
	ROUND(7);
	ROUND(8);
	ROUND(9);
#undef ROUND
#undef G
	for (i = 0; i < 8; ++i)
		s->h[i] ^= v[i] ^ v[i + 8];
	/* The message words may be secret (keys, DH outputs). */
	OPENSSL_cleanse(m, sizeof(m));
	OPENSSL_cleanse(v, sizeof(v));
}

void blake2s_init_key(struct blake2s_state *s, size_t outlen, const void *key, size_t keylen)
{
	if (outlen == 0 || outlen > BLAKE2S_HASH_LEN)
		outlen = BLAKE2S_HASH_LEN;
	if (keylen > BLAKE2S_KEY_LEN)
		keylen = BLAKE2S_KEY_LEN;
	memset(s, 0, sizeof(*s));
	memcpy(s->h, iv, sizeof(iv));
	s->h[0] ^= 0x01010000UL ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		/* The key is a whole zero-padded first block. */
		memcpy(s->buf, key, keylen);
		s->buflen = BLAKE2S_BLOCK_LEN;
	}
}

void blake2s_init(struct blake2s_state *s, size_t outlen)
{
	blake2s_init_key(s, outlen, NULL, 0);
}

void blake2s_update(struct blake2s_state *s, const void *in_, size_t len)
{
	const uint8_t *in = in_;
	size_t fill;

	if (len == 0)
		return;
	/* The last block must be compressed with the final flag, so a full
	 * buffer is compressed only once more input is known to follow. */
	fill = BLAKE2S_BLOCK_LEN - s->buflen;
	if (len > fill) {
		memcpy(s->buf + s->buflen, in, fill);
		compress(s, s->buf, BLAKE2S_BLOCK_LEN, 0);
		s->buflen = 0;
		in += fill;
		len -= fill;
		while (len > BLAKE2S_BLOCK_LEN) {
			compress(s, in, BLAKE2S_BLOCK_LEN, 0);
			in += BLAKE2S_BLOCK_LEN;
			len -= BLAKE2S_BLOCK_LEN;
		}
	}
	memcpy(s->buf + s->buflen, in, len);
	s->buflen += len;
}

void blake2s_flush_pending(struct blake2s_state *s)
{
	if (s->buflen == BLAKE2S_BLOCK_LEN) {
		compress(s, s->buf, BLAKE2S_BLOCK_LEN, 0);
		s->buflen = 0;
	}
}

void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t digest[BLAKE2S_HASH_LEN];
	int i;

	memset(s->buf + s->buflen, 0, BLAKE2S_BLOCK_LEN - s->buflen);
	compress(s, s->buf, (uint32_t)s->buflen, 0xFFFFFFFFUL);
	for (i = 0; i < 8; ++i) {
		uint32_t w = htole32(s->h[i]);

		memcpy(digest + 4 * i, &w, 4);
	}
	memcpy(out, digest, s->outlen);
	OPENSSL_cleanse(digest, sizeof(digest));
	OPENSSL_cleanse(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	     size_t keylen)
{
	struct blake2s_state s;

	blake2s_init_key(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}

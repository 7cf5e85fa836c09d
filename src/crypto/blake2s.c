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

static void compress_generic(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN],
			     uint32_t last)
{
	uint32_t m[16], v[16];
	int i;

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
	explicit_bzero(m, sizeof(m));
	explicit_bzero(v, sizeof(v));
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * The same compression with the state as four rows of four words in SSE
 * registers: the four column G functions run at once, then the rows are
 * rotated so the four diagonal ones do too. SSSE3 gives byte shuffles for
 * the 16- and 8-bit rotations; AVX-512VL has a rotate instruction for all
 * four. About twice the scalar speed (docs/ARCHITECTURE.md).
 */
#define SIMD_COMPRESS(name, tgt, ROR16, ROR12, ROR8, ROR7)                                  \
	__attribute__((target(tgt))) static void name(struct blake2s_state *s,                \
							 const uint8_t block[BLAKE2S_BLOCK_LEN],   \
							 uint32_t last)                            \
	{                                                                                        \
		const __m128i r16 = _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13); \
		const __m128i r8 = _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12); \
		uint32_t m[16];                                                                  \
		__m128i a, b, c, d, x;                                                           \
		int r;                                                                           \
                                                                                                 \
		(void)r16;                                                                       \
		(void)r8;                                                                        \
		memcpy(m, block, sizeof(m)); /* x86 is little-endian */                          \
		a = _mm_loadu_si128((const __m128i *)&s->h[0]);                                  \
		b = _mm_loadu_si128((const __m128i *)&s->h[4]);                                  \
		c = _mm_setr_epi32((int)iv[0], (int)iv[1], (int)iv[2], (int)iv[3]);              \
		d = _mm_setr_epi32((int)(iv[4] ^ s->t[0]), (int)(iv[5] ^ s->t[1]),               \
				   (int)(iv[6] ^ last), (int)iv[7]);                             \
		_Pragma("GCC unroll 10")                                                         \
		for (r = 0; r < 10; ++r) {                                                       \
			const uint8_t *g = sigma[r];                                             \
                                                                                                 \
			x = _mm_setr_epi32((int)m[g[0]], (int)m[g[2]], (int)m[g[4]], (int)m[g[6]]); \
			a = _mm_add_epi32(_mm_add_epi32(a, x), b);                               \
			d = ROR16(_mm_xor_si128(d, a));                                          \
			c = _mm_add_epi32(c, d);                                                 \
			b = ROR12(_mm_xor_si128(b, c));                                          \
			x = _mm_setr_epi32((int)m[g[1]], (int)m[g[3]], (int)m[g[5]], (int)m[g[7]]); \
			a = _mm_add_epi32(_mm_add_epi32(a, x), b);                               \
			d = ROR8(_mm_xor_si128(d, a));                                           \
			c = _mm_add_epi32(c, d);                                                 \
			b = ROR7(_mm_xor_si128(b, c));                                           \
			b = _mm_shuffle_epi32(b, _MM_SHUFFLE(0, 3, 2, 1));                       \
			c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));                       \
			d = _mm_shuffle_epi32(d, _MM_SHUFFLE(2, 1, 0, 3));                       \
			x = _mm_setr_epi32((int)m[g[8]], (int)m[g[10]], (int)m[g[12]], (int)m[g[14]]); \
			a = _mm_add_epi32(_mm_add_epi32(a, x), b);                               \
			d = ROR16(_mm_xor_si128(d, a));                                          \
			c = _mm_add_epi32(c, d);                                                 \
			b = ROR12(_mm_xor_si128(b, c));                                          \
			x = _mm_setr_epi32((int)m[g[9]], (int)m[g[11]], (int)m[g[13]], (int)m[g[15]]); \
			a = _mm_add_epi32(_mm_add_epi32(a, x), b);                               \
			d = ROR8(_mm_xor_si128(d, a));                                           \
			c = _mm_add_epi32(c, d);                                                 \
			b = ROR7(_mm_xor_si128(b, c));                                           \
			b = _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 1, 0, 3));                       \
			c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));                       \
			d = _mm_shuffle_epi32(d, _MM_SHUFFLE(0, 3, 2, 1));                       \
		}                                                                                \
		a = _mm_xor_si128(a, c);                                                         \
		b = _mm_xor_si128(b, d);                                                         \
		_mm_storeu_si128((__m128i *)&s->h[0],                                            \
				 _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s->h[0]), a));  \
		_mm_storeu_si128((__m128i *)&s->h[4],                                            \
				 _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s->h[4]), b));  \
		explicit_bzero(m, sizeof(m));                                                   \
	}

#define SSSE3_ROR16(x) _mm_shuffle_epi8((x), r16)
#define SSSE3_ROR8(x) _mm_shuffle_epi8((x), r8)
#define SSE_ROR(x, n) _mm_or_si128(_mm_srli_epi32((x), (n)), _mm_slli_epi32((x), 32 - (n)))
#define SSSE3_ROR12(x) SSE_ROR((x), 12)
#define SSSE3_ROR7(x) SSE_ROR((x), 7)
SIMD_COMPRESS(compress_ssse3, "ssse3", SSSE3_ROR16, SSSE3_ROR12, SSSE3_ROR8, SSSE3_ROR7)

/*
 * Gathering the message words lane by lane costs more than the G functions
 * themselves. AVX-512VL's two-source permute picks eight of the sixteen
 * words in one instruction, in the order the half-steps take them:
 * sigma[r] at 0,2,4,6 | 1,3,5,7 then 8,10,12,14 | 9,11,13,15.
 */
static const uint32_t sigma_lanes[10][16] __attribute__((aligned(64))) = {
	{ 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15 },
	{ 14, 4, 9, 13, 10, 8, 15, 6, 1, 0, 11, 5, 12, 2, 7, 3 },
	{ 11, 12, 5, 15, 8, 0, 2, 13, 10, 3, 7, 9, 14, 6, 1, 4 },
	{ 7, 3, 13, 11, 9, 1, 12, 14, 2, 5, 4, 15, 6, 10, 0, 8 },
	{ 9, 5, 2, 10, 0, 7, 4, 15, 14, 11, 6, 3, 1, 12, 8, 13 },
	{ 2, 6, 0, 8, 12, 10, 11, 3, 4, 7, 15, 1, 13, 5, 14, 9 },
	{ 12, 1, 14, 4, 5, 15, 13, 10, 0, 6, 9, 8, 7, 3, 2, 11 },
	{ 13, 7, 12, 3, 11, 14, 1, 9, 5, 15, 8, 2, 0, 4, 6, 10 },
	{ 6, 14, 11, 0, 15, 9, 3, 8, 12, 13, 1, 10, 2, 7, 4, 5 },
	{ 10, 8, 7, 1, 2, 4, 6, 5, 15, 9, 3, 13, 11, 14, 12, 0 },
};

#define HALF_G(x, R1, R2)                                        \
	do {                                                     \
		a = _mm_add_epi32(_mm_add_epi32(a, (x)), b);     \
		d = _mm_ror_epi32(_mm_xor_si128(d, a), R1);      \
		c = _mm_add_epi32(c, d);                         \
		b = _mm_ror_epi32(_mm_xor_si128(b, c), R2);      \
	} while (0)

__attribute__((target("avx512f,avx512vl"))) static void
compress_avx512vl(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN], uint32_t last)
{
	/* Only 256-bit registers: 512-bit ones would lower the core's clock for
	 * the X25519 that follows. x86 is little-endian: load words as is. */
	__m256i lo = _mm256_loadu_si256((const __m256i *)block);
	__m256i hi = _mm256_loadu_si256((const __m256i *)(block + 32)), p;
	__m128i a, b, c, d;
	int r;

	a = _mm_loadu_si128((const __m128i *)&s->h[0]);
	b = _mm_loadu_si128((const __m128i *)&s->h[4]);
	c = _mm_setr_epi32((int)iv[0], (int)iv[1], (int)iv[2], (int)iv[3]);
	d = _mm_setr_epi32((int)(iv[4] ^ s->t[0]), (int)(iv[5] ^ s->t[1]), (int)(iv[6] ^ last),
			   (int)iv[7]);
#pragma GCC unroll 10
	for (r = 0; r < 10; ++r) {
		p = _mm256_permutex2var_epi32(lo, _mm256_load_si256((const __m256i *)&sigma_lanes[r][0]), hi);
		HALF_G(_mm256_castsi256_si128(p), 16, 12);
		HALF_G(_mm256_extracti128_si256(p, 1), 8, 7);
		b = _mm_shuffle_epi32(b, _MM_SHUFFLE(0, 3, 2, 1));
		c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));
		d = _mm_shuffle_epi32(d, _MM_SHUFFLE(2, 1, 0, 3));
		p = _mm256_permutex2var_epi32(lo, _mm256_load_si256((const __m256i *)&sigma_lanes[r][8]), hi);
		HALF_G(_mm256_castsi256_si128(p), 16, 12);
		HALF_G(_mm256_extracti128_si256(p, 1), 8, 7);
		b = _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 1, 0, 3));
		c = _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));
		d = _mm_shuffle_epi32(d, _MM_SHUFFLE(0, 3, 2, 1));
	}
	_mm_storeu_si128((__m128i *)&s->h[0],
			 _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s->h[0]), _mm_xor_si128(a, c)));
	_mm_storeu_si128((__m128i *)&s->h[4],
			 _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s->h[4]), _mm_xor_si128(b, d)));
	lo = hi = _mm256_setzero_si256();
	(void)lo;
	(void)hi;
}

/*
 * Two independent non-final blocks at once, one per 128-bit half of each
 * 256-bit row: the same dependency chain as one block, so nearly free when
 * the caller has two hashes that do not wait on each other (an HMAC key's
 * inner and outer pads). One permute per half-round pair picks each
 * state's message words from the two blocks.
 */
__attribute__((target("avx512f,avx512vl"))) static void
compress2_avx512vl(struct blake2s_state *s1, const uint8_t *b1, uint32_t last1,
		   struct blake2s_state *s2, const uint8_t *b2, uint32_t last2)
{
	__m256i lo1 = _mm256_loadu_si256((const __m256i *)b1), hi1 = _mm256_loadu_si256((const __m256i *)(b1 + 32));
	__m256i lo2 = _mm256_loadu_si256((const __m256i *)b2), hi2 = _mm256_loadu_si256((const __m256i *)(b2 + 32));
	__m256i a, b, c, d, idx, p1, p2;
	int r;

	a = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)&s2->h[0]),
			     _mm_loadu_si128((const __m128i *)&s1->h[0]));
	b = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)&s2->h[4]),
			     _mm_loadu_si128((const __m128i *)&s1->h[4]));
	c = _mm256_setr_epi32((int)iv[0], (int)iv[1], (int)iv[2], (int)iv[3], (int)iv[0], (int)iv[1],
			      (int)iv[2], (int)iv[3]);
	d = _mm256_setr_epi32((int)(iv[4] ^ s1->t[0]), (int)(iv[5] ^ s1->t[1]), (int)(iv[6] ^ last1), (int)iv[7],
			      (int)(iv[4] ^ s2->t[0]), (int)(iv[5] ^ s2->t[1]), (int)(iv[6] ^ last2), (int)iv[7]);
#define HALF_G2(x, R1, R2)                                               \
	do {                                                             \
		a = _mm256_add_epi32(_mm256_add_epi32(a, (x)), b);       \
		d = _mm256_ror_epi32(_mm256_xor_si256(d, a), R1);        \
		c = _mm256_add_epi32(c, d);                              \
		b = _mm256_ror_epi32(_mm256_xor_si256(b, c), R2);        \
	} while (0)
	/* Each permute gives one state's words for two half-steps; the lane
	 * shuffles pair the two states' words for the same half-step. */
#pragma GCC unroll 10
	for (r = 0; r < 10; ++r) {
		idx = _mm256_load_si256((const __m256i *)&sigma_lanes[r][0]);
		p1 = _mm256_permutex2var_epi32(lo1, idx, hi1);
		p2 = _mm256_permutex2var_epi32(lo2, idx, hi2);
		HALF_G2(_mm256_permute2x128_si256(p1, p2, 0x20), 16, 12);
		HALF_G2(_mm256_permute2x128_si256(p1, p2, 0x31), 8, 7);
		b = _mm256_shuffle_epi32(b, _MM_SHUFFLE(0, 3, 2, 1));
		c = _mm256_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));
		d = _mm256_shuffle_epi32(d, _MM_SHUFFLE(2, 1, 0, 3));
		idx = _mm256_load_si256((const __m256i *)&sigma_lanes[r][8]);
		p1 = _mm256_permutex2var_epi32(lo1, idx, hi1);
		p2 = _mm256_permutex2var_epi32(lo2, idx, hi2);
		HALF_G2(_mm256_permute2x128_si256(p1, p2, 0x20), 16, 12);
		HALF_G2(_mm256_permute2x128_si256(p1, p2, 0x31), 8, 7);
		b = _mm256_shuffle_epi32(b, _MM_SHUFFLE(2, 1, 0, 3));
		c = _mm256_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2));
		d = _mm256_shuffle_epi32(d, _MM_SHUFFLE(0, 3, 2, 1));
	}
#undef HALF_G2
	a = _mm256_xor_si256(a, c);
	b = _mm256_xor_si256(b, d);
	_mm_storeu_si128((__m128i *)&s1->h[0], _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s1->h[0]),
							     _mm256_castsi256_si128(a)));
	_mm_storeu_si128((__m128i *)&s1->h[4], _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s1->h[4]),
							     _mm256_castsi256_si128(b)));
	_mm_storeu_si128((__m128i *)&s2->h[0], _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s2->h[0]),
							     _mm256_extracti128_si256(a, 1)));
	_mm_storeu_si128((__m128i *)&s2->h[4], _mm_xor_si128(_mm_loadu_si128((const __m128i *)&s2->h[4]),
							     _mm256_extracti128_si256(b, 1)));
	lo1 = hi1 = lo2 = hi2 = _mm256_setzero_si256();
	(void)lo1;
	(void)hi1;
	(void)lo2;
	(void)hi2;
}
#endif

/* Tests and benchmarks pin an implementation; 0 (auto) otherwise. */
static enum blake2s_impl forced;

bool blake2s_use_impl(enum blake2s_impl impl)
{
	switch (impl) {
	case BLAKE2S_IMPL_AUTO:
	case BLAKE2S_IMPL_GENERIC:
		break;
#if defined(__x86_64__)
	case BLAKE2S_IMPL_SSSE3:
		if (!__builtin_cpu_supports("ssse3"))
			return false;
		break;
	case BLAKE2S_IMPL_AVX512VL:
		if (!__builtin_cpu_supports("avx512vl"))
			return false;
		break;
#endif
	default:
		return false;
	}
	forced = impl;
	return true;
}

static void compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN], uint32_t inc,
		     uint32_t last)
{
	s->t[0] += inc;
	s->t[1] += s->t[0] < inc;
#if defined(__x86_64__)
	/* __builtin_cpu_supports reads a word the runtime filled at start-up. */
	if (forced == BLAKE2S_IMPL_AVX512VL ||
	    (forced == BLAKE2S_IMPL_AUTO && __builtin_cpu_supports("avx512vl")))
		return compress_avx512vl(s, block, last);
	if (forced == BLAKE2S_IMPL_SSSE3 || (forced == BLAKE2S_IMPL_AUTO && __builtin_cpu_supports("ssse3")))
		return compress_ssse3(s, block, last);
#endif
	compress_generic(s, block, last);
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

void blake2s_compress_pair(struct blake2s_state *a, const uint8_t a_block[static BLAKE2S_BLOCK_LEN],
			   uint32_t a_len, bool a_last, struct blake2s_state *b,
			   const uint8_t b_block[static BLAKE2S_BLOCK_LEN], uint32_t b_len, bool b_last)
{
#if defined(__x86_64__)
	if (forced == BLAKE2S_IMPL_AVX512VL ||
	    (forced == BLAKE2S_IMPL_AUTO && __builtin_cpu_supports("avx512vl"))) {
		a->t[0] += a_len;
		a->t[1] += a->t[0] < a_len;
		b->t[0] += b_len;
		b->t[1] += b->t[0] < b_len;
		compress2_avx512vl(a, a_block, a_last ? 0xFFFFFFFFUL : 0, b, b_block,
				   b_last ? 0xFFFFFFFFUL : 0);
		return;
	}
#endif
	compress(a, a_block, a_len, a_last ? 0xFFFFFFFFUL : 0);
	compress(b, b_block, b_len, b_last ? 0xFFFFFFFFUL : 0);
}

void blake2s_flush_pending2(struct blake2s_state *a, struct blake2s_state *b)
{
	if (a->buflen == BLAKE2S_BLOCK_LEN && b->buflen == BLAKE2S_BLOCK_LEN) {
		blake2s_compress_pair(a, a->buf, BLAKE2S_BLOCK_LEN, false, b, b->buf, BLAKE2S_BLOCK_LEN, false);
		a->buflen = 0;
		b->buflen = 0;
		return;
	}
	blake2s_flush_pending(a);
	blake2s_flush_pending(b);
}

void blake2s_digest(const struct blake2s_state *s, uint8_t *out)
{
	uint8_t digest[BLAKE2S_HASH_LEN];
	int i;

	for (i = 0; i < 8; ++i) {
		uint32_t w = htole32(s->h[i]);

		memcpy(digest + 4 * i, &w, 4);
	}
	memcpy(out, digest, s->outlen);
	explicit_bzero(digest, sizeof(digest));
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
	explicit_bzero(digest, sizeof(digest));
	explicit_bzero(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	     size_t keylen)
{
	struct blake2s_state s;

	blake2s_init_key(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}

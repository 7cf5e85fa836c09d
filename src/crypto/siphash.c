// SPDX-License-Identifier: MIT
/*
 * SipHash-2-4 from the paper ("SipHash: a fast short-input PRF", 2012),
 * checked against its reference test vectors in tests/unit/test_crypto.c.
 * Written here because OpenSSL 3 exposes SipHash only through the EVP_MAC
 * interface, whose per-call context allocation costs more than the hash
 * itself on the per-packet admit path.
 */
#include "crypto/siphash.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                             \
	do {                                                                 \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);    \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                       \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                       \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);    \
	} while (0)

int siphash_key_random(struct siphash_key *k)
{
	ssize_t r;

	do
		r = getrandom(k->k, sizeof(k->k), 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(k->k)) {
		memset(k, 0, sizeof(*k));
		return r < 0 ? -errno : -EIO;
	}
	return 0;
}

uint64_t siphash24(const struct siphash_key *k, const void *in, size_t len)
{
	const uint8_t *p = in;
	uint64_t v0 = k->k[0] ^ 0x736f6d6570736575ULL, v1 = k->k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k->k[0] ^ 0x6c7967656e657261ULL, v3 = k->k[1] ^ 0x7465646279746573ULL;
	uint64_t m;
	size_t left = len;

	for (; left >= 8; p += 8, left -= 8) {
		memcpy(&m, p, 8);
		m = le64toh(m);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	/* Last block: the remaining bytes, little-endian, length mod 256 on top. */
	m = (uint64_t)(len & 0xff) << 56;
	switch (left) {
	case 7: m |= (uint64_t)p[6] << 48; /* fall through */
	case 6: m |= (uint64_t)p[5] << 40; /* fall through */
	case 5: m |= (uint64_t)p[4] << 32; /* fall through */
	case 4: m |= (uint64_t)p[3] << 24; /* fall through */
	case 3: m |= (uint64_t)p[2] << 16; /* fall through */
	case 2: m |= (uint64_t)p[1] << 8;  /* fall through */
	case 1: m |= (uint64_t)p[0];       break;
	default: break;
	}
	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

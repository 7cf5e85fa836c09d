// SPDX-License-Identifier: MIT
/*
 * The per-thread ss cache: a set-associative table (WAYS entries per set,
 * least recently used evicted) keyed by the initiator's static public key.
 * Sets are chosen with SipHash-2-4 under a random per-cache key: initiator
 * keys are chosen by whoever sends, and an unkeyed index would let someone
 * with a handful of generated keys keep evicting one victim's entry. The
 * cached values are secrets (anyone holding ss and a captured initiation
 * learns its timestamp), so they are wiped on eviction, flush and free.
 */
#include "noise/internal.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>

#include "crypto/aead.h"
#include "crypto/x25519.h"
#include "wire/keys.h"

enum { WAYS = 8, MAX_CAPACITY = 1 << 24 };

struct sscache_entry {
	uint8_t pub[32];
	uint8_t ss[32];
	uint32_t stamp;
	uint32_t used;
};

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

/* SipHash-2-4 of exactly 32 bytes. */
static uint64_t siphash32(const uint64_t k[2], const uint8_t in[32])
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL, v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL, v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t m;
	int i;

	for (i = 0; i < 4; ++i) {
		memcpy(&m, in + 8 * i, 8);
		m = le64toh(m);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	m = (uint64_t)32 << 56;
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

struct noise_sscache *noise_sscache_new(size_t capacity)
{
	struct noise_sscache *c;
	size_t nsets = 1;

	if (capacity == 0 || capacity > MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	while (nsets * WAYS < capacity)
		nsets <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nsets = nsets;
	c->entries = calloc(nsets * WAYS, sizeof(*c->entries));
	if (!c->entries) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	if (getrandom(c->hash_key, sizeof(c->hash_key), 0) != sizeof(c->hash_key)) {
		free(c->entries);
		free(c);
		errno = EIO;
		return NULL;
	}
	return c;
}

void noise_sscache_free(struct noise_sscache *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c->entries, c->nsets * WAYS * sizeof(*c->entries));
	free(c->entries);
	x25519_ctx_free(c->dh);
	aead_ctx_free(c->aead);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void noise_sscache_stats(const struct noise_sscache *c, uint64_t *hits, uint64_t *misses,
			 uint64_t *inserts)
{
	if (hits)
		*hits = c->hits;
	if (misses)
		*misses = c->misses;
	if (inserts)
		*inserts = c->inserts;
}

static struct sscache_entry *set_of(struct noise_sscache *c, const uint8_t pub[static 32])
{
	return c->entries + (siphash32(c->hash_key, pub) & (c->nsets - 1)) * WAYS;
}

bool sscache_lookup(struct noise_sscache *c, const uint8_t pub[static 32], uint8_t ss[static 32])
{
	struct sscache_entry *set = set_of(c, pub);
	int i;

	for (i = 0; i < WAYS; ++i) {
		if (set[i].used && key_equal(set[i].pub, pub)) {
			memcpy(ss, set[i].ss, 32);
			set[i].stamp = ++c->clock;
			++c->hits;
			return true;
		}
	}
	++c->misses;
	return false;
}

void sscache_insert(struct noise_sscache *c, const uint8_t pub[static 32], const uint8_t ss[static 32])
{
	struct sscache_entry *set = set_of(c, pub), *victim = NULL;
	uint32_t age, oldest = 0;
	int i;

	for (i = 0; i < WAYS; ++i) {
		if (set[i].used && key_equal(set[i].pub, pub)) {
			victim = &set[i];
			break;
		}
		if (!set[i].used) {
			if (!victim || victim->used)
				victim = &set[i];
			continue;
		}
		/* Unsigned difference stays right across the stamp's wrap. */
		age = c->clock - set[i].stamp;
		if (!victim || (victim->used && age >= oldest)) {
			victim = &set[i];
			oldest = age;
		}
	}
	memcpy(victim->pub, pub, 32);
	memcpy(victim->ss, ss, 32);
	victim->stamp = ++c->clock;
	victim->used = 1;
	++c->inserts;
}

void sscache_flush(struct noise_sscache *c)
{
	OPENSSL_cleanse(c->entries, c->nsets * WAYS * sizeof(*c->entries));
}

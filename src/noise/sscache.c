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

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/siphash.h"
#include "crypto/x25519.h"
#include "wire/keys.h"

enum { WAYS = 8, MAX_CAPACITY = 1 << 24 };

struct sscache_entry {
	uint8_t pub[32];
	uint8_t ss[32];
	uint32_t stamp;
	uint32_t used;
};

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
	if (siphash_key_random(&c->hash_key) < 0) {
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
	explicit_bzero(c->entries, c->nsets * WAYS * sizeof(*c->entries));
	free(c->entries);
	x25519_ctx_free(c->dh);
	aead_ctx_free(c->aead);
	explicit_bzero(c, sizeof(*c));
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
	return c->entries + (siphash24(&c->hash_key, pub, 32) & (c->nsets - 1)) * WAYS;
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
	explicit_bzero(c->entries, c->nsets * WAYS * sizeof(*c->entries));
}

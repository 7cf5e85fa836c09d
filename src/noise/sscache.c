// SPDX-License-Identifier: MIT
/*
 * The per-thread ss cache: a keyed set-associative table (crypto/keyedtab.h,
 * WAYS entries per set, least recently used evicted) from the initiator's
 * static public key to ss. Initiator keys are chosen by whoever sends: the
 * keyed index keeps someone with a handful of generated keys from evicting
 * one victim's entry. The cached values are secrets (anyone holding ss and a
 * captured initiation learns its timestamp), so they are wiped on eviction
 * (overwritten), flush and free.
 */
#include "noise/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/x25519.h"

enum { WAYS = 8, MAX_CAPACITY = 1 << 24 };

struct sscache_entry {
	uint8_t pub[32];         /* first: the table's key */
	uint8_t ss[32];
	uint32_t stamp;
};

struct noise_sscache *noise_sscache_new(size_t capacity)
{
	struct noise_sscache *c;
	int ret;

	if (capacity == 0 || capacity > MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	ret = keyedtab_init(&c->tab, capacity, WAYS, sizeof(struct sscache_entry), 32);
	if (ret) {
		free(c);
		errno = -ret;
		return NULL;
	}
	return c;
}

void noise_sscache_free(struct noise_sscache *c)
{
	if (!c)
		return;
	keyedtab_uninit(&c->tab);
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

bool sscache_lookup(struct noise_sscache *c, const uint8_t pub[static 32], uint8_t ss[static 32])
{
	struct sscache_entry *e = keyedtab_find(&c->tab, keyedtab_set(&c->tab, pub), pub);

	if (!e) {
		++c->misses;
		return false;
	}
	memcpy(ss, e->ss, 32);
	e->stamp = ++c->clock;
	++c->hits;
	return true;
}

/* Oldest first; the unsigned difference stays right across the stamp's wrap. */
static uint64_t lru_rank(const void *entry, void *clock)
{
	return UINT32_MAX - (*(const uint32_t *)clock - ((const struct sscache_entry *)entry)->stamp);
}

void sscache_insert(struct noise_sscache *c, const uint8_t pub[static 32], const uint8_t ss[static 32])
{
	size_t set = keyedtab_set(&c->tab, pub);
	struct sscache_entry *e = keyedtab_find(&c->tab, set, pub);

	if (!e)
		e = keyedtab_claim(&c->tab, set, pub, lru_rank, &c->clock, NULL);
	memcpy(e->ss, ss, 32);
	e->stamp = ++c->clock;
	++c->inserts;
}

void sscache_flush(struct noise_sscache *c)
{
	keyedtab_wipe(&c->tab);
}

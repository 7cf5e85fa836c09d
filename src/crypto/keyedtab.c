// SPDX-License-Identifier: MIT
#include "crypto/keyedtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest table a user may ask for: the replay guard allows up to 2^28 keys. */
enum { MAX_ENTRIES = 1 << 28 };

int keyedtab_init(struct keyedtab *t, size_t min_entries, size_t ways, size_t entry_size, size_t key_len)
{
	size_t nsets = 1;

	memset(t, 0, sizeof(*t));
	if (!ways || !key_len || key_len > entry_size || min_entries > MAX_ENTRIES)
		return -EINVAL;
	while (nsets * ways < min_entries)
		nsets <<= 1;
	t->slots = calloc(nsets * ways, entry_size);
	t->used = calloc(nsets * ways, sizeof(*t->used));
	if (!t->slots || !t->used) {
		keyedtab_uninit(t);
		return -ENOMEM;
	}
	t->nsets = nsets;
	t->ways = ways;
	t->entry_size = entry_size;
	t->key_len = key_len;
	if (siphash_key_random(&t->hkey) < 0) {
		keyedtab_uninit(t);
		return -EIO;
	}
	return 0;
}

void keyedtab_wipe(struct keyedtab *t)
{
	if (t->slots)
		explicit_bzero(t->slots, t->nsets * t->ways * t->entry_size);
	if (t->used)
		memset(t->used, 0, t->nsets * t->ways * sizeof(*t->used));
}

void keyedtab_uninit(struct keyedtab *t)
{
	keyedtab_wipe(t);
	free(t->slots);
	free(t->used);
	explicit_bzero(t, sizeof(*t));
}

size_t keyedtab_set(const struct keyedtab *t, const void *key)
{
	return (size_t)siphash24(&t->hkey, key, t->key_len) & (t->nsets - 1);
}

void *keyedtab_slot(const struct keyedtab *t, size_t set, size_t way)
{
	return t->slots + (set * t->ways + way) * t->entry_size;
}

void *keyedtab_find(const struct keyedtab *t, size_t set, const void *key)
{
	const bool *used = t->used + set * t->ways;
	size_t i;

	for (i = 0; i < t->ways; ++i) {
		unsigned char *e = keyedtab_slot(t, set, i);

		if (used[i] && !memcmp(e, key, t->key_len))
			return e;
	}
	return NULL;
}

void *keyedtab_claim(struct keyedtab *t, size_t set, const void *key,
		     uint64_t (*rank)(const void *entry, void *ctx), void *ctx, bool *evicted)
{
	bool *used = t->used + set * t->ways;
	size_t i, victim = t->ways;
	uint64_t least = UINT64_MAX, r;
	unsigned char *e;

	if (evicted)
		*evicted = false;
	for (i = 0; i < t->ways && used[i]; ++i)
		;
	if (i == t->ways) {
		if (!rank)
			return NULL;
		if (evicted)
			*evicted = true;
		for (i = 0; i < t->ways; ++i) {
			r = rank(keyedtab_slot(t, set, i), ctx);
			if (victim == t->ways || r < least) {
				least = r;
				victim = i;
			}
		}
		i = victim;
	}
	used[i] = true;
	e = keyedtab_slot(t, set, i);
	memcpy(e, key, t->key_len);
	return e;
}

void keyedtab_release(struct keyedtab *t, void *entry)
{
	size_t i = (size_t)((unsigned char *)entry - t->slots) / t->entry_size;

	explicit_bzero(entry, t->entry_size);
	t->used[i] = false;
}

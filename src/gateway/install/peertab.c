// SPDX-License-Identifier: MIT
#include "gateway/install/peertab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/siphash.h"

struct peertab {
	struct peer_state **buckets;
	size_t nbuckets;     /* power of two */
	size_t count;
	struct siphash_key hkey;
};

/*
 * Keys are registry-approved, but adopted peers can be anyone's: the
 * project's one keyed hash (SipHash, per-table random key) costs little here.
 */
static size_t slot(const struct peertab *t, const uint8_t key[WG_KEY_LEN])
{
	return (size_t)siphash24(&t->hkey, key, WG_KEY_LEN) & (t->nbuckets - 1);
}

struct peertab *peertab_new(void)
{
	struct peertab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	siphash_key_random(&t->hkey); /* on failure a zero key: still a fine spread */
	t->nbuckets = 256;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void peertab_free(struct peertab *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nbuckets; ++i) {
		struct peer_state *p = t->buckets[i], *n;
		for (; p; p = n) {
			n = p->next;
			free(p->allowed_ips);
			free(p);
		}
	}
	free(t->buckets);
	free(t);
}

static void grow(struct peertab *t)
{
	size_t i, n = t->nbuckets * 2;
	struct peer_state **nb = calloc(n, sizeof(*nb)), **old = t->buckets;
	size_t oldn = t->nbuckets;

	if (!nb)
		return; /* keep working with longer chains */
	t->buckets = nb;
	t->nbuckets = n;
	for (i = 0; i < oldn; ++i) {
		struct peer_state *p = old[i], *next;
		for (; p; p = next) {
			size_t s = slot(t, p->key);
			next = p->next;
			p->next = nb[s];
			nb[s] = p;
		}
	}
	free(old);
}

struct peer_state *peertab_find(struct peertab *t, const uint8_t key[WG_KEY_LEN])
{
	struct peer_state *p = t->buckets[slot(t, key)];

	for (; p; p = p->next)
		if (!memcmp(p->key, key, WG_KEY_LEN))
			return p;
	return NULL;
}

struct peer_state *peertab_get(struct peertab *t, const uint8_t key[WG_KEY_LEN], bool *created)
{
	struct peer_state *p = peertab_find(t, key);
	size_t s;

	if (created)
		*created = false;
	if (p)
		return p;
	if (t->count >= t->nbuckets)
		grow(t);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->key, key, WG_KEY_LEN);
	s = slot(t, key);
	p->next = t->buckets[s];
	t->buckets[s] = p;
	t->count++;
	if (created)
		*created = true;
	return p;
}

void peertab_del(struct peertab *t, const uint8_t key[WG_KEY_LEN])
{
	struct peer_state **pp = &t->buckets[slot(t, key)], *p;

	for (; (p = *pp); pp = &p->next) {
		if (!memcmp(p->key, key, WG_KEY_LEN)) {
			*pp = p->next;
			free(p->allowed_ips);
			free(p);
			t->count--;
			return;
		}
	}
}

size_t peertab_count(const struct peertab *t)
{
	return t->count;
}

void peertab_each(struct peertab *t, bool (*fn)(struct peer_state *p, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < t->nbuckets; ++i) {
		struct peer_state *p = t->buckets[i];
		for (; p; p = p->next)
			if (!fn(p, arg))
				return;
	}
}

int peertab_set_allowed_ips(struct peer_state *p, const struct dp_allowedip *ips, size_t n)
{
	struct dp_allowedip *copy = NULL;

	if (n == p->n_allowed_ips && (!n || !memcmp(p->allowed_ips, ips, n * sizeof(*ips))))
		return 0;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ips, n * sizeof(*copy));
	}
	free(p->allowed_ips);
	p->allowed_ips = copy;
	p->n_allowed_ips = n;
	return 0;
}

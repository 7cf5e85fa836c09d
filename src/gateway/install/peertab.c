// SPDX-License-Identifier: MIT
#include "gateway/install/peertab.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/siphash.h"

/* One host prefix of one peer, in the address index. */
struct addr_ref {
	struct addr_ref *next;
	struct peer_state *p;
	uint8_t addr[17];    /* family byte, then the address (IPv4 in the first 4 bytes) */
};

struct peertab {
	struct peer_state **buckets;
	size_t nbuckets;     /* power of two */
	size_t count;
	struct siphash_key hkey;
	struct addr_ref **abuckets;
	size_t nabuckets;    /* power of two */
	size_t nrefs;
	struct peer_state *wide;  /* peers holding a non-host prefix */
	bool index_broken;   /* an entry could not be allocated: peertab_holder scans */
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
	t->nabuckets = 256;
	t->abuckets = calloc(t->nabuckets, sizeof(*t->abuckets));
	if (!t->buckets || !t->abuckets) {
		free(t->buckets);
		free(t->abuckets);
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
	for (i = 0; i < t->nabuckets; ++i) {
		struct addr_ref *r = t->abuckets[i], *n;
		for (; r; r = n) {
			n = r->next;
			free(r);
		}
	}
	free(t->buckets);
	free(t->abuckets);
	free(t);
}

/* ---- prefixes ------------------------------------------------------------------- */

static const uint8_t *ip_bytes(const struct dp_allowedip *a)
{
	return a->family == AF_INET ? (const uint8_t *)&a->ip4 : (const uint8_t *)&a->ip6;
}

/* Same family and the same first min(prefix lengths) bits. */
static bool prefix_overlap(const struct dp_allowedip *a, const struct dp_allowedip *b)
{
	unsigned int bits = a->cidr < b->cidr ? a->cidr : b->cidr, max = a->family == AF_INET ? 32 : 128;
	const uint8_t *x = ip_bytes(a), *y = ip_bytes(b);
	unsigned int whole, rest;

	if (a->family != b->family || (a->family != AF_INET && a->family != AF_INET6))
		return false;
	if (bits > max)
		bits = max;
	whole = bits / 8;
	rest = bits % 8;
	if (memcmp(x, y, whole))
		return false;
	return !rest || !((x[whole] ^ y[whole]) & (uint8_t)(0xff00 >> rest));
}

static bool is_host(const struct dp_allowedip *a)
{
	return (a->family == AF_INET && a->cidr == 32) || (a->family == AF_INET6 && a->cidr == 128);
}

bool peertab_ips_overlap(const struct dp_allowedip *a, size_t na, const struct dp_allowedip *b, size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; ++i)
		for (j = 0; j < nb; ++j)
			if (prefix_overlap(&a[i], &b[j]))
				return true;
	return false;
}

static bool contains(const struct dp_allowedip *set, size_t n, const struct dp_allowedip *x)
{
	size_t i;

	for (i = 0; i < n; ++i)
		if (set[i].family == x->family && set[i].cidr == x->cidr && prefix_overlap(&set[i], x))
			return true;
	return false;
}

bool peertab_ips_same(const struct dp_allowedip *a, size_t na, const struct dp_allowedip *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; ++i)
		if (!contains(b, nb, &a[i]) || !contains(a, na, &b[i]))
			return false;
	return true;
}

/* ---- the address index ----------------------------------------------------------- */

static void addr_key(uint8_t out[17], const struct dp_allowedip *a)
{
	memset(out, 0, 17);
	out[0] = a->family == AF_INET ? 4 : 6;
	memcpy(out + 1, ip_bytes(a), a->family == AF_INET ? 4 : 16);
}

static size_t aslot(const struct peertab *t, const uint8_t k[17])
{
	return (size_t)siphash24(&t->hkey, k, 17) & (t->nabuckets - 1);
}

static void agrow(struct peertab *t)
{
	size_t i, n = t->nabuckets * 2, oldn = t->nabuckets;
	struct addr_ref **nb = calloc(n, sizeof(*nb)), **old = t->abuckets;

	if (!nb)
		return; /* longer chains */
	t->abuckets = nb;
	t->nabuckets = n;
	for (i = 0; i < oldn; ++i) {
		struct addr_ref *r = old[i], *next;
		for (; r; r = next) {
			size_t s = aslot(t, r->addr);
			next = r->next;
			r->next = nb[s];
			nb[s] = r;
		}
	}
	free(old);
}

static void wide_link(struct peertab *t, struct peer_state *p)
{
	if (p->wide)
		return;
	p->wide = true;
	p->wide_prev = NULL;
	p->wide_next = t->wide;
	if (t->wide)
		t->wide->wide_prev = p;
	t->wide = p;
}

static void wide_unlink(struct peertab *t, struct peer_state *p)
{
	if (!p->wide)
		return;
	if (p->wide_prev)
		p->wide_prev->wide_next = p->wide_next;
	else
		t->wide = p->wide_next;
	if (p->wide_next)
		p->wide_next->wide_prev = p->wide_prev;
	p->wide = false;
	p->wide_next = p->wide_prev = NULL;
}

static void index_add(struct peertab *t, struct peer_state *p)
{
	uint8_t k[17];
	size_t i, s;

	for (i = 0; i < p->n_allowed_ips; ++i) {
		struct addr_ref *r;

		if (!is_host(&p->allowed_ips[i])) {
			wide_link(t, p);
			continue;
		}
		if (t->nrefs >= t->nabuckets)
			agrow(t);
		r = calloc(1, sizeof(*r));
		if (!r) {
			t->index_broken = true;
			continue;
		}
		addr_key(k, &p->allowed_ips[i]);
		memcpy(r->addr, k, sizeof(k));
		r->p = p;
		s = aslot(t, k);
		r->next = t->abuckets[s];
		t->abuckets[s] = r;
		t->nrefs++;
	}
}

static void index_remove(struct peertab *t, struct peer_state *p)
{
	uint8_t k[17];
	size_t i;

	wide_unlink(t, p);
	for (i = 0; i < p->n_allowed_ips; ++i) {
		struct addr_ref **rr, *r;

		if (!is_host(&p->allowed_ips[i]))
			continue;
		addr_key(k, &p->allowed_ips[i]);
		for (rr = &t->abuckets[aslot(t, k)]; (r = *rr); rr = &r->next) {
			if (r->p == p && !memcmp(r->addr, k, sizeof(k))) {
				*rr = r->next;
				free(r);
				t->nrefs--;
				break;
			}
		}
	}
}

static bool other(const struct peer_state *p, const uint8_t key[WG_KEY_LEN])
{
	return memcmp(p->key, key, WG_KEY_LEN) != 0;
}

/* The slow path: every peer. */
static struct peer_state *scan_holder(struct peertab *t, const uint8_t key[WG_KEY_LEN],
				      const struct dp_allowedip *q)
{
	size_t i;

	for (i = 0; i < t->nbuckets; ++i) {
		struct peer_state *p = t->buckets[i];
		for (; p; p = p->next)
			if (other(p, key) && peertab_ips_overlap(p->allowed_ips, p->n_allowed_ips, q, 1))
				return p;
	}
	return NULL;
}

struct peer_state *peertab_holder(struct peertab *t, const uint8_t key[WG_KEY_LEN],
				  const struct dp_allowedip *ips, size_t n)
{
	struct peer_state *p;
	uint8_t k[17];
	size_t i;

	for (i = 0; i < n; ++i) {
		const struct dp_allowedip *q = &ips[i];
		struct addr_ref *r;

		if (q->family != AF_INET && q->family != AF_INET6)
			continue;
		if (!is_host(q) || t->index_broken) {
			if ((p = scan_holder(t, key, q)))
				return p;
			continue;
		}
		addr_key(k, q);
		for (r = t->abuckets[aslot(t, k)]; r; r = r->next)
			if (!memcmp(r->addr, k, sizeof(k)) && other(r->p, key))
				return r->p;
		for (p = t->wide; p; p = p->wide_next)
			if (other(p, key) && peertab_ips_overlap(p->allowed_ips, p->n_allowed_ips, q, 1))
				return p;
	}
	return NULL;
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
	p->tab = t;
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
			index_remove(t, p);
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
	if (p->tab)
		index_remove(p->tab, p);
	free(p->allowed_ips);
	p->allowed_ips = copy;
	p->n_allowed_ips = n;
	if (p->tab)
		index_add(p->tab, p);
	return 0;
}

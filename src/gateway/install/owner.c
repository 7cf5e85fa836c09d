// SPDX-License-Identifier: MIT
/*
 * Address ownership (contracts in internal.h). The data plane routes an
 * address to whichever peer was given it last, so a record installed over
 * another peer's addresses takes them: after a rotation (old key deleted,
 * new key given its address) a stale cached record of the old key would
 * take the address back from the new one. The install stage therefore never
 * installs a record that overlaps an installed peer without the registry's
 * fresh word on both keys (NOTICE_CONFLICT to the lookup); an install that
 * comes back owner-checked, and a feed update, are the registry's word, and
 * any installed peer still overlapping them loses its place.
 */
#include <string.h>

#include "common/log.h"
#include "gateway/install/internal.h"

/* Same family and the same first min(prefix lengths) bits. */
static bool prefix_overlap(const struct dp_allowedip *a, const struct dp_allowedip *b)
{
	const uint8_t *x = a->family == AF_INET ? (const uint8_t *)&a->ip4 : (const uint8_t *)&a->ip6;
	const uint8_t *y = b->family == AF_INET ? (const uint8_t *)&b->ip4 : (const uint8_t *)&b->ip6;
	unsigned int bits = a->cidr < b->cidr ? a->cidr : b->cidr, max = a->family == AF_INET ? 32 : 128;
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

static bool prefix_equal(const struct dp_allowedip *a, const struct dp_allowedip *b)
{
	return a->family == b->family && a->cidr == b->cidr && prefix_overlap(a, b);
}

bool installer_ips_overlap(const struct dp_allowedip *a, size_t na, const struct dp_allowedip *b, size_t nb)
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
		if (prefix_equal(&set[i], x))
			return true;
	return false;
}

bool installer_ips_same(const struct dp_allowedip *a, size_t na, const struct dp_allowedip *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; ++i)
		if (!contains(b, nb, &a[i]) || !contains(a, na, &b[i]))
			return false;
	return true;
}

struct holder_ctx {
	const uint8_t *key;
	const struct dp_allowedip *ips;
	size_t n;
	struct peer_state *found;
};

static bool find_holder(struct peer_state *p, void *arg)
{
	struct holder_ctx *c = arg;

	if (memcmp(p->key, c->key, WG_KEY_LEN) && installer_ips_overlap(p->allowed_ips, p->n_allowed_ips, c->ips, c->n)) {
		c->found = p;
		return false;
	}
	return true;
}

struct peer_state *installer_holder(struct installer *ins, const uint8_t key[WG_KEY_LEN],
				    const struct dp_allowedip *ips, size_t n)
{
	struct holder_ctx c = { .key = key, .ips = ips, .n = n };

	if (!n)
		return NULL;
	peertab_each(ins->tab, find_holder, &c);
	return c.found;
}

size_t installer_remove_holders(struct installer *ins, const uint8_t key[WG_KEY_LEN],
				const struct dp_allowedip *ips, size_t n)
{
	uint8_t loser[WG_KEY_LEN];
	struct peer_state *p;
	size_t removed = 0;

	/* One at a time: peertab_each may not delete. Each round removes one or ends. */
	while ((p = installer_holder(ins, key, ips, n))) {
		memcpy(loser, p->key, WG_KEY_LEN);
		installer_remove(ins, loser, REMOVE_LOST);
		if (peertab_find(ins->tab, loser))
			break; /* the data plane refused; logged */
		removed++;
	}
	return removed;
}

bool installer_ask_owner(struct installer *ins, const struct install_item *it, const struct peer_state *holder)
{
	const struct notice_inbox *to = atomic_load(&ins->revalidate_to);
	struct notice n = { .type = NOTICE_CONFLICT };
	char k[WG_KEY_B64_LEN + 1], h[WG_KEY_B64_LEN + 1];

	if (!to)
		return false;
	memcpy(n.key, it->key, WG_KEY_LEN);
	memcpy(n.other, holder->key, WG_KEY_LEN);
	_Static_assert(sizeof(n.src) == sizeof(it->endpoint), "endpoint unions differ");
	memcpy(&n.src, &it->endpoint, sizeof(n.src));
	installer_key_str(k, it->key);
	installer_key_str(h, holder->key);
	log_info("peer %s claims addresses installed for %s: asking the registry about both", k, h);
	return to->send(to->ctx, &n, 1) == 1;
}

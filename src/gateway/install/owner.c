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

struct peer_state *installer_holder(struct installer *ins, const uint8_t key[WG_KEY_LEN],
				    const struct dp_allowedip *ips, size_t n)
{
	return peertab_holder(ins->tab, key, ips, n);
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

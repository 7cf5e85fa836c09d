// SPDX-License-Identifier: MIT
/*
 * expires_at at the second, by the install stage itself (contracts in
 * internal.h): the registry's feed also announces an expiry as a delete,
 * but the gateway must not depend on it, least of all while the registry
 * is unreachable. ins->next_expiry is a lower bound of the installed
 * peers' expiries: an install lowers it, a removal or a later expiry never
 * raises it, so at worst it fires early, finds nothing due and is set to
 * the true earliest by the same scan. Scans happen only when it is due.
 */
#include <string.h>

#include "gateway/install/internal.h"

void installer_expiry_note(struct installer *ins, int64_t expires_at)
{
	if (expires_at > 0 && (!ins->next_expiry || expires_at < ins->next_expiry))
		ins->next_expiry = expires_at;
}

struct expiry_scan {
	int64_t now_s, next;
	uint8_t (*due)[WG_KEY_LEN];
	size_t n, cap;
};

static bool scan_one(struct peer_state *p, void *arg)
{
	struct expiry_scan *s = arg;

	if (!p->expires_at)
		return true;
	if (p->expires_at <= s->now_s) {
		if (s->n < s->cap)
			memcpy(s->due[s->n++], p->key, WG_KEY_LEN);
		else if (!s->next || s->now_s < s->next)
			s->next = s->now_s; /* more than one batch due: scan again at once */
		return true;
	}
	if (!s->next || p->expires_at < s->next)
		s->next = p->expires_at;
	return true;
}

void installer_expiry_run(struct installer *ins, int64_t now_ms)
{
	uint8_t due[REMOVE_BATCH][WG_KEY_LEN];
	struct expiry_scan s = { .now_s = now_ms / 1000, .due = due, .cap = REMOVE_BATCH };
	size_t i;

	if (!ins->next_expiry || ins->next_expiry > s.now_s)
		return;
	peertab_each(ins->tab, scan_one, &s);
	ins->next_expiry = s.next;
	for (i = 0; i < s.n; ++i) {
		installer_remove(ins, due[i], REMOVE_EXPIRED);
		if (peertab_find(ins->tab, due[i]))
			installer_expiry_note(ins, s.now_s + 1); /* the data plane refused: again in a second */
	}
}

int64_t installer_expiry_due_ms(const struct installer *ins, int64_t now_ms)
{
	int64_t d;

	if (!ins->next_expiry)
		return -1;
	d = ins->next_expiry * 1000 - now_ms;
	return d < 0 ? 0 : d;
}

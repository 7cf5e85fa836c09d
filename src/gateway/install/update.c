// SPDX-License-Identifier: MIT
/*
 * A record from the registry's change feed for a key that may be installed
 * (ITEM_UPDATE, contract in internal.h): a PATCH of its allowed IPs,
 * keepalive or expiry reaches the data plane as one update-only write of
 * what changed. Allowed IPs that did not change are not rewritten (a
 * rewrite drops and re-adds the peer's routes in the data plane); a record
 * already expired removes the peer. The feed is the registry's word, so an
 * installed peer overlapping the new addresses loses them (owner.c).
 * Endpoint and preshared key are left alone: the endpoint is the client's
 * last initiation's source, and the registry's API cannot change a key's
 * preshared key in place.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/install/internal.h"

void installer_apply_update(struct installer *ins, const struct install_item *it)
{
	struct peer_state *p = peertab_find(ins->tab, it->key);
	char k[WG_KEY_B64_LEN + 1];
	struct dp_peer dp;
	bool ips_changed, expiry_changed;
	int ret;

	if (!p)
		return;
	if (it->expires_at && it->expires_at <= time(NULL)) {
		installer_remove(ins, it->key, REMOVE_EXPIRED);
		return;
	}
	ips_changed = !peertab_ips_same(p->allowed_ips, p->n_allowed_ips, it->allowed_ips, it->n_allowed_ips);
	memset(&dp, 0, sizeof(dp));
	memcpy(dp.public_key, it->key, WG_KEY_LEN);
	/* Never creates; no existence check (a key dump on the kernel backend): the peer table says it is there. */
	dp.flags = DP_PEER_UPDATE_QUIET;
	if (ips_changed) {
		installer_remove_holders(ins, it->key, it->allowed_ips, it->n_allowed_ips);
		dp.flags |= DP_PEER_REPLACE_ALLOWEDIPS;
		dp.allowed_ips = it->allowed_ips;
		dp.n_allowed_ips = it->n_allowed_ips;
	}
	if (it->keepalive != p->keepalive) {
		dp.flags |= DP_PEER_HAS_KEEPALIVE;
		dp.persistent_keepalive = it->keepalive;
	}
	installer_key_str(k, it->key);
	if (dp.flags != DP_PEER_UPDATE_QUIET) {
		/* Removed by someone else since the last sweep: skipped, and the next sweep forgets it. */
		ret = dataplane_set_peers(ins->dp, &dp, 1);
		if (ret) {
			log_warn("updating peer %s from the registry failed: %s", k, strerror(-ret));
			metrics_inc(&ins->m->install_errors);
			return;
		}
		if (ips_changed && peertab_set_allowed_ips(p, it->allowed_ips, it->n_allowed_ips))
			log_warn("peer %s: no memory to record its new allowed IPs", k);
		p->keepalive = it->keepalive;
	}
	expiry_changed = it->expires_at != p->expires_at;
	if (dp.flags == DP_PEER_UPDATE_QUIET && !expiry_changed)
		return;
	p->expires_at = it->expires_at;
	installer_expiry_note(ins, it->expires_at);
	metrics_inc(&ins->m->feed_updates);
	ins->status_dirty = true;
	log_info("updated peer %s from the registry:%s%s%s", k, ips_changed ? " allowed IPs" : "",
		 dp.flags & DP_PEER_HAS_KEEPALIVE ? " keepalive" : "", expiry_changed ? " expiry" : "");
}

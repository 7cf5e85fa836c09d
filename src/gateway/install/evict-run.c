// SPDX-License-Identifier: MIT
/*
 * Eviction as the install stage runs it (evict.c is the policy): the sweep
 * that merges the data plane's listing into the peer table and plans the
 * removals, the removals in small batches between queued work, removal of
 * peers the registry reports gone (or that expired, or lost their
 * addresses), and the revalidation notices to the lookup stage. Stage thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/install/internal.h"

void installer_remove(struct installer *ins, const uint8_t key[WG_KEY_LEN], enum removal_reason why)
{
	static const char *const what[] = {
		[REMOVE_GONE] = "deleted or expired in the registry",
		[REMOVE_EXPIRED] = "its expiry time passed",
		[REMOVE_LOST] = "the registry gave its addresses to another key",
	};
	char k[WG_KEY_B64_LEN + 1];
	int ret;

	if (!peertab_find(ins->tab, key))
		return;
	installer_key_str(k, key);
	ret = dataplane_remove_peers(ins->dp, (const uint8_t (*)[WG_KEY_LEN])key, 1);
	if (ret) {
		log_warn("removing %s (%s) failed: %s", k, what[why], strerror(-ret));
		return;
	}
	installer_admit_drop(ins, peertab_find(ins->tab, key));
	peertab_del(ins->tab, key);
	installer_admit_commit(ins);
	metrics_inc(&ins->m->evictions);
	metrics_inc(why == REMOVE_GONE ? &ins->m->registry_gone
		    : why == REMOVE_EXPIRED ? &ins->m->expired : &ins->m->address_lost);
	installer_update_gauges(ins);
	log_info("removed peer %s: %s", k, what[why]);
}

static void policy(struct installer *ins, struct evict_policy *pol)
{
	pthread_mutex_lock(&ins->cfg_mu);
	pol->idle_timeout = ins->cfg.idle_timeout;
	pol->grace = ins->cfg.grace;
	pthread_mutex_unlock(&ins->cfg_mu);
}

void installer_remove_batch(struct installer *ins)
{
	struct evict_plan *pl = &ins->plan;
	uint8_t keys[REMOVE_BATCH][WG_KEY_LEN];
	size_t n = 0, stale_gone = 0, i;
	int64_t now = time(NULL);
	struct evict_policy pol;
	int ret;

	policy(ins, &pol);
	while (pl->next < pl->n_victims && n < REMOVE_BATCH) {
		const uint8_t *k = pl->victims[pl->next++];
		struct peer_state *p = peertab_find(ins->tab, k);
		/*
		 * Re-installed since the plan was made: spare it. Same millisecond
		 * counts (>=): installs run right after the sweep on this thread.
		 */
		if (!p || p->installed_mono_ms >= pl->planned_mono_ms)
			continue;
		memcpy(keys[n++], k, WG_KEY_LEN);
	}
	if (!n)
		goto out;
	ret = dataplane_remove_peers(ins->dp, (const uint8_t (*)[WG_KEY_LEN])keys, n);
	if (ret) {
		log_warn("evicting %zu peers failed: %s", n, strerror(-ret));
		goto out;
	}
	for (i = 0; i < n; ++i) {
		struct peer_state *p = peertab_find(ins->tab, keys[i]);
		char k[WG_KEY_B64_LEN + 1];
		int64_t idle = -1;

		if (p) {
			if (evict_is_stale(&pol, p, now))
				stale_gone++;
			if (p->last_handshake)
				idle = now - p->last_handshake;
			installer_admit_drop(ins, p);
		}
		installer_key_str(k, keys[i]);
		if (idle >= 0)
			log_info("evicted peer %s: idle %llds", k, (long long)idle);
		else
			log_info("evicted peer %s: no handshake since install", k);
		peertab_del(ins->tab, keys[i]);
	}
	installer_admit_commit(ins);
	metrics_add(&ins->m->evictions, n);
	if (stale_gone > pl->stale)
		stale_gone = pl->stale;
	pl->stale -= stale_gone;
	metrics_gauge_set(&ins->m->peers_stale, (int64_t)pl->stale);
	installer_update_gauges(ins);
out:
	if (pl->next >= pl->n_victims) {
		size_t stale = pl->stale;
		evict_plan_clear(pl);
		pl->stale = stale;
	}
}

struct reval_ctx {
	uint64_t now_ms, every_ms;
	struct notice *out;
	struct peer_state **who;
	size_t n;
};

static bool collect_due(struct peer_state *p, void *arg)
{
	struct reval_ctx *c = arg;

	if (c->n == REVALIDATE_PER_SWEEP)
		return false;
	if (c->now_ms - p->revalidated_mono_ms < c->every_ms)
		return true;
	c->out[c->n].type = NOTICE_REVALIDATE;
	memcpy(c->out[c->n].key, p->key, WG_KEY_LEN);
	c->who[c->n++] = p;
	return true;
}

/*
 * Sends NOTICE_REVALIDATE for up to 256 installed peers not checked for
 * --revalidate seconds, in one batch to the lookup's inbox. Only the peers
 * the inbox took are marked: the rest (its half of the queue was full) are
 * due again at the next round, not lost and not retried one lock each.
 */
void installer_revalidate(struct installer *ins)
{
	const struct notice_inbox *to = atomic_load(&ins->revalidate_to);
	struct notice out[REVALIDATE_PER_SWEEP];
	struct peer_state *who[REVALIDATE_PER_SWEEP];
	struct reval_ctx c = { .now_ms = clock_mono_ms(), .out = out, .who = who };
	size_t taken, i;

	if (!to)
		return;
	pthread_mutex_lock(&ins->cfg_mu);
	c.every_ms = (uint64_t)ins->cfg.revalidate * 1000;
	pthread_mutex_unlock(&ins->cfg_mu);
	peertab_each(ins->tab, collect_due, &c);
	if (!c.n)
		return;
	taken = to->send(to->ctx, out, c.n);
	for (i = 0; i < taken && i < c.n; ++i)
		who[i]->revalidated_mono_ms = c.now_ms;
	if (taken < c.n)
		log_debug("revalidation: lookup queue busy, %zu of %zu peers wait for the next round",
			  c.n - taken, c.n);
}

void installer_sweep(struct installer *ins)
{
	struct dp_peer *peers = NULL;
	struct evict_policy pol;
	size_t n = 0;
	int ret;

	policy(ins, &pol);
	ret = dataplane_list_peers(ins->dp, &peers, &n);
	if (ret) {
		log_warn("sweep: listing peers failed: %s", strerror(-ret));
		return;
	}
	ret = evict_sweep(ins->tab, &pol, peers, n, time(NULL), clock_mono_ms(), ++ins->gen, &ins->plan);
	if (!ret)
		installer_keepalive_sweep(ins, peers, n, clock_mono_ms());
	dataplane_peers_free(peers, n);
	if (ret) {
		log_warn("sweep: %s", strerror(-ret));
		evict_plan_clear(&ins->plan);
		return;
	}
	metrics_gauge_set(&ins->m->peers_stale, (int64_t)ins->plan.stale);
	installer_update_gauges(ins);
	/* The listing is the truth: adopted and vanished peers, endpoints the data plane roamed. */
	installer_admit_sync(ins);
	installer_admit_commit(ins);
	if (ins->plan.adopted || ins->plan.vanished || ins->plan.n_victims)
		log_info("sweep: %zu peers, %zu to evict, %zu adopted, %zu removed by others",
			 n, ins->plan.n_victims, ins->plan.adopted, ins->plan.vanished);
}

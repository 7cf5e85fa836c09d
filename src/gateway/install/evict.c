// SPDX-License-Identifier: MIT
#include "gateway/install/evict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t evict_interval_ms(unsigned int idle_timeout)
{
	uint64_t ms = (uint64_t)idle_timeout * 1000 / 4;

	return ms < 1000 ? 1000 : ms;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Last sign of life: a handshake or traffic seen by a sweep. */
static int64_t last_alive(const struct peer_state *p)
{
	return max64(p->last_handshake, p->active_at);
}

/* Idle time counts from the later of the last sign of life and the install. */
static int64_t idle_since(const struct peer_state *p)
{
	return max64(last_alive(p), p->installed_at);
}

bool evict_is_stale(const struct evict_policy *pol, const struct peer_state *p, int64_t now)
{
	return now - idle_since(p) > (int64_t)pol->idle_timeout;
}

bool evict_is_due(const struct evict_policy *pol, const struct peer_state *p, int64_t now)
{
	bool idle = p->last_handshake == 0 || now - last_alive(p) > (int64_t)pol->idle_timeout;

	return idle && now - p->installed_at > (int64_t)pol->grace;
}

struct forget_ctx {
	uint32_t gen;
	uint8_t (*keys)[WG_KEY_LEN];
	size_t n, cap;
	bool nomem;
};

static bool collect_vanished(struct peer_state *p, void *arg)
{
	struct forget_ctx *c = arg;

	if (p->sweep_mark == c->gen)
		return true;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		void *nk = realloc(c->keys, ncap * sizeof(*c->keys));
		if (!nk) {
			c->nomem = true;
			return false;
		}
		c->keys = nk;
		c->cap = ncap;
	}
	memcpy(c->keys[c->n++], p->key, WG_KEY_LEN);
	return true;
}

int evict_sweep(struct peertab *t, const struct evict_policy *pol, const struct dp_peer *peers,
		size_t n, int64_t now, uint64_t now_mono_ms, uint32_t gen, struct evict_plan *plan)
{
	struct forget_ctx fc = { .gen = gen };
	size_t i;
	int ret = 0;

	evict_plan_clear(plan);
	plan->planned_mono_ms = now_mono_ms;
	if (n) {
		plan->victims = malloc(n * sizeof(*plan->victims));
		if (!plan->victims)
			return -ENOMEM;
	}
	for (i = 0; i < n; ++i) {
		const struct dp_peer *dp = &peers[i];
		bool created;
		struct peer_state *p = peertab_get(t, dp->public_key, &created);

		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		if (created) {
			/* Installed before we started, or by hand: it ages out like ours. */
			p->installed_at = now;
			p->installed_mono_ms = now_mono_ms;
			p->adopted = true;
			/*
			 * Whoever set this endpoint (our previous run, or the client's
			 * own authenticated traffic) is the best source we have: the
			 * replay guard needs one to put back, or a replay moves it.
			 */
			p->trusted = dp->endpoint;
			plan->adopted++;
		}
		p->sweep_mark = gen;
		if (!created && dp->rx_bytes != p->rx_bytes)
			p->active_at = now;
		p->last_handshake = dp->last_handshake_sec;
		p->rx_bytes = dp->rx_bytes;
		p->tx_bytes = dp->tx_bytes;
		p->endpoint = dp->endpoint;
		/*
		 * Ours keep the record's keepalive: under re-injection the data
		 * plane has 0 until the copy is consumed (reinject-run.c).
		 */
		if (p->adopted)
			p->keepalive = dp->persistent_keepalive;
		/* On ENOMEM only the status document misses them. */
		(void)peertab_set_allowed_ips(p, dp->allowed_ips, dp->n_allowed_ips);
		if (evict_is_stale(pol, p, now))
			plan->stale++;
		if (evict_is_due(pol, p, now))
			memcpy(plan->victims[plan->n_victims++], p->key, WG_KEY_LEN);
	}
	/* Someone removed these behind our back (wg set ... remove): forget them. */
	peertab_each(t, collect_vanished, &fc);
	for (i = 0; i < fc.n; ++i)
		peertab_del(t, fc.keys[i]);
	plan->vanished = fc.n;
	if (fc.nomem)
		ret = -ENOMEM;
out:
	free(fc.keys);
	return ret;
}

void evict_plan_clear(struct evict_plan *plan)
{
	free(plan->victims);
	memset(plan, 0, sizeof(*plan));
}

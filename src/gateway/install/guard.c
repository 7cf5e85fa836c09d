// SPDX-License-Identifier: MIT
/*
 * The endpoint guard: repair after replays. WireGuard data planes accept an
 * initiation whose timestamp is newer than the last one they consumed; in
 * the initiator role they consumed none of the client's, so a replayed
 * initiation from elsewhere can move the endpoint. The replay guard sees the
 * same packet and sends NOTICE_REPLAY_SEEN; we write back the endpoint of
 * the last initiation that passed the guard, now and a few times over the
 * next second, because the data plane handles its copy on its own schedule.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/install/internal.h"

static const uint32_t guard_delay_ms[GUARD_ROUNDS] = { 25, 100, 400, 1000 };

int installer_guard_admit(struct installer *ins, const uint8_t key[WG_KEY_LEN])
{
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&ins->guard_mu);
	for (i = 0; i < ins->n_guard_queued; ++i)
		if (!memcmp(ins->guard_queued[i], key, WG_KEY_LEN))
			ret = -EALREADY;
	if (!ret && ins->n_guard_queued == GUARD_MAX)
		ret = -EAGAIN;
	if (!ret)
		memcpy(ins->guard_queued[ins->n_guard_queued++], key, WG_KEY_LEN);
	pthread_mutex_unlock(&ins->guard_mu);
	return ret;
}

static void guard_dequeued(struct installer *ins, const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	pthread_mutex_lock(&ins->guard_mu);
	for (i = 0; i < ins->n_guard_queued; ++i) {
		if (!memcmp(ins->guard_queued[i], key, WG_KEY_LEN)) {
			memcpy(ins->guard_queued[i], ins->guard_queued[--ins->n_guard_queued], WG_KEY_LEN);
			break;
		}
	}
	pthread_mutex_unlock(&ins->guard_mu);
}

/*
 * Writes the trusted endpoint back; returns 0, or -errno from the data
 * plane. The peer is in our table, so no existence check is wanted
 * (DP_PEER_UPDATE_ONLY's -ENOENT costs the kernel backend a key dump per
 * call, and an attacker decides how often this runs); but a peer removed
 * behind our back (wg set ... remove, before the next sweep notices) must
 * not come back as an endpoint-only stub: DP_PEER_UPDATE_QUIET skips it.
 */
static int restore_endpoint(struct installer *ins, struct peer_state *p)
{
	struct dp_peer fix;
	int ret;

	memset(&fix, 0, sizeof(fix));
	memcpy(fix.public_key, p->key, WG_KEY_LEN);
	fix.flags = DP_PEER_HAS_ENDPOINT | DP_PEER_UPDATE_QUIET;
	fix.endpoint = p->trusted;
	ret = dataplane_set_peers(ins->dp, &fix, 1);
	if (!ret) {
		p->endpoint = p->trusted;
		installer_admit_follow(ins, p);
	}
	return ret;
}

static void schedule_guard(struct installer *ins, const uint8_t key[WG_KEY_LEN], uint64_t now)
{
	struct guard *g = NULL;
	size_t i;

	for (i = 0; i < ins->n_guards; ++i)
		if (!memcmp(ins->guards[i].key, key, WG_KEY_LEN))
			g = &ins->guards[i];
	if (!g) {
		/* Full: the oldest schedule gives way (it has had most of its rounds). */
		if (ins->n_guards == GUARD_MAX)
			memmove(&ins->guards[0], &ins->guards[1], --ins->n_guards * sizeof(ins->guards[0]));
		g = &ins->guards[ins->n_guards++];
		memcpy(g->key, key, WG_KEY_LEN);
	}
	g->round = 0;
	g->due_ms = now + guard_delay_ms[0];
}

uint64_t installer_guards_next(const struct installer *ins)
{
	return clock_earliest(ins->guards, ins->n_guards, sizeof(ins->guards[0]), offsetof(struct guard, due_ms));
}

void installer_guards_run(struct installer *ins, uint64_t now)
{
	size_t i = 0;

	while (i < ins->n_guards) {
		struct guard *g = &ins->guards[i];
		struct peer_state *p;

		if (g->due_ms > now) {
			i++;
			continue;
		}
		p = peertab_find(ins->tab, g->key);
		if (p && p->trusted.addr.sa_family)
			restore_endpoint(ins, p);
		if (!p || ++g->round >= GUARD_ROUNDS) {
			ins->guards[i] = ins->guards[--ins->n_guards];
			continue;
		}
		g->due_ms = now + guard_delay_ms[g->round];
		i++;
	}
	installer_admit_commit(ins);
}

void installer_guard_notice(struct installer *ins, const struct notice *n)
{
	struct peer_state *p;
	union dp_endpoint bad_ep;
	char k[WG_KEY_B64_LEN + 1], bad[INET6_ADDRSTRLEN + 10], good[INET6_ADDRSTRLEN + 10];
	int ret;

	guard_dequeued(ins, n->key);
	memset(&bad_ep, 0, sizeof(bad_ep));
	if (n->src.sa.sa_family == AF_INET)
		bad_ep.addr4 = n->src.sin;
	else if (n->src.sa.sa_family == AF_INET6)
		bad_ep.addr6 = n->src.sin6;
	p = peertab_find(ins->tab, n->key);
	if (!p || !p->trusted.addr.sa_family || dataplane_endpoint_equal(&p->trusted, &bad_ep))
		return;
	ret = restore_endpoint(ins, p);
	if (ret) {
		log_warn("restoring endpoint after a replay failed: %s", strerror(-ret));
		return;
	}
	installer_admit_commit(ins);
	schedule_guard(ins, n->key, clock_mono_ms());
	metrics_inc(&ins->m->endpoint_restores);
	installer_key_str(k, n->key);
	installer_endpoint_str(bad, sizeof(bad), &bad_ep);
	installer_endpoint_str(good, sizeof(good), &p->trusted);
	/* An attacker can repeat this at will: rate-limited, the counter tells the rest. */
	log_ratelimited_debug("replayed initiation for %s from %s: endpoint kept at %s", k, bad, good);
}

// SPDX-License-Identifier: MIT
/*
 * Endpoint repair after replays. WireGuard data planes accept an initiation
 * whose timestamp is newer than the last one they consumed; in the
 * initiator role they consumed none of the client's, so a replayed
 * initiation from elsewhere can move the endpoint. The replay guard sees the
 * same packet and tells us; we write back the endpoint of the last
 * initiation that passed the guard, now and a few times over the next
 * second, because the data plane handles its copy on its own schedule.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/install-internal.h"

static const uint32_t guard_delay_ms[GUARD_ROUNDS] = { 25, 100, 400, 1000 };

int installer_replay_seen(struct installer *ins, const uint8_t key[WG_KEY_LEN], const struct sockaddr *src)
{
	struct job *j = calloc(1, sizeof(*j));
	int ret;

	if (!j)
		return -ENOMEM;
	j->type = JOB_GUARD;
	memcpy(j->key, key, WG_KEY_LEN);
	if (src->sa_family == AF_INET)
		memcpy(&j->endpoint.addr4, src, sizeof(j->endpoint.addr4));
	else if (src->sa_family == AF_INET6)
		memcpy(&j->endpoint.addr6, src, sizeof(j->endpoint.addr6));
	/*
	 * In order with installs, not ahead of them: a flood of replays (from
	 * spoofed sources, each a valid initiation) would otherwise keep the
	 * queue's head busy and starve every install. A replay of a key whose
	 * guard job is still queued adds nothing.
	 */
	ret = installer_enqueue(ins, j, false);
	if (ret)
		installer_job_free(j);
	return ret == -EALREADY ? 0 : ret;
}

int installer_guard_may_queue(struct installer *ins, const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < ins->n_guard_queued; ++i)
		if (!memcmp(ins->guard_queued[i], key, WG_KEY_LEN))
			return -EALREADY;
	if (ins->n_guard_queued == GUARD_MAX)
		return -EAGAIN;
	memcpy(ins->guard_queued[ins->n_guard_queued++], key, WG_KEY_LEN);
	return 0;
}

void installer_guard_dequeued(struct installer *ins, const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < ins->n_guard_queued; ++i) {
		if (!memcmp(ins->guard_queued[i], key, WG_KEY_LEN)) {
			memcpy(ins->guard_queued[i], ins->guard_queued[--ins->n_guard_queued], WG_KEY_LEN);
			return;
		}
	}
}

/* Writes the trusted endpoint back; returns 0, or -errno from the data plane. */
static int restore_endpoint(struct installer *ins, struct peer_state *p)
{
	struct dp_peer fix;
	int ret;

	memset(&fix, 0, sizeof(fix));
	memcpy(fix.public_key, p->key, WG_KEY_LEN);
	fix.flags = DP_PEER_UPDATE_ONLY | DP_PEER_HAS_ENDPOINT;
	fix.endpoint = p->trusted;
	ret = dataplane_set_peers(ins->dp, &fix, 1);
	if (ret == -ENOENT)
		ret = 0; /* removed meanwhile: nothing to protect */
	if (!ret)
		p->endpoint = p->trusted;
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
	uint64_t next = UINT64_MAX;
	size_t i;

	for (i = 0; i < ins->n_guards; ++i)
		if (ins->guards[i].due_ms < next)
			next = ins->guards[i].due_ms;
	return next;
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
}

void installer_guard_job(struct installer *ins, struct job *j)
{
	struct peer_state *p = peertab_find(ins->tab, j->key);
	char k[WG_KEY_B64_LEN + 1], bad[INET6_ADDRSTRLEN + 10], good[INET6_ADDRSTRLEN + 10];
	int ret;

	if (!p || !p->trusted.addr.sa_family || dataplane_endpoint_equal(&p->trusted, &j->endpoint))
		return;
	ret = restore_endpoint(ins, p);
	if (ret) {
		log_warn("restoring endpoint after a replay failed: %s", strerror(-ret));
		return;
	}
	schedule_guard(ins, j->key, installer_mono_ms());
	metrics_inc(&ins->m->endpoint_restores);
	installer_key_str(k, j->key);
	installer_endpoint_str(bad, sizeof(bad), &j->endpoint);
	installer_endpoint_str(good, sizeof(good), &p->trusted);
	/* An attacker can repeat this at will: rate-limited, the counter tells the rest. */
	log_ratelimited_debug("replayed initiation for %s from %s: endpoint kept at %s", k, bad, good);
}

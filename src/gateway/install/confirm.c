// SPDX-License-Identifier: MIT
/*
 * Install confirmation (see install/confirm.h for the contract and
 * docs/ARCHITECTURE.md for the crossed-handshake analysis).
 *
 * Why the first check waits at least 25 ms: the repair's new initiation
 * must pass the client's two checks on initiations from the same peer.
 * Both wireguard-go and the kernel drop one that arrives within 20 ms of
 * the last one consumed (the flood limit, 50 per second), and accept only
 * a strictly newer TAI64N timestamp, which both round down to 2^24 ns
 * (16.8 ms). The client consumed the first triggered initiation right
 * after the trigger, so a repair 25 ms later clears both.
 */
#include "gateway/install/confirm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "wire/keys.h"

/*
 * MAX_STUCK: a crossed handshake is a rare, per-client race. More stuck
 * peers than this in one check means an overloaded data plane (cookie
 * replies, a backlog of handshakes), where removing peers would only tear
 * down handshakes in progress and add work: they wait instead.
 */
enum { LIST_COST_FACTOR = 10, MIN_WAIT_MS = 25, MAX_QUIET_WAITS = 4, MAX_STUCK = 4 };

struct watch {
	struct dp_peer p;          /* what to install again; allowed_ips owned */
	uint64_t deadline_ms;
	int64_t trigger_real;      /* unix seconds of the last trigger */
	unsigned int repairs;
	unsigned int waits;        /* windows in which the peer was still receiving */
	uint64_t rx_seen;          /* the peer's rx_bytes at the last look */
	bool rx_known;
	bool listed;               /* scratch for one check */
	int64_t last_handshake;
	uint64_t rx_now;
};

struct install_confirm {
	struct confirm_config cfg;
	struct watch *w;
	size_t n, cap;
	uint64_t next_check_ms;    /* not before: ten listing durations after the last */
};

struct install_confirm *install_confirm_new(const struct confirm_config *cfg)
{
	struct install_confirm *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg.wait_ms = cfg && cfg->wait_ms ? cfg->wait_ms : 100;
	if (c->cfg.wait_ms < MIN_WAIT_MS)
		c->cfg.wait_ms = MIN_WAIT_MS;
	c->cfg.max_repairs = cfg ? cfg->max_repairs : 2;
	c->cfg.max_watched = cfg && cfg->max_watched ? cfg->max_watched : 4096;
	return c;
}

static void watch_clear(struct watch *w)
{
	free(w->p.allowed_ips);
	explicit_bzero(w, sizeof(*w));
}

void install_confirm_free(struct install_confirm *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; ++i)
		watch_clear(&c->w[i]);
	free(c->w);
	free(c);
}

static int peer_copy(struct dp_peer *dst, const struct dp_peer *src)
{
	*dst = *src;
	dst->allowed_ips = NULL;
	if (src->n_allowed_ips) {
		dst->allowed_ips = malloc(src->n_allowed_ips * sizeof(*src->allowed_ips));
		if (!dst->allowed_ips) {
			explicit_bzero(dst, sizeof(*dst));
			return -ENOMEM;
		}
		memcpy(dst->allowed_ips, src->allowed_ips, src->n_allowed_ips * sizeof(*src->allowed_ips));
	}
	return 0;
}

static struct watch *find(struct install_confirm *c, const uint8_t key[static WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < c->n; ++i)
		if (!memcmp(c->w[i].p.public_key, key, WG_KEY_LEN))
			return &c->w[i];
	return NULL;
}

/* Removes entry i by moving the last one into its place. */
static void drop(struct install_confirm *c, size_t i)
{
	watch_clear(&c->w[i]);
	if (i != --c->n) {
		c->w[i] = c->w[c->n];
		memset(&c->w[c->n], 0, sizeof(c->w[c->n]));
	}
}

int install_confirm_watch(struct install_confirm *c, const struct dp_peer *p, uint64_t now_ms,
			  int64_t now_real)
{
	struct watch nw = { 0 }, *w;
	size_t i, oldest;

	if (peer_copy(&nw.p, p) < 0)
		return -ENOMEM;
	nw.p.flags &= ~(uint32_t)DP_PEER_UPDATE_ONLY; /* a repair creates it again */
	nw.deadline_ms = now_ms + c->cfg.wait_ms;
	nw.trigger_real = now_real;
	w = find(c, p->public_key);
	if (w) {
		watch_clear(w);
		*w = nw;
		return 0;
	}
	if (c->n == c->cfg.max_watched) {
		for (oldest = 0, i = 1; i < c->n; ++i)
			if (c->w[i].deadline_ms < c->w[oldest].deadline_ms)
				oldest = i;
		drop(c, oldest);
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct watch *g = realloc(c->w, cap * sizeof(*g));

		if (!g) {
			watch_clear(&nw);
			return -ENOMEM;
		}
		c->w = g;
		c->cap = cap;
	}
	c->w[c->n++] = nw;
	return 0;
}

void install_confirm_forget(struct install_confirm *c, const uint8_t key[static WG_KEY_LEN])
{
	struct watch *w = find(c, key);

	if (w)
		drop(c, (size_t)(w - c->w));
}

uint64_t install_confirm_due(const struct install_confirm *c)
{
	uint64_t due = clock_earliest(c->w, c->n, sizeof(c->w[0]), offsetof(struct watch, deadline_ms));

	if (due != UINT64_MAX && due < c->next_check_ms)
		due = c->next_check_ms;
	return due;
}

size_t install_confirm_watched(const struct install_confirm *c)
{
	return c->n;
}

static int watch_cmp(const void *a, const void *b)
{
	/* Public keys only: ordering them leaks nothing. */
	return memcmp(((const struct watch *)a)->p.public_key, ((const struct watch *)b)->p.public_key,
		      WG_KEY_LEN);
}

static int key_watch_cmp(const void *key, const void *w)
{
	return memcmp(key, ((const struct watch *)w)->p.public_key, WG_KEY_LEN);
}

enum verdict { KEEP, CONFIRMED, GONE, WAIT, REPAIR, GIVE_UP };

static enum verdict judge(const struct install_confirm *c, const struct watch *w, uint64_t now_ms,
			  bool overloaded)
{
	if (!w->listed)
		return GONE;
	if (w->last_handshake && w->last_handshake >= w->trigger_real)
		return CONFIRMED;
	if (w->deadline_ms > now_ms)
		return KEEP;
	/*
	 * Only a peer that received nothing during the last window is stuck.
	 * One still receiving is a handshake in progress (a response being
	 * answered, a cookie round trip on a loaded data plane), and removing
	 * it could tear down a session the client has just started to use.
	 */
	if (!w->rx_known || w->rx_now != w->rx_seen)
		return w->waits < MAX_QUIET_WAITS ? WAIT : GIVE_UP;
	if (w->repairs >= c->cfg.max_repairs)
		return GIVE_UP;
	if (overloaded)
		return w->waits < MAX_QUIET_WAITS ? WAIT : GIVE_UP;
	return REPAIR;
}

int install_confirm_check(struct install_confirm *c, const struct dp_peer *listed, size_t n,
			  uint64_t now_ms, int64_t now_real, uint64_t list_ms, struct dp_peer **repair,
			  size_t *nrepair, struct confirm_counts *counts)
{
	struct dp_peer *out = NULL;
	size_t i, m = 0, want = 0;
	bool overloaded = false;
	int ret = 0;

	*repair = NULL;
	*nrepair = 0;
	if (!c->n)
		return 0;
	qsort(c->w, c->n, sizeof(*c->w), watch_cmp);
	for (i = 0; i < c->n; ++i)
		c->w[i].listed = false;
	for (i = 0; i < n; ++i) {
		struct watch *w = bsearch(listed[i].public_key, c->w, c->n, sizeof(*c->w), key_watch_cmp);

		if (w) {
			w->listed = true;
			w->last_handshake = listed[i].last_handshake_sec;
			w->rx_now = listed[i].rx_bytes;
		}
	}
	for (i = 0; i < c->n; ++i)
		want += judge(c, &c->w[i], now_ms, false) == REPAIR;
	if (want > MAX_STUCK) {
		overloaded = true;
		want = 0;
		log_ratelimited_debug("install confirmation: many stuck peers at once, not repairing");
	}
	if (want && !(out = calloc(want, sizeof(*out))))
		return -ENOMEM;
	for (i = 0; i < c->n && m < want; ++i) {
		if (judge(c, &c->w[i], now_ms, overloaded) != REPAIR)
			continue;
		if ((ret = peer_copy(&out[m], &c->w[i].p)) < 0)
			goto out;
		/* A read-only field, unused by a set: carries the trigger the
		 * repair was judged against, for install_confirm_run's second look. */
		out[m++].last_handshake_sec = c->w[i].trigger_real;
	}
	/* Nothing can fail from here on: apply the verdicts. */
	for (i = 0; i < c->n;) {
		struct watch *w = &c->w[i];

		switch (judge(c, w, now_ms, overloaded)) {
		case KEEP:
			i++;
			continue;
		case WAIT:
			w->waits++;
			w->rx_seen = w->rx_now;
			w->rx_known = true;
			w->deadline_ms = now_ms + c->cfg.wait_ms;
			i++;
			continue;
		case REPAIR:
			w->repairs++;
			w->deadline_ms = now_ms + ((uint64_t)c->cfg.wait_ms << w->repairs);
			w->trigger_real = now_real;
			w->rx_seen = 0; /* the peer is created afresh */
			w->rx_known = true;
			counts->repaired++;
			i++;
			continue;
		case CONFIRMED:
			counts->confirmed++;
			break;
		case GONE:
			counts->gone++;
			break;
		case GIVE_UP:
			counts->given_up++;
			break;
		}
		drop(c, i);
	}
	c->next_check_ms = now_ms + LIST_COST_FACTOR * list_ms;
	*repair = out;
	*nrepair = m;
	out = NULL;
	m = 0;
out:
	install_confirm_repairs_free(out, m);
	return ret;
}

void install_confirm_repairs_free(struct dp_peer *repair, size_t n)
{
	size_t i;

	if (!repair)
		return;
	for (i = 0; i < n; ++i)
		free(repair[i].allowed_ips);
	explicit_bzero(repair, n * sizeof(*repair));
	free(repair);
}

int install_confirm_run(struct install_confirm *c, struct dataplane *dp, struct confirm_counts *counts)
{
	struct dp_peer *peers = NULL, *rep = NULL;
	uint8_t (*keys)[WG_KEY_LEN] = NULL;
	size_t n = 0, nrep = 0, i;
	uint64_t t0 = clock_mono_ms(), t1;
	int ret;

	if (!c->n || install_confirm_due(c) > t0)
		return 0;
	ret = dataplane_list_peers(dp, &peers, &n);
	t1 = clock_mono_ms();
	if (ret) {
		/* Try again one wait later rather than spin on a failing data plane. */
		c->next_check_ms = t1 + c->cfg.wait_ms;
		log_warn("install confirmation: listing peers failed: %s", strerror(-ret));
		return ret;
	}
	ret = install_confirm_check(c, peers, n, t1, clock_real_ms() / 1000, t1 - t0, &rep, &nrep, counts);
	dataplane_peers_free(peers, n);
	peers = NULL;
	if (ret || !nrep)
		goto out;
	/*
	 * A second look before removing anything: a handshake that completed
	 * while the first listing ran (a slow data plane, not a crossed one)
	 * would otherwise be destroyed after the client started to use it, and
	 * the client's first packet lost with it. Only when a repair is due.
	 */
	if (dataplane_list_peers(dp, &peers, &n) == 0) {
		for (i = 0; i < nrep;) {
			const struct dp_peer *q = NULL;

			for (size_t j = 0; j < n && !q; ++j)
				if (!memcmp(peers[j].public_key, rep[i].public_key, WG_KEY_LEN))
					q = &peers[j];
			if (q && !(q->last_handshake_sec && q->last_handshake_sec >= rep[i].last_handshake_sec)) {
				++i;
				continue;
			}
			counts->repaired--;
			if (q)
				counts->confirmed++;
			else
				counts->gone++;
			install_confirm_forget(c, rep[i].public_key);
			free(rep[i].allowed_ips);
			rep[i] = rep[--nrep];
			explicit_bzero(&rep[nrep], sizeof(rep[nrep]));
		}
		dataplane_peers_free(peers, n);
		peers = NULL;
	}
	if (!nrep)
		goto out;
	keys = malloc(nrep * sizeof(*keys));
	if (!keys) {
		ret = -ENOMEM;
		goto failed;
	}
	for (i = 0; i < nrep; ++i)
		memcpy(keys[i], rep[i].public_key, WG_KEY_LEN);
	/* Removing drops the crossed handshake state on our side; the new peer
	 * initiates at once (a fresh peer has no 5 s initiation hold-off). */
	ret = dataplane_remove_peers(dp, (const uint8_t (*)[WG_KEY_LEN])keys, nrep);
	if (!ret && (ret = dataplane_peers_initiate(dp, rep, nrep)) < 0)
		/* Removed but not re-created: put them back untriggered at least. */
		dataplane_set_peers(dp, rep, nrep);
	if (!ret) {
		for (i = 0; i < nrep; ++i) {
			char k[WG_KEY_B64_LEN + 1];

			key_to_base64(k, rep[i].public_key);
			log_info("install confirmation: peer %s had no handshake after the trigger, "
				 "removed and initiated again", k);
		}
		ret = (int)nrep;
		goto out;
	}
failed:
	log_warn("install confirmation: repair of %zu peer(s) failed: %s", nrep, strerror(-ret));
	for (i = 0; i < nrep; ++i)
		install_confirm_forget(c, rep[i].public_key);
	counts->repaired -= nrep;
	counts->given_up += nrep;
out:
	free(keys);
	install_confirm_repairs_free(rep, nrep);
	return ret;
}

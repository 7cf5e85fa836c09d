// SPDX-License-Identifier: MIT
/*
 * The status document: the board readers ask (any thread) and the builder
 * the install stage runs on its own thread after its peer table changed.
 * See status.h.
 */
#include "gateway/install/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "common/clock.h"
#include "common/gcra.h"
#include "gateway/install/internal.h"
#include "gateway/install/status-live.h"

struct status_board {
	struct metrics *m;
	pthread_mutex_t mu;
	bool has_info;
	struct status_info info;
	unsigned int idle_timeout;
	bool initiate;
	struct status_peers *peers;  /* last published copy */
	struct status_live *live;    /* NULL: the sweep's figures only */
	/* readers' token bucket, in ns of debt */
	struct gcra rate;
};

struct status_board *status_board_new(struct metrics *m, unsigned int rate, unsigned int burst)
{
	struct status_board *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->m = m;
	/* a tolerance of burst periods: burst + 1 requests at once */
	gcra_set_rate(&b->rate, rate ? rate : 10, (burst ? burst : 20) + 1);
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void status_board_free(struct status_board *b)
{
	if (!b)
		return;
	status_peers_put(b->peers);
	status_live_free(b->live);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void status_board_set_info(struct status_board *b, const struct status_info *info)
{
	pthread_mutex_lock(&b->mu);
	b->info = *info;
	b->has_info = true;
	pthread_mutex_unlock(&b->mu);
}

void status_board_set_live(struct status_board *b, struct dataplane *dp)
{
	struct status_live *l = status_live_new(dp);

	pthread_mutex_lock(&b->mu);
	status_live_free(b->live);
	b->live = l;
	pthread_mutex_unlock(&b->mu);
}

void status_board_set_config(struct status_board *b, unsigned int idle_timeout, bool initiate)
{
	pthread_mutex_lock(&b->mu);
	b->idle_timeout = idle_timeout;
	b->initiate = initiate;
	pthread_mutex_unlock(&b->mu);
}

struct status_peers {
	atomic_uint refs;            /* the board's, and each reader's while it renders */
	size_t n;
	struct status_peer *peer;    /* both arrays in this allocation */
	struct dp_allowedip *ips;
};

struct status_peers *status_peers_new(size_t n, size_t n_ips, struct status_peer **peers,
				      struct dp_allowedip **ips)
{
	struct status_peers *s;
	size_t head = sizeof(*s), body;

	/* the peers after the header, the allowed IPs after the peers: all three aligned */
	head = (head + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t);
	body = n * sizeof(struct status_peer);
	body = (body + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t);
	if (n > (SIZE_MAX - head) / sizeof(struct status_peer) ||
	    n_ips > (SIZE_MAX - head - body) / sizeof(struct dp_allowedip)) {
		errno = ENOMEM;
		return NULL;
	}
	s = calloc(1, head + body + n_ips * sizeof(struct dp_allowedip));
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->n = n;
	s->peer = (struct status_peer *)((char *)s + head);
	s->ips = (struct dp_allowedip *)((char *)s + head + body);
	*peers = s->peer;
	*ips = s->ips;
	return s;
}

void status_peers_put(struct status_peers *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

void status_board_publish(struct status_board *b, struct status_peers *s)
{
	struct status_peers *old;

	pthread_mutex_lock(&b->mu);
	old = b->peers;
	b->peers = s;
	pthread_mutex_unlock(&b->mu);
	status_peers_put(old);
}

/* One peer's object; live (may be NULL) has the data plane's own handshake and transfer figures. */
static json_object *render_peer(const struct status_peer *p, const struct dp_peer *live)
{
	json_object *jp = json_object_new_object(), *c;
	char k[WG_KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 10], cidr[INET6_ADDRSTRLEN + 5], a[INET6_ADDRSTRLEN];
	size_t j;

	if (!jp)
		return NULL;
	installer_key_str(k, p->key);
	json_object_object_add(jp, "public_key", json_object_new_string(k));
	installer_endpoint_str(ep, sizeof(ep), &p->endpoint);
	json_object_object_add(jp, "endpoint", p->endpoint.addr.sa_family ? json_object_new_string(ep) : NULL);
	c = json_object_new_array();
	for (j = 0; j < p->n_allowed_ips; ++j) {
		const struct dp_allowedip *ai = &p->allowed_ips[j];
		inet_ntop(ai->family, ai->family == AF_INET ? (const void *)&ai->ip4 : (const void *)&ai->ip6,
			  a, sizeof(a));
		snprintf(cidr, sizeof(cidr), "%s/%u", a, ai->cidr);
		json_object_array_add(c, json_object_new_string(cidr));
	}
	json_object_object_add(jp, "allowed_ips", c);
	json_object_object_add(jp, "latest_handshake",
			       json_object_new_int64(live ? live->last_handshake_sec : p->last_handshake));
	json_object_object_add(jp, "rx_bytes", json_object_new_int64((int64_t)(live ? live->rx_bytes : p->rx_bytes)));
	json_object_object_add(jp, "tx_bytes", json_object_new_int64((int64_t)(live ? live->tx_bytes : p->tx_bytes)));
	json_object_object_add(jp, "persistent_keepalive", json_object_new_int(p->keepalive));
	json_object_object_add(jp, "installed_at", json_object_new_int64(p->installed_at));
	json_object_object_add(jp, "adopted", json_object_new_boolean(p->adopted));
	return jp;
}

/* The peers' array; with l, the figures of the peers its dump lists are the dump's. */
static json_object *render_peers(const struct status_peers *s, const struct status_live *l)
{
	json_object *arr = json_object_new_array_ext((int)(s->n < INT_MAX ? s->n : INT_MAX)), *jp;
	size_t i;

	for (i = 0; arr && i < s->n; ++i) {
		jp = render_peer(&s->peer[i], l ? status_live_find(l, s->peer[i].key) : NULL);
		if (!jp || json_object_array_add(arr, jp)) {
			json_object_put(jp);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static void add_counter(json_object *c, const char *name, uint64_t v)
{
	json_object_object_add(c, name, json_object_new_int64((int64_t)v));
}

static json_object *counters(const struct metrics *m)
{
	json_object *c = json_object_new_object();
	uint64_t bad = 0;
	size_t i;

	add_counter(c, "captured", metrics_get(&m->captured));
	add_counter(c, "admit_dropped", metrics_get(&m->admit_dropped));
	add_counter(c, "handshakes_ok", metrics_get(&m->handshakes[NOISE_OK]));
	for (i = 1; i <= NOISE_BAD_TIMESTAMP; ++i)
		bad += metrics_get(&m->handshakes[i]);
	add_counter(c, "handshakes_bad", bad);
	add_counter(c, "replay_rejected", metrics_get(&m->replay_rejected));
	add_counter(c, "cache_hit", metrics_get(&m->cache[METRICS_CACHE_HIT]));
	add_counter(c, "cache_miss", metrics_get(&m->cache[METRICS_CACHE_MISS]));
	add_counter(c, "cache_negative", metrics_get(&m->cache[METRICS_CACHE_NEGATIVE]));
	add_counter(c, "cache_stale", metrics_get(&m->cache[METRICS_CACHE_STALE]));
	add_counter(c, "registry_ok", metrics_get(&m->registry_requests[METRICS_REG_OK]));
	add_counter(c, "registry_not_found", metrics_get(&m->registry_requests[METRICS_REG_NOT_FOUND]));
	add_counter(c, "registry_errors", metrics_get(&m->registry_requests[METRICS_REG_HTTP_ERROR]) +
					  metrics_get(&m->registry_requests[METRICS_REG_TRANSPORT]));
	add_counter(c, "installs", metrics_get(&m->installs));
	add_counter(c, "install_errors", metrics_get(&m->install_errors));
	add_counter(c, "evictions", metrics_get(&m->evictions));
	json_object_object_add(c, "peers_stale", json_object_new_int64(
		atomic_load_explicit((atomic_int_fast64_t *)&m->peers_stale, memory_order_relaxed)));
	return c;
}

int status_board_get(struct status_board *b, char **json)
{
	char k[WG_KEY_B64_LEN + 1];
	struct status_peers *peers = NULL;
	json_object *root = NULL, *arr = NULL;
	struct status_live *l;
	int64_t live_at = 0;
	const char *s;
	int ret;

	*json = NULL;
	pthread_mutex_lock(&b->mu);
	if (!gcra_take(&b->rate, clock_mono_ns())) {
		pthread_mutex_unlock(&b->mu);
		metrics_inc(&b->m->status_limited);
		return -EAGAIN;
	}
	if (!b->has_info || !b->peers) {
		pthread_mutex_unlock(&b->mu);
		return -ENODATA;
	}
	peers = b->peers;
	atomic_fetch_add(&peers->refs, 1);
	root = json_object_new_object();
	if (root) {
		key_to_base64(k, b->info.public_key);
		json_object_object_add(root, "interface", json_object_new_string(b->info.ifname));
		json_object_object_add(root, "backend", json_object_new_string(b->info.backend));
		json_object_object_add(root, "public_key", json_object_new_string(k));
		json_object_object_add(root, "listen_port", json_object_new_int(b->info.listen_port));
		json_object_object_add(root, "idle_timeout", json_object_new_int64(b->idle_timeout));
		json_object_object_add(root, "initiate", json_object_new_boolean(b->initiate));
	}
	l = b->live; /* set once at start-up, freed only with the board */
	pthread_mutex_unlock(&b->mu);
	ret = -ENOMEM;
	if (!root)
		goto out;
	if (l)
		live_at = status_live_begin(l);
	arr = render_peers(peers, live_at ? l : NULL);
	if (l)
		status_live_end(l);
	if (!arr)
		goto out;
	/* when the handshake and transfer figures were read: now-ish, or the last sweep */
	json_object_object_add(root, "figures_at", live_at ? json_object_new_int64(live_at) : NULL);
	json_object_object_add(root, "now", json_object_new_int64(time(NULL)));
	json_object_object_add(root, "counters", counters(b->m));
	json_object_object_add(root, "peers", arr);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || !(*json = strdup(s)))
		goto out;
	ret = 0;
out:
	json_object_put(root);
	status_peers_put(peers);
	return ret;
}

/* ---- the builder, on the install stage's thread ------------------------------ */

struct copy_ctx {
	struct status_peer *peer;
	struct dp_allowedip *ips;
	size_t n, n_ips;
	size_t cap, cap_ips;     /* what status_peers_new() made room for */
};

static bool count_ips(struct peer_state *p, void *arg)
{
	*(size_t *)arg += p->n_allowed_ips;
	return true;
}

static bool copy_peer(struct peer_state *p, void *arg)
{
	struct copy_ctx *c = arg;
	struct status_peer *o;

	if (c->n == c->cap || p->n_allowed_ips > c->cap_ips - c->n_ips)
		return false; /* cannot happen: counted just before, on this thread */
	o = &c->peer[c->n++];

	memcpy(o->key, p->key, WG_KEY_LEN);
	o->endpoint = p->endpoint;
	o->installed_at = p->installed_at;
	o->last_handshake = p->last_handshake;
	o->rx_bytes = p->rx_bytes;
	o->tx_bytes = p->tx_bytes;
	o->keepalive = p->keepalive;
	o->adopted = p->adopted;
	o->allowed_ips = &c->ips[c->n_ips];
	o->n_allowed_ips = p->n_allowed_ips;
	memcpy(&c->ips[c->n_ips], p->allowed_ips, p->n_allowed_ips * sizeof(*p->allowed_ips));
	c->n_ips += p->n_allowed_ips;
	return true;
}

/*
 * When the status copy may be refreshed next (internal.h, STATUS_*): its
 * pause after the last one, but while installs keep coming (one landed in
 * the last INSTALLS_QUIET_MS) not before they pause or STATUS_BUSY_EVERY_MS
 * has passed: a copy holds up the installs queued behind it.
 */
static uint64_t status_due(const struct installer *ins, uint64_t now)
{
	uint64_t due = ins->status_at_ms + ins->status_every_ms;
	uint64_t busy = ins->status_at_ms + STATUS_BUSY_EVERY_MS, pause = ins->installed_at_ms + INSTALLS_QUIET_MS;

	if (now - ins->installed_at_ms >= INSTALLS_QUIET_MS)
		return due;
	if (busy > pause)
		busy = pause;
	return due > busy ? due : busy;
}

uint64_t installer_status_run(struct installer *ins, uint64_t now)
{
	if (ins->status_dirty && now >= status_due(ins, now)) {
		uint64_t t0 = clock_mono_ns();

		installer_status_publish(ins);
		ins->status_every_ms = installer_status_interval_ms(clock_mono_ns() - t0);
		ins->status_dirty = false;
		ins->status_at_ms = now;
	}
	return ins->status_dirty ? status_due(ins, now) : UINT64_MAX;
}

uint64_t installer_status_interval_ms(uint64_t build_ns)
{
	uint64_t ms = build_ns / 1000000 * STATUS_COST_SHARE;

	return ms > STATUS_EVERY_MS ? ms : STATUS_EVERY_MS;
}

void installer_status_publish(struct installer *ins)
{
	struct status_peers *s;
	struct copy_ctx c = { 0 };
	size_t n_ips = 0;

	if (!ins->cfg.status)
		return;
	peertab_each(ins->tab, count_ips, &n_ips);
	c.cap = peertab_count(ins->tab);
	c.cap_ips = n_ips;
	s = status_peers_new(c.cap, n_ips, &c.peer, &c.ips);
	if (!s)
		return;
	peertab_each(ins->tab, copy_peer, &c);
	s->n = c.n;
	status_board_publish(ins->cfg.status, s);
}

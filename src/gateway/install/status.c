// SPDX-License-Identifier: MIT
/*
 * The status document: the board readers ask (any thread) and the builder
 * the install stage runs on its own thread after its peer table changed.
 * See status.h.
 */
#include "gateway/install/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
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
	char *peers;                 /* last published JSON array */
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
	free(b->peers);
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

void status_board_publish(struct status_board *b, char *peers_json)
{
	char *old;

	pthread_mutex_lock(&b->mu);
	old = b->peers;
	b->peers = peers_json;
	pthread_mutex_unlock(&b->mu);
	free(old);
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
	char k[WG_KEY_B64_LEN + 1], *peers = NULL, *live = NULL;
	json_object *root = NULL;
	struct status_live *l;
	int64_t live_at = 0;
	const char *head;
	size_t hl;
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
	peers = strdup(b->peers);
	root = json_object_new_object();
	if (peers && root) {
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
	if (!peers || !root)
		goto out;
	if (l && (live = status_live_patch(l, peers, &live_at))) {
		free(peers);
		peers = live;
	}
	/* when the handshake and transfer figures were read: now-ish, or the last sweep */
	json_object_object_add(root, "figures_at", live_at ? json_object_new_int64(live_at) : NULL);
	json_object_object_add(root, "now", json_object_new_int64(time(NULL)));
	json_object_object_add(root, "counters", counters(b->m));
	/* Splice the published array in as "peers": it is already JSON. */
	head = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	hl = strlen(head);
	if (hl < 2 || head[hl - 1] != '}')
		goto out;
	if (asprintf(json, "%.*s,\"peers\":%s}", (int)(hl - 1), head, peers) < 0) {
		*json = NULL;
		goto out;
	}
	ret = 0;
out:
	json_object_put(root);
	free(peers);
	return ret;
}

/* ---- the builder, on the install stage's thread ------------------------------ */

static bool add_peer(struct peer_state *p, void *arg)
{
	json_object *arr = arg, *jp = json_object_new_object(), *c;
	char k[WG_KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 10], cidr[INET6_ADDRSTRLEN + 5], a[INET6_ADDRSTRLEN];
	size_t j;

	if (!jp)
		return false;
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
	json_object_object_add(jp, "latest_handshake", json_object_new_int64(p->last_handshake));
	json_object_object_add(jp, "rx_bytes", json_object_new_int64((int64_t)p->rx_bytes));
	json_object_object_add(jp, "tx_bytes", json_object_new_int64((int64_t)p->tx_bytes));
	json_object_object_add(jp, "persistent_keepalive", json_object_new_int(p->keepalive));
	json_object_object_add(jp, "installed_at", json_object_new_int64(p->installed_at));
	json_object_object_add(jp, "adopted", json_object_new_boolean(p->adopted));
	json_object_array_add(arr, jp);
	return true;
}

uint64_t installer_status_interval_ms(uint64_t build_ns)
{
	uint64_t ms = build_ns / 1000000 * STATUS_COST_SHARE;

	return ms > STATUS_EVERY_MS ? ms : STATUS_EVERY_MS;
}

void installer_status_publish(struct installer *ins)
{
	json_object *arr;
	char *s = NULL;

	if (!ins->cfg.status)
		return;
	arr = json_object_new_array();
	if (!arr)
		return;
	peertab_each(ins->tab, add_peer, arr);
	s = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	if (s)
		status_board_publish(ins->cfg.status, s);
}

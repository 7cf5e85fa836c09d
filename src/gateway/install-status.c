// SPDX-License-Identifier: MIT
/*
 * The status document (`jitwg status`, GET /status): built on the installer
 * thread, the data plane's owner, from a fresh device read and peer list
 * merged with the installer's own table; handed to the asking thread
 * through a small rendezvous that survives the asker giving up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "gateway/install-internal.h"

static json_object *jkey(const uint8_t key[WG_KEY_LEN])
{
	char k[WG_KEY_B64_LEN + 1];

	installer_key_str(k, key);
	return json_object_new_string(k);
}

static int build_status(struct installer *ins, char **out)
{
	struct dp_device dev;
	struct dp_peer *peers = NULL;
	size_t n = 0, i, j;
	json_object *root = NULL, *jp, *arr, *c;
	char ep[INET6_ADDRSTRLEN + 10], cidr[INET6_ADDRSTRLEN + 5], a[INET6_ADDRSTRLEN];
	uint8_t pub[WG_KEY_LEN];
	uint16_t port;
	int ret;

	memset(&dev, 0, sizeof(dev));
	ret = dataplane_get_device(ins->dp, &dev);
	/* The private key has no business here. */
	memcpy(pub, dev.public_key, WG_KEY_LEN);
	port = dev.listen_port;
	dataplane_device_wipe(&dev);
	if (ret)
		goto out;
	ret = dataplane_list_peers(ins->dp, &peers, &n);
	if (ret)
		goto out;
	ret = -ENOMEM;
	root = json_object_new_object();
	if (!root)
		goto out;
	json_object_object_add(root, "interface", json_object_new_string(ins->ifname));
	json_object_object_add(root, "backend", json_object_new_string(dataplane_backend_name(ins->dp)));
	json_object_object_add(root, "public_key", jkey(pub));
	json_object_object_add(root, "listen_port", json_object_new_int(port));
	pthread_mutex_lock(&ins->mu);
	json_object_object_add(root, "idle_timeout", json_object_new_int64(ins->cfg.idle_timeout));
	json_object_object_add(root, "initiate", json_object_new_boolean(!ins->cfg.no_initiate));
	pthread_mutex_unlock(&ins->mu);
	json_object_object_add(root, "now", json_object_new_int64(time(NULL)));
	arr = json_object_new_array();
	json_object_object_add(root, "peers", arr);
	for (i = 0; i < n; ++i) {
		struct peer_state *p = peertab_find(ins->tab, peers[i].public_key);

		jp = json_object_new_object();
		json_object_object_add(jp, "public_key", jkey(peers[i].public_key));
		installer_endpoint_str(ep, sizeof(ep), &peers[i].endpoint);
		json_object_object_add(jp, "endpoint", peers[i].endpoint.addr.sa_family ?
				       json_object_new_string(ep) : NULL);
		c = json_object_new_array();
		for (j = 0; j < peers[i].n_allowed_ips; ++j) {
			const struct dp_allowedip *ai = &peers[i].allowed_ips[j];
			inet_ntop(ai->family, ai->family == AF_INET ? (const void *)&ai->ip4 : (const void *)&ai->ip6,
				  a, sizeof(a));
			snprintf(cidr, sizeof(cidr), "%s/%u", a, ai->cidr);
			json_object_array_add(c, json_object_new_string(cidr));
		}
		json_object_object_add(jp, "allowed_ips", c);
		json_object_object_add(jp, "latest_handshake", json_object_new_int64(peers[i].last_handshake_sec));
		json_object_object_add(jp, "rx_bytes", json_object_new_int64((int64_t)peers[i].rx_bytes));
		json_object_object_add(jp, "tx_bytes", json_object_new_int64((int64_t)peers[i].tx_bytes));
		json_object_object_add(jp, "persistent_keepalive", json_object_new_int(peers[i].persistent_keepalive));
		json_object_object_add(jp, "installed_at", p ? json_object_new_int64(p->installed_at) : NULL);
		json_object_object_add(jp, "adopted", json_object_new_boolean(p ? p->adopted : true));
		json_object_array_add(arr, jp);
	}
	c = json_object_new_object();
	json_object_object_add(c, "captured", json_object_new_int64((int64_t)metrics_get(&ins->m->captured)));
	json_object_object_add(c, "admit_dropped", json_object_new_int64((int64_t)metrics_get(&ins->m->admit_dropped)));
	json_object_object_add(c, "handshakes_ok", json_object_new_int64((int64_t)metrics_get(&ins->m->handshakes[NOISE_OK])));
	{
		uint64_t bad = 0;
		for (i = 1; i <= NOISE_BAD_TIMESTAMP; ++i)
			bad += metrics_get(&ins->m->handshakes[i]);
		json_object_object_add(c, "handshakes_bad", json_object_new_int64((int64_t)bad));
	}
	json_object_object_add(c, "replay_rejected", json_object_new_int64((int64_t)metrics_get(&ins->m->replay_rejected)));
	json_object_object_add(c, "cache_hit", json_object_new_int64((int64_t)metrics_get(&ins->m->cache[METRICS_CACHE_HIT])));
	json_object_object_add(c, "cache_miss", json_object_new_int64((int64_t)metrics_get(&ins->m->cache[METRICS_CACHE_MISS])));
	json_object_object_add(c, "cache_negative", json_object_new_int64((int64_t)metrics_get(&ins->m->cache[METRICS_CACHE_NEGATIVE])));
	json_object_object_add(c, "cache_stale", json_object_new_int64((int64_t)metrics_get(&ins->m->cache[METRICS_CACHE_STALE])));
	json_object_object_add(c, "registry_ok", json_object_new_int64((int64_t)metrics_get(&ins->m->registry_requests[METRICS_REG_OK])));
	json_object_object_add(c, "registry_not_found", json_object_new_int64((int64_t)metrics_get(&ins->m->registry_requests[METRICS_REG_NOT_FOUND])));
	json_object_object_add(c, "registry_errors",
			       json_object_new_int64((int64_t)(metrics_get(&ins->m->registry_requests[METRICS_REG_HTTP_ERROR]) +
							       metrics_get(&ins->m->registry_requests[METRICS_REG_TRANSPORT]))));
	json_object_object_add(c, "installs", json_object_new_int64((int64_t)metrics_get(&ins->m->installs)));
	json_object_object_add(c, "install_errors", json_object_new_int64((int64_t)metrics_get(&ins->m->install_errors)));
	json_object_object_add(c, "evictions", json_object_new_int64((int64_t)metrics_get(&ins->m->evictions)));
	json_object_object_add(c, "peers_stale", json_object_new_int64(
		atomic_load_explicit(&ins->m->peers_stale, memory_order_relaxed)));
	json_object_object_add(root, "counters", c);

	*out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	ret = *out ? 0 : -ENOMEM;
out:
	json_object_put(root);
	dataplane_peers_free(peers, n);
	return ret;
}

void installer_status_finish(struct status_req *r, int ret, char *json)
{
	bool abandoned;

	pthread_mutex_lock(&r->mu);
	r->ret = ret;
	r->json = json;
	r->done = true;
	abandoned = r->abandoned;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* The asker gave up waiting: the request is ours to free. */
	if (abandoned) {
		free(r->json);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
	}
}

int installer_status(struct installer *ins, char **json, unsigned int timeout_ms)
{
	struct status_req *r = calloc(1, sizeof(*r));
	struct job *j = calloc(1, sizeof(*j));
	struct timespec dl;
	int ret = 0;
	bool done;

	if (!r || !j) {
		free(r);
		free(j);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	j->type = JOB_STATUS;
	j->req = r;
	ret = installer_enqueue(ins, j, true);
	if (ret) {
		free(j);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->mu);
	while (!r->done && pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT)
		;
	done = r->done;
	if (!done)
		r->abandoned = true;
	pthread_mutex_unlock(&r->mu);
	if (!done)
		return -ETIMEDOUT;
	ret = r->ret;
	*json = r->json;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
	return ret;
}

void installer_status_serve(struct installer *ins, struct status_req *r)
{
	char *json = NULL;
	int ret = build_status(ins, &json);

	installer_status_finish(r, ret, json);
}

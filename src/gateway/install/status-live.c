// SPDX-License-Identifier: MIT
#include "gateway/install/status-live.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "common/clock.h"

struct status_live {
	pthread_mutex_t mu;
	struct dataplane *dp;
	struct dp_peer *peers;   /* the last dump, sorted by key */
	size_t n;
	uint64_t dumped_mono_ms; /* 0: never */
	int64_t dumped_unix;
};

struct status_live *status_live_new(struct dataplane *dp)
{
	struct status_live *l;

	if (!dp)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		dataplane_free(dp);
		return NULL;
	}
	l->dp = dp;
	pthread_mutex_init(&l->mu, NULL);
	return l;
}

void status_live_free(struct status_live *l)
{
	if (!l)
		return;
	dataplane_peers_free(l->peers, l->n);
	dataplane_free(l->dp);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct dp_peer *)a)->public_key, ((const struct dp_peer *)b)->public_key, WG_KEY_LEN);
}

/* A dump unless the last one is younger than STATUS_LIVE_EVERY_MS. Under l->mu. */
static int refresh(struct status_live *l)
{
	uint64_t now = clock_mono_ms();
	struct dp_peer *peers = NULL;
	size_t n = 0;
	int ret;

	if (l->dumped_mono_ms && now - l->dumped_mono_ms < STATUS_LIVE_EVERY_MS)
		return 0;
	ret = dataplane_list_peers(l->dp, &peers, &n);
	if (ret)
		return ret;
	qsort(peers, n, sizeof(*peers), by_key);
	dataplane_peers_free(l->peers, l->n);
	l->peers = peers;
	l->n = n;
	l->dumped_mono_ms = now ? now : 1;
	l->dumped_unix = time(NULL);
	return 0;
}

static void patch_one(const struct status_live *l, json_object *jp)
{
	struct dp_peer want, *p;
	json_object *k;

	if (!json_object_object_get_ex(jp, "public_key", &k) ||
	    key_from_base64(want.public_key, json_object_get_string(k)))
		return;
	p = bsearch(&want, l->peers, l->n, sizeof(*l->peers), by_key);
	if (!p)
		return;
	json_object_object_add(jp, "latest_handshake", json_object_new_int64(p->last_handshake_sec));
	json_object_object_add(jp, "rx_bytes", json_object_new_int64((int64_t)p->rx_bytes));
	json_object_object_add(jp, "tx_bytes", json_object_new_int64((int64_t)p->tx_bytes));
}

char *status_live_patch(struct status_live *l, const char *peers_json, int64_t *dumped_at)
{
	json_object *arr = NULL;
	char *out = NULL;
	size_t i;

	pthread_mutex_lock(&l->mu);
	if (refresh(l))
		goto out;
	arr = json_tokener_parse(peers_json);
	if (!arr || !json_object_is_type(arr, json_type_array))
		goto out;
	for (i = 0; i < json_object_array_length(arr); ++i)
		patch_one(l, json_object_array_get_idx(arr, i));
	out = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	*dumped_at = l->dumped_unix;
out:
	pthread_mutex_unlock(&l->mu);
	json_object_put(arr);
	return out;
}

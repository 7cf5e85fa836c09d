// SPDX-License-Identifier: MIT
#include "gateway/install/status-live.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int64_t status_live_begin(struct status_live *l)
{
	pthread_mutex_lock(&l->mu);
	return refresh(l) ? 0 : l->dumped_unix;
}

const struct dp_peer *status_live_find(const struct status_live *l, const uint8_t key[WG_KEY_LEN])
{
	struct dp_peer want;

	memcpy(want.public_key, key, WG_KEY_LEN);
	return bsearch(&want, l->peers, l->n, sizeof(*l->peers), by_key);
}

void status_live_end(struct status_live *l)
{
	pthread_mutex_unlock(&l->mu);
}

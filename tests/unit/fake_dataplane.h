/* SPDX-License-Identifier: MIT */
#ifndef JITWG_TESTS_FAKE_DATAPLANE_H
#define JITWG_TESTS_FAKE_DATAPLANE_H

/*
 * A fake data plane behind the seam's ops table (dataplane_new_with_ops()):
 * an in-memory peer list plus a log of every set call, for unit tests of
 * the install stage that run as a plain user. Thread-safe: the install
 * stage's thread calls it while the test reads.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane/dataplane.h"

enum { FAKE_PEERS = 128, FAKE_SETS = 256 };

struct fake_dp {
	pthread_mutex_t mu;
	struct dp_peer peers[FAKE_PEERS];   /* allowed_ips not kept */
	size_t n;
	struct dp_peer sets[FAKE_SETS];     /* every entry of every set call, in order */
	size_t n_sets;
	unsigned int set_calls, list_calls, remove_calls;
	int fail_set;                       /* -errno for the next set calls, 0 = none */
};

static struct dp_peer *fake_find(struct fake_dp *f, const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < f->n; ++i)
		if (!memcmp(f->peers[i].public_key, key, WG_KEY_LEN))
			return &f->peers[i];
	return NULL;
}

static int fake_list(void *state, struct dp_peer **peers, size_t *n)
{
	struct fake_dp *f = state;

	pthread_mutex_lock(&f->mu);
	f->list_calls++;
	*peers = calloc(f->n ? f->n : 1, sizeof(**peers));
	if (!*peers) {
		pthread_mutex_unlock(&f->mu);
		return -ENOMEM;
	}
	memcpy(*peers, f->peers, f->n * sizeof(**peers));
	for (size_t i = 0; i < f->n; ++i) {
		(*peers)[i].allowed_ips = NULL;
		(*peers)[i].n_allowed_ips = 0;
	}
	*n = f->n;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int fake_set(void *state, const struct dp_peer *peers, size_t n)
{
	struct fake_dp *f = state;
	int ret = 0;

	pthread_mutex_lock(&f->mu);
	f->set_calls++;
	if (f->fail_set) {
		ret = f->fail_set;
		goto out;
	}
	for (size_t i = 0; i < n; ++i) {
		const struct dp_peer *p = &peers[i];
		struct dp_peer *q = fake_find(f, p->public_key);

		if (f->n_sets < FAKE_SETS) {
			f->sets[f->n_sets] = *p;
			f->sets[f->n_sets].allowed_ips = NULL;
			f->n_sets++;
		}
		if (!q) {
			if (p->flags & (DP_PEER_UPDATE_ONLY | DP_PEER_UPDATE_QUIET))
				continue;
			if (f->n == FAKE_PEERS) {
				ret = -ENOSPC;
				goto out;
			}
			q = &f->peers[f->n++];
			memset(q, 0, sizeof(*q));
			memcpy(q->public_key, p->public_key, WG_KEY_LEN);
		}
		if (p->flags & DP_PEER_HAS_ENDPOINT)
			q->endpoint = p->endpoint;
		if (p->flags & DP_PEER_HAS_KEEPALIVE)
			q->persistent_keepalive = p->persistent_keepalive;
	}
out:
	pthread_mutex_unlock(&f->mu);
	return ret;
}

static int fake_remove(void *state, const uint8_t (*keys)[WG_KEY_LEN], size_t n)
{
	struct fake_dp *f = state;

	pthread_mutex_lock(&f->mu);
	f->remove_calls++;
	for (size_t i = 0; i < n; ++i) {
		struct dp_peer *q = fake_find(f, keys[i]);
		if (q)
			*q = f->peers[--f->n];
	}
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static const struct dataplane_ops fake_ops = {
	.name = "fake",
	.list_peers = fake_list,
	.set_peers = fake_set,
	.remove_peers = fake_remove,
};

static struct dataplane *fake_dp_open(struct fake_dp *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	return dataplane_new_with_ops(&fake_ops, f);
}

/* Adds a peer as if someone had installed it (for adoption and eviction). */
static void fake_dp_add(struct fake_dp *f, const uint8_t key[WG_KEY_LEN], int64_t last_handshake)
{
	pthread_mutex_lock(&f->mu);
	memset(&f->peers[f->n], 0, sizeof(f->peers[0]));
	memcpy(f->peers[f->n].public_key, key, WG_KEY_LEN);
	f->peers[f->n].last_handshake_sec = last_handshake;
	f->n++;
	pthread_mutex_unlock(&f->mu);
}

static size_t fake_dp_count(struct fake_dp *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n;
	pthread_mutex_unlock(&f->mu);
	return n;
}

#endif

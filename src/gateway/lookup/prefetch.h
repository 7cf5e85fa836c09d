/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_PREFETCH_H
#define JITWG_GATEWAY_LOOKUP_PREFETCH_H

/*
 * The feed follower: jitwgd's thread on the registry's change feed
 * (GET /v1/peers?since=CURSOR&wait=S[&gateway=NAME], docs/API.md). It runs
 * by default; it is how a deletion, an expiry or an update made in the
 * registry reaches this gateway within one round trip.
 *
 * Long poll: the registry holds the request until a change commits or S
 * seconds pass, so the follower is always one request behind the registry
 * and asks again as soon as an answer comes. A registry that refuses wait=
 * (400 naming the field) is polled every interval_ms instead; one that
 * ignores it is paced the same way. Failures back off from 250 ms to 5 s.
 *
 * What it does with a page (in one cache transaction with the cursor):
 *  - delete: the key's cache row becomes negative (the record is gone, so
 *    it is never installed from the cache again) and NOTICE_GONE goes to
 *    the install stage (revoke), which removes the peer if installed;
 *  - put for a key the cache holds a record for (the keys this gateway has
 *    installed or served): the row is replaced and the record goes to the
 *    install stage (update), which applies what changed to an installed
 *    peer;
 *  - put for any other key: stored only with store_all (--prefetch), so a
 *    client's first handshake finds its record in the cache and is
 *    installed without waiting for the registry, also while it is down.
 * It fills the cache and changes installed peers, never installs: only an
 * arriving handshake installs a peer (lookup.c, install.c), so the data
 * plane still holds only active peers. Handing off waits while the install
 * queue is full: the feed is never dropped.
 *
 * With store_all, once caught up (an answer with "more": false) every
 * positive row is as current as that answer, so rows older than half the
 * cache TTL are re-stamped in small batches: lookup.c then treats them as
 * fresh without a change to its freshness rule. The cursor is stored in the
 * cache per registry URL and gateway; a walk from 0 (first start, or the
 * registry's 410 for a cursor older than its tombstones) ends by dropping
 * the positive rows it did not confirm.
 *
 * Threads: one thread of its own, with its own cache connection
 * (cache_open_companion) and a blocking libcurl handle. prefetch_new and
 * prefetch_free are called from the main thread; revoke and update are
 * called on the follower's thread.
 */

#include <stdint.h>
#include "gateway/core/metrics.h"
#include "gateway/core/notice.h"
#include "wire/record.h"

struct prefetch_config {
	const char *cache_path;      /* the daemon's cache file (not ":memory:") */
	const char *registry_url;    /* base URL */
	const char *token;           /* bearer token or NULL */
	const char *gateway;         /* ?gateway=NAME, or NULL for every peer */
	bool store_all;              /* prefetch: keep every put, not only cached keys' */
	unsigned int wait_s;         /* long-poll wait asked of the registry, 0-60 (0 = plain polls) */
	unsigned int interval_ms;    /* least time between two requests once caught up (1000) */
	unsigned int positive_ttl;   /* seconds, as given to the lookup (300) */
	unsigned int timeout_ms;     /* per request (10000) */
	unsigned int page;           /* changes per request, 1-1000 (1000) */
	struct metrics *metrics;     /* prefetch_* counters; may be NULL */
	/* Where deletes go (NOTICE_GONE; install.h installer_notify); send NULL = nowhere. */
	struct notice_inbox revoke;
	/* Where puts of cached keys go (install.h installer_update): 0, -EAGAIN/-ENOMEM (retried). NULL = nowhere. */
	int (*update)(void *ctx, const struct peer_record *rec);
	void *update_ctx;
};

struct prefetch;

/*
 * Opens the companion cache connection and starts the thread. Call after
 * lookup_new (whose registry client has initialised libcurl, and whose cache
 * connection holds the file's lock). Returns NULL
 * with errno set and *errmsg (when not NULL) a static reason.
 */
struct prefetch *prefetch_new(const struct prefetch_config *cfg, const char **errmsg);
/* Stops the thread (a request in flight ends within timeout_ms) and frees. NULL is a no-op. */
void prefetch_free(struct prefetch *p);

#endif

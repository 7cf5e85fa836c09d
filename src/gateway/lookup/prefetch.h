/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_PREFETCH_H
#define JITWG_GATEWAY_LOOKUP_PREFETCH_H

/*
 * Prefetch: keeps jitwgd's SQLite cache warm from the registry's change feed
 * (GET /v1/peers?gateway=NAME&since=CURSOR, docs/API.md), so a client's
 * first handshake finds its record in the cache and is installed without
 * waiting for the registry, also while the registry is down.
 *
 * It fills the cache, never the data plane: only an arriving handshake
 * installs a peer (lookup.c, install.c), so the data plane still holds only
 * active peers. A put stores the record as fetched now; a delete stores a
 * negative entry (the key's next handshake costs no registry request within
 * negative_ttl). Once caught up with the feed (an answer with "more": false),
 * every positive row is as current as that answer, so rows older than half
 * the cache TTL are re-stamped in small batches: lookup.c then treats them as
 * fresh without a change to its freshness rule. The cursor is stored in the
 * cache per registry URL and gateway; a walk from 0 (first start, or the
 * registry's 410 for a cursor older than its tombstones) ends by dropping the
 * positive rows it did not confirm.
 *
 * Threads: one thread of its own, with its own cache connection
 * (cache_open_companion) and a blocking libcurl handle. prefetch_new and
 * prefetch_free are called from the main thread.
 */

#include <stdint.h>
#include "gateway/core/metrics.h"

struct prefetch_config {
	const char *cache_path;      /* the daemon's cache file (not ":memory:") */
	const char *registry_url;    /* base URL */
	const char *token;           /* bearer token or NULL */
	const char *gateway;         /* ?gateway=NAME, or NULL for every peer */
	unsigned int interval_ms;    /* pause between polls once caught up (1000) */
	unsigned int positive_ttl;   /* seconds, as given to the lookup (300) */
	unsigned int timeout_ms;     /* per request (10000) */
	unsigned int page;           /* changes per request, 1-1000 (1000) */
	struct metrics *metrics;     /* prefetch_* counters; may be NULL */
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

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_LOOKUP_H
#define JITWG_GATEWAY_LOOKUP_LOOKUP_H

/*
 * The stages after identification: replay guard -> cache -> registry fetch.
 * Behind this header sit replay.c (TAI64N high-water marks), cache.c (the
 * embedded SQLite cache, WAL) and regclient.c (asynchronous libcurl). The
 * daemon core hands in authenticated initiations and gets called back with
 * records to install; it never waits on SQLite writes or the registry.
 *
 * Queue: 4096 items (a struct stage), full -> drop newest: lookup_submit()
 * says -EAGAIN and identify counts jitwg_lookup_queue_dropped_total.
 * Revalidation notices use only the lower half.
 *
 * Threads: lookup_submit(), lookup_notify(), lookup_revalidate() and
 * lookup_flush() are thread-safe. The callbacks run on the lookup's own thread, one at a time,
 * and must not call lookup_flush() or lookup_free().
 *
 * Metrics: the lookup counts cache[], registry_requests[] and the deferred
 * replay rejections (see lookup_submit) in replay_rejected; the caller
 * counts the synchronous -EALREADY ones. Each processed initiation counts
 * exactly one of cache hit / negative / miss; "stale" additionally counts
 * each install of a record past its TTL because the registry failed (a
 * subset of misses). Misses the registry budget turned away are counted
 * in lookup_budget_dropped as well (see lookup_config.budget).
 *
 * Files: one daemon per cache file (it is flock()ed); see cache.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>
#include "gateway/ingest/ingest.h"
#include "gateway/core/metrics.h"
#include "gateway/core/notice.h"
#include "wire/record.h"
#include "wire/keys.h"

struct lookup_event;

struct lookup_config {
	const char *cache_path;        /* SQLite file; ":memory:" for tests */
	const char *registry_url;      /* base URL, e.g. http://127.0.0.1:8080 */
	const char *token;             /* bearer token or NULL */
	const char *gateway;           /* ?gateway=NAME or NULL */
	unsigned int positive_ttl;     /* seconds a fetched record is fresh (300) */
	unsigned int negative_ttl;     /* seconds an unknown key stays unknown (60) */
	unsigned int fetch_window;     /* at most one registry request per key per window (5) */
	unsigned int stale_max;        /* oldest record still used when the registry fails (86400) */
	unsigned int timeout_ms;       /* per registry request (2000) */
	unsigned int max_inflight;     /* concurrent registry requests (16) */
	/*
	 * Registry requests per second for keys with no positive cache row (a
	 * token bucket, burst = budget). 0 = unlimited (not a default: jitwgd
	 * passes its own, 100). Past it such an initiation is dropped, counted
	 * in lookup_budget_dropped, not negative-cached; the client's retry
	 * tries again. Revalidations and keys with a (stale) positive row are
	 * never held back but do spend tokens, so they come first. A request
	 * answered with a record gives its token back: the budget is what
	 * unknown keys (and failures) cost, and registered first-time clients
	 * are held only to budget requests in flight.
	 */
	unsigned int budget;
	struct metrics *metrics;       /* counters to bump; not owned; NULL = none */
	/* Extensions; 0/NULL means the default in parentheses. */
	unsigned int queue_len;        /* submissions waiting for the lookup thread (4096) */
	size_t replay_capacity;        /* keys whose replay mark is kept in memory (65536) */
	unsigned int replay_retention; /* seconds a key's replay mark outlives its last initiation (30 days) */
	unsigned int backoff_max_ms;   /* cap of the pause after registry failures (30000) */
	int64_t (*clock_ms)(void *ctx);/* unix time in ms; NULL = CLOCK_REALTIME. For tests. */
	void *clock_ctx;
	/*
	 * Called (on the lookup thread, with the callbacks' ctx) for each replay
	 * caught on the store rather than in memory, so the endpoint guard sees
	 * it as it sees the synchronous -EALREADY ones. NULL = none.
	 */
	void (*replayed)(void *ctx, const struct lookup_event *ev);
};

/* One authenticated initiation, as the identify stage saw it. */
struct lookup_event {
	uint8_t key[WG_KEY_LEN];       /* initiator static public key */
	uint8_t tai64n[12];            /* its decrypted timestamp */
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} src;                         /* where the initiation came from */
	struct timespec first_seen;    /* CLOCK_MONOTONIC at capture */
	enum ingest_source source;     /* which ingest source it came through */
	/*
	 * Set by the lookup only: the registry was just asked afresh about the
	 * holder of this record's addresses and then about the key itself
	 * (NOTICE_CONFLICT), so the install takes the addresses over.
	 */
	bool owner_checked;
};

/*
 * A record to install now; rec and ev are valid only during the call. ev is
 * the newest initiation for the key (its source is the endpoint to use); when
 * several were coalesced behind one registry request, ev->first_seen is the
 * earliest of theirs, so install latency is measured from the first.
 */
typedef void (*lookup_install_fn)(void *ctx, const struct lookup_event *ev, const struct peer_record *rec);
/* The registry reports key deleted or expired: remove it if installed. */
typedef void (*lookup_gone_fn)(void *ctx, const uint8_t key[WG_KEY_LEN]);

struct lookup;

/*
 * Opens the cache and starts the lookup thread. Returns NULL with errno set
 * and, when errmsg is not NULL, a static human reason. Zero config fields
 * take the defaults shown above.
 */
struct lookup *lookup_new(const struct lookup_config *cfg, lookup_install_fn install,
			  lookup_gone_fn gone, void *ctx, const char **errmsg);
/*
 * Stops the thread after queued initiations are processed (the cache still
 * answers them; no new registry request starts) and in-flight requests
 * finish or time out; later submissions and notices are refused. The
 * install callbacks may fire until it returns. Idempotent; NULL is a no-op.
 */
void lookup_stop(struct lookup *l);

/* Stops if needed and frees. NULL is a no-op. */
void lookup_free(struct lookup *l);

/*
 * Queues an authenticated initiation. The replay guard runs first: a
 * timestamp not newer than the last one seen for the key (persisted across
 * eviction and restart) is -EALREADY and nothing else happens. Returns 0
 * when queued, -EALREADY, or -EAGAIN when the queue is full. Never blocks
 * on SQLite or the network (one short mutex). Of concurrent submissions
 * with the same key and timestamp exactly one gets 0.
 *
 * When the key's mark is no longer in memory (more keys than
 * replay_capacity), the comparison with the persisted mark happens on the
 * lookup thread instead: the call returns 0 and a replay is dropped there
 * (counted in replay_rejected); only cfg.replayed is called for it.
 */
int lookup_submit(struct lookup *l, const struct lookup_event *ev);

/*
 * The lookup stage's notice inbox (notice.h, notice_inbox.send; ctx is the
 * struct lookup): queues NOTICE_REVALIDATE and NOTICE_CONFLICT for each
 * key, in order, into the lower half of the queue only, and stops at the
 * first that does not fit (or has another type). Returns how many were
 * queued. Never blocks.
 */
size_t lookup_notify(void *ctx, const struct notice *n, size_t count);

/*
 * Asks the registry again about an installed key, for the eviction sweep;
 * the gone callback fires if it is deleted or expired. A cached record
 * younger than positive_ttl answers without a request (its expires_at is
 * still checked), and the per-key window applies as for submissions.
 * Returns 0 or -EAGAIN (queue half full: initiations keep the other half).
 */
int lookup_revalidate(struct lookup *l, const uint8_t key[WG_KEY_LEN]);

/*
 * Waits until everything submitted so far has been processed and no
 * registry request is outstanding (for tests and orderly reloads). Returns
 * 0 or -ETIMEDOUT after timeout_ms.
 */
int lookup_flush(struct lookup *l, int timeout_ms);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_CORE_METRICS_H
#define JITWG_GATEWAY_CORE_METRICS_H

/*
 * jitwgd's counters: one struct of relaxed atomics, bumped from any thread
 * without locks, rendered as Prometheus text by metrics.c. Every pipeline
 * stage (capture -> admit -> identify -> replay -> lookup -> install) counts
 * what it passes and what it drops.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "noise/noise.h"

enum metrics_cache_result {
	METRICS_CACHE_HIT = 0,
	METRICS_CACHE_MISS,
	METRICS_CACHE_NEGATIVE,
	METRICS_CACHE_STALE,
	METRICS_CACHE_MAX,
};

/* Label values of jitwg_registry_requests_total{status}. */
enum metrics_registry_status {
	METRICS_REG_OK = 0,      /* 200 */
	METRICS_REG_NOT_FOUND,   /* 404 */
	METRICS_REG_HTTP_ERROR,  /* any other HTTP status */
	METRICS_REG_TRANSPORT,   /* connect failure, timeout, bad body */
	METRICS_REG_MAX,
};

/* Label values of jitwg_prefetch_requests_total{status} and jitwg_prefetch_changes_total{op}. */
enum metrics_prefetch_status { METRICS_PREFETCH_OK = 0, METRICS_PREFETCH_FAILED, METRICS_PREFETCH_MAX };
enum metrics_prefetch_op { METRICS_PREFETCH_PUT = 0, METRICS_PREFETCH_DELETE, METRICS_PREFETCH_OPS };

enum { METRICS_INSTALL_BUCKETS = 12 };

/*
 * Upper bounds (seconds) of the jitwg_install_seconds buckets; install_bucket[i]
 * counts observations in (bound[i-1], bound[i]], the +Inf bucket is install_count.
 */
extern const double metrics_install_bounds[METRICS_INSTALL_BUCKETS];

struct metrics {
	/* counters */
	atomic_uint_fast64_t captured;                 /* passed the BPF filter */
	atomic_uint_fast64_t capture_malformed;
	atomic_uint_fast64_t hook_received;            /* relay hand-offs decoded (ingest/hook.c) */
	atomic_uint_fast64_t hook_malformed;
	atomic_uint_fast64_t hook_sender_refused;      /* not root, jitwgd, or the hook's user/group */
	atomic_uint_fast64_t hook_endpoint_refused;    /* endpoint outside --hook-endpoints */
	atomic_uint_fast64_t capture_kernel_drops;
	atomic_uint_fast64_t capture_cookies;          /* cookie replies the egress tap saw (capture.h) */
	atomic_uint_fast64_t admit_dropped;
	atomic_uint_fast64_t handshakes[NOISE_BAD_TIMESTAMP + 1]; /* by verdict */
	atomic_uint_fast64_t replay_rejected;
	atomic_uint_fast64_t cache[METRICS_CACHE_MAX];
	atomic_uint_fast64_t registry_requests[METRICS_REG_MAX];
	atomic_uint_fast64_t installs;
	atomic_uint_fast64_t install_errors;
	atomic_uint_fast64_t evictions;
	/* daemon-core extras */
	atomic_uint_fast64_t identify_queue_dropped;   /* admitted but the identify queue was full */
	atomic_uint_fast64_t lookup_queue_dropped;     /* lookup_submit() said -EAGAIN */
	atomic_uint_fast64_t lookup_budget_dropped;    /* never-seen key, registry budget spent (lookup.c) */
	atomic_uint_fast64_t initiations_sent;         /* role inversion: keepalive toggled */
	atomic_uint_fast64_t reinjected;               /* client's initiation handed back (install/reinject.h) */
	atomic_uint_fast64_t reinject_failed;          /* could not be sent, or expired waiting */
	atomic_uint_fast64_t reinject_held;            /* held back by pacing, sent later */
	atomic_uint_fast64_t reinject_unanswered;      /* copy not consumed (cookie): initiated (reinject-run.c) */
	atomic_uint_fast64_t reinject_resent;          /* copy with no answer sent again as it was (reinject-run.c) */
	atomic_uint_fast64_t reinject_unfollowed;      /* follow-up table full: left to the client's retry */
	atomic_uint_fast64_t reinject_answered;        /* copy answered: the capture saw the session begin */
	atomic_uint_fast64_t reinject_cookied;         /* copies sent with a cookie's mac2 (reinject-cookie.c) */
	atomic_uint_fast64_t reinject_followup_late;   /* of reinject_unanswered: initiated with no sign of refusal */
	atomic_uint_fast64_t confirm_confirmed;        /* install confirmation (install/confirm.c) */
	atomic_uint_fast64_t confirm_repaired;
	atomic_uint_fast64_t confirm_given_up;
	atomic_uint_fast64_t registry_gone;            /* peers removed because the registry dropped them */
	atomic_uint_fast64_t expired;                  /* peers removed at their expires_at (install/expiry.c) */
	atomic_uint_fast64_t address_lost;             /* peers removed: their addresses went to another key */
	atomic_uint_fast64_t feed_updates;             /* feed records applied to installed peers (install/update.c) */
	atomic_uint_fast64_t endpoint_restores;        /* endpoint put back after a replay moved it */
	atomic_uint_fast64_t admit_duplicate;          /* replayed ephemeral (ephemeral.h) */
	atomic_uint_fast64_t install_queue_dropped;    /* the install stage had no room */
	atomic_uint_fast64_t status_limited;           /* status requests refused by the rate limit */
	atomic_uint_fast64_t admit_set_writes;         /* endpoints put into / deleted from the admission set (nftset.h) */
	atomic_uint_fast64_t admit_set_errors;         /* admission-set writes that failed */
	/* prefetch (prefetch.c) */
	atomic_uint_fast64_t prefetch_requests[METRICS_PREFETCH_MAX];
	atomic_uint_fast64_t prefetch_changes[METRICS_PREFETCH_OPS];
	atomic_int_fast64_t prefetch_synced;           /* unix s of the last caught-up feed answer, 0 never */
	/* gauges */
	atomic_int_fast64_t peers_installed;
	atomic_int_fast64_t peers_stale;
	atomic_int_fast64_t admit_engaged;             /* 1 while the per-source buckets are enforced */
	atomic_int_fast64_t capture_egress;            /* 1 while the egress tap is open */
	atomic_int_fast64_t admit_set_elements;        /* endpoints in the admission set's mirror */
	atomic_int_fast64_t registry_check_ok;         /* 1 if the last start-up check passed (regcheck.h) */
	/* jitwg_install_seconds histogram, microseconds accumulated */
	atomic_uint_fast64_t install_bucket[METRICS_INSTALL_BUCKETS];
	atomic_uint_fast64_t install_count;
	atomic_uint_fast64_t install_sum_us;
};

static inline void metrics_inc(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline void metrics_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void metrics_gauge_set(atomic_int_fast64_t *g, int64_t v)
{
	atomic_store_explicit(g, v, memory_order_relaxed);
}

static inline uint64_t metrics_get(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit((atomic_uint_fast64_t *)c, memory_order_relaxed);
}

/* Records one first-initiation-to-installed latency. Thread-safe. */
void metrics_observe_install(struct metrics *m, double seconds);

/*
 * Renders Prometheus text exposition. Returns a malloc'd string the caller
 * frees, or NULL with errno set.
 */
char *metrics_render(const struct metrics *m);

#endif

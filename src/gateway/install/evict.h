/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_EVICT_H
#define JITWG_GATEWAY_INSTALL_EVICT_H

/*
 * Eviction policy and the sweep's bookkeeping. A peer goes when it is idle
 * (latest handshake older than the idle timeout, or none ever) AND it was
 * installed longer ago than the grace period, so a fresh install has time
 * to complete its first handshake. A busy session re-handshakes only every
 * two minutes, so with idle timeouts shorter than that the sweep also counts
 * received bytes: a peer whose rx counter grew since the previous sweep is
 * active now. The install stage's thread runs the sweep (evict-run.c)
 * (it owns the data plane) and removes the victims in small batches
 * between installs, so evicting thousands never holds up a new client.
 *
 * Pure functions over the peer table; not thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
#include "gateway/install/peertab.h"

struct evict_policy {
	unsigned int idle_timeout;   /* seconds */
	unsigned int grace;          /* seconds */
};

/* Sweep period: a quarter of the idle timeout, at least 1 s. In milliseconds. */
uint64_t evict_interval_ms(unsigned int idle_timeout);

/* True when the peer has been idle past the timeout (what jitwg_peers_stale counts). */
bool evict_is_stale(const struct evict_policy *pol, const struct peer_state *p, int64_t now);

/* True when the sweep should remove the peer. */
bool evict_is_due(const struct evict_policy *pol, const struct peer_state *p, int64_t now);

struct evict_plan {
	uint8_t (*victims)[WG_KEY_LEN]; /* malloc'd; evict_plan_clear() frees */
	size_t n_victims;
	size_t next;                     /* victims before this index are done */
	uint64_t planned_mono_ms;        /* a peer (re)installed after this is spared */
	size_t stale;                    /* stale peers at sweep time */
	size_t adopted;                  /* peers found in the data plane we did not install */
	size_t vanished;                 /* table entries the data plane no longer has */
};

/*
 * Merges a fresh peer list into the table (adopting unknown peers as
 * installed now, forgetting entries that vanished, refreshing handshake and
 * transfer figures) and plans the removals. gen must differ between calls.
 * Returns 0 or -ENOMEM (table unchanged for the peers not yet merged).
 */
int evict_sweep(struct peertab *t, const struct evict_policy *pol, const struct dp_peer *peers,
		size_t n, int64_t now, uint64_t now_mono_ms, uint32_t gen, struct evict_plan *plan);

void evict_plan_clear(struct evict_plan *plan);

#endif

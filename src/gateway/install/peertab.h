/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_PEERTAB_H
#define JITWG_GATEWAY_INSTALL_PEERTAB_H

/*
 * The installer's view of the peers in the data plane: when each was
 * installed, what the last sweep read about it, when the registry was last
 * asked. The status document is built from it (status.c), so status never
 * has to ask the data plane. Keys are registry-approved public keys (never attacker-chosen
 * bulk), so a plain chained hash is enough.
 *
 * Not thread-safe: the install stage's thread owns it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
#include "wire/keys.h"

struct peer_state {
	uint8_t key[WG_KEY_LEN];
	int64_t installed_at;        /* unix seconds (adopted peers: when adopted) */
	uint64_t installed_mono_ms;  /* CLOCK_MONOTONIC, for eviction races */
	uint64_t revalidated_mono_ms;
	int64_t last_handshake;      /* unix seconds from the last list, 0 = never */
	int64_t active_at;           /* unix seconds of the sweep that saw rx_bytes grow, 0 = never */
	uint64_t rx_bytes, tx_bytes;
	union dp_endpoint endpoint;  /* as the data plane last reported it */
	union dp_endpoint trusted;   /* source of the last initiation that passed the replay guard */
	union dp_endpoint admitted;  /* the endpoint this peer holds in the admission set (nftset.h) */
	struct dp_allowedip *allowed_ips; /* as installed or last listed; owned (peertab_set_allowed_ips) */
	size_t n_allowed_ips;
	uint16_t keepalive;          /* persistent keepalive, seconds */
	int64_t expires_at;          /* the record's, unix seconds; 0 = never (or adopted) */
	bool adopted;
	uint32_t sweep_mark;         /* sweep generation that last saw it in the data plane */
	struct peer_state *next;
	/* the address index (peertab.c only) */
	struct peertab *tab;
	struct peer_state *wide_next, *wide_prev; /* on the wide list: holds a non-host prefix */
	bool wide;
};

struct peertab;

/* Returns an empty table or NULL with errno set. */
struct peertab *peertab_new(void);
/* NULL is a no-op. */
void peertab_free(struct peertab *t);

struct peer_state *peertab_find(struct peertab *t, const uint8_t key[WG_KEY_LEN]);
/* Returns the existing entry or a new zeroed one holding key; NULL on ENOMEM. */
struct peer_state *peertab_get(struct peertab *t, const uint8_t key[WG_KEY_LEN], bool *created);
/* Removes and frees the entry for key, if any. */
void peertab_del(struct peertab *t, const uint8_t key[WG_KEY_LEN]);
size_t peertab_count(const struct peertab *t);

/* Replaces p's allowed IPs with a copy of ips (and its index entries). Returns 0 or -ENOMEM (p unchanged). */
int peertab_set_allowed_ips(struct peer_state *p, const struct dp_allowedip *ips, size_t n);

/*
 * A peer other than key whose allowed IPs overlap ips (same family, equal
 * leading min(prefix lengths) bits), or NULL. A probe per host prefix in
 * ips plus a look at the wide list; a wide prefix in ips (or an index that
 * ran out of memory) scans the table.
 */
struct peer_state *peertab_holder(struct peertab *t, const uint8_t key[WG_KEY_LEN],
				  const struct dp_allowedip *ips, size_t n);
/* Two lists share an address / hold the same prefixes in any order. Pure. */
bool peertab_ips_overlap(const struct dp_allowedip *a, size_t na, const struct dp_allowedip *b, size_t nb);
bool peertab_ips_same(const struct dp_allowedip *a, size_t na, const struct dp_allowedip *b, size_t nb);

/*
 * Visits every entry; fn may not add or delete. Stops early when fn returns
 * false.
 */
void peertab_each(struct peertab *t, bool (*fn)(struct peer_state *p, void *arg), void *arg);

#endif

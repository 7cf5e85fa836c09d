/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_CONFIRM_H
#define JITWG_GATEWAY_INSTALL_CONFIRM_H

/*
 * Install confirmation: repairs a cold connect whose handshakes crossed.
 *
 * After the install stage creates a peer and makes the data plane initiate
 * (role inversion), it hands the peer here. When the data plane consumed
 * the client's first initiation late (after the peer existed), it answered
 * it while also initiating, and each side's second handshake overwrote the
 * state the other side's answer refers to: neither side holds a usable
 * session until the client retries 5 s later (docs/ARCHITECTURE.md, "Cold
 * connect: crossed handshakes"). So a watched peer that shows no completed
 * handshake after its trigger, and received nothing (rx_bytes unchanged)
 * for a whole wait_ms window, is repaired: removed (which drops the crossed
 * state) and created and triggered again. A peer still receiving is a
 * handshake in progress and is looked at again one window later (at most
 * four times). So is every stuck peer when more than four are stuck at
 * once: that is an overloaded data plane, not a race. The wait doubles for
 * each further repair, up to max_repairs; then the peer is left to the
 * client's retry.
 *
 * One check is one listing of the data plane for every peer that is due,
 * and checks are spaced at least ten listing durations apart, so on a
 * gateway with very many peers checks get rarer instead of eating the
 * install thread.
 *
 * Not thread-safe: the install stage owns it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"

struct confirm_config {
	unsigned int wait_ms;       /* first check after the trigger (100); >= 25, see the .c */
	unsigned int max_repairs;   /* per install (2) */
	size_t max_watched;         /* watches kept at once (4096); the oldest goes first */
};

struct confirm_counts {
	uint64_t confirmed;         /* a handshake completed */
	uint64_t repaired;          /* removed and initiated again */
	uint64_t given_up;          /* left to the client's retry: no handshake after max_repairs,
	                             * or after five looks while receiving or while more than
	                             * four were stuck at once (never repaired then) */
	uint64_t gone;              /* no longer installed (evicted, removed) */
	uint64_t dropped;           /* watch table full */
};

struct install_confirm;

/* NULL fields take defaults. Returns NULL with errno set. */
struct install_confirm *install_confirm_new(const struct confirm_config *cfg);
/* Wipes the watched peers' preshared keys. NULL is a no-op. */
void install_confirm_free(struct install_confirm *c);

/*
 * Watches p (copied with its allowed IPs and preshared key) triggered at
 * now_ms (CLOCK_MONOTONIC) and now_real (unix seconds, as the data plane
 * reports handshakes). A new watch of the same key replaces the old one.
 * 0 or -ENOMEM.
 */
int install_confirm_watch(struct install_confirm *c, const struct dp_peer *p, uint64_t now_ms,
			  int64_t now_real);
/* Stops watching key (the install stage removed it). */
void install_confirm_forget(struct install_confirm *c, const uint8_t key[static WG_KEY_LEN]);
/* Monotonic ms when install_confirm_run() has work; UINT64_MAX when none. */
uint64_t install_confirm_due(const struct install_confirm *c);
size_t install_confirm_watched(const struct install_confirm *c);

/*
 * The decision on one listing of the data plane taken at now_ms (list_ms:
 * how long it took). Confirmed and vanished watches are dropped; the due
 * ones without a handshake since their trigger are copied to *repair
 * (release with install_confirm_repairs_free(); each one's
 * last_handshake_sec holds the trigger time it was judged against) and
 * re-armed, or given up.
 * Counts are added to *counts. 0 or -ENOMEM (then nothing changed).
 */
int install_confirm_check(struct install_confirm *c, const struct dp_peer *listed, size_t n,
			  uint64_t now_ms, int64_t now_real, uint64_t list_ms, struct dp_peer **repair,
			  size_t *nrepair, struct confirm_counts *counts);
void install_confirm_repairs_free(struct dp_peer *repair, size_t n);

/*
 * One check against dp when due: list, decide, list once more when a repair
 * is due (a handshake may have completed meanwhile), then remove the peers
 * still to repair and create and trigger them again (one call each).
 * Returns the number repaired or -errno (a failed repair is logged and
 * counted as given up).
 */
int install_confirm_run(struct install_confirm *c, struct dataplane *dp, struct confirm_counts *counts);

#endif

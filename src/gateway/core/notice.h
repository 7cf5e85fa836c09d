/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_CORE_NOTICE_H
#define JITWG_GATEWAY_CORE_NOTICE_H

/*
 * The back-channel: the one message type stages send each other outside
 * the packet's forward path. A notice is queued in the receiving stage's
 * own queue and handled on its own thread; the sender never touches the
 * receiver's state or locks and never waits.
 *
 *   NOTICE_REVALIDATE   install (evict timer) -> lookup: ask the registry
 *                       again about an installed key. Sent in batches into
 *                       the lookup queue's lower half only (initiations keep
 *                       the rest); what does not fit is sent next round.
 *   NOTICE_GONE         lookup, feed follower -> install: the registry says
 *                       the key is deleted or expired; remove it if installed.
 *   NOTICE_CONFLICT     install -> lookup: key's record claims addresses
 *                       that the installed peer other holds. Ask the
 *                       registry afresh about other, then about key, and
 *                       install key only after both answers (address
 *                       ownership, install/owner.c). src is key's endpoint.
 *   NOTICE_REPLAY_SEEN  replay guard (identify, lookup) -> install: an
 *                       authenticated initiation for key from src was a
 *                       replay; the data plane may have moved the peer's
 *                       endpoint to src, put the trusted one back.
 */

#include <stddef.h>
#include <stdint.h>
#include "gateway/ingest/ingest.h"
#include "wire/keys.h"

enum notice_type {
	NOTICE_REVALIDATE = 1,
	NOTICE_GONE,
	NOTICE_REPLAY_SEEN,
	NOTICE_CONFLICT,
};

struct notice {
	enum notice_type type;
	uint8_t key[WG_KEY_LEN];
	union ingest_addr src;       /* NOTICE_REPLAY_SEEN, NOTICE_CONFLICT */
	uint8_t other[WG_KEY_LEN];   /* NOTICE_CONFLICT: the installed holder */
};

/*
 * Where notices go: send() queues up to n of them in the receiving stage
 * (never blocks) and returns how many it took. Thread-safe.
 */
struct notice_inbox {
	size_t (*send)(void *ctx, const struct notice *notices, size_t n);
	void *ctx;
};

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INGEST_HOOK_H
#define JITWG_GATEWAY_INGEST_HOOK_H

/*
 * The relay ingest source: initiations that jitwg-relay forwarded from a
 * WebSocket client, handed over on a unix datagram socket (the message
 * format is src/wire/hook.h). One thread reads the socket in batches and
 * submits INGEST_RELAY initiations: endpoint = the relay's UDP socket for
 * that client, admission address = the client's real address.
 *
 * The socket is bound at cfg.path (a stale socket file there is replaced),
 * mode 0660: whoever may write to it can make jitwgd look up keys, which is
 * no more than sending UDP to the WireGuard port allows, but the endpoint
 * it names is believed, so keep it to root and the relay's group. Its
 * receive buffer bounds what waits; beyond it the relay's non-blocking
 * send fails and the relay counts the drop.
 */

#include "gateway/ingest/ingest.h"
#include "gateway/core/metrics.h"

struct ingest_hook_config {
	const char *path;           /* not owned */
	struct admit_stage *admit;  /* not owned */
	struct metrics *metrics;    /* not owned */
};

struct ingest_hook;

/* Binds the socket and starts the thread. Returns NULL with errno set. */
struct ingest_hook *ingest_hook_start(const struct ingest_hook_config *cfg);
/* Stops, joins, closes and unlinks the socket; NULL is a no-op. */
void ingest_hook_stop(struct ingest_hook *h);

/*
 * Decodes one hook datagram into *out (source INGEST_RELAY, ts = now).
 * Returns 0 or -EBADMSG. Pure apart from the clock; used by the thread and
 * its tests.
 */
int ingest_hook_decode(struct ingest_initiation *out, const uint8_t *buf, size_t len);

#endif

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
 * The endpoint a hook message names is believed (jitwgd installs it and
 * initiates to it), so every datagram is checked twice before it counts:
 *  - the sender, from the credentials the kernel attaches (SO_PASSCRED;
 *    the gid is the sender's real or effective gid, never a supplementary
 *    one): root, jitwgd's own user, cfg.peer_user, or cfg.peer_group (else
 *    the group the socket file was created with). Otherwise:
 *    hook_sender_refused. Who may connect at all is the file's business
 *    (0660, jitwgd's group): the relay needs that group as a supplementary
 *    one, which does not make it a sender.
 *  - the endpoint: inside cfg.endpoints (the relay's bind range; default
 *    loopback). Otherwise: hook_endpoint_refused.
 * The socket file is mode 0660. One hook socket per interface: PATH.lock is
 * held for the daemon's life, so a second jitwgd naming the same PATH fails
 * to start instead of taking the socket over; at stop, PATH is unlinked only
 * while it is still the socket this daemon bound. Its receive buffer bounds
 * what waits; beyond it the relay's non-blocking send fails and the relay
 * counts the drop.
 */

#include "gateway/ingest/ingest.h"
#include "gateway/core/metrics.h"
#include "wire/cidr.h"

#define INGEST_HOOK_DEFAULT_ENDPOINTS "127.0.0.0/8,::1/128"
enum { INGEST_HOOK_MAX_ENDPOINTS = 16 };

struct ingest_hook_config {
	const char *path;           /* not owned */
	const char *peer_user;      /* also accept this user; NULL: none */
	const char *peer_group;     /* the senders' group; NULL: the socket file's */
	const char *endpoints;      /* "CIDR[,CIDR]"; NULL: INGEST_HOOK_DEFAULT_ENDPOINTS */
	struct admit_gate *admit;   /* not owned */
	struct metrics *metrics;    /* not owned */
};

struct ingest_hook;

/*
 * Binds the socket and starts the thread. Returns NULL with errno set and
 * *why a static reason (or NULL when errno says it all).
 */
struct ingest_hook *ingest_hook_start(const struct ingest_hook_config *cfg, const char **why);
/* Stops, joins, closes and unlinks the socket; NULL is a no-op. */
void ingest_hook_stop(struct ingest_hook *h);

/*
 * Decodes one hook datagram into *out (source INGEST_RELAY, ts = now).
 * Returns 0 or -EBADMSG. Pure apart from the clock; used by the thread and
 * its tests.
 */
int ingest_hook_decode(struct ingest_initiation *out, const uint8_t *buf, size_t len);

/*
 * Parses an --hook-endpoints list (NULL: the default) into out[0..*n).
 * Returns 0 or -EINVAL (bad prefix, empty, more than the maximum). Pure.
 */
int ingest_hook_endpoints_parse(const char *list, struct cidr out[static INGEST_HOOK_MAX_ENDPOINTS],
				size_t *n);

#endif

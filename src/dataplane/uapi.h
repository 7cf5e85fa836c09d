/* SPDX-License-Identifier: MIT */
#ifndef JITWG_DATAPLANE_UAPI_H
#define JITWG_DATAPLANE_UAPI_H

/*
 * Internal to src/dataplane/: the text side of the cross-platform UAPI
 * (https://www.wireguard.com/xplatform/), split from the socket I/O in
 * uapi.c so that the parser and the formatter are testable and fuzzable
 * without a daemon. Pure: no I/O.
 */

#include <stdbool.h>
#include <stddef.h>
#include "common/buf.h"
#include "dataplane/dataplane.h"

enum {
	UAPI_LINE_MAX = 512,      /* longest line we accept in a get reply */
	UAPI_MAX_ALLOWEDIPS = 1U << 20, /* per peer; far above any real config */
	/* one set=1 body (a batch of peers); formatting past it is -ENOBUFS */
	UAPI_SET_MAX = 1U << 28,
};

/*
 * Incremental parser of a "get=1" reply. Feed it one line at a time
 * (without the '\n'); the empty line that ends the reply is not fed.
 * want_peers == false skips peer storage (get_device needs only the head).
 * Every value of a key we know is checked strictly (exact hex length, number
 * ranges, address syntax); unknown keys are skipped for forward
 * compatibility. Errors: -EPROTO for a malformed line, -ENOMEM, and -N for
 * a reply "errno=N" with N != 0.
 */
struct uapi_get {
	bool want_peers;
	bool done;                 /* "errno=" seen: nothing may follow */
	int reply_errno;
	struct dp_device dev;
	struct dp_peer *peers;
	size_t n_peers, cap_peers;
	size_t cap_aips;           /* capacity of the current peer's allowed_ips */
	bool nsec_seen;            /* current peer: handshake nsec present */
};

void uapi_get_init(struct uapi_get *g, bool want_peers);
int uapi_get_line(struct uapi_get *g, const char *line, size_t len);
/*
 * Checks the reply ended with "errno=0" and hands over the results: *dev is
 * copied (private key included: the caller wipes it), *peers and *n are
 * handed over when not NULL. Always uninitialises g.
 */
int uapi_get_finish(struct uapi_get *g, struct dp_device *dev, struct dp_peer **peers, size_t *n);
/* Frees whatever g still owns and wipes the private key. */
void uapi_get_uninit(struct uapi_get *g);

/*
 * Appends one peer's change, honouring p->flags, or its removal. Returns 0,
 * -EINVAL (unsupported address family, keepalive out of range) or -ENOMEM.
 */
int uapi_format_peer(struct buf *b, const struct dp_peer *p);
int uapi_format_remove(struct buf *b, const uint8_t key[static WG_KEY_LEN]);

/*
 * Endpoint spelling: "a.b.c.d:port" or "[v6]:port" with an optional
 * "%zone" (interface name or number) inside the brackets. IPv4-mapped IPv6
 * addresses are returned as AF_INET. Returns 0 or -EINVAL.
 */
int uapi_endpoint_parse(union dp_endpoint *ep, const char *s, size_t len);
enum { UAPI_ENDPOINT_STR_MAX = 72 };
int uapi_endpoint_format(char out[static UAPI_ENDPOINT_STR_MAX], const union dp_endpoint *ep);

/* Lower-case hex of a key, and its constant-time inverse (exactly 64 digits). */
void uapi_key_to_hex(char out[static 2 * WG_KEY_LEN + 1], const uint8_t key[static WG_KEY_LEN]);
int uapi_key_from_hex(uint8_t key[static WG_KEY_LEN], const char *s, size_t len);

#endif

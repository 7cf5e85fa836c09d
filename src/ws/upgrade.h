/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WS_UPGRADE_H
#define JITWG_WS_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The HTTP/1.1 opening handshake of RFC 6455, both sides. Pure: no I/O.
 * Only what a WebSocket upgrade needs is parsed (request line, a handful of
 * headers); everything else is skipped with its syntax still checked.
 */

enum {
	WS_UPGRADE_MAX = 4096,   /* request or response head, bytes */
	WS_UPGRADE_MAX_HEADERS = 64,
	WS_KEY_LEN = 24,         /* base64 of 16 bytes */
	WS_ACCEPT_LEN = 28,      /* base64 of a SHA-1 */
	WS_XFF_MAX = 255,
};

struct ws_upgrade_req {
	char key[WS_KEY_LEN + 1];
	char xff[WS_XFF_MAX + 1]; /* last X-Forwarded-For value, "" if none */
	int status;               /* on error: the HTTP status to answer */
};

/*
 * Parses a request head from buf[0..len). Returns the head's length
 * (through the blank line) when it is a valid upgrade on path "/"; 0 when
 * more bytes are needed (no blank line yet and len < WS_UPGRADE_MAX); or a
 * negative errno with req->status set: 400 malformed or not an upgrade,
 * 404 another path, 405 not GET, 426 unsupported Sec-WebSocket-Version,
 * 431 head longer than WS_UPGRADE_MAX or too many headers.
 */
int ws_upgrade_parse_request(struct ws_upgrade_req *req, const char *buf, size_t len);

/* Computes Sec-WebSocket-Accept for key. Returns 0 or -EIO (OpenSSL). */
int ws_upgrade_accept(char out[static WS_ACCEPT_LEN + 1], const char *key);

/*
 * Writes the server's 101 answer for req into out (NUL-terminated).
 * Returns its length or -ENOSPC / -EIO.
 */
int ws_upgrade_response(char *out, size_t cap, const struct ws_upgrade_req *req);

/*
 * Writes an error answer with the given status and "Connection: close"
 * (426 adds "Sec-WebSocket-Version: 13"). Returns its length or -ENOSPC.
 */
int ws_upgrade_error(char *out, size_t cap, int status);

/*
 * Client side: writes a GET request for host and path with a fresh random
 * key (returned in key). Returns its length or -ENOSPC / -EIO / -EINVAL (a
 * host or path with characters outside URL syntax).
 */
int ws_upgrade_request(char *out, size_t cap, const char *host, const char *path,
		       char key[static WS_KEY_LEN + 1]);

/*
 * Client side: checks a response head against the key sent. Returns its
 * length on a valid 101, 0 when more bytes are needed, -EPROTO on any other
 * status or a wrong accept value, -EMSGSIZE when too long, -EBADMSG when
 * malformed. *status gets the status code when one was read.
 */
int ws_upgrade_parse_response(const char *buf, size_t len, const char *key, int *status);

#endif

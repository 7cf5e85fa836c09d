/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_HOOK_H
#define JITWG_WIRE_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire/messages.h"

/*
 * The hook: how jitwg-relay hands a handshake initiation it forwarded to
 * jitwgd's ingest seam. One AF_UNIX SOCK_DGRAM datagram per initiation, sent
 * without blocking (a full or absent receiver drops it; the relay counts the
 * drop). Both daemons name the socket with --hook PATH; HOOK_DEFAULT_PATH when
 * the flag is given without a value in a config file.
 *
 * Layout (fixed, HOOK_MSG_LEN bytes, big-endian ports):
 *   0   4  magic "JWH1"
 *   4   1  endpoint family (4 or 6)     5  1  client family (4 or 6)
 *   6   2  reserved, zero
 *   8  16  endpoint address (IPv4 in the first 4 bytes, rest zero)
 *  24   2  endpoint port                26  2  client port
 *  28  16  client address
 *  44 148  the initiation, byte for byte as the relay forwarded it
 * The endpoint is the relay's UDP socket that carried the initiation to
 * WireGuard: the address jitwgd installs. The client is the WebSocket
 * client's real address (after a trusted X-Forwarded-For): what admission
 * counts. Exactly HOOK_MSG_LEN bytes or the message is malformed.
 */
#define HOOK_DEFAULT_PATH "/run/jitwg/hook.sock"
#define HOOK_MAGIC "JWH1"

enum {
	HOOK_MSG_LEN = 44 + WG_MSG_INITIATION_LEN,
	HOOK_OFF_INITIATION = 44,
};

struct hook_msg {
	struct sockaddr_storage endpoint; /* AF_INET or AF_INET6 */
	struct sockaddr_storage client;   /* AF_INET or AF_INET6 */
	uint8_t initiation[WG_MSG_INITIATION_LEN];
};

/*
 * Encodes m into out. Returns 0, or -EAFNOSUPPORT when an address is neither
 * IPv4 nor IPv6. Pure.
 */
int hook_msg_encode(uint8_t out[static HOOK_MSG_LEN], const struct hook_msg *m);

/*
 * Decodes exactly len bytes. Returns 0, or -EBADMSG on a wrong length, magic,
 * family, non-zero reserved bytes, a zero port, or an initiation whose header
 * is not type 1 with reserved zero. On error *m is zeroed. Pure.
 */
int hook_msg_decode(struct hook_msg *m, const uint8_t *buf, size_t len);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_ADDRPORT_H
#define JITWG_COMMON_ADDRPORT_H

/*
 * The one ADDR:PORT parser: "HOST:PORT" or "[HOST]:PORT" where an IPv6
 * address needs the brackets (as in wg(8) and URLs) and PORT is decimal.
 * Errors are distinct codes, with a text from addrport_strerror():
 *   -EINVAL        not of that shape (or HOST longer than ADDRPORT_HOST_MAX - 1)
 *   -ERANGE        PORT is not a decimal in 1..65535 (0..65535 with ADDRPORT_PORT0)
 *   -EAFNOSUPPORT  an unbracketed HOST with ':' (an IPv6 address without brackets)
 *   -EADDRNOTAVAIL HOST is not an address (numeric) or does not resolve (ADDRPORT_RESOLVE)
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum { ADDRPORT_HOST_MAX = 256 };

enum addrport_flag {
	ADDRPORT_EMPTY_HOST = 1 << 0,    /* ":PORT" is allowed: the IPv4 wildcard */
	ADDRPORT_PORT0 = 1 << 1,         /* port 0 (an ephemeral port to bind) is allowed */
	ADDRPORT_PORT_OPTIONAL = 1 << 2, /* addrport_split(): "HOST" alone gives port 0 */
	ADDRPORT_RESOLVE = 1 << 3,       /* addrport_resolve(): host names through getaddrinfo() */
};

/*
 * Splits s into HOST (brackets removed; *bracketed says whether it had
 * them, may be NULL) and PORT. host must hold ADDRPORT_HOST_MAX bytes.
 * Checks the shape and the port only, never the HOST's characters (each
 * caller has its own rule). Returns 0 or one of the codes above. Pure.
 */
int addrport_split(const char *s, char host[ADDRPORT_HOST_MAX], uint16_t *port, unsigned int flags,
		   bool *bracketed);

/*
 * Parses a numeric "a.b.c.d:port", "[v6]:port" or ":port" (IPv4 any) into
 * ss. The port must be 1..65535. No name resolution, no %zone. Returns 0 or
 * -EINVAL. Pure.
 */
int addrport_parse(const char *s, struct sockaddr_storage *ss);

/*
 * Parses s into ss and *len: a numeric address first (an IPv6 one may
 * carry a %zone); with ADDRPORT_RESOLVE a host name's first address
 * (getaddrinfo with AI_ADDRCONFIG, IPv4 or IPv6). Returns 0 or one of the
 * codes above; may block on DNS with ADDRPORT_RESOLVE.
 */
int addrport_resolve(const char *s, unsigned int flags, struct sockaddr_storage *ss, socklen_t *len);

/* A one-line reason for a code returned above ("expected ADDR:PORT ..."); never NULL. */
const char *addrport_strerror(int ret);

/* Length of the sockaddr inside ss for its family (0 if neither IPv4 nor IPv6). */
socklen_t addrport_len(const struct sockaddr_storage *ss);

#endif

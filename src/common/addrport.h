/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_ADDRPORT_H
#define JITWG_COMMON_ADDRPORT_H

#include <sys/socket.h>

/*
 * Parses a numeric "a.b.c.d:port", "[v6]:port" or ":port" (IPv4 any) into
 * ss. The port must be 1..65535, written in decimal. No name resolution.
 * Returns 0 or -EINVAL. Pure.
 */
int addrport_parse(const char *s, struct sockaddr_storage *ss);

/* Length of the sockaddr inside ss for its family (0 if neither IPv4 nor IPv6). */
socklen_t addrport_len(const struct sockaddr_storage *ss);

#endif

// SPDX-License-Identifier: MIT
#include "common/addrport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

/* PORT: 1-5 decimal digits, no sign, in range. */
static int port_parse(const char *p, uint16_t *port, unsigned int flags)
{
	unsigned long v = 0;
	size_t n;

	for (n = 0; p[n]; ++n) {
		if (p[n] < '0' || p[n] > '9' || n == 5)
			return -ERANGE;
		v = v * 10 + (unsigned long)(p[n] - '0');
	}
	if (n == 0 || v > 65535 || (v == 0 && !(flags & ADDRPORT_PORT0)))
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

int addrport_split(const char *s, char host[ADDRPORT_HOST_MAX], uint16_t *port, unsigned int flags,
		   bool *bracketed)
{
	const char *hs = s, *he, *colon;
	bool br = s[0] == '[';
	size_t hl;

	*port = 0;
	host[0] = '\0';
	if (br) {
		he = strchr(s, ']');
		if (!he)
			return -EINVAL;
		hs = s + 1;
		colon = he[1] == ':' ? he + 1 : NULL;
		if (!colon && (he[1] || !(flags & ADDRPORT_PORT_OPTIONAL)))
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && memchr(s, ':', (size_t)(colon - s)))
			return -EAFNOSUPPORT;
		if (!colon && !(flags & ADDRPORT_PORT_OPTIONAL))
			return -EINVAL;
		he = colon ? colon : s + strlen(s);
	}
	hl = (size_t)(he - hs);
	if (hl >= ADDRPORT_HOST_MAX || (hl == 0 && (br || !(flags & ADDRPORT_EMPTY_HOST))))
		return -EINVAL;
	if (colon) {
		int ret = port_parse(colon + 1, port, flags);
		if (ret)
			return ret;
	}
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (bracketed)
		*bracketed = br;
	return 0;
}

int addrport_parse(const char *s, struct sockaddr_storage *ss)
{
	char host[ADDRPORT_HOST_MAX];
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	uint16_t port;
	bool br;

	memset(ss, 0, sizeof(*ss));
	if (addrport_split(s, host, &port, ADDRPORT_EMPTY_HOST, &br))
		return -EINVAL;
	if (br) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1)
			return 0;
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (!host[0]) {
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
			return 0;
		}
		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1)
			return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return -EINVAL;
}

/* host's first address from getaddrinfo() under hints, into ss. */
static int lookup(const char *host, const struct addrinfo *hints, struct sockaddr_storage *ss)
{
	struct addrinfo *res = NULL;
	int ret = -EADDRNOTAVAIL;

	if (getaddrinfo(host, NULL, hints, &res) || !res)
		return ret;
	if (res->ai_addrlen <= sizeof(*ss)) {
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		ret = 0;
	}
	freeaddrinfo(res);
	return ret;
}

int addrport_resolve(const char *s, unsigned int flags, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
	char host[ADDRPORT_HOST_MAX];
	uint16_t port;
	bool br;
	int ret;

	memset(ss, 0, sizeof(*ss));
	*len = 0;
	ret = addrport_split(s, host, &port, flags & (ADDRPORT_EMPTY_HOST | ADDRPORT_PORT0), &br);
	if (ret)
		return ret;
	if (!host[0]) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_ANY);
	} else {
		/* Numeric first (never subject to AI_ADDRCONFIG); brackets hold only an IPv6 address. */
		hints.ai_family = br ? AF_INET6 : AF_UNSPEC;
		ret = lookup(host, &hints, ss);
		if (ret && !br && (flags & ADDRPORT_RESOLVE)) {
			hints.ai_flags = AI_ADDRCONFIG;
			ret = lookup(host, &hints, ss);
		}
		if (ret)
			return ret;
	}
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	*len = addrport_len(ss);
	return 0;
}

const char *addrport_strerror(int ret)
{
	switch (ret) {
	case -ERANGE:
		return "bad port (a decimal 1..65535)";
	case -EAFNOSUPPORT:
		return "bad IPv6 address (write [ADDR]:PORT)";
	case -EADDRNOTAVAIL:
		return "not an address, or a host name that does not resolve";
	default:
		return "expected ADDR:PORT, [ADDR6]:PORT or HOST:PORT";
	}
}

socklen_t addrport_len(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (ss->ss_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

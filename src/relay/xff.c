// SPDX-License-Identifier: MIT
/*
 * X-Forwarded-For behind a trusted proxy: which peers are proxies
 * (--trust-proxy), and the client address their header names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "relay/relay.h"
#include "ws/upgrade.h"

bool relay_proxy_trusted(const struct relay_config *cfg, const struct sockaddr *sa)
{
	for (unsigned i = 0; i < cfg->ntrusted; ++i)
		if (cidr_contains(&cfg->trusted[i], sa))
			return true;
	return false;
}

int xff_client(const char *xff, struct sockaddr *out)
{
	const char *last = strrchr(xff, ',');
	char tmp[WS_XFF_MAX + 1];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;
	char *e;

	last = last ? last + 1 : xff;
	while (*last == ' ' || *last == '\t')
		++last;
	n = strlen(last);
	if (n > WS_XFF_MAX)
		return -EINVAL;
	memcpy(tmp, last, n + 1);
	for (e = tmp + n; e > tmp && (e[-1] == ' ' || e[-1] == '\t'); --e)
		e[-1] = '\0';
	/* the port behind a proxy is unknown: 1 */
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;
		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_addr = a4;
		sin->sin_port = htons(1);
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, &a6) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a6;
		sin6->sin6_port = htons(1);
		return 0;
	}
	return -EINVAL;
}

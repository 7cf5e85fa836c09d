// SPDX-License-Identifier: MIT
#include "ws/url.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/addrport.h"

int ws_url_parse(struct ws_url *u, const char *s)
{
	char authority[ADDRPORT_HOST_MAX + 8];
	const char *h, *path;
	uint16_t port;
	size_t i;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "wss://", 6)) {
		u->tls = true;
		h = s + 6;
	} else if (!strncmp(s, "ws://", 5)) {
		h = s + 5;
	} else {
		return -EINVAL;
	}
	path = strchr(h, '/');
	if (!path)
		path = h + strlen(h);
	if ((size_t)(path - h) >= sizeof(authority))
		return -EINVAL;
	memcpy(authority, h, (size_t)(path - h));
	authority[path - h] = '\0';
	if (addrport_split(authority, u->host, &port, ADDRPORT_PORT_OPTIONAL, NULL))
		return -EINVAL;
	for (i = 0; u->host[i]; ++i)
		if (!((u->host[i] >= 'a' && u->host[i] <= 'z') || (u->host[i] >= 'A' && u->host[i] <= 'Z') ||
		      (u->host[i] >= '0' && u->host[i] <= '9') || strchr(".-:%_", u->host[i])))
			return -EINVAL;
	snprintf(u->port, sizeof(u->port), "%u", port ? port : u->tls ? 443u : 80u);
	if (strlen(*path ? path : "/") >= sizeof(u->path))
		return -EINVAL;
	strcpy(u->path, *path ? path : "/");
	snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ? "[%s]:%s" : "%s:%s", u->host,
		 u->port);
	return 0;
}

// SPDX-License-Identifier: MIT
#include "ws/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ws_url_parse(struct ws_url *u, const char *s)
{
	const char *h, *he, *p, *path;
	size_t hl;

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
	if (*h == '[') {
		he = memchr(h, ']', (size_t)(path - h));
		if (!he)
			return -EINVAL;
		p = he + 1 < path && he[1] == ':' ? he + 2 : NULL;
		if (!p && he + 1 != path)
			return -EINVAL;
		hl = (size_t)(he - h - 1);
		++h;
	} else {
		const char *c = memchr(h, ':', (size_t)(path - h));
		he = c ? c : path;
		p = c ? c + 1 : NULL;
		hl = (size_t)(he - h);
	}
	if (hl == 0 || hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, h, hl);
	for (size_t i = 0; i < hl; ++i)
		if (!((u->host[i] >= 'a' && u->host[i] <= 'z') || (u->host[i] >= 'A' && u->host[i] <= 'Z') ||
		      (u->host[i] >= '0' && u->host[i] <= '9') || strchr(".-:%_", u->host[i])))
			return -EINVAL;
	if (p) {
		size_t pl = (size_t)(path - p);
		unsigned long port;
		char *end;
		if (pl == 0 || pl > 5)
			return -EINVAL;
		memcpy(u->port, p, pl);
		port = strtoul(u->port, &end, 10);
		if (*end || port == 0 || port > 65535 || u->port[0] == '+' || u->port[0] == '-')
			return -EINVAL;
	} else {
		strcpy(u->port, u->tls ? "443" : "80");
	}
	if (strlen(*path ? path : "/") >= sizeof(u->path))
		return -EINVAL;
	strcpy(u->path, *path ? path : "/");
	snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ? "[%s]:%s" : "%s:%s", u->host,
		 u->port);
	return 0;
}

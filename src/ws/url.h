/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WS_URL_H
#define JITWG_WS_URL_H

#include <stdbool.h>

/* A WebSocket URL as a client needs it. */
struct ws_url {
	bool tls;           /* wss:// */
	char host[256];     /* ADDRPORT_HOST_MAX; without brackets for IPv6 */
	char port[6];       /* digits; 443 or 80 when absent */
	char path[1024];    /* "/" when absent */
	char hostport[300]; /* the Host header */
};

/*
 * Parses ws[s]://host[:port][/path]; host may be [v6] (common/addrport.h
 * splits the authority). Returns 0 or -EINVAL
 * (other scheme, empty or odd host, bad port, too long). Pure.
 */
int ws_url_parse(struct ws_url *u, const char *s);

#endif

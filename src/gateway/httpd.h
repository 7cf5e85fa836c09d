/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_HTTPD_H
#define JITWG_GATEWAY_HTTPD_H

/*
 * The daemon's two read-only windows: Prometheus text at GET /metrics (and
 * the status JSON at GET /status) over HTTP through libmicrohttpd, and the
 * same status JSON on a unix socket for `jitwg status` (connect, read to
 * EOF). Both run on their own threads and never touch the data plane
 * directly: status goes through installer_status().
 */

#include "gateway/install.h"
#include "gateway/metrics.h"

struct httpd;
struct status_server;

/*
 * Listens on ADDR:PORT ("127.0.0.1:9100", "[::1]:9100", ":9100" for any
 * IPv4 address). Returns NULL with errno set and *errmsg a static reason.
 */
struct httpd *httpd_new(const char *addr_port, const struct metrics *m, struct installer *ins,
			const char **errmsg);
/* Stops serving. NULL is a no-op. */
void httpd_free(struct httpd *h);

/*
 * Binds the unix socket at path (mode 0600, parent directory created 0755,
 * a stale socket replaced) and serves status on a thread. Returns NULL with
 * errno set and *errmsg a static reason.
 */
struct status_server *status_server_new(const char *path, struct installer *ins, const char **errmsg);
/* Stops serving and unlinks the socket. NULL is a no-op. */
void status_server_free(struct status_server *s);

#endif

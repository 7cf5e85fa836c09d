/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_CORE_HTTPD_H
#define JITWG_GATEWAY_CORE_HTTPD_H

/*
 * The daemon's two read-only windows: Prometheus text at GET /metrics (and
 * the status JSON at GET /status) over HTTP through libmicrohttpd, and the
 * same status JSON on a unix socket for `jitwg status` (connect, read to
 * EOF). Both run on their own threads and never touch the data plane: the
 * status comes from the status board (status.h), rate-limited there (429 /
 * an error object past the limit), so neither can delay an install or
 * /metrics.
 */

#include "gateway/core/metrics.h"
#include "gateway/install/status.h"

struct httpd;
struct status_server;

/*
 * Binds and listens on ADDR:PORT ("127.0.0.1:9100", "[::1]:9100", ":9100" for any
 * IPv4 address, or HOST:PORT with a host name that resolves, e.g.
 * "localhost:9100": the first address it resolves to). Returns NULL with
 * errno set and *errmsg a static reason.
 */
struct httpd *httpd_new(const char *addr_port, const struct metrics *m, struct status_board *board,
			const char **errmsg);
/*
 * Serves on the socket httpd_new() bound. Until then connections wait in
 * the listen backlog: /metrics answers once the daemon is ready. Returns 0
 * or -errno with *errmsg a static reason.
 */
int httpd_start(struct httpd *h, const char **errmsg);
/* Stops serving. NULL is a no-op. */
void httpd_free(struct httpd *h);

/*
 * Binds the unix socket at path (mode 0600, parent directory created 0755,
 * a stale socket replaced; bound under a temporary name, chmod'ed and
 * renamed into place, so no umask() is needed while other threads run)
 * and serves status on a thread. EADDRINUSE when another daemon answers on
 * path. Returns NULL with
 * errno set and *errmsg a static reason.
 */
struct status_server *status_server_new(const char *path, struct status_board *board, const char **errmsg);
/* Stops serving and unlinks the socket. NULL is a no-op. */
void status_server_free(struct status_server *s);

#endif

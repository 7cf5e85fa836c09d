/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_HTTP_H
#define JITWG_REGISTRY_HTTP_H

/*
 * The registry's HTTP/1.1 server: libmicrohttpd with a thread pool,
 * adapting each request to api_handle(). One per process.
 */

#include <stdint.h>
#include "registry/api.h"

struct http_server;

/*
 * Listens on listen ("127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0") with
 * threads worker threads. ctx must outlive the server. Returns NULL + errno;
 * *port receives the bound port (useful with port 0).
 */
struct http_server *http_server_start(const char *listen, unsigned int threads, const struct api_ctx *ctx,
				      uint16_t *port);

/*
 * Stops accepting connections, waits up to timeout_ms for requests in
 * flight to finish, then stops and frees the server. NULL is a no-op.
 */
void http_server_drain_free(struct http_server *h, unsigned int timeout_ms);

#endif

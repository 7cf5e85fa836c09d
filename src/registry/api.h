/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_API_H
#define JITWG_REGISTRY_API_H

/*
 * The registry's HTTP API (docs/API.md) as a pure function of a request:
 * no sockets here, so handlers can be tested and fuzzed without a server.
 * http.c adapts libmicrohttpd to it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "registry/pool.h"
#include "registry/store.h"

enum {
	API_BODY_MAX = 64 * 1024, /* larger request bodies get 413 */
	API_LIST_DEFAULT = 100,
	API_LIST_MAX = 1000,
	API_TOKEN_HASH_LEN = 32,
};

struct api_ctx {
	struct store *store;
	bool has_pool;
	struct pool pool;
	bool has_token;
	uint8_t token_hash[API_TOKEN_HASH_LEN]; /* SHA-256 of the bearer token */
};

struct api_request {
	const char *method;
	const char *path;          /* without the query string */
	const char *authorization; /* header value or NULL */
	const char *body;
	size_t body_len;
	/* Returns a decoded query argument or NULL. */
	const char *(*query)(void *arg, const char *name);
	void *query_arg;
};

struct api_response {
	int status;
	char *body; /* malloc'd JSON text, or NULL for no body (204) */
	bool www_authenticate;
	/*
	 * Nonzero: a feed request that found no change asked to wait this many
	 * seconds (1..60). The HTTP layer may then hold the request and call
	 * api_handle again after a change or at the deadline; body is the empty
	 * page to send if it answers now.
	 */
	unsigned int hold_s;
};

/* Reads the token file (one line; surrounding whitespace dropped) into ctx. 0 or -errno/-EINVAL. */
int api_token_load(struct api_ctx *ctx, const char *path);

/*
 * Handles one request. Always fills *resp (status and, except for 204, a
 * JSON body the caller frees). Thread-safe given a thread-safe store.
 */
void api_handle(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp);

/*
 * The 401 that api_handle would give, decided from the path and the
 * Authorization header alone, so that the HTTP layer answers before reading
 * (or refusing with 413) an unauthenticated body. Returns true with *resp
 * filled when the request is refused. Thread-safe.
 */
bool api_refuse_unauthorized(const struct api_ctx *ctx, const char *path, const char *authorization,
			     struct api_response *resp);

/* A JSON error body {"error": msg[, "field": field]} in *resp. */
void api_error(struct api_response *resp, int status, const char *msg, const char *field);

#endif

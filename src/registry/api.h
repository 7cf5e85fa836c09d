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
	API_TOKEN_TEXT_MAX = 6 + WG_KEY_B64URL_LEN + 1, /* "jitwg_" + 43 characters of base64url + NUL */
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
 * A new token secret ("jitwg_" and 43 characters of base64url from 32 random
 * bytes) in out, and its SHA-256 (what the store keeps) in hash. 0 or -EIO.
 * The caller wipes out.
 */
int api_token_generate(char out[static API_TOKEN_TEXT_MAX], uint8_t hash[static API_TOKEN_HASH_LEN]);
/*
 * Checks a token about to be created: gateway only for the gateway scope,
 * max_peers 1..1000000 for enroll and 0 otherwise, expires_at in the future,
 * a comment without control characters. 0, or -EINVAL with *field named.
 */
int api_token_check(const struct store_token *t, int64_t now, const char **field);

/*
 * Handles one request. Always fills *resp (status and, except for 204, a
 * JSON body the caller frees). Thread-safe given a thread-safe store.
 */
void api_handle(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp);

/*
 * The 401 or 403 that api_handle would give, decided from the method, path,
 * query and Authorization header alone (req->body unused), so that the HTTP
 * layer answers before reading (or refusing with 413) the body of a request
 * it will refuse. Returns true with *resp filled when refused. Thread-safe.
 */
bool api_refuse_unauthorized(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp);

/* A JSON error body {"error": msg[, "field": field]} in *resp. */
void api_error(struct api_response *resp, int status, const char *msg, const char *field);

#endif

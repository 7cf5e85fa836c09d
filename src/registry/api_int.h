/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_API_INT_H
#define JITWG_REGISTRY_API_INT_H

/*
 * What the API's files (api.c: routing and peers; api_edit.c: PATCH and
 * rotate; api_token.c: authentication, scopes, tokens, audit) share. Not for
 * the HTTP layer.
 */

#include <json-c/json.h>
#include "registry/api.h"

/* Who is calling: the token's scope, id and binding, looked up for this request only. */
struct api_caller {
	struct store_token tok; /* id 0 and scope admin: the legacy token, or no auth */
};

/*
 * Authenticates the request and checks the route against the token's scope.
 * Returns true with *resp filled (401, 403, 500) when refused; false with
 * *caller set when the request may proceed.
 */
bool api_admit(const struct api_ctx *ctx, const struct api_request *req, struct api_caller *caller,
	       struct api_response *resp);
/* The store_who of a caller (its token id; enroll counts creations). */
struct store_who api_who(const struct api_caller *caller);

/* JSON text of o (a malloc'd copy; json-c's buffer wiped). NULL when out of memory. */
char *api_json_text(struct json_object *o);
/* status and the record's JSON, or 500 when it cannot be serialised. */
void api_record_response(struct api_response *resp, int status, const struct peer_record *r);
/* 503 for -ENOMEM, 500 otherwise. */
void api_store_error(struct api_response *resp, int err);
/* A key in a path: 43 characters of base64url, not all zero. */
bool api_path_key(const char *s, uint8_t key[static WG_KEY_LEN]);
/* gateway= of the query, *bad when present and invalid. */
const char *api_gateway_arg(const struct api_request *req, bool *bad);
/* limit=: strict decimal 1..API_LIST_MAX, absent is API_LIST_DEFAULT. */
int api_parse_limit(const char *s, size_t *out);
/* A cursor: strict decimal 0..INT64_MAX. */
int api_parse_since(const char *s, int64_t *out);
/* Paged answers: {"member": [...]}; see api.c. */
struct json_object *api_page_new(const char *member, struct json_object **arr);
int api_page_add(struct json_object *arr, struct json_object *item);
int api_page_send(struct api_response *resp, struct json_object *o);
/* 400 for a record body that failed to parse (field names the member). */
void api_body_error(struct api_response *resp, int ret, const char *field);
/* 409 naming allowed_ips and the live holder of the address. */
void api_overlap_error(struct api_response *resp, const uint8_t holder[static WG_KEY_LEN]);
/* 400 when r's allowed IPs include a pool's reserved gateway address; true when refused. */
bool api_reserved_refused(const struct api_ctx *ctx, const struct peer_record *r, struct api_response *resp);

/* The handlers of api_edit.c and api_token.c. */
void api_peer_update(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		     struct api_response *resp, const uint8_t key[static WG_KEY_LEN]);
void api_peer_rotate(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		     struct api_response *resp, const uint8_t key[static WG_KEY_LEN]);
void api_tokens(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		struct api_response *resp);
void api_audit(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp);

#endif

// SPDX-License-Identifier: MIT
/*
 * PATCH /v1/peers/{key} and POST /v1/peers/{key}/rotate (docs/API.md).
 * Bodies are parsed by the shared record parser (wire/record.c), limited to
 * the members each endpoint takes.
 */
#include "registry/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
	PATCH_FIELDS = PEER_F_ALLOWED_IPS | PEER_F_EXPIRES_AT | PEER_F_NAME | PEER_F_OWNER | PEER_F_KEEPALIVE,
	ROTATE_FIELDS = PEER_F_PUBLIC_KEY | PEER_F_PRESHARED_KEY,
};

void api_peer_update(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		     struct api_response *resp, const uint8_t key[static WG_KEY_LEN])
{
	struct store_who who = api_who(caller);
	struct peer_record patch, out = { 0 };
	uint8_t conflict[WG_KEY_LEN];
	const char *field = NULL;
	unsigned int present;
	int ret;

	ret = peer_record_fields_from_json(&patch, req->body ? req->body : "", req->body_len, PATCH_FIELDS, &present,
					   &field);
	if (ret)
		return api_body_error(resp, ret, field);
	if (!present) {
		api_error(resp, 400, "nothing to change: give allowed_ips, expires_at, name, owner or "
				     "persistent_keepalive", "body");
		goto out;
	}
	if ((present & PEER_F_ALLOWED_IPS) && !patch.n_allowed_ips) {
		api_error(resp, 400, "allowed_ips cannot be emptied (delete the peer instead)", "allowed_ips");
		goto out;
	}
	if (patch.expires_at && patch.expires_at <= time(NULL)) {
		api_error(resp, 400, "expires_at is in the past (delete the peer to revoke it now)", "expires_at");
		goto out;
	}
	if (api_reserved_refused(ctx, &patch, resp))
		goto out;
	ret = store_peer_update(ctx->store, key, &patch, present, time(NULL), &who, &out, conflict);
	if (!ret)
		api_record_response(resp, 200, &out);
	else if (ret == -ENOENT)
		api_error(resp, 404, "no such peer", "public_key");
	else if (ret == -EADDRINUSE)
		api_overlap_error(resp, conflict);
	else
		api_store_error(resp, ret);
out:
	peer_record_clear(&patch);
	peer_record_clear(&out);
}

void api_peer_rotate(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		     struct api_response *resp, const uint8_t key[static WG_KEY_LEN])
{
	struct store_who who = api_who(caller);
	struct peer_record body, out = { 0 };
	const char *field = NULL;
	unsigned int present;
	int ret;

	ret = peer_record_fields_from_json(&body, req->body ? req->body : "", req->body_len, ROTATE_FIELDS, &present,
					   &field);
	if (ret)
		return api_body_error(resp, ret, field);
	if (!(present & PEER_F_PUBLIC_KEY)) {
		api_error(resp, 400, "public_key (the new key) is required", "public_key");
		goto out;
	}
	ret = store_peer_rotate(ctx->store, key, body.public_key, body.has_preshared_key ? body.preshared_key : NULL,
				time(NULL), &who, &out);
	if (!ret)
		api_record_response(resp, 200, &out);
	else if (ret == -ENOENT)
		api_error(resp, 404, "no such peer (the key to rotate from)", "public_key");
	else if (ret == -EEXIST)
		api_error(resp, 409, "the new public_key is already a peer (or equals the old one)", "public_key");
	else
		api_store_error(resp, ret);
out:
	peer_record_clear(&body);
	peer_record_clear(&out);
}

// SPDX-License-Identifier: MIT
/*
 * Request handlers of the registry API. Routing, auth, validation and the
 * mapping of store errors to HTTP statuses live here; the wire contract is
 * docs/API.md.
 */
#include "registry/api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "registry/api_int.h"
#include "registry/feedwait.h"

char *api_json_text(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *dup = s ? strdup(s) : NULL;

	if (s)
		explicit_bzero((char *)s, strlen(s));
	return dup;
}

void api_error(struct api_response *resp, int status, const char *msg, const char *field)
{
	struct json_object *o = json_object_new_object();

	resp->status = status;
	resp->body = NULL;
	if (!o)
		return;
	json_object_object_add(o, "error", json_object_new_string(msg));
	if (field)
		json_object_object_add(o, "field", json_object_new_string(field));
	resp->body = api_json_text(o);
	json_object_put(o);
}

void api_record_response(struct api_response *resp, int status, const struct peer_record *r)
{
	resp->body = peer_record_to_json(r);
	resp->status = resp->body ? status : 500;
}

void api_store_error(struct api_response *resp, int err)
{
	if (err == -ENOMEM)
		api_error(resp, 503, "out of memory", NULL);
	else
		api_error(resp, 500, "storage error", NULL);
}

/* Keys in paths: base64url, no padding (docs/API.md). */
bool api_path_key(const char *s, uint8_t key[static WG_KEY_LEN])
{
	return strlen(s) == WG_KEY_B64URL_LEN && !key_from_base64url(key, s) && !key_is_zero(key);
}

/* The gateway= argument, validated; *bad set when present and invalid. */
const char *api_gateway_arg(const struct api_request *req, bool *bad)
{
	const char *g = req->query ? req->query(req->query_arg, "gateway") : NULL;

	*bad = g && !peer_gateway_valid(g);
	return g;
}

void api_body_error(struct api_response *resp, int ret, const char *field)
{
	char msg[128];

	if (ret == -ENOMEM)
		return api_error(resp, 503, "out of memory", NULL);
	if (!strcmp(field, "body"))
		return api_error(resp, 400, "malformed JSON: expected one object", "body");
	snprintf(msg, sizeof(msg), "invalid or unknown field '%s'", field);
	api_error(resp, 400, msg, field);
}

void api_overlap_error(struct api_response *resp, const uint8_t holder[static WG_KEY_LEN])
{
	char hk[WG_KEY_B64_LEN + 1], msg[128];

	key_to_base64(hk, holder);
	snprintf(msg, sizeof(msg), "allowed_ips overlap those of peer %s", hk);
	api_error(resp, 409, msg, "allowed_ips");
	if (resp->body) {
		struct json_object *o = json_tokener_parse(resp->body);

		free(resp->body);
		resp->body = NULL;
		if (o) {
			json_object_object_add(o, "holder", json_object_new_string(hk));
			resp->body = api_json_text(o);
			json_object_put(o);
		}
	}
}

bool api_reserved_refused(const struct api_ctx *ctx, const struct peer_record *r, struct api_response *resp)
{
	struct cidr gw;
	char c[CIDR_STR_MAX], msg[128];
	size_t i;
	int fam;

	for (fam = 0; ctx->has_pool && fam < POOL_FAMILIES; ++fam) {
		if (!ctx->pool.has[fam])
			continue;
		/* the pool's first host: the gateway's own interface address (pool.h) */
		gw = ctx->pool.net[fam];
		gw.prefix = (uint8_t)(pool_addr_len(gw.family) * 8);
		pool_addr_inc(gw.addr, pool_addr_len(gw.family));
		for (i = 0; i < r->n_allowed_ips; ++i) {
			if (!cidr_overlap(&r->allowed_ips[i], &gw))
				continue;
			cidr_format(c, &gw);
			snprintf(msg, sizeof(msg), "allowed_ips include %s, reserved for the gateway's own address", c);
			api_error(resp, 400, msg, "allowed_ips");
			return true;
		}
	}
	return false;
}

/* 400 for an expiry that has already passed; true when refused. */
static bool expiry_refused(const struct peer_record *r, struct api_response *resp)
{
	if (!r->expires_at || r->expires_at > time(NULL))
		return false;
	api_error(resp, 400, "expires_at is in the past", "expires_at");
	return true;
}

static void peer_create(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
			struct api_response *resp)
{
	struct store_who who = api_who(caller);
	struct peer_record r;
	const char *field = NULL;
	uint8_t conflict[WG_KEY_LEN];
	bool created = false;
	int ret;

	ret = peer_record_from_json(&r, req->body ? req->body : "", req->body_len, &field);
	if (ret)
		return api_body_error(resp, ret, field);
	if (who.enroll && r.n_allowed_ips) {
		api_error(resp, 403, "an enroll token gets addresses from the pool only: omit allowed_ips", "token");
		goto out;
	}
	if (!r.n_allowed_ips && !ctx->has_pool) {
		api_error(resp, 400, "allowed_ips is required: this registry has no address pool", "allowed_ips");
		goto out;
	}
	if (api_reserved_refused(ctx, &r, resp) || expiry_refused(&r, resp))
		goto out;
	r.created_at = 0; /* set by the registry, never by the client */
	ret = store_peer_create(ctx->store, &r, ctx->has_pool ? &ctx->pool : NULL, time(NULL), &who, &created,
				conflict);
	switch (ret) {
	case 0:
		api_record_response(resp, created ? 201 : 200, &r);
		break;
	case -EEXIST:
		api_error(resp, 409, "a peer with this public_key exists with a different record", "public_key");
		break;
	case -EADDRINUSE:
		api_overlap_error(resp, conflict);
		break;
	case -ENOSPC:
		api_error(resp, 409, "address pool exhausted", "allowed_ips");
		break;
	case -EDQUOT:
		api_error(resp, 403, "this enroll token has created all the peers it may", "token");
		break;
	default:
		api_store_error(resp, ret);
	}
out:
	peer_record_clear(&r);
}

static void peer_get(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp,
		     const uint8_t key[static WG_KEY_LEN])
{
	struct peer_record r;
	bool bad;
	const char *gw = api_gateway_arg(req, &bad);
	int ret;

	if (bad) {
		api_error(resp, 400, "invalid gateway name", "gateway");
		return;
	}
	ret = store_peer_get(ctx->store, key, time(NULL), &r);
	if (ret == -ENOENT || (!ret && gw && r.has_gateway && strcmp(gw, r.gateway)))
		api_error(resp, 404, "no such peer", NULL);
	else if (ret)
		api_store_error(resp, ret);
	else
		api_record_response(resp, 200, &r);
	peer_record_clear(&r);
}

static void peer_delete(const struct api_ctx *ctx, const struct api_caller *caller, struct api_response *resp,
			const uint8_t key[static WG_KEY_LEN])
{
	struct store_who who = api_who(caller);
	int ret = store_peer_delete(ctx->store, key, time(NULL), &who);

	/* An unknown key is an error the operator must see: a typo never reads as "revoked". */
	if (ret == -ENOENT)
		return api_error(resp, 404, "no such peer", "public_key");
	if (ret)
		return api_store_error(resp, ret);
	resp->status = 204;
	resp->body = NULL;
}

/* Strict decimal in [1, API_LIST_MAX]. */
int api_parse_limit(const char *s, size_t *out)
{
	size_t v = 0;

	if (!s) {
		*out = API_LIST_DEFAULT;
		return 0;
	}
	if (!*s || strlen(s) > 4)
		return -EINVAL;
	for (; *s; ++s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (size_t)(*s - '0');
	}
	if (v < 1 || v > API_LIST_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A page object {"member": []}; *arr is the array (owned by the page). NULL when out of memory. */
struct json_object *api_page_new(const char *member, struct json_object **arr)
{
	struct json_object *o = json_object_new_object();

	*arr = json_object_new_array();
	if (!o || !*arr || json_object_object_add(o, member, *arr)) {
		json_object_put(*arr);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Appends item (consumed, may be NULL from a failed constructor): 0 or -ENOMEM. */
int api_page_add(struct json_object *arr, struct json_object *item)
{
	if (!item || json_object_array_add(arr, item)) {
		json_object_put(item);
		return -ENOMEM;
	}
	return 0;
}

/* The page as the 200 response body: 0, or -ENOMEM with *resp untouched. */
int api_page_send(struct api_response *resp, struct json_object *o)
{
	resp->body = api_json_text(o);
	if (!resp->body)
		return -ENOMEM;
	resp->status = 200;
	return 0;
}

static void peer_list(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	const char *cur = req->query ? req->query(req->query_arg, "cursor") : NULL;
	const char *lim = req->query ? req->query(req->query_arg, "limit") : NULL;
	struct peer_record *recs = NULL;
	struct json_object *o = NULL, *arr;
	uint8_t after[WG_KEY_LEN];
	char next[WG_KEY_B64URL_LEN + 1];
	size_t limit, i, n = 0;
	const char *gw, *owner;
	bool bad;
	int ret;

	gw = api_gateway_arg(req, &bad);
	if (bad) {
		api_error(resp, 400, "invalid gateway name", "gateway");
		return;
	}
	if (api_parse_limit(lim, &limit)) {
		api_error(resp, 400, "limit must be an integer from 1 to 1000", "limit");
		return;
	}
	/* The cursor is the last key of the previous page: keyset paging sees each peer once. */
	if (cur && (strlen(cur) != WG_KEY_B64URL_LEN || key_from_base64url(after, cur))) {
		api_error(resp, 400, "invalid cursor", "cursor");
		return;
	}
	owner = req->query ? req->query(req->query_arg, "owner") : NULL;
	if (owner && !peer_label_valid(owner)) {
		api_error(resp, 400, "invalid owner (1-63 of A-Z a-z 0-9 . _ - @)", "owner");
		return;
	}
	ret = store_peer_list(ctx->store, cur ? after : NULL, gw, owner, time(NULL), limit + 1, &recs, &n);
	if (ret) {
		api_store_error(resp, ret);
		return;
	}
	o = api_page_new("peers", &arr);
	if (!o)
		goto oom;
	for (i = 0; i < n && i < limit; ++i)
		if (api_page_add(arr, peer_record_to_json_object(&recs[i])))
			goto oom;
	if (n > limit) {
		key_to_base64url(next, recs[limit - 1].public_key);
		json_object_object_add(o, "next_cursor", json_object_new_string(next));
	}
	if (api_page_send(resp, o))
		goto oom;
	goto out;
oom:
	api_error(resp, 503, "out of memory", NULL);
out:
	json_object_put(o);
	for (i = 0; i < n; ++i)
		peer_record_clear(&recs[i]);
	free(recs);
}

/* A feed cursor: strict decimal, 0 to INT64_MAX. */
int api_parse_since(const char *s, int64_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 19)
		return -EINVAL;
	for (; *s; ++s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > INT64_MAX)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

/* One feed entry: {"op":"put","peer":{...}} or {"op":"delete","public_key":"..."}. */
static struct json_object *change_to_json(const struct store_change *ch)
{
	struct json_object *o = json_object_new_object(), *v;
	char k[WG_KEY_B64_LEN + 1];

	if (!o)
		return NULL;
	if (ch->deleted) {
		key_to_base64(k, ch->rec.public_key);
		v = json_object_new_string(k);
	} else {
		v = peer_record_to_json_object(&ch->rec);
	}
	if (!v || json_object_object_add(o, "op", json_object_new_string(ch->deleted ? "delete" : "put")) ||
	    json_object_object_add(o, ch->deleted ? "public_key" : "peer", v)) {
		json_object_put(v);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The long poll's wait=S: strict decimal seconds, 0..FEEDWAIT_MAX_S; absent is 0. */
static int parse_wait(const char *s, unsigned int *out)
{
	unsigned int v = 0;

	*out = 0;
	if (!s)
		return 0;
	if (!*s || strlen(s) > 2)
		return -EINVAL;
	for (; *s; ++s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (v > FEEDWAIT_MAX_S)
		return -EINVAL;
	*out = v;
	return 0;
}

/* GET /v1/peers?since=C[&wait=S][&gateway=NAME][&limit=N]: the change feed (docs/API.md). */
static void peer_feed(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp,
		      const char *since_arg)
{
	const char *lim = req->query(req->query_arg, "limit");
	unsigned int wait;
	struct store_change *ch = NULL;
	struct json_object *o = NULL, *arr;
	int64_t since, next;
	char num[24];
	size_t limit, i, n = 0;
	const char *gw;
	bool bad;
	int ret;

	gw = api_gateway_arg(req, &bad);
	if (bad)
		return api_error(resp, 400, "invalid gateway name", "gateway");
	if (api_parse_limit(lim, &limit))
		return api_error(resp, 400, "limit must be an integer from 1 to 1000", "limit");
	if (api_parse_since(since_arg, &since))
		return api_error(resp, 400, "since must be a cursor from this feed (a decimal number), or 0", "since");
	if (parse_wait(req->query(req->query_arg, "wait"), &wait))
		return api_error(resp, 400, "wait must be an integer number of seconds from 0 to 60", "wait");
	ret = store_peer_changes(ctx->store, gw, since, time(NULL), limit + 1, &ch, &n);
	if (ret == -ESTALE)
		return api_error(resp, 410, "cursor too old: tombstones after it were pruned; restart from 0", "since");
	if (ret)
		return api_store_error(resp, ret);
	next = since;
	o = api_page_new("changes", &arr);
	if (!o)
		goto oom;
	for (i = 0; i < n && i < limit; ++i) {
		if (api_page_add(arr, change_to_json(&ch[i])))
			goto oom;
		next = ch[i].seq;
	}
	snprintf(num, sizeof(num), "%lld", (long long)next);
	if (json_object_object_add(o, "next_since", json_object_new_string(num)) ||
	    json_object_object_add(o, "more", json_object_new_boolean(n > limit)))
		goto oom;
	if (api_page_send(resp, o))
		goto oom;
	if (!n)
		resp->hold_s = wait;
	goto out;
oom:
	api_error(resp, 503, "out of memory", NULL);
out:
	json_object_put(o);
	store_changes_free(ch, n);
}

static void pool_get(const struct api_ctx *ctx, struct api_response *resp)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char c[CIDR_STR_MAX];
	int fam;

	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		api_error(resp, 503, "out of memory", NULL);
		return;
	}
	for (fam = 0; ctx->has_pool && fam < POOL_FAMILIES; ++fam) {
		if (!ctx->pool.has[fam])
			continue;
		cidr_format(c, &ctx->pool.net[fam]);
		json_object_array_add(arr, json_object_new_string(c));
	}
	json_object_object_add(o, "pool", arr);
	resp->body = api_json_text(o);
	resp->status = resp->body ? 200 : 503;
	json_object_put(o);
}

static void not_allowed(struct api_response *resp)
{
	api_error(resp, 405, "method not allowed", NULL);
}

bool api_refuse_unauthorized(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	struct api_caller caller;

	return api_admit(ctx, req, &caller, resp);
}

/* /v1/peers/{key}[/rotate] */
static void peer_one(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		     struct api_response *resp, const char *rest)
{
	char k[WG_KEY_B64URL_LEN + 1];
	const char *slash = strchr(rest, '/');
	size_t klen = slash ? (size_t)(slash - rest) : strlen(rest);
	uint8_t key[WG_KEY_LEN];
	bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

	/* a '/' other than "/rotate" is most likely standard base64 in the path */
	if ((slash && strcmp(slash, "/rotate")) || klen != WG_KEY_B64URL_LEN)
		return api_error(resp, 400, "invalid public key in path (want base64url, no padding)", "public_key");
	memcpy(k, rest, klen);
	k[klen] = '\0';
	if (!api_path_key(k, key))
		return api_error(resp, 400, "invalid public key in path (want base64url, no padding)", "public_key");
	if (slash)
		return strcmp(req->method, "POST") ? not_allowed(resp) : api_peer_rotate(ctx, req, caller, resp, key);
	if (get)
		return peer_get(ctx, req, resp, key);
	if (!strcmp(req->method, "DELETE"))
		return peer_delete(ctx, caller, resp, key);
	if (!strcmp(req->method, "PATCH"))
		return api_peer_update(ctx, req, caller, resp, key);
	not_allowed(resp);
}

void api_handle(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	static const char peers[] = "/v1/peers";
	struct api_caller caller;
	const char *since;
	bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

	resp->status = 500;
	resp->body = NULL;
	resp->www_authenticate = false;
	resp->hold_s = 0;
	if (!strcmp(req->path, "/healthz")) {
		if (!get)
			return not_allowed(resp);
		resp->status = 200;
		resp->body = strdup("{\"status\":\"ok\"}");
		return;
	}
	if (api_admit(ctx, req, &caller, resp))
		return;
	if (!strcmp(req->path, peers) || !strcmp(req->path, "/v1/peers/")) {
		if (!strcmp(req->method, "POST"))
			return peer_create(ctx, req, &caller, resp);
		if (!get)
			return not_allowed(resp);
		since = req->query ? req->query(req->query_arg, "since") : NULL;
		if (since)
			return peer_feed(ctx, req, resp, since);
		if (req->query && req->query(req->query_arg, "wait"))
			return api_error(resp, 400, "wait applies to the change feed only (add since=)", "wait");
		return peer_list(ctx, req, resp);
	}
	if (!strncmp(req->path, peers, sizeof(peers) - 1) && req->path[sizeof(peers) - 1] == '/')
		return peer_one(ctx, req, &caller, resp, req->path + sizeof(peers));
	if (!strcmp(req->path, "/v1/pool")) {
		if (!get)
			return not_allowed(resp);
		return pool_get(ctx, resp);
	}
	if (!strcmp(req->path, "/v1/tokens") || !strncmp(req->path, "/v1/tokens/", 11))
		return api_tokens(ctx, req, &caller, resp);
	if (!strcmp(req->path, "/v1/audit"))
		return api_audit(ctx, req, resp);
	api_error(resp, 404, "not found", NULL);
}

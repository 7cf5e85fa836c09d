// SPDX-License-Identifier: MIT
/*
 * Who may do what (docs/API.md, "Tokens"): the bearer token is hashed
 * (SHA-256) and looked up for every request, as the legacy --token-file
 * token (admin) or a row of the tokens table; nothing is cached, so a
 * revoked or expired token fails on its next request. Scopes:
 *
 *   admin    everything;
 *   gateway  GET of peers, one peer, the feed and the pool; bound to a
 *            gateway name, gateway= must be that name;
 *   enroll   POST /v1/peers without allowed_ips (pool addresses), at most
 *            max_peers times, and GET /v1/pool.
 *
 * Also here: the token and audit endpoints (admin only).
 */
#include "registry/api_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "common/rfc3339.h"

enum { TOKEN_FILE_MAX = 4096, TOKEN_SECRET_LEN = 32 };

static const char token_prefix[] = "jitwg_";

static int sha256(const void *data, size_t len, uint8_t out[static API_TOKEN_HASH_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != API_TOKEN_HASH_LEN)
		return -EIO;
	return 0;
}

int api_token_load(struct api_ctx *ctx, const char *path)
{
	char buf[TOKEN_FILE_MAX + 1];
	ssize_t n = 0, r;
	size_t start = 0, end;
	int fd, ret = -EINVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - (size_t)n)) > 0)
		n += r;
	if (r < 0)
		ret = -errno;
	close(fd);
	if (r < 0 || (size_t)n > TOKEN_FILE_MAX)
		goto out;
	end = (size_t)n;
	while (start < end && isspace((unsigned char)buf[start]))
		++start;
	while (end > start && isspace((unsigned char)buf[end - 1]))
		--end;
	if (end == start || memchr(buf + start, '\n', end - start))
		goto out;
	ret = sha256(buf + start, end - start, ctx->token_hash);
	if (!ret)
		ctx->has_token = true;
out:
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

int api_token_generate(char out[static API_TOKEN_TEXT_MAX], uint8_t hash[static API_TOKEN_HASH_LEN])
{
	uint8_t secret[TOKEN_SECRET_LEN];
	int ret = -EIO;

	if (RAND_bytes(secret, sizeof(secret)) != 1)
		goto out;
	memcpy(out, token_prefix, sizeof(token_prefix) - 1);
	key_to_base64url(out + sizeof(token_prefix) - 1, secret);
	ret = sha256(out, strlen(out), hash);
out:
	explicit_bzero(secret, sizeof(secret));
	return ret;
}

/* "Bearer <token>" (scheme case-insensitive) hashed into h; false when absent or malformed. */
static bool bearer_hash(const char *hdr, uint8_t h[static API_TOKEN_HASH_LEN])
{
	if (!hdr || strncasecmp(hdr, "Bearer ", 7))
		return false;
	hdr += 7;
	while (*hdr == ' ')
		++hdr;
	return *hdr && !sha256(hdr, strlen(hdr), h);
}

/*
 * 0 with *tok, -EACCES (no valid token: 401) or a store error. Hashing both
 * sides first makes the legacy comparison constant-time in the token's
 * length as well as its content; table tokens are found by their hash.
 */
static int authenticate(const struct api_ctx *ctx, const char *hdr, struct store_token *tok)
{
	uint8_t h[API_TOKEN_HASH_LEN];
	int64_t now = time(NULL);
	bool any = false;
	int ret;

	memset(tok, 0, sizeof(*tok));
	tok->scope = STORE_SCOPE_ADMIN;
	if (!bearer_hash(hdr, h)) {
		/* No token: fine only for a registry with no token at all. */
		if (ctx->has_token)
			return -EACCES;
		ret = store_token_any(ctx->store, &any);
		return ret ? ret : any ? -EACCES : 0;
	}
	if (ctx->has_token && !CRYPTO_memcmp(h, ctx->token_hash, sizeof(h))) {
		ret = 0;
		goto out;
	}
	ret = store_token_find(ctx->store, h, tok);
	if (ret == -ENOENT || (!ret && (tok->revoked_at || (tok->expires_at && tok->expires_at <= now))))
		ret = -EACCES;
	if (ret == -EACCES && !ctx->has_token) {
		/* a registry without any token accepts any header, as before tokens existed */
		int err = store_token_any(ctx->store, &any);

		if (!err && !any) {
			memset(tok, 0, sizeof(*tok));
			ret = 0;
		}
	}
out:
	explicit_bzero(h, sizeof(h));
	return ret;
}

static bool is_get(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

/* Why the scope refuses this request (403), or NULL when it allows it. */
static const char *scope_refusal(const struct store_token *t, const struct api_request *req)
{
	const char *p = req->path, *gw;
	bool peers = !strcmp(p, "/v1/peers") || !strcmp(p, "/v1/peers/");
	bool one = !peers && !strncmp(p, "/v1/peers/", 10) && !strchr(p + 10, '/');
	bool pool = !strcmp(p, "/v1/pool");

	switch (t->scope) {
	case STORE_SCOPE_ADMIN:
		return NULL;
	case STORE_SCOPE_GATEWAY:
		if (!is_get(req->method) || !(peers || one || pool))
			return "a gateway token reads peers, the feed and the pool only";
		gw = req->query ? req->query(req->query_arg, "gateway") : NULL;
		if (t->has_gateway && !pool && (!gw || strcmp(gw, t->gateway)))
			return "this gateway token is bound to another gateway name (gateway=)";
		return NULL;
	case STORE_SCOPE_ENROLL:
		if ((peers && !strcmp(req->method, "POST")) || (pool && is_get(req->method)))
			return NULL;
		return "an enroll token creates peers (POST /v1/peers) and reads the pool only";
	}
	return "unknown scope";
}

bool api_admit(const struct api_ctx *ctx, const struct api_request *req, struct api_caller *caller,
	       struct api_response *resp)
{
	const char *why;
	int ret;

	memset(caller, 0, sizeof(*caller));
	if (!strcmp(req->path, "/healthz"))
		return false;
	ret = authenticate(ctx, req->authorization, &caller->tok);
	if (ret == -EACCES) {
		api_error(resp, 401, "missing, unknown, revoked or expired bearer token", NULL);
		resp->www_authenticate = true;
		return true;
	}
	if (ret) {
		api_store_error(resp, ret);
		return true;
	}
	if (!strcmp(req->path, "/metrics") && caller->tok.scope != STORE_SCOPE_ADMIN)
		why = "metrics need an admin token";
	else
		why = scope_refusal(&caller->tok, req);
	if (why) {
		api_error(resp, 403, why, "token");
		return true;
	}
	return false;
}

struct store_who api_who(const struct api_caller *caller)
{
	return (struct store_who){ .token_id = caller->tok.id, .enroll = caller->tok.scope == STORE_SCOPE_ENROLL };
}

/* ---- /v1/tokens --------------------------------------------------------------- */

static struct json_object *token_to_json(const struct store_token *t)
{
	struct json_object *o = json_object_new_object();
	char ts[RFC3339_MAX];

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "scope", json_object_new_string(store_scope_name(t->scope)));
	if (t->has_gateway)
		json_object_object_add(o, "gateway", json_object_new_string(t->gateway));
	if (t->scope == STORE_SCOPE_ENROLL) {
		json_object_object_add(o, "max_peers", json_object_new_int64(t->max_peers));
		json_object_object_add(o, "used", json_object_new_int64(t->used));
	}
	if (t->expires_at) {
		rfc3339_format(ts, t->expires_at);
		json_object_object_add(o, "expires_at", json_object_new_string(ts));
	}
	rfc3339_format(ts, t->created_at);
	json_object_object_add(o, "created_at", json_object_new_string(ts));
	if (t->revoked_at) {
		rfc3339_format(ts, t->revoked_at);
		json_object_object_add(o, "revoked_at", json_object_new_string(ts));
	}
	if (t->comment[0])
		json_object_object_add(o, "comment", json_object_new_string(t->comment));
	return o;
}

int api_token_check(const struct store_token *t, int64_t now, const char **field)
{
	size_t i;

	*field = NULL;
	if (t->has_gateway && (t->scope != STORE_SCOPE_GATEWAY || !peer_gateway_valid(t->gateway)))
		*field = "gateway";
	else if (t->scope == STORE_SCOPE_ENROLL ? t->max_peers < 1 || t->max_peers > 1000000 : t->max_peers != 0)
		*field = "max_peers";
	else if (t->expires_at && t->expires_at <= now)
		*field = "expires_at";
	for (i = 0; !*field && t->comment[i]; ++i)
		if ((unsigned char)t->comment[i] < 0x20 || t->comment[i] == 0x7f)
			*field = "comment";
	return *field ? -EINVAL : 0;
}

/* The body of POST /v1/tokens into *t: 0, or -EINVAL with field naming the member ("body" for the JSON). */
static int token_from_json(const char *body, size_t len, struct store_token *t, char field[static 64])
{
	struct json_object *o = json_tokener_parse(len ? body : "");
	const char *s, *bad = "body";
	int64_t v;
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	snprintf(field, 64, "body");
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	t->max_peers = -1;
	json_object_object_foreach(o, k, val) {
		bool null = json_object_is_type(val, json_type_null);

		snprintf(field, 64, "%s", k);
		s = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
		if (!strcmp(k, "scope")) {
			if (!s || store_scope_parse(s, &t->scope))
				goto out;
		} else if (!strcmp(k, "gateway")) {
			if (null)
				continue;
			if (!s || strlen(s) >= sizeof(t->gateway))
				goto out;
			strcpy(t->gateway, s);
			t->has_gateway = true;
		} else if (!strcmp(k, "max_peers")) {
			if (!json_object_is_type(val, json_type_int))
				goto out;
			t->max_peers = json_object_get_int64(val);
		} else if (!strcmp(k, "expires_at")) {
			if (null)
				continue;
			if (!s || rfc3339_parse(&v, s) || v <= 0)
				goto out;
			t->expires_at = v;
		} else if (!strcmp(k, "comment")) {
			if (null)
				continue;
			if (!s || strlen(s) >= sizeof(t->comment))
				goto out;
			strcpy(t->comment, s);
		} else {
			goto out;
		}
	}
	snprintf(field, 64, "scope");
	if (!json_object_object_get_ex(o, "scope", NULL))
		goto out;
	if (t->max_peers < 0)
		t->max_peers = t->scope == STORE_SCOPE_ENROLL ? 1 : 0;
	ret = api_token_check(t, time(NULL), &bad);
	snprintf(field, 64, "%s", bad ? bad : "body");
out:
	json_object_put(o);
	return ret;
}

static void token_create(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
			 struct api_response *resp)
{
	struct store_token t;
	struct store_who who = api_who(caller);
	struct json_object *o;
	char secret[API_TOKEN_TEXT_MAX], msg[128], field[64];
	uint8_t hash[API_TOKEN_HASH_LEN];
	int ret;

	if (token_from_json(req->body, req->body_len, &t, field)) {
		snprintf(msg, sizeof(msg), "invalid or unknown field '%s'", field);
		return api_error(resp, 400, msg, field);
	}
	ret = api_token_generate(secret, hash);
	if (!ret)
		ret = store_token_create(ctx->store, hash, &t, time(NULL), &who);
	if (ret) {
		explicit_bzero(secret, sizeof(secret));
		return api_store_error(resp, ret);
	}
	o = token_to_json(&t);
	if (o)
		json_object_object_add(o, "token", json_object_new_string(secret));
	resp->body = o ? api_json_text(o) : NULL;
	resp->status = resp->body ? 201 : 503;
	json_object_put(o);
	explicit_bzero(secret, sizeof(secret));
}

static void token_list(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	const char *lim = req->query ? req->query(req->query_arg, "limit") : NULL;
	const char *aft = req->query ? req->query(req->query_arg, "after") : NULL;
	struct store_token *t = NULL;
	struct json_object *o = NULL, *arr;
	int64_t after = 0;
	size_t limit, i, n = 0;
	int ret;

	if (api_parse_limit(lim, &limit))
		return api_error(resp, 400, "limit must be an integer from 1 to 1000", "limit");
	if (aft && api_parse_since(aft, &after))
		return api_error(resp, 400, "after must be a token id", "after");
	ret = store_token_list(ctx->store, after, limit, &t, &n);
	if (ret)
		return api_store_error(resp, ret);
	o = api_page_new("tokens", &arr);
	for (i = 0; o && i < n; ++i)
		if (api_page_add(arr, token_to_json(&t[i])))
			break;
	if (!o || i < n || api_page_send(resp, o))
		api_error(resp, 503, "out of memory", NULL);
	json_object_put(o);
	free(t);
}

void api_tokens(const struct api_ctx *ctx, const struct api_request *req, const struct api_caller *caller,
		struct api_response *resp)
{
	const char *rest = req->path + strlen("/v1/tokens");
	struct store_who who = api_who(caller);
	int64_t id;
	int ret;

	if (!*rest || !strcmp(rest, "/")) {
		if (!strcmp(req->method, "POST"))
			return token_create(ctx, req, caller, resp);
		if (is_get(req->method))
			return token_list(ctx, req, resp);
		return api_error(resp, 405, "method not allowed", NULL);
	}
	if (rest[0] != '/' || api_parse_since(rest + 1, &id) || id < 1)
		return api_error(resp, 404, "not found", NULL);
	if (strcmp(req->method, "DELETE"))
		return api_error(resp, 405, "method not allowed", NULL);
	ret = store_token_revoke(ctx->store, id, time(NULL), &who);
	if (ret == -ENOENT)
		return api_error(resp, 404, "no such live token", "id");
	if (ret)
		return api_store_error(resp, ret);
	resp->status = 204;
	resp->body = NULL;
}

/* ---- /v1/audit ---------------------------------------------------------------- */

static struct json_object *audit_to_json(const struct store_audit *a)
{
	struct json_object *o = json_object_new_object();
	char ts[RFC3339_MAX];

	if (!o)
		return NULL;
	rfc3339_format(ts, a->at);
	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_object_object_add(o, "at", json_object_new_string(ts));
	json_object_object_add(o, "token_id", json_object_new_int64(a->token_id));
	json_object_object_add(o, "action", json_object_new_string(a->action));
	json_object_object_add(o, "target", json_object_new_string(a->target));
	if (a->detail[0])
		json_object_object_add(o, "detail", json_object_new_string(a->detail));
	return o;
}

void api_audit(const struct api_ctx *ctx, const struct api_request *req, struct api_response *resp)
{
	const char *lim = req->query ? req->query(req->query_arg, "limit") : NULL;
	const char *snc = req->query ? req->query(req->query_arg, "since") : NULL;
	struct store_audit *a = NULL;
	struct json_object *o = NULL, *arr;
	int64_t since = 0;
	char num[24];
	size_t limit, i, n = 0;
	int ret;

	if (!is_get(req->method))
		return api_error(resp, 405, "method not allowed", NULL);
	if (api_parse_limit(lim, &limit))
		return api_error(resp, 400, "limit must be an integer from 1 to 1000", "limit");
	if (snc && api_parse_since(snc, &since))
		return api_error(resp, 400, "since must be an audit id (a decimal number), or 0", "since");
	ret = store_audit_list(ctx->store, since, limit, &a, &n);
	if (ret)
		return api_store_error(resp, ret);
	o = api_page_new("entries", &arr);
	for (i = 0; o && i < n; ++i)
		if (api_page_add(arr, audit_to_json(&a[i])))
			break;
	snprintf(num, sizeof(num), "%" PRId64, n ? a[n - 1].id : since);
	if (o)
		json_object_object_add(o, "next_since", json_object_new_string(num));
	if (!o || i < n || api_page_send(resp, o))
		api_error(resp, 503, "out of memory", NULL);
	json_object_put(o);
	free(a);
}

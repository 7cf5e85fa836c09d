// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the registry's request handling (api_handle): routing,
 * path keys, query arguments, auth header and JSON bodies, against a real
 * store (SQLite in memory, with an address pool), so create/overlap/allocate
 * paths run too. Input: "METHOD PATH?QUERY\nAUTHORIZATION\nBODY".
 * Invariants: every response has a status from the documented set and a JSON
 * body unless it is 204. The change feed (GET /v1/peers?since=C[&gateway=NAME]
 * [&limit=N], docs/API.md) answers 200 with {"changes": [...], "next_since":
 * "<decimal>", "more": bool}: every change a put with a record or a delete
 * with a key, no more than the limit, next_since never before since, and with
 * gateway=NAME no put of a peer bound to another gateway. The store lives
 * across inputs, so creates and deletes of earlier inputs feed later walks.
 * Also PATCH /v1/peers/{key} and POST .../rotate (a 200 is a record the
 * shared parser accepts), /v1/tokens and /v1/audit, and scopes: the legacy
 * token is "t" (admin); tokens that inputs create are real, so later inputs
 * may use them (a 403 always names field "token"; a 409 overlap names its
 * holder). A long poll's hold_s is set only on an empty 200 feed page.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "registry/api.h"
#include "wire/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_ctx ctx;
/*
 * Values handed out by query(): MHD's stay valid for the whole request, and a
 * handler reads several arguments before using them (the feed: limit, gateway,
 * since), so each call gets its own buffer; QUERY_BUFS covers the most a
 * handler reads plus the harness's own checks.
 */
enum { QUERY_BUFS = 8, QUERY_MAX = 512 };
static char query_buf[QUERY_BUFS][QUERY_MAX];
static unsigned int query_next;

/* A tiny query parser: "a=b&c=d", first match, no unescaping (the server's is MHD's). */
static const char *query(void *arg, const char *name)
{
	const char *q = arg;
	size_t n = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);

		if (len > n && !strncmp(q, name, n) && q[n] == '=') {
			char *b = query_buf[query_next++ % QUERY_BUFS];

			if (len - n - 1 >= QUERY_MAX)
				return NULL;
			memcpy(b, q + n + 1, len - n - 1);
			b[len - n - 1] = '\0';
			return b;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

/* Strict decimal as the feed writes its cursors: 1-19 digits, no sign. */
static bool cursor_parse(const char *s, unsigned long long *out)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 19)
		return false;
	for (i = 0; i < n; ++i)
		if (s[i] < '0' || s[i] > '9')
			return false;
	*out = strtoull(s, NULL, 10);
	return true;
}

static const char *json_str(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * A 200 from the change feed, against the request's since/limit/gateway
 * (already validated by the handler: it answered 200). Aborts on a breach.
 */
static void check_feed(struct json_object *o, const char *qs)
{
	const char *since_arg = query((void *)qs, "since"), *lim_arg = query((void *)qs, "limit");
	const char *gw = query((void *)qs, "gateway"), *next_s, *op, *g;
	struct json_object *changes, *more, *c, *peer;
	unsigned long long since = 0, next = 0, lim = API_LIST_DEFAULT;
	size_t n, i;

	if (!since_arg || !cursor_parse(since_arg, &since))
		abort(); /* a 200 for a cursor the handler must refuse */
	if (lim_arg && !cursor_parse(lim_arg, &lim))
		abort();
	if (!json_object_object_get_ex(o, "changes", &changes) || !json_object_is_type(changes, json_type_array) ||
	    !json_object_object_get_ex(o, "more", &more) || !json_object_is_type(more, json_type_boolean))
		abort();
	next_s = json_str(o, "next_since");
	if (!next_s || !cursor_parse(next_s, &next) || next < since)
		abort();
	n = json_object_array_length(changes);
	if (n > lim || (n == 0 && (next != since || json_object_get_boolean(more))))
		abort();
	for (i = 0; i < n; ++i) {
		c = json_object_array_get_idx(changes, i);
		op = c ? json_str(c, "op") : NULL;
		if (!op)
			abort();
		if (!strcmp(op, "delete")) {
			if (!json_str(c, "public_key"))
				abort();
		} else if (!strcmp(op, "put")) {
			if (!json_object_object_get_ex(c, "peer", &peer) || !json_str(peer, "public_key"))
				abort();
			g = json_str(peer, "gateway");
			if (gw && g && strcmp(g, gw))
				abort(); /* bound to another gateway: not this gateway's to fetch */
		} else {
			abort();
		}
	}
}

/* The legacy admin token "t", as --token-file would load it. */
static void legacy_token(void)
{
	char path[] = "/tmp/fuzz_api_token.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, "t\n", 2) != 2 || api_token_load(&ctx, path))
		abort();
	close(fd);
	unlink(path);
}

/* Invariants of the scoped, edit, token and long-poll answers. */
static void check_more(const struct api_request *req, const struct api_response *resp, struct json_object *o)
{
	const char *f = json_str(o, "field");
	struct peer_record r;
	const char *text, *field;

	if (resp->hold_s && (resp->status != 200 || resp->hold_s > 60))
		abort();
	if (resp->status == 403 && (!f || strcmp(f, "token")))
		abort();
	if (resp->status == 409 && f && !strcmp(f, "allowed_ips") && strstr(json_str(o, "error"), "overlap") &&
	    !json_str(o, "holder"))
		abort();
	if (resp->status == 201 && !strcmp(req->path, "/v1/tokens")) {
		text = json_str(o, "token");
		if (!text || strncmp(text, "jitwg_", 6))
			abort();
	}
	if (resp->status == 200 && (!strcmp(req->method, "PATCH") || strstr(req->path, "/rotate"))) {
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (peer_record_from_json(&r, text, strlen(text), &field))
			abort();
		peer_record_clear(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ok[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409, 410, 413, 500, 503 };
	struct api_request req = { 0 };
	struct api_response resp;
	char *buf, *line1, *auth = NULL, *body = NULL, *sp, *qm;
	const char *why;
	size_t i;

	if (!ctx.store) {
		ctx.store = store_open(":memory:", 1);
		if (!ctx.store || pool_parse(&ctx.pool, "10.0.0.0/28,fd00::/124", &why))
			abort();
		ctx.has_pool = true;
		legacy_token();
	}
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	line1 = buf;
	auth = memchr(buf, '\n', size);
	if (auth) {
		*auth++ = '\0';
		body = strchr(auth, '\n');
		if (body)
			*body++ = '\0';
	}
	sp = strchr(line1, ' ');
	if (!sp)
		goto out;
	*sp = '\0';
	req.method = line1;
	req.path = sp + 1;
	qm = strchr(sp + 1, '?');
	if (qm)
		*qm++ = '\0';
	req.query = query;
	req.query_arg = qm;
	req.authorization = auth && *auth ? auth : NULL;
	req.body = body;
	req.body_len = body ? size - (size_t)(body - buf) : 0;
	api_handle(&ctx, &req, &resp);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); ++i)
		if (resp.status == ok[i])
			break;
	if (i == sizeof(ok) / sizeof(ok[0]))
		abort();
	if (resp.status != 204) {
		struct json_object *o = resp.body ? json_tokener_parse(resp.body) : NULL;

		if (!o)
			abort();
		if (resp.status == 200 && !strcmp(req.method, "GET") && !strcmp(req.path, "/v1/peers") && qm &&
		    query(qm, "since"))
			check_feed(o, qm);
		check_more(&req, &resp, o);
		json_object_put(o);
	}
	free(resp.body);
out:
	free(buf);
	return 0;
}

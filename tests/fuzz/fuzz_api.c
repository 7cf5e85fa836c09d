// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the registry's request handling (api_handle): routing,
 * path keys, query arguments, auth header and JSON bodies, against a real
 * store (SQLite in memory, with an address pool), so create/overlap/allocate
 * paths run too. Input: "METHOD PATH?QUERY\nAUTHORIZATION\nBODY".
 * Invariants: every response has a status from the documented set and a JSON
 * body unless it is 204.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "registry/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_ctx ctx;
static char query_buf[512];

/* A tiny query parser: "a=b&c=d", no unescaping (the server's is MHD's). */
static const char *query(void *arg, const char *name)
{
	const char *q = arg;
	size_t n = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);

		if (len > n && !strncmp(q, name, n) && q[n] == '=') {
			if (len - n - 1 >= sizeof(query_buf))
				return NULL;
			memcpy(query_buf, q + n + 1, len - n - 1);
			query_buf[len - n - 1] = '\0';
			return query_buf;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ok[] = { 200, 201, 204, 400, 401, 404, 405, 409, 413, 500, 503 };
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
		json_object_put(o);
	}
	free(resp.body);
out:
	free(buf);
	return 0;
}

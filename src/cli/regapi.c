// SPDX-License-Identifier: MIT
#include "cli/regapi.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

enum {
	TOKEN_MAX = 4096,
	RESP_MAX = 64 * 1024 * 1024, /* a 1000-peer page is well under 1 MiB */
	TIMEOUT_S = 30,
};

struct regapi {
	CURL *curl;
	char *base;
	struct curl_slist *auth; /* "Authorization: Bearer ..." (secret) */
	char err[CURL_ERROR_SIZE];
};

struct buf {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *q;

	if (b->len + n > RESP_MAX) {
		b->too_big = true;
		return 0;
	}
	q = realloc(b->p, b->len + n + 1);
	if (!q)
		return 0;
	memcpy(q + b->len, ptr, n);
	b->len += n;
	q[b->len] = '\0';
	b->p = q;
	return n;
}

static int read_token(const char *path, char **out, const char **why)
{
	char buf[TOKEN_MAX + 2], *hdr = NULL;
	size_t n, start = 0, end;
	FILE *f;
	int ret = -EINVAL;

	f = fopen(path, "re");
	if (!f) {
		*why = strerror(errno);
		return -errno;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	end = n;
	while (start < end && isspace((unsigned char)buf[start]))
		++start;
	while (end > start && isspace((unsigned char)buf[end - 1]))
		--end;
	*why = "want one non-empty line";
	if (n > TOKEN_MAX || end == start || memchr(buf + start, '\n', end - start))
		goto out;
	buf[end] = '\0';
	if (asprintf(&hdr, "Authorization: Bearer %s", buf + start) < 0) {
		hdr = NULL;
		ret = -ENOMEM;
		goto out;
	}
	*out = hdr;
	ret = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

struct regapi *regapi_new(const char *base, const char *token_file, const char **why)
{
	struct regapi *r = calloc(1, sizeof(*r));
	const char *dummy;
	char *hdr = NULL;
	size_t n;
	int err = ENOMEM;

	if (!why)
		why = &dummy;
	*why = "out of memory";
	if (!r)
		goto fail;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		goto fail;
	r->curl = curl_easy_init();
	r->base = strdup(base);
	if (!r->curl || !r->base)
		goto fail;
	n = strlen(r->base);
	while (n > 0 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	if (token_file) {
		int ret = read_token(token_file, &hdr, why);

		if (ret) {
			err = -ret;
			goto fail;
		}
		r->auth = curl_slist_append(NULL, hdr);
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
		if (!r->auth)
			goto fail;
	}
	return r;
fail:
	regapi_free(r);
	errno = err;
	return NULL;
}

void regapi_free(struct regapi *r)
{
	struct curl_slist *s;

	if (!r)
		return;
	for (s = r->auth; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(r->auth);
	if (r->curl)
		curl_easy_cleanup(r->curl);
	free(r->base);
	free(r);
}

int regapi_request(struct regapi *r, const char *method, const char *path, const char *body, long *status,
		   char **resp, const char **why)
{
	struct curl_slist *hdrs = NULL, *s;
	struct buf b = { 0 };
	char *url = NULL;
	CURLcode rc;
	int ret = -EIO;

	*resp = NULL;
	*status = 0;
	*why = "out of memory";
	if (asprintf(&url, "%s%s", r->base, path) < 0)
		return -ENOMEM;
	for (s = r->auth; s; s = s->next)
		hdrs = curl_slist_append(hdrs, s->data);
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	/* curl would otherwise wait a second for "100 Continue" on larger bodies */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_reset(r->curl);
	r->err[0] = '\0';
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, r->err);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(r->curl);
	if (rc != CURLE_OK) {
		*why = b.too_big ? "response too large" : r->err[0] ? r->err : curl_easy_strerror(rc);
		goto out;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
	*resp = b.p ? b.p : strdup("");
	b.p = NULL;
	ret = *resp ? 0 : -ENOMEM;
out:
	/* the list holds copies of the bearer token */
	for (s = hdrs; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(hdrs);
	free(b.p);
	free(url);
	return ret;
}

void regapi_error_line(char *out, size_t n, long status, const char *body)
{
	struct json_object *o = body ? json_tokener_parse(body) : NULL, *e, *f;

	if (o && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string)) {
		if (json_object_object_get_ex(o, "field", &f) && json_object_is_type(f, json_type_string))
			snprintf(out, n, "%ld: %s (field %s)", status, json_object_get_string(e),
				 json_object_get_string(f));
		else
			snprintf(out, n, "%ld: %s", status, json_object_get_string(e));
	} else {
		snprintf(out, n, "HTTP status %ld", status);
	}
	json_object_put(o);
	/* The message may quote client input: keep it one printable line. */
	for (; *out; ++out)
		if (!isprint((unsigned char)*out))
			*out = '?';
}

// SPDX-License-Identifier: MIT
/*
 * One synchronous pair of requests on a thread of its own, so that an
 * unreachable registry delays nothing: the daemon is ready (and serving from
 * its cache) while the check waits for its timeout.
 */
#include "gateway/lookup/regcheck.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

enum { BODY_MAX = 64 * 1024 };

struct regcheck {
	pthread_t thread;
	char *base, *token, *gateway;
	unsigned int timeout_ms;
	struct metrics *m;
};

struct body {
	char buf[BODY_MAX + 1];
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (len > BODY_MAX - b->len)
		return 0;
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

/* GET base+path; the HTTP status, or 0 with curl's reason in err. */
static long get(const struct regcheck *rc, const char *path, bool auth, struct body *b, char err[CURL_ERROR_SIZE])
{
	struct curl_slist *hdr = NULL;
	char *url = NULL, *h = NULL;
	long status = 0;
	CURL *e = curl_easy_init();

	b->len = 0;
	b->buf[0] = '\0';
	err[0] = '\0';
	if (!e || asprintf(&url, "%s%s", rc->base, path) < 0) {
		url = NULL;
		snprintf(err, CURL_ERROR_SIZE, "out of memory");
		goto out;
	}
	if (auth && rc->token) {
		if (asprintf(&h, "Authorization: Bearer %s", rc->token) < 0) {
			h = NULL;
			goto out;
		}
		hdr = curl_slist_append(NULL, h);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "jitwgd");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rc->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	else if (!err[0])
		snprintf(err, CURL_ERROR_SIZE, "no answer");
out:
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	if (h) {
		explicit_bzero(h, strlen(h));
		free(h);
	}
	free(url);
	return status;
}

/* True when body is the change feed's answer: {"changes": [...], "next_since": N}. */
static bool feed_valid(const char *body)
{
	struct json_object *j = json_tokener_parse(body), *v;
	bool ok = j && json_object_object_get_ex(j, "next_since", &v) &&
		  json_object_object_get_ex(j, "changes", &v) && json_object_is_type(v, json_type_array);

	json_object_put(j);
	return ok;
}

/*
 * The verdict, pure: given /healthz's status (0 = no answer, curl's reason
 * in err), the feed's status and body, NULL when all is well or what to fix,
 * written into buf.
 */
static const char *judge(const char *url, bool has_token, long health, const char *err, long feed,
		  const char *body, char *buf, size_t len)
{
	size_t n = strlen(url);
	bool v1 = n >= 3 && !strcmp(url + n - 3, "/v1"); /* trailing slashes are gone */

	if (!health)
		snprintf(buf, len, "unreachable (%s): check --registry and that jitwg-registry runs there", err);
	else if (health != 200 && v1)
		snprintf(buf, len, "/healthz answered %ld: give --registry the server's root URL, without /v1", health);
	else if (health != 200)
		snprintf(buf, len, "/healthz answered %ld: is --registry a jitwg-registry's root URL?", health);
	else if (feed == 401 && has_token)
		snprintf(buf, len, "the token was refused (401): check --token-file (a token of scope "
			 "gateway, from jitwg-registry token create --scope gateway)");
	else if (feed == 401)
		snprintf(buf, len, "the registry wants a token (401): give --token-file");
	else if (feed == 403)
		snprintf(buf, len, "the token may not read this gateway's peers (403): check its scope "
			 "and --gateway");
	else if (feed != 200)
		snprintf(buf, len, "GET /v1/peers answered %ld: a registry of another API version?", feed);
	else if (!feed_valid(body))
		snprintf(buf, len, "GET /v1/peers is not the v1 change feed: a registry of another API version?");
	else
		return NULL;
	return buf;
}

static void *run(void *arg)
{
	struct regcheck *rc = arg;
	char err[CURL_ERROR_SIZE], why[512], path[128];
	struct body *b = malloc(sizeof(*b));
	long health, feed = 0;
	const char *bad;

	if (!b)
		return NULL;
	health = get(rc, "/healthz", false, b, err);
	if (health == 200) {
		snprintf(path, sizeof(path), "/v1/peers?since=0&limit=1%s%s", rc->gateway ? "&gateway=" : "",
			 rc->gateway ? rc->gateway : "");
		feed = get(rc, path, true, b, err);
	}
	bad = judge(rc->base, rc->token, health, err, feed, b->buf, why, sizeof(why));
	if (bad)
		log_warn("registry %s: %s; until then only cached peers can connect", rc->base, bad);
	else
		log_info("registry %s: reachable, token accepted, API v1", rc->base);
	if (rc->m)
		atomic_store_explicit(&rc->m->registry_check_ok, bad ? 0 : 1, memory_order_relaxed);
	free(b);
	return NULL;
}

static void rc_free(struct regcheck *rc)
{
	if (rc->token) {
		explicit_bzero(rc->token, strlen(rc->token));
		free(rc->token);
	}
	free(rc->base);
	free(rc->gateway);
	free(rc);
}

struct regcheck *regcheck_start(const struct regcheck_config *cfg)
{
	struct regcheck *rc = calloc(1, sizeof(*rc));
	size_t n;
	int ret;

	if (!rc)
		return NULL;
	rc->base = strdup(cfg->registry_url);
	rc->token = cfg->token ? strdup(cfg->token) : NULL;
	rc->gateway = cfg->gateway ? strdup(cfg->gateway) : NULL;
	rc->timeout_ms = cfg->timeout_ms;
	rc->m = cfg->metrics;
	if (!rc->base || (cfg->token && !rc->token) || (cfg->gateway && !rc->gateway)) {
		rc_free(rc);
		errno = ENOMEM;
		return NULL;
	}
	n = strlen(rc->base);
	while (n > 0 && rc->base[n - 1] == '/')
		rc->base[--n] = '\0';
	ret = pthread_create(&rc->thread, NULL, run, rc);
	if (ret) {
		rc_free(rc);
		errno = ret;
		return NULL;
	}
	return rc;
}

void regcheck_free(struct regcheck *rc)
{
	if (!rc)
		return;
	pthread_join(rc->thread, NULL);
	rc_free(rc);
}

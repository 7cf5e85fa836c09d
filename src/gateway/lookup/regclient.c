// SPDX-License-Identifier: MIT
/*
 * Registry client on libcurl's multi interface: one thread drives every
 * transfer, so concurrency costs sockets, not threads, and a registry that
 * hangs only ties up its own requests until their timeout. libcurl brings
 * keep-alive connection reuse, HTTPS and proxies; nothing here is HTTP by
 * hand.
 *
 * Failure handling is per registry (one client = one base URL): a failed
 * request starts a pause during which fetches are refused at once, so
 * callers fall back to stale records instead of queueing behind a dead
 * server. Failures of requests that were already in flight when the pause
 * began do not lengthen it, or sixteen parallel timeouts would push the
 * pause straight to its cap.
 */
#include "gateway/lookup/regclient.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/clock.h"
#include "common/buf.h"

struct xfer {
	struct xfer *next;       /* waiting FIFO or running list */
	struct regclient *rc;
	CURL *easy;
	uint8_t key[WG_KEY_LEN];
	struct buf body;             /* may hold a preshared key: wiped; max cfg.max_body + NUL */
	bool too_big;
	bool probe;
};

struct regclient {
	struct regclient_config cfg;
	regclient_done_fn done;
	void *ctx;
	char *base;              /* url without trailing '/' */
	char *gateway_q;         /* "?gateway=NAME", or "" */
	char *gateway_name;      /* NAME or NULL */
	struct curl_slist *headers;
	CURLM *multi;
	struct xfer *wait_head, *wait_tail;
	struct xfer *running;    /* at most max_inflight: a list is enough */
	size_t n_waiting, n_running;
	/* backoff */
	unsigned int failures;
	int64_t pause_until;
	bool probe_running;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t now_ms(const struct regclient *rc)
{
	if (rc->cfg.clock_ms)
		return rc->cfg.clock_ms(rc->cfg.clock_ctx);
	return (int64_t)clock_mono_ms(); /* backoff intervals only */
}

static void count(struct regclient *rc, enum metrics_registry_status s)
{
	if (rc->cfg.metrics)
		metrics_inc(&rc->cfg.metrics->registry_requests[s]);
}

static void wipe_headers(struct curl_slist *h)
{
	struct curl_slist *p;

	for (p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

struct regclient *regclient_new(const struct regclient_config *cfg, regclient_done_fn done,
				void *ctx, const char **errmsg)
{
	const char *why = "out of memory";
	struct regclient *rc = NULL;
	struct curl_slist *h;
	char *auth = NULL;
	size_t n;
	int err = ENOMEM;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		why = "libcurl initialisation failed";
		err = EIO;
		goto fail;
	}
	if (!cfg->url || (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8))) {
		why = "registry URL must start with http:// or https://";
		err = EINVAL;
		goto fail;
	}
	if (cfg->gateway && !peer_gateway_valid(cfg->gateway)) {
		why = "gateway name must be 1-63 of [A-Za-z0-9._-]";
		err = EINVAL;
		goto fail;
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		goto fail;
	rc->cfg = *cfg;
	rc->cfg.url = rc->cfg.token = rc->cfg.gateway = NULL;
	if (!rc->cfg.timeout_ms)
		rc->cfg.timeout_ms = 2000;
	if (!rc->cfg.max_inflight)
		rc->cfg.max_inflight = 16;
	if (!rc->cfg.max_waiting)
		rc->cfg.max_waiting = 4096;
	if (!rc->cfg.backoff_min_ms)
		rc->cfg.backoff_min_ms = 250;
	if (!rc->cfg.backoff_max_ms)
		rc->cfg.backoff_max_ms = 30000;
	if (rc->cfg.backoff_max_ms < rc->cfg.backoff_min_ms)
		rc->cfg.backoff_max_ms = rc->cfg.backoff_min_ms;
	if (!rc->cfg.max_body)
		rc->cfg.max_body = 65536;
	rc->done = done;
	rc->ctx = ctx;

	rc->base = strdup(cfg->url);
	if (!rc->base)
		goto fail;
	n = strlen(rc->base);
	while (n > 0 && rc->base[n - 1] == '/')
		rc->base[--n] = '\0';
	/* Valid gateway names need no escaping; the check above guarantees it. */
	if (asprintf(&rc->gateway_q, "%s%s", cfg->gateway ? "?gateway=" : "",
		     cfg->gateway ? cfg->gateway : "") < 0) {
		rc->gateway_q = NULL;
		goto fail;
	}
	if (cfg->gateway && !(rc->gateway_name = strdup(cfg->gateway)))
		goto fail;
	h = curl_slist_append(NULL, "Accept: application/json");
	if (!h)
		goto fail;
	rc->headers = h;
	if (cfg->token && *cfg->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", cfg->token) < 0) {
			auth = NULL;
			goto fail;
		}
		h = curl_slist_append(rc->headers, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (!h)
			goto fail;
		rc->headers = h;
	}
	rc->multi = curl_multi_init();
	if (!rc->multi)
		goto fail;
	curl_multi_setopt(rc->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)rc->cfg.max_inflight);
	return rc;
fail:
	regclient_free(rc);
	if (errmsg)
		*errmsg = why;
	errno = err;
	return NULL;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy) {
		if (x->rc && x->rc->multi)
			curl_multi_remove_handle(x->rc->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	buf_free(&x->body);
	free(x);
}

void regclient_free(struct regclient *rc)
{
	struct xfer *x;

	if (!rc)
		return;
	while ((x = rc->wait_head)) {
		rc->wait_head = x->next;
		xfer_free(x);
	}
	while ((x = rc->running)) {
		rc->running = x->next;
		xfer_free(x);
	}
	if (rc->multi)
		curl_multi_cleanup(rc->multi);
	wipe_headers(rc->headers);
	free(rc->base);
	free(rc->gateway_q);
	free(rc->gateway_name);
	free(rc);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	int r = buf_put_str(&x->body, data, n);

	if (r == -ENOBUFS)
		x->too_big = true;
	return r == 0 ? n : 0; /* 0 aborts the transfer with CURLE_WRITE_ERROR */
}

bool regclient_backing_off(struct regclient *rc)
{
	if (!rc->failures)
		return false;
	return rc->probe_running || now_ms(rc) < rc->pause_until;
}

static void note_result(struct regclient *rc, struct xfer *x, bool ok, const char *why)
{
	int64_t now = now_ms(rc);
	uint64_t pause;

	if (x->probe)
		rc->probe_running = false;
	if (ok) {
		if (rc->failures)
			log_info("registry: reachable again after %u failure(s)", rc->failures);
		rc->failures = 0;
		rc->pause_until = 0;
		return;
	}
	/* Only a request sent while no pause was running may lengthen the pause. */
	if (rc->failures && !x->probe && now < rc->pause_until)
		return;
	if (rc->failures < 32)
		++rc->failures;
	pause = (uint64_t)rc->cfg.backoff_min_ms << (rc->failures - 1 < 20 ? rc->failures - 1 : 20);
	if (pause > rc->cfg.backoff_max_ms)
		pause = rc->cfg.backoff_max_ms;
	rc->pause_until = now + (int64_t)pause;
	if (rc->failures == 1)
		log_warn("registry: request failed (%s); backing off, stale cached records are used meanwhile",
			 why);
}

static int start(struct regclient *rc, struct xfer *x)
{
	char b64[WG_KEY_B64URL_LEN + 1], *url = NULL;
	CURL *e;
	int ret = -ENOMEM;

	e = curl_easy_init();
	if (!e)
		goto out;
	key_to_base64url(b64, x->key);
	if (asprintf(&url, "%s/v1/peers/%s%s", rc->base, b64, rc->gateway_q) < 0) {
		url = NULL;
		goto out;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
		goto out;
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, rc->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "jitwgd");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rc->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)rc->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (rc->cfg.max_body <= LONG_MAX)
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long)rc->cfg.max_body);
	if (curl_multi_add_handle(rc->multi, e) != CURLM_OK)
		goto out;
	x->easy = e;
	e = NULL;
	x->next = rc->running;
	rc->running = x;
	if (rc->failures) {
		x->probe = true;
		rc->probe_running = true;
	}
	++rc->n_running;
	ret = 0;
out:
	if (e)
		curl_easy_cleanup(e);
	free(url);
	return ret;
}

int regclient_fetch(struct regclient *rc, const uint8_t key[static WG_KEY_LEN])
{
	struct xfer *x;
	int ret;

	if (regclient_backing_off(rc))
		return -EAGAIN;
	if (rc->n_running >= rc->cfg.max_inflight && rc->n_waiting >= rc->cfg.max_waiting)
		return -ENOBUFS;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->rc = rc;
	buf_init(&x->body, rc->cfg.max_body + 1, true);
	memcpy(x->key, key, WG_KEY_LEN);
	if (rc->n_running < rc->cfg.max_inflight) {
		ret = start(rc, x);
		if (ret < 0)
			xfer_free(x);
		return ret;
	}
	if (rc->wait_tail)
		rc->wait_tail->next = x;
	else
		rc->wait_head = x;
	rc->wait_tail = x;
	++rc->n_waiting;
	return 0;
}

/* True when body is a JSON object with an "error" string: the registry's error shape. */
static bool registry_error_body(const char *p, size_t len)
{
	struct json_tokener *tok;
	json_object *o, *e;
	bool ok = false;

	if (!p || !len || len > 4096)
		return false;
	tok = json_tokener_new();
	if (!tok)
		return false;
	o = json_tokener_parse_ex(tok, p, (int)len);
	if (o && json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		ok = true;
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

static void finish(struct regclient *rc, struct xfer *x, CURLcode result)
{
	enum regclient_status st = REGCLIENT_FAILED;
	struct peer_record rec = { 0 };
	const char *field = NULL, *why = "bad record in response";
	char status[32];
	long code = 0;

	if (result != CURLE_OK) {
		count(rc, METRICS_REG_TRANSPORT);
		why = x->too_big ? "response too large" : curl_easy_strerror(result);
		log_ratelimited_debug("registry: %s", why);
		goto out;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	/*
	 * "Deleted" evicts peers, so only the registry's own answer counts
	 * (docs/API.md: a JSON object with an "error" string). A 404 from
	 * anything else (a typo in the base URL, a proxy) is a registry error:
	 * stale-if-error applies.
	 */
	if (code == 404 && registry_error_body((const char *)buf_data(&x->body), buf_len(&x->body))) {
		count(rc, METRICS_REG_NOT_FOUND);
		st = REGCLIENT_NOT_FOUND;
		goto out;
	}
	if (code == 404) {
		count(rc, METRICS_REG_HTTP_ERROR);
		why = "HTTP 404 without the registry's JSON error: is --registry the registry's base URL?";
		log_ratelimited_debug("registry: %s", why);
		goto out;
	}
	if (code != 200) {
		count(rc, METRICS_REG_HTTP_ERROR);
		snprintf(status, sizeof(status), "HTTP status %ld", code);
		why = status;
		log_ratelimited_debug("registry: %s", why);
		goto out;
	}
	if (!buf_len(&x->body) ||
	    peer_record_from_json(&rec, (const char *)buf_data(&x->body), buf_len(&x->body), &field) < 0) {
		count(rc, METRICS_REG_TRANSPORT);
		log_ratelimited_debug("registry: bad record in 200 response (field %s)",
				      field ? field : "body");
		goto out;
	}
	/* A record for another key must never be installed under this one. */
	if (!key_equal(rec.public_key, x->key)) {
		count(rc, METRICS_REG_TRANSPORT);
		why = "response names a different key";
		log_ratelimited_debug("registry: %s", why);
		goto out;
	}
	/*
	 * The registry filters by ?gateway= itself; a server that ignores the
	 * parameter still must not hand us another gateway's peer.
	 */
	if (rc->gateway_name && rec.has_gateway && strcmp(rec.gateway, rc->gateway_name)) {
		count(rc, METRICS_REG_NOT_FOUND);
		st = REGCLIENT_NOT_FOUND;
		goto out;
	}
	count(rc, METRICS_REG_OK);
	st = REGCLIENT_OK;
out:
	note_result(rc, x, st != REGCLIENT_FAILED, why);
	rc->done(rc->ctx, x->key, st, st == REGCLIENT_OK ? &rec : NULL);
	peer_record_clear(&rec); /* the body is wiped by xfer_free() */
}

static void unlink_running(struct regclient *rc, struct xfer *x)
{
	struct xfer **pp;

	for (pp = &rc->running; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			x->next = NULL;
			return;
		}
	}
}

/* Delivers finished transfers; returns how many. */
static unsigned int drain_done(struct regclient *rc)
{
	struct CURLMsg *m;
	struct xfer *x;
	unsigned int n = 0;
	int left;

	while ((m = curl_multi_info_read(rc->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (!x)
			continue;
		unlink_running(rc, x);
		--rc->n_running;
		finish(rc, x, m->data.result);
		xfer_free(x);
		++n;
	}
	return n;
}

/* Moves waiting fetches into free slots, or fails them fast while backing off. */
static void start_waiting(struct regclient *rc)
{
	struct xfer *x;

	while (rc->wait_head && (rc->n_running < rc->cfg.max_inflight || regclient_backing_off(rc))) {
		x = rc->wait_head;
		rc->wait_head = x->next;
		if (!rc->wait_head)
			rc->wait_tail = NULL;
		x->next = NULL;
		--rc->n_waiting;
		if (regclient_backing_off(rc) || start(rc, x) < 0) {
			rc->done(rc->ctx, x->key, REGCLIENT_FAILED, NULL);
			xfer_free(x);
		}
	}
}

void regclient_cancel_waiting(struct regclient *rc)
{
	struct xfer *x;

	while ((x = rc->wait_head)) {
		rc->wait_head = x->next;
		if (!rc->wait_head)
			rc->wait_tail = NULL;
		--rc->n_waiting;
		rc->done(rc->ctx, x->key, REGCLIENT_FAILED, NULL);
		xfer_free(x);
	}
}

int regclient_poll(struct regclient *rc, int timeout_ms)
{
	int running;
	CURLMcode mc;

	start_waiting(rc);
	curl_multi_perform(rc->multi, &running);
	/* Completions change the caller's state: let it look before sleeping. */
	if (drain_done(rc)) {
		start_waiting(rc);
		return 0;
	}
	mc = curl_multi_poll(rc->multi, NULL, 0, timeout_ms, NULL);
	if (mc != CURLM_OK)
		return -EIO;
	curl_multi_perform(rc->multi, &running);
	drain_done(rc);
	start_waiting(rc);
	return 0;
}

void regclient_wakeup(struct regclient *rc)
{
	curl_multi_wakeup(rc->multi);
}

size_t regclient_pending(const struct regclient *rc)
{
	return rc->n_running + rc->n_waiting;
}

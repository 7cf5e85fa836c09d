// SPDX-License-Identifier: MIT
/*
 * The feed follower's thread (contract in prefetch.h): long-poll the
 * registry's change feed, apply each page to the cache in one transaction
 * together with the cursor that follows it, hand deletes and updates of
 * cached keys to the install stage, and (prefetch) re-stamp the cache's
 * records while caught up.
 *
 * A page is parsed and checked whole before anything is written, so a bad
 * page changes nothing; a cache write that fails leaves the cursor where it
 * was, and the page is applied again (puts and negatives are idempotent,
 * and so are the removals and updates handed on).
 */
#include "gateway/lookup/prefetch.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/lookup/cache.h"
#include "wire/keys.h"
#include "wire/record.h"

enum {
	BODY_MAX = 16 << 20,        /* 1000 records with 256 allowed IPs each fit */
	REFRESH_BATCH = 2000,       /* rows per refresh statement: short write locks */
	BACKOFF_MIN_MS = 250,
	/*
	 * Low on purpose: after an outage a deletion waits for the next try,
	 * so the cap is part of the revocation bound (docs/OPERATIONS.md).
	 * One small request per gateway every 5 s is cheap for a registry.
	 */
	BACKOFF_MAX_MS = 5000,
	HANDOFF_RETRY_MS = 10,      /* install queue full: the feed is lossless, so wait */
};

struct prefetch {
	struct prefetch_config cfg;
	char *base, *gateway, *scope;
	struct cache *cache;
	struct curl_slist *headers;
	CURL *easy;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	/* thread only */
	int64_t since;
	bool walking;               /* a walk from 0 is under way */
	int64_t walk_start, last_refresh;
	unsigned int failures;
	unsigned int wait_s;        /* long-poll wait asked for; 0 once the registry refused it */
};

/* One validated change of a page. */
struct change {
	bool deleted;
	bool handoff;               /* a put for a key the cache held: the install stage gets it */
	struct peer_record rec;     /* only public_key when deleted */
};

struct body {
	char *buf;
	size_t len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms or until stopped; returns true when stopping. */
static bool nap(struct prefetch *p, unsigned int ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->mu);
	while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
		;
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

/*
 * libcurl calls this at least once a second during a transfer: a long poll
 * parked in the registry ends within a second of prefetch_free().
 */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct prefetch *p = arg;
	bool stop;

	pthread_mutex_lock(&p->mu);
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *nb;

	if (len > BODY_MAX - b->len)
		return 0; /* too large: curl fails the transfer */
	nb = realloc(b->buf, b->len + len + 1);
	if (!nb)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = 0;
	return len;
}

/* GET one page; returns the HTTP status (body in *b) or -EIO for a transport failure. */
static int fetch(struct prefetch *p, struct body *b)
{
	char url[2048];
	char wait[24] = "";
	long status = 0;
	CURLcode rc;

	/* The registry waits only when nothing follows since: a walk is answered at once. */
	if (p->wait_s)
		snprintf(wait, sizeof(wait), "&wait=%u", p->wait_s);
	if (snprintf(url, sizeof(url), "%s/v1/peers?since=%lld&limit=%u%s%s%s", p->base, (long long)p->since,
		     p->cfg.page, wait, p->gateway ? "&gateway=" : "", p->gateway ? p->gateway : "") >= (int)sizeof(url))
		return -ENAMETOOLONG;
	curl_easy_setopt(p->easy, CURLOPT_URL, url);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)p->cfg.timeout_ms + (*wait ? (long)p->wait_s * 1000 : 0));
	curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(p->easy);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (rc != CURLE_OK) {
		if (!p->failures)
			log_warn("feed: registry: %s", curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

static bool decimal(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || strlen(s) > 19 || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static void changes_free(struct change *ch, size_t n)
{
	size_t i;

	for (i = 0; ch && i < n; ++i)
		peer_record_clear(&ch[i].rec);
	free(ch);
}

/*
 * Parses and checks a whole page. Returns 0 with *out (n changes), *next
 * and *more set, or -EBADMSG (logged once per failure burst by the caller).
 */
static int parse_page(struct prefetch *p, const struct body *b, struct change **out, size_t *n, int64_t *next,
		      bool *more)
{
	struct json_tokener *tok = json_tokener_new_ex(8);
	struct json_object *root = NULL, *arr, *v, *item, *peer, *op, *key;
	struct change *ch = NULL;
	const char *field, *text;
	size_t i, len = 0;
	int st, ret = -EBADMSG;

	*out = NULL;
	*n = 0;
	if (!tok)
		return -ENOMEM;
	if (b->buf)
		root = json_tokener_parse_ex(tok, b->buf, (int)b->len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)b->len || !json_object_is_type(root, json_type_object))
		goto out;
	if (!json_object_object_get_ex(root, "changes", &arr) || !json_object_is_type(arr, json_type_array) ||
	    !json_object_object_get_ex(root, "next_since", &v) || !json_object_is_type(v, json_type_string) ||
	    !decimal(json_object_get_string(v), next) || *next < p->since ||
	    !json_object_object_get_ex(root, "more", &v) || !json_object_is_type(v, json_type_boolean))
		goto out;
	*more = json_object_get_boolean(v);
	len = json_object_array_length(arr);
	if (len > p->cfg.page)
		goto out;
	ch = calloc(len ? len : 1, sizeof(*ch));
	if (!ch) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < len; ++i) {
		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object) || !json_object_object_get_ex(item, "op", &op) ||
		    !json_object_is_type(op, json_type_string))
			goto out;
		if (!strcmp(json_object_get_string(op), "delete")) {
			ch[i].deleted = true;
			if (!json_object_object_get_ex(item, "public_key", &key) ||
			    !json_object_is_type(key, json_type_string) ||
			    key_from_base64(ch[i].rec.public_key, json_object_get_string(key)))
				goto out;
			continue;
		}
		if (strcmp(json_object_get_string(op), "put") || !json_object_object_get_ex(item, "peer", &peer) ||
		    !json_object_is_type(peer, json_type_object))
			goto out;
		/* The one strict record parser the registry, CLI and lookup share. */
		text = json_object_to_json_string_ext(peer, JSON_C_TO_STRING_PLAIN);
		if (!text)
			goto out;
		st = peer_record_from_json(&ch[i].rec, text, strlen(text), &field);
		explicit_bzero((char *)text, strlen(text)); /* it may carry a preshared key */
		if (st)
			goto out;
		/* The registry scopes the feed; a record bound elsewhere is not ours to serve. */
		if (p->gateway && ch[i].rec.has_gateway && strcmp(ch[i].rec.gateway, p->gateway))
			goto out;
	}
	*out = ch;
	*n = len;
	ch = NULL;
	ret = 0;
out:
	changes_free(ch, len);
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

/*
 * Whether a put is kept: with prefetch every record, else only keys the
 * cache has a row for: a positive one (the keys this gateway has installed
 * or served lately; an installed peer always came through the cache), whose
 * puts also go to the install stage, so a cached record never stays older
 * than an installed one; or a negative one (a key re-created after its
 * deletion must not wait out negative_ttl). A row that cannot be read keeps
 * the put and hands it on: a lost update is worse than an extra write.
 */
static bool wanted(struct prefetch *p, struct change *ch)
{
	struct cache_entry e;
	bool negative;
	int ret;

	memset(&e, 0, sizeof(e));
	ret = cache_peer_get(p->cache, ch->rec.public_key, &e);
	ch->handoff = ret == 0 ? e.state == CACHE_POSITIVE : ret != -ENOENT;
	negative = ret == 0 && e.state == CACHE_NEGATIVE;
	cache_entry_clear(&e);
	return ch->handoff || negative || p->cfg.store_all;
}

/* Applies a page and its cursor in one transaction; the cursor only moves if every write succeeded. */
static int apply(struct prefetch *p, struct change *ch, size_t n, int64_t next, int64_t now)
{
	size_t i, puts = 0, dels = 0;
	int ret;

	ret = cache_begin(p->cache);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; ++i) {
		if (ch[i].deleted) {
			ret = cache_peer_put_negative(p->cache, ch[i].rec.public_key, now);
			dels++;
		} else if (wanted(p, &ch[i])) {
			ret = cache_peer_put(p->cache, &ch[i].rec, now);
			puts++;
		}
	}
	if (!ret)
		ret = cache_feed_put(p->cache, p->scope, next);
	if (cache_commit(p->cache) && !ret)
		ret = -EIO;
	if (!ret && p->cfg.metrics) {
		metrics_add(&p->cfg.metrics->prefetch_changes[METRICS_PREFETCH_PUT], puts);
		metrics_add(&p->cfg.metrics->prefetch_changes[METRICS_PREFETCH_DELETE], dels);
	}
	return ret;
}

/*
 * Hands the page's deletes and kept puts to the install stage, after the
 * cache is written (a handshake racing with this finds the negative row).
 * In feed order, waiting while its queue is full. False when stopping.
 */
static bool hand_off(struct prefetch *p, const struct change *ch, size_t n)
{
	struct notice gone = { .type = NOTICE_GONE };
	size_t i;
	int ret;

	for (i = 0; i < n; ++i) {
		for (;;) {
			if (ch[i].deleted && p->cfg.revoke.send) {
				memcpy(gone.key, ch[i].rec.public_key, WG_KEY_LEN);
				ret = p->cfg.revoke.send(p->cfg.revoke.ctx, &gone, 1) == 1 ? 0 : -EAGAIN;
			} else if (!ch[i].deleted && ch[i].handoff && p->cfg.update) {
				ret = p->cfg.update(p->cfg.update_ctx, &ch[i].rec);
			} else {
				ret = 0;
			}
			if (ret != -EAGAIN && ret != -ENOMEM)
				break;
			if (nap(p, HANDOFF_RETRY_MS))
				return false;
		}
	}
	return true;
}

/* Caught up at now: finish a walk from 0, re-stamp records that are getting old. */
static void caught_up(struct prefetch *p, int64_t now)
{
	int64_t ttl = (int64_t)p->cfg.positive_ttl * 1000;
	long r;
	int i;

	if (p->walking) {
		/* every live record in scope was written during the walk: older rows are gone from the registry */
		r = cache_prune(p->cache, 0, p->walk_start, 0);
		if (r > 0)
			log_info("feed: full walk done; dropped %ld records the registry no longer has", r);
		p->walking = false;
	}
	if (p->cfg.store_all && now - p->last_refresh >= ttl / 4) {
		for (i = 0; i < 100000; ++i) {
			r = cache_peer_refresh(p->cache, now, now - ttl / 2, REFRESH_BATCH);
			if (r < REFRESH_BATCH)
				break;
		}
		p->last_refresh = now;
	}
	if (p->cfg.metrics)
		metrics_gauge_set(&p->cfg.metrics->prefetch_synced, now / 1000);
}

static void count(struct prefetch *p, enum metrics_prefetch_status s)
{
	if (p->cfg.metrics)
		metrics_inc(&p->cfg.metrics->prefetch_requests[s]);
}

/* A 400 naming the wait parameter: a registry from before the long poll. */
static bool wait_refused(const struct body *b)
{
	return b->buf && strstr(b->buf, "\"field\"") && strstr(b->buf, "\"wait\"");
}

static void *run(void *arg)
{
	struct prefetch *p = arg;
	struct body b = { 0 };
	struct change *ch;
	int64_t next, now;
	uint64_t started;
	unsigned int pause;
	size_t n;
	bool more, idle;
	int st;

	if (cache_feed_get(p->cache, p->scope, &p->since))
		p->since = 0;
	log_info("feed: following the registry's change feed from cursor %lld (%s)", (long long)p->since,
		 p->cfg.store_all ? "prefetch: every record" : "cached keys");
	for (;;) {
		if (!p->since && !p->walking) {
			p->walking = true;
			p->walk_start = now_ms();
		}
		free(b.buf);
		b.buf = NULL;
		b.len = 0;
		started = clock_mono_ms();
		st = fetch(p, &b);
		now = now_ms();
		if (st == -ECANCELED)
			break; /* stopping */
		if (st == 410) {
			log_warn("feed: cursor %lld is older than the registry's tombstones; walking again from 0",
				 (long long)p->since);
			p->since = 0;
			p->walking = false;
			continue;
		}
		if (st == 400 && p->wait_s && wait_refused(&b)) {
			log_warn("feed: the registry does not take wait=; polling every %u ms instead",
				 p->cfg.interval_ms);
			p->wait_s = 0;
			continue;
		}
		if (st == 200 && !parse_page(p, &b, &ch, &n, &next, &more)) {
			/* nothing new: no write, so the lookup thread never waits for an idle poll */
			idle = !n && next == p->since;
			st = idle ? 0 : apply(p, ch, n, next, now);
			if (!st && !hand_off(p, ch, n)) {
				changes_free(ch, n);
				break;
			}
			changes_free(ch, n);
			if (!st) {
				count(p, METRICS_PREFETCH_OK);
				if (p->failures)
					log_info("feed: registry answering again");
				p->failures = 0;
				p->since = next;
				if (more)
					continue;
				caught_up(p, now);
				/*
				 * A long poll returns when something changed or its wait
				 * ran out: ask again at once. An answer with nothing new
				 * that came sooner than the interval is a registry without
				 * the long poll: it is asked at most every interval.
				 */
				pause = (unsigned int)(clock_mono_ms() - started);
				if (!idle || pause >= p->cfg.interval_ms)
					continue;
				if (nap(p, p->cfg.interval_ms - pause))
					break;
				continue;
			}
		} else if (st >= 0 && !p->failures) {
			log_warn("feed: registry answered %d or an invalid page", st);
		}
		count(p, METRICS_PREFETCH_FAILED);
		pause = BACKOFF_MIN_MS << (p->failures < 7 ? p->failures : 7);
		if (p->failures < 32)
			p->failures++;
		if (nap(p, pause < BACKOFF_MAX_MS ? pause : BACKOFF_MAX_MS))
			break;
	}
	free(b.buf);
	return NULL;
}

void prefetch_free(struct prefetch *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	if (p->easy)
		curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->headers);
	cache_close(p->cache);
	free(p->base);
	free(p->gateway);
	free(p->scope);
	free(p);
}

struct prefetch *prefetch_new(const struct prefetch_config *cfg, const char **errmsg)
{
	struct prefetch *p = calloc(1, sizeof(*p));
	const char *why = "out of memory";
	char *auth = NULL;
	size_t len;
	int err = ENOMEM;

	if (!p)
		goto fail;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->cfg = *cfg;
	if (!p->cfg.interval_ms)
		p->cfg.interval_ms = 1000;
	if (!p->cfg.positive_ttl)
		p->cfg.positive_ttl = 300;
	if (!p->cfg.timeout_ms)
		p->cfg.timeout_ms = 10000;
	if (!p->cfg.page || p->cfg.page > 1000)
		p->cfg.page = 1000;
	p->wait_s = p->cfg.wait_s > 60 ? 60 : p->cfg.wait_s;
	if (!cfg->registry_url || !*cfg->registry_url) {
		why = "the feed follower needs a registry URL";
		err = EINVAL;
		goto fail;
	}
	p->base = strdup(cfg->registry_url);
	if (!p->base)
		goto fail;
	len = strlen(p->base);
	while (len && p->base[len - 1] == '/')
		p->base[--len] = 0;
	if (cfg->gateway && !(p->gateway = strdup(cfg->gateway)))
		goto fail;
	if (asprintf(&p->scope, "%s %s", p->base, cfg->gateway ? cfg->gateway : "*") < 0) {
		p->scope = NULL;
		goto fail;
	}
	p->cache = cache_open_companion(cfg->cache_path, &why);
	if (!p->cache) {
		err = errno;
		goto fail;
	}
	why = "libcurl initialisation failed";
	err = EIO;
	p->easy = curl_easy_init();
	if (!p->easy)
		goto fail;
	if (cfg->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", cfg->token) < 0) {
			auth = NULL;
			err = ENOMEM;
			goto fail;
		}
		p->headers = curl_slist_append(NULL, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (!p->headers) {
			err = ENOMEM;
			goto fail;
		}
	}
	curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(p->easy, CURLOPT_USERAGENT, "jitwgd-feed");
	curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)p->cfg.timeout_ms);
	curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)p->cfg.timeout_ms);
	curl_easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(p->easy, CURLOPT_MAXFILESIZE, (long)BODY_MAX);
	curl_easy_setopt(p->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(p->easy, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(p->easy, CURLOPT_NOPROGRESS, 0L);
	err = pthread_create(&p->thread, NULL, run, p);
	if (err) {
		why = "cannot start the feed thread";
		goto fail;
	}
	p->started = true;
	return p;
fail:
	prefetch_free(p);
	if (errmsg)
		*errmsg = why;
	errno = err;
	return NULL;
}

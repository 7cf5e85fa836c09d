// SPDX-License-Identifier: MIT
/*
 * The lookup pipeline end to end: replay guard -> cache -> registry client
 * -> callbacks, with time injected through lookup_config.clock_ms.
 *
 * Two registries:
 *  - by default a counting HTTP stand-in (libmicrohttpd, in this process)
 *    that can answer slowly, fail, or be stopped, and counts requests per
 *    key on the server side;
 *  - the real jitwg-registry when JITWG_REGISTRY_URL is set
 *    (tests/integration/lookup.sh does that); then requests are counted from
 *    the registry's own debug log (JITWG_REGISTRY_LOG).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/lookup/cache.h"
#include "gateway/lookup/lookup.h"
#include "gateway/lookup/replay.h"

/* ---- injected clock ------------------------------------------------------- */

static _Atomic int64_t test_now;

static int64_t test_clock(void *ctx)
{
	return atomic_load(&test_now);
}

static void advance(int64_t seconds)
{
	atomic_fetch_add(&test_now, seconds * 1000);
}

/* ---- the stand-in registry ---------------------------------------------------- */

enum { MAX_KEYS = 128 };

struct standin {
	struct MHD_Daemon *d;
	uint16_t port;
	char url[64];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct {
		char b64url[WG_KEY_B64URL_LEN + 1];
		char *json;        /* NULL = 404 */
		unsigned int hits;
		bool hold;         /* park this key's requests */
	} keys[MAX_KEYS];
	unsigned int n_keys;
	unsigned int total;
	bool hold;             /* park requests until released */
	unsigned int held;
	int fail_status;       /* answer this for everything, when non-zero */
	size_t big_body;       /* answer 200 with this many bytes, when non-zero */
	char last_auth[128];
	char last_gateway[80];
};

static struct standin reg;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct standin *s = cls;
	struct MHD_Response *resp;
	const char *v, *prefix = "/v1/peers/";
	char *body = NULL;
	int status = 404;
	size_t len = 0;
	unsigned int i;
	enum MHD_Result ret;

	if (!*con_cls) {
		*con_cls = s; /* first call: headers only */
		return MHD_YES;
	}
	pthread_mutex_lock(&s->mu);
	s->total++;
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	snprintf(s->last_auth, sizeof(s->last_auth), "%s", v ? v : "");
	v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "gateway");
	snprintf(s->last_gateway, sizeof(s->last_gateway), "%s", v ? v : "");
	int k = -1;

	if (!strncmp(url, prefix, strlen(prefix))) {
		for (i = 0; i < s->n_keys; ++i) {
			if (strcmp(s->keys[i].b64url, url + strlen(prefix)))
				continue;
			k = (int)i;
			s->keys[i].hits++;
			if (s->keys[i].json) {
				status = 200;
				body = strdup(s->keys[i].json);
				len = strlen(body);
			}
		}
	}
	s->held++;
	while (s->hold || (k >= 0 && s->keys[k].hold))
		pthread_cond_wait(&s->cv, &s->mu);
	s->held--;
	if (s->fail_status) {
		status = s->fail_status;
		free(body);
		body = NULL;
		len = 0;
	} else if (s->big_body) {
		free(body);
		status = 200;
		len = s->big_body;
		body = malloc(len);
		memset(body, ' ', len);
	}
	pthread_mutex_unlock(&s->mu);
	if (status == 404 && !body && !s->fail_status) {
		/* the registry's own "no such peer" (docs/API.md) */
		body = strdup("{\"error\": \"no such peer\"}");
		len = strlen(body);
	}
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	ret = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void standin_start(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const union MHD_DaemonInfo *info;

	reg.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, on_request, &reg, MHD_OPTION_SOCK_ADDR, &sin,
				 MHD_OPTION_END);
	assert_non_null(reg.d);
	info = MHD_get_daemon_info(reg.d, MHD_DAEMON_INFO_BIND_PORT);
	reg.port = info->port;
	snprintf(reg.url, sizeof(reg.url), "http://127.0.0.1:%u/", reg.port);
}

static void standin_stop(void)
{
	if (!reg.d)
		return;
	pthread_mutex_lock(&reg.mu);
	reg.hold = false;
	for (unsigned int i = 0; i < reg.n_keys; ++i)
		reg.keys[i].hold = false;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
	MHD_stop_daemon(reg.d);
	reg.d = NULL;
}

/* Keys differ per run (the salt) so that runs sharing a registry never collide. */
static unsigned int key_salt;

static void mkkey(uint8_t key[WG_KEY_LEN], unsigned int n)
{
	memset(key, 0, WG_KEY_LEN);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[2] = 0x77;
	key[29] = (uint8_t)(key_salt >> 16);
	key[30] = (uint8_t)(key_salt >> 8);
	key[31] = (uint8_t)key_salt;
}

/* Registers key n with the stand-in; expires is unix seconds or 0. */
static void standin_add_gw(unsigned int n, bool known, int64_t expires, const char *gw)
{
	struct peer_record r = { 0 };
	struct cidr ip;
	char s[32];

	mkkey(r.public_key, n);
	snprintf(s, sizeof(s), "10.%u.%u.2/32", (n >> 8) & 255, n & 255);
	assert_int_equal(cidr_parse(&ip, s), 0);
	r.allowed_ips = &ip;
	r.n_allowed_ips = 1;
	r.persistent_keepalive = 25;
	r.expires_at = expires;
	if (gw) {
		r.has_gateway = true;
		strcpy(r.gateway, gw);
	}
	pthread_mutex_lock(&reg.mu);
	assert_true(reg.n_keys < MAX_KEYS);
	key_to_base64url(reg.keys[reg.n_keys].b64url, r.public_key);
	reg.keys[reg.n_keys].json = known ? peer_record_to_json(&r) : NULL;
	reg.n_keys++;
	pthread_mutex_unlock(&reg.mu);
}

static void standin_add(unsigned int n, bool known, int64_t expires)
{
	standin_add_gw(n, known, expires, NULL);
}

static unsigned int standin_hits(unsigned int n)
{
	uint8_t key[WG_KEY_LEN];
	char b[WG_KEY_B64URL_LEN + 1];
	unsigned int i, hits = 0;

	mkkey(key, n);
	key_to_base64url(b, key);
	pthread_mutex_lock(&reg.mu);
	for (i = 0; i < reg.n_keys; ++i)
		if (!strcmp(reg.keys[i].b64url, b))
			hits += reg.keys[i].hits;
	pthread_mutex_unlock(&reg.mu);
	return hits;
}

/* ---- the callbacks' sink --------------------------------------------------------- */

struct sink {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool hold;
	unsigned int parked;
	unsigned int installs, gones;
	struct lookup_event last_ev;
	uint16_t last_keepalive;
	char last_ip[CIDR_STR_MAX];
	int64_t last_expires;
};

static struct sink sink;

static void on_install(void *ctx, const struct lookup_event *ev, const struct peer_record *rec)
{
	pthread_mutex_lock(&sink.mu);
	/* test_drain_installs_cached parks the lookup thread here. */
	sink.parked += sink.hold;
	pthread_cond_broadcast(&sink.cv);
	while (sink.hold)
		pthread_cond_wait(&sink.cv, &sink.mu);
	sink.installs++;
	sink.last_ev = *ev;
	sink.last_keepalive = rec->persistent_keepalive;
	sink.last_expires = rec->expires_at;
	if (rec->n_allowed_ips)
		cidr_format(sink.last_ip, &rec->allowed_ips[0]);
	pthread_mutex_unlock(&sink.mu);
}

static void on_gone(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	pthread_mutex_lock(&sink.mu);
	sink.gones++;
	pthread_mutex_unlock(&sink.mu);
}

static atomic_uint replayed_seen;

static void on_replayed(void *ctx, const struct lookup_event *ev)
{
	atomic_fetch_add(&replayed_seen, 1);
}

static unsigned int installs(void)
{
	unsigned int n;

	pthread_mutex_lock(&sink.mu);
	n = sink.installs;
	pthread_mutex_unlock(&sink.mu);
	return n;
}

static unsigned int gones(void)
{
	unsigned int n;

	pthread_mutex_lock(&sink.mu);
	n = sink.gones;
	pthread_mutex_unlock(&sink.mu);
	return n;
}

/* ---- fixtures ---------------------------------------------------------------------- */

static struct metrics m;
static char dir[64], dbpath[128];

static void mkevent(struct lookup_event *ev, unsigned int n, uint64_t sec, uint16_t port)
{
	uint64_t v = 0x400000000000000aULL + sec;
	int i;

	memset(ev, 0, sizeof(*ev));
	mkkey(ev->key, n);
	for (i = 0; i < 8; ++i)
		ev->tai64n[i] = (uint8_t)(v >> (56 - 8 * i));
	ev->src.sin.sin_family = AF_INET;
	ev->src.sin.sin_port = htons(port);
	ev->src.sin.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1, never contacted */
}

static void base_config(struct lookup_config *cfg, const char *url)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cache_path = ":memory:";
	cfg->registry_url = url;
	cfg->metrics = &m;
	cfg->clock_ms = test_clock;
}

static struct lookup *start(const struct lookup_config *cfg)
{
	const char *why = NULL;
	struct lookup *l = lookup_new(cfg, on_install, on_gone, NULL, &why);

	if (!l)
		fail_msg("lookup_new: %s", why);
	return l;
}

static void flush(struct lookup *l)
{
	assert_int_equal(lookup_flush(l, 20000), 0);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
	return metrics_get(c);
}

static int setup(void **state)
{
	memset(&m, 0, sizeof(m));
	memset(&sink, 0, sizeof(sink));
	pthread_mutex_init(&sink.mu, NULL);
	pthread_cond_init(&sink.cv, NULL);
	memset(&reg, 0, sizeof(reg));
	pthread_mutex_init(&reg.mu, NULL);
	pthread_cond_init(&reg.cv, NULL);
	atomic_store(&test_now, (int64_t)1800000000 * 1000);
	strcpy(dir, "/tmp/jitwg-test-lookup.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/cache.db", dir);
	standin_start();
	return 0;
}

static int teardown(void **state)
{
	char p[160];
	unsigned int i;

	standin_stop();
	for (i = 0; i < reg.n_keys; ++i)
		free(reg.keys[i].json);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	unlink(dbpath);
	rmdir(dir);
	return 0;
}

/* ---- tests against the stand-in ---------------------------------------------------- */

static void test_fetch_then_hit(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(1, true, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 1, 100, 40001);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_string_equal(sink.last_ip, "10.0.1.2/32");
	assert_int_equal(sink.last_keepalive, 25);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40001);
	assert_int_equal(get(&m.cache[METRICS_CACHE_MISS]), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_OK]), 1);

	/* The client's next initiation is a cache hit: no request. */
	advance(2);
	mkevent(&ev, 1, 101, 40002);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40002);
	assert_int_equal(get(&m.cache[METRICS_CACHE_HIT]), 1);
	assert_int_equal(standin_hits(1), 1);
	lookup_free(l);
}

static void *free_main(void *arg)
{
	lookup_free(arg);
	return NULL;
}

/*
 * SIGTERM drains: an initiation already queued when the lookup is stopped
 * and answered by a fresh cached record is still installed (docs/OPERATIONS.md).
 */
static void test_drain_installs_cached(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	pthread_t t;

	standin_add(50, true, 0);
	standin_add(51, true, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 50, 100, 40050);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkevent(&ev, 51, 100, 40051);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);

	/* Park the lookup thread in the install of key 50, queue key 51 behind it. */
	pthread_mutex_lock(&sink.mu);
	sink.hold = true;
	pthread_mutex_unlock(&sink.mu);
	mkevent(&ev, 50, 101, 40050);
	assert_int_equal(lookup_submit(l, &ev), 0);
	pthread_mutex_lock(&sink.mu);
	while (!sink.parked)
		pthread_cond_wait(&sink.cv, &sink.mu);
	pthread_mutex_unlock(&sink.mu);
	mkevent(&ev, 51, 101, 40051);
	assert_int_equal(lookup_submit(l, &ev), 0);

	/* Stop while key 51 waits in the queue; if the stop lands late the test only passes trivially. */
	assert_int_equal(pthread_create(&t, NULL, free_main, l), 0);
	usleep(200 * 1000);
	pthread_mutex_lock(&sink.mu);
	sink.hold = false;
	pthread_cond_broadcast(&sink.cv);
	pthread_mutex_unlock(&sink.mu);
	pthread_join(t, NULL);
	assert_int_equal(installs(), 4);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40051);
	assert_int_equal(standin_hits(51), 1);
}

/*
 * A 404 that is not the registry's JSON error (a wrong base URL, a proxy)
 * is a registry error, not "deleted": revalidation keeps the peer and a
 * returning client gets the stale record. The registry's own 404 still
 * means gone.
 */
static void test_plain_404_is_an_error(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(60, true, 0);
	standin_add(61, false, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 60, 100, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	advance(310); /* past the default positive TTL (300 s) */
	reg.fail_status = 404; /* empty body */
	assert_int_equal(lookup_revalidate(l, ev.key), 0);
	flush(l);
	assert_int_equal(gones(), 0);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_HTTP_ERROR]), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_NOT_FOUND]), 0);
	reg.fail_status = 0;
	advance(70);
	mkevent(&ev, 61, 100, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_NOT_FOUND]), 1);
	assert_int_equal(gones(), 1);
	lookup_free(l);
}

/* A retrying client while the registry fails: one request per window. */
static void test_window_one_request(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	unsigned int i;

	standin_add(2, true, 0);
	reg.fail_status = 503;
	base_config(&cfg, reg.url);
	l = start(&cfg);
	for (i = 0; i < 5; ++i) {  /* t = 0..4 s: one window */
		mkevent(&ev, 2, 200 + i, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
		flush(l);
		advance(1);
	}
	assert_int_equal(standin_hits(2), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_HTTP_ERROR]), 1);
	assert_int_equal(installs(), 0);
	/* t = 5 s: the window is over; the registry is back. */
	reg.fail_status = 0;
	mkevent(&ev, 2, 300, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(standin_hits(2), 2);
	assert_int_equal(installs(), 1);
	lookup_free(l);
}

/* One key's registry request hanging holds up nobody else. */
static void test_slow_key_stalls_nobody(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	unsigned int i;

	standin_add(70, true, 0);
	standin_add(71, true, 0);
	pthread_mutex_lock(&reg.mu);
	reg.keys[0].hold = true;
	pthread_mutex_unlock(&reg.mu);
	base_config(&cfg, reg.url);
	cfg.timeout_ms = 20000;
	l = start(&cfg);
	mkevent(&ev, 70, 7000, 40070);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkevent(&ev, 71, 7000, 40071);
	assert_int_equal(lookup_submit(l, &ev), 0);
	for (i = 0; i < 4000 && installs() < 1; ++i)
		usleep(5000);
	assert_int_equal(installs(), 1);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40071);
	pthread_mutex_lock(&reg.mu);
	reg.keys[0].hold = false;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
	flush(l);
	assert_int_equal(installs(), 2);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40070);
	lookup_free(l);
}

/* Retries during a slow fetch: one request, installed with the newest source. */
static void test_coalesce_newest_source(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	unsigned int i;

	standin_add(3, true, 0);
	reg.hold = true;
	base_config(&cfg, reg.url);
	cfg.timeout_ms = 20000;
	l = start(&cfg);
	for (i = 0; i < 3; ++i) {
		mkevent(&ev, 3, 300 + i, (uint16_t)(41000 + i));
		ev.first_seen.tv_sec = 10 + i;
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	/* Wait (bounded) for the request to be parked at the server. */
	for (i = 0; i < 2000; ++i) {
		pthread_mutex_lock(&reg.mu);
		bool parked = reg.held > 0;
		pthread_mutex_unlock(&reg.mu);
		if (parked)
			break;
		usleep(5000);
	}
	mkevent(&ev, 3, 310, 41009);
	assert_int_equal(lookup_submit(l, &ev), 0);
	/* Each initiation processed while the fetch is out counts a miss: wait for all four. */
	for (i = 0; i < 2000 && get(&m.cache[METRICS_CACHE_MISS]) < 4; ++i)
		usleep(5000);
	assert_int_equal(get(&m.cache[METRICS_CACHE_MISS]), 4);
	pthread_mutex_lock(&reg.mu);
	reg.hold = false;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
	flush(l);
	assert_int_equal(standin_hits(3), 1);
	assert_int_equal(installs(), 1);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 41009);
	assert_int_equal(sink.last_ev.first_seen.tv_sec, 10); /* latency from the first */
	lookup_free(l);
}

static void test_negative_cache(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(4, false, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 4, 400, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 0);
	assert_int_equal(gones(), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_NOT_FOUND]), 1);
	/* Within negative_ttl (60 s) but past the window: still no request. */
	advance(30);
	mkevent(&ev, 4, 401, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(standin_hits(4), 1);
	assert_int_equal(get(&m.cache[METRICS_CACHE_NEGATIVE]), 1);
	/* After it: asked again. */
	advance(31);
	mkevent(&ev, 4, 402, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(standin_hits(4), 2);
	assert_int_equal(installs(), 0);
	lookup_free(l);
}

static void test_stale_if_error(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(5, true, 0);
	standin_add(6, true, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 5, 500, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkevent(&ev, 6, 500, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);

	/* Past the TTL, registry gone: the stale record is installed anyway. */
	advance(301);
	standin_stop();
	mkevent(&ev, 5, 501, 40001);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 3);
	assert_int_equal(get(&m.cache[METRICS_CACHE_STALE]), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_TRANSPORT]), 1);
	/* Backing off now: the next stale key installs without even trying. */
	mkevent(&ev, 6, 501, 40001);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 4);
	assert_int_equal(get(&m.cache[METRICS_CACHE_STALE]), 2);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_TRANSPORT]), 1);

	/* Beyond stale_max nothing is installed. */
	advance(86400);
	mkevent(&ev, 5, 502, 40002);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 4);
	lookup_free(l);
}

/* A registry that answers slower than timeout_ms counts as failed: stale is used. */
static void test_stale_if_slow(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(11, true, 0);
	base_config(&cfg, reg.url);
	cfg.timeout_ms = 200;
	l = start(&cfg);
	mkevent(&ev, 11, 1100, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	advance(301);
	pthread_mutex_lock(&reg.mu);
	reg.hold = true; /* released by teardown */
	pthread_mutex_unlock(&reg.mu);
	mkevent(&ev, 11, 1101, 40001);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40001);
	assert_int_equal(get(&m.cache[METRICS_CACHE_STALE]), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_TRANSPORT]), 1);
	lookup_free(l);
}

static void *release_later(void *arg)
{
	unsigned int i, max = 0;

	/* Watch the parked requests for a while, then let them all go. */
	for (i = 0; i < 200; ++i) {
		pthread_mutex_lock(&reg.mu);
		if (reg.held > max)
			max = reg.held;
		bool all = reg.total >= 2 && reg.held >= 2;
		pthread_mutex_unlock(&reg.mu);
		if (all && i > 20)
			break;
		usleep(5000);
	}
	pthread_mutex_lock(&reg.mu);
	reg.hold = false;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
	return (void *)(uintptr_t)max;
}

/* max_inflight bounds concurrent requests; the rest wait and all complete. */
static void test_bounded_concurrency(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	pthread_t th;
	void *max;
	unsigned int i;

	for (i = 0; i < 10; ++i)
		standin_add(50 + i, true, 0);
	reg.hold = true;
	base_config(&cfg, reg.url);
	cfg.max_inflight = 2;
	cfg.timeout_ms = 20000;
	l = start(&cfg);
	for (i = 0; i < 10; ++i) {
		mkevent(&ev, 50 + i, 5000, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	assert_int_equal(pthread_create(&th, NULL, release_later, NULL), 0);
	pthread_join(th, &max);
	flush(l);
	assert_true((uintptr_t)max <= 2);
	assert_int_equal(installs(), 10);
	for (i = 0; i < 10; ++i)
		assert_int_equal(standin_hits(50 + i), 1);
	lookup_free(l);
}

static void test_expiry(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	int64_t now = atomic_load(&test_now) / 1000;

	standin_add(7, true, now + 100);  /* expires in 100 s */
	standin_add(8, true, now - 10);   /* served though already expired */
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 7, 700, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkevent(&ev, 8, 700, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_int_equal(sink.last_expires, now + 100);
	assert_int_equal(gones(), 1);

	/* Still within the positive TTL, but the record itself has expired. */
	advance(101);
	mkevent(&ev, 7, 701, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_int_equal(gones(), 2);
	/* And stale-if-error never resurrects it. */
	advance(400);
	standin_stop();
	mkevent(&ev, 7, 702, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	lookup_free(l);
}

static void test_replay_survives_restart(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(9, true, 0);
	base_config(&cfg, reg.url);
	cfg.cache_path = dbpath;
	l = start(&cfg);
	mkevent(&ev, 9, 900, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	assert_int_equal(lookup_submit(l, &ev), -EALREADY);
	mkevent(&ev, 9, 899, 40000);
	assert_int_equal(lookup_submit(l, &ev), -EALREADY);
	flush(l);
	assert_int_equal(installs(), 1);
	lookup_free(l);

	/* A new daemon on the same cache file refuses the old initiation at once. */
	l = start(&cfg);
	mkevent(&ev, 9, 900, 40005);
	assert_int_equal(lookup_submit(l, &ev), -EALREADY);
	mkevent(&ev, 9, 901, 40006);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 40006);
	lookup_free(l);
}

/* More keys than the in-memory index holds: replays are caught on the store. */
static void test_replay_beyond_memory(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	unsigned int i, rejected_sync = 0;

	base_config(&cfg, reg.url);
	cfg.cache_path = dbpath;
	cfg.replay_capacity = 8;
	/* Marks are persisted for keys the registry knows (installed) only. */
	for (i = 0; i < 40; ++i)
		standin_add(1000 + i, true, 0);
	l = start(&cfg);
	for (i = 0; i < 40; ++i) {
		mkevent(&ev, 1000 + i, 1000, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	flush(l);
	lookup_free(l);
	assert_int_equal(get(&m.replay_rejected), 0);
	assert_int_equal(installs(), 40);

	atomic_store(&replayed_seen, 0);
	cfg.replayed = on_replayed;
	l = start(&cfg);
	for (i = 0; i < 40; ++i) {
		mkevent(&ev, 1000 + i, 1000, 40000);
		if (lookup_submit(l, &ev) == -EALREADY)
			rejected_sync++;
	}
	flush(l);
	/* Every replay was refused: synchronously or on the lookup thread. */
	assert_int_equal(rejected_sync + get(&m.replay_rejected), 40);
	assert_true(get(&m.replay_rejected) > 0);
	/* Those caught on the store reach the endpoint guard as well. */
	assert_int_equal(atomic_load(&replayed_seen), get(&m.replay_rejected));
	assert_int_equal(installs(), 40);
	lookup_free(l);
}

static int count_mark(void *ctx, const uint8_t key[WG_KEY_LEN], const uint8_t ts[12])
{
	(*(long *)ctx)++;
	return 0;
}

/*
 * Valid initiations for keys the registry does not know (anyone with the
 * gateway's public key can mint them) leave no replay mark on disk: the
 * cache file cannot grow by 30-day rows under such a flood.
 */
static void test_unknown_keys_leave_no_mark(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	struct cache *c;
	const char *why = NULL;
	long marks = 0;
	unsigned int i;

	base_config(&cfg, reg.url);
	cfg.cache_path = dbpath;
	standin_add(3000, true, 0);
	for (i = 0; i < 50; ++i)
		standin_add(2000 + i, false, 0);
	l = start(&cfg);
	for (i = 0; i < 50; ++i) {
		mkevent(&ev, 2000 + i, 1000, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	mkevent(&ev, 3000, 1000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	lookup_free(l);
	assert_int_equal(installs(), 1);
	c = cache_open(dbpath, &why);
	assert_non_null(c);
	assert_int_equal(cache_replay_foreach(c, 1000, count_mark, &marks), 1);
	assert_int_equal(marks, 1);
	cache_close(c);
}

struct racer {
	struct lookup *l;
	pthread_barrier_t *round;
	atomic_uint *accepted;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct lookup_event ev;
	unsigned int k, j;
	int ret;

	for (j = 0; j < 40; ++j) {
		pthread_barrier_wait(r->round);
		for (k = 0; k < 8; ++k) {
			mkevent(&ev, 20 + k, 2000 + j, (uint16_t)(42000 + j));
			ret = lookup_submit(r->l, &ev);
			assert_true(ret == 0 || ret == -EALREADY);
			if (ret == 0)
				atomic_fetch_add(&r->accepted[k], 1);
		}
	}
	return NULL;
}

/* Worker threads racing with the same initiations: exactly one passes each. */
static void test_concurrent_submits(void **state)
{
	struct lookup_config cfg;
	struct lookup *l;
	pthread_barrier_t round;
	atomic_uint accepted[8] = { 0 };
	struct racer r[4];
	pthread_t th[4];
	unsigned int i;

	for (i = 0; i < 8; ++i)
		standin_add(20 + i, i % 2 == 0, 0);
	base_config(&cfg, reg.url);
	cfg.cache_path = dbpath;
	l = start(&cfg);
	pthread_barrier_init(&round, NULL, 4);
	for (i = 0; i < 4; ++i) {
		r[i] = (struct racer){ .l = l, .round = &round, .accepted = accepted };
		assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
	}
	for (i = 0; i < 4; ++i)
		pthread_join(th[i], NULL);
	flush(l);
	for (i = 0; i < 8; ++i) {
		assert_int_equal(atomic_load(&accepted[i]), 40);
		/* Frozen clock: one window, one request per key however many retries. */
		assert_int_equal(standin_hits(20 + i), 1);
	}
	/* Known keys install on the answer and on every later hit; unknown never. */
	assert_true(installs() >= 4);
	assert_true(installs() <= 4 * 40);
	assert_int_equal(get(&m.cache[METRICS_CACHE_HIT]) + get(&m.cache[METRICS_CACHE_MISS]) +
				 get(&m.cache[METRICS_CACHE_NEGATIVE]),
			 8 * 40);
	pthread_barrier_destroy(&round);
	lookup_free(l);
}

static void test_token_gateway_and_cap(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(30, true, 0);
	base_config(&cfg, reg.url);
	cfg.token = "s3cret-token";
	cfg.gateway = "gw-a";
	l = start(&cfg);
	mkevent(&ev, 30, 3000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_string_equal(reg.last_auth, "Bearer s3cret-token");
	assert_string_equal(reg.last_gateway, "gw-a");

	/* A server ignoring ?gateway= still cannot hand us another gateway's peer. */
	standin_add_gw(32, true, 0, "gw-b");
	mkevent(&ev, 32, 3000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_int_equal(gones(), 1);

	/* An oversized answer is a failure, not a record. */
	reg.big_body = 1 << 20;
	standin_add(31, true, 0);
	mkevent(&ev, 31, 3000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_TRANSPORT]), 1);
	lookup_free(l);
}

/* Answers that are not a record for the key asked are failures, never installs. */
static void test_bad_answers(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	unsigned int i;

	standin_add(60, true, 0);
	standin_add(61, true, 0);
	standin_add(62, true, 0);
	pthread_mutex_lock(&reg.mu);
	free(reg.keys[0].json);                 /* 60 answers with 61's record */
	reg.keys[0].json = strdup(reg.keys[1].json);
	free(reg.keys[1].json);                 /* 61: malformed JSON */
	reg.keys[1].json = strdup("{\"public_key\": ");
	free(reg.keys[2].json);                 /* 62: unknown field */
	reg.keys[2].json = strdup("{\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"x\":1}");
	pthread_mutex_unlock(&reg.mu);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	for (i = 0; i < 3; ++i) {
		mkevent(&ev, 60 + i, 6000, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
		flush(l);
		advance(60); /* past any backoff */
	}
	assert_int_equal(installs(), 0);
	assert_int_equal(gones(), 0);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_TRANSPORT]), 3);
	lookup_free(l);
}

static void test_revalidate(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	uint8_t key[WG_KEY_LEN];

	standin_add(40, true, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 40, 4000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	/* Fresh: answered from the cache. */
	mkkey(key, 40);
	assert_int_equal(lookup_revalidate(l, key), 0);
	flush(l);
	assert_int_equal(standin_hits(40), 1);
	assert_int_equal(gones(), 0);
	/* Past the TTL the registry is asked; it no longer knows the key. */
	advance(301);
	pthread_mutex_lock(&reg.mu);
	free(reg.keys[0].json);
	reg.keys[0].json = NULL;
	pthread_mutex_unlock(&reg.mu);
	assert_int_equal(lookup_revalidate(l, key), 0);
	flush(l);
	assert_int_equal(standin_hits(40), 2);
	assert_int_equal(gones(), 1);
	assert_int_equal(installs(), 1);
	lookup_free(l);
}

/* NOTICE_CONFLICT: key 52 claims the installed key 50's address. */
static size_t conflict(struct lookup *l, unsigned int claimant, unsigned int holder, uint16_t port)
{
	struct notice n = { .type = NOTICE_CONFLICT };

	mkkey(n.key, claimant);
	mkkey(n.other, holder);
	n.src.sin.sin_family = AF_INET;
	n.src.sin.sin_port = htons(port);
	n.src.sin.sin_addr.s_addr = htonl(0xc0000201);
	return lookup_notify(l, &n, 1);
}

/*
 * Address ownership, the lookup's half: both keys are fresh in the cache,
 * yet the registry is asked about the holder first and then the claimant;
 * a holder the registry no longer has is reported gone, and the claimant
 * is installed owner-checked from the claimant's endpoint. With the holder
 * still known the claimant is installed all the same (the latest answer
 * wins); with the registry failing nothing is installed, not even from the
 * cache.
 */
static void test_conflict_asks_registry(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	standin_add(50, true, 0);
	standin_add(52, true, 0);
	base_config(&cfg, reg.url);
	l = start(&cfg);
	mkevent(&ev, 50, 5000, 45000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkevent(&ev, 52, 5200, 45200);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);
	assert_false(sink.last_ev.owner_checked);

	/* holder still known: both asked despite fresh rows, claimant installed owner-checked */
	assert_int_equal(conflict(l, 52, 50, 45201), 1);
	flush(l);
	assert_int_equal(standin_hits(50), 2);
	assert_int_equal(standin_hits(52), 2);
	assert_int_equal(installs(), 3);
	assert_true(sink.last_ev.owner_checked);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 45201);
	assert_int_equal(gones(), 0);

	/* holder deleted: gone first, then the claimant */
	pthread_mutex_lock(&reg.mu);
	free(reg.keys[0].json);
	reg.keys[0].json = NULL;
	pthread_mutex_unlock(&reg.mu);
	advance(6);
	assert_int_equal(conflict(l, 52, 50, 45202), 1);
	flush(l);
	assert_int_equal(gones(), 1);
	assert_int_equal(standin_hits(52), 3);
	assert_int_equal(installs(), 4);
	assert_true(sink.last_ev.owner_checked);

	/* registry down: no install from the cache on this path */
	standin_stop();
	advance(6);
	assert_int_equal(conflict(l, 52, 50, 45203), 1);
	flush(l);
	assert_int_equal(installs(), 4);
	lookup_free(l);
}

/*
 * The feed follower deletes a key while the lookup's request for it is in
 * flight: the answer (a record, read before the delete) must neither
 * replace the negative row nor install; the key is reported gone.
 */
static void test_feed_delete_beats_answer(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct cache_entry e;
	struct cache *follower;
	struct lookup *l;
	const char *why = NULL;
	uint8_t key[WG_KEY_LEN];
	unsigned int i;

	standin_add(80, true, 0);
	pthread_mutex_lock(&reg.mu);
	reg.keys[0].hold = true;
	pthread_mutex_unlock(&reg.mu);
	base_config(&cfg, reg.url);
	cfg.cache_path = dbpath;
	cfg.timeout_ms = 20000;
	l = start(&cfg);
	mkevent(&ev, 80, 8000, 40080);
	assert_int_equal(lookup_submit(l, &ev), 0);
	for (i = 0; i < 4000 && standin_hits(80) < 1; ++i)
		usleep(5000);
	assert_int_equal(standin_hits(80), 1);
	follower = cache_open_companion(dbpath, &why);
	assert_non_null(follower);
	mkkey(key, 80);
	assert_int_equal(cache_peer_put_negative(follower, key, atomic_load(&test_now)), 0);
	pthread_mutex_lock(&reg.mu);
	reg.keys[0].hold = false;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
	flush(l);
	assert_int_equal(installs(), 0);
	assert_int_equal(gones(), 1);
	assert_int_equal(cache_peer_get(follower, key, &e), 0);
	assert_int_equal(e.state, CACHE_NEGATIVE);
	cache_entry_clear(&e);
	cache_close(follower);
	lookup_free(l);
}

static unsigned int standin_total(void)
{
	unsigned int n;

	pthread_mutex_lock(&reg.mu);
	n = reg.total;
	pthread_mutex_unlock(&reg.mu);
	return n;
}

/*
 * The registry budget: a burst of M never-seen keys gets at most
 * budget + burst requests over a 1 s window (the rest are dropped, not
 * negative-cached, so their retries may ask), while a key with a stale
 * positive row and a revalidation still get theirs with the budget spent.
 * Registered first-time keys give their token back when the record
 * arrives, so a storm of them is not held to the budget per second.
 */
static void test_registry_budget(void **state)
{
	enum { BUDGET = 10, M = 50, K = 30 };
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	uint8_t key[WG_KEY_LEN];
	unsigned int i, before;

	standin_add(60, true, 0);
	standin_add(61, true, 0);
	for (i = 0; i < M; ++i)
		standin_add(1000 + i, false, 0); /* 404: counts the hits */
	for (i = 0; i < K; ++i)
		standin_add(2000 + i, true, 0);
	base_config(&cfg, reg.url);
	cfg.budget = BUDGET;
	l = start(&cfg);
	mkevent(&ev, 60, 6000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkevent(&ev, 61, 6000, 40000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 2);
	advance(301); /* both rows stale; the bucket full again */

	before = standin_total();
	for (i = 0; i < M; ++i) {
		mkevent(&ev, 1000 + i, 1, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	flush(l);
	assert_int_equal(standin_total() - before, BUDGET);
	assert_int_equal(get(&m.lookup_budget_dropped), M - BUDGET);

	/* Budget spent: the known key is still refreshed and installed, the revalidation still asks. */
	mkevent(&ev, 60, 6001, 40001);
	assert_int_equal(lookup_submit(l, &ev), 0);
	mkkey(key, 61);
	assert_int_equal(lookup_revalidate(l, key), 0);
	flush(l);
	assert_int_equal(standin_hits(60), 2);
	assert_int_equal(standin_hits(61), 2);
	assert_int_equal(installs(), 3);
	assert_int_equal(get(&m.lookup_budget_dropped), M - BUDGET);

	/* One second on, the clients retry: BUDGET more get asked, dropped keys included. */
	advance(1);
	before = standin_total();
	for (i = 0; i < M; ++i) {
		mkevent(&ev, 1000 + i, 2, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	flush(l);
	assert_int_equal(standin_total() - before, BUDGET);
	/* The first BUDGET are negative-cached now; the next BUDGET, dropped before, got theirs. */
	for (i = 0; i < M; ++i)
		assert_int_equal(standin_hits(1000 + i), i < 2 * BUDGET ? 1 : 0);

	/*
	 * A second on, a storm of K = 3 x BUDGET registered first-time keys,
	 * BUDGET at a time with no time passing: every one is asked and
	 * installed (each answer gave its token back), nothing dropped.
	 */
	advance(1);
	before = get(&m.lookup_budget_dropped);
	for (i = 0; i < K; ++i) {
		mkevent(&ev, 2000 + i, 1, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
		if ((i + 1) % BUDGET == 0)
			flush(l);
	}
	for (i = 0; i < K; ++i)
		assert_int_equal(standin_hits(2000 + i), 1);
	assert_int_equal(installs(), 3 + K);
	assert_int_equal(get(&m.lookup_budget_dropped), before);
	/* ... and the unknown keys are still held: the bucket is as full as before the storm. */
	for (i = 0; i < M; ++i) {
		mkevent(&ev, 1000 + i, 3, 40000);
		assert_int_equal(lookup_submit(l, &ev), 0);
	}
	flush(l);
	for (i = 0; i < M; ++i)
		assert_int_equal(standin_hits(1000 + i), i < 3 * BUDGET ? 1 : 0);
	lookup_free(l);
}

static void test_bad_config(void **state)
{
	struct lookup_config cfg;
	const char *why = NULL;
	int fd;

	base_config(&cfg, "ftp://example.invalid/");
	assert_null(lookup_new(&cfg, on_install, on_gone, NULL, &why));
	assert_non_null(strstr(why, "http"));
	base_config(&cfg, reg.url);
	cfg.gateway = "bad name/";
	assert_null(lookup_new(&cfg, on_install, on_gone, NULL, &why));
	assert_non_null(strstr(why, "gateway"));
	/* A corrupt cache file is a clear start-up error. */
	fd = open(dbpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not sqlite, not at all, no.......................................................................................", 120), 120);
	close(fd);
	base_config(&cfg, reg.url);
	cfg.cache_path = dbpath;
	assert_null(lookup_new(&cfg, on_install, on_gone, NULL, &why));
	assert_non_null(strstr(why, "corrupt"));
	lookup_free(NULL);
}

/* ---- against the real jitwg-registry (tests/integration/lookup.sh) ---------------- */

static const char *real_url(void)
{
	return getenv("JITWG_REGISTRY_URL");
}

/* Server-side count: the registry's debug log has one line per request. */
static unsigned int log_hits(unsigned int n)
{
	const char *path = getenv("JITWG_REGISTRY_LOG");
	uint8_t key[WG_KEY_LEN];
	char b[WG_KEY_B64URL_LEN + 1], line[512];
	unsigned int hits = 0;
	FILE *f;

	mkkey(key, n);
	key_to_base64url(b, key);
	f = path ? fopen(path, "r") : NULL;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "GET") && strstr(line, b))
			hits++;
	fclose(f);
	return hits;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	return size * n;
}

/* Creates key n in the real registry (bound to gateway gw when not NULL). */
static void real_add_exp(unsigned int n, const char *gw, int64_t expires)
{
	struct peer_record r = { 0 };
	struct curl_slist *h = NULL;
	char url[256], auth[256], *body;
	const char *token = getenv("JITWG_REGISTRY_TOKEN");
	struct cidr ip;
	char s[32];
	long code = 0;
	CURL *c;

	mkkey(r.public_key, n);
	snprintf(s, sizeof(s), "10.%u.%u.2/32", 100 + ((n >> 8) & 63), n & 255);
	assert_int_equal(cidr_parse(&ip, s), 0);
	r.allowed_ips = &ip;
	r.n_allowed_ips = 1;
	if (gw) {
		r.has_gateway = true;
		strcpy(r.gateway, gw);
	}
	r.expires_at = expires;
	body = peer_record_to_json(&r);
	assert_non_null(body);
	snprintf(url, sizeof(url), "%s/v1/peers", real_url());
	h = curl_slist_append(h, "Content-Type: application/json");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_true(code == 201 || code == 200);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(body);
}

static void real_add(unsigned int n, const char *gw)
{
	real_add_exp(n, gw, 0);
}

static void real_config(struct lookup_config *cfg)
{
	base_config(cfg, real_url());
	cfg->cache_path = getenv("JITWG_LOOKUP_CACHE");
	cfg->token = getenv("JITWG_REGISTRY_TOKEN");
	cfg->gateway = "gw-a";
}

/* The registry logs at most a few lines a second: keep each step in its own second. */
static void log_budget(void)
{
	usleep(1100 * 1000);
}

static int real_setup(void **state)
{
	memset(&m, 0, sizeof(m));
	memset(&sink, 0, sizeof(sink));
	pthread_mutex_init(&sink.mu, NULL);
	/* Real time: the registry judges expiry by its own clock. */
	atomic_store(&test_now, (int64_t)time(NULL) * 1000);
	if (!real_url())
		skip();
	return 0;
}

/* Phase "up": the registry runs. */
static void test_real_up(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;
	unsigned int i;

	if (!real_url() || strcmp(getenv("JITWG_LOOKUP_PHASE") ?: "", "up"))
		skip();
	real_add(1, NULL);
	real_add(2, "gw-b"); /* another gateway's peer */
	real_add(3, "gw-a");
	real_add_exp(6, NULL, time(NULL) + 100);
	log_budget();
	real_config(&cfg);
	l = start(&cfg);

	/* Cold fetch and install, then retries are hits: one request. */
	for (i = 0; i < 4; ++i) {
		mkevent(&ev, 1, 100 + i, (uint16_t)(43000 + i));
		assert_int_equal(lookup_submit(l, &ev), 0);
		flush(l);
		advance(1);
	}
	assert_int_equal(installs(), 4);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 43003);
	log_budget();
	assert_int_equal(log_hits(1), 1);

	/* Bound to another gateway: 404 for us, negative-cached. */
	for (i = 0; i < 4; ++i) {
		mkevent(&ev, 2, 100 + i, 43000);
		assert_int_equal(lookup_submit(l, &ev), 0);
		flush(l);
		advance(2);
	}
	assert_int_equal(installs(), 4);
	assert_true(gones() >= 1);
	log_budget();
	assert_int_equal(log_hits(2), 1);

	/* Never registered: negative too, one request. */
	for (i = 0; i < 3; ++i) {
		mkevent(&ev, 4, 100 + i, 43000);
		assert_int_equal(lookup_submit(l, &ev), 0);
		flush(l);
		advance(2);
	}
	log_budget();
	assert_int_equal(log_hits(4), 1);
	assert_int_equal(installs(), 4);

	/* Our own gateway's peer installs. */
	mkevent(&ev, 3, 100, 43100);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 5);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_OK]), 2);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_NOT_FOUND]), 2);

	/* Expiry as the registry serves it (RFC 3339): installed until it passes. */
	mkevent(&ev, 6, 100, 43200);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 6);
	assert_true(sink.last_expires > 0);
	i = gones();
	advance(150); /* our clock only: the registry still serves it */
	mkevent(&ev, 6, 101, 43201);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 6);
	assert_int_equal(gones(), i + 1);
	lookup_free(l);
}

/* Phase "down": a new process, same cache file, the registry stopped. */
static void test_real_down(void **state)
{
	struct lookup_config cfg;
	struct lookup_event ev;
	struct lookup *l;

	if (!real_url() || strcmp(getenv("JITWG_LOOKUP_PHASE") ?: "", "down"))
		skip();
	real_config(&cfg);
	advance(400); /* past the positive TTL */
	l = start(&cfg);
	/* The replay mark from the other process is still there. */
	mkevent(&ev, 1, 103, 43999);
	assert_int_equal(lookup_submit(l, &ev), -EALREADY);
	/* Stale-if-error: the registry is down, the cached record is used. */
	mkevent(&ev, 1, 200, 44000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	assert_int_equal(ntohs(sink.last_ev.src.sin.sin_port), 44000);
	assert_int_equal(get(&m.cache[METRICS_CACHE_STALE]), 1);
	assert_int_equal(get(&m.registry_requests[METRICS_REG_TRANSPORT]), 1);
	/* Unknown keys stay uninstalled. */
	mkevent(&ev, 5, 200, 44000);
	assert_int_equal(lookup_submit(l, &ev), 0);
	flush(l);
	assert_int_equal(installs(), 1);
	lookup_free(l);
}

int main(void)
{
	const struct CMUnitTest standin_tests[] = {
		cmocka_unit_test_setup_teardown(test_fetch_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys_leave_no_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_installs_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_one_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_404_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalesce_newest_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_key_stalls_nobody, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_if_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_if_slow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_beyond_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_submits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_gateway_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_asks_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_delete_beats_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_budget, setup, teardown),
	};
	const struct CMUnitTest real_tests[] = {
		cmocka_unit_test_setup(test_real_up, real_setup),
		cmocka_unit_test_setup(test_real_down, real_setup),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Both phases of the integration test must name the same keys. */
	key_salt = getenv("JITWG_LOOKUP_SALT") ? (unsigned int)atoi(getenv("JITWG_LOOKUP_SALT"))
					       : (unsigned int)getpid();
	if (real_url())
		return cmocka_run_group_tests_name("real registry", real_tests, NULL, NULL);
	return cmocka_run_group_tests_name("stand-in registry", standin_tests, NULL, NULL);
}

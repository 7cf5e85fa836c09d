// SPDX-License-Identifier: MIT
/*
 * The install stage against a fake data plane (fake_dataplane.h) and a
 * fake re-injection seam: installs in the initiator role and, with
 * reinject, by handing back the client's initiation (paced, followed up),
 * the endpoint guard after a replay, eviction, removal of peers the
 * registry reports gone, feed updates, expiry at the second, address
 * ownership, revalidation notices, and the status document. Runs as a
 * plain user: no interface, no root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "common/clock.h"
#include "crypto/blake2s.h"
#include "gateway/install/install.h"
#include "gateway/install/internal.h"
#include "gateway/install/status.h"
#include "unit/fake_dataplane.h"

static struct fake_dp fake;
static struct metrics m;

/* The re-injection seam's fake: records what the install stage hands back. */
static struct {
	pthread_mutex_t mu;
	struct reinject_pkt pkts[16];
	uint8_t msgs[16][WG_MSG_INITIATION_LEN];
	size_t n;
	bool fail;
	size_t sets_before;  /* fake.n_sets when the first re-injection came: it must follow the install */
} rj = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int rj_send(void *ctx, const struct reinject_pkt *pkts, size_t n, bool *ok)
{
	size_t i;

	pthread_mutex_lock(&fake.mu);
	pthread_mutex_lock(&rj.mu);
	if (!rj.n)
		rj.sets_before = fake.n_sets;
	for (i = 0; i < n; ++i) {
		ok[i] = !rj.fail;
		if (rj.fail || rj.n == 16)
			continue;
		rj.pkts[rj.n] = pkts[i];
		memcpy(rj.msgs[rj.n], pkts[i].msg, WG_MSG_INITIATION_LEN);
		rj.pkts[rj.n].msg = rj.msgs[rj.n];
		rj.n++;
	}
	pthread_mutex_unlock(&rj.mu);
	pthread_mutex_unlock(&fake.mu);
	return rj.fail ? -EPERM : (int)n;
}

static const struct reinject_io rj_io = { .send = rj_send };
static const struct installer_config reinject_cfg = {
	.idle_timeout = 600, .grace = 30, .revalidate = 300, .reinject = true,
};

static void mkkey(uint8_t k[WG_KEY_LEN], unsigned int i)
{
	memset(k, 0, WG_KEY_LEN);
	k[0] = (uint8_t)i;
	k[1] = (uint8_t)(i >> 8);
	k[31] = 0x42;
}

/* Polls cond for up to ms milliseconds. */
#define WAIT_FOR(cond, ms) do {                                         \
		for (int w_ = 0; w_ < (ms) / 5 && !(cond); ++w_)        \
			usleep(5000);                                   \
	} while (0)

static struct installer *start(const struct installer_config *over)
{
	struct installer_config cfg = {
		.ifname = "wgtest", .idle_timeout = 600, .grace = 30, .revalidate = 300,
		.metrics = &m,
	};
	struct dataplane *dp = fake_dp_open(&fake);
	struct installer *ins;

	if (over)
		cfg = *over;
	cfg.metrics = &m;
	if (!cfg.reinject_io)
		cfg.reinject_io = &rj_io; /* never the raw sockets: no packet leaves a unit test */
	assert_non_null(dp);
	ins = installer_new(dp, &cfg);
	assert_non_null(ins);
	return ins;
}

static void submit(struct installer *ins, unsigned int key, uint32_t ip, uint16_t port, uint16_t keepalive)
{
	struct lookup_event ev;
	struct peer_record rec;
	struct cidr c = { .family = AF_INET, .prefix = 32, .addr = { 10, 0, 0, (uint8_t)key } };

	memset(&ev, 0, sizeof(ev));
	memset(&rec, 0, sizeof(rec));
	mkkey(ev.key, key);
	mkkey(rec.public_key, key);
	ev.src.sin.sin_family = AF_INET;
	ev.src.sin.sin_addr.s_addr = htonl(ip);
	ev.src.sin.sin_port = htons(port);
	ev.local.sin.sin_family = AF_INET;
	ev.local.sin.sin_addr.s_addr = htonl(0xc0000101);
	ev.local.sin.sin_port = htons(51820);
	memset(ev.initiation, (int)key, sizeof(ev.initiation));
	ev.initiation[0] = 1;
	ev.first_seen = clock_timespec(CLOCK_MONOTONIC);
	rec.allowed_ips = &c;
	rec.n_allowed_ips = 1;
	rec.persistent_keepalive = keepalive;
	assert_int_equal(installer_submit(ins, &ev, &rec), 0);
}

static int setup(void **state)
{
	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&rj.mu);
	rj.n = 0;
	rj.fail = false;
	pthread_mutex_unlock(&rj.mu);
	return 0;
}

/*
 * --reinject: a new peer is set once, as a responder, and then its
 * client's initiation goes back to the data plane, from the client's
 * address to the local address it was sent to. The same client again (the
 * data plane has the peer and answered it) is not re-injected, and its
 * unchanged allowed IPs are not replaced.
 */
static void test_install_reinjects(void **state)
{
	struct installer *ins = start(&reinject_cfg);
	uint8_t k[WG_KEY_LEN];
	size_t sets;

	submit(ins, 5, 0xc0000205, 40005, 0);
	WAIT_FOR(metrics_get(&m.reinjected) == 1, 2000);
	assert_int_equal(metrics_get(&m.reinjected), 1);
	assert_int_equal(metrics_get(&m.initiations_sent), 0);
	mkkey(k, 5);
	pthread_mutex_lock(&fake.mu);
	assert_non_null(fake_find(&fake, k));
	assert_int_equal(fake.n_sets, 1);
	assert_true(fake.sets[0].flags & DP_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(fake.sets[0].persistent_keepalive, 0);
	sets = fake.n_sets;
	pthread_mutex_unlock(&fake.mu);
	pthread_mutex_lock(&rj.mu);
	assert_int_equal(rj.n, 1);
	assert_int_equal(rj.sets_before, 1); /* after the install, never before */
	assert_int_equal(rj.pkts[0].from.addr4.sin_addr.s_addr, htonl(0xc0000205));
	assert_int_equal(ntohs(rj.pkts[0].from.addr4.sin_port), 40005);
	assert_int_equal(rj.pkts[0].to.addr4.sin_addr.s_addr, htonl(0xc0000101));
	assert_int_equal(ntohs(rj.pkts[0].to.addr4.sin_port), 51820);
	assert_int_equal(rj.msgs[0][0], 1);
	assert_int_equal(rj.msgs[0][147], 5);
	pthread_mutex_unlock(&rj.mu);

	submit(ins, 5, 0xc0000205, 40005, 0);
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.installs), 2);
	assert_int_equal(metrics_get(&m.reinjected), 1);
	pthread_mutex_lock(&fake.mu);
	assert_int_equal(fake.n_sets, sets + 1);
	assert_int_equal(fake.sets[sets].flags & DP_PEER_REPLACE_ALLOWEDIPS, 0);
	assert_int_equal(fake.sets[sets].n_allowed_ips, 1);
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

/* The fake data plane's keepalive for key n. */
static uint16_t fake_keepalive(unsigned int n)
{
	uint8_t k[WG_KEY_LEN];
	uint16_t ka;

	mkkey(k, n);
	pthread_mutex_lock(&fake.mu);
	ka = fake_find(&fake, k) ? fake_find(&fake, k)->persistent_keepalive : 0xffff;
	pthread_mutex_unlock(&fake.mu);
	return ka;
}

/* The capture saw a session begin from (ip, port) now. */
static size_t session_seen(struct installer *ins, uint32_t ip, uint16_t port)
{
	union dp_endpoint ep;
	struct timespec now = clock_timespec(CLOCK_MONOTONIC);

	memset(&ep, 0, sizeof(ep));
	ep.addr4.sin_family = AF_INET;
	ep.addr4.sin_addr.s_addr = htonl(ip);
	ep.addr4.sin_port = htons(port);
	return installer_sessions_seen(ins, &ep, &now, 1);
}

/*
 * After a copy: a session from its source settles it at once, with the
 * record's keepalive and no listing; a copy with no answer waits for the
 * late mark, where one listing finds it consumed (keepalive once there is
 * a handshake) or not (sent once more, and at that one's late mark the
 * data plane initiates, keepalive in the same call).
 */
static void test_reinject_followup(void **state)
{
	struct installer *ins = start(&reinject_cfg);
	uint8_t k[WG_KEY_LEN];
	unsigned int lists;
	uint64_t t0;

	t0 = clock_mono_ms();
	submit(ins, 7, 0xc0000207, 40007, 25);   /* will consume nothing */
	submit(ins, 8, 0xc0000208, 40008, 25);   /* consumed its copy; the capture missed the session */
	submit(ins, 9, 0xc0000209, 40009, 25);   /* answered: the capture sees the session */
	submit(ins, 6, 0xc0000206, 40006, 25);   /* consumed its copy, no session confirmed yet */
	WAIT_FOR(metrics_get(&m.reinjected) == 4, 2000);
	/* installed without it: turning it on would make the data plane initiate */
	assert_int_equal(fake_keepalive(7), 0);
	assert_int_equal(fake_keepalive(8), 0);
	assert_int_equal(fake_keepalive(9), 0);
	mkkey(k, 6);
	pthread_mutex_lock(&fake.mu);
	fake_find(&fake, k)->rx_bytes = 148; /* 6 consumed its copy; the client has not confirmed */
	mkkey(k, 8);
	fake_find(&fake, k)->rx_bytes = 148; /* 8 consumed its copy, and the session is up */
	fake_find(&fake, k)->last_handshake_sec = time(NULL);
	lists = fake.list_calls;
	pthread_mutex_unlock(&fake.mu);
	assert_int_equal(session_seen(ins, 0xc0000209, 40009), 1);
	WAIT_FOR(fake_keepalive(9) == 25, 2000);
	assert_int_equal(fake_keepalive(9), 25);
	assert_int_equal(metrics_get(&m.reinject_answered), 1);
	/* before the late mark (1 s after the copies, after t0) nothing was listed */
	pthread_mutex_lock(&fake.mu);
	if (clock_mono_ms() - t0 < 900) {
		assert_int_equal(fake.list_calls, lists);
		assert_int_equal(fake_find(&fake, k)->persistent_keepalive, 0);
		assert_int_equal(metrics_get(&m.initiations_sent), 0);
	}
	pthread_mutex_unlock(&fake.mu);
	/* 7's copy is sent again at its late mark, and only then (again late) does 7 initiate */
	WAIT_FOR(metrics_get(&m.reinject_unanswered) == 1, 4000);
	usleep(300000);
	assert_int_equal(metrics_get(&m.reinject_resent), 1);
	assert_int_equal(metrics_get(&m.reinjected), 5);
	assert_int_equal(metrics_get(&m.reinject_unanswered), 1);
	assert_int_equal(metrics_get(&m.reinject_followup_late), 1);
	assert_int_equal(metrics_get(&m.initiations_sent), 1);
	pthread_mutex_lock(&rj.mu);
	assert_int_equal(rj.n, 5);
	assert_memory_equal(rj.msgs[4], rj.msgs[0], WG_MSG_INITIATION_LEN); /* the same message: a replay if taken */
	pthread_mutex_unlock(&rj.mu);
	assert_int_equal(fake_keepalive(7), 25);
	assert_int_equal(fake_keepalive(8), 25);
	/* no keepalive without a session: it would make the data plane initiate across the client */
	assert_int_equal(fake_keepalive(6), 0);
	/* nothing waits any more: sessions are not even queued */
	assert_int_equal(session_seen(ins, 0xc0000208, 40008), 0);
	installer_free(ins);
}

/*
 * The data plane drains its queue in order: once a copy sent 64 or more
 * after another was consumed, the earlier one was refused and is sent
 * again without waiting; the rest wait for the late mark.
 */
static void test_reinject_followup_order(void **state)
{
	struct installer *ins = start(&reinject_cfg);
	uint8_t k[WG_KEY_LEN];
	unsigned int i;
	uint64_t t0;

	t0 = clock_mono_ms();
	for (i = 0; i < 70; ++i)
		submit(ins, 10 + i, 0xc0000300 + i, 41000 + i, 0);
	WAIT_FOR(metrics_get(&m.reinjected) == 70, 2000);
	assert_int_equal(metrics_get(&m.reinjected), 70);
	mkkey(k, 10 + 69);
	pthread_mutex_lock(&fake.mu);
	fake_find(&fake, k)->rx_bytes = 148;
	pthread_mutex_unlock(&fake.mu);
	assert_int_equal(session_seen(ins, 0xc0000300 + 69, 41000 + 69), 1);
	WAIT_FOR(metrics_get(&m.reinject_resent) >= 6, 2000);
	/* the sign came with the answer: no waiting for the late mark (1 s after the copies, after t0) */
	if (clock_mono_ms() - t0 < 900) {
		assert_int_equal(metrics_get(&m.reinject_resent), 6);
		assert_int_equal(metrics_get(&m.reinject_unanswered), 0);
	}
	/* each sent once more, then initiated at that copy's late mark */
	WAIT_FOR(metrics_get(&m.reinject_unanswered) == 69, 5000);
	assert_int_equal(metrics_get(&m.reinject_unanswered), 69);
	assert_int_equal(metrics_get(&m.reinject_resent), 69);
	assert_int_equal(metrics_get(&m.reinjected), 70 + 69);
	assert_int_equal(metrics_get(&m.reinject_followup_late), 69);
	installer_free(ins);
}

/* The data plane's public key in the cookie tests, and the cookie it hands out. */
static const uint8_t dp_public[WG_KEY_LEN] = { 0x70, 0x75, 0x62 };
static const uint8_t dp_cookie[NOISE_COOKIE_LEN] = { 0xc0, 0x0c, 0x1e };

/*
 * The data plane's cookie reply to the message msg (receiver: its sender
 * index; AD: its mac1), sealed under dp_public, or under another key when
 * bad; handed in as the capture's egress tap would, from (ip, port).
 */
static size_t cookie_seen(struct installer *ins, const uint8_t *msg, uint32_t ip, uint16_t port, bool bad)
{
	uint8_t reply[WG_MSG_COOKIE_LEN], other[WG_KEY_LEN] = { 1 };
	union dp_endpoint ep;
	uint32_t idx;

	memcpy(&idx, msg + 4, 4);
	assert_int_equal(noise_cookie_create_reply(reply, le32toh(idx), msg + WG_INITIATION_MAC1_OFF,
						   bad ? other : dp_public, dp_cookie, NULL), 0);
	memset(&ep, 0, sizeof(ep));
	ep.addr4.sin_family = AF_INET;
	ep.addr4.sin_addr.s_addr = htonl(ip);
	ep.addr4.sin_port = htons(port);
	return installer_cookies_seen(ins, &ep, (const uint8_t (*)[WG_MSG_COOKIE_LEN])reply, 1);
}

/* submit()'s initiation for key n, as the copy will carry it. */
static void initiation_of(uint8_t msg[WG_MSG_INITIATION_LEN], unsigned int n)
{
	memset(msg, (int)n, WG_MSG_INITIATION_LEN);
	msg[0] = 1;
}

/* msg with the mac2 of dp_cookie, as a client with that cookie would send it. */
static void with_mac2(uint8_t out[WG_MSG_INITIATION_LEN], const uint8_t *msg)
{
	memcpy(out, msg, WG_MSG_INITIATION_LEN);
	blake2s(out + WG_INITIATION_MAC2_OFF, WG_MAC_LEN, out, WG_INITIATION_MAC2_OFF, dp_cookie, NOISE_COOKIE_LEN);
}

/*
 * Under load the data plane refuses a copy with a cookie reply: the copy is
 * sent again at once, from the same source, with that cookie's mac2, and
 * only once per cookie. A reply that does not open with the copy's mac1 (or
 * the data plane's key) changes nothing. A reply that refused the client's
 * original before its peer was installed is kept, and the copy goes out
 * with its mac2 the first time.
 */
static void test_reinject_cookie(void **state)
{
	struct installer_config cfg = reinject_cfg;
	uint8_t msg[WG_MSG_INITIATION_LEN], want[WG_MSG_INITIATION_LEN];
	struct installer *ins;

	cfg.public_key = dp_public;
	ins = start(&cfg);
	submit(ins, 21, 0xc0000221, 40021, 0);
	WAIT_FOR(metrics_get(&m.reinjected) == 1, 2000);
	initiation_of(msg, 21);
	/* refused, but the reply is sealed under another key: nothing */
	assert_int_equal(cookie_seen(ins, msg, 0xc0000221, 40021, true), 1);
	/* to another address: nothing */
	assert_int_equal(cookie_seen(ins, msg, 0xc0000222, 40021, false), 1);
	usleep(100000);
	assert_int_equal(metrics_get(&m.reinjected), 1);
	/* the data plane's own reply: sent again with its mac2 */
	assert_int_equal(cookie_seen(ins, msg, 0xc0000221, 40021, false), 1);
	WAIT_FOR(metrics_get(&m.reinjected) == 2, 2000);
	assert_int_equal(metrics_get(&m.reinject_cookied), 1);
	with_mac2(want, msg);
	pthread_mutex_lock(&rj.mu);
	assert_int_equal(rj.n, 2);
	assert_memory_equal(rj.msgs[0], msg, WG_MSG_INITIATION_LEN);
	assert_memory_equal(rj.msgs[1], want, WG_MSG_INITIATION_LEN);
	assert_memory_equal(&rj.pkts[1].from, &rj.pkts[0].from, sizeof(rj.pkts[0].from));
	assert_memory_equal(&rj.pkts[1].to, &rj.pkts[0].to, sizeof(rj.pkts[0].to));
	pthread_mutex_unlock(&rj.mu);
	/* refused again with the same cookie: the mac2 would not change, so not again */
	assert_int_equal(cookie_seen(ins, want, 0xc0000221, 40021, false), 1);
	usleep(100000);
	assert_int_equal(metrics_get(&m.reinjected), 2);

	/* the original of 22 was refused before its peer was in: its copy carries the mac2 at once */
	initiation_of(msg, 22);
	assert_int_equal(cookie_seen(ins, msg, 0xc0000222, 40022, false), 1);
	usleep(50000); /* the install stage keeps it before the install comes */
	submit(ins, 22, 0xc0000222, 40022, 0);
	WAIT_FOR(metrics_get(&m.reinjected) == 3, 2000);
	with_mac2(want, msg);
	pthread_mutex_lock(&rj.mu);
	assert_int_equal(rj.n, 3);
	assert_memory_equal(rj.msgs[2], want, WG_MSG_INITIATION_LEN);
	pthread_mutex_unlock(&rj.mu);
	assert_int_equal(metrics_get(&m.reinject_cookied), 2);
	installer_free(ins);

	/* without the data plane's key nothing is even queued */
	ins = start(&reinject_cfg);
	assert_int_equal(cookie_seen(ins, msg, 0xc0000222, 40022, false), 0);
	installer_free(ins);
}

/*
 * The sweep's backstop: a copy that could not be sent has no follow-up, so
 * its peer (with a session from the client's retransmit) gets the record's
 * keepalive from the first sweep after the follow-up's window (6 s).
 */
static void test_keepalive_sweep(void **state)
{
	struct installer_config cfg = reinject_cfg;
	struct installer *ins;
	uint8_t k[WG_KEY_LEN];

	cfg.idle_timeout = 4; /* a sweep a second */
	ins = start(&cfg);
	pthread_mutex_lock(&rj.mu);
	rj.fail = true;
	pthread_mutex_unlock(&rj.mu);
	submit(ins, 9, 0xc0000209, 40009, 25);
	WAIT_FOR(metrics_get(&m.reinject_failed) == 1, 2000);
	assert_int_equal(fake_keepalive(9), 0);
	mkkey(k, 9);
	pthread_mutex_lock(&fake.mu);
	fake_find(&fake, k)->last_handshake_sec = time(NULL);
	pthread_mutex_unlock(&fake.mu);
	usleep(3000000);
	assert_int_equal(fake_keepalive(9), 0); /* not before the window */
	pthread_mutex_lock(&fake.mu);
	fake_find(&fake, k)->last_handshake_sec = time(NULL); /* still active: not evicted */
	pthread_mutex_unlock(&fake.mu);
	WAIT_FOR(fake_keepalive(9) == 25, 6000);
	assert_int_equal(fake_keepalive(9), 25);
	assert_int_equal(metrics_get(&m.initiations_sent), 0);
	installer_free(ins);
}

/* A re-injection that cannot be sent is counted; the peer stays installed for the client's retransmit. */
static void test_reinject_fails_counted(void **state)
{
	struct installer *ins = start(&reinject_cfg);

	pthread_mutex_lock(&rj.mu);
	rj.fail = true;
	pthread_mutex_unlock(&rj.mu);
	submit(ins, 6, 0xc0000206, 40006, 0);
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.reinject_failed), 1);
	assert_int_equal(metrics_get(&m.reinjected), 0);
	assert_int_equal(metrics_get(&m.installs), 1);
	installer_free(ins);
}

/* Pacing: 16 at once, then one per period in order; a copy older than max_age is dropped. */
static void test_pacer(void **state)
{
	struct reinject_pacer *p = reinject_pacer_new(64, 1000000, 16, 1000000); /* a period of 1,000 ns */
	struct reinject_counts c = { 0 };
	struct reinject_pkt pk = { 0 };
	uint8_t msg[WG_MSG_INITIATION_LEN];
	unsigned int i;

	assert_non_null(p);
	pk.msg = msg;
	for (i = 0; i < 40; ++i) {
		msg[0] = (uint8_t)i;
		assert_true(reinject_pacer_push(p, &pk, 5000));
	}
	reinject_pacer_run(p, &rj_io, 5000, &c, NULL, NULL, NULL);
	assert_int_equal(c.sent, 16);
	assert_int_equal(c.held, 24);
	assert_int_equal(reinject_pacer_waiting(p), 24);
	assert_int_equal(reinject_pacer_due(p), 5000 + 16 * 1000 - 15 * 1000);
	reinject_pacer_run(p, &rj_io, 5000 + 4 * 1000, &c, NULL, NULL, NULL);
	assert_int_equal(c.sent, 20);
	assert_int_equal(c.held, 24); /* each counted once */
	pthread_mutex_lock(&rj.mu);
	assert_int_equal(rj.n, 16); /* the fake keeps 16 */
	for (i = 0; i < 16; ++i)
		assert_int_equal(rj.msgs[i][0], i);
	pthread_mutex_unlock(&rj.mu);
	reinject_pacer_run(p, &rj_io, 5000 + 1000000, &c, NULL, NULL, NULL);
	assert_int_equal(c.expired, 20);
	assert_int_equal(reinject_pacer_due(p), UINT64_MAX);
	for (i = 0; i < 64; ++i)
		assert_true(reinject_pacer_push(p, &pk, 2000000));
	assert_false(reinject_pacer_push(p, &pk, 2000000));
	/* a new rate (--reinject-rate on SIGHUP): the burst stays 16, then one per new period */
	reinject_pacer_set_rate(p, 2000000); /* 500 ns */
	c = (struct reinject_counts){ 0 };
	reinject_pacer_run(p, &rj_io, 2000000, &c, NULL, NULL, NULL);
	assert_int_equal(c.sent, 16);
	reinject_pacer_run(p, &rj_io, 2000000 + 10 * 500, &c, NULL, NULL, NULL);
	assert_int_equal(c.sent, 26);
	reinject_pacer_free(p);
}

/* The default, role inversion: a cold install sets the peer, then flips keepalive 0 -> on -> configured. */
static void test_install_initiates(void **state)
{
	struct installer *ins = start(NULL);
	uint8_t k[WG_KEY_LEN];
	struct dp_peer *p;

	submit(ins, 1, 0xc0000201, 40001, 25);
	WAIT_FOR(metrics_get(&m.installs) == 1, 2000);
	assert_int_equal(metrics_get(&m.installs), 1);
	assert_int_equal(metrics_get(&m.initiations_sent), 1);
	mkkey(k, 1);
	pthread_mutex_lock(&fake.mu);
	p = fake_find(&fake, k);
	assert_non_null(p);
	assert_int_equal(ntohs(p->endpoint.addr4.sin_port), 40001);
	assert_int_equal(p->persistent_keepalive, 25);
	/* entry 0: full config with keepalive 0; entry 1: the switch on to the configured value */
	assert_true(fake.n_sets >= 2);
	assert_true(fake.sets[0].flags & DP_PEER_REPLACE_ALLOWEDIPS);
	assert_true(fake.sets[0].flags & DP_PEER_HAS_ENDPOINT);
	assert_int_equal(fake.sets[0].persistent_keepalive, 0);
	assert_int_equal(fake.sets[1].persistent_keepalive, 25);
	pthread_mutex_unlock(&fake.mu);
	/* the gauge is set after the install's counter, at the end of the batch */
	WAIT_FOR(atomic_load(&m.peers_installed) == 1, 2000);
	assert_int_equal(atomic_load(&m.peers_installed), 1);
	installer_free(ins);
	pthread_mutex_lock(&rj.mu);
	assert_int_equal(rj.n, 0);
	pthread_mutex_unlock(&rj.mu);
}

/* --no-initiate: one plain set, no keepalive toggle. */
static void test_install_no_initiate(void **state)
{
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 300, .no_initiate = true };
	struct installer *ins = start(&cfg);

	submit(ins, 2, 0xc0000202, 40002, 0);
	submit(ins, 3, 0xc0000203, 40003, 0);
	installer_stop(ins); /* drains: both land */
	assert_int_equal(metrics_get(&m.installs), 2);
	assert_int_equal(metrics_get(&m.initiations_sent), 0);
	assert_int_equal(fake_dp_count(&fake), 2);
	assert_int_equal(fake.n_sets, 2);
	installer_free(ins);
}

/*
 * The endpoint guard: a replay from elsewhere moved the endpoint; the
 * trusted one is written back with a plain set (no DP_PEER_UPDATE_ONLY, so
 * no full listing per restore). A replay from the trusted source does nothing.
 */
static void test_guard_restores_endpoint(void **state)
{
	struct installer *ins = start(NULL);
	struct notice n = { .type = NOTICE_REPLAY_SEEN };
	unsigned int lists, sets;
	uint8_t k[WG_KEY_LEN];
	struct dp_peer *p;

	submit(ins, 4, 0xc0000204, 40004, 0);
	WAIT_FOR(metrics_get(&m.installs) == 1, 2000);
	mkkey(k, 4);
	/* The data plane consumed a replay from 198.51.100.9:666 and moved the endpoint. */
	pthread_mutex_lock(&fake.mu);
	p = fake_find(&fake, k);
	assert_non_null(p);
	p->endpoint.addr4.sin_addr.s_addr = htonl(0xc6336409);
	p->endpoint.addr4.sin_port = htons(666);
	lists = fake.list_calls;
	sets = fake.n_sets;
	pthread_mutex_unlock(&fake.mu);

	memcpy(n.key, k, WG_KEY_LEN);
	n.src.sin.sin_family = AF_INET;
	n.src.sin.sin_addr.s_addr = htonl(0xc6336409);
	n.src.sin.sin_port = htons(666);
	assert_int_equal(installer_notify(ins, &n, 1), 1);
	WAIT_FOR(metrics_get(&m.endpoint_restores) == 1, 2000);
	assert_int_equal(metrics_get(&m.endpoint_restores), 1);
	pthread_mutex_lock(&fake.mu);
	assert_int_equal(ntohs(fake_find(&fake, k)->endpoint.addr4.sin_port), 40004);
	assert_true(fake.n_sets > sets);
	assert_int_equal(fake.sets[sets].flags & DP_PEER_UPDATE_ONLY, 0);
	assert_int_equal(fake.sets[sets].flags, DP_PEER_HAS_ENDPOINT | DP_PEER_UPDATE_QUIET);
	assert_int_equal(fake.list_calls, lists);
	pthread_mutex_unlock(&fake.mu);

	/* Removed behind our back (wg set ... remove): a replay must not bring back a stub. */
	pthread_mutex_lock(&fake.mu);
	p = fake_find(&fake, k);
	assert_non_null(p);
	fake.n--;
	*p = fake.peers[fake.n];
	pthread_mutex_unlock(&fake.mu);
	n.src.sin.sin_port = htons(667);
	assert_int_equal(installer_notify(ins, &n, 1), 1);
	WAIT_FOR(metrics_get(&m.endpoint_restores) == 2, 2000);
	usleep(1200000); /* the guard's re-checks (25..1000 ms) */
	assert_int_equal(fake_dp_count(&fake), 0);
	assert_int_equal(fake.list_calls, lists);
	/* back for the check below */
	submit(ins, 4, 0xc0000204, 40004, 0);
	WAIT_FOR(fake_dp_count(&fake) == 1, 2000);

	/* From the trusted endpoint itself: nothing to repair. */
	n.src.sin.sin_addr.s_addr = htonl(0xc0000204);
	n.src.sin.sin_port = htons(40004);
	assert_int_equal(installer_notify(ins, &n, 1), 1);
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.endpoint_restores), 2);
	installer_free(ins);
}

/* A flood of replay notices for one key queues one; installs still find room. */
static void test_guard_flood_keeps_room(void **state)
{
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 300, .queue_cap = 16 };
	struct installer *ins = start(&cfg);
	struct notice n[100];
	unsigned int i;

	memset(n, 0, sizeof(n));
	for (i = 0; i < 100; ++i) {
		n[i].type = NOTICE_REPLAY_SEEN;
		mkkey(n[i].key, 100 + i);   /* 100 different keys: at most half the queue */
		n[i].src.sin.sin_family = AF_INET;
	}
	installer_notify(ins, n, 100);
	for (i = 0; i < 8; ++i)
		submit(ins, 10 + i, 0xc0000210 + i, 41000 + i, 0);
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.installs), 8);
	installer_free(ins);
}

/* Adopted idle peers are evicted by the sweep; a fresh install is spared by the grace period. */
static void test_evict_idle(void **state)
{
	struct installer_config cfg = { .idle_timeout = 1, .grace = 0, .revalidate = 300 };
	uint8_t k[WG_KEY_LEN];
	struct installer *ins;
	struct dataplane *dp = fake_dp_open(&fake);

	mkkey(k, 20);
	fake_dp_add(&fake, k, time(NULL) - 100);
	mkkey(k, 21);
	fake_dp_add(&fake, k, time(NULL));
	cfg.metrics = &m;
	ins = installer_new(dp, &cfg);
	assert_non_null(ins);
	assert_int_equal(atomic_load(&m.peers_installed), 2); /* adopted */
	WAIT_FOR(metrics_get(&m.evictions) >= 1, 3000);
	assert_true(metrics_get(&m.evictions) >= 1);
	mkkey(k, 20);
	pthread_mutex_lock(&fake.mu);
	assert_null(fake_find(&fake, k));
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

/* NOTICE_GONE removes an installed peer and counts it. */
static void test_gone_removes(void **state)
{
	struct installer *ins = start(NULL);
	struct notice n = { .type = NOTICE_GONE };

	submit(ins, 30, 0xc0000230, 40030, 0);
	mkkey(n.key, 30);
	assert_int_equal(installer_notify(ins, &n, 1), 1);
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.registry_gone), 1);
	assert_int_equal(fake_dp_count(&fake), 0);
	installer_free(ins);
}

/* A record for key with one IPv4 /32 at 10.0.x.y (ip = x << 8 | y) and the given expiry. */
static void record_for(struct peer_record *rec, struct cidr *c, unsigned int key, unsigned int ip,
		       uint16_t keepalive, int64_t expires_at)
{
	memset(rec, 0, sizeof(*rec));
	memset(c, 0, sizeof(*c));
	mkkey(rec->public_key, key);
	c->family = AF_INET;
	c->prefix = 32;
	c->addr[0] = 10;
	c->addr[2] = (uint8_t)(ip >> 8);
	c->addr[3] = (uint8_t)ip;
	rec->allowed_ips = c;
	rec->n_allowed_ips = 1;
	rec->persistent_keepalive = keepalive;
	rec->expires_at = expires_at;
}

static void submit_rec(struct installer *ins, const struct peer_record *rec, bool owner_checked)
{
	struct lookup_event ev;

	memset(&ev, 0, sizeof(ev));
	memcpy(ev.key, rec->public_key, WG_KEY_LEN);
	ev.src.sin.sin_family = AF_INET;
	ev.src.sin.sin_addr.s_addr = htonl(0xc0000299);
	ev.src.sin.sin_port = htons(40099);
	ev.first_seen = clock_timespec(CLOCK_MONOTONIC);
	ev.owner_checked = owner_checked;
	assert_int_equal(installer_submit(ins, &ev, rec), 0);
}

/*
 * A feed update: changed allowed IPs replace the list; an update that only
 * changes the keepalive never rewrites the allowed IPs; the same record
 * again writes nothing; a key not installed is ignored (never created).
 */
static void test_update_applies_changes(void **state)
{
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 300, .no_initiate = true };
	struct installer *ins = start(&cfg);
	struct peer_record rec;
	struct cidr c;
	size_t before;

	record_for(&rec, &c, 50, 50, 0, 0);
	submit_rec(ins, &rec, false);
	WAIT_FOR(metrics_get(&m.installs) == 1, 2000);
	record_for(&rec, &c, 50, 51, 0, 0);            /* new address */
	assert_int_equal(installer_update(ins, &rec), 0);
	record_for(&rec, &c, 50, 51, 25, 0);           /* keepalive only */
	assert_int_equal(installer_update(ins, &rec), 0);
	assert_int_equal(installer_update(ins, &rec), 0); /* unchanged */
	record_for(&rec, &c, 51, 60, 0, 0);            /* not installed */
	assert_int_equal(installer_update(ins, &rec), 0);
	WAIT_FOR(metrics_get(&m.feed_updates) == 2, 2000);
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.feed_updates), 2);
	pthread_mutex_lock(&fake.mu);
	before = fake.n_sets;
	assert_int_equal(before, 3); /* install, allowed IPs, keepalive */
	assert_true(fake.sets[1].flags & DP_PEER_REPLACE_ALLOWEDIPS);
	assert_true(fake.sets[1].flags & DP_PEER_UPDATE_QUIET);
	assert_false(fake.sets[1].flags & DP_PEER_HAS_ENDPOINT);
	assert_false(fake.sets[2].flags & DP_PEER_REPLACE_ALLOWEDIPS);
	assert_true(fake.sets[2].flags & DP_PEER_HAS_KEEPALIVE);
	assert_int_equal(fake.sets[2].persistent_keepalive, 25);
	assert_int_equal(fake.n, 1);
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

/*
 * expires_at at the second: an installed peer goes at its time (not at the
 * next sweep, 150 s away); a record already expired is never installed;
 * an update to an expired time removes the peer.
 */
static void test_expiry_removes_at_time(void **state)
{
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 300, .no_initiate = true };
	struct installer *ins = start(&cfg);
	int64_t now = time(NULL);
	struct peer_record rec;
	struct cidr c;
	uint8_t k[WG_KEY_LEN];

	record_for(&rec, &c, 60, 60, 0, now + 2);
	submit_rec(ins, &rec, false);
	record_for(&rec, &c, 61, 61, 0, now - 1);      /* expired in the cache: never installed */
	submit_rec(ins, &rec, false);
	record_for(&rec, &c, 62, 62, 0, 0);
	submit_rec(ins, &rec, false);
	WAIT_FOR(metrics_get(&m.installs) == 2, 2000);
	assert_int_equal(metrics_get(&m.installs), 2);
	record_for(&rec, &c, 62, 62, 0, now - 1);      /* an update into the past */
	assert_int_equal(installer_update(ins, &rec), 0);
	WAIT_FOR(metrics_get(&m.expired) == 2, 4000);
	assert_true(clock_real_ms() / 1000 >= now + 2); /* time() is the coarse clock: it may lag */
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.expired), 2);
	mkkey(k, 60);
	pthread_mutex_lock(&fake.mu);
	assert_int_equal(fake.n, 0);
	assert_null(fake_find(&fake, k));
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

struct conflicts {
	pthread_mutex_t mu;
	unsigned int n;
	struct notice last;
};

static size_t conflict_send(void *ctx, const struct notice *n, size_t count)
{
	struct conflicts *c = ctx;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < count; ++i) {
		if (n[i].type == NOTICE_CONFLICT) {
			c->n++;
			c->last = n[i];
		}
	}
	pthread_mutex_unlock(&c->mu);
	return count;
}

/*
 * Address ownership: a record overlapping an installed peer (10.0.0.70/32
 * inside the holder's 10.0.0.64/26... here the same /32) is not installed;
 * the lookup is asked (NOTICE_CONFLICT naming both keys and the claimant's
 * endpoint). The owner-checked install that comes back takes the address
 * and the holder is removed.
 */
static void test_owner_asks_then_takes_over(void **state)
{
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 300, .no_initiate = true };
	struct installer *ins = start(&cfg);
	struct conflicts box = { 0 };
	struct notice_inbox to = { .send = conflict_send, .ctx = &box };
	struct peer_record rec;
	struct cidr c;
	uint8_t k70[WG_KEY_LEN], k71[WG_KEY_LEN];
	unsigned int n;

	pthread_mutex_init(&box.mu, NULL);
	installer_set_revalidate(ins, &to);
	mkkey(k70, 70);
	mkkey(k71, 71);
	record_for(&rec, &c, 70, 70, 0, 0);
	submit_rec(ins, &rec, false);
	WAIT_FOR(metrics_get(&m.installs) == 1, 2000);
	record_for(&rec, &c, 71, 70, 0, 0);            /* the rotated key, same address */
	submit_rec(ins, &rec, false);
	WAIT_FOR(({ pthread_mutex_lock(&box.mu); n = box.n; pthread_mutex_unlock(&box.mu); n == 1; }), 2000);
	assert_int_equal(box.n, 1);
	assert_memory_equal(box.last.key, k71, WG_KEY_LEN);
	assert_memory_equal(box.last.other, k70, WG_KEY_LEN);
	assert_int_equal(ntohs(box.last.src.sin.sin_port), 40099);
	assert_int_equal(metrics_get(&m.installs), 1);
	submit_rec(ins, &rec, true);                   /* the registry's answer */
	installer_stop(ins);
	assert_int_equal(metrics_get(&m.installs), 2);
	assert_int_equal(metrics_get(&m.address_lost), 1);
	pthread_mutex_lock(&fake.mu);
	assert_null(fake_find(&fake, k70));
	assert_non_null(fake_find(&fake, k71));
	pthread_mutex_unlock(&fake.mu);
	installer_free(ins);
}

/* Prefix overlap and set equality, both families. */
static void test_ips_overlap(void **state)
{
	struct dp_allowedip a[2] = { { .family = AF_INET, .cidr = 24 }, { .family = AF_INET6, .cidr = 64 } };
	struct dp_allowedip b[2] = { { .family = AF_INET, .cidr = 32 }, { .family = AF_INET6, .cidr = 128 } };

	inet_pton(AF_INET, "10.1.2.0", &a[0].ip4);
	inet_pton(AF_INET6, "fd00:1::", &a[1].ip6);
	inet_pton(AF_INET, "10.1.2.77", &b[0].ip4);
	inet_pton(AF_INET6, "fd00:2::1", &b[1].ip6);
	assert_true(peertab_ips_overlap(a, 2, b, 2));         /* 10.1.2.77 in 10.1.2.0/24 */
	assert_true(peertab_ips_overlap(&b[0], 1, &a[0], 1));
	assert_false(peertab_ips_overlap(&a[1], 1, &b[1], 1)); /* different /64 */
	assert_false(peertab_ips_overlap(&a[0], 1, &b[1], 1)); /* families */
	inet_pton(AF_INET, "10.1.3.1", &b[0].ip4);
	assert_false(peertab_ips_overlap(&a[0], 1, &b[0], 1));
	b[0].cidr = 23;                                           /* 10.1.2.0/23 contains 10.1.2.0/24 */
	assert_true(peertab_ips_overlap(&a[0], 1, &b[0], 1));
	a[1].cidr = 0;                                            /* ::/0 holds everything v6 */
	assert_true(peertab_ips_overlap(&a[1], 1, &b[1], 1));
	assert_true(peertab_ips_same(a, 2, a, 2));
	{
		struct dp_allowedip r[2] = { a[1], a[0] };
		assert_true(peertab_ips_same(a, 2, r, 2));     /* order does not matter */
		r[1].cidr = 25;
		assert_false(peertab_ips_same(a, 2, r, 2));
		assert_false(peertab_ips_same(a, 2, r, 1));
	}
}

static struct dp_allowedip ip4(const char *a, uint8_t cidr)
{
	struct dp_allowedip r = { .family = AF_INET, .cidr = cidr };

	inet_pton(AF_INET, a, &r.ip4);
	return r;
}

/*
 * The address index behind peertab_holder: host prefixes by probe, a wide
 * prefix on either side, the index following set_allowed_ips and del, the
 * asking key never its own holder.
 */
static void test_peertab_holder(void **state)
{
	struct peertab *t = peertab_new();
	uint8_t k1[WG_KEY_LEN], k2[WG_KEY_LEN], k3[WG_KEY_LEN];
	struct dp_allowedip a = ip4("10.9.0.1", 32), b = ip4("10.9.0.2", 32), net = ip4("10.9.1.0", 24);
	struct dp_allowedip q = ip4("10.9.1.77", 32), wideq = ip4("10.9.0.0", 16);
	struct peer_state *p1, *p2, *p3;
	unsigned int i;

	assert_non_null(t);
	mkkey(k1, 1);
	mkkey(k2, 2);
	mkkey(k3, 3);
	p1 = peertab_get(t, k1, NULL);
	p2 = peertab_get(t, k2, NULL);
	assert_int_equal(peertab_set_allowed_ips(p1, &a, 1), 0);
	assert_int_equal(peertab_set_allowed_ips(p2, &net, 1), 0);
	assert_ptr_equal(peertab_holder(t, k3, &a, 1), p1);
	assert_null(peertab_holder(t, k1, &a, 1));          /* itself */
	assert_null(peertab_holder(t, k3, &b, 1));
	assert_ptr_equal(peertab_holder(t, k3, &q, 1), p2);  /* inside a wide prefix */
	assert_non_null(peertab_holder(t, k3, &wideq, 1));   /* a wide query */
	assert_int_equal(peertab_set_allowed_ips(p1, &b, 1), 0); /* moved: the old address is free */
	assert_null(peertab_holder(t, k3, &a, 1));
	assert_ptr_equal(peertab_holder(t, k3, &b, 1), p1);
	peertab_del(t, k2);
	assert_null(peertab_holder(t, k3, &q, 1));
	/* many peers: the index grows and still finds each */
	for (i = 10; i < 3000; ++i) {
		uint8_t k[WG_KEY_LEN];
		struct dp_allowedip h = { .family = AF_INET, .cidr = 32 };
		uint32_t v = htonl(0x0a400000 + i);

		memcpy(&h.ip4, &v, 4);
		mkkey(k, i);
		p3 = peertab_get(t, k, NULL);
		assert_int_equal(peertab_set_allowed_ips(p3, &h, 1), 0);
	}
	for (i = 10; i < 3000; i += 97) {
		struct dp_allowedip h = { .family = AF_INET, .cidr = 32 };
		uint32_t v = htonl(0x0a400000 + i);

		memcpy(&h.ip4, &v, 4);
		p3 = peertab_holder(t, k3, &h, 1);
		assert_non_null(p3);
		assert_int_equal(p3->key[0] | p3->key[1] << 8, i);
	}
	peertab_free(t);
}

struct inbox {
	pthread_mutex_t mu;
	unsigned int calls;
	size_t asked[8];
	size_t take;                 /* accept at most this many per call */
};

static size_t inbox_send(void *ctx, const struct notice *n, size_t count)
{
	struct inbox *b = ctx;
	size_t took;

	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < count; ++i)
		assert_int_equal(n[i].type, NOTICE_REVALIDATE);
	if (b->calls < 8)
		b->asked[b->calls] = count;
	b->calls++;
	took = count < b->take ? count : b->take;
	b->take = 100;
	pthread_mutex_unlock(&b->mu);
	return took;
}

/*
 * Revalidation is one batch of notices per round; what the lookup's queue
 * could not take (-EAGAIN) is sent again next round, not dropped and not
 * retried one lock per peer.
 */
static void test_revalidate_batches(void **state)
{
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 4 };
	struct inbox box = { .take = 2 };
	struct notice_inbox to = { .send = inbox_send, .ctx = &box };
	struct dataplane *dp = fake_dp_open(&fake);
	struct installer *ins;
	uint8_t k[WG_KEY_LEN];
	unsigned int i, calls;

	pthread_mutex_init(&box.mu, NULL);
	for (i = 0; i < 5; ++i) {
		mkkey(k, 40 + i);
		fake_dp_add(&fake, k, time(NULL));
	}
	cfg.metrics = &m;
	ins = installer_new(dp, &cfg);
	assert_non_null(ins);
	installer_set_revalidate(ins, &to);
	WAIT_FOR(({ pthread_mutex_lock(&box.mu); calls = box.calls; pthread_mutex_unlock(&box.mu); calls >= 2; }), 4000);
	installer_free(ins);
	assert_true(box.calls >= 2);
	assert_int_equal(box.asked[0], 5);  /* one call for all due peers */
	assert_int_equal(box.asked[1], 3);  /* the three it refused, next round */
}

/* Status comes from the peer table: no data-plane listing, no private key; rate-limited. */
static void test_status_board(void **state)
{
	struct status_board *b = status_board_new(&m, 5, 3);
	struct installer_config cfg = { .idle_timeout = 600, .grace = 30, .revalidate = 300 };
	struct status_info info = { .ifname = "wgtest", .backend = "fake", .listen_port = 51820 };
	struct installer *ins;
	unsigned int lists, limited = 0, i;
	char *json = NULL, k[WG_KEY_B64_LEN + 1];
	uint8_t key[WG_KEY_LEN];

	assert_non_null(b);
	cfg.status = b;
	status_board_set_info(b, &info);
	ins = start(&cfg);
	submit(ins, 50, 0xc0000250, 40050, 0);
	WAIT_FOR(metrics_get(&m.installs) == 1, 2000);
	lists = fake.list_calls;
	mkkey(key, 50);
	key_to_base64(k, key);
	for (i = 0; i < 100; ++i) {
		assert_int_equal(status_board_get(b, &json), 0);
		if (strstr(json, k))
			break;
		free(json);
		json = NULL;
		usleep(200000); /* the bucket refills: this part is about content */
	}
	assert_non_null(json);
	assert_non_null(strstr(json, k));
	assert_non_null(strstr(json, "\"192.0.2.80:40050\""));
	assert_non_null(strstr(json, "\"10.0.0.50/32\""));
	free(json);
	assert_int_equal(fake.list_calls, lists);
	for (i = 0; i < 20; ++i) {
		int ret = status_board_get(b, &json);
		if (ret == -EAGAIN)
			limited++;
		else
			free(json);
	}
	assert_true(limited > 0);
	assert_int_equal(metrics_get(&m.status_limited), limited);
	installer_free(ins);
	status_board_free(b);
}

/* The status document's cadence: 100 ms, or 20 x what the last build took. */
static void test_status_interval(void **state)
{
	assert_int_equal(installer_status_interval_ms(0), STATUS_EVERY_MS);
	assert_int_equal(installer_status_interval_ms(4000000), STATUS_EVERY_MS);     /* 4 ms: 80 < 100 */
	assert_int_equal(installer_status_interval_ms(50000000), 50 * STATUS_COST_SHARE); /* 50 ms: 1 s */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_interval),
		cmocka_unit_test_setup(test_install_reinjects, setup),
		cmocka_unit_test_setup(test_reinject_fails_counted, setup),
		cmocka_unit_test_setup(test_pacer, setup),
		cmocka_unit_test_setup(test_reinject_followup, setup),
		cmocka_unit_test_setup(test_reinject_followup_order, setup),
		cmocka_unit_test_setup(test_reinject_cookie, setup),
		cmocka_unit_test_setup(test_keepalive_sweep, setup),
		cmocka_unit_test_setup(test_install_initiates, setup),
		cmocka_unit_test_setup(test_install_no_initiate, setup),
		cmocka_unit_test_setup(test_guard_restores_endpoint, setup),
		cmocka_unit_test_setup(test_guard_flood_keeps_room, setup),
		cmocka_unit_test_setup(test_evict_idle, setup),
		cmocka_unit_test_setup(test_gone_removes, setup),
		cmocka_unit_test_setup(test_update_applies_changes, setup),
		cmocka_unit_test_setup(test_expiry_removes_at_time, setup),
		cmocka_unit_test_setup(test_owner_asks_then_takes_over, setup),
		cmocka_unit_test(test_ips_overlap),
		cmocka_unit_test(test_peertab_holder),
		cmocka_unit_test_setup(test_revalidate_batches, setup),
		cmocka_unit_test_setup(test_status_board, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

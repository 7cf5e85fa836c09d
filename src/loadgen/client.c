// SPDX-License-Identifier: MIT
/*
 * One simulated client's protocol, as a state machine driven by its socket
 * and its one timer (internal.h lists the states). The timers are the
 * protocol's: a retransmit after REKEY_TIMEOUT plus up to 333 ms of jitter,
 * giving up REKEY_ATTEMPT_TIME after the first initiation; a cookie reply
 * only stores the cookie, and the next retransmit carries mac2, as
 * wireguard-go and the kernel do. Connect time runs from the attempt's
 * first initiation (responder role: the first one received) to the
 * confirmed session: the response consumed (initiator) or the initiator's
 * first data message decrypted (responder).
 */
#include "loadgen/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/x25519.h"
#include "wire/messages.h"

enum { PING_DATA_LEN = 32, ICMP_ECHO = 8, ICMP_ECHO_REPLY = 0 };

static int64_t s_to_ns(double s)
{
	return (int64_t)(s * 1e9);
}

static void send_packet(struct lg_thread *t, struct client *c, const uint8_t *p, size_t len)
{
	lg_send(t, c, p, len);
}

static void record_connect(struct lg_thread *t, struct client *c, int64_t now)
{
	struct loadgen_stats *st = &t->st;
	uint64_t us = (uint64_t)(now - c->first_ns) / 1000;

	if (c->counted)
		return;
	c->counted = true;
	if (st->nconnect == st->connect_cap) {
		size_t cap = st->connect_cap ? st->connect_cap * 2 : 1024;
		uint32_t *p = realloc(st->connect_us, cap * sizeof(*p));

		if (!p) {
			t->err = -ENOMEM;
			return;
		}
		st->connect_us = p;
		st->connect_cap = cap;
	}
	st->connect_us[st->nconnect++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	__atomic_add_fetch(&st->ok, 1, __ATOMIC_RELAXED);
}

static void finish(struct lg_thread *t, struct client *c, enum client_state s)
{
	c->state = (uint8_t)s;
	c->deadline_ns = 0;
	noise_handshake_wipe(&c->hs);
	if (s == ST_FAILED || s == ST_DONE) {
		noise_keypair_wipe(&c->kp);
		t->active--;
	}
}

static void fail(struct lg_thread *t, struct client *c, bool timeout)
{
	if (!c->counted) {
		c->counted = true;
		__atomic_add_fetch(&t->st.failed, 1, __ATOMIC_RELAXED);
		if (timeout)
			t->st.timeouts++;
	}
	finish(t, c, ST_FAILED);
}

static int64_t rekey_deadline(struct lg_thread *t, int64_t now)
{
	const struct loadgen_config *cfg = t->run->cfg;

	return now + s_to_ns(cfg->rekey_timeout_s) +
	       (int64_t)(lg_rand(&t->rng) % (uint64_t)(NOISE_REKEY_JITTER_MAX_NS + 1));
}

static void send_initiation(struct lg_thread *t, struct client *c, int64_t now)
{
	struct timespec rt;
	uint8_t ts[WG_TAI64N_LEN], msg[WG_MSG_INITIATION_LEN];
	uint32_t index = (uint32_t)lg_rand(&t->rng);

	clock_gettime(CLOCK_REALTIME, &rt);
	noise_tai64n(ts, (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec);
	if (noise_handshake_create_initiation(&c->hs, msg, &c->local, &t->run->remote, index, ts,
					      t->run->cfg->fixed_ephemeral, &c->cookie, now)) {
		t->st.send_errors++;
		return;
	}
	if (t->run->trace)
		lg_trace(t->run, "eph", c->hs.e_priv, WG_KEY_LEN);
	if (c->cookie.valid && now - c->cookie.received_ns < NOISE_COOKIE_SECRET_MAX_AGE_NS)
		t->st.mac2_sent++;
	send_packet(t, c, msg, sizeof(msg));
}

void client_start(struct lg_thread *t, struct client *c, int64_t now)
{
	const struct loadgen_config *cfg = t->run->cfg;

	__atomic_add_fetch(&t->st.started, 1, __ATOMIC_RELAXED);
	c->state = ST_HANDSHAKE;
	c->counted = false;
	c->retries = 0;
	if (cfg->role == LOADGEN_ROLE_RESPONDER) {
		/* The gateway initiates; the clock starts when it does. */
		c->first_ns = 0;
		lg_timer_set(t, c, now + s_to_ns(cfg->attempt_s));
		return;
	}
	c->first_ns = now;
	send_initiation(t, c, now);
	lg_timer_set(t, c, rekey_deadline(t, now));
}

static void checksum_set(uint8_t *p, size_t len, size_t at)
{
	uint16_t v;

	p[at] = p[at + 1] = 0;
	v = htons(udpip_csum_fold(udpip_csum_add(0, p, len)));
	memcpy(p + at, &v, 2);
}

/* One ICMP echo request from the client's tunnel address, through the tunnel. */
static void send_ping(struct lg_thread *t, struct client *c)
{
	uint8_t ip[20 + 8 + PING_DATA_LEN], out[sizeof(ip) + 64];
	uint16_t v;
	size_t n;

	memset(ip, 0, sizeof(ip));
	ip[0] = 0x45;
	v = htons(sizeof(ip));
	memcpy(ip + 2, &v, 2);
	v = htons((uint16_t)c->id);
	memcpy(ip + 4, &v, 2);
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &c->tunnel_v4, 4);
	memcpy(ip + 16, &t->run->cfg->ping.s_addr, 4);
	checksum_set(ip, 20, 10);
	ip[20] = ICMP_ECHO;
	v = htons((uint16_t)c->id);
	memcpy(ip + 24, &v, 2);
	v = htons(1);
	memcpy(ip + 26, &v, 2);
	memcpy(ip + 28, "jitwg loadgen echo, one per sess", PING_DATA_LEN);
	checksum_set(ip + 20, 8 + PING_DATA_LEN, 2);
	if (noise_transport_encrypt(&c->kp, out, sizeof(out), &n, ip, sizeof(ip)) == 0)
		send_packet(t, c, out, n);
	else
		t->st.send_errors++;
}

static bool is_echo_reply(const struct lg_thread *t, const struct client *c, const uint8_t *p, size_t len)
{
	size_t ihl;
	uint16_t id;

	if (len < 28 || (p[0] >> 4) != 4 || p[9] != IPPROTO_ICMP)
		return false;
	ihl = (size_t)(p[0] & 15) * 4;
	if (ihl < 20 || len < ihl + 8 || memcmp(p + 12, &t->run->cfg->ping.s_addr, 4) ||
	    memcmp(p + 16, &c->tunnel_v4, 4) || p[ihl] != ICMP_ECHO_REPLY)
		return false;
	memcpy(&id, p + ihl + 4, 2);
	return ntohs(id) == (uint16_t)c->id;
}

static void send_keepalive(struct lg_thread *t, struct client *c)
{
	uint8_t out[WG_MSG_DATA_MIN_LEN];
	size_t n;

	if (noise_transport_encrypt(&c->kp, out, sizeof(out), &n, NULL, 0) == 0) {
		send_packet(t, c, out, n);
		t->st.keepalives++;
	}
}

/* After the ping (or without one): hold, then leave or go silent. */
static void hold(struct lg_thread *t, struct client *c, int64_t now)
{
	const struct loadgen_config *cfg = t->run->cfg;

	if (cfg->hold_s <= 0) {
		if (cfg->return_s > 0 && !c->returned) {
			c->state = ST_SILENT;
			lg_timer_set(t, c, now + s_to_ns(cfg->return_s));
			return;
		}
		finish(t, c, ST_DONE);
		return;
	}
	c->state = ST_CONNECTED;
	c->hold_until_ns = now + s_to_ns(cfg->hold_s);
	c->keepalive_ns = cfg->keepalive_s > 0 ? now + s_to_ns(cfg->keepalive_s) : 0;
	lg_timer_set(t, c, c->keepalive_ns && c->keepalive_ns < c->hold_until_ns ? c->keepalive_ns
										: c->hold_until_ns);
}

/* The session is confirmed: count it, say so with a keepalive, then ping. */
static void confirmed(struct lg_thread *t, struct client *c, int64_t now)
{
	const struct loadgen_config *cfg = t->run->cfg;

	record_connect(t, c, now);
	noise_handshake_wipe(&c->hs);
	send_keepalive(t, c);
	if (cfg->ping.s_addr && c->tunnel_v4) {
		c->state = ST_PING;
		send_ping(t, c);
		lg_timer_set(t, c, now + s_to_ns(cfg->ping_timeout_s));
		return;
	}
	hold(t, c, now);
}

void client_timer(struct lg_thread *t, struct client *c, int64_t now)
{
	const struct loadgen_config *cfg = t->run->cfg;

	switch (c->state) {
	case ST_HANDSHAKE:
	case ST_WAIT_DATA:
		if (cfg->role == LOADGEN_ROLE_RESPONDER || now - c->first_ns >= s_to_ns(cfg->attempt_s)) {
			fail(t, c, true);
			return;
		}
		c->retries++;
		t->st.retries++;
		c->state = ST_HANDSHAKE;
		send_initiation(t, c, now);
		lg_timer_set(t, c, rekey_deadline(t, now));
		return;
	case ST_PING:
		t->st.pings_failed++;
		hold(t, c, now);
		return;
	case ST_CONNECTED:
		if (now >= c->hold_until_ns) {
			c->hold_until_ns = 0;
			c->state = ST_SILENT;
			if (cfg->return_s > 0 && !c->returned) {
				lg_timer_set(t, c, now + s_to_ns(cfg->return_s));
				return;
			}
			finish(t, c, ST_DONE);
			return;
		}
		if (c->keepalive_ns && now >= c->keepalive_ns) {
			if (cfg->periodic_data && cfg->ping.s_addr && c->tunnel_v4) {
				send_ping(t, c);
				t->st.data_sent++;
			} else {
				send_keepalive(t, c);
			}
			c->keepalive_ns = now + s_to_ns(cfg->keepalive_s);
		}
		lg_timer_set(t, c, c->keepalive_ns && c->keepalive_ns < c->hold_until_ns ? c->keepalive_ns
											: c->hold_until_ns);
		return;
	case ST_SILENT:
		/* Returning: a new attempt with a new handshake (old keys expired). */
		t->st.returns++;
		c->returned = true;
		noise_keypair_wipe(&c->kp);
		t->st.started--; /* client_start counts it again */
		client_start(t, c, now);
		return;
	default:
		return;
	}
}

static void on_initiation(struct lg_thread *t, struct client *c, const uint8_t *pkt, size_t len, int64_t now)
{
	struct noise_handshake hs;
	uint8_t resp[WG_MSG_RESPONSE_LEN], eph[WG_KEY_LEN];
	int ret;

	if (t->run->cfg->role == LOADGEN_ROLE_INITIATOR || c->state == ST_PENDING || c->state >= ST_DONE) {
		t->st.bad_packets++;
		return;
	}
	if (noise_handshake_consume_initiation(&hs, pkt, len, &c->local, &t->run->remote) ||
	    memcmp(hs.remote_timestamp, c->last_ts, WG_TAI64N_LEN) <= 0) {
		/* memcmp of big-endian TAI64N orders by time: a replay is not newer. */
		noise_handshake_wipe(&hs);
		t->st.bad_packets++;
		return;
	}
	memcpy(c->last_ts, hs.remote_timestamp, WG_TAI64N_LEN);
	t->st.initiations_in++;
	if (!c->first_ns || c->state == ST_CONNECTED || c->state == ST_SILENT)
		c->first_ns = now;
	/* The gateway's handshake replaces ours: it will complete first. */
	c->hs = hs;
	noise_handshake_wipe(&hs);
	/* With a trace, the ephemeral is made here so it can be recorded. */
	if (t->run->trace && !t->run->cfg->fixed_ephemeral) {
		if (x25519_generate(eph)) {
			t->st.send_errors++;
			return;
		}
		lg_trace(t->run, "eph", eph, sizeof(eph));
	}
	ret = noise_handshake_create_response(&c->hs, &c->kp, resp, &c->local, &t->run->remote,
					      (uint32_t)lg_rand(&t->rng),
					      t->run->cfg->fixed_ephemeral ? t->run->cfg->fixed_ephemeral
					      : t->run->trace ? eph : NULL, &c->cookie, now);
	explicit_bzero(eph, sizeof(eph));
	if (ret) {
		t->st.send_errors++;
		return;
	}
	t->st.responded++;
	send_packet(t, c, resp, sizeof(resp));
	if (c->state == ST_HANDSHAKE || c->state == ST_WAIT_DATA) {
		c->state = ST_WAIT_DATA;
		/* Keep the attempt's timer: the retransmit or the give-up. */
		if (t->run->cfg->role != LOADGEN_ROLE_RESPONDER)
			lg_timer_set(t, c, rekey_deadline(t, now));
	}
}

static void on_data(struct lg_thread *t, struct client *c, const uint8_t *pkt, size_t len, int64_t now)
{
	uint8_t plain[2048];
	size_t n;

	if (c->state < ST_WAIT_DATA || c->state >= ST_DONE ||
	    noise_transport_decrypt(&c->kp, plain, sizeof(plain), &n, pkt, len)) {
		t->st.bad_packets++;
		return;
	}
	if (c->state == ST_WAIT_DATA) {
		confirmed(t, c, now);
		if (c->state != ST_PING || !n)
			return;
	}
	if (!is_echo_reply(t, c, plain, n))
		return;
	if (c->state == ST_PING) {
		t->st.pings_ok++;
		hold(t, c, now);
	} else {
		t->st.data_replies++;
	}
}

void client_packet(struct lg_thread *t, struct client *c, const uint8_t *pkt, size_t len, int64_t now)
{
	if (t->run->trace)
		lg_trace(t->run, "in", pkt, len);
	if (!len) {
		t->st.bad_packets++;
		return;
	}
	switch (pkt[0]) {
	case MESSAGE_HANDSHAKE_INITIATION:
		on_initiation(t, c, pkt, len, now);
		return;
	case MESSAGE_HANDSHAKE_RESPONSE:
		if (c->state != ST_HANDSHAKE ||
		    noise_handshake_consume_response(&c->hs, &c->kp, pkt, len, &c->local, &t->run->remote)) {
			t->st.bad_packets++;
			return;
		}
		confirmed(t, c, now);
		return;
	case MESSAGE_HANDSHAKE_COOKIE:
		if ((c->state != ST_HANDSHAKE && c->state != ST_WAIT_DATA) ||
		    noise_cookie_consume(&c->cookie, &c->hs, pkt, len, &t->run->remote, now)) {
			t->st.bad_packets++;
			return;
		}
		t->st.cookies++;
		return;
	case MESSAGE_DATA:
		on_data(t, c, pkt, len, now);
		return;
	default:
		t->st.bad_packets++;
	}
}

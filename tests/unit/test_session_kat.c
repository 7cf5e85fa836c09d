// SPDX-License-Identifier: MIT
/*
 * Known answers for the session code against wireguard-go: whole sessions
 * recorded by scripts/gen-sessions.sh (tests/data/session-*.trace, with the
 * keys). Each "in" line is a datagram wireguard-go sent; each "out" line
 * one loadgen sent and wireguard-go accepted (it answered); "eph" is the
 * ephemeral private key of the next handshake message out. The walk:
 *   out 01  rebuilt from the keys, ephemeral, index and timestamp: equal
 *           bytes, mac1 and (after a cookie) mac2 included;
 *   in 03   the cookie reply opens (XChaCha20-Poly1305, AD = our mac1);
 *   in 02   wireguard-go's response is consumed: the transport keys;
 *   in 01   wireguard-go's initiation is consumed (responder role);
 *   out 02  our response, rebuilt: equal bytes;
 *   in 04   wireguard-go's data opens with our keys: keepalive, echo reply;
 *   out 04  ours open with the keys mirrored (what wireguard-go did).
 * JITWG_TEST_DATA overrides the directory (default tests/data).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/keyfile.h"
#include "crypto/x25519.h"
#include "noise/noise.h"
#include "noise/session.h"
#include "wire/keys.h"
#include "wire/messages.h"

struct line {
	char kind[4];
	uint8_t data[2048];
	size_t len;
};

struct keys {
	uint8_t cl_priv[32], gw_priv[32], gw_pub[32], cl_pub[32];
	struct noise_remote gw_remote;
	struct noise_local cl;
};

static const char *data_dir(void)
{
	const char *d = getenv("JITWG_TEST_DATA");

	return d ? d : "tests/data";
}

static size_t read_trace(const char *name, struct line *out, size_t cap)
{
	char path[512], buf[8192];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		char *sp = strchr(buf, ' ');
		size_t hl;
		long got;

		assert_non_null(sp);
		assert_true(n < cap);
		*sp = 0;
		assert_true(strlen(buf) < sizeof(out[n].kind));
		strcpy(out[n].kind, buf);
		hl = strcspn(sp + 1, "\r\n");
		got = hex_decode(out[n].data, sizeof(out[n].data), sp + 1, hl);
		assert_true(got > 0);
		out[n].len = (size_t)got;
		n++;
	}
	fclose(f);
	return n;
}

static void load_keys(struct keys *k)
{
	char path[512];
	const char *why = NULL;

	snprintf(path, sizeof(path), "%s/session-client.key", data_dir());
	assert_int_equal(keyfile_read(k->cl_priv, path, &why), 0);
	snprintf(path, sizeof(path), "%s/session-gateway.key", data_dir());
	assert_int_equal(keyfile_read(k->gw_priv, path, &why), 0);
	assert_int_equal(x25519_public_from_private(k->gw_pub, k->gw_priv), 0);
	assert_int_equal(x25519_public_from_private(k->cl_pub, k->cl_priv), 0);
	noise_remote_init(&k->gw_remote, k->gw_pub, NULL);
	assert_int_equal(noise_local_init(&k->cl, k->cl_priv, &k->gw_remote), 0);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* What a trace proved, for the per-file expectations. */
struct walk {
	int initiations, responses_in, responses_out, cookies, mac2, data_in, data_out, echo_replies;
};

static bool is_echo_reply(const uint8_t *p, size_t len)
{
	static const uint8_t from[4] = { 10, 98, 0, 1 }, to[4] = { 10, 98, 0, 2 };

	return len >= 28 && p[0] == 0x45 && p[9] == 1 && !memcmp(p + 12, from, 4) && !memcmp(p + 16, to, 4) &&
	       p[20] == 0;
}

static void walk_trace(const char *name, struct walk *w)
{
	static struct line lines[64];
	struct keys k;
	struct noise_handshake hs;
	struct noise_keypair kp, mirror;
	struct noise_cookie cookie;
	struct noise_responder *gw;
	struct noise_result res;
	uint8_t eph[32], msg[WG_MSG_INITIATION_LEN], plain[2048];
	bool have_eph = false, have_kp = false;
	size_t n = read_trace(name, lines, 64), i, m;

	memset(w, 0, sizeof(*w));
	memset(&cookie, 0, sizeof(cookie));
	memset(&hs, 0, sizeof(hs));
	load_keys(&k);
	gw = noise_responder_new(k.gw_priv);
	assert_non_null(gw);
	for (i = 0; i < n; ++i) {
		struct line *l = &lines[i];
		bool out = !strcmp(l->kind, "out");

		if (!strcmp(l->kind, "eph")) {
			assert_int_equal(l->len, 32);
			memcpy(eph, l->data, 32);
			have_eph = true;
			continue;
		}
		assert_true(out || !strcmp(l->kind, "in"));
		switch (l->data[0] | (out ? 0x100 : 0)) {
		case 0x101: /* our initiation: rebuild it */
			assert_true(have_eph);
			assert_int_equal(l->len, WG_MSG_INITIATION_LEN);
			/* The timestamp is inside; the gateway's key opens it. */
			assert_int_equal(noise_consume_initiation(gw, NULL, l->data, l->len, &res), 0);
			assert_int_equal(res.verdict, NOISE_OK);
			assert_memory_equal(res.initiator_static, k.cl_pub, 32);
			assert_int_equal(noise_handshake_create_initiation(&hs, msg, &k.cl, &k.gw_remote,
									   le32_at(l->data + 4), res.timestamp,
									   eph, &cookie, 0), 0);
			assert_memory_equal(msg, l->data, WG_MSG_INITIATION_LEN);
			if (cookie.valid)
				w->mac2++;
			w->initiations++;
			have_eph = false;
			break;
		case 0x03: /* wireguard-go's cookie reply */
			assert_int_equal(noise_cookie_consume(&cookie, &hs, l->data, l->len, &k.gw_remote, 0), 0);
			w->cookies++;
			break;
		case 0x02: /* wireguard-go's response */
			assert_int_equal(noise_handshake_consume_response(&hs, &kp, l->data, l->len, &k.cl,
									  &k.gw_remote), 0);
			have_kp = true;
			w->responses_in++;
			break;
		case 0x01: /* wireguard-go's initiation (role inversion) */
			assert_int_equal(noise_handshake_consume_initiation(&hs, l->data, l->len, &k.cl,
									    &k.gw_remote), 0);
			break;
		case 0x102: { /* our response: rebuild it */
			uint8_t resp[WG_MSG_RESPONSE_LEN];

			assert_true(have_eph);
			assert_int_equal(noise_handshake_create_response(&hs, &kp, resp, &k.cl, &k.gw_remote,
									 le32_at(l->data + 4), eph, NULL, 0), 0);
			assert_int_equal(l->len, sizeof(resp));
			assert_memory_equal(resp, l->data, sizeof(resp));
			have_kp = true;
			have_eph = false;
			w->responses_out++;
			break;
		}
		case 0x04: /* wireguard-go's data */
			assert_true(have_kp);
			assert_int_equal(noise_transport_decrypt(&kp, plain, sizeof(plain), &m, l->data, l->len), 0);
			if (is_echo_reply(plain, m))
				w->echo_replies++;
			w->data_in++;
			break;
		case 0x104: /* ours: open with the keys mirrored */
			assert_true(have_kp);
			memset(&mirror, 0, sizeof(mirror));
			memcpy(mirror.recv_key, kp.send_key, 32);
			mirror.local_index = kp.remote_index;
			assert_int_equal(noise_transport_decrypt(&mirror, plain, sizeof(plain), &m, l->data, l->len), 0);
			w->data_out++;
			break;
		default:
			fail_msg("%s: unexpected line %zu (%s %02x)", name, i + 1, l->kind, l->data[0]);
		}
	}
	noise_responder_free(gw);
	noise_local_wipe(&k.cl);
}

static void test_initiator_session(void **state)
{
	struct walk w;

	walk_trace("session-initiator.trace", &w);
	assert_int_equal(w.initiations, 1);
	assert_int_equal(w.responses_in, 1);
	assert_int_equal(w.data_out, 2); /* keepalive, echo request */
	assert_int_equal(w.echo_replies, 1);
}

static void test_responder_session(void **state)
{
	struct walk w;

	walk_trace("session-responder.trace", &w);
	assert_int_equal(w.responses_out, 1);
	assert_true(w.data_in >= 2); /* wireguard-go's keepalive, the echo reply */
	assert_int_equal(w.echo_replies, 1);
}

static void test_cookie_session(void **state)
{
	struct walk w;

	walk_trace("session-cookie.trace", &w);
	assert_true(w.cookies >= 1);
	assert_true(w.mac2 >= 1);
	assert_int_equal(w.responses_in, 1);
	assert_int_equal(w.echo_replies, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiator_session),
		cmocka_unit_test(test_responder_session),
		cmocka_unit_test(test_cookie_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/* The relay's pure parts: upgrade parser, frame codec over wslay, stream
 * reassembler, hook message format, ADDR:PORT parsing. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/addrport.h"
#include "relay/relay.h"
#include "ws/stream.h"
#include "ws/codec.h"
#include "ws/upgrade.h"
#include "wire/hook.h"

#define REQ(extra) \
	"GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" extra "\r\n"

static void test_upgrade_request(void **state)
{
	struct ws_upgrade_req req;
	char out[512], acc[WS_ACCEPT_LEN + 1];
	const char *ok = REQ("X-Forwarded-For: 10.0.0.1, 192.0.2.4\r\n") "\x81\x80";
	size_t full = strlen(ok) - 2;

	assert_int_equal(ws_upgrade_parse_request(&req, ok, strlen(ok)), (int)full);
	assert_string_equal(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
	assert_string_equal(req.xff, "10.0.0.1, 192.0.2.4");
	/* RFC 6455 section 1.3's example */
	assert_int_equal(ws_upgrade_accept(acc, req.key), 0);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_true(ws_upgrade_response(out, sizeof(out), &req) > 0);
	assert_non_null(strstr(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	/* every prefix of the head asks for more */
	for (size_t i = 0; i < full; ++i)
		assert_int_equal(ws_upgrade_parse_request(&req, ok, i), 0);
}

static void expect_status(const char *r, int status)
{
	struct ws_upgrade_req req;

	assert_true(ws_upgrade_parse_request(&req, r, strlen(r)) < 0);
	assert_int_equal(req.status, status);
}

static void test_upgrade_reject(void **state)
{
	char big[WS_UPGRADE_MAX + 16];

	expect_status("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_status("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404);
	expect_status("POST / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
	expect_status("GET / HTTP/1.0\r\nHost: x\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 426);
	expect_status("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
		      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof(big) - 1] = '\0';
	expect_status(big, 431);
}

static void test_upgrade_client(void **state)
{
	char req[512], key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1], resp[256];
	struct ws_upgrade_req parsed;
	int n, status;

	n = ws_upgrade_request(req, sizeof(req), "relay.example:443", "/", key);
	assert_true(n > 0);
	assert_int_equal(ws_upgrade_parse_request(&parsed, req, (size_t)n), n);
	assert_string_equal(parsed.key, key);
	assert_int_equal(ws_upgrade_request(req, sizeof(req), "bad host", "/", key), -EINVAL);
	n = ws_upgrade_response(resp, sizeof(resp), &parsed);
	assert_int_equal(ws_upgrade_parse_response(resp, (size_t)n, key, &status), n);
	assert_int_equal(status, 101);
	assert_int_equal(ws_upgrade_parse_response(resp, (size_t)n - 1, key, &status), 0);
	ws_upgrade_accept(acc, "dGhlIHNhbXBsZSBub25jZQ==");
	assert_int_equal(ws_upgrade_parse_response(resp, (size_t)n, "dGhlIHNhbXBsZSBub25jZQ==", &status), -EPROTO);
	n = ws_upgrade_error(resp, sizeof(resp), 503);
	assert_int_equal(ws_upgrade_parse_response(resp, (size_t)n, key, &status), -EPROTO);
	assert_int_equal(status, 503);
}

/* ---- codec over memory buffers ---- */
struct pipe {
	uint8_t buf[1 << 18];
	size_t len, off, step; /* step: most bytes one read gives */
	bool dry;              /* the last read found nothing */
};

/* ws_codec_recv() until a chunk, an error, or the pipe is dry (as the relay loops). */
static int next(struct ws_codec *c, struct pipe *p, struct ws_chunk *ch)
{
	for (;;) {
		int r;
		p->dry = false;
		r = ws_codec_recv(c, ch);
		if (r != 0 || p->dry)
			return r;
	}
}

static ssize_t p_rd(void *arg, uint8_t *b, size_t n)
{
	struct pipe *p = arg;
	size_t take = p->len - p->off;

	if (take > n)
		take = n;
	if (p->step && take > p->step)
		take = p->step;
	if (!take) {
		p->dry = true;
		return -1;
	}
	memcpy(b, p->buf + p->off, take);
	p->off += take;
	return (ssize_t)take;
}

static ssize_t p_wr(void *arg, const uint8_t *b, size_t n)
{
	struct pipe *p = arg;

	if (p->len + n > sizeof(p->buf))
		return -1;
	memcpy(p->buf + p->len, b, n);
	p->len += n;
	return (ssize_t)n;
}

static void test_codec_roundtrip(void **state)
{
	static struct pipe wire;
	static uint8_t payload[70000], got[70000];
	size_t steps[] = { 0, 1, 3, 1000 };

	for (size_t i = 0; i < sizeof(payload); ++i)
		payload[i] = (uint8_t)(i * 7);
	for (size_t s = 0; s < 4; ++s) {
		struct ws_codec *client, *server;
		struct ws_chunk ch;
		size_t glen = 0;
		int frames = 0, r;

		memset(&wire, 0, sizeof(wire));
		wire.step = steps[s];
		client = ws_codec_new(false, 1 << 20, p_rd, p_wr, &wire);
		server = ws_codec_new(true, 65539, p_rd, p_wr, &wire);
		assert_int_equal(ws_codec_send(client, WS_OP_TEXT, "\x2f\xac", 2, "\xed\x77", 2), 0);
		assert_int_equal(ws_codec_send(client, WS_OP_PING, "p", 1, NULL, 0), 0);
		assert_int_equal(ws_codec_send(client, WS_OP_BINARY, payload, 65539, NULL, 0), 0);
		assert_int_equal(ws_codec_send(client, WS_OP_BINARY, "", 0, NULL, 0), 0);
		assert_int_equal(ws_codec_send(client, WS_OP_PING, payload, 126, NULL, 0), -EINVAL);
		while ((r = next(server, &wire, &ch)) == 1) {
			if (ch.frame_start)
				frames++, glen = 0;
			memcpy(got + glen, ch.data, ch.len);
			glen += ch.len;
			if (frames == 1 && ch.frame_end) {
				assert_int_equal(ch.msg_opcode, WS_OP_TEXT);
				assert_memory_equal(got, "\x2f\xac\xed\x77", 4);
			}
			if (frames == 2)
				assert_true(ch.opcode == WS_OP_PING && ch.len == 1 && ch.frame_end);
			if (frames == 3 && ch.frame_end) {
				assert_int_equal(glen, 65539);
				assert_memory_equal(got, payload, 65539);
			}
			if (frames == 4)
				assert_true(ch.len == 0 && ch.frame_end);
		}
		assert_int_equal(r, 0);
		assert_int_equal(frames, 4);
		ws_codec_free(client);
		ws_codec_free(server);
	}
}

static int decode_error(const uint8_t *bytes, size_t n, size_t max)
{
	static struct pipe wire;
	struct ws_codec *server;
	struct ws_chunk ch;
	int r;

	memset(&wire, 0, sizeof(wire));
	memcpy(wire.buf, bytes, n);
	wire.len = n;
	server = ws_codec_new(true, max, p_rd, p_wr, &wire);
	while ((r = next(server, &wire, &ch)) == 1)
		;
	if (r < 0)
		r = ws_codec_close_code(server);
	ws_codec_free(server);
	return r;
}

static void test_codec_violations(void **state)
{
	/* unmasked client frame */
	assert_int_equal(decode_error((const uint8_t *)"\x82\x01x", 3, 100), 1002);
	/* ping of 126 bytes (extended length on a control frame) */
	assert_int_equal(decode_error((const uint8_t *)"\x89\xfe\x00\x7e\0\0\0\0", 8, 100), 1002);
	/* fragmented ping */
	assert_int_equal(decode_error((const uint8_t *)"\x09\x80\0\0\0\0", 6, 100), 1002);
	/* data frame over the limit: decided on the header */
	assert_int_equal(decode_error((const uint8_t *)"\x82\xfe\x01\x00\0\0\0\0x", 9, 255), 1009);
	/* reserved bit, unknown opcode, continuation with nothing open */
	assert_int_equal(decode_error((const uint8_t *)"\xc2\x80\0\0\0\0", 6, 100), 1002);
	assert_int_equal(decode_error((const uint8_t *)"\x83\x80\0\0\0\0", 6, 100), 1002);
	assert_int_equal(decode_error((const uint8_t *)"\x80\x80\0\0\0\0", 6, 100), 1002);
	/* a new message while a fragmented one is open */
	assert_int_equal(decode_error((const uint8_t *)"\x02\x80\0\0\0\0\x82\x80\0\0\0\0", 12, 100), 1002);
	/* non-minimal length encoding */
	assert_int_equal(decode_error((const uint8_t *)"\x82\xfe\x00\x05\0\0\0\0xxxxx", 13, 100), 1002);
}

static void test_close_payload(void **state)
{
	uint16_t code;

	assert_int_equal(ws_close_payload_parse(NULL, 0, &code), 0);
	assert_int_equal(code, 1005);
	assert_int_equal(ws_close_payload_parse((const uint8_t *)"\x03\xe8", 2, &code), 0);
	assert_int_equal(code, 1000);
	assert_int_equal(ws_close_payload_parse((const uint8_t *)"\x03", 1, &code), -EPROTO);
	assert_int_equal(ws_close_payload_parse((const uint8_t *)"\x03\xed", 2, &code), -EPROTO); /* 1005 */
}

/* ---- stream reassembler ---- */
struct recs {
	size_t n, bytes;
	uint8_t last[64];
	size_t last_len;
};

static int on_rec(void *arg, const uint8_t *p, size_t len)
{
	struct recs *r = arg;

	r->n++;
	r->bytes += len;
	r->last_len = len;
	memcpy(r->last, p, len < 64 ? len : 64);
	return 0;
}

static void test_stream_splits(void **state)
{
	uint8_t s[64];
	size_t n = 0;

	memcpy(s, "\x2f\xac\xed\x77", 4), n = 4;
	memcpy(s + n, "\0\0\0\0", 4), n += 4;                 /* keepalive */
	memcpy(s + n, "\0\0\0\x05" "hello", 9), n += 9;
	memcpy(s + n, "\0\0\0\x03" "abc", 7), n += 7;
	/* every way of cutting the stream in three */
	for (size_t a = 0; a <= n; ++a) {
		for (size_t b = a; b <= n; ++b) {
			struct stream st = { 0 };
			struct recs r = { 0 };
			assert_int_equal(stream_feed(&st, s, a, on_rec, &r), 0);
			assert_int_equal(stream_feed(&st, s + a, b - a, on_rec, &r), 0);
			assert_int_equal(stream_feed(&st, s + b, n - b, on_rec, &r), 0);
			assert_int_equal(r.n, 3);
			assert_int_equal(r.bytes, 8);
			assert_memory_equal(r.last, "abc", 3);
			assert_int_equal(buf_len(&st.rec), 0);
			assert_null(st.rec.p); /* released once complete */
			stream_uninit(&st);
		}
	}
}

/* Keepalives back to back in one chunk: one call per run, then the records after them. */
static void test_stream_keepalive_run(void **state)
{
	static uint8_t s[4 + 4 * 1001 + 6];
	struct stream st = { 0 };
	struct recs r = { 0 };

	(void)state;
	memcpy(s, "\x2f\xac\xed\x77", 4);
	memcpy(s + 4 + 4 * 1001, "\0\0\0\x02" "hi", 6); /* 1,001 keepalives, then "hi" */
	assert_int_equal(stream_feed(&st, s, 4 + 4 * 1000 + 2, on_rec, &r), 0); /* cut inside the last one */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(stream_feed(&st, s + 4 + 4 * 1000 + 2, sizeof(s) - (4 + 4 * 1000 + 2), on_rec, &r), 0);
	assert_int_equal(r.n, 3); /* the cut keepalive, then "hi" */
	assert_int_equal(r.last_len, 2);
	assert_memory_equal(r.last, "hi", 2);
	assert_false(stream_partial(&st));
	stream_uninit(&st);
}

static void test_stream_errors(void **state)
{
	struct stream st = { 0 };
	struct recs r = { 0 };

	assert_int_equal(stream_feed(&st, (const uint8_t *)"\xde\xad\xbe\xef", 4, on_rec, &r), -EPROTO);
	stream_uninit(&st);
	assert_int_equal(stream_feed(&st, (const uint8_t *)"\x2f\xac\xed\x77\0\x01\0\0", 8, on_rec, &r), -EMSGSIZE);
	stream_uninit(&st);
	/* 65535 is allowed, and a split one is gathered */
	assert_int_equal(stream_feed(&st, (const uint8_t *)"\x2f\xac\xed\x77\0\0\xff\xff", 8, on_rec, &r), 0);
	{
		uint8_t *big = calloc(1, 65535);
		assert_int_equal(stream_feed(&st, big, 1000, on_rec, &r), 0);
		/* the split record holds what arrived, not the 64 KiB it announced */
		assert_int_equal(buf_len(&st.rec), 1000);
		assert_true(st.rec.cap <= 1024);
		assert_true(stream_partial(&st));
		assert_int_equal(stream_feed(&st, big + 1000, 65535 - 1000, on_rec, &r), 0);
		assert_false(stream_partial(&st));
		assert_int_equal(r.n, 1);
		assert_int_equal(r.last_len, 65535);
		free(big);
	}
	stream_uninit(&st);
}

/* ---- hook ---- */
static void test_hook(void **state)
{
	struct hook_msg m = { 0 }, back;
	struct sockaddr_in *ep = (struct sockaddr_in *)&m.endpoint;
	struct sockaddr_in6 *cl = (struct sockaddr_in6 *)&m.client;
	uint8_t buf[HOOK_MSG_LEN];

	ep->sin_family = AF_INET;
	ep->sin_port = htons(40000);
	inet_pton(AF_INET, "127.1.2.3", &ep->sin_addr);
	cl->sin6_family = AF_INET6;
	cl->sin6_port = htons(5555);
	inet_pton(AF_INET6, "2001:db8::7", &cl->sin6_addr);
	m.initiation[0] = 1;
	for (int i = 4; i < 148; ++i)
		m.initiation[i] = (uint8_t)i;
	assert_int_equal(hook_msg_encode(buf, &m), 0);
	assert_memory_equal(buf, "JWH1\x04\x06\0\0", 8);
	assert_int_equal(hook_msg_decode(&back, buf, sizeof(buf)), 0);
	assert_memory_equal(&back.endpoint, &m.endpoint, sizeof(struct sockaddr_in));
	assert_memory_equal(&back.client, &m.client, sizeof(struct sockaddr_in6));
	assert_memory_equal(back.initiation, m.initiation, 148);
	assert_int_equal(hook_msg_decode(&back, buf, sizeof(buf) - 1), -EBADMSG);
	buf[6] = 1; /* reserved */
	assert_int_equal(hook_msg_decode(&back, buf, sizeof(buf)), -EBADMSG);
	buf[6] = 0;
	buf[44] = 2; /* not an initiation */
	assert_int_equal(hook_msg_decode(&back, buf, sizeof(buf)), -EBADMSG);
	buf[44] = 1;
	buf[24] = buf[25] = 0; /* endpoint port 0 */
	assert_int_equal(hook_msg_decode(&back, buf, sizeof(buf)), -EBADMSG);
	m.endpoint.ss_family = AF_UNIX;
	assert_int_equal(hook_msg_encode(buf, &m), -EAFNOSUPPORT);
}

static void test_addrport(void **state)
{
	struct sockaddr_storage ss;

	assert_int_equal(addrport_parse("127.0.0.1:51820", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(addrport_parse("[::1]:443", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addrport_parse(":8080", &ss), 0);
	assert_int_equal(addrport_parse("127.0.0.1:0", &ss), -EINVAL);
	assert_int_equal(addrport_parse("127.0.0.1:65536", &ss), -EINVAL);
	assert_int_equal(addrport_parse("127.0.0.1:+80", &ss), -EINVAL);
	assert_int_equal(addrport_parse("localhost:80", &ss), -EINVAL);
	assert_int_equal(addrport_parse("::1:80", &ss), -EINVAL);
	assert_int_equal(addrport_parse("127.0.0.1", &ss), -EINVAL);
}

static void test_xff(void **state)
{
	struct sockaddr_in6 out;
	struct relay_config cfg = { .ntrusted = 1 };
	struct sockaddr_in peer = { .sin_family = AF_INET };

	assert_int_equal(xff_client("198.51.100.7, 203.0.113.9 ", (struct sockaddr *)&out), 0);
	assert_int_equal(out.sin6_family, AF_INET);
	assert_int_equal(((struct sockaddr_in *)&out)->sin_addr.s_addr, inet_addr("203.0.113.9"));
	assert_int_equal(ntohs(((struct sockaddr_in *)&out)->sin_port), 1);
	assert_int_equal(xff_client("2001:db8::1", (struct sockaddr *)&out), 0);
	assert_int_equal(out.sin6_family, AF_INET6);
	assert_int_equal(xff_client("10.0.0.1, unknown", (struct sockaddr *)&out), -EINVAL);
	assert_int_equal(xff_client("", (struct sockaddr *)&out), -EINVAL);
	assert_int_equal(cidr_parse(&cfg.trusted[0], "10.1.0.0/20"), 0);
	peer.sin_addr.s_addr = inet_addr("10.1.15.255");
	assert_true(relay_proxy_trusted(&cfg, (struct sockaddr *)&peer));
	peer.sin_addr.s_addr = inet_addr("10.1.16.0");
	assert_false(relay_proxy_trusted(&cfg, (struct sockaddr *)&peer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_request), cmocka_unit_test(test_upgrade_reject),
		cmocka_unit_test(test_upgrade_client),  cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_violations), cmocka_unit_test(test_close_payload),
		cmocka_unit_test(test_stream_splits),   cmocka_unit_test(test_stream_keepalive_run),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_hook),            cmocka_unit_test(test_addrport),
		cmocka_unit_test(test_xff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

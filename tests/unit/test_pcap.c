// SPDX-License-Identifier: MIT
/*
 * The pcap reader: file and record headers in both byte orders, every link
 * type on synthesized frames (VLAN tags, IPv6 extension headers, fragments,
 * Ethernet padding, cut frames), then the committed wireguard-go captures
 * end to end through the decoder against their .expected files, so the
 * sanitizer build runs the real data too. Run from the repository root
 * (tests/run.sh does) or set JITWG_TEST_DATA.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "wire/keyfile.h"
#include "crypto/blake2s.h"
#include "noise/noise.h"
#include "wire/keys.h"
#include "wire/messages.h"
#include "wire/pcap.h"

static const char *data_dir(void)
{
	const char *d = getenv("JITWG_TEST_DATA");

	return d ? d : "tests/data";
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
	int i;

	for (i = 0; i < 4; ++i)
		p[i] = (uint8_t)(be ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void test_file_header(void **state)
{
	uint8_t h[24];
	struct pcap_file f;
	struct pcap_record r;
	uint8_t rh[16];
	int be;

	for (be = 0; be <= 1; ++be) {
		memset(h, 0, sizeof(h));
		put32(h, 0xa1b23c4d, be);
		h[be ? 5 : 4] = 2;
		h[be ? 7 : 6] = 4;
		put32(h + 16, 65535, be);
		put32(h + 20, 0x10000000 | PCAP_LINK_LINUX_SLL, be); /* FCS bits are ignored */
		assert_int_equal(pcap_file_parse(&f, h), 0);
		assert_int_equal(f.swapped, be);
		assert_true(f.nanosecond);
		assert_int_equal(f.version_major, 2);
		assert_int_equal(f.version_minor, 4);
		assert_int_equal(f.snaplen, 65535);
		assert_int_equal(f.linktype, PCAP_LINK_LINUX_SLL);
		put32(rh, 1, be);
		put32(rh + 4, 2, be);
		put32(rh + 8, 148, be);
		put32(rh + 12, 1500, be);
		assert_int_equal(pcap_record_parse(&f, rh, &r), 0);
		assert_int_equal(r.ts_sec, 1);
		assert_int_equal(r.ts_frac, 2);
		assert_int_equal(r.caplen, 148);
		assert_int_equal(r.origlen, 1500);
		put32(rh + 8, PCAP_MAX_CAPLEN + 1, be);
		assert_int_equal(pcap_record_parse(&f, rh, &r), -EINVAL);
		put32(h, 0xa1b2c3d4, be);
		assert_int_equal(pcap_file_parse(&f, h), 0);
		assert_false(f.nanosecond);
		put32(h + 20, 105, be);
		assert_int_equal(pcap_file_parse(&f, h), -EPROTONOSUPPORT);
		assert_int_equal(f.linktype, 105);
	}
	put32(h, 0x0a0d0d0a, false);
	assert_int_equal(pcap_file_parse(&f, h), -EPROTO);
	memcpy(h, "GIF8", 4);
	assert_int_equal(pcap_file_parse(&f, h), -EINVAL);
	assert_string_equal(pcap_linktype_name(PCAP_LINK_LINUX_SLL2), "LINUX_SLL2");
	assert_string_equal(pcap_linktype_name(999), "unsupported");
}

/* Builds IPv4/UDP or IPv6/UDP with the given payload at p; returns length. */
static size_t build_ip(uint8_t *p, int version, const uint8_t *payload, size_t len)
{
	size_t hl = version == 4 ? 20 : 40, ulen = 8 + len;

	memset(p, 0, hl + ulen);
	if (version == 4) {
		p[0] = 0x45;
		p[2] = (uint8_t)((hl + ulen) >> 8);
		p[3] = (uint8_t)(hl + ulen);
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	} else {
		p[0] = 0x60;
		p[4] = (uint8_t)(ulen >> 8);
		p[5] = (uint8_t)ulen;
		p[6] = 17;
		p[7] = 64;
		p[8] = 0xfd;
		p[23] = 2;
		p[24] = 0xfd;
		p[39] = 1;
	}
	p[hl] = 0x9c;
	p[hl + 1] = 0x40; /* 40000 */
	p[hl + 2] = 0xca;
	p[hl + 3] = 0x6c; /* 51820 */
	p[hl + 4] = (uint8_t)(ulen >> 8);
	p[hl + 5] = (uint8_t)ulen;
	memcpy(p + hl + 8, payload, len);
	return hl + ulen;
}

static int frame_udp(uint32_t linktype, const uint8_t *frame, size_t len, struct pcap_udp *u)
{
	struct pcap_file f = { .linktype = linktype };

	return pcap_frame_udp(&f, frame, len, u);
}

static void expect_payload(const struct pcap_udp *u, const uint8_t *payload, size_t len, int family)
{
	assert_int_equal(u->family, family);
	assert_int_equal(u->sport, 40000);
	assert_int_equal(u->dport, 51820);
	assert_int_equal(u->len, len);
	assert_memory_equal(u->payload, payload, len);
	assert_false(u->truncated);
}

static void test_link_types(void **state)
{
	uint8_t payload[148], frame[400];
	struct pcap_udp u;
	size_t n;
	int v;

	for (n = 0; n < sizeof(payload); ++n)
		payload[n] = (uint8_t)n;
	for (v = 4; v <= 6; v += 2) {
		int fam = v == 4 ? AF_INET : AF_INET6;
		uint16_t et = v == 4 ? 0x0800 : 0x86dd;

		/* Ethernet, plain and with two VLAN tags. */
		memset(frame, 0, 14);
		frame[12] = (uint8_t)(et >> 8);
		frame[13] = (uint8_t)et;
		n = 14 + build_ip(frame + 14, v, payload, sizeof(payload));
		assert_int_equal(frame_udp(PCAP_LINK_ETHERNET, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);
		memcpy(frame + 12, "\x88\xa8\x00\x05\x81\x00\x00\x07", 8);
		frame[20] = (uint8_t)(et >> 8);
		frame[21] = (uint8_t)et;
		n = 22 + build_ip(frame + 22, v, payload, sizeof(payload));
		assert_int_equal(frame_udp(PCAP_LINK_ETHERNET, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);
		/* Three tags are more than a real frame carries: skipped. */
		memcpy(frame + 12, "\x81\x00\x00\x01\x81\x00\x00\x02\x81\x00", 10);
		assert_int_equal(frame_udp(PCAP_LINK_ETHERNET, frame, n, &u), -ENOENT);

		/* Linux cooked v1 and v2. */
		memset(frame, 0, 20);
		frame[14] = (uint8_t)(et >> 8);
		frame[15] = (uint8_t)et;
		n = 16 + build_ip(frame + 16, v, payload, sizeof(payload));
		assert_int_equal(frame_udp(PCAP_LINK_LINUX_SLL, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);
		memset(frame, 0, 20);
		frame[0] = (uint8_t)(et >> 8);
		frame[1] = (uint8_t)et;
		n = 20 + build_ip(frame + 20, v, payload, sizeof(payload));
		assert_int_equal(frame_udp(PCAP_LINK_LINUX_SLL2, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);

		/* Raw IP and the per-version link types. */
		n = build_ip(frame, v, payload, sizeof(payload));
		assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);
		assert_int_equal(frame_udp(v == 4 ? PCAP_LINK_IPV4 : PCAP_LINK_IPV6, frame, n, &u), 0);
		assert_int_equal(frame_udp(v == 4 ? PCAP_LINK_IPV6 : PCAP_LINK_IPV4, frame, n, &u), -ENOENT);

		/* BSD loopback: family in either byte order. */
		n = 4 + build_ip(frame + 4, v, payload, sizeof(payload));
		put32(frame, v == 4 ? 2 : 30, false);
		assert_int_equal(frame_udp(PCAP_LINK_NULL, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);
		put32(frame, v == 4 ? 2 : 24, true);
		assert_int_equal(frame_udp(PCAP_LINK_LOOP, frame, n, &u), 0);
		expect_payload(&u, payload, sizeof(payload), fam);
		put32(frame, 7, true);
		assert_int_equal(frame_udp(PCAP_LINK_LOOP, frame, n, &u), -ENOENT);
	}
	/* ARP and unknown link types carry nothing. */
	memset(frame, 0, 60);
	frame[12] = 0x08;
	frame[13] = 0x06;
	assert_int_equal(frame_udp(PCAP_LINK_ETHERNET, frame, 60, &u), -ENOENT);
	assert_int_equal(frame_udp(12345, frame, 60, &u), -ENOENT);
}

static void test_ipv4_edges(void **state)
{
	uint8_t payload[148] = { 1 }, frame[300];
	struct pcap_udp u;
	size_t n, cut;

	n = build_ip(frame, 4, payload, sizeof(payload));
	/* Ethernet-style padding after the datagram is not payload. */
	memset(frame + n, 0xee, 20);
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n + 20, &u), 0);
	assert_int_equal(u.len, 148);
	/* Cut by the snap length: whatever is there, flagged truncated. */
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n - 10, &u), 0);
	assert_int_equal(u.len, 138);
	assert_true(u.truncated);
	/* Cut inside a header: nothing. */
	for (cut = 0; cut < 28; ++cut)
		assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, cut, &u), -ENOENT);
	/* Fragments: more-fragments, or a non-zero offset. */
	frame[6] = 0x20;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
	frame[6] = 0x00;
	frame[7] = 0x10;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
	frame[7] = 0;
	frame[6] = 0x40; /* don't-fragment is fine */
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), 0);
	/* TCP, bad IHL, total length below the header, UDP length below 8. */
	frame[9] = 6;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
	frame[9] = 17;
	frame[0] = 0x44;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
	frame[0] = 0x45;
	frame[2] = 0;
	frame[3] = 10;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
	n = build_ip(frame, 4, payload, sizeof(payload));
	frame[25] = 4;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
}

static void test_ipv6_extensions(void **state)
{
	uint8_t payload[148] = { 1 }, plain[300], frame[400];
	struct pcap_udp u;
	size_t n;

	n = build_ip(plain, 6, payload, sizeof(payload));
	/* hop-by-hop (8 bytes) then fragment (atomic) then UDP */
	memcpy(frame, plain, 40);
	frame[6] = 0;
	memset(frame + 40, 0, 16);
	frame[40] = 44;  /* next: fragment */
	frame[41] = 0;   /* 8 bytes */
	frame[48] = 17;  /* next: UDP */
	memcpy(frame + 56, plain + 40, n - 40);
	frame[4] = (uint8_t)((n - 40 + 16) >> 8);
	frame[5] = (uint8_t)(n - 40 + 16);
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n + 16, &u), 0);
	assert_int_equal(u.len, 148);
	/* A real fragment (more-fragments set) is skipped. */
	frame[51] = 1;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n + 16, &u), -ENOENT);
	frame[51] = 0;
	frame[50] = 0x08; /* offset 1 */
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n + 16, &u), -ENOENT);
	frame[50] = 0;
	/* Unknown next header (ESP) and a chain cut short. */
	frame[48] = 50;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n + 16, &u), -ENOENT);
	frame[48] = 17;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, 50, &u), -ENOENT);
	/* An endless chain of hop-by-hop headers stops at the bound. */
	memcpy(frame, plain, 40);
	frame[6] = 0;
	memset(frame + 40, 0, 200);
	frame[4] = 0;
	frame[5] = 200;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, 240, &u), -ENOENT);
	/* Payload length 0 (a jumbogram): skipped. */
	memcpy(frame, plain, n);
	frame[4] = frame[5] = 0;
	assert_int_equal(frame_udp(PCAP_LINK_RAW, frame, n, &u), -ENOENT);
}

static void test_attempt_rule(void **state)
{
	uint8_t m[200] = { 1 };

	assert_true(message_is_initiation_attempt(m, 148));
	assert_true(message_is_initiation_attempt(m, 4));
	assert_true(message_is_initiation_attempt(m, 149));
	assert_false(message_is_initiation_attempt(m, 3));
	assert_false(message_is_initiation_attempt(m, 0));
	m[2] = 7;
	assert_true(message_is_initiation_attempt(m, 148));
	assert_false(message_is_initiation_attempt(m, 60));
	m[0] = 4;
	assert_false(message_is_initiation_attempt(m, 148));
}

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open (run from the repository root or set JITWG_TEST_DATA)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void format_result(char *out, size_t cap, const struct noise_result *res)
{
	char idx[16] = "-", b64[WG_KEY_B64_LEN + 1] = "-";

	if (res->has_sender_index)
		snprintf(idx, sizeof(idx), "%u", (unsigned)res->sender_index);
	if (res->has_static)
		key_to_base64(b64, res->initiator_static);
	snprintf(out, cap, "%s %s %s\n", idx, b64, noise_verdict_name(res->verdict));
}

static void real_captures(void);

/* On every BLAKE2s implementation this CPU has (the decoder pairs blocks). */
static void test_real_captures(void **state)
{
	int impl;

	for (impl = BLAKE2S_IMPL_AUTO; impl <= BLAKE2S_IMPL_AVX512VL; ++impl) {
		if (blake2s_use_impl((enum blake2s_impl)impl))
			real_captures();
	}
	blake2s_use_impl(BLAKE2S_IMPL_AUTO);
}

static void real_captures(void)
{
	static const char *caps[] = { "eth", "eth-nano", "eth-nano-be", "sll", "sll2" };
	struct noise_responder *r;
	struct noise_sscache *cache = noise_sscache_new(16);
	uint8_t key[WG_KEY_LEN];
	char path[512], name[64], line[128];
	size_t i;

	snprintf(path, sizeof(path), "%s/gateway.key", data_dir());
	assert_int_equal(keyfile_read(key, path, NULL), 0);
	r = noise_responder_new(key);
	assert_non_null(r);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); ++i) {
		struct pcap_file pf;
		struct pcap_record rec;
		struct pcap_udp u;
		size_t len, elen, off, got = 0;
		char *cap, *want, *have;
		int oks = 0;

		snprintf(name, sizeof(name), "wg-%s.pcap", caps[i]);
		cap = slurp(name, &len);
		snprintf(name, sizeof(name), "wg-%s.expected", caps[i]);
		want = slurp(name, &elen);
		have = calloc(1, elen + 4096);
		assert_non_null(have);
		assert_true(len >= 24);
		assert_int_equal(pcap_file_parse(&pf, (uint8_t *)cap), 0);
		assert_int_equal(pf.swapped, !strcmp(caps[i], "eth-nano-be"));
		for (off = 24; off + 16 <= len; off += 16 + rec.caplen) {
			struct noise_result res;

			assert_int_equal(pcap_record_parse(&pf, (uint8_t *)cap + off, &rec), 0);
			assert_true(off + 16 + rec.caplen <= len);
			if (pcap_frame_udp(&pf, (uint8_t *)cap + off + 16, rec.caplen, &u))
				continue;
			if (!message_is_initiation_attempt(u.payload, u.len))
				continue;
			assert_int_equal(noise_consume_initiation(r, cache, u.payload, u.len, &res), 0);
			oks += res.verdict == NOISE_OK;
			format_result(line, sizeof(line), &res);
			assert_true(got + strlen(line) < elen + 4096);
			memcpy(have + got, line, strlen(line));
			got += strlen(line);
		}
		assert_int_equal(off, len);
		assert_true(oks >= 4);
		assert_string_equal(have, want);
		free(cap);
		free(want);
		free(have);
	}
	noise_sscache_free(cache);
	noise_responder_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_header),
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_ipv4_edges),
		cmocka_unit_test(test_ipv6_extensions),
		cmocka_unit_test(test_attempt_rule),
		cmocka_unit_test(test_real_captures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

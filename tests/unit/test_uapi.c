// SPDX-License-Identifier: MIT
/*
 * UAPI text protocol: the strict parser and the formatter on canned text,
 * then the socket side against a scripted fake daemon that answers with
 * errors, garbage and truncation (a broken implementation must not crash
 * us). The real-daemon tests are in test_uapi_live.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "dataplane/dataplane.h"
#include "dataplane/uapi.h"
#include "crypto/x25519.h"

/* RFC 7748 section 6.1: Alice's X25519 key pair. */
static const char *alice_priv = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char *alice_pub = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char *k1 = "1111111111111111111111111111111111111111111111111111111111111111";

static void test_key_hex(void **state)
{
	uint8_t k[WG_KEY_LEN];
	char hex[2 * WG_KEY_LEN + 1];
	char upper[65];
	size_t i;

	assert_int_equal(uapi_key_from_hex(k, alice_priv, 64), 0);
	uapi_key_to_hex(hex, k);
	assert_string_equal(hex, alice_priv);
	for (i = 0; i < 64; i++)
		upper[i] = (char)(alice_priv[i] >= 'a' ? alice_priv[i] - 32 : alice_priv[i]);
	upper[64] = 0;
	assert_int_equal(uapi_key_from_hex(k, upper, 64), 0);
	uapi_key_to_hex(hex, k);
	assert_string_equal(hex, alice_priv);
	assert_int_equal(uapi_key_from_hex(k, alice_priv, 63), -EPROTO);
	assert_int_equal(uapi_key_from_hex(k, alice_priv, 0), -EPROTO);
	/* Every non-hex byte at every position is refused. */
	for (i = 0; i < 256; i++) {
		char bad[65];

		if ((i >= '0' && i <= '9') || ((i | 0x20) >= 'a' && (i | 0x20) <= 'f'))
			continue;
		memcpy(bad, alice_priv, 65);
		bad[i % 64] = (char)i;
		assert_int_equal(uapi_key_from_hex(k, bad, 64), -EPROTO);
		assert_true(key_is_zero(k));
	}
}

static void test_public_key(void **state)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], want[WG_KEY_LEN];

	assert_int_equal(uapi_key_from_hex(priv, alice_priv, 64), 0);
	assert_int_equal(uapi_key_from_hex(want, alice_pub, 64), 0);
	assert_int_equal(x25519_public_from_private(pub, priv), 0);
	assert_memory_equal(pub, want, WG_KEY_LEN);
}

static int ep_parse(union dp_endpoint *ep, const char *s)
{
	return uapi_endpoint_parse(ep, s, strlen(s));
}

static void test_endpoint(void **state)
{
	static const char *bad[] = {
		"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4:80x",
		"1.2.3:80", "[::1]", "[::1]:", "::1:80", "[::1]x80", "[::1]:99999", "[1.2.3.4]:80",
		"[fe80::1%jtnosuchif0]:1", "[fe80::1%]:1", "[]:80", "[::1:80", "1.2.3.4 :80",
		"1.2.3.4:0080000000000000000000000",
	};
	union dp_endpoint ep;
	char out[UAPI_ENDPOINT_STR_MAX];
	size_t i;

	assert_int_equal(ep_parse(&ep, "192.0.2.7:51820"), 0);
	assert_int_equal(ep.addr.sa_family, AF_INET);
	assert_int_equal(ntohs(ep.addr4.sin_port), 51820);
	assert_int_equal(uapi_endpoint_format(out, &ep), 0);
	assert_string_equal(out, "192.0.2.7:51820");

	assert_int_equal(ep_parse(&ep, "[2001:db8::1]:0"), 0);
	assert_int_equal(ep.addr.sa_family, AF_INET6);
	assert_int_equal(uapi_endpoint_format(out, &ep), 0);
	assert_string_equal(out, "[2001:db8::1]:0");

	assert_int_equal(ep_parse(&ep, "[fe80::1%3]:7"), 0);
	assert_int_equal(ep.addr6.sin6_scope_id, 3);
	assert_int_equal(uapi_endpoint_format(out, &ep), 0);
	assert_string_equal(out, "[fe80::1%3]:7");
	assert_int_equal(ep_parse(&ep, "[fe80::1%lo]:7"), 0);
	assert_int_equal(ep.addr6.sin6_scope_id, 1);

	/* IPv4-mapped comes back as plain IPv4, as capture reports sources. */
	assert_int_equal(ep_parse(&ep, "[::ffff:198.51.100.2]:9"), 0);
	assert_int_equal(ep.addr.sa_family, AF_INET);
	assert_int_equal(ep.addr4.sin_addr.s_addr, inet_addr("198.51.100.2"));
	assert_int_equal(ntohs(ep.addr4.sin_port), 9);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ep_parse(&ep, bad[i]), -EINVAL);
		assert_int_equal(ep.addr.sa_family, 0);
	}
	assert_int_equal(uapi_endpoint_parse(&ep, "1.2.3.4\0:80", 10), -EINVAL);
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(uapi_endpoint_format(out, &ep), -EINVAL);
}

/* Feeds text (lines separated by '\n', no final empty line) to a parser. */
static int feed(struct uapi_get *g, const char *text)
{
	const char *p = text, *nl;
	int ret;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		ret = uapi_get_line(g, p, (size_t)(nl - p));
		if (ret < 0)
			return ret;
		p = *nl ? nl + 1 : nl;
	}
	return 0;
}

static int parse_all(const char *text, bool want, struct dp_device *dev, struct dp_peer **peers,
		     size_t *n)
{
	struct uapi_get g;
	int ret;

	uapi_get_init(&g, want);
	ret = feed(&g, text);
	if (ret < 0) {
		uapi_get_uninit(&g);
		return ret;
	}
	return uapi_get_finish(&g, dev, peers, n);
}

static void test_get_reply(void **state)
{
	char text[2048];
	struct dp_device dev;
	struct dp_peer *peers;
	uint8_t pub[WG_KEY_LEN];
	size_t n;

	snprintf(text, sizeof(text),
		 "private_key=%s\nlisten_port=51820\nfwmark=0\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "endpoint=[2001:db8::2]:4444\nlast_handshake_time_sec=1700000000\n"
		 "last_handshake_time_nsec=999999999\ntx_bytes=18446744073709551615\nrx_bytes=7\n"
		 "persistent_keepalive_interval=25\nallowed_ip=10.0.0.7/32\n"
		 "allowed_ip=fd00::/8\nallowed_ip=10.9.9.9/8\nsome_future_key=whatever\n"
		 "public_key=%s\nerrno=0",
		 alice_priv, k1, k1, alice_pub);
	assert_int_equal(parse_all(text, true, &dev, &peers, &n), 0);
	assert_true(dev.has_private_key);
	assert_int_equal(dev.listen_port, 51820);
	assert_int_equal(uapi_key_from_hex(pub, alice_pub, 64), 0);
	assert_memory_equal(dev.public_key, pub, WG_KEY_LEN);
	assert_int_equal(n, 2);
	assert_int_equal(peers[0].public_key[0], 0x11);
	assert_true(key_is_zero(peers[0].preshared_key));
	assert_int_equal(peers[0].endpoint.addr.sa_family, AF_INET6);
	assert_int_equal(ntohs(peers[0].endpoint.addr6.sin6_port), 4444);
	assert_int_equal(peers[0].last_handshake_sec, 1700000000);
	assert_true(peers[0].tx_bytes == UINT64_MAX);
	assert_int_equal(peers[0].rx_bytes, 7);
	assert_int_equal(peers[0].persistent_keepalive, 25);
	assert_int_equal(peers[0].n_allowed_ips, 3);
	assert_int_equal(peers[0].allowed_ips[1].family, AF_INET6);
	assert_int_equal(peers[0].allowed_ips[1].cidr, 8);
	/* Host bits cleared. */
	assert_int_equal(peers[0].allowed_ips[2].ip4.s_addr, inet_addr("10.0.0.0"));
	assert_memory_equal(peers[1].public_key, pub, WG_KEY_LEN);
	assert_int_equal(peers[1].n_allowed_ips, 0);
	assert_null(peers[1].allowed_ips);
	assert_int_equal(peers[1].endpoint.addr.sa_family, 0);
	dataplane_peers_free(peers, n);
	dataplane_device_wipe(&dev);

	/* Head only. */
	assert_int_equal(parse_all(text, false, &dev, NULL, NULL), 0);
	assert_int_equal(dev.listen_port, 51820);

	/* An empty device. */
	assert_int_equal(parse_all("listen_port=0\nerrno=0", true, &dev, &peers, &n), 0);
	assert_false(dev.has_private_key);
	assert_int_equal(n, 0);
	dataplane_peers_free(peers, n);
}

static void test_get_rejects(void **state)
{
	static const char *bad[] = {
		"listen_port=65536\nerrno=0",
		"listen_port=-1\nerrno=0",
		"listen_port=\nerrno=0",
		"listen_port 1\nerrno=0",
		"=1\nerrno=0",
		"private_key=abc\nerrno=0",
		"endpoint=1.2.3.4:5\nerrno=0",                    /* peer key before a peer */
		"public_key=%s\nlisten_port=1\nerrno=0",          /* device key inside a peer */
		"public_key=%s\nendpoint=1.2.3.4\nerrno=0",
		"public_key=%s\nallowed_ip=10.0.0.0/33\nerrno=0",
		"public_key=%s\nallowed_ip=10.0.0.0\nerrno=0",
		"public_key=%s\nallowed_ip=fd00::/129\nerrno=0",
		"public_key=%s\nallowed_ip=10.0.0.0/ 8\nerrno=0",
		"public_key=%s\nlast_handshake_time_nsec=1000000000\nerrno=0",
		"public_key=%s\nrx_bytes=18446744073709551616\nerrno=0",
		"public_key=%s\npersistent_keepalive_interval=65536\nerrno=0",
		"public_key=%s\npreshared_key=00\nerrno=0",
		"public_key=%s0\nerrno=0",
		"errno=0\nlisten_port=1",                         /* nothing after errno */
		"errno=x",
		"errno=4096",
		"listen_port=1",                                  /* no errno at all */
		"",
	};
	struct dp_device dev;
	struct dp_peer *peers;
	char text[512], line[UAPI_LINE_MAX + 2];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), bad[i], k1);
		assert_int_equal(parse_all(text, true, &dev, &peers, &n), -EPROTO);
	}
	assert_int_equal(parse_all("errno=5", true, &dev, &peers, &n), -5);
	assert_int_equal(parse_all("listen_port=1\nerrno=22", true, &dev, &peers, &n), -EINVAL);

	memset(line, 'a', sizeof(line));
	memcpy(line, "x=", 2);
	{
		struct uapi_get g;

		uapi_get_init(&g, true);
		assert_int_equal(uapi_get_line(&g, line, UAPI_LINE_MAX + 1), -EPROTO);
		assert_int_equal(uapi_get_line(&g, "a=\0b", 4), -EPROTO);
		uapi_get_uninit(&g);
	}
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/*
 * Mutated replies through the parser (run under ASan in the san suite):
 * whatever the bytes, the parser returns an error or a result whose
 * arrays are consistent, never reads past a line or leaks.
 */
static void test_get_mutations(void **state)
{
	static const char alphabet[] = "=\n0123456789abcdef:[]%./-_xzp ";
	char good[2048], text[2048];
	size_t glen, len, i;
	unsigned ok = 0;

	glen = (size_t)snprintf(good, sizeof(good),
				"private_key=%s\nlisten_port=51820\nfwmark=0\npublic_key=%s\n"
				"preshared_key=%s\nendpoint=[2001:db8::2%%1]:4444\n"
				"last_handshake_time_sec=1\nlast_handshake_time_nsec=2\ntx_bytes=3\n"
				"rx_bytes=4\npersistent_keepalive_interval=5\nallowed_ip=10.0.0.7/32\n"
				"allowed_ip=fd00::/8\npublic_key=%s\nendpoint=1.2.3.4:5\nerrno=0",
				alice_priv, k1, k1, alice_pub);
	for (i = 0; i < 100000; i++) {
		struct dp_device dev;
		struct dp_peer *peers = NULL;
		unsigned f, flips = 1 + rnd() % 4;
		size_t n = 0, k, a;
		int ret;

		memcpy(text, good, glen + 1);
		len = glen;
		for (f = 0; f < flips; f++) {
			size_t at = rnd() % len;

			switch (rnd() % 3) {
			case 0:
				text[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
				break;
			case 1:
				text[at] = (char)rnd();
				break;
			default: /* delete a byte */
				memmove(text + at, text + at + 1, len - at);
				len--;
				break;
			}
		}
		text[len] = 0;
		{
			struct uapi_get g;
			const char *p = text, *nl;

			uapi_get_init(&g, true);
			ret = 0;
			while (!ret && p < text + len) {
				nl = memchr(p, '\n', (size_t)(text + len - p));
				if (!nl)
					nl = text + len;
				ret = uapi_get_line(&g, p, (size_t)(nl - p));
				p = nl + 1;
			}
			if (ret) {
				uapi_get_uninit(&g);
				continue;
			}
			ret = uapi_get_finish(&g, &dev, &peers, &n);
		}
		if (ret)
			continue;
		ok++;
		for (k = 0; k < n; k++)
			for (a = 0; a < peers[k].n_allowed_ips; a++)
				assert_true(peers[k].allowed_ips[a].cidr <=
					    (peers[k].allowed_ips[a].family == AF_INET ? 32 : 128));
		dataplane_peers_free(peers, n);
		dataplane_device_wipe(&dev);
	}
	assert_true(ok > 100);
	print_message("100000 mutated replies: %u still parse\n", ok);
}

static void test_format(void **state)
{
	struct dp_allowedip a[2] = {
		{ .family = AF_INET, .cidr = 24 },
		{ .family = AF_INET6, .cidr = 64 },
	};
	struct buf b = BUF_INIT(UAPI_SET_MAX, true);
	struct dp_peer p;
	char want[1024];

	memset(&p, 0, sizeof(p));
	memset(p.public_key, 0x11, WG_KEY_LEN);
	a[0].ip4.s_addr = inet_addr("10.1.2.0");
	inet_pton(AF_INET6, "fd00:1::", &a[1].ip6);
	p.allowed_ips = a;
	p.n_allowed_ips = 2;
	p.endpoint.addr6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::9", &p.endpoint.addr6.sin6_addr);
	p.endpoint.addr6.sin6_port = htons(51820);
	p.persistent_keepalive = 25;
	p.flags = DP_PEER_UPDATE_ONLY | DP_PEER_HAS_PRESHARED_KEY | DP_PEER_HAS_ENDPOINT |
		  DP_PEER_HAS_KEEPALIVE | DP_PEER_REPLACE_ALLOWEDIPS;
	assert_int_equal(uapi_format_peer(&b, &p), 0);
	snprintf(want, sizeof(want),
		 "public_key=%s\nupdate_only=true\npreshared_key=%064d\n"
		 "endpoint=[2001:db8::9]:51820\npersistent_keepalive_interval=25\n"
		 "replace_allowed_ips=true\nallowed_ip=10.1.2.0/24\nallowed_ip=fd00:1::/64\n",
		 k1, 0);
	assert_string_equal((const char *)buf_data(&b), want);
	assert_int_equal(uapi_format_remove(&b, p.public_key), 0);
	assert_non_null(strstr((const char *)buf_data(&b), "remove=true\n"));
	buf_free(&b);

	/* Only what the flags name. */
	p.flags = 0;
	p.n_allowed_ips = 0;
	assert_int_equal(uapi_format_peer(&b, &p), 0);
	snprintf(want, sizeof(want), "public_key=%s\n", k1);
	assert_string_equal((const char *)buf_data(&b), want);
	buf_free(&b);

	p.flags = DP_PEER_HAS_ENDPOINT;
	p.endpoint.addr.sa_family = AF_UNIX;
	assert_int_equal(uapi_format_peer(&b, &p), -EINVAL);
	buf_free(&b);
	a[0].cidr = 33;
	p.flags = 0;
	p.n_allowed_ips = 1;
	assert_int_equal(uapi_format_peer(&b, &p), -EINVAL);
	buf_free(&b);
}

/* ---- a scripted fake daemon ------------------------------------------------ */

struct fake {
	char ifname[IFNAMSIZ];
	char path[108];
	int lfd;
	pthread_t th;
	const char *reply;      /* written after the request's terminating "\n\n" */
	size_t reply_len;
	bool hangup_early;      /* close after reading the first line */
	bool keep;              /* serve requests on a connection until the client closes (wireguard-go) */
	atomic_size_t requests; /* connections accepted */
	atomic_size_t served;   /* requests answered (counted before the answer goes) */
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char buf[65536];
	int fd;

	while ((fd = accept(f->lfd, NULL, NULL)) >= 0) {
		char prev = 0;
		bool done = false;
		ssize_t r, i;

		f->requests++;
		/* Read a request up to its empty line (or its first line), answer; again while keep. */
		do {
			done = false;
			prev = 0;
			while (!done && (r = read(fd, buf, sizeof(buf))) > 0) {
				for (i = 0; i < r && !done; i++) {
					done = buf[i] == '\n' && (prev == '\n' || f->hangup_early);
					prev = buf[i];
				}
			}
			if (done && !f->hangup_early && f->reply_len) {
				f->served++;
				(void)!send(fd, f->reply, f->reply_len, MSG_NOSIGNAL);
			}
		} while (done && f->keep);
		close(fd);
	}
	return NULL;
}

static struct fake *fake_start(const char *reply, size_t len)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	assert_non_null(f);
	snprintf(f->ifname, sizeof(f->ifname), "jtu%d", (int)getpid() % 1000000);
	mkdir("/var/run/wireguard", 0755);
	snprintf(f->path, sizeof(f->path), "/var/run/wireguard/%s.sock", f->ifname);
	unlink(f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	f->reply = reply;
	f->reply_len = len;
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	return f;
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	free(f);
}

static struct dataplane *fake_open(struct fake *f)
{
	const char *msg;
	struct dataplane *dp = dataplane_open(f->ifname, DP_BACKEND_AUTO, &msg);

	assert_non_null(dp);
	assert_string_equal(dataplane_backend_name(dp), "userspace");
	return dp;
}

static void one_peer(struct dp_peer *p)
{
	memset(p, 0, sizeof(*p));
	memset(p->public_key, 0x22, WG_KEY_LEN);
}

static void test_fake_errors(void **state)
{
	static const char r_einval[] = "errno=22\n\n";
	static const char r_garbage[] = "hello\n\n";
	static const char r_trunc[] = "listen_port=1\n";
	static const char r_extra[] = "errno=0\n\nerrno=0\n\n";
	static const char r_nul[] = "errno=0\0\n\n";
	struct dp_device dev;
	struct dp_peer p, *peers;
	struct dataplane *dp;
	struct fake *f;
	size_t n;

	if (geteuid() != 0)
		skip();
	one_peer(&p);

	f = fake_start(r_einval, sizeof(r_einval) - 1);
	dp = fake_open(f);
	assert_int_equal(dataplane_set_peers(dp, &p, 1), -EINVAL);
	assert_int_equal(dataplane_get_device(dp, &dev), -EINVAL);
	dataplane_free(dp);
	fake_stop(f);

	f = fake_start(r_garbage, sizeof(r_garbage) - 1);
	dp = fake_open(f);
	assert_int_equal(dataplane_set_peers(dp, &p, 1), -EPROTO);
	assert_int_equal(dataplane_list_peers(dp, &peers, &n), -EPROTO);
	assert_null(peers);
	dataplane_free(dp);
	fake_stop(f);

	f = fake_start(r_trunc, sizeof(r_trunc) - 1);
	dp = fake_open(f);
	assert_int_equal(dataplane_list_peers(dp, &peers, &n), -EPROTO);
	assert_int_equal(dataplane_set_peers(dp, &p, 1), -EPROTO);
	dataplane_free(dp);
	fake_stop(f);

	f = fake_start(r_extra, sizeof(r_extra) - 1);
	dp = fake_open(f);
	assert_int_equal(dataplane_list_peers(dp, &peers, &n), -EPROTO);
	dataplane_free(dp);
	fake_stop(f);

	f = fake_start(r_nul, sizeof(r_nul) - 1);
	dp = fake_open(f);
	assert_int_equal(dataplane_set_peers(dp, &p, 1), -EPROTO);
	dataplane_free(dp);
	fake_stop(f);

	/* Hangs up without a word. */
	f = fake_start(NULL, 0);
	f->hangup_early = true;
	dp = fake_open(f);
	assert_true(dataplane_set_peers(dp, &p, 1) < 0);
	assert_true(dataplane_list_peers(dp, &peers, &n) < 0);
	dataplane_free(dp);
	fake_stop(f);
}

/*
 * One connection carries every operation when the daemon keeps it open; a
 * daemon that hangs up after each (the fake's default, or a restart) costs
 * a reconnect, never an error.
 */
static void test_fake_kept(void **state)
{
	static const char r_ok[] = "errno=0\n\n";
	static const char r_einval[] = "errno=22\n\n";
	struct dp_peer p;
	struct dataplane *dp;
	struct fake *f;
	int i;

	if (geteuid() != 0)
		skip();
	one_peer(&p);
	f = fake_start(r_ok, sizeof(r_ok) - 1);
	f->keep = true;
	dp = fake_open(f);
	for (i = 0; i < 5; ++i)
		assert_int_equal(dataplane_set_peers(dp, &p, 1), 0);
	assert_int_equal(f->requests, 1);
	assert_int_equal(f->served, 5);
	/* an error reply: that connection is dropped, the next call connects again */
	f->reply = r_einval;
	f->reply_len = sizeof(r_einval) - 1;
	assert_int_equal(dataplane_set_peers(dp, &p, 1), -EINVAL);
	f->reply = r_ok;
	f->reply_len = sizeof(r_ok) - 1;
	assert_int_equal(dataplane_set_peers(dp, &p, 1), 0);
	assert_int_equal(f->requests, 2);
	dataplane_free(dp);
	fake_stop(f);

	f = fake_start(r_ok, sizeof(r_ok) - 1);
	dp = fake_open(f);
	for (i = 0; i < 3; ++i)
		assert_int_equal(dataplane_set_peers(dp, &p, 1), 0);
	/* the first on the connection made at open, each later one finds it closed and connects again */
	assert_int_equal(f->served, 3);
	assert_int_equal(f->requests, 3);
	dataplane_free(dp);
	fake_stop(f);
}

/* A large reply arrives in many reads; lines straddle read boundaries. */
static void test_fake_large(void **state)
{
	enum { N = 20000 };
	struct dp_peer *peers;
	struct dataplane *dp;
	struct fake *f;
	char *reply, *w;
	size_t n, i, cap = (size_t)N * 200 + 64;

	if (geteuid() != 0)
		skip();
	reply = malloc(cap);
	assert_non_null(reply);
	w = reply;
	w += sprintf(w, "listen_port=9\n");
	for (i = 0; i < N; i++)
		w += sprintf(w, "public_key=%064zx\nendpoint=10.%zu.%zu.1:%zu\nallowed_ip=10.0.0.0/8\n",
			     i, (i >> 8) & 255, i & 255, i % 65536);
	w += sprintf(w, "errno=0\n\n");
	f = fake_start(reply, (size_t)(w - reply));
	dp = fake_open(f);
	assert_int_equal(dataplane_list_peers(dp, &peers, &n), 0);
	assert_int_equal(n, N);
	assert_int_equal(peers[N - 1].public_key[31], (N - 1) & 255);
	assert_int_equal(ntohs(peers[N - 1].endpoint.addr4.sin_port), (N - 1) % 65536);
	assert_int_equal(peers[N - 1].n_allowed_ips, 1);
	dataplane_peers_free(peers, n);
	dataplane_free(dp);
	fake_stop(f);
	free(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_hex),
		cmocka_unit_test(test_public_key),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_get_reply),
		cmocka_unit_test(test_get_rejects),
		cmocka_unit_test(test_get_mutations),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_fake_errors),
		cmocka_unit_test(test_fake_kept),
		cmocka_unit_test(test_fake_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * jitwg tunnel: WireGuard over a WebSocket, for users whose network blocks
 * UDP. Listens on a local UDP port (the Endpoint of the user's WireGuard
 * config), carries each datagram to a jitwg-relay URL and back, reconnects
 * with backoff, and keeps the link alive.
 *
 *   jitwg tunnel --url wss://relay.example.com/ [--listen 127.0.0.1:51820]
 *                [--ca FILE | --insecure] [--framing binary|stream]
 *
 * One thread, poll() over two sockets. The local WireGuard is whoever sent
 * the last datagram to the listening socket. Datagrams that arrive while
 * the WebSocket is down are dropped (WireGuard retransmits handshakes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/addrport.h"
#include "ws/stream.h"
#include "ws/codec.h"
#include "ws/upgrade.h"

enum {
	TUN_MAX_OUT = 1 << 20,    /* queued toward the relay; beyond: drop datagrams */
	TUN_IO_TIMEOUT_MS = 10000, /* connect, TLS and upgrade */
	TUN_BACKOFF_MIN_MS = 250,
	TUN_BACKOFF_MAX_MS = 30000,
};

struct url {
	bool tls;
	char host[256];
	char port[6];
	char path[1024];
	char hostport[300]; /* the Host header */
};

struct tun {
	struct url url;
	SSL_CTX *ctx;
	int ufd, fd;
	SSL *ssl;
	struct ws_codec *ws;
	bool stream, eof, dead, have_peer, quiet;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t *pre;              /* bytes after the 101 head, for the codec first */
	size_t pre_len, pre_off;
	uint8_t *out;
	size_t out_len, out_off;
	struct stream rx;          /* server-to-client records (stream framing) */
	uint8_t *msg;              /* a fragmented binary message */
	size_t msg_len;
	uint64_t last_tx_ms;
	unsigned keepalive_ms;
	uint64_t up, down, dropped;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig) { stopping = 1; }

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ws[s]://host[:port][/path]; host may be [v6] (addrport.h). Returns 0 or -EINVAL. */
static int parse_url(struct url *u, const char *s)
{
	char authority[ADDRPORT_HOST_MAX + 8];
	const char *h, *path;
	uint16_t port;
	size_t i;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "wss://", 6)) {
		u->tls = true;
		h = s + 6;
	} else if (!strncmp(s, "ws://", 5)) {
		h = s + 5;
	} else {
		return -EINVAL;
	}
	path = strchr(h, '/');
	if (!path)
		path = h + strlen(h);
	if ((size_t)(path - h) >= sizeof(authority))
		return -EINVAL;
	memcpy(authority, h, (size_t)(path - h));
	authority[path - h] = '\0';
	if (addrport_split(authority, u->host, &port, ADDRPORT_PORT_OPTIONAL, NULL))
		return -EINVAL;
	for (i = 0; u->host[i]; ++i)
		if (!((u->host[i] >= 'a' && u->host[i] <= 'z') || (u->host[i] >= 'A' && u->host[i] <= 'Z') ||
		      (u->host[i] >= '0' && u->host[i] <= '9') || strchr(".-:%_", u->host[i])))
			return -EINVAL;
	snprintf(u->port, sizeof(u->port), "%u", port ? port : u->tls ? 443u : 80u);
	if (strlen(*path ? path : "/") >= sizeof(u->path))
		return -EINVAL;
	strcpy(u->path, *path ? path : "/");
	snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ? "[%s]:%s" : "%s:%s", u->host,
		 u->port);
	return 0;
}

/* ---- the WebSocket connection ---- */

static ssize_t tls_or_plain_read(struct tun *t, uint8_t *buf, size_t len)
{
	ssize_t n;

	if (t->ssl) {
		int r = SSL_read(t->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len)), e;
		if (r > 0)
			return r;
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return -1;
		t->eof = true;
		return -1;
	}
	n = recv(t->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		t->eof = true;
	return -1;
}

static ssize_t codec_rd(void *arg, uint8_t *buf, size_t len)
{
	struct tun *t = arg;

	if (t->pre_off < t->pre_len) {
		size_t take = t->pre_len - t->pre_off < len ? t->pre_len - t->pre_off : len;
		memcpy(buf, t->pre + t->pre_off, take);
		t->pre_off += take;
		return (ssize_t)take;
	}
	return tls_or_plain_read(t, buf, len);
}

static ssize_t codec_wr(void *arg, const uint8_t *buf, size_t len)
{
	struct tun *t = arg;

	if (t->out_off && t->out_off == t->out_len)
		t->out_off = t->out_len = 0;
	if (t->out_len + len > TUN_MAX_OUT + 64) {
		if (t->out_off) {
			memmove(t->out, t->out + t->out_off, t->out_len - t->out_off);
			t->out_len -= t->out_off;
			t->out_off = 0;
		}
		if (t->out_len + len > TUN_MAX_OUT + 64)
			return -1;
	}
	memcpy(t->out + t->out_len, buf, len);
	t->out_len += len;
	return (ssize_t)len;
}

static int flush_out(struct tun *t)
{
	while (t->out_off < t->out_len) {
		size_t n = t->out_len - t->out_off;
		ssize_t w;
		if (t->ssl) {
			int r = SSL_write(t->ssl, t->out + t->out_off, (int)(n > INT32_MAX ? INT32_MAX : n)), e;
			if (r <= 0) {
				e = SSL_get_error(t->ssl, r);
				return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -EIO;
			}
			w = r;
		} else {
			w = send(t->fd, t->out + t->out_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
		}
		t->out_off += (size_t)w;
	}
	return 0;
}

static void disconnect(struct tun *t)
{
	if (t->ssl) {
		SSL_free(t->ssl);
		t->ssl = NULL;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	ws_codec_free(t->ws);
	t->ws = NULL;
	stream_uninit(&t->rx);
	free(t->pre);
	t->pre = NULL;
	t->pre_len = t->pre_off = 0;
	free(t->msg);
	t->msg = NULL;
	t->msg_len = 0;
	t->out_len = t->out_off = 0;
	t->eof = t->dead = false;
}

/* Waits for fd to become readable or writable until deadline. */
static int wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = now_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline - now));
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int tcp_connect(struct tun *t, uint64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai, *a;
	int ret = -EHOSTUNREACH, one = 1;

	if (getaddrinfo(t->url.host, t->url.port, &hints, &ai) != 0)
		return -ENOENT;
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
		socklen_t el = sizeof(err);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			ret = -errno;
			close(fd);
			continue;
		}
		if ((ret = wait_fd(fd, POLLOUT, deadline)) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			ret = err ? -err : ret;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		t->fd = fd;
		ret = 0;
		break;
	}
	freeaddrinfo(ai);
	return ret;
}

static int tls_handshake(struct tun *t, uint64_t deadline)
{
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1)
		return -ENOMEM;
	SSL_set_tlsext_host_name(t->ssl, t->url.host);
	if (SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE) {
		struct in6_addr tmp;
		if (inet_pton(AF_INET, t->url.host, &tmp) == 1 || inet_pton(AF_INET6, t->url.host, &tmp) == 1)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->url.host);
		else
			SSL_set1_host(t->ssl, t->url.host);
	}
	for (;;) {
		int r = SSL_connect(t->ssl), e, w;
		if (r == 1)
			return 0;
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			w = wait_fd(t->fd, POLLIN, deadline);
		else if (e == SSL_ERROR_WANT_WRITE)
			w = wait_fd(t->fd, POLLOUT, deadline);
		else {
			unsigned long err = ERR_get_error();
			if (!t->quiet)
				fprintf(stderr, "jitwg tunnel: TLS: %s\n",
					err ? ERR_reason_error_string(err) : "handshake failed");
			ERR_clear_error();
			return -EPROTO;
		}
		if (w < 0)
			return w;
	}
}

/* Sends the upgrade and reads the 101 (blocking, bounded by deadline). */
static int upgrade(struct tun *t, uint64_t deadline)
{
	char req[2048], key[WS_KEY_LEN + 1], resp[WS_UPGRADE_MAX];
	size_t got = 0, sent = 0;
	int n, status, ret;

	n = ws_upgrade_request(req, sizeof(req), t->url.hostport, t->url.path, key);
	if (n < 0)
		return n;
	t->out_off = t->out_len = 0;
	while (sent < (size_t)n) {
		memcpy(t->out, req + sent, (size_t)n - sent);
		t->out_len = (size_t)n - sent;
		t->out_off = 0;
		if ((ret = flush_out(t)) < 0)
			return ret;
		sent += t->out_off;
		t->out_len = t->out_off = 0;
		if (sent < (size_t)n && (ret = wait_fd(t->fd, POLLOUT, deadline)) < 0)
			return ret;
	}
	for (;;) {
		ssize_t r = tls_or_plain_read(t, (uint8_t *)resp + got, sizeof(resp) - got);
		if (r > 0) {
			got += (size_t)r;
			n = ws_upgrade_parse_response(resp, got, key, &status);
			if (n > 0)
				break;
			if (n < 0) {
				if (!t->quiet)
					fprintf(stderr, "jitwg tunnel: relay refused the upgrade (HTTP %d)\n", status);
				return -EPROTO;
			}
			continue;
		}
		if (t->eof)
			return -ECONNRESET;
		if ((ret = wait_fd(t->fd, POLLIN, deadline)) < 0)
			return ret;
	}
	if ((size_t)n < got) {
		t->pre = malloc(got - (size_t)n);
		if (!t->pre)
			return -ENOMEM;
		memcpy(t->pre, resp + n, got - (size_t)n);
		t->pre_len = got - (size_t)n;
	}
	return 0;
}

static int establish(struct tun *t)
{
	uint64_t deadline = now_ms() + TUN_IO_TIMEOUT_MS;
	int ret;

	if ((ret = tcp_connect(t, deadline)) < 0)
		return ret;
	if (t->url.tls && (ret = tls_handshake(t, deadline)) < 0)
		return ret;
	if ((ret = upgrade(t, deadline)) < 0)
		return ret;
	t->ws = ws_codec_new(false, 1 << 17, codec_rd, codec_wr, t);
	if (!t->ws)
		return -ENOMEM;
	/* the server's records carry no magic: prime the reassembler past it */
	memset(&t->rx, 0, sizeof(t->rx));
	t->rx.magic_ok = true;
	if (t->stream) {
		static const uint8_t magic[4] = { 0x2f, 0xac, 0xed, 0x77 };
		ret = ws_codec_send(t->ws, WS_OP_TEXT, magic, 4, NULL, 0);
		if (ret < 0)
			return ret;
	}
	t->last_tx_ms = now_ms();
	return flush_out(t);
}

/* ---- data ---- */

static int to_peer(void *arg, const uint8_t *p, size_t len)
{
	struct tun *t = arg;

	if (len == 0 || !t->have_peer)
		return 0;
	if (sendto(t->ufd, p, len, MSG_DONTWAIT, (struct sockaddr *)&t->peer, t->peer_len) == (ssize_t)len)
		t->down++;
	return 0;
}

static void from_relay(struct tun *t)
{
	for (int budget = 0; budget < 4096 && !t->dead; ++budget) {
		struct ws_chunk ch;
		int r = ws_codec_recv(t->ws, &ch);

		if (r < 0) {
			ws_codec_send_close(t->ws, ws_codec_close_code(t->ws));
			t->dead = true;
			break;
		}
		if (r == 0) {
			if (t->eof)
				t->dead = true;
			if (t->pre_off >= t->pre_len && !t->eof) {
				/* distinguish "header incomplete" from "socket dry" */
				if (!t->ssl || SSL_pending(t->ssl) == 0) {
					struct pollfd p = { .fd = t->fd, .events = POLLIN };
					if (poll(&p, 1, 0) <= 0)
						break;
				}
			}
			continue;
		}
		switch (ch.opcode) {
		case WS_OP_PING:
			ws_codec_send(t->ws, WS_OP_PONG, ch.data, ch.len, NULL, 0);
			continue;
		case WS_OP_PONG:
			continue;
		case WS_OP_CLOSE:
			ws_codec_send_close(t->ws, WS_CLOSE_NORMAL);
			t->dead = true;
			continue;
		default:
			break;
		}
		if (t->stream) {
			if (stream_feed(&t->rx, ch.data, ch.len, to_peer, t) < 0)
				t->dead = true;
			continue;
		}
		if (!t->msg && ch.frame_start && ch.frame_end && ch.fin && ch.opcode != WS_OP_CONT) {
			to_peer(t, ch.data, ch.len);
			continue;
		}
		if (t->msg_len + ch.len > 65535 || (!t->msg && !(t->msg = malloc(65535)))) {
			t->dead = true;
			continue;
		}
		memcpy(t->msg + t->msg_len, ch.data, ch.len);
		t->msg_len += ch.len;
		if (ch.fin && ch.frame_end) {
			to_peer(t, t->msg, t->msg_len);
			t->msg_len = 0;
		}
	}
	if (flush_out(t) < 0)
		t->dead = true;
}

static void from_wireguard(struct tun *t, uint8_t *buf)
{
	for (int i = 0; i < 64; ++i) {
		struct sockaddr_storage src;
		socklen_t sl = sizeof(src);
		ssize_t n = recvfrom(t->ufd, buf, 65535, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
		uint8_t hdr[4];
		int r;

		if (n < 0)
			break;
		memcpy(&t->peer, &src, sl);
		t->peer_len = sl;
		t->have_peer = true;
		if (n == 0 || !t->ws || t->out_len - t->out_off > TUN_MAX_OUT - 65600) {
			t->dropped++;
			continue;
		}
		if (t->stream) {
			stream_record_header(hdr, (uint32_t)n);
			r = ws_codec_send(t->ws, WS_OP_TEXT, hdr, 4, buf, (size_t)n);
		} else {
			r = ws_codec_send(t->ws, WS_OP_BINARY, buf, (size_t)n, NULL, 0);
		}
		if (r < 0) {
			t->dead = true;
			return;
		}
		t->up++;
		t->last_tx_ms = now_ms();
	}
	if (t->ws && flush_out(t) < 0)
		t->dead = true;
}

static void keepalive(struct tun *t)
{
	static const uint8_t zero[4];

	if (!t->ws || now_ms() - t->last_tx_ms < t->keepalive_ms)
		return;
	/* stream framing: a zero-length record; binary: a ping (never an empty message) */
	if (t->stream)
		ws_codec_send(t->ws, WS_OP_TEXT, zero, 4, NULL, 0);
	else
		ws_codec_send(t->ws, WS_OP_PING, NULL, 0, NULL, 0);
	t->last_tx_ms = now_ms();
	if (flush_out(t) < 0)
		t->dead = true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jitwg tunnel --url ws[s]://HOST[:PORT][/PATH] [options]\n"
		"  --listen ADDR:PORT     local UDP port WireGuard sends to (127.0.0.1:51820)\n"
		"  --ca FILE              trust this CA for wss:// (default: the system's)\n"
		"  --insecure             do not verify the relay's certificate\n"
		"  --framing binary|stream  one binary message per datagram (default), or the\n"
		"                         length-prefixed stream in TEXT frames\n"
		"  --keepalive SECONDS    idle link keepalive (default 1 for stream, 15 for binary)\n"
		"  --quiet                no connection messages\n");
}

int cmd_tunnel(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "listen", required_argument, NULL, 'l' },
		{ "ca", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "framing", required_argument, NULL, 'f' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tun t = { .fd = -1, .ufd = -1 };
	struct sockaddr_storage listen_ss;
	const char *url = NULL, *listen_s = "127.0.0.1:51820", *ca = NULL;
	bool insecure = false;
	long ka = -1;
	unsigned backoff = TUN_BACKOFF_MIN_MS;
	uint64_t next_try = 0, up_since = 0;
	uint8_t *buf = NULL;
	int opt, ret = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'l': listen_s = optarg; break;
		case 'c': ca = optarg; break;
		case 'k': insecure = true; break;
		case 'q': t.quiet = true; break;
		case 'f':
			if (!strcmp(optarg, "stream"))
				t.stream = true;
			else if (strcmp(optarg, "binary")) {
				fprintf(stderr, "jitwg tunnel: --framing: expected binary or stream\n");
				return 2;
			}
			break;
		case 'K': {
			char *end;
			ka = strtol(optarg, &end, 10);
			if (*end || end == optarg || ka < 1 || ka > 3600) {
				fprintf(stderr, "jitwg tunnel: --keepalive: expected 1..3600 seconds\n");
				return 2;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !url) {
		fprintf(stderr, optind < argc ? "jitwg tunnel: unexpected argument '%s'\n"
					      : "jitwg tunnel: --url is required\n", argv[optind]);
		return 2;
	}
	if (parse_url(&t.url, url) < 0) {
		fprintf(stderr, "jitwg tunnel: --url: '%s' is not ws[s]://HOST[:PORT][/PATH]\n", url);
		return 2;
	}
	if (addrport_parse(listen_s, &listen_ss) < 0) {
		fprintf(stderr, "jitwg tunnel: --listen: '%s' is not ADDR:PORT\n", listen_s);
		return 2;
	}
	if (!t.url.tls && (ca || insecure)) {
		fprintf(stderr, "jitwg tunnel: --ca and --insecure only apply to wss://\n");
		return 2;
	}
	t.keepalive_ms = (unsigned)(ka > 0 ? ka : t.stream ? 1 : 15) * 1000u;
	if (t.url.tls) {
		t.ctx = SSL_CTX_new(TLS_client_method());
		if (!t.ctx)
			goto out;
		SSL_CTX_set_min_proto_version(t.ctx, TLS1_2_VERSION);
		SSL_CTX_set_mode(t.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		if (insecure) {
			SSL_CTX_set_verify(t.ctx, SSL_VERIFY_NONE, NULL);
		} else {
			SSL_CTX_set_verify(t.ctx, SSL_VERIFY_PEER, NULL);
			if (ca ? SSL_CTX_load_verify_locations(t.ctx, ca, NULL) != 1
			       : SSL_CTX_set_default_verify_paths(t.ctx) != 1) {
				fprintf(stderr, "jitwg tunnel: --ca %s: cannot load\n", ca ? ca : "(system)");
				ret = 2;
				goto out;
			}
		}
	}
	t.out = malloc(TUN_MAX_OUT + 128);
	buf = malloc(65536);
	t.ufd = socket(listen_ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!t.out || !buf || t.ufd < 0 ||
	    bind(t.ufd, (struct sockaddr *)&listen_ss, addrport_len(&listen_ss)) < 0) {
		fprintf(stderr, "jitwg tunnel: --listen %s: %s\n", listen_s, strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stopping) {
		struct pollfd p[2] = { { .fd = t.ufd, .events = POLLIN }, { .fd = -1 } };
		uint64_t now = now_ms();
		int timeout;

		if (!t.ws && now >= next_try) {
			int r = establish(&t);
			if (r < 0) {
				if (!t.quiet)
					fprintf(stderr, "jitwg tunnel: %s: %s; retrying in %u ms\n", url,
						strerror(-r), backoff);
				disconnect(&t);
				next_try = now_ms() + backoff;
				backoff = backoff * 2 > TUN_BACKOFF_MAX_MS ? TUN_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			if (!t.quiet)
				fprintf(stderr, "jitwg tunnel: connected to %s (%s framing)\n", url,
					t.stream ? "stream" : "binary");
			up_since = now_ms();
			if (t.pre_len)
				from_relay(&t);
		}
		if (t.ws) {
			p[1].fd = t.fd;
			p[1].events = POLLIN | (t.out_off < t.out_len ? POLLOUT : 0);
			timeout = (int)t.keepalive_ms;
		} else {
			timeout = (int)(next_try > now ? next_try - now : 0);
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			from_wireguard(&t, buf);
		if (t.ws && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			from_relay(&t);
		if (t.ws && (p[1].revents & POLLOUT) && flush_out(&t) < 0)
			t.dead = true;
		if (t.ws)
			keepalive(&t);
		if (t.ws && t.dead) {
			flush_out(&t);
			disconnect(&t);
			/* a link that stayed up a while starts the backoff over */
			if (now_ms() - up_since > 10000)
				backoff = TUN_BACKOFF_MIN_MS;
			if (!t.quiet)
				fprintf(stderr, "jitwg tunnel: disconnected; reconnecting in %u ms\n", backoff);
			next_try = now_ms() + backoff;
			backoff = backoff * 2 > TUN_BACKOFF_MAX_MS ? TUN_BACKOFF_MAX_MS : backoff * 2;
		}
	}
	if (t.ws) {
		ws_codec_send_close(t.ws, WS_CLOSE_GOING_AWAY);
		flush_out(&t);
	}
	ret = 0;
out:
	disconnect(&t);
	if (t.ufd >= 0)
		close(t.ufd);
	SSL_CTX_free(t.ctx);
	free(t.out);
	free(buf);
	return ret;
}

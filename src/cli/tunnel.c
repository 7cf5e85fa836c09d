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
#include "common/buf.h"
#include "ws/stream.h"
#include "ws/codec.h"
#include "ws/upgrade.h"
#include "ws/url.h"

enum {
	TUN_MAX_OUT = 1 << 20,    /* queued toward the relay; beyond: drop datagrams */
	TUN_FRAME_OVERHEAD = WS_HEADER_MAX + 4, /* header, and a record's length */
	TUN_IO_TIMEOUT_MS = 10000, /* connect, TLS and upgrade */
	TUN_BACKOFF_MIN_MS = 250,
	TUN_BACKOFF_MAX_MS = 30000,
};

struct tun {
	struct ws_url url;
	SSL_CTX *ctx;
	int ufd, fd;
	SSL *ssl;
	struct ws_codec *ws;
	bool stream, eof, dead, have_peer, quiet;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct buf pre;            /* bytes after the 101 head, for the codec first */
	struct buf out;            /* whole frames toward the relay, not yet sent */
	struct stream rx;          /* server-to-client records (stream framing) */
	struct buf msg;            /* a fragmented binary message */
	uint64_t last_tx_ms;
	unsigned keepalive_ms;
	uint64_t up, down, dropped;
	bool permanent;            /* the last failure will not go away by retrying */
	char why[512];             /* what the last failure was, for the log */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig) { stopping = 1; }

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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
	size_t take = buf_len(&t->pre) < len ? buf_len(&t->pre) : len;

	if (take) {
		memcpy(buf, buf_data(&t->pre), take);
		buf_consume(&t->pre, take);
		return (ssize_t)take;
	}
	return tls_or_plain_read(t, buf, len);
}

/* Frames are only encoded after room_for() said yes, so this never cuts one. */
static ssize_t codec_wr(void *arg, const uint8_t *buf, size_t len)
{
	struct tun *t = arg;

	return buf_put(&t->out, buf, len) == 0 ? (ssize_t)len : -1;
}

/* True when a frame with payload len fits in the output queue whole. */
static bool room_for(const struct tun *t, size_t len)
{
	return buf_room(&t->out) >= len + TUN_FRAME_OVERHEAD;
}

/*
 * Encodes one frame into the output queue, whole or not at all: a frame
 * cut in the middle would corrupt the stream for good. -ENOBUFS when the
 * queue has no room for it (nothing queued); -EIO when encoding failed.
 */
static int send_frame(struct tun *t, uint8_t op, const void *a, size_t alen, const void *b, size_t blen)
{
	if (!room_for(t, alen + blen))
		return -ENOBUFS;
	return ws_codec_send(t->ws, op, a, alen, b, blen);
}

static int flush_out(struct tun *t)
{
	while (buf_len(&t->out)) {
		size_t n = buf_len(&t->out);
		ssize_t w;
		if (t->ssl) {
			int r = SSL_write(t->ssl, buf_data(&t->out), (int)(n > INT32_MAX ? INT32_MAX : n)), e;
			if (r <= 0) {
				e = SSL_get_error(t->ssl, r);
				return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -EIO;
			}
			w = r;
		} else {
			w = send(t->fd, buf_data(&t->out), n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
		}
		buf_consume(&t->out, (size_t)w);
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
	buf_free(&t->pre);
	buf_free(&t->msg);
	buf_free(&t->out);
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
	int ret = -EHOSTUNREACH, one = 1, g;

	if ((g = getaddrinfo(t->url.host, t->url.port, &hints, &ai)) != 0) {
		snprintf(t->why, sizeof(t->why), "cannot resolve %s: %s", t->url.host,
			 g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		return -EHOSTUNREACH;
	}
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

/* Says why the handshake failed; a certificate that did not verify gets the remedy. */
static void tls_why(struct tun *t)
{
	long v = SSL_get_verify_result(t->ssl);
	unsigned long err = ERR_get_error();

	if (v != X509_V_OK)
		snprintf(t->why, sizeof(t->why),
			 "TLS: the relay's certificate did not verify (%s): for a private CA give "
			 "--ca FILE (its certificate, PEM)", X509_verify_cert_error_string(v));
	else
		snprintf(t->why, sizeof(t->why), "TLS: %s",
			 err ? ERR_reason_error_string(err) ?: "handshake failed" : "handshake failed");
	ERR_clear_error();
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
			tls_why(t);
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
	size_t got = 0;
	int n, status, ret;

	n = ws_upgrade_request(req, sizeof(req), t->url.hostport, t->url.path, key);
	if (n < 0)
		return n;
	buf_free(&t->out);
	if ((ret = buf_put(&t->out, req, (size_t)n)) < 0)
		return ret;
	for (;;) {
		if ((ret = flush_out(t)) < 0)
			return ret;
		if (!buf_len(&t->out))
			break;
		if ((ret = wait_fd(t->fd, POLLOUT, deadline)) < 0)
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
				/* a 4xx other than 408/429 says this request will never work */
				t->permanent = status >= 400 && status < 500 && status != 408 && status != 429;
				snprintf(t->why, sizeof(t->why), "the relay refused the upgrade (HTTP %d)%s",
					 status, status == 404 ? ": check the URL's path" : "");
				return -EPROTO;
			}
			continue;
		}
		if (t->eof)
			return -ECONNRESET;
		if ((ret = wait_fd(t->fd, POLLIN, deadline)) < 0)
			return ret;
	}
	return buf_put(&t->pre, resp + n, got - (size_t)n);
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
		ret = send_frame(t, WS_OP_TEXT, magic, 4, NULL, 0);
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

static void send_close(struct tun *t, uint16_t code)
{
	uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	send_frame(t, WS_OP_CLOSE, p, 2, NULL, 0); /* best effort: we are ending anyway */
}

/* One data chunk from the relay. Returns 0, or -EPROTO (the link is unusable). */
static int relay_data(struct tun *t, const struct ws_chunk *ch)
{
	int r;

	if (t->stream)
		return stream_feed(&t->rx, ch->data, ch->len, to_peer, t) < 0 ? -EPROTO : 0;
	if (!buf_len(&t->msg) && ch->frame_start && ch->frame_end && ch->fin && ch->opcode != WS_OP_CONT)
		return to_peer(t, ch->data, ch->len);
	if ((r = buf_put(&t->msg, ch->data, ch->len)) < 0)
		return -EPROTO;
	if (ch->fin && ch->frame_end) {
		to_peer(t, buf_data(&t->msg), buf_len(&t->msg));
		buf_free(&t->msg);
	}
	return 0;
}

/* True when the codec has nothing more to give now: its source is dry. */
static bool relay_dry(struct tun *t)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN };

	if (buf_len(&t->pre) || t->eof)
		return false;
	if (t->ssl && SSL_pending(t->ssl) > 0)
		return false;
	return poll(&p, 1, 0) <= 0;
}

static void from_relay(struct tun *t)
{
	for (int budget = 0; budget < 4096 && !t->dead; ++budget) {
		struct ws_chunk ch;
		int r = ws_codec_recv(t->ws, &ch);

		if (r < 0) {
			send_close(t, ws_codec_close_code(t->ws));
			t->dead = true;
			break;
		}
		if (r == 0) {
			if (t->eof)
				t->dead = true;
			else if (relay_dry(t)) /* not merely a header still incomplete */
				break;
			continue;
		}
		switch (ch.opcode) {
		case WS_OP_PING:
			/* no room for the pong: the relay is not reading; it will close us */
			if (send_frame(t, WS_OP_PONG, ch.data, ch.len, NULL, 0) == -EIO)
				t->dead = true;
			continue;
		case WS_OP_PONG:
			continue;
		case WS_OP_CLOSE:
			send_close(t, WS_CLOSE_NORMAL);
			t->dead = true;
			continue;
		default:
			break;
		}
		if (relay_data(t, &ch) < 0)
			t->dead = true;
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
		if (n == 0 || !t->ws) {
			t->dropped++;
			continue;
		}
		if (t->stream) {
			stream_record_header(hdr, (uint32_t)n);
			r = send_frame(t, WS_OP_TEXT, hdr, 4, buf, (size_t)n);
		} else {
			r = send_frame(t, WS_OP_BINARY, buf, (size_t)n, NULL, 0);
		}
		if (r == -ENOBUFS) { /* the relay is slow: drop this datagram whole */
			t->dropped++;
			continue;
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
	int r;

	if (!t->ws || now_ms() - t->last_tx_ms < t->keepalive_ms)
		return;
	/* stream framing: a zero-length record; binary: a ping (never an empty message) */
	if (t->stream)
		r = send_frame(t, WS_OP_TEXT, zero, 4, NULL, 0);
	else
		r = send_frame(t, WS_OP_PING, NULL, 0, NULL, 0);
	t->last_tx_ms = now_ms();
	if (r == -EIO || flush_out(t) < 0)
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

struct tun_opts {
	const char *url, *listen, *ca;
	bool insecure;
	struct sockaddr_storage listen_ss;
};

/* Returns 0, 2 (usage error, said) or -1 (--help: exit 0). */
static int parse_args(struct tun *t, struct tun_opts *o, int argc, char **argv)
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
	const char *url = NULL, *listen_s = "127.0.0.1:51820";
	struct sockaddr_storage listen_ss;
	long ka = -1;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'l': listen_s = optarg; break;
		case 'c': o->ca = optarg; break;
		case 'k': o->insecure = true; break;
		case 'q': t->quiet = true; break;
		case 'f':
			if (!strcmp(optarg, "stream"))
				t->stream = true;
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
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !url) {
		fprintf(stderr, optind < argc ? "jitwg tunnel: unexpected argument '%s'\n"
					      : "jitwg tunnel: --url is required\n", argv[optind]);
		return 2;
	}
	if (ws_url_parse(&t->url, url) < 0) {
		fprintf(stderr, "jitwg tunnel: --url: '%s' is not ws[s]://HOST[:PORT][/PATH]\n", url);
		return 2;
	}
	if (addrport_parse(listen_s, &listen_ss) < 0) {
		fprintf(stderr, "jitwg tunnel: --listen: '%s' is not ADDR:PORT\n", listen_s);
		return 2;
	}
	if (!t->url.tls && (o->ca || o->insecure)) {
		fprintf(stderr, "jitwg tunnel: --ca and --insecure only apply to wss://\n");
		return 2;
	}
	t->keepalive_ms = (unsigned)(ka > 0 ? ka : t->stream ? 1 : 15) * 1000u;
	o->url = url;
	o->listen = listen_s;
	o->listen_ss = listen_ss;
	return 0;
}

/* The client TLS context. Returns 0, 2 (--ca unusable, said) or 1. */
static int tls_setup(struct tun *t, const struct tun_opts *o)
{
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx)
		return 1;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o->insecure) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca ? SSL_CTX_load_verify_locations(t->ctx, o->ca, NULL) != 1
		  : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		fprintf(stderr, "jitwg tunnel: --ca %s: cannot load\n", o->ca ? o->ca : "(system)");
		return 2;
	}
	return 0;
}

struct tun_retry {
	unsigned backoff;
	uint64_t next_try, up_since;
};

static void retry_later(struct tun_retry *rt)
{
	rt->next_try = now_ms() + rt->backoff;
	rt->backoff = rt->backoff * 2 > TUN_BACKOFF_MAX_MS ? TUN_BACKOFF_MAX_MS : rt->backoff * 2;
}

/* Connects when due. Returns 0, or -EPERM when retrying cannot help (said). */
static int maybe_connect(struct tun *t, const struct tun_opts *o, struct tun_retry *rt)
{
	int r;

	if (t->ws || now_ms() < rt->next_try)
		return 0;
	t->why[0] = '\0';
	t->permanent = false;
	r = establish(t);
	if (r < 0) {
		if (t->permanent) {
			fprintf(stderr, "jitwg tunnel: %s: %s; not retrying\n", o->url, t->why);
			disconnect(t);
			return -EPERM;
		}
		if (!t->quiet)
			fprintf(stderr, "jitwg tunnel: %s: %s; retrying in %u ms\n", o->url,
				t->why[0] ? t->why : strerror(-r), rt->backoff);
		disconnect(t);
		retry_later(rt);
		return 0;
	}
	if (!t->quiet)
		fprintf(stderr, "jitwg tunnel: connected to %s (%s framing)\n", o->url,
			t->stream ? "stream" : "binary");
	rt->up_since = now_ms();
	if (buf_len(&t->pre))
		from_relay(t);
	return 0;
}

/* Forwards until a signal. Returns 0, or 1 when the relay refused for good. */
static int run(struct tun *t, const struct tun_opts *o, uint8_t *buf)
{
	struct tun_retry rt = { .backoff = TUN_BACKOFF_MIN_MS };

	while (!stopping) {
		struct pollfd p[2] = { { .fd = t->ufd, .events = POLLIN }, { .fd = -1 } };
		uint64_t now;
		int timeout;

		if (maybe_connect(t, o, &rt) < 0)
			return 1;
		now = now_ms();
		if (t->ws) {
			p[1].fd = t->fd;
			p[1].events = POLLIN | (buf_len(&t->out) ? POLLOUT : 0);
			timeout = (int)t->keepalive_ms;
		} else {
			timeout = (int)(rt.next_try > now ? rt.next_try - now : 0);
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			from_wireguard(t, buf);
		if (t->ws && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			from_relay(t);
		if (t->ws && (p[1].revents & POLLOUT) && flush_out(t) < 0)
			t->dead = true;
		if (t->ws)
			keepalive(t);
		if (t->ws && t->dead) {
			flush_out(t);
			disconnect(t);
			/* a link that stayed up a while starts the backoff over */
			if (now_ms() - rt.up_since > 10000)
				rt.backoff = TUN_BACKOFF_MIN_MS;
			if (!t->quiet)
				fprintf(stderr, "jitwg tunnel: disconnected; reconnecting in %u ms\n", rt.backoff);
			retry_later(&rt);
		}
	}
	if (t->ws) {
		send_close(t, WS_CLOSE_GOING_AWAY);
		flush_out(t);
	}
	return 0;
}

int cmd_tunnel(int argc, char **argv)
{
	struct tun t = { .fd = -1, .ufd = -1, .out = BUF_INIT(TUN_MAX_OUT, false),
			 .pre = BUF_INIT(WS_UPGRADE_MAX, false), .msg = BUF_INIT(65535, false) };
	struct tun_opts o = { 0 };
	uint8_t *buf = NULL;
	int ret;

	if ((ret = parse_args(&t, &o, argc, argv)) != 0)
		return ret < 0 ? 0 : ret;
	if (t.url.tls && (ret = tls_setup(&t, &o)) != 0)
		goto out;
	ret = 1;
	buf = malloc(65536);
	t.ufd = socket(o.listen_ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!buf || t.ufd < 0 || bind(t.ufd, (struct sockaddr *)&o.listen_ss, addrport_len(&o.listen_ss)) < 0) {
		fprintf(stderr, "jitwg tunnel: --listen %s: %s\n", o.listen, strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = run(&t, &o, buf);
out:
	disconnect(&t);
	if (t.ufd >= 0)
		close(t.ufd);
	SSL_CTX_free(t.ctx);
	free(buf);
	return ret;
}

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_RELAY_RELAY_H
#define JITWG_RELAY_RELAY_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire/cidr.h"

/*
 * jitwg-relay: WireGuard over WebSockets. One epoll loop per thread, each
 * with its own SO_REUSEPORT listener; a connection lives on the thread that
 * accepted it and is never touched by another. Per connection: a TCP socket
 * (maybe TLS), a wslay frame codec, and, once upgraded, a UDP socket
 * connected to the WireGuard port, so WireGuard sees one endpoint per client.
 */

enum {
	RELAY_MAX_TRUSTED = 16,
	RELAY_DEFAULT_MAX_CONNS = 16384,
	RELAY_DEFAULT_HANDSHAKE_MS = 10000,
	RELAY_DEFAULT_IDLE_MS = 120000,
	RELAY_DEFAULT_PER_SOURCE = 256,
	RELAY_LINGER_MS = 2000,
	RELAY_MAX_FRAME = 65535 + 4,    /* one stream record with its length */
	RELAY_MAX_MESSAGE = 65535,      /* one datagram in the message framing */
	/*
	 * Output toward one client, a bounded buffer (common/buf.h): datagrams
	 * are queued up to RELAY_OUT_DATA_MAX (beyond: dropped, counted); the
	 * rest is kept for control frames (pong, close), so the hard maximum
	 * holds for everything. From RELAY_OUT_PAUSE on, the relay stops
	 * reading the client (its pings would only queue more pongs); if the
	 * queue then does not drain for --handshake-timeout, the client is
	 * closed with 1008.
	 */
	RELAY_MAX_OUTBUF = 256 * 1024,
	RELAY_OUT_DATA_MAX = RELAY_MAX_OUTBUF - 1024,
	RELAY_OUT_PAUSE = 64 * 1024,
	/*
	 * Per connection per wake-up: at most this many frame pieces (wslay
	 * hands out at most 4 KiB each), so one flooding client cannot hold
	 * its loop for long; a connection that had more goes on the loop's
	 * "more to read" list and is served again after the others. 16 let a
	 * keepalive flood add about 1 ms to every other client's echo on this
	 * project's machine; 4 about 0.3 ms (docs/PERFORMANCE.md, the relay
	 * under hostile clients).
	 */
	RELAY_WAKE_BUDGET = 4,
};

struct relay_config {
	struct sockaddr_storage listen, forward;
	const char *tls_cert, *tls_key; /* both or neither */
	const char *hook_path;          /* NULL: no hook */
	const char *metrics;            /* "ADDR:PORT" or NULL */
	unsigned max_conns, threads, handshake_ms;
	unsigned idle_ms;               /* --idle-timeout: close a silent WebSocket; ping at a third */
	unsigned max_per_source;        /* per IPv4 address and IPv6 /64; 0: no limit */
	struct cidr trusted[RELAY_MAX_TRUSTED]; /* proxies whose X-Forwarded-For counts */
	unsigned ntrusted;
	/* UDP sockets bind round-robin over this IPv4 range (host order) when
	 * the forward address is loopback: each address has its own port space. */
	uint32_t bind_base, bind_count;
};

/* Counters: see docs/OPERATIONS.md for each one's meaning. */
struct relay_metrics {
	atomic_uint_fast64_t accepted, rejected_full, upgrades, upgrade_failed, handshake_timeouts,
		tls_failed, closed, protocol_errors, too_big, framing_stream, framing_message,
		to_wg_datagrams, to_wg_bytes, to_wg_dropped, to_client_datagrams, to_client_bytes,
		to_client_dropped, keepalives, pings, udp_bind_failed, hook_sent, hook_dropped,
		xff_used, idle_timeouts, partial_timeouts, slow_readers, rejected_source, accept_paused,
		pongs_coalesced;
	atomic_int_fast64_t connections, open;
};

struct relay_loop;
struct relay_sources;
struct ssl_ctx_st;

struct relay {
	struct relay_config cfg;
	struct relay_metrics m;
	pthread_mutex_t tls_mu;         /* guards tls: swapped on SIGHUP */
	struct ssl_ctx_st *tls;         /* NULL: plain ws:// */
	atomic_uint bind_next;
	struct relay_sources *sources;  /* connections per source (source.c) */
	struct relay_loop **loops;
};

/* Sets defaults (listen and forward unset). */
void relay_config_defaults(struct relay_config *cfg);

/*
 * Creates listeners and loops (not yet running). Returns 0 or -errno, with
 * the reason logged once.
 */
int relay_start(struct relay *r);

/* Stops every loop, closes every connection, frees. Safe after a failed start. */
void relay_stop(struct relay *r);

/* (Re)loads the certificate and key; the old context stays on failure. */
int relay_tls_reload(struct relay *r);
void relay_tls_free(struct relay *r);

/* Takes a reference to the current TLS context (NULL when plain). */
struct ssl_ctx_st *relay_tls_get(struct relay *r);

/* The /metrics page as text/plain; caller frees. NULL on ENOMEM. */
char *relay_metrics_render(const struct relay *r);

/* Serves /metrics on cfg.metrics; returns an opaque handle or NULL (logged). */
void *relay_metrics_serve(struct relay *r);
void relay_metrics_stop(void *h);

/* True when sa lies in one of cfg's --trust-proxy prefixes (xff.c). */
bool relay_proxy_trusted(const struct relay_config *cfg, const struct sockaddr *sa);

/*
 * The rightmost X-Forwarded-For entry (the one a trusted proxy appended) as
 * an address with port 1 (unknown). out must hold a sockaddr_in6. Returns 0
 * or -EINVAL (not an IPv4 or IPv6 address; out untouched). Pure.
 */
int xff_client(const char *xff, struct sockaddr *out);

/* Picks the next bind address of the range, in network order. */
uint32_t relay_next_bind_addr(struct relay *r);

/*
 * Connections per source (source.c): an IPv4 address, or an IPv6 /64. A
 * keyed table (crypto/keyedtab: SipHash over the prefix, random key) sized
 * for most sources at once, under one mutex taken once per accept and once
 * per close. max 0: no limit (get always true). NULL with errno on failure.
 */
struct relay_sources *relay_sources_new(unsigned max, size_t most);
void relay_sources_free(struct relay_sources *t);
/* Counts one more connection from sa; false (nothing counted) at the limit. */
bool relay_source_get(struct relay_sources *t, const struct sockaddr *sa);
/* Counts one connection from sa less (after a true relay_source_get). */
void relay_source_put(struct relay_sources *t, const struct sockaddr *sa);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes AF_INET in place. */
void relay_addr_unmap(struct sockaddr_storage *ss);

#endif

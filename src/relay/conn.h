/* SPDX-License-Identifier: MIT */
#ifndef JITWG_RELAY_CONN_H
#define JITWG_RELAY_CONN_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "relay/relay.h"
#include "ws/stream.h"

/*
 * Inside the relay: a loop (one per thread) and its connections. A
 * connection's state machine:
 *   TLS (handshake) -> HTTP (reading the upgrade) -> OPEN (frames) ->
 *   CLOSING (close frame queued: flush, half-close, wait for EOF) -> freed;
 *   LINGER (an HTTP error answer queued: same ending).
 * TLS, HTTP, CLOSING and LINGER sit on a deadline list (one per duration, so
 * each list is ordered by insertion and expiry is O(1) at its head).
 */

struct ssl_st;
struct ws_codec;

enum conn_state { C_TLS, C_HTTP, C_OPEN, C_CLOSING, C_LINGER };
enum conn_framing { F_UNKNOWN, F_STREAM, F_MESSAGE };
enum conn_rd { RD_NONE, RD_DATA, RD_AGAIN, RD_EOF, RD_ERR };

struct conn;

struct tlist {
	struct conn *head, *tail;
	uint64_t ms; /* every entry's lifetime */
};

struct conn {
	struct relay_loop *L;
	struct conn *prev, *next;   /* the loop's list of all connections */
	struct conn *tprev, *tnext; /* deadline list */
	struct tlist *timer;        /* which list, or NULL */
	uint64_t deadline;          /* ms, CLOCK_MONOTONIC */
	int fd, ufd;
	uint32_t ev;                /* epoll events armed on fd */
	struct ssl_st *ssl;
	uint8_t state, framing, rd;
	bool over_limit, tls_io_wants_write, half_closed, dead;
	char *http;                 /* upgrade head buffer; later the bytes after it */
	uint16_t http_len, http_off;
	struct ws_codec *ws;
	struct stream st;
	uint8_t *msg;               /* a fragmented binary message being gathered */
	uint32_t msg_len;
	uint8_t *out;               /* bytes the socket did not take yet */
	uint32_t out_len, out_off, out_cap;
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} client, endpoint;         /* real client address; our UDP socket's address */
};

struct relay_loop {
	struct relay *r;
	int epfd, lfd, stopfd, hookfd; /* hookfd: -1 until a hand-off connects it */
	struct hook_queue *hookq;      /* NULL: no hook */
	bool hook_armed;               /* EPOLLOUT on hookfd */
	pthread_t thread;
	bool running;
	struct conn *all;
	struct conn *dead;           /* ended in this batch; freed after it */
	struct tlist handshake, linger;
	uint8_t *scratch;           /* frames are encoded here first */
	size_t scratch_len;
	uint8_t *rx;                /* UDP receive buffer */
};

/* epoll tags in the low bits of data.u64 next to a conn pointer */
enum { TAG_TCP = 0, TAG_UDP = 1 };
#define EV_LISTEN ((uint64_t)2)
#define EV_STOP ((uint64_t)4)
#define EV_HOOK ((uint64_t)6)

enum { HOOK_QUEUE = 512 }; /* hand-offs waiting for jitwgd, per loop */
struct hook_queue;

uint64_t relay_now_ms(void);

/* conn.c */
void conn_accept(struct relay_loop *L, int fd, const struct sockaddr_storage *peer);
void conn_on_tcp(struct conn *c, uint32_t events);
void conn_on_udp(struct conn *c);
void conn_on_timeout(struct conn *c);
/* Ends c: closes its sockets now, frees its memory at conn_reap(). */
void conn_free(struct conn *c);
void conn_reap(struct relay_loop *L);

/* loop.c */
void loop_timer_set(struct relay_loop *L, struct conn *c, struct tlist *t);
void loop_timer_clear(struct conn *c);
int loop_arm(struct conn *c, uint32_t events);

/* hook-send.c: hand-offs to jitwgd (src/wire/hook.h) */
int hook_sender_open(struct relay_loop *L);
void hook_sender_close(struct relay_loop *L);
/* Sends, or queues (bounded), or drops and counts; never blocks. */
void hook_send(struct relay_loop *L, const struct conn *c, const uint8_t *init);
/* The hook socket turned writable (or failed: error): send what waits. */
void hook_flush(struct relay_loop *L, bool error);

#endif

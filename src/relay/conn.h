/* SPDX-License-Identifier: MIT */
#ifndef JITWG_RELAY_CONN_H
#define JITWG_RELAY_CONN_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "relay/relay.h"
#include "common/buf.h"
#include "ws/stream.h"

/*
 * Inside the relay: a loop (one per thread) and its connections. A
 * connection's state machine:
 *   TLS (handshake) -> HTTP (reading the upgrade) -> OPEN (frames) ->
 *   CLOSING (close frame queued: flush, half-close, wait for EOF) -> freed;
 *   LINGER (an HTTP error answer queued: same ending).
 *
 * Timers: deadline lists, one per duration, so each list is ordered by
 * insertion and both arming and expiry are O(1) (no scan of connections).
 * A connection sits on at most two lists at a time:
 *   life: handshake (TLS, HTTP), idle (OPEN: a third of --idle-timeout,
 *         re-armed on every wake-up that read a frame; after three silent
 *         thirds, two of them answered by no pong, the WebSocket is closed),
 *         linger (CLOSING, LINGER);
 *   aux:  partial (a record or fragmented message started and not finished:
 *         --handshake-timeout), or stall (output backed up past
 *         RELAY_OUT_PAUSE, reading paused: --handshake-timeout, then 1008).
 */

struct ssl_st;
struct ws_codec;

enum conn_state { C_TLS, C_HTTP, C_OPEN, C_CLOSING, C_LINGER };
enum conn_framing { F_UNKNOWN, F_STREAM, F_MESSAGE };
enum conn_rd { RD_NONE, RD_DATA, RD_AGAIN, RD_EOF, RD_ERR };

struct conn;
struct tlist;

struct tnode {
	struct tnode *prev, *next;
	struct tlist *list;         /* which list, or NULL */
	uint64_t deadline;          /* ms, CLOCK_MONOTONIC */
};

struct tlist {
	struct tnode *head, *tail;
	uint64_t ms;                /* every entry's lifetime */
	void (*fire)(struct conn *c);
	bool aux;                   /* entries are conn.aux (else conn.life) */
};

struct conn {
	struct relay_loop *L;
	struct conn *prev, *next;   /* the loop's list of all connections */
	struct conn *mprev, *mnext; /* the loop's "more to read" list */
	struct tnode life, aux;
	int fd, ufd;
	uint32_t ev;                /* epoll events armed on fd */
	struct ssl_st *ssl;
	uint8_t state, framing, rd, idle_ticks;
	bool over_limit, tls_io_wants_write, half_closed, dead, in_more, source_held;
	bool pong_due;              /* a ping waits for its (coalesced) pong */
	uint8_t pong_len;
	uint8_t pong[125];          /* the latest ping's payload */
	char *http;                 /* upgrade head buffer; later the bytes after it */
	uint16_t http_len, http_off;
	struct ws_codec *ws;
	struct stream st;
	struct buf msg;             /* a fragmented binary message being gathered */
	struct buf out;             /* bytes the socket did not take yet */
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} client, endpoint, source; /* real client; our UDP socket; what --max-per-source counts */
};

struct relay_loop {
	struct relay *r;
	int epfd, lfd, stopfd, hookfd; /* hookfd: -1 until a hand-off connects it */
	struct hook_queue *hookq;      /* NULL: no hook */
	bool hook_armed;               /* EPOLLOUT on hookfd */
	bool accept_paused;            /* out of descriptors: listener disarmed */
	uint64_t accept_resume;        /* ms: when to try accepting again */
	unsigned accept_backoff;       /* ms, doubles while accept keeps failing */
	uint64_t accept_logged;        /* ms: last EMFILE log line */
	pthread_t thread;
	bool running;
	struct conn *all;
	struct conn *dead;           /* ended in this batch; freed after it */
	struct conn *more;           /* bytes may wait in wslay or OpenSSL: serve again */
	struct conn *round;          /* the part of it being served now */
	struct tlist handshake, idle, linger, partial, stall;
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

/* conn.c: the state machine */
void conn_accept(struct relay_loop *L, int fd, struct sockaddr_storage *peer);
void conn_on_tcp(struct conn *c, uint32_t events);
/* Serves c again from the "more to read" list. */
void conn_on_more(struct conn *c);
void conn_on_handshake_timeout(struct conn *c);
void conn_on_idle(struct conn *c);
void conn_on_linger_timeout(struct conn *c);
void conn_on_partial_timeout(struct conn *c);
void conn_on_stall(struct conn *c);
/* Ends c: closes its sockets now, frees its memory at conn_reap(). */
void conn_free(struct conn *c);
void conn_reap(struct relay_loop *L);
/* Queues our last words (a close frame or HTTP error) and ends after them. */
void conn_start_closing(struct conn *c, uint8_t state);
/* Sends a close frame with code and waits for the client's close or EOF. */
void conn_ws_fail(struct conn *c, uint16_t code);

/* io.c: bytes to and from the client (plain or TLS), the output buffer */
ssize_t conn_read(struct conn *c, uint8_t *buf, size_t len);
/* Sets the epoll events c needs now (reading paused while output is backed up). */
void conn_arm(struct conn *c);
/* Sends pending output. Returns 0, or -EPIPE when the connection broke. */
int conn_flush(struct conn *c);
/*
 * Hands len bytes to the socket; what it does not take is queued, up to
 * limit bytes queued in all (RELAY_OUT_DATA_MAX for datagrams,
 * RELAY_MAX_OUTBUF for control frames and HTTP answers). Returns 0,
 * -ENOBUFS (over the limit: nothing sent), -ENOMEM or -EPIPE.
 */
int conn_emit(struct conn *c, const uint8_t *p, size_t len, size_t limit);
/* Encodes one frame (payload a then b) and emits it. Same returns. */
int conn_send_frame(struct conn *c, uint8_t op, const void *a, size_t alen, const void *b,
		    size_t blen, size_t limit);
/* True while output is backed up past RELAY_OUT_PAUSE (reading paused). */
bool conn_output_full(const struct conn *c);

/* frames.c: the OPEN state */
/* Reads frames within the wake-up budget. */
void conn_frames(struct conn *c);
void conn_on_udp(struct conn *c);
/* The codec's byte source: the bytes after the upgrade head, then the socket. */
ssize_t conn_codec_rd(void *arg, uint8_t *buf, size_t len);
ssize_t conn_codec_wr(void *arg, const uint8_t *buf, size_t len);
/* True while a record or fragmented message is unfinished. */
bool conn_partial(const struct conn *c);

/* loop.c */
void loop_timer_set(struct conn *c, struct tlist *t);
void loop_timer_clear(struct conn *c, bool aux);
int loop_arm(struct conn *c, uint32_t events);
/* Puts c on the "more to read" list (served after this batch); idempotent. */
void loop_more_add(struct conn *c);
void loop_more_del(struct conn *c);

/* hook-send.c: hand-offs to jitwgd (src/wire/hook.h) */
int hook_sender_open(struct relay_loop *L);
void hook_sender_close(struct relay_loop *L);
/* Sends, or queues (bounded), or drops and counts; never blocks. */
void hook_send(struct relay_loop *L, const struct conn *c, const uint8_t *init);
/* The hook socket turned writable (or failed: error): send what waits. */
void hook_flush(struct relay_loop *L, bool error);

#endif

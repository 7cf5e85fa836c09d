/* SPDX-License-Identifier: MIT */
#ifndef JITWG_LOADGEN_INTERNAL_H
#define JITWG_LOADGEN_INTERNAL_H

/* Shared by the files of src/loadgen only. */

#include <pthread.h>
#include <stdio.h>
#include "loadgen/loadgen.h"
#include "wire/udpip.h"

enum client_state {
	ST_PENDING = 0, /* not started yet */
	ST_HANDSHAKE,   /* initiating (or, responder role, waiting for the gateway) */
	ST_WAIT_DATA,   /* responded; waiting for the initiator's first data message */
	ST_PING,        /* connected; waiting for the echo reply */
	ST_CONNECTED,   /* holding the session */
	ST_SILENT,      /* gone quiet; returns at the deadline */
	ST_DONE,
	ST_FAILED,
};

/* One simulated client: about 500 bytes plus its socket. */
struct client {
	int fd;
	uint32_t id;
	uint8_t state;
	bool counted;           /* this attempt's outcome is recorded */
	bool returned;          /* came back once already (--return) */
	uint16_t retries;
	uint32_t tunnel_v4;     /* network order, 0 = none */
	int64_t first_ns;       /* first initiation of this attempt */
	int64_t deadline_ns;    /* the client's one timer; 0 = none */
	int64_t hold_until_ns;
	int64_t keepalive_ns;   /* next keepalive */
	uint8_t last_ts[WG_TAI64N_LEN]; /* newest gateway initiation's timestamp */
	struct noise_local local;
	struct noise_handshake hs;
	struct noise_keypair kp;
	struct noise_cookie cookie;
};

struct timer_entry {
	int64_t at;
	uint32_t client;
};

/* One loop thread: its clients, epoll, timer heap and counters. */
struct lg_thread {
	struct lg_run *run;
	unsigned index;
	pthread_t tid;
	int epfd;
	struct client *clients;   /* this thread's, in start order */
	size_t nclients, next_start;
	int64_t start_ns;
	double rate;              /* this thread's share of starts per second */
	struct timer_entry *heap;
	size_t nheap, capheap;
	uint64_t rng;
	size_t active;            /* clients not yet done or failed */
	int *shared_fds;          /* shared mode: this thread's port slots */
	size_t nshared;
	struct loadgen_stats st;  /* merged by the run at the end */
	int err;
};

struct lg_run {
	const struct loadgen_config *cfg;
	struct noise_remote remote;
	struct lg_thread *threads;
	volatile int *stop;
	FILE *trace;
	pthread_mutex_t trace_lock;
	int64_t t0;
	unsigned nthreads;
	bool shared;              /* clients share port slots (sockets.c) */
	uint64_t naddr;           /* shared: addresses per port slot */
};

/* epoll tags: a client index, or a shared port slot with this bit. */
#define LG_TAG_SHARED 0x80000000U

int64_t lg_now_ns(void);
uint64_t lg_rand(uint64_t *state);

/* client.c: the per-client protocol; the loop calls these. */
void client_start(struct lg_thread *t, struct client *c, int64_t now);
void client_timer(struct lg_thread *t, struct client *c, int64_t now);
void client_packet(struct lg_thread *t, struct client *c, const uint8_t *pkt, size_t len, int64_t now);
/* sockets.c: sending, receiving, and the sockets of both modes. */
uint64_t lg_prefix_hosts(const struct cidr *p);
int lg_client_socket(const struct loadgen_config *cfg, size_t i, int *fd_out);
int lg_shared_socket(const struct loadgen_config *cfg, size_t slot, int *fd_out);
void lg_send(struct lg_thread *t, struct client *c, const uint8_t *p, size_t len);
void lg_drain(struct lg_thread *t, uint32_t tag, int64_t now);
/* loop.c: (re)arm the client's one timer. */
void lg_timer_set(struct lg_thread *t, struct client *c, int64_t at);
void lg_trace(struct lg_run *run, const char *what, const uint8_t *p, size_t len);

/* flood.c: runs the configured flood to its end (own thread). */
void *lg_flood_main(void *arg);
struct lg_flood {
	struct lg_run *run;
	uint64_t sent, errors;
	int err;
};

#endif

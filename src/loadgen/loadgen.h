/* SPDX-License-Identifier: MIT */
#ifndef JITWG_LOADGEN_LOADGEN_H
#define JITWG_LOADGEN_LOADGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "noise/session.h"
#include "wire/cidr.h"

/*
 * jitwg loadgen: N simulated WireGuard clients from one process, each with
 * its own static key and UDP socket, speaking the real protocol to one
 * gateway (session.h). One epoll loop per thread; clients are split between
 * the threads; each thread's timers sit in a min-heap. Optional flood
 * senders run in threads of their own. The library part never prints; the
 * CLI (src/cli/loadgen.c) prints the report.
 */

enum loadgen_role {
	LOADGEN_ROLE_BOTH = 0,  /* a real client: initiates, and answers the gateway's initiation */
	LOADGEN_ROLE_INITIATOR, /* initiates only; ignores initiations */
	LOADGEN_ROLE_RESPONDER, /* never initiates: waits for the gateway (pre-installed peers) */
};

enum loadgen_flood {
	LOADGEN_FLOOD_NONE = 0,
	LOADGEN_FLOOD_JUNK,    /* 148 bytes, type 1, random rest: mac1 fails */
	LOADGEN_FLOOD_KEYS,    /* valid initiations, random static keys, one source */
	LOADGEN_FLOOD_SPOOFED, /* the same from random sources in a prefix (raw socket) */
	LOADGEN_FLOOD_REPLAY,  /* one initiation again and again, from random sources in a prefix */
};

struct loadgen_config {
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;
	uint8_t server_public[WG_KEY_LEN];
	uint8_t psk[WG_KEY_LEN];
	bool has_psk;
	/* clients: keys (NULL: fresh random ones) and tunnel addresses */
	uint8_t (*keys)[WG_KEY_LEN];
	size_t nkeys;
	struct cidr *tunnel_addrs; /* per key, or NULL */
	struct cidr tunnel_prefix; /* else client i gets prefix base + 2 + i; family 0 = none */
	size_t clients;
	double rate;               /* client starts per second, 0 = all at once */
	double start_after_s;      /* first client starts this long after the run (and flood) */
	unsigned threads;
	enum loadgen_role role;
	/* source: address prefix (clients spread over it; needs the addresses
	 * local, e.g. `ip route add local PREFIX dev lo`) and/or a base port */
	struct cidr source_prefix; /* family 0 = the kernel picks */
	unsigned base_port;        /* 0 = ephemeral ports */
	bool shared_ports;         /* clients share port slots, one address each (sockets.c) */
	/* workload */
	double hold_s;             /* stay connected this long (0: leave once confirmed) */
	double keepalive_s;        /* keepalive every this while connected (0: none) */
	bool periodic_data;        /* the periodic message is an ICMP echo (data), not a keepalive */
	double return_s;           /* after the hold, silence this long, then connect again (0: never) */
	double attempt_s;          /* give up after (REKEY_ATTEMPT_TIME 90 s) */
	double rekey_timeout_s;    /* retransmit after this + jitter (REKEY_TIMEOUT 5 s) */
	struct in_addr ping;       /* send one ICMP echo here once connected (0: none) */
	double ping_timeout_s;
	double progress_s;         /* progress callback period (0: none) */
	/* flood (bench/flood) */
	enum loadgen_flood flood;
	double flood_rate;         /* packets/s, 0 = as fast as it goes */
	double flood_s;            /* how long */
	struct cidr flood_prefix;  /* spoofed sources */
	size_t flood_keys;         /* random-key pool size */
	uint8_t flood_packet[WG_MSG_INITIATION_LEN]; /* replay mode: the captured initiation */
	bool has_flood_packet;
	void (*flood_started)(void); /* called from the flood thread once it sends (may be NULL) */
	/* KAT capture: write every datagram (and each handshake's ephemeral
	 * private key: for tests only) as hex lines to this file */
	const char *trace_path;
	const uint8_t *fixed_ephemeral; /* tests: every handshake uses this ephemeral */
};

/* What a run counted; connect_us has one entry per successful connect. */
struct loadgen_stats {
	uint64_t started, ok, failed, timeouts, retries;
	uint64_t cookies, mac2_sent, responded, initiations_in;
	uint64_t pings_ok, pings_failed, keepalives, returns;
	uint64_t data_sent, data_replies; /* periodic echoes while connected (--data) */
	uint64_t bad_packets, send_errors;
	uint64_t flood_sent, flood_errors;
	uint32_t *connect_us;
	size_t nconnect, connect_cap;
	double elapsed_s, cpu_s;   /* wall time of the run; process CPU of the run (after set-up) */
	double setup_s;            /* keys and sockets, before the first client starts */
	long max_rss_kib;
};

/* Progress snapshot for long runs (counters read without locks: approximate). */
struct loadgen_progress {
	double t;
	uint64_t started, ok, failed, retries, inflight, connected, flood_sent;
};

typedef void (*loadgen_progress_fn)(const struct loadgen_progress *p, void *arg);

/*
 * Runs to completion: every client connected and done (or failed), and the
 * flood over. Returns 0 with *stats filled (free with loadgen_stats_free),
 * or -errno when the run could not start (sockets, memory, bad config);
 * *err then names the reason. Ends early, with the counts so far, when
 * *stop becomes true (a signal handler sets it).
 */
int loadgen_run(const struct loadgen_config *cfg, struct loadgen_stats *stats, loadgen_progress_fn fn,
		void *arg, volatile int *stop, const char **err);
void loadgen_stats_free(struct loadgen_stats *s);

/* Percentile p (0..100) of the sorted connect times, in ms; 0 when none. */
double loadgen_percentile_ms(const struct loadgen_stats *s, double p);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INGEST_INGEST_H
#define JITWG_GATEWAY_INGEST_INGEST_H

/*
 * The ingest seam: where handshake initiations enter jitwgd. Every source
 * hands its initiations to admission through ingest_submit(); nothing
 * after that point knows which source a packet came from, except for
 * metrics and logs.
 *
 * Sources:
 *   INGEST_CAPTURE  the AF_PACKET capture (ingest/capture.c): a copy of the
 *                   UDP datagram the data plane also receives;
 *   INGEST_RELAY    the WebSocket relay (jitwg-relay): the client's initiation,
 *                   carried over TCP and forwarded to the data plane from a
 *                   loopback UDP socket.
 *
 * A new source:
 *   1. add an enum ingest_source value (and its label in
 *      ingest_source_name());
 *   2. fill one struct ingest_initiation per initiation: the exact 148
 *      bytes, the endpoint the data plane must answer, the address whose
 *      admission bucket pays, the source and the arrival time;
 *   3. call ingest_submit() from its own thread(s); batches are cheaper
 *      (one lock per call).
 *
 * Threads: ingest_submit() is thread-safe, takes one mutex and never
 * blocks otherwise; several sources may call it concurrently. It runs the
 * admission gate (admit/gate.h: the seen-ephemeral filter and the
 * per-source buckets) on the caller's thread and queues what passes for
 * identification, with no thread hand-off before that queue.
 *
 * When identify is full: ingest_submit() queues what fits, drops the rest
 * (newest first; counted in jitwg_identify_queue_dropped_total) and returns
 * how many it queued. It never waits: a source reading a socket must keep
 * reading, and a dropped initiation is retried by its client 5 s later.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "wire/messages.h"

enum ingest_source {
	INGEST_CAPTURE = 0,
	INGEST_RELAY,
	INGEST_SOURCE_MAX,
};

union ingest_addr {
	struct sockaddr sa;              /* sa_family AF_INET or AF_INET6 */
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct ingest_initiation {
	uint8_t bytes[WG_MSG_INITIATION_LEN]; /* the whole message, type 1 */
	/*
	 * The peer's endpoint to install: where the data plane sends its answer
	 * and its own initiation. Capture: the datagram's source. Relay: the
	 * relay's loopback UDP socket for this client.
	 */
	union ingest_addr endpoint;
	/*
	 * The address admission charges: one bucket per /32 (IPv4) or /64 (IPv6).
	 * Capture: the datagram's source, as the endpoint. Relay: the client's
	 * TCP address, never the loopback socket (else all relay clients would
	 * share one bucket).
	 */
	union ingest_addr admit_by;
	/*
	 * Where the initiation was sent: the data plane's local address and
	 * port, to re-inject it there after the install. Capture: the
	 * datagram's destination. Relay: unset (family 0); the install stage
	 * then uses the loopback address of the endpoint's family.
	 */
	union ingest_addr local;
	enum ingest_source source;
	struct timespec ts;                   /* CLOCK_MONOTONIC at arrival */
};

struct admit_gate;

/*
 * Admits n initiations and queues what passes for identification; see
 * "When identify is full" above. Returns how many were queued (0 while the
 * daemon is stopping).
 */
size_t ingest_submit(struct admit_gate *admit, const struct ingest_initiation *in, size_t n);

/* "capture", "relay": the label value for logs and metrics. */
const char *ingest_source_name(enum ingest_source s);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INGEST_CAPTURE_H
#define JITWG_GATEWAY_INGEST_CAPTURE_H

/*
 * The AF_PACKET ingest source: one thread reads the capture socket in
 * batches and submits the initiations it reads to admission (ingest.h) as
 * INGEST_CAPTURE initiations, endpoint and admission address both the
 * datagram's source. The sources of sessions' first messages (capture.h)
 * go to cfg.sessions instead.
 *
 * With cfg.cookies set, the source also opens the capture's egress tap
 * during a burst (EGRESS_* in capture.c: it clones every packet the host
 * sends while open) and hands the cookie replies it sees to cfg.cookies.
 *
 * A read error other than EAGAIN/EINTR, or no memory for its buffers, ends
 * the thread and calls cfg.fatal: a daemon that can no longer hear
 * initiations must not stay READY (main exits non-zero so systemd restarts
 * it).
 */

#include <stdbool.h>
#include <stdint.h>
#include "capture/capture.h"
#include "gateway/ingest/ingest.h"
#include "gateway/core/metrics.h"

/* How the source reads; the defaults are capture.h's. Replaceable for tests. */
struct ingest_capture_io {
	int (*fd)(void *src);
	int (*read)(void *src, struct capture_pkt *pkts, size_t max, uint64_t *malformed);
	uint64_t (*kernel_drops)(void *src);
	int (*egress)(void *src, bool on);  /* NULL: no egress tap */
};

struct ingest_capture_config {
	void *src;                          /* a struct capture * unless io is set; not owned */
	const struct ingest_capture_io *io; /* NULL = capture.h */
	struct admit_gate *admit;           /* not owned */
	struct metrics *metrics;            /* not owned */
	/*
	 * Optional: sessions began from from[0..n), all read by *at; on the
	 * source's thread, so it must not block.
	 */
	void (*sessions)(void *ctx, const union ingest_addr *from, const struct timespec *at, size_t n);
	void *sessions_ctx;
	/*
	 * Optional: the data plane sent cookie replies msg[0..n) (64 bytes each)
	 * to to[0..n); on the source's thread, so it must not block.
	 */
	void (*cookies)(void *ctx, const union ingest_addr *to, const uint8_t (*msg)[CAPTURE_COOKIE_LEN], size_t n);
	void *cookies_ctx;
	/* Called once, on the source's thread, when it stops on its own (err is -errno). */
	void (*fatal)(void *ctx, int err, const char *what);
	void *fatal_ctx;
};

struct ingest_capture;

/* Starts the thread. Returns NULL with errno set. */
struct ingest_capture *ingest_capture_start(const struct ingest_capture_config *cfg);
/* Stops reading and joins the thread; NULL is a no-op. */
void ingest_capture_stop(struct ingest_capture *c);

#endif

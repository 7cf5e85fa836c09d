/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_INSTALL_H
#define JITWG_GATEWAY_INSTALL_INSTALL_H

/*
 * The install stage: the one thread that owns the struct dataplane. Its
 * queue carries installs (from the lookup stage) and notices (notice.h:
 * NOTICE_GONE, NOTICE_REPLAY_SEEN); its timer runs the eviction sweep,
 * removals in small batches between queued work, the endpoint guard's
 * re-checks, revalidation notices to the lookup, and the status document
 * (status.h). After a new peer's install the data plane is made to send
 * its own initiation to the client (the initiator role); with reinject the
 * client's own initiation is handed back to the data plane instead
 * (install/reinject.h), which answers it.
 *
 * Queue: 8192 items, full -> drop newest (jitwg_install_queue_dropped_total;
 * an install dropped also counts in jitwg_install_errors_total). Replay
 * notices may only use the upper half, one queued per key, so a flood of
 * replays cannot crowd out installs.
 *
 * Threads: everything here is thread-safe except new/stop/free (one thread).
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "dataplane/dataplane.h"
#include "gateway/lookup/lookup.h"
#include "gateway/core/metrics.h"
#include "gateway/install/nftset.h"
#include "gateway/install/reinject.h"
#include "gateway/core/notice.h"
#include "gateway/install/status.h"

struct installer_config {
	const char *ifname;          /* for logs; copied */
	unsigned int idle_timeout;   /* seconds */
	unsigned int grace;          /* seconds */
	unsigned int revalidate;     /* seconds between registry re-checks of a peer */
	bool no_initiate;            /* install as responder only: the client's retry connects */
	bool reinject;               /* re-inject the client's initiation instead of initiating */
	unsigned int initiate_delay_ms; /* see install_settle() */
	unsigned int reinject_rate;  /* copies per second at most (reinject.h); 0 = REINJECT_RATE_DEFAULT */
	unsigned int confirm_ms;     /* install confirmation wait (install/confirm.h); 0 = off */
	const struct reinject_io *reinject_io; /* NULL: raw sockets (install/reinject.h); copied. Tests */
	uint16_t listen_port;        /* the data plane's; where relay initiations are re-injected */
	struct metrics *metrics;     /* not owned */
	struct status_board *status; /* where the status document goes; not owned, may be NULL */
	size_t queue_cap;            /* (8192) */
	struct nftset *admit;        /* --admit-set's mirror (nftset.h), or NULL; not owned, used
	                              * only on the stage's thread, from the first sweep on */
	const uint8_t *public_key;   /* the interface's (WG_KEY_LEN), to open its cookie replies; NULL: none */
};

struct installer;

/*
 * Adopts the peers already in the data plane (first sweep) and starts the
 * thread. Takes ownership of dp on success (freed by installer_free()).
 * Returns NULL with errno set on failure; dp is then still the caller's.
 */
struct installer *installer_new(struct dataplane *dp, const struct installer_config *cfg);

/* Finishes what is queued and joins the thread; later submissions are refused. Idempotent. */
void installer_stop(struct installer *ins);

/* Stops if needed, frees the data plane handle (installed peers stay installed). NULL is a no-op. */
void installer_free(struct installer *ins);

/*
 * Where NOTICE_REVALIDATE goes (the lookup stage's inbox). Set once, before
 * the first revalidation is due (installer_new() schedules it no sooner
 * than 1 s); the inbox must stay valid until installer_stop().
 */
void installer_set_revalidate(struct installer *ins, const struct notice_inbox *to);

/* Applies new timeouts and the initiate switch; the next sweep uses them. */
void installer_reconfigure(struct installer *ins, const struct installer_config *cfg);

/*
 * Queues one install; rec and ev are copied. Returns 0, -EAGAIN when the
 * queue is full, -ESHUTDOWN while stopping, or -ENOMEM.
 */
int installer_submit(struct installer *ins, const struct lookup_event *ev, const struct peer_record *rec);

/*
 * Queues a record from the registry's change feed for a key that may be
 * installed: an installed peer gets what changed (allowed IPs, keepalive,
 * expiry; never a new endpoint), a key not installed is ignored. Same
 * returns as installer_submit(); the feed follower retries on -EAGAIN.
 */
int installer_update(struct installer *ins, const struct peer_record *rec);

/*
 * The install stage's notice inbox (notice_inbox.send): queues NOTICE_GONE
 * and NOTICE_REPLAY_SEEN. Returns how many were queued (a replay notice for
 * a key that has one queued already counts as queued).
 */
size_t installer_notify(void *ins, const struct notice *n, size_t count);

/*
 * The capture saw sessions begin (capture.h: a session's first message)
 * from from[0..n), read at *at (CLOCK_MONOTONIC): a copy re-injected with
 * one of these as its source was answered, and its follow-up needs no
 * listing of the data plane (reinject-run.c). Queues nothing while no copy
 * waits for an answer, and never into the lower half of the queue, which
 * stays the installs'. Any thread; returns how many were queued.
 */
size_t installer_sessions_seen(struct installer *ins, const union dp_endpoint *from,
			       const struct timespec *at, size_t n);

/*
 * The data plane sent cookie replies msg[0..n) to to[0..n) (the capture's
 * egress tap): a copy it refused under load is sent again with the
 * cookie's mac2 (reinject-cookie.c). Queued like sessions, on the same
 * terms; any thread; returns how many were queued.
 */
size_t installer_cookies_seen(struct installer *ins, const union dp_endpoint *to,
			      const uint8_t (*msg)[WG_MSG_COOKIE_LEN], size_t n);

/* Callbacks with the lookup's signatures; ctx is the struct installer. */
void install_lookup_cb(void *ctx, const struct lookup_event *ev, const struct peer_record *rec);
void install_gone_cb(void *ctx, const uint8_t key[WG_KEY_LEN]);
void install_replayed_cb(void *ctx, const struct lookup_event *ev);

#endif

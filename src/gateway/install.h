/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_H
#define JITWG_GATEWAY_INSTALL_H

/*
 * The installer: the one thread that owns the struct dataplane. It installs
 * peers the lookup stage hands it (in the initiator role, so the data plane
 * sends its own initiation to the client at once), removes peers the
 * registry reports gone, runs the eviction sweep and answers status
 * requests. Installs always go first; removals of a large sweep are done in
 * small batches between them.
 *
 * Threads: installer_submit(), installer_forget(), installer_status(),
 * installer_set_lookup() and installer_reconfigure() are thread-safe and
 * never wait on the data plane (installer_status() waits for its answer,
 * bounded by a timeout).
 */

#include <stdbool.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
#include "gateway/lookup.h"
#include "gateway/metrics.h"

struct installer_config {
	const char *ifname;          /* for logs and status; copied */
	unsigned int idle_timeout;   /* seconds */
	unsigned int grace;          /* seconds */
	unsigned int revalidate;     /* seconds between registry re-checks of a peer */
	bool no_initiate;            /* install as responder only */
	unsigned int initiate_delay_ms; /* see do_installs() */
	struct metrics *metrics;     /* not owned */
};

struct installer;

/*
 * Adopts the peers already in the data plane and starts the thread. Takes
 * ownership of dp on success (freed by installer_free()). Returns NULL with
 * errno set on failure; dp is then still the caller's.
 */
struct installer *installer_new(struct dataplane *dp, const struct installer_config *cfg);

/*
 * Finishes the installs already queued, stops the thread and frees the data
 * plane handle (installed peers stay installed). NULL is a no-op.
 */
void installer_free(struct installer *ins);

/* The lookup to ask for revalidation of installed peers; NULL detaches (before lookup_free). */
void installer_set_lookup(struct installer *ins, struct lookup *l);

/* Applies new timeouts and the initiate switch; the next sweep uses them. */
void installer_reconfigure(struct installer *ins, const struct installer_config *cfg);

/*
 * Queues one install; rec and ev are copied. Returns 0, -EAGAIN when the
 * queue is full, -ESHUTDOWN while stopping, or -ENOMEM.
 * Matches lookup_install_fn when wrapped (see install_lookup_cb).
 */
int installer_submit(struct installer *ins, const struct lookup_event *ev, const struct peer_record *rec);

/* Queues removal of key (registry says deleted or expired). Returns 0 or -errno. */
int installer_forget(struct installer *ins, const uint8_t key[WG_KEY_LEN]);

/*
 * Reports an authenticated initiation for key from src that the replay
 * guard rejected. WireGuard data planes only know the timestamps of
 * initiations they consumed themselves, and in the initiator role they
 * consumed none of the client's: a replay moves their endpoint. If src is
 * not the endpoint of the last initiation that passed the guard, the
 * installer puts that endpoint back. Returns 0 or -errno; never blocks.
 */
int installer_replay_seen(struct installer *ins, const uint8_t key[WG_KEY_LEN], const struct sockaddr *src);

/* Callbacks with the lookup's signatures; ctx is the struct installer. */
void install_lookup_cb(void *ctx, const struct lookup_event *ev, const struct peer_record *rec);
void install_gone_cb(void *ctx, const uint8_t key[WG_KEY_LEN]);

/*
 * Asks the installer thread for a JSON document of the daemon's view
 * (device, peers with endpoint, handshake, transfer, install time, counters).
 * Returns 0 with a malloc'd string in *json, -ETIMEDOUT, or -errno.
 */
int installer_status(struct installer *ins, char **json, unsigned int timeout_ms);

#endif

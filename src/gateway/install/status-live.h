/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_STATUS_LIVE_H
#define JITWG_GATEWAY_INSTALL_STATUS_LIVE_H

#include <stdint.h>
#include "dataplane/dataplane.h"

/*
 * Live figures for the status document: each peer's latest handshake and
 * transfer as the data plane has them now, not as the last sweep saw them
 * (sweeps run every idle-timeout/4, 150 s by default). A second data-plane
 * handle of its own, never the install stage's, so a reader never waits on
 * or disturbs the install path. At most one dump per STATUS_LIVE_EVERY_MS:
 * readers in between reuse the last one (the board's reader bucket caps
 * the rate of requests on top).
 *
 * Threads: any thread; the dump and the patching hold the object's mutex.
 */
enum { STATUS_LIVE_EVERY_MS = 1000 };

struct status_live;

/* Takes ownership of dp (a handle on the served interface). NULL + errno on failure (dp freed). */
struct status_live *status_live_new(struct dataplane *dp);
/* NULL is a no-op. */
void status_live_free(struct status_live *l);

/*
 * peers_json is the published JSON array of peer objects (status.c). Returns
 * a malloc'd copy with latest_handshake, rx_bytes and tx_bytes of every peer
 * the data plane lists replaced by its figures, and *dumped_at set to the
 * dump's unix time; NULL when the dump or the parse failed (the caller then
 * serves the sweep's figures).
 */
char *status_live_patch(struct status_live *l, const char *peers_json, int64_t *dumped_at);

#endif

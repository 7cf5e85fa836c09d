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
 * Threads: any thread; between status_live_begin() and status_live_end()
 * the caller holds the object's mutex.
 */
enum { STATUS_LIVE_EVERY_MS = 1000 };

struct status_live;

/* Takes ownership of dp (a handle on the served interface). NULL + errno on failure (dp freed). */
struct status_live *status_live_new(struct dataplane *dp);
/* NULL is a no-op. */
void status_live_free(struct status_live *l);

/*
 * Takes the mutex and dumps the data plane unless the last dump is recent.
 * Returns the dump's unix time, or 0 when there is none (the dump failed:
 * the caller serves the sweep's figures). Always pair with status_live_end().
 */
int64_t status_live_begin(struct status_live *l);
/* Between begin and end: the dump's entry for key, or NULL. */
const struct dp_peer *status_live_find(const struct status_live *l, const uint8_t key[WG_KEY_LEN]);
void status_live_end(struct status_live *l);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_STATUS_H
#define JITWG_GATEWAY_INSTALL_STATUS_H

/*
 * The status document (`jitwg status`, GET /status), served off the
 * install path: the install stage rebuilds the peer list from its peer
 * table (which the sweeps refresh from the data plane's listing) at most
 * every 100 ms after a change and publishes it here; readers get the last
 * published list plus the interface facts read at start-up and the counters
 * of the moment. A reader never waits on the install stage or queues work
 * for it, and no private key is involved; with a live handle
 * (status_board_set_live) the latest handshake and transfer figures come
 * from a dump of the data plane's own, at most one a second (status-live.h),
 * "figures_at" giving its time (null: the sweep's figures). Readers are rate-limited
 * (a token bucket shared by both windows): past it they get -EAGAIN and
 * jitwg_status_limited_total counts them.
 *
 * Threads: all functions are thread-safe.
 */

#include <stdbool.h>
#include <stdint.h>
#include "gateway/core/metrics.h"
#include "wire/keys.h"

struct status_info {
	char ifname[16];
	const char *backend;         /* static string */
	uint8_t public_key[WG_KEY_LEN];
	uint16_t listen_port;
};

struct status_board;

/* rate per second and burst of the readers' bucket (0: 10 and 20). NULL with errno on failure. */
struct status_board *status_board_new(struct metrics *m, unsigned int rate, unsigned int burst);
/* NULL is a no-op. */
void status_board_free(struct status_board *b);

/* Start-up: the interface's facts; until then the board answers -ENODATA. */
void status_board_set_info(struct status_board *b, const struct status_info *info);
/*
 * Start-up: a data-plane handle of the board's own (it takes ownership;
 * NULL keeps the sweep's figures) for live handshake and transfer figures.
 */
struct dataplane;
void status_board_set_live(struct status_board *b, struct dataplane *dp);
/* The install stage's settings, shown in the document. */
void status_board_set_config(struct status_board *b, unsigned int idle_timeout, bool initiate);
/* The install stage: a new JSON array of peers (takes ownership of peers_json). */
void status_board_publish(struct status_board *b, char *peers_json);

/*
 * The whole document as a malloc'd JSON string in *json. Returns 0,
 * -EAGAIN when rate-limited, -ENODATA before the first publish, or -ENOMEM.
 */
int status_board_get(struct status_board *b, char **json);

#endif

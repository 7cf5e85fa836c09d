/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_INSTALL_STATUS_H
#define JITWG_GATEWAY_INSTALL_STATUS_H

/*
 * The status document (`jitwg status`, GET /status), served off the
 * install path: the install stage copies its peer table (which the sweeps
 * refresh from the data plane's listing) at most every 100 ms after a
 * change and publishes the copy here; readers render the last published
 * copy as JSON, with the interface facts read at start-up and the counters
 * of the moment. The install stage only copies: rendering 1,000 peers
 * with json-c took it 4-18 ms, a stall in front of every install queued
 * behind it (the p99 of a 500/s burst), and it is work only a reader needs.
 * A reader never waits on the install stage or queues work
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
#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
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
/* One peer as the install stage's table had it when copied. */
struct status_peer {
	uint8_t key[WG_KEY_LEN];
	union dp_endpoint endpoint;
	int64_t installed_at, last_handshake;
	uint64_t rx_bytes, tx_bytes;
	const struct dp_allowedip *allowed_ips; /* in the same copy */
	size_t n_allowed_ips;
	uint16_t keepalive;
	bool adopted;
};

/* A published copy: immutable, freed by its last holder (status.c). */
struct status_peers;

/*
 * The install stage: room for n peers and n_ips allowed IPs in all, filled
 * through the pointers returned (NULL with errno on failure). Publish it,
 * or drop it with status_peers_put().
 */
struct status_peers *status_peers_new(size_t n, size_t n_ips, struct status_peer **peers,
				      struct dp_allowedip **ips);
void status_peers_put(struct status_peers *s);
/* The install stage: the new copy of its peers (takes ownership of s). */
void status_board_publish(struct status_board *b, struct status_peers *s);

/*
 * The whole document as a malloc'd JSON string in *json. Returns 0,
 * -EAGAIN when rate-limited, -ENODATA before the first publish, or -ENOMEM.
 */
int status_board_get(struct status_board *b, char **json);

#endif

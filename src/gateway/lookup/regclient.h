/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_REGCLIENT_H
#define JITWG_GATEWAY_LOOKUP_REGCLIENT_H

/*
 * The registry client: GET /v1/peers/{base64url key}[?gateway=NAME] over
 * libcurl's multi interface, so many requests run at once on one thread and
 * a slow registry never holds up anything else. It is the only thing jitwgd
 * asks the registry (docs/API.md).
 *
 * Bounded: at most max_inflight transfers, the rest wait in a bounded FIFO.
 * Backoff: after a failure (transport error, timeout, HTTP status other than
 * 200/404) new requests are refused for an exponentially growing pause
 * (capped); when it ends, one probe request goes first and the rest keep
 * being refused until it succeeds.
 *
 * Threads: everything except regclient_wakeup() runs on one thread (the
 * lookup thread), which also receives the completions from regclient_poll().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway/core/metrics.h"
#include "wire/record.h"
#include "wire/keys.h"

enum regclient_status {
	REGCLIENT_OK = 0,       /* 200 and a valid record for the key asked */
	REGCLIENT_NOT_FOUND,    /* 404: unknown, expired or bound to another gateway */
	REGCLIENT_FAILED,       /* transport error, timeout, bad body, other status */
};

struct regclient_config {
	const char *url;            /* base URL; a trailing '/' is ignored */
	const char *token;          /* bearer token or NULL */
	const char *gateway;        /* sent as ?gateway=NAME, or NULL */
	unsigned int timeout_ms;    /* whole request (2000) */
	unsigned int max_inflight;  /* concurrent transfers (16) */
	unsigned int max_waiting;   /* queued behind them (4096) */
	unsigned int backoff_min_ms;/* first pause after a failure (250) */
	unsigned int backoff_max_ms;/* cap (30000) */
	size_t max_body;            /* response bytes accepted (65536) */
	struct metrics *metrics;    /* registry_requests[] to bump; may be NULL */
	/* Milliseconds on any monotonic scale, for backoff; NULL = CLOCK_MONOTONIC. */
	int64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
};

/*
 * Completion of one fetch. rec is valid only during the call and only for
 * REGCLIENT_OK.
 */
typedef void (*regclient_done_fn)(void *ctx, const uint8_t key[WG_KEY_LEN],
				  enum regclient_status status, const struct peer_record *rec);

struct regclient;

/*
 * Returns a client or NULL with errno set (and *errmsg a static reason when
 * errmsg is not NULL). Strings in cfg are copied; the token is wiped at free.
 */
struct regclient *regclient_new(const struct regclient_config *cfg, regclient_done_fn done,
				void *ctx, const char **errmsg);
/* Aborts transfers without calling done; NULL is a no-op. */
void regclient_free(struct regclient *rc);

/*
 * Starts (or queues) a fetch of key; done is called later from
 * regclient_poll(), never from here. Returns 0, -EAGAIN while backing off
 * after failures (no request is made: use what you have), -ENOBUFS when the
 * waiting FIFO is full, -ENOMEM.
 */
int regclient_fetch(struct regclient *rc, const uint8_t key[static WG_KEY_LEN]);

/*
 * Runs transfers for up to timeout_ms (returning early on socket activity
 * or regclient_wakeup()), calling done for each finished one. 0 or -errno.
 */
int regclient_poll(struct regclient *rc, int timeout_ms);

/* Makes a blocked regclient_poll() return. Thread-safe, async-signal-unsafe. */
void regclient_wakeup(struct regclient *rc);

/* Completes every fetch still waiting for a slot as REGCLIENT_FAILED (for shutdown). */
void regclient_cancel_waiting(struct regclient *rc);

/* Fetches started or queued and not yet completed. */
size_t regclient_pending(const struct regclient *rc);

/* True while new fetches would be refused with -EAGAIN. */
bool regclient_backing_off(struct regclient *rc);

#endif

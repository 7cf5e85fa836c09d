/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_STORE_INT_H
#define JITWG_REGISTRY_STORE_INT_H

/*
 * What store.c shares with the other files of the store (store_edit.c,
 * store_token.c): the connection pool, the write transaction and the
 * overlap check. Not for the API layer.
 */

#include <pthread.h>
#include <stdatomic.h>
#include "registry/store.h"

struct slot {
	pthread_mutex_t mu;
	struct store_conn *c;
};

struct store {
	const struct store_backend *be;
	pthread_mutex_t write_lock;
	unsigned int n;
	struct slot *slots;
	atomic_uint next;
	struct store_conn *watch; /* store_watch's own connection, opened on first use */
	const char *db;
	int64_t head;
	void (*notify)(void *arg);
	void *notify_arg;
	/* for /metrics (store_stats) */
	atomic_uint in_use;
	atomic_uint_fast64_t waits, errors;
};

bool store_expired(int64_t expires_at, int64_t now);

/* A pooled connection for one operation, and its return (ret -EIO counts as an error). */
struct slot *store_slot_acquire(struct store *s);
void store_slot_release(struct store *s, struct slot *sl, long ret);

/*
 * A write transaction: the in-process write lock, a connection, begin.
 * 0 with *sl set, or -errno with nothing held.
 */
int store_write_begin(struct store *s, struct slot **sl);
/*
 * Commits when ret is 0 (notifying feed waiters when changed), else rolls
 * back; releases what store_write_begin took. Returns ret or the commit's error.
 */
int store_write_end(struct store *s, struct slot *sl, int ret, bool changed);

/* 0 when no live peer holds an address of ip; -EADDRINUSE (holder in conflict). Expired holders go. */
int store_check_free(const struct store_backend *be, struct store_conn *c, const struct cidr *ip, int64_t now,
		     uint8_t conflict[WG_KEY_LEN]);

/*
 * One audit row (in the caller's transaction) and its registry log line.
 * target: a peer key (base64) or a token id; detail may be NULL.
 */
int store_audit_add(const struct store_backend *be, struct store_conn *c, int64_t now, const struct store_who *who,
		    const char *action, const char *target, const char *detail);

/* The base64 of a key, for audit targets. */
void store_key_text(char out[static WG_KEY_B64_LEN + 1], const uint8_t key[static WG_KEY_LEN]);

#endif

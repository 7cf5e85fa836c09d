/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_CORE_STAGE_H
#define JITWG_GATEWAY_CORE_STAGE_H

/*
 * One pipeline stage: a bounded queue of fixed-size items, the thread(s)
 * that drain it through a handler, a drop counter and drain-on-stop. Every
 * queue in jitwgd is one of these (docs/ARCHITECTURE.md lists them with
 * their drop policies); the handlers know nothing about threads.
 *
 * Drop policy: a full queue refuses what is pushed (drop newest). Work
 * already queued has been paid for (admitted, decoded, looked up); the
 * sender of a refused initiation retries 5 s later anyway. A pusher that
 * must leave room for others (revalidation next to initiations) pushes with
 * a reserve: it is refused while fewer than that many slots are free.
 *
 * Stop: stage_stop() refuses new items, lets the threads handle everything
 * queued (and, with a tick hook, whatever the tick still reports busy), then
 * joins them. Items pushed to a stopped stage are refused with -ESHUTDOWN,
 * so a stage may keep pushing to a stopped neighbour until stage_free().
 *
 * Threads: stage_push*(), stage_depth(), stage_loaded() and stage_wake()
 * are safe from any thread; stage_stop() and stage_free() from one.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stage_ops {
	/* Handles n items (contiguous, n <= batch) on a stage thread. Required. */
	void (*handle)(void *ctx, void *tls, void *items, size_t n);
	/* Optional per-thread state (e.g. an ss cache): made on the thread, freed on it. */
	void *(*thread_init)(void *ctx);
	void (*thread_fini)(void *ctx, void *tls);
	/*
	 * Optional timer work, run after every batch and every wakeup. Returns ms
	 * until it wants to run again (-1: no timer). Sets *busy while work that
	 * is not in the queue is outstanding (e.g. registry requests): a
	 * stopping stage keeps running until the queue is empty and !*busy.
	 */
	int (*tick)(void *ctx, void *tls, bool stopping, bool *busy);
	/*
	 * Optional: the stage sleeps in wait() (e.g. a libcurl multi poll) instead
	 * of on its condition variable, for up to timeout_ms (-1: until woken);
	 * wake() must make a wait() in progress or about to start return. Called
	 * with timeout 0 between batches so wait() can also drive its own I/O.
	 */
	void (*wait)(void *ctx, int timeout_ms);
	void (*wake)(void *ctx);
};

struct stage_config {
	const char *name;                /* for logs */
	size_t item_size;                /* bytes per item */
	size_t capacity;                 /* items */
	size_t batch;                    /* max items per handle() call */
	unsigned int threads;            /* >= 1 */
	const struct stage_ops *ops;
	void *ctx;                       /* passed to every hook */
	atomic_uint_fast64_t *dropped;   /* bumped per refused item (full queue); NULL = none */
};

struct stage;

/* Starts the threads. Returns NULL with errno set. */
struct stage *stage_new(const struct stage_config *cfg);

/* Stops taking items, drains, joins the threads (see above). Idempotent; NULL is a no-op. */
void stage_stop(struct stage *st);

/* Stops if needed and frees. NULL is a no-op. */
void stage_free(struct stage *st);

/*
 * Queues up to n items; what does not fit is dropped and counted in
 * cfg.dropped. Returns how many were queued (0 when stopped). Never blocks
 * beyond the queue's mutex.
 */
size_t stage_push(struct stage *st, const void *items, size_t n);

/*
 * Queues one item if more than reserve slots are free. check, when not
 * NULL, runs under the stage's lock on the queued copy (it may edit it) and
 * can refuse it; it runs only when there is room, so a check with side
 * effects (raising a replay mark) never acts for a dropped item. Returns 0, -EAGAIN (no room: counted in cfg.dropped only when
 * count_drop), -ESHUTDOWN, or check's -errno.
 */
int stage_push_if(struct stage *st, const void *item, size_t reserve, bool count_drop,
		  int (*check)(void *arg, void *slot), void *arg);

/* Items queued now (relaxed: a hint). */
size_t stage_depth(const struct stage *st);

/* True while more than half the queue is used: upstream should shed load. */
bool stage_loaded(const struct stage *st);

/* Makes the stage's threads run their tick now (e.g. after a reconfigure). */
void stage_wake(struct stage *st);

#endif

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_FEEDWAIT_H
#define JITWG_REGISTRY_FEEDWAIT_H

/*
 * The long-poll waiters of the change feed (GET /v1/peers?since=C&wait=S):
 * requests that found no change after C and are parked until a change
 * commits or S seconds pass. A waiter costs one entry here and one
 * suspended libmicrohttpd connection, never a thread.
 *
 * Waiters sit in one FIFO per wait value (1..FEEDWAIT_MAX_S), so within a
 * FIFO deadlines are in order and the due ones are found at the heads:
 * no scan of every waiter on a timer tick. A change resumes all of them
 * (each re-reads the feed and either answers or parks again).
 *
 * The generation counter closes the race between reading the feed and
 * parking: a request reads the generation before its query and parks only
 * if no wake happened since.
 */

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

enum { FEEDWAIT_MAX_S = 60 };

struct feedwait_entry {
	struct feedwait_entry *prev, *next;
	void *conn;           /* handed to resume() */
	uint64_t deadline_ms; /* monotonic */
	unsigned int wait_s;
	bool parked;
};

struct feedwait {
	pthread_mutex_t mu;
	uint64_t generation;
	bool closed;
	unsigned long parked;
	struct feedwait_entry head[FEEDWAIT_MAX_S + 1]; /* list sentinels by wait_s */
	/*
	 * Resumes a parked connection; called with mu held, so it must not call
	 * back into feedwait (MHD_resume_connection only flags and signals).
	 */
	void (*resume)(void *conn);
	/*
	 * Parks a connection; called with mu held, before any resume() of it
	 * can run (MHD_suspend_connection from the request's own handler).
	 */
	void (*suspend)(void *conn);
};

/* 0 or -errno. resume and suspend as above. */
int feedwait_init(struct feedwait *w, void (*suspend)(void *conn), void (*resume)(void *conn));
void feedwait_uninit(struct feedwait *w);

/* The wake generation, read before the feed query. Any thread. */
uint64_t feedwait_generation(struct feedwait *w);

/*
 * Parks e (conn, wait_s in 1..FEEDWAIT_MAX_S, deadline_ms) unless a wake
 * happened after generation gen or the set is closed. Returns 0 parked,
 * -EAGAIN (changed meanwhile: query again now), -ECANCELED (closed: answer
 * now). A re-parked entry keeps its earlier deadline and its place in order.
 */
int feedwait_park(struct feedwait *w, struct feedwait_entry *e, uint64_t gen);

/* A change committed: bumps the generation and resumes every waiter. */
void feedwait_wake(struct feedwait *w);

/* Resumes the waiters due at now_ms; returns the earliest remaining deadline or 0. */
uint64_t feedwait_expire(struct feedwait *w, uint64_t now_ms);

/* Refuses new waiters and resumes every parked one (shutdown). */
void feedwait_close(struct feedwait *w);

/* Waiters parked now. */
unsigned long feedwait_count(struct feedwait *w);

#endif

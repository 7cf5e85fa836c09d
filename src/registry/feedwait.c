// SPDX-License-Identifier: MIT
/*
 * The long-poll waiter set (feedwait.h): FIFOs by wait value under one
 * mutex. suspend() and resume() run under the mutex so that a connection is
 * never resumed before it is suspended.
 */
#include "registry/feedwait.h"

#include <errno.h>
#include <string.h>

int feedwait_init(struct feedwait *w, void (*suspend)(void *conn), void (*resume)(void *conn))
{
	unsigned int i;

	memset(w, 0, sizeof(*w));
	for (i = 0; i <= FEEDWAIT_MAX_S; ++i)
		w->head[i].prev = w->head[i].next = &w->head[i];
	w->suspend = suspend;
	w->resume = resume;
	return -pthread_mutex_init(&w->mu, NULL);
}

void feedwait_uninit(struct feedwait *w)
{
	pthread_mutex_destroy(&w->mu);
}

uint64_t feedwait_generation(struct feedwait *w)
{
	uint64_t g;

	pthread_mutex_lock(&w->mu);
	g = w->generation;
	pthread_mutex_unlock(&w->mu);
	return g;
}

static void unlink_entry(struct feedwait *w, struct feedwait_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->parked = false;
	w->parked--;
}

/* Walks back from the tail: a fresh entry goes last, a re-parked one where its deadline says. */
static void insert_ordered(struct feedwait_entry *head, struct feedwait_entry *e)
{
	struct feedwait_entry *at = head->prev;

	while (at != head && at->deadline_ms > e->deadline_ms)
		at = at->prev;
	e->prev = at;
	e->next = at->next;
	at->next->prev = e;
	at->next = e;
}

int feedwait_park(struct feedwait *w, struct feedwait_entry *e, uint64_t gen)
{
	int ret = 0;

	if (e->wait_s < 1 || e->wait_s > FEEDWAIT_MAX_S)
		return -EINVAL;
	pthread_mutex_lock(&w->mu);
	if (w->closed) {
		ret = -ECANCELED;
	} else if (w->generation != gen) {
		ret = -EAGAIN;
	} else {
		insert_ordered(&w->head[e->wait_s], e);
		e->parked = true;
		w->parked++;
		w->suspend(e->conn);
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}

static void resume_all(struct feedwait *w)
{
	struct feedwait_entry *e;
	unsigned int i;

	for (i = 1; i <= FEEDWAIT_MAX_S; ++i) {
		while ((e = w->head[i].next) != &w->head[i]) {
			unlink_entry(w, e);
			w->resume(e->conn);
		}
	}
}

void feedwait_wake(struct feedwait *w)
{
	pthread_mutex_lock(&w->mu);
	w->generation++;
	resume_all(w);
	pthread_mutex_unlock(&w->mu);
}

uint64_t feedwait_expire(struct feedwait *w, uint64_t now_ms)
{
	struct feedwait_entry *e;
	uint64_t next = 0;
	unsigned int i;

	pthread_mutex_lock(&w->mu);
	for (i = 1; i <= FEEDWAIT_MAX_S; ++i) {
		while ((e = w->head[i].next) != &w->head[i] && e->deadline_ms <= now_ms) {
			unlink_entry(w, e);
			w->resume(e->conn);
		}
		if (e != &w->head[i] && (!next || e->deadline_ms < next))
			next = e->deadline_ms;
	}
	pthread_mutex_unlock(&w->mu);
	return next;
}

void feedwait_close(struct feedwait *w)
{
	pthread_mutex_lock(&w->mu);
	w->closed = true;
	w->generation++;
	resume_all(w);
	pthread_mutex_unlock(&w->mu);
}

unsigned long feedwait_count(struct feedwait *w)
{
	unsigned long n;

	pthread_mutex_lock(&w->mu);
	n = w->parked;
	pthread_mutex_unlock(&w->mu);
	return n;
}

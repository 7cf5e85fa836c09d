// SPDX-License-Identifier: MIT
/*
 * The stage: a ring of fixed-size items under one mutex, threads that take
 * batches off it and call the handler without the lock. See stage.h.
 */
#include "gateway/core/stage.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/clock.h"

struct stage {
	struct stage_config cfg;
	struct stage_ops ops;
	pthread_mutex_t mu;          /* ring, stopping, sleeping, kicked */
	pthread_cond_t cv;           /* CLOCK_MONOTONIC */
	uint8_t *ring;
	size_t head, count;
	atomic_size_t depth;         /* count, readable without the lock */
	bool stopping;
	bool sleeping;               /* wait-hook mode: the thread is in (or entering) wait() */
	bool kicked;                 /* stage_wake() since the thread last looked */
	bool joined;
	pthread_t *threads;
	uint8_t *bufs;               /* one batch buffer per thread */
	unsigned int started;
};

struct stage_thread {
	struct stage *st;
	uint8_t *buf;
};

static void *slot(struct stage *st, size_t i)
{
	return st->ring + ((st->head + i) % st->cfg.capacity) * st->cfg.item_size;
}

/* Takes up to one batch into buf; with several threads, half of a big run so the others get work. */
static size_t take(struct stage *st, uint8_t *buf)
{
	size_t n = st->count < st->cfg.batch ? st->count : st->cfg.batch, i;

	if (n > 4 && st->cfg.threads > 1 && st->count < 2 * st->cfg.batch)
		n = (n + 1) / 2;
	for (i = 0; i < n; ++i) {
		memcpy(buf + i * st->cfg.item_size, slot(st, 0), st->cfg.item_size);
		explicit_bzero(slot(st, 0), st->cfg.item_size);
		st->head = (st->head + 1) % st->cfg.capacity;
		st->count--;
	}
	atomic_store_explicit(&st->depth, st->count, memory_order_relaxed);
	return n;
}

static void timed_wait(struct stage *st, int timeout_ms)
{
	struct timespec dl;

	if (timeout_ms < 0) {
		pthread_cond_wait(&st->cv, &st->mu);
		return;
	}
	dl = clock_deadline_ms(CLOCK_MONOTONIC, (uint64_t)timeout_ms);
	pthread_cond_timedwait(&st->cv, &st->mu, &dl);
}

static void *stage_main(void *arg)
{
	struct stage_thread *t = arg;
	struct stage *st = t->st;
	void *ctx = st->cfg.ctx;
	void *tls = st->ops.thread_init ? st->ops.thread_init(ctx) : NULL;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		size_t n = take(st, t->buf);
		bool stopping = st->stopping, busy = false;
		int timeout = -1;

		pthread_mutex_unlock(&st->mu);
		if (n) {
			st->ops.handle(ctx, tls, t->buf, n);
			explicit_bzero(t->buf, n * st->cfg.item_size);
		}
		if (st->ops.tick)
			timeout = st->ops.tick(ctx, tls, stopping, &busy);
		if (n && st->ops.wait)
			st->ops.wait(ctx, 0);
		pthread_mutex_lock(&st->mu);
		if (n || st->count)
			continue;
		if (st->stopping && !busy)
			break;
		if (st->kicked) {
			st->kicked = false;
			continue;
		}
		if (st->ops.wait) {
			st->sleeping = true;
			pthread_mutex_unlock(&st->mu);
			st->ops.wait(ctx, timeout);
			pthread_mutex_lock(&st->mu);
			st->sleeping = false;
		} else {
			timed_wait(st, st->stopping && busy && (timeout < 0 || timeout > 100) ? 100 : timeout);
		}
	}
	pthread_mutex_unlock(&st->mu);
	if (st->ops.thread_fini)
		st->ops.thread_fini(ctx, tls);
	free(t);
	return NULL;
}

struct stage *stage_new(const struct stage_config *cfg)
{
	struct stage *st;
	pthread_condattr_t ca;
	unsigned int i;
	int ret = EINVAL;

	if (!cfg->ops || !cfg->ops->handle || !cfg->item_size || !cfg->capacity || !cfg->batch ||
	    !cfg->threads || (cfg->ops->wait && (cfg->threads != 1 || !cfg->ops->wake))) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = *cfg;
	st->ops = *cfg->ops;
	st->cfg.ops = &st->ops;
	st->ring = calloc(cfg->capacity, cfg->item_size);
	st->threads = calloc(cfg->threads, sizeof(*st->threads));
	st->bufs = calloc((size_t)cfg->threads * cfg->batch, cfg->item_size);
	if (!st->ring || !st->threads || !st->bufs) {
		ret = ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (i = 0; i < cfg->threads; ++i) {
		struct stage_thread *t = malloc(sizeof(*t));

		ret = ENOMEM;
		if (t) {
			t->st = st;
			t->buf = st->bufs + (size_t)i * cfg->batch * cfg->item_size;
			ret = pthread_create(&st->threads[i], NULL, stage_main, t);
		}
		if (ret) {
			free(t);
			stage_free(st);
			errno = ret;
			return NULL;
		}
		st->started++;
	}
	return st;
fail:
	free(st->ring);
	free(st->threads);
	free(st->bufs);
	free(st);
	errno = ret;
	return NULL;
}

void stage_stop(struct stage *st)
{
	unsigned int i;

	if (!st || st->joined)
		return;
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->ops.wake)
		st->ops.wake(st->cfg.ctx);
	for (i = 0; i < st->started; ++i)
		pthread_join(st->threads[i], NULL);
	st->joined = true;
}

void stage_free(struct stage *st)
{
	if (!st)
		return;
	stage_stop(st);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	explicit_bzero(st->ring, st->cfg.capacity * st->cfg.item_size);
	free(st->ring);
	free(st->threads);
	free(st->bufs);
	free(st);
}

/* Called with mu held after count grew by n; returns whether the caller must call wake(). */
static bool notify_locked(struct stage *st, size_t n)
{
	atomic_store_explicit(&st->depth, st->count, memory_order_relaxed);
	if (st->ops.wait) {
		/* A wakeup is a syscall: only when the thread may sleep. */
		if (!st->sleeping)
			return false;
		st->sleeping = false;
		return true;
	}
	/* One item needs one thread: don't wake the whole pool for it. */
	if (n == 1)
		pthread_cond_signal(&st->cv);
	else
		pthread_cond_broadcast(&st->cv);
	return false;
}

size_t stage_push(struct stage *st, const void *items, size_t n)
{
	const uint8_t *p = items;
	size_t room, take_n = 0, i;
	bool wake = false;

	pthread_mutex_lock(&st->mu);
	if (!st->stopping) {
		room = st->cfg.capacity - st->count;
		take_n = n < room ? n : room;
		for (i = 0; i < take_n; ++i)
			memcpy(slot(st, st->count + i), p + i * st->cfg.item_size, st->cfg.item_size);
		st->count += take_n;
		if (take_n)
			wake = notify_locked(st, take_n);
	}
	pthread_mutex_unlock(&st->mu);
	if (wake)
		st->ops.wake(st->cfg.ctx);
	if (take_n < n && st->cfg.dropped)
		atomic_fetch_add_explicit(st->cfg.dropped, n - take_n, memory_order_relaxed);
	return take_n;
}

int stage_push_if(struct stage *st, const void *item, size_t reserve, bool count_drop,
		  int (*check)(void *arg, void *slot), void *arg)
{
	bool wake = false;
	void *s;
	int ret = 0;

	pthread_mutex_lock(&st->mu);
	if (st->stopping) {
		ret = -ESHUTDOWN;
	} else if (st->cfg.capacity - st->count <= reserve) {
		ret = -EAGAIN;
	} else {
		s = slot(st, st->count);
		memcpy(s, item, st->cfg.item_size);
		ret = check ? check(arg, s) : 0;
		if (ret) {
			explicit_bzero(s, st->cfg.item_size);
		} else {
			st->count++;
			wake = notify_locked(st, 1);
		}
	}
	pthread_mutex_unlock(&st->mu);
	if (wake)
		st->ops.wake(st->cfg.ctx);
	if (ret == -EAGAIN && count_drop && st->cfg.dropped)
		atomic_fetch_add_explicit(st->cfg.dropped, 1, memory_order_relaxed);
	return ret;
}

size_t stage_depth(const struct stage *st)
{
	return atomic_load_explicit(&((struct stage *)st)->depth, memory_order_relaxed);
}

bool stage_loaded(const struct stage *st)
{
	return stage_depth(st) > st->cfg.capacity / 2;
}

void stage_wake(struct stage *st)
{
	bool wake = false;

	pthread_mutex_lock(&st->mu);
	st->kicked = true;
	if (st->ops.wait)
		wake = true;
	else
		pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (wake)
		st->ops.wake(st->cfg.ctx);
}

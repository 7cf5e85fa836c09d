// SPDX-License-Identifier: MIT
#include "gateway/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

enum { POP_BATCH = 32 };

struct workers {
	struct workers_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct capture_pkt *ring;
	size_t cap, head, count;     /* ring of cap slots, count from head */
	atomic_size_t depth;         /* count, readable without the lock */
	bool stopping;
	pthread_t *threads;
	unsigned int started;
};

static void identify(struct workers *w, struct noise_sscache *cache, const struct capture_pkt *pkt)
{
	struct noise_result res;
	struct lookup_event ev;
	char k[WG_KEY_B64_LEN + 1];
	int ret;

	noise_consume_initiation(w->cfg.responder, cache, pkt->payload, sizeof(pkt->payload), &res);
	if ((unsigned)res.verdict <= NOISE_BAD_TIMESTAMP)
		metrics_inc(&w->cfg.metrics->handshakes[res.verdict]);
	if (res.verdict != NOISE_OK) {
		log_ratelimited_debug("initiation rejected: %s", noise_verdict_name(res.verdict));
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	memcpy(ev.key, res.initiator_static, WG_KEY_LEN);
	memcpy(ev.tai64n, res.timestamp, sizeof(ev.tai64n));
	memcpy(&ev.src, &pkt->src, sizeof(ev.src));
	ev.first_seen = pkt->ts;
	ret = lookup_submit(w->cfg.lookup, &ev);
	if (ret == -EALREADY) {
		metrics_inc(&w->cfg.metrics->replay_rejected);
		if (w->cfg.installer)
			installer_replay_seen(w->cfg.installer, ev.key, &ev.src.sa);
		key_to_base64(k, ev.key);
		log_ratelimited_debug("replayed initiation for %s dropped", k);
	} else if (ret) {
		metrics_inc(&w->cfg.metrics->lookup_queue_dropped);
		log_ratelimited_debug("lookup queue full: initiation dropped");
	}
out:
	/* The timestamp is not secret, but nothing from the decoder should linger. */
	memset(&res, 0, sizeof(res));
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	struct capture_pkt local[POP_BATCH];
	struct noise_sscache *cache = noise_sscache_new(w->cfg.sscache_cap);
	size_t n, i;

	if (!cache)
		log_warn("identify worker: no ss cache (%s); every initiation costs two X25519",
			 strerror(errno));
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->count && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->count && w->stopping)
			break;
		/* Take a few at a time so the others get work too. */
		n = w->count < POP_BATCH ? w->count : POP_BATCH;
		if (n > 4 && w->cfg.threads > 1)
			n = (n + 1) / 2;
		for (i = 0; i < n; ++i) {
			local[i] = w->ring[w->head];
			w->head = (w->head + 1) % w->cap;
		}
		w->count -= n;
		atomic_store_explicit(&w->depth, w->count, memory_order_relaxed);
		pthread_mutex_unlock(&w->mu);
		for (i = 0; i < n; ++i)
			identify(w, cache, &local[i]);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	noise_sscache_free(cache);
	return NULL;
}

struct workers *workers_new(const struct workers_config *cfg)
{
	struct workers *w = calloc(1, sizeof(*w));
	unsigned int i;
	int ret;

	if (!w)
		return NULL;
	w->cfg = *cfg;
	if (!w->cfg.threads)
		w->cfg.threads = 1;
	if (!w->cfg.queue_cap)
		w->cfg.queue_cap = 4096;
	if (!w->cfg.sscache_cap)
		w->cfg.sscache_cap = 4096;
	w->cap = w->cfg.queue_cap;
	w->ring = calloc(w->cap, sizeof(*w->ring));
	w->threads = calloc(w->cfg.threads, sizeof(*w->threads));
	if (!w->ring || !w->threads) {
		ret = ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	for (i = 0; i < w->cfg.threads; ++i) {
		ret = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (ret) {
			workers_free(w);
			errno = ret;
			return NULL;
		}
		w->started++;
	}
	return w;
fail:
	free(w->ring);
	free(w->threads);
	free(w);
	errno = ret;
	return NULL;
}

void workers_free(struct workers *w)
{
	unsigned int i;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->started; ++i)
		pthread_join(w->threads[i], NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->ring);
	free(w->threads);
	free(w);
}

size_t workers_push(struct workers *w, const struct capture_pkt *pkts, size_t n)
{
	size_t i, room, take;

	pthread_mutex_lock(&w->mu);
	room = w->cap - w->count;
	take = n < room ? n : room;
	for (i = 0; i < take; ++i)
		w->ring[(w->head + w->count + i) % w->cap] = pkts[i];
	w->count += take;
	atomic_store_explicit(&w->depth, w->count, memory_order_relaxed);
	/* One packet needs one worker: don't wake the whole pool for it. */
	if (take == 1)
		pthread_cond_signal(&w->cv);
	else if (take)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (take < n)
		metrics_add(&w->cfg.metrics->identify_queue_dropped, n - take);
	return take;
}

bool workers_loaded(struct workers *w)
{
	return atomic_load_explicit(&w->depth, memory_order_relaxed) > w->cap / 2;
}

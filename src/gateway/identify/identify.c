// SPDX-License-Identifier: MIT
#include "gateway/identify/identify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/core/stage.h"

enum { IDENTIFY_BATCH = 32 };

struct identify {
	struct identify_config cfg;
	struct stage *st;
};

static void identify_one(struct identify *id, struct noise_sscache *cache, const struct ingest_initiation *in)
{
	struct noise_result res;
	struct lookup_event ev;
	char k[WG_KEY_B64_LEN + 1];
	int ret;

	noise_consume_initiation(id->cfg.responder, cache, in->bytes, sizeof(in->bytes), &res);
	if ((unsigned)res.verdict <= NOISE_BAD_TIMESTAMP)
		metrics_inc(&id->cfg.metrics->handshakes[res.verdict]);
	if (res.verdict != NOISE_OK) {
		log_ratelimited_debug("initiation rejected: %s", noise_verdict_name(res.verdict));
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	memcpy(ev.key, res.initiator_static, WG_KEY_LEN);
	memcpy(ev.tai64n, res.timestamp, sizeof(ev.tai64n));
	memcpy(&ev.src, &in->endpoint, sizeof(ev.src));
	memcpy(&ev.local, &in->local, sizeof(ev.local));
	memcpy(ev.initiation, in->bytes, sizeof(ev.initiation));
	ev.first_seen = in->ts;
	ev.source = in->source;
	ret = lookup_submit(id->cfg.lookup, &ev);
	if (ret == -EALREADY) {
		metrics_inc(&id->cfg.metrics->replay_rejected);
		if (id->cfg.replays.send) {
			struct notice n = { .type = NOTICE_REPLAY_SEEN };
			memcpy(n.key, ev.key, WG_KEY_LEN);
			memcpy(&n.src, &ev.src, sizeof(n.src));
			id->cfg.replays.send(id->cfg.replays.ctx, &n, 1);
		}
		key_to_base64(k, ev.key);
		log_ratelimited_debug("replayed initiation for %s dropped", k);
	} else if (ret) {
		metrics_inc(&id->cfg.metrics->lookup_queue_dropped);
		log_ratelimited_debug("lookup queue full: initiation dropped");
	}
out:
	/* The timestamp is not secret, but nothing from the decoder should linger. */
	explicit_bzero(&res, sizeof(res));
}

static void identify_handle(void *ctx, void *tls, void *items, size_t n)
{
	struct ingest_initiation *in = items;
	size_t i;

	for (i = 0; i < n; ++i)
		identify_one(ctx, tls, &in[i]);
}

static void *identify_thread_init(void *ctx)
{
	struct identify *id = ctx;
	struct noise_sscache *cache = noise_sscache_new(id->cfg.sscache_cap);

	if (!cache)
		log_warn("identify: no ss cache (%s); every initiation costs two X25519", strerror(errno));
	return cache;
}

static void identify_thread_fini(void *ctx, void *tls)
{
	noise_sscache_free(tls);
}

static const struct stage_ops identify_ops = {
	.handle = identify_handle,
	.thread_init = identify_thread_init,
	.thread_fini = identify_thread_fini,
};

struct identify *identify_new(const struct identify_config *cfg)
{
	struct identify *id = calloc(1, sizeof(*id));
	struct stage_config sc = {
		.name = "identify",
		.item_size = sizeof(struct ingest_initiation),
		.batch = IDENTIFY_BATCH,
		.ops = &identify_ops,
		.dropped = &cfg->metrics->identify_queue_dropped,
	};

	if (!id)
		return NULL;
	id->cfg = *cfg;
	if (!id->cfg.threads)
		id->cfg.threads = 1;
	if (!id->cfg.queue_cap)
		id->cfg.queue_cap = 4096;
	if (!id->cfg.sscache_cap)
		id->cfg.sscache_cap = 4096;
	sc.capacity = id->cfg.queue_cap;
	sc.threads = id->cfg.threads;
	sc.ctx = id;
	id->st = stage_new(&sc);
	if (!id->st) {
		int e = errno;
		free(id);
		errno = e;
		return NULL;
	}
	return id;
}

void identify_stop(struct identify *id)
{
	if (id)
		stage_stop(id->st);
}

void identify_free(struct identify *id)
{
	if (!id)
		return;
	stage_free(id->st);
	free(id);
}

size_t identify_push(struct identify *id, const struct ingest_initiation *in, size_t n)
{
	return stage_push(id->st, in, n);
}

bool identify_loaded(const struct identify *id)
{
	return stage_loaded(id->st);
}

bool identify_idle(const struct identify *id)
{
	return stage_depth(id->st) == 0;
}

void identify_now(struct identify *id, struct noise_sscache *cache, const struct ingest_initiation *in)
{
	identify_one(id, cache, in);
}

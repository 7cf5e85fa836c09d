// SPDX-License-Identifier: MIT
#include "gateway/admit/gate.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/gcra.h"
#include "gateway/admit/ephemeral.h"

/* The seen-ephemeral filter (ephemeral.h): 2 x 2^17 slots (2 MiB), 10 s generations. */
enum { ADMIT_BATCH = 64, EPHEMERAL_SLOTS = 1 << 17 };
#define EPHEMERAL_WINDOW_NS 10000000000ULL

/*
 * The quiet path: a lone initiation that meets an empty identify queue is
 * decoded on the source's thread, saving the wake-up of a worker (about a
 * quarter of a millisecond on a VM) on a quiet gateway's every connect. At
 * most QUIET_RATE a second (burst QUIET_BURST): two X25519s each, so a
 * source thread spends at most about 1 % of a core on it, and anything
 * busier goes to the workers, who decode in parallel.
 */
enum { QUIET_RATE = 100, QUIET_BURST = 10, QUIET_SSCACHE = 1024 };

struct admit_gate {
	pthread_mutex_t mu;            /* the four below */
	struct admit *buckets;
	struct ephemeral_filter *seen;
	bool stopped;
	struct gcra quiet;
	pthread_mutex_t quiet_mu;      /* quiet_cache: one source decodes at a time */
	struct noise_sscache *quiet_cache; /* NULL: no quiet path */
	struct identify *identify;
	struct metrics *m;
};

static const char *const source_names[INGEST_SOURCE_MAX] = { "capture", "relay" };

const char *ingest_source_name(enum ingest_source s)
{
	return (unsigned)s < INGEST_SOURCE_MAX ? source_names[s] : "unknown";
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

/* Copies what passes of in[0..n) (n <= ADMIT_BATCH) to pass[]; returns how many. Under a->mu. */
static size_t admit_batch(struct admit_gate *a, const struct ingest_initiation *in, size_t n,
			  struct ingest_initiation *pass)
{
	bool loaded = identify_loaded(a->identify);
	size_t i, np = 0;

	for (i = 0; i < n; ++i) {
		bool seen = ephemeral_filter_seen(a->seen, in[i].bytes, in[i].source, ts_ns(&in[i].ts));

		if (admit_check(a->buckets, &in[i].admit_by.sa, ts_ns(&in[i].ts), loaded)) {
			/* Under load a replayed ephemeral goes before it costs a
			 * decode: per-source buckets cannot hold back one message
			 * replayed from many sources. Unloaded, a replay is
			 * decoded and meets the replay guard (endpoint restore). */
			if (seen && (loaded || admit_engaged(a->buckets))) {
				metrics_inc(&a->m->admit_duplicate);
				continue;
			}
			pass[np++] = in[i];
		} else {
			metrics_inc(&a->m->admit_dropped);
		}
	}
	metrics_gauge_set(&a->m->admit_engaged, admit_engaged(a->buckets));
	return np;
}

/* The quiet path (above): true when pass was decoded here. */
static bool decode_quietly(struct admit_gate *a, const struct ingest_initiation *pass, bool lone)
{
	if (!lone || !a->quiet_cache || !identify_idle(a->identify) || pthread_mutex_trylock(&a->quiet_mu))
		return false;
	identify_now(a->identify, a->quiet_cache, pass);
	pthread_mutex_unlock(&a->quiet_mu);
	return true;
}

size_t ingest_submit(struct admit_gate *a, const struct ingest_initiation *in, size_t n)
{
	struct ingest_initiation pass[ADMIT_BATCH];
	size_t done = 0, queued = 0, k, np;
	bool lone;

	while (done < n) {
		k = n - done < ADMIT_BATCH ? n - done : ADMIT_BATCH;
		pthread_mutex_lock(&a->mu);
		if (a->stopped) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		np = admit_batch(a, in + done, k, pass);
		lone = n == 1 && np == 1 && gcra_take(&a->quiet, ts_ns(&in[0].ts));
		pthread_mutex_unlock(&a->mu);
		/* identify's queue has its own lock: the other source need not wait for it */
		if (decode_quietly(a, pass, lone))
			queued++;
		else if (np)
			queued += identify_push(a->identify, pass, np);
		done += k;
	}
	return queued;
}

struct admit_gate *admit_gate_new(const struct admit_gate_config *cfg)
{
	struct admit_gate *a = calloc(1, sizeof(*a));
	int e;

	if (!a)
		return NULL;
	a->identify = cfg->identify;
	a->m = cfg->metrics;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->quiet_mu, NULL);
	gcra_set_rate(&a->quiet, QUIET_RATE, QUIET_BURST);
	/* without it every quiet decode would compute ss: the workers have theirs */
	a->quiet_cache = noise_sscache_new(QUIET_SSCACHE);
	a->buckets = admit_new(&cfg->buckets);
	a->seen = ephemeral_filter_new(EPHEMERAL_SLOTS, EPHEMERAL_WINDOW_NS);
	if (!a->buckets || !a->seen) {
		e = errno ? errno : ENOMEM;
		admit_gate_free(a);
		errno = e;
		return NULL;
	}
	return a;
}

void admit_gate_stop(struct admit_gate *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopped = true;
	pthread_mutex_unlock(&a->mu);
}

void admit_gate_free(struct admit_gate *a)
{
	if (!a)
		return;
	admit_free(a->buckets);
	ephemeral_filter_free(a->seen);
	noise_sscache_free(a->quiet_cache);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->quiet_mu);
	free(a);
}

void admit_gate_reconfigure(struct admit_gate *a, const struct admit_config *cfg)
{
	pthread_mutex_lock(&a->mu);
	admit_reconfigure(a->buckets, cfg);
	pthread_mutex_unlock(&a->mu);
}

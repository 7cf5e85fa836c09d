// SPDX-License-Identifier: MIT
/*
 * The run: clients' keys and sockets, then one thread per loop, each with
 * its own epoll instance, its clients (client i goes to thread i mod T),
 * a min-heap of timers and its share of the arrival rate. A timer entry is
 * stale when the client's deadline moved since (lazy deletion): each client
 * has one live timer, so the heap holds O(clients) entries. The main thread
 * only reports progress and joins.
 */
#include "loadgen/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "crypto/x25519.h"

enum { EPOLL_BATCH = 256 };

int64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: indices and jitter, not secrets. */
uint64_t lg_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void lg_trace(struct lg_run *run, const char *what, const uint8_t *p, size_t len)
{
	size_t i;

	pthread_mutex_lock(&run->trace_lock);
	fprintf(run->trace, "%s ", what);
	for (i = 0; i < len; ++i)
		fprintf(run->trace, "%02x", p[i]);
	fputc('\n', run->trace);
	pthread_mutex_unlock(&run->trace_lock);
}

static void heap_swap(struct timer_entry *a, struct timer_entry *b)
{
	struct timer_entry tmp = *a;

	*a = *b;
	*b = tmp;
}

void lg_timer_set(struct lg_thread *t, struct client *c, int64_t at)
{
	size_t i;

	c->deadline_ns = at;
	if (t->nheap == t->capheap) {
		size_t cap = t->capheap ? t->capheap * 2 : 1024;
		struct timer_entry *h = realloc(t->heap, cap * sizeof(*h));

		if (!h) {
			t->err = -ENOMEM;
			return;
		}
		t->heap = h;
		t->capheap = cap;
	}
	i = t->nheap++;
	t->heap[i].at = at;
	t->heap[i].client = (uint32_t)(c - t->clients);
	while (i && t->heap[(i - 1) / 2].at > t->heap[i].at) {
		heap_swap(&t->heap[(i - 1) / 2], &t->heap[i]);
		i = (i - 1) / 2;
	}
}

static void heap_pop(struct lg_thread *t)
{
	size_t i = 0, l, r, m;

	t->heap[0] = t->heap[--t->nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < t->nheap && t->heap[l].at < t->heap[m].at)
			m = l;
		if (r < t->nheap && t->heap[r].at < t->heap[m].at)
			m = r;
		if (m == i)
			break;
		heap_swap(&t->heap[m], &t->heap[i]);
		i = m;
	}
}

static int64_t start_time(const struct lg_thread *t, size_t k)
{
	if (t->rate <= 0)
		return t->start_ns;
	return t->start_ns + (int64_t)((double)k * 1e9 / t->rate);
}

static void run_timers(struct lg_thread *t, int64_t now)
{
	while (t->nheap && t->heap[0].at <= now) {
		struct timer_entry e = t->heap[0];
		struct client *c = &t->clients[e.client];

		heap_pop(t);
		if (c->deadline_ns != e.at)
			continue; /* stale */
		c->deadline_ns = 0;
		client_timer(t, c, now);
	}
	while (t->next_start < t->nclients && start_time(t, t->next_start) <= now) {
		client_start(t, &t->clients[t->next_start], now);
		t->next_start++;
	}
}

static int wait_ms(const struct lg_thread *t, int64_t now)
{
	int64_t next = INT64_MAX, d;

	while (t->nheap && t->clients[t->heap[0].client].deadline_ns != t->heap[0].at) {
		/* Drop stale tops so they do not wake us early. */
		heap_pop((struct lg_thread *)t);
	}
	if (t->nheap)
		next = t->heap[0].at;
	if (t->next_start < t->nclients && start_time(t, t->next_start) < next)
		next = start_time(t, t->next_start);
	if (next == INT64_MAX)
		return 100;
	d = (next - now + 999999) / 1000000;
	return d < 0 ? 0 : d > 100 ? 100 : (int)d;
}

static void *thread_main(void *arg)
{
	struct lg_thread *t = arg;
	struct epoll_event ev[EPOLL_BATCH];
	int64_t now;
	int n, i;

	while (!*t->run->stop && !t->err && (t->active || t->next_start < t->nclients)) {
		now = lg_now_ns();
		run_timers(t, now);
		n = epoll_wait(t->epfd, ev, EPOLL_BATCH, wait_ms(t, lg_now_ns()));
		if (n < 0 && errno != EINTR) {
			t->err = -errno;
			break;
		}
		now = lg_now_ns();
		for (i = 0; i < n; ++i)
			lg_drain(t, ev[i].data.u32, now);
	}
	return NULL;
}

static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want; /* root may raise the hard limit */
		rl.rlim_cur = want;
		if (!setrlimit(RLIMIT_NOFILE, &rl))
			return;
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Keys, tunnel address and socket of client i, registered with its thread's epoll. */
static int client_init(struct lg_run *run, struct lg_thread *t, struct client *c, size_t i, const char **err)
{
	const struct loadgen_config *cfg = run->cfg;
	struct epoll_event ev = { .events = EPOLLIN };
	uint8_t priv[WG_KEY_LEN];
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->id = (uint32_t)i;
	if (cfg->keys)
		memcpy(priv, cfg->keys[i % cfg->nkeys], WG_KEY_LEN);
	else if ((ret = x25519_generate(priv))) {
		*err = "random key generation failed";
		goto out;
	}
	if ((ret = noise_local_init(&c->local, priv, &run->remote))) {
		*err = "a client key gives no shared secret with the server key";
		goto out;
	}
	if (cfg->tunnel_addrs && i < cfg->nkeys && cfg->tunnel_addrs[i].family == AF_INET)
		memcpy(&c->tunnel_v4, cfg->tunnel_addrs[i].addr, 4);
	else if (cfg->tunnel_prefix.family == AF_INET) {
		uint32_t base;

		memcpy(&base, cfg->tunnel_prefix.addr, 4);
		c->tunnel_v4 = htonl(ntohl(base) + 2 + (uint32_t)i);
	}
	if (run->shared)
		goto out;
	if ((ret = lg_client_socket(cfg, i, &c->fd))) {
		*err = "cannot open, bind or connect a client socket";
		goto out;
	}
	ev.data.u32 = (uint32_t)(c - t->clients);
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		ret = -errno;
		*err = "epoll_ctl failed";
	}
out:
	explicit_bzero(priv, sizeof(priv));
	return ret;
}

static double cpu_now(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void merge(struct loadgen_stats *to, struct loadgen_stats *from)
{
	uint32_t *p;

	to->started += from->started;
	to->ok += from->ok;
	to->failed += from->failed;
	to->timeouts += from->timeouts;
	to->retries += from->retries;
	to->cookies += from->cookies;
	to->mac2_sent += from->mac2_sent;
	to->responded += from->responded;
	to->initiations_in += from->initiations_in;
	to->pings_ok += from->pings_ok;
	to->pings_failed += from->pings_failed;
	to->keepalives += from->keepalives;
	to->returns += from->returns;
	to->data_sent += from->data_sent;
	to->data_replies += from->data_replies;
	to->bad_packets += from->bad_packets;
	to->send_errors += from->send_errors;
	if (!from->nconnect)
		return;
	p = realloc(to->connect_us, (to->nconnect + from->nconnect) * sizeof(*p));
	if (!p)
		return;
	memcpy(p + to->nconnect, from->connect_us, from->nconnect * sizeof(*p));
	to->connect_us = p;
	to->nconnect += from->nconnect;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

double loadgen_percentile_ms(const struct loadgen_stats *s, double p)
{
	size_t i;

	if (!s->nconnect)
		return 0;
	i = (size_t)(p / 100.0 * (double)s->nconnect + 0.5);
	i = i ? i - 1 : 0;
	if (i >= s->nconnect)
		i = s->nconnect - 1;
	return s->connect_us[i] / 1000.0;
}

void loadgen_stats_free(struct loadgen_stats *s)
{
	free(s->connect_us);
	memset(s, 0, sizeof(*s));
}

static void progress(struct lg_run *run, unsigned nthreads, struct lg_flood *fl, loadgen_progress_fn fn,
		     void *arg)
{
	struct loadgen_progress p = { .t = (lg_now_ns() - run->t0) / 1e9 };
	unsigned i;

	for (i = 0; i < nthreads; ++i) {
		struct lg_thread *t = &run->threads[i];
		uint64_t ok = __atomic_load_n(&t->st.ok, __ATOMIC_RELAXED);
		uint64_t failed = __atomic_load_n(&t->st.failed, __ATOMIC_RELAXED);
		uint64_t started = __atomic_load_n(&t->st.started, __ATOMIC_RELAXED);

		p.started += started;
		p.ok += ok;
		p.failed += failed;
		p.retries += __atomic_load_n(&t->st.retries, __ATOMIC_RELAXED);
		p.inflight += started > ok + failed ? started - ok - failed : 0;
	}
	if (fl)
		p.flood_sent = __atomic_load_n(&fl->sent, __ATOMIC_RELAXED);
	fn(&p, arg);
}

/*
 * Own sockets unless asked to share or the descriptor limit is below the
 * client count (sockets.c says how sharing works; it needs a prefix).
 */
static int plan_sharing(struct lg_run *run, const char **err)
{
	const struct loadgen_config *cfg = run->cfg;
	struct rlimit rl;
	bool want = cfg->shared_ports;

	if (!want && !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < cfg->clients + 64 * run->nthreads + 64) {
		if (!cfg->source_prefix.family) {
			*err = "more clients than file descriptors (RLIMIT_NOFILE): give --source-prefix to share ports";
			return -EMFILE;
		}
		want = true;
	}
	if (!want)
		return 0;
	if (!cfg->source_prefix.family) {
		*err = "--shared-ports needs --source-prefix";
		return -EINVAL;
	}
	run->shared = true;
	run->naddr = lg_prefix_hosts(&cfg->source_prefix);
	return 0;
}

/*
 * How many clients thread ti runs (ids NULL), or the global id of its
 * *ids-th client. Own sockets: client g goes to thread g mod T. Shared:
 * port slot p (clients p*A .. p*A+A-1) goes to thread p mod T, so a
 * thread's clients sit slot by slot and a datagram's slot and address
 * offset give its index directly.
 */
static size_t thread_clients(const struct lg_run *run, unsigned ti, const size_t *ids)
{
	const struct loadgen_config *cfg = run->cfg;
	size_t nth = run->nthreads, slots, mine, n;

	if (!run->shared) {
		if (ids)
			return ti + *ids * nth;
		return cfg->clients / nth + (ti < cfg->clients % nth);
	}
	if (ids)
		return (size_t)((*ids / run->naddr) * nth + ti) * run->naddr + *ids % run->naddr;
	slots = (size_t)((cfg->clients + run->naddr - 1) / run->naddr);
	mine = slots / nth + (ti < slots % nth);
	if (!mine)
		return 0;
	n = mine * run->naddr;
	/* The last slot overall may be partial; it is this thread's last. */
	if ((slots - 1) % nth == ti)
		n -= slots * run->naddr - cfg->clients;
	return n;
}

static int open_shared(struct lg_run *run, struct lg_thread *t, const char **err)
{
	struct epoll_event ev = { .events = EPOLLIN };
	size_t slots = (size_t)((run->cfg->clients + run->naddr - 1) / run->naddr), s;
	int ret;

	t->shared_fds = calloc(slots / run->nthreads + 1, sizeof(int));
	if (!t->shared_fds)
		return -ENOMEM;
	for (s = t->index; s < slots; s += run->nthreads) {
		int fd;

		if ((ret = lg_shared_socket(run->cfg, s, &fd))) {
			*err = "cannot open or bind a shared client socket";
			return ret;
		}
		t->shared_fds[t->nshared] = fd;
		ev.data.u32 = LG_TAG_SHARED | (uint32_t)t->nshared++;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			*err = "epoll_ctl failed";
			return -errno;
		}
	}
	return 0;
}

/* Each thread's epoll set, its clients (keys, sockets or shared slots) and its share of the rate. */
static int setup_threads(struct lg_run *run, const char **err)
{
	const struct loadgen_config *cfg = run->cfg;
	unsigned i, nth = run->nthreads;
	size_t k;
	int ret;

	for (i = 0; i < nth; ++i) {
		struct lg_thread *t = &run->threads[i];
		size_t n = thread_clients(run, i, NULL);

		t->run = run;
		t->index = i;
		t->epfd = -1;
		if (RAND_bytes((uint8_t *)&t->rng, sizeof(t->rng)) != 1 || !t->rng)
			t->rng = 0x9e3779b97f4a7c15ULL + i;
		t->clients = calloc(n ? n : 1, sizeof(*t->clients));
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (!t->clients || t->epfd < 0)
			return -ENOMEM;
		if (run->shared && (ret = open_shared(run, t, err)))
			return ret;
		for (k = 0; k < n; ++k) {
			t->clients[k].fd = -1;
			if ((ret = client_init(run, t, &t->clients[k], thread_clients(run, i, &k), err)))
				return ret;
			t->nclients++;
		}
		t->active = n;
		t->rate = cfg->rate > 0 ? cfg->rate / nth : 0;
	}
	return 0;
}

/* Joins the first started loop threads, calling fn every progress_s seconds meanwhile (if set). */
static void join_threads(struct lg_run *run, unsigned started, struct lg_flood *flood, loadgen_progress_fn fn,
			 void *arg)
{
	const struct loadgen_config *cfg = run->cfg;
	int64_t next_progress = run->t0 + (int64_t)(cfg->progress_s * 1e9);
	unsigned i;

	for (i = 0; i < started; ++i) {
		while (fn && cfg->progress_s > 0 && pthread_tryjoin_np(run->threads[i].tid, NULL) == EBUSY) {
			struct timespec ts = { 0, 50000000 };

			nanosleep(&ts, NULL);
			if (lg_now_ns() >= next_progress) {
				progress(run, run->nthreads, flood, fn, arg);
				next_progress += (int64_t)(cfg->progress_s * 1e9);
			}
		}
		if (!fn || cfg->progress_s <= 0)
			pthread_join(run->threads[i].tid, NULL);
	}
}

/* Merges the threads' figures into stats; returns the first thread's error (ret if already set). */
static int collect(struct lg_run *run, struct loadgen_stats *stats, double cpu0, int ret, const char **err)
{
	struct rusage ru;
	unsigned i;

	stats->elapsed_s = (lg_now_ns() - run->t0) / 1e9;
	for (i = 0; i < run->nthreads; ++i) {
		merge(stats, &run->threads[i].st);
		if (run->threads[i].err && !ret) {
			ret = run->threads[i].err;
			*err = "a loop thread failed";
		}
	}
	if (stats->nconnect) /* a flood-only run has none, and connect_us may be NULL */
		qsort(stats->connect_us, stats->nconnect, sizeof(uint32_t), cmp_u32);
	stats->cpu_s = cpu_now() - cpu0;
	if (!getrusage(RUSAGE_SELF, &ru))
		stats->max_rss_kib = ru.ru_maxrss;
	return ret;
}

/* Closes and wipes what setup_threads() made, also half-made; the keys go with the clients. */
static void free_threads(struct lg_run *run, unsigned nth)
{
	unsigned i;
	size_t k;

	for (i = 0; run->threads && i < nth; ++i) {
		struct lg_thread *t = &run->threads[i];

		for (k = 0; k < t->nclients; ++k) {
			if (t->clients[k].fd >= 0)
				close(t->clients[k].fd);
			noise_local_wipe(&t->clients[k].local);
		}
		if (t->clients)
			explicit_bzero(t->clients, t->nclients * sizeof(*t->clients));
		free(t->clients);
		free(t->heap);
		for (k = 0; k < t->nshared; ++k)
			close(t->shared_fds[k]);
		free(t->shared_fds);
		free(t->st.connect_us);
		if (t->epfd >= 0)
			close(t->epfd);
	}
	free(run->threads);
	run->threads = NULL;
}

int loadgen_run(const struct loadgen_config *cfg, struct loadgen_stats *stats, loadgen_progress_fn fn,
		void *arg, volatile int *stop, const char **err)
{
	struct lg_run run;
	struct lg_flood flood = { .run = &run };
	pthread_t flood_tid;
	bool flood_started = false;
	unsigned nth = cfg->threads ? cfg->threads : 1, i, started = 0;
	double cpu0 = 0;
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	memset(&run, 0, sizeof(run));
	*err = NULL;
	run.cfg = cfg;
	run.stop = stop;
	pthread_mutex_init(&run.trace_lock, NULL);
	noise_remote_init(&run.remote, cfg->server_public, cfg->has_psk ? cfg->psk : NULL);
	if (cfg->trace_path && !(run.trace = fopen(cfg->trace_path, "w"))) {
		*err = "cannot open the trace file";
		ret = -errno;
		goto out;
	}
	if (nth > cfg->clients && cfg->clients)
		nth = (unsigned)cfg->clients;
	raise_nofile(cfg->clients + 64 * nth + 64);
	run.threads = calloc(nth, sizeof(*run.threads));
	if (!run.threads) {
		ret = -ENOMEM;
		goto out;
	}
	run.t0 = lg_now_ns();
	run.nthreads = nth;
	if ((ret = plan_sharing(&run, err)) || (ret = setup_threads(&run, err)))
		goto out;
	stats->setup_s = (lg_now_ns() - run.t0) / 1e9;
	cpu0 = cpu_now();
	run.t0 = lg_now_ns();
	if (cfg->flood != LOADGEN_FLOOD_NONE) {
		if ((ret = -pthread_create(&flood_tid, NULL, lg_flood_main, &flood)))
			goto out;
		flood_started = true;
	}
	for (i = 0; i < nth; ++i) {
		run.threads[i].start_ns = run.t0 + (int64_t)(cfg->start_after_s * 1e9);
		if ((ret = -pthread_create(&run.threads[i].tid, NULL, thread_main, &run.threads[i]))) {
			*stop = 1;
			break;
		}
		started++;
	}
	join_threads(&run, started, flood_started ? &flood : NULL, fn, arg);
	if (flood_started) {
		pthread_join(flood_tid, NULL);
		flood_started = false;
		stats->flood_sent = flood.sent;
		stats->flood_errors = flood.errors;
		if (flood.err && !ret) {
			ret = flood.err;
			*err = "the flood could not run (raw sockets need root)";
		}
	}
	ret = collect(&run, stats, cpu0, ret, err);
out:
	if (flood_started) {
		*stop = 1;
		pthread_join(flood_tid, NULL);
	}
	free_threads(&run, nth);
	if (run.trace)
		fclose(run.trace);
	pthread_mutex_destroy(&run.trace_lock);
	explicit_bzero(&run.remote, sizeof(run.remote));
	if (ret)
		loadgen_stats_free(stats);
	return ret;
}

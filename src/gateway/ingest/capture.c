// SPDX-License-Identifier: MIT
#include "gateway/ingest/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/clock.h"

enum { CAPTURE_BATCH = 64, STATS_EVERY_NS = 1000000000 };

/*
 * The egress tap is open from the first EGRESS_BURST initiations read
 * within EGRESS_WINDOW_NS until EGRESS_HOLD_NS after the last such window.
 * Below that rate a data plane does not go under load on initiations (its
 * mark is 128 queued for wireguard-go, 512 for the kernel), and once it is,
 * it stays so for a second after: the hold covers that second and the
 * copies still paced behind it.
 */
enum { EGRESS_BURST = 32 };
#define EGRESS_WINDOW_NS 100000000ULL
#define EGRESS_HOLD_NS 3000000000ULL

struct ingest_capture {
	struct ingest_capture_config cfg;
	struct ingest_capture_io io;
	int stop[2];
	pthread_t thread;
};

static int cap_fd(void *src) { return capture_fd(src); }
static int cap_read(void *src, struct capture_pkt *p, size_t max, uint64_t *mal) { return capture_read(src, p, max, mal); }
static uint64_t cap_drops(void *src) { return capture_kernel_drops(src); }
static int cap_egress(void *src, bool on) { return capture_egress(src, on); }

static const struct ingest_capture_io capture_io = {
	.fd = cap_fd, .read = cap_read, .kernel_drops = cap_drops, .egress = cap_egress,
};

/* When the egress tap opens and closes (above); its state. */
struct egress_rule {
	uint64_t window_ns, hold_until_ns;
	uint64_t retry_ns;      /* opening failed: not again before */
	size_t seen;            /* initiations read since window_ns */
	bool open;
};

static void egress_rule(struct ingest_capture *c, struct egress_rule *r, size_t initiations, uint64_t now)
{
	int ret;

	if (!c->cfg.cookies || !c->io.egress)
		return;
	if (now - r->window_ns > EGRESS_WINDOW_NS) {
		r->window_ns = now;
		r->seen = 0;
	}
	r->seen += initiations;
	if (r->seen >= EGRESS_BURST) {
		if (!r->open && now >= r->retry_ns) {
			ret = c->io.egress(c->cfg.src, true);
			r->open = !ret;
			if (ret) {
				log_warn("capture: cannot open the egress tap: %s; copies refused with a cookie "
					 "wait for their follow-up", strerror(-ret));
				r->retry_ns = now + EGRESS_HOLD_NS;
			}
		}
		r->hold_until_ns = now + EGRESS_HOLD_NS;
	} else if (r->open && now > r->hold_until_ns) {
		(void)c->io.egress(c->cfg.src, false);
		r->open = false;
	}
	metrics_gauge_set(&c->cfg.metrics->capture_egress, r->open);
}

static void to_initiation(struct ingest_initiation *in, const struct capture_pkt *p)
{
	memcpy(in->bytes, p->payload, sizeof(in->bytes));
	memcpy(&in->endpoint, &p->src, sizeof(in->endpoint));
	memcpy(&in->admit_by, &p->src, sizeof(in->admit_by));
	memcpy(&in->local, &p->dst, sizeof(in->local));
	in->source = INGEST_CAPTURE;
	in->ts = p->ts;
}

static void *capture_main(void *arg)
{
	struct ingest_capture *c = arg;
	struct metrics *m = c->cfg.metrics;
	struct capture_pkt *pkts = calloc(CAPTURE_BATCH, sizeof(*pkts));
	struct ingest_initiation *in = calloc(CAPTURE_BATCH, sizeof(*in));
	union ingest_addr *from = calloc(CAPTURE_BATCH, sizeof(*from));
	union ingest_addr *to = calloc(CAPTURE_BATCH, sizeof(*to));
	uint8_t (*cookie)[CAPTURE_COOKIE_LEN] = calloc(CAPTURE_BATCH, sizeof(*cookie));
	struct egress_rule egress = { 0 };
	struct pollfd pfd[2] = {
		{ .fd = c->io.fd(c->cfg.src), .events = POLLIN },
		{ .fd = c->stop[0], .events = POLLIN },
	};
	uint64_t last_stats = clock_mono_ns();
	const char *what = NULL;
	int err = 0;

	if (!pkts || !in || !from || !to || !cookie) {
		err = -ENOMEM;
		what = "out of memory";
		goto out;
	}
	for (;;) {
		uint64_t malformed = 0, t;
		size_t ni = 0, ns = 0, nc = 0;
		int n, i, last = 0;

		if (poll(pfd, 2, 1000) < 0 && errno != EINTR) {
			err = -errno;
			what = "poll";
			break;
		}
		if (pfd[1].revents)
			break;
		t = clock_mono_ns();
		egress_rule(c, &egress, 0, t);
		if (t - last_stats > STATS_EVERY_NS) {
			metrics_add(&m->capture_kernel_drops, c->io.kernel_drops(c->cfg.src));
			last_stats = t;
		}
		n = c->io.read(c->cfg.src, pkts, CAPTURE_BATCH, &malformed);
		metrics_add(&m->capture_malformed, malformed);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n < 0) {
			err = n;
			what = "read";
			break;
		}
		for (i = 0; i < n; ++i) {
			if (pkts[i].kind == CAPTURE_INITIATION) {
				to_initiation(&in[ni++], &pkts[i]);
			} else if (pkts[i].kind == CAPTURE_COOKIE) {
				memcpy(&to[nc], &pkts[i].dst, sizeof(to[0]));
				memcpy(cookie[nc++], pkts[i].payload, CAPTURE_COOKIE_LEN);
			} else {
				memcpy(&from[ns++], &pkts[i].src, sizeof(from[0]));
				last = i;
			}
		}
		metrics_add(&m->captured, (uint64_t)ni + malformed);
		metrics_add(&m->capture_cookies, nc);
		egress_rule(c, &egress, ni, t);
		if (ni)
			ingest_submit(c->cfg.admit, in, ni);
		/*
		 * One time for them all: the last one's read, which follows every
		 * one's arrival (a copy answered after it went out is never missed).
		 */
		if (ns && c->cfg.sessions)
			c->cfg.sessions(c->cfg.sessions_ctx, from, &pkts[last].ts, ns);
		if (nc && c->cfg.cookies)
			c->cfg.cookies(c->cfg.cookies_ctx, to, (const uint8_t (*)[CAPTURE_COOKIE_LEN])cookie, nc);
	}
out:
	if (egress.open)
		(void)c->io.egress(c->cfg.src, false);
	free(pkts);
	free(in);
	free(from);
	free(to);
	free(cookie);
	if (err) {
		log_err("capture: %s: %s; no initiation can be heard any more", what, strerror(-err));
		if (c->cfg.fatal)
			c->cfg.fatal(c->cfg.fatal_ctx, err, what);
	}
	return NULL;
}

struct ingest_capture *ingest_capture_start(const struct ingest_capture_config *cfg)
{
	struct ingest_capture *c = calloc(1, sizeof(*c));
	int e;

	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->io = cfg->io ? *cfg->io : capture_io;
	if (pipe2(c->stop, O_CLOEXEC) < 0) {
		e = errno;
		free(c);
		errno = e;
		return NULL;
	}
	e = pthread_create(&c->thread, NULL, capture_main, c);
	if (e) {
		close(c->stop[0]);
		close(c->stop[1]);
		free(c);
		errno = e;
		return NULL;
	}
	return c;
}

void ingest_capture_stop(struct ingest_capture *c)
{
	if (!c)
		return;
	if (write(c->stop[1], "x", 1) < 0)
		log_warn("capture: stop: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	close(c->stop[0]);
	close(c->stop[1]);
	free(c);
}

// SPDX-License-Identifier: MIT
/*
 * Open-loop HTTP GET load generator for the registry benchmark. wrk keeps a
 * fixed number of requests outstanding, so it cannot hold a request rate;
 * this sends one request every 1/RATE seconds whatever the server does and
 * measures each latency from the moment the request was due, so a stall
 * shows up in the percentiles instead of silently lowering the rate
 * (no coordinated omission).
 *
 *   loadgen HOST PORT RATE SECONDS CONNS PATHS_FILE [TOKEN]
 *
 * Requests are keep-alive GETs of paths picked at random from PATHS_FILE,
 * spread over CONNS connections; one request in flight per connection. A
 * due request that finds every connection busy waits (and its wait counts).
 * Prints achieved rate, p50/p90/p99/p99.9/max, and status counts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { HIST_US = 1000000, MAX_CONNS = 1024, BUF = 16384 };

struct conn {
	int fd;
	bool busy;
	uint64_t due_ns;
	char buf[BUF];
	size_t len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t *hist;
static uint64_t nlat, status2xx, status404, status_other, errors;

static void record(uint64_t ns)
{
	uint64_t us = ns / 1000;

	hist[us < HIST_US ? us : HIST_US]++;
	nlat++;
}

static double pct(double p)
{
	uint64_t want = (uint64_t)(p * nlat), seen = 0;
	size_t i;

	for (i = 0; i <= HIST_US; ++i) {
		seen += hist[i];
		if (seen > want)
			return i / 1000.0;
	}
	return HIST_US / 1000.0;
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* A complete response in c->buf? Returns its length or 0. Sets *status. */
static size_t complete(struct conn *c, int *status)
{
	char *end, *cl;
	size_t hdr, body;

	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return 0;
	hdr = (size_t)(end - c->buf) + 4;
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
	if (c->len < hdr + body)
		return 0;
	*status = atoi(c->buf + 9);
	return hdr + body;
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct epoll_event ev, evs[64];
	char **paths = NULL, line[256], req[1024], auth[600] = "";
	size_t npaths = 0, cap = 0, i;
	uint64_t start, interval, next, end, sent = 0, backlog = 0, maxbacklog = 0, seed = 88172645463325252ull;
	double rate, secs;
	int nconn, ep, port, n, k, status;
	FILE *f;

	if (argc < 7) {
		fprintf(stderr, "usage: loadgen HOST PORT RATE SECONDS CONNS PATHS_FILE [TOKEN]\n");
		return 2;
	}
	port = atoi(argv[2]);
	rate = atof(argv[3]);
	secs = atof(argv[4]);
	nconn = atoi(argv[5]);
	if (nconn < 1 || nconn > MAX_CONNS || rate <= 0)
		return 2;
	if (argc > 7)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", argv[7]);
	f = fopen(argv[6], "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (npaths == cap) {
			cap = cap ? cap * 2 : 1024;
			paths = realloc(paths, cap * sizeof(*paths));
		}
		paths[npaths++] = strdup(line);
	}
	fclose(f);
	if (!npaths)
		return 1;
	hist = calloc(HIST_US + 1, sizeof(*hist));
	ep = epoll_create1(0);
	for (k = 0; k < nconn; ++k) {
		conns[k].fd = dial(argv[1], port);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)k;
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[k].fd, &ev);
	}
	interval = (uint64_t)(1e9 / rate);
	start = now_ns();
	next = start;
	end = start + (uint64_t)(secs * 1e9);
	/* due times of requests that found no idle connection, oldest first */
	uint64_t *queue = calloc(1 << 20, sizeof(uint64_t));
	size_t qh = 0, qt = 0;

	for (;;) {
		uint64_t t = now_ns();
		int timeout;

		while (next <= t && next < end) {
			queue[qt++ & ((1 << 20) - 1)] = next;
			next += interval;
		}
		/* hand queued requests to idle connections */
		for (k = 0; k < nconn && qh != qt; ++k) {
			if (conns[k].busy)
				continue;
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", paths[seed % npaths],
				     argv[1], auth);
			if (write(conns[k].fd, req, (size_t)n) != n) {
				errors++;
				continue;
			}
			conns[k].busy = true;
			conns[k].due_ns = queue[qh++ & ((1 << 20) - 1)];
			conns[k].len = 0;
			sent++;
		}
		backlog = qt - qh;
		if (backlog > maxbacklog)
			maxbacklog = backlog;
		if (next >= end && qh == qt) {
			bool busy = false;

			for (k = 0; k < nconn; ++k)
				busy |= conns[k].busy;
			if (!busy || now_ns() > end + 5000000000ull)
				break;
		}
		t = now_ns();
		timeout = next > t ? (int)((next - t) / 1000000) : 0;
		n = epoll_wait(ep, evs, 64, next < end ? timeout : 100);
		for (i = 0; i < (size_t)(n > 0 ? n : 0); ++i) {
			struct conn *c = &conns[evs[i].data.u32];
			ssize_t r = read(c->fd, c->buf + c->len, BUF - 1 - c->len);
			size_t done;

			if (r <= 0) {
				fprintf(stderr, "loadgen: connection closed\n");
				return 1;
			}
			c->len += (size_t)r;
			done = complete(c, &status);
			if (!done)
				continue;
			record(now_ns() - c->due_ns);
			if (status >= 200 && status < 300)
				status2xx++;
			else if (status == 404)
				status404++;
			else
				status_other++;
			c->busy = false;
		}
	}
	secs = (now_ns() - start) / 1e9;
	printf("loadgen: target %.0f req/s, achieved %.0f req/s over %.1f s, %d connections, max backlog %lu\n",
	       rate, nlat / secs, secs, nconn, (unsigned long)maxbacklog);
	printf("loadgen: latency ms p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f\n", pct(0.50), pct(0.90), pct(0.99),
	       pct(0.999), pct(1.0 - 1e-12));
	printf("loadgen: status 2xx %lu, 404 %lu, other %lu, write errors %lu\n", (unsigned long)status2xx,
	       (unsigned long)status404, (unsigned long)status_other, (unsigned long)errors);
	return 0;
}

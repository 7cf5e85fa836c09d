// SPDX-License-Identifier: MIT
#include "gateway/install/reinject.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/bpf.h"
#include "common/gcra.h"
#include "common/log.h"
#include "wire/udpip.h"

enum { REINJECT_MAX = 64, PKT_MAX = UDPIP_HDR_MAX + WG_MSG_INITIATION_LEN };

struct reinject {
	int fd4, fd6;
	bool marked;
	uint8_t buf[REINJECT_MAX][PKT_MAX];
};

static int open_raw(int family, bool *marked)
{
	uint32_t mark = BPF_REINJECT_MARK;
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		*marked = false;
	return fd;
}

struct reinject *reinject_new(void)
{
	struct reinject *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return NULL;
	r->marked = true;
	r->fd4 = open_raw(AF_INET, &r->marked);
	r->fd6 = r->fd4 < 0 ? -1 : open_raw(AF_INET6, &r->marked);
	if (r->fd4 < 0 || r->fd6 < 0) {
		e = errno;
		reinject_free(r);
		errno = e;
		return NULL;
	}
	return r;
}

void reinject_free(struct reinject *r)
{
	if (!r)
		return;
	if (r->fd4 >= 0)
		close(r->fd4);
	if (r->fd6 >= 0)
		close(r->fd6);
	free(r);
}

bool reinject_marked(const struct reinject *r)
{
	return r->marked;
}

/* One sendmmsg() of the packets of one family; marks what went out. */
static int send_family(struct reinject *r, int family, const struct reinject_pkt *pkts, size_t n,
		       bool *ok)
{
	struct mmsghdr msg[REINJECT_MAX];
	struct iovec iov[REINJECT_MAX];
	union dp_endpoint to[REINJECT_MAX];
	size_t idx[REINJECT_MAX], m = 0, i;
	int fd = family == AF_INET ? r->fd4 : r->fd6, sent, len, err = 0;

	memset(msg, 0, sizeof(msg));
	for (i = 0; i < n; ++i) {
		if (pkts[i].from.addr.sa_family != family)
			continue;
		len = udpip_build(r->buf[m], PKT_MAX, &pkts[i].from.addr, &pkts[i].to.addr, pkts[i].msg,
				  WG_MSG_INITIATION_LEN);
		if (len < 0) {
			err = len;
			continue;
		}
		/* A raw socket's destination port must be 0 (IPv6: else it names the protocol). */
		to[m] = pkts[i].to;
		if (family == AF_INET)
			to[m].addr4.sin_port = 0;
		else
			to[m].addr6.sin6_port = 0;
		iov[m] = (struct iovec){ .iov_base = r->buf[m], .iov_len = (size_t)len };
		msg[m].msg_hdr.msg_iov = &iov[m];
		msg[m].msg_hdr.msg_iovlen = 1;
		msg[m].msg_hdr.msg_name = &to[m];
		msg[m].msg_hdr.msg_namelen = family == AF_INET ? sizeof(to[m].addr4) : sizeof(to[m].addr6);
		idx[m++] = i;
	}
	for (i = 0; i < m;) {
		sent = sendmmsg(fd, &msg[i], (unsigned int)(m - i), 0);
		if (sent <= 0) {
			err = sent < 0 ? -errno : -EIO;
			/* skip the one that failed; a full socket buffer fails the rest too */
			if (err == -EAGAIN)
				break;
			i++;
			continue;
		}
		for (; sent > 0; --sent, ++i)
			ok[idx[i]] = true;
	}
	return err;
}

int reinject_send(struct reinject *r, const struct reinject_pkt *pkts, size_t n, bool *ok)
{
	size_t i, done = 0;
	int e4, e6;

	if (n > REINJECT_MAX)
		return -E2BIG;
	for (i = 0; i < n; ++i)
		ok[i] = false;
	e4 = send_family(r, AF_INET, pkts, n, ok);
	e6 = send_family(r, AF_INET6, pkts, n, ok);
	for (i = 0; i < n; ++i)
		done += ok[i];
	if (!done && n)
		return e4 ? e4 : e6 ? e6 : -EAFNOSUPPORT;
	if (e4 || e6)
		log_ratelimited_debug("re-injection: %zu of %zu not sent: %s", n - done, n,
				      strerror(-(e4 ? e4 : e6)));
	return (int)done;
}

/* ---- pacing ---------------------------------------------------------------------------- */

struct pace_slot {
	struct reinject_pkt pk;
	uint8_t msg[WG_MSG_INITIATION_LEN];
	uint64_t queued_ns;
	bool held;                 /* counted as held once */
};

struct reinject_pacer {
	struct gcra g;
	unsigned int burst;        /* >= 1 */
	uint64_t max_age_ns;
	size_t cap, head, n;       /* ring */
	struct pace_slot *q;
};

struct reinject_pacer *reinject_pacer_new(size_t cap, unsigned int per_sec, unsigned int burst,
					  uint64_t max_age_ns)
{
	struct reinject_pacer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->q = calloc(cap ? cap : 1, sizeof(*p->q));
	if (!p->q) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->cap = cap ? cap : 1;
	p->burst = burst ? burst : 1;
	reinject_pacer_set_rate(p, per_sec);
	p->max_age_ns = max_age_ns;
	return p;
}

void reinject_pacer_set_rate(struct reinject_pacer *p, unsigned int per_sec)
{
	gcra_set_rate(&p->g, per_sec ? per_sec : 1, p->burst);
}

void reinject_pacer_free(struct reinject_pacer *p)
{
	if (!p)
		return;
	free(p->q);
	free(p);
}

bool reinject_pacer_push(struct reinject_pacer *p, const struct reinject_pkt *pk, uint64_t now_ns)
{
	struct pace_slot *s;

	if (p->n == p->cap)
		return false;
	s = &p->q[(p->head + p->n++) % p->cap];
	s->pk = *pk;
	memcpy(s->msg, pk->msg, sizeof(s->msg));
	s->pk.msg = s->msg;
	s->queued_ns = now_ns;
	s->held = false;
	return true;
}

void reinject_pacer_run(struct reinject_pacer *p, const struct reinject_io *io, uint64_t now_ns,
			struct reinject_counts *c, void (*prep)(void *arg, struct reinject_pkt *pk, uint8_t *msg),
			void (*sent)(void *arg, const struct reinject_pkt *pk, uint64_t sent_ns), void *arg)
{
	struct reinject_pkt out[REINJECT_MAX];
	bool ok[REINJECT_MAX];
	size_t m, i;
	int ret;

	while (p->n) {
		for (m = 0; p->n && m < REINJECT_MAX;) {
			struct pace_slot *s = &p->q[p->head];

			if (now_ns - s->queued_ns >= p->max_age_ns) {
				c->expired++;
			} else if (gcra_take(&p->g, now_ns)) {
				out[m] = s->pk;
				if (prep)
					prep(arg, &out[m], s->msg);
				m++;
			} else {
				/* the rest wait: count each once */
				for (i = 0; i < p->n; ++i) {
					struct pace_slot *w = &p->q[(p->head + i) % p->cap];

					c->held += !w->held;
					w->held = true;
				}
				break;
			}
			p->head = (p->head + 1) % p->cap;
			p->n--;
		}
		if (!m)
			return;
		/* out[] points into slots just released: nothing is pushed before the send or in the hooks */
		ret = io->send(io->ctx, out, m, ok);
		for (i = 0; i < m; ++i) {
			if (ret > 0 && ok[i]) {
				c->sent++;
				if (sent)
					sent(arg, &out[i], now_ns);
			} else {
				c->failed++;
			}
		}
		if (m < REINJECT_MAX)
			return;
	}
}

uint64_t reinject_pacer_due(const struct reinject_pacer *p)
{
	uint64_t ready;

	if (!p->n)
		return UINT64_MAX;
	/* gcra_take passes once tat - now <= tolerance */
	ready = p->g.tat_ns > p->g.tolerance_ns ? p->g.tat_ns - p->g.tolerance_ns : 0;
	return ready;
}

size_t reinject_pacer_waiting(const struct reinject_pacer *p)
{
	return p->n;
}

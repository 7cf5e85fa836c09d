// SPDX-License-Identifier: MIT
/*
 * The admission set (nftset.h): the mirror of installed peers' endpoints,
 * and its one backend, nftables over netlink with libnftnl + libmnl.
 */
#include "gateway/install/nftset.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "common/clock.h"
#include "common/log.h"

/* ---- spec and key encoding (pure) ------------------------------------------------ */

static int spec_fail(char err[NFTSET_ERR_MAX], const char *s, const char *why)
{
	snprintf(err, NFTSET_ERR_MAX, "--admit-set: '%s' %s (want FAMILY:TABLE:SETPREFIX, e.g. inet:jitwg:admit)",
		 s, why);
	return -EINVAL;
}

/* nft identifiers are wider; this is what a ruleset we document needs, and no shell metacharacters. */
static bool name_ok(const char *p, size_t len)
{
	size_t i;

	if (!len || len > NFTSET_NAME_MAX - 2 || !isalpha((unsigned char)p[0]))
		return false;
	for (i = 1; i < len; ++i)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-')
			return false;
	return true;
}

int nftset_spec_parse(const char *s, struct nftset_spec *out, char err[NFTSET_ERR_MAX])
{
	const char *c1, *c2, *end;
	size_t flen;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	c1 = strchr(s, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || !c2 || strchr(c2 + 1, ':'))
		return spec_fail(err, s, "is not three fields separated by ':'");
	flen = (size_t)(c1 - s);
	if (flen == 4 && !strncmp(s, "inet", 4))
		out->family = NFPROTO_INET;
	else if (flen == 2 && !strncmp(s, "ip", 2))
		out->family = NFPROTO_IPV4;
	else if (flen == 3 && !strncmp(s, "ip6", 3))
		out->family = NFPROTO_IPV6;
	else
		return spec_fail(err, s, "has a family other than inet, ip or ip6");
	if (!name_ok(c1 + 1, (size_t)(c2 - c1 - 1)))
		return spec_fail(err, s, "has no valid table name (letters, digits, _ and -, at most 30)");
	end = c2 + 1 + strlen(c2 + 1);
	if (!name_ok(c2 + 1, (size_t)(end - c2 - 1)))
		return spec_fail(err, s, "has no valid set prefix (letters, digits, _ and -, at most 30)");
	memcpy(out->table, c1 + 1, (size_t)(c2 - c1 - 1));
	memcpy(out->prefix, c2 + 1, (size_t)(end - c2 - 1));
	return 0;
}

size_t nftset_key_encode(const union dp_endpoint *ep, uint8_t out[NFTSET_KEY_MAX])
{
	memset(out, 0, NFTSET_KEY_MAX);
	if (ep->addr.sa_family == AF_INET) {
		memcpy(out, &ep->addr4.sin_addr, 4);
		memcpy(out + 4, &ep->addr4.sin_port, 2); /* already network order; 2 bytes of padding */
		return 8;
	}
	if (ep->addr.sa_family == AF_INET6) {
		memcpy(out, &ep->addr6.sin6_addr, 16);
		memcpy(out + 16, &ep->addr6.sin6_port, 2);
		return 20;
	}
	return 0;
}

/* ---- the mirror ------------------------------------------------------------------ */

struct entry {
	uint8_t key[NFTSET_KEY_MAX];
	uint8_t klen;                /* 8: IPv4, 20: IPv6 */
	bool queued;                 /* in s->pending */
	uint32_t count;              /* installed peers on this endpoint */
	uint32_t sync;               /* the same, counted by the running sync */
	uint64_t put_ms;             /* last successful put, 0 = never */
	union dp_endpoint ep;
	struct entry *next;
};

struct nftset {
	struct nftset_backend be;
	struct metrics *m;
	struct entry **buckets;
	size_t nbuckets, count;
	struct entry **pending;
	size_t npending, cap_pending;
	bool resync;                 /* the next sync_end() rebuilds from scratch */
	bool flush;                  /* the next commit empties the sets first */
	uint64_t logged_ms;          /* last error line */
	uint64_t unlogged;           /* errors since */
};

enum { BUCKETS_MIN = 1024 };

static size_t hash_key(const uint8_t *k, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a: keys are installed peers' endpoints, not chosen in bulk */
	size_t i;

	for (i = 0; i < len; ++i) {
		h ^= k[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static struct entry **slot_of(struct nftset *s, const uint8_t *k, size_t len)
{
	struct entry **pp = &s->buckets[hash_key(k, len) & (s->nbuckets - 1)];

	while (*pp && ((*pp)->klen != len || memcmp((*pp)->key, k, len)))
		pp = &(*pp)->next;
	return pp;
}

static void grow(struct nftset *s)
{
	size_t n = s->nbuckets * 2, i;
	struct entry **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return; /* longer chains, still correct */
	for (i = 0; i < s->nbuckets; ++i) {
		struct entry *e = s->buckets[i], *next;
		for (; e; e = next) {
			size_t h = hash_key(e->key, e->klen) & (n - 1);
			next = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

/* Finds or creates the entry of ep; NULL for an endpoint without a family, or on ENOMEM (-> rebuild later). */
static struct entry *lookup(struct nftset *s, const union dp_endpoint *ep, bool create)
{
	uint8_t k[NFTSET_KEY_MAX];
	size_t len = nftset_key_encode(ep, k);
	struct entry **pp, *e;

	if (!len)
		return NULL;
	pp = slot_of(s, k, len);
	if (*pp || !create)
		return *pp;
	e = calloc(1, sizeof(*e));
	if (!e) {
		s->resync = true;
		return NULL;
	}
	memcpy(e->key, k, len);
	e->klen = (uint8_t)len;
	if (ep->addr.sa_family == AF_INET) {
		e->ep.addr4.sin_family = AF_INET;
		e->ep.addr4.sin_addr = ep->addr4.sin_addr;
		e->ep.addr4.sin_port = ep->addr4.sin_port;
	} else {
		e->ep.addr6.sin6_family = AF_INET6;
		e->ep.addr6.sin6_addr = ep->addr6.sin6_addr;
		e->ep.addr6.sin6_port = ep->addr6.sin6_port;
	}
	*pp = e;
	if (++s->count > s->nbuckets * 2)
		grow(s);
	return e;
}

static void unlink_free(struct nftset *s, struct entry *e)
{
	struct entry **pp = slot_of(s, e->key, e->klen);

	if (*pp == e) {
		*pp = e->next;
		s->count--;
	}
	free(e);
}

static void queue(struct nftset *s, struct entry *e)
{
	if (e->queued)
		return;
	if (s->npending == s->cap_pending) {
		size_t ncap = s->cap_pending ? s->cap_pending * 2 : 256;
		void *np = realloc(s->pending, ncap * sizeof(*s->pending));
		if (!np) {
			s->resync = true;
			return;
		}
		s->pending = np;
		s->cap_pending = ncap;
	}
	s->pending[s->npending++] = e;
	e->queued = true;
}

struct nftset *nftset_new(const struct nftset_backend *be, struct metrics *m)
{
	struct nftset *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->buckets = calloc(BUCKETS_MIN, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->nbuckets = BUCKETS_MIN;
	s->be = *be;
	s->m = m;
	s->resync = true; /* whatever the set holds from an earlier run is rebuilt at the first sync */
	return s;
}

void nftset_free(struct nftset *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nbuckets; ++i) {
		struct entry *e = s->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->buckets);
	free(s->pending);
	if (s->be.free)
		s->be.free(s->be.ctx);
	free(s);
}

void nftset_hold(struct nftset *s, const union dp_endpoint *ep)
{
	struct entry *e = lookup(s, ep, true);

	if (e && e->count++ == 0)
		queue(s, e);
}

void nftset_release(struct nftset *s, const union dp_endpoint *ep)
{
	struct entry *e = lookup(s, ep, false);

	if (e && e->count && --e->count == 0)
		queue(s, e);
}

void nftset_resync(struct nftset *s)
{
	s->resync = true;
}

void nftset_sync_begin(struct nftset *s)
{
	size_t i;
	struct entry *e;

	for (i = 0; i < s->nbuckets; ++i)
		for (e = s->buckets[i]; e; e = e->next)
			e->sync = 0;
}

void nftset_sync_hold(struct nftset *s, const union dp_endpoint *ep)
{
	struct entry *e = lookup(s, ep, true);

	if (e)
		e->sync++;
}

void nftset_sync_end(struct nftset *s, uint64_t now_ms, uint64_t timeout_ms)
{
	bool all = s->resync;
	size_t i;
	struct entry *e;

	s->resync = false;
	if (all)
		s->flush = true;
	for (i = 0; i < s->nbuckets; ++i) {
		for (e = s->buckets[i]; e; e = e->next) {
			e->count = e->sync;
			if (!e->count || all || !e->put_ms || now_ms - e->put_ms >= timeout_ms / 2)
				queue(s, e);
		}
	}
}

int nftset_commit(struct nftset *s, uint64_t now_ms, uint64_t timeout_ms)
{
	struct nftset_op *ops = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (!s->npending && !s->flush)
		goto out;
	if (s->npending && !(ops = calloc(s->npending, sizeof(*ops)))) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < s->npending; ++i) {
		struct entry *e = s->pending[i];
		/* After a flush a delete has nothing left to do. */
		if (!e->count && s->flush)
			continue;
		ops[n].kind = e->count ? NFTSET_PUT : NFTSET_DEL;
		ops[n].ep = e->ep;
		n++;
	}
	ret = s->be.apply(s->be.ctx, s->flush, ops, n, timeout_ms);
	if (ret)
		goto fail;
	s->flush = false;
	metrics_add(&s->m->admit_set_writes, n);
	for (i = 0; i < s->npending; ++i)
		if (s->pending[i]->count)
			s->pending[i]->put_ms = now_ms;
	goto done;
fail:
	metrics_inc(&s->m->admit_set_errors);
	s->resync = true;
	s->unlogged++;
	if (!s->logged_ms || now_ms - s->logged_ms >= 60000) {
		log_warn("admission set: writing %zu endpoints failed: %s (%llu failures since the last line); "
			 "rebuilding it at the next sweep", n, strerror(-ret), (unsigned long long)s->unlogged);
		s->logged_ms = now_ms;
		s->unlogged = 0;
	}
done:
	/* Written or not, nobody holds these: a failed delete is the rebuild's (or the timeout's). */
	for (i = 0; i < s->npending; ++i) {
		struct entry *e = s->pending[i];
		e->queued = false;
		if (!e->count)
			unlink_free(s, e);
	}
	s->npending = 0;
out:
	free(ops);
	metrics_gauge_set(&s->m->admit_set_elements, (int64_t)s->count);
	return ret;
}

size_t nftset_count(const struct nftset *s)
{
	return s->count;
}

/* ---- the nftables backend ---------------------------------------------------------- */

enum {
	CHUNK = 256,                 /* elements per transaction */
	BATCH_BUF = 256 * 1024,      /* > a chunk's worst case: 7 messages of 256 IPv6 elements, ~80 KiB */
};

struct nl_backend {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	struct nftset_spec spec;
	char name[2][NFTSET_NAME_MAX + 1]; /* [0] PREFIX4, [1] PREFIX6; "" when the family has none */
	char *buf;
};

static int fam_index(const union dp_endpoint *ep)
{
	return ep->addr.sa_family == AF_INET ? 0 : ep->addr.sa_family == AF_INET6 ? 1 : -1;
}

/*
 * One set-element message into the batch: the family's elements of ops for
 * which want() holds (all of them when want is NULL). A NEWSETELEM carries
 * the timeout. A message without elements is only written for a flush.
 */
static int put_msg(struct nl_backend *nb, struct mnl_nlmsg_batch *b, uint16_t type, int fam,
		   const struct nftset_op *ops, size_t n, bool (*want)(const struct nftset_op *),
		   uint64_t timeout_ms, bool flush)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	size_t i, added = 0;
	int ret = 0;

	if (!set)
		return -ENOMEM;
	nftnl_set_set_str(set, NFTNL_SET_TABLE, nb->spec.table);
	nftnl_set_set_str(set, NFTNL_SET_NAME, nb->name[fam]);
	for (i = 0; i < n && !flush; ++i) {
		struct nftnl_set_elem *e;
		uint8_t k[NFTSET_KEY_MAX];
		size_t len;

		if (fam_index(&ops[i].ep) != fam || (want && !want(&ops[i])))
			continue;
		len = nftset_key_encode(&ops[i].ep, k);
		e = nftnl_set_elem_alloc();
		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, k, (uint32_t)len);
		if (type == NFT_MSG_NEWSETELEM)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
		nftnl_set_elem_add(set, e);
		added++;
	}
	if (!added && !flush)
		goto out;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, nb->spec.family,
				    type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, nb->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	if (!mnl_nlmsg_batch_next(b))
		ret = -EMSGSIZE; /* cannot happen with CHUNK and BATCH_BUF as sized */
out:
	nftnl_set_free(set);
	return ret;
}

static bool is_put(const struct nftset_op *op)
{
	return op->kind == NFTSET_PUT;
}

/* Reads the errors the kernel queued while it ran the batch (it runs inside sendmsg); never waits. */
static int read_errors(struct nl_backend *nb)
{
	char rbuf[8192];
	ssize_t len;
	int ret = 0;

	for (;;) {
		len = recv(mnl_socket_get_fd(nb->nl), rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && !ret)
				ret = -errno;
			break;
		}
		if (mnl_cb_run(rbuf, (size_t)len, 0, nb->portid, NULL, NULL) < 0 && !ret)
			ret = errno ? -errno : -EPROTO;
	}
	return ret;
}

/*
 * A put is add (no-op if present), delete, add: the timeout is fresh on
 * every kernel (re-adding a present element only refreshes it from Linux
 * 6.10 on), and no step fails on a missing element. A delete is add,
 * delete, for the same reason (Linux 6.1 has no DESTROYSETELEM). After a
 * flush in the same batch, puts are plain adds.
 */
static int nl_apply_chunk(struct nl_backend *nb, bool flush, bool flushed, const struct nftset_op *ops, size_t n,
			  uint64_t timeout_ms)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(nb->buf, BATCH_BUF / 2);
	int fam, ret = 0;

	if (!b)
		return -ENOMEM;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), nb->seq++);
	mnl_nlmsg_batch_next(b);
	for (fam = 0; fam < 2 && !ret; ++fam) {
		if (!nb->name[fam][0])
			continue;
		if (flush)
			ret = put_msg(nb, b, NFT_MSG_DELSETELEM, fam, NULL, 0, NULL, 0, true);
		if (!ret && !flushed && !flush)
			ret = put_msg(nb, b, NFT_MSG_NEWSETELEM, fam, ops, n, NULL, timeout_ms, false);
		if (!ret && !flushed && !flush)
			ret = put_msg(nb, b, NFT_MSG_DELSETELEM, fam, ops, n, NULL, 0, false);
		if (!ret)
			ret = put_msg(nb, b, NFT_MSG_NEWSETELEM, fam, ops, n, is_put, timeout_ms, false);
	}
	if (ret)
		goto out;
	nftnl_batch_end(mnl_nlmsg_batch_current(b), nb->seq++);
	mnl_nlmsg_batch_next(b);
	if (mnl_socket_sendto(nb->nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) {
		ret = -errno;
		goto out;
	}
	ret = read_errors(nb);
out:
	mnl_nlmsg_batch_stop(b);
	return ret;
}

static int nl_apply(void *ctx, bool flush, const struct nftset_op *ops, size_t n, uint64_t timeout_ms)
{
	struct nl_backend *nb = ctx;
	size_t at = 0;
	int ret = 0;

	/* A flush with nothing to put is still one transaction. */
	do {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		ret = nl_apply_chunk(nb, flush && at == 0, flush, ops + at, k, timeout_ms);
		at += k;
	} while (!ret && at < n);
	return ret;
}

static void nl_free(void *ctx)
{
	struct nl_backend *nb = ctx;

	if (!nb)
		return;
	if (nb->nl)
		mnl_socket_close(nb->nl);
	free(nb->buf);
	free(nb);
}

struct set_info {
	bool found;
	uint32_t key_len, flags;
};

static int set_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct set_info *si = arg;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) == 0) {
		si->found = true;
		si->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
		si->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Asks the kernel for one set (GETSET, answered at once); 0, or -errno with the reason in err. */
static int check_set(struct nl_backend *nb, int fam, char err[NFTSET_ERR_MAX])
{
	static const char *const fams[] = { [NFPROTO_INET] = "inet", [NFPROTO_IPV4] = "ip", [NFPROTO_IPV6] = "ip6" };
	static const char *const types[] = { "ipv4_addr . inet_service", "ipv6_addr . inet_service" };
	const uint32_t want_len = fam ? 20 : 8;
	struct set_info si = { 0 };
	struct nftnl_set *set = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	uint32_t seq = nb->seq++;
	ssize_t len;
	int ret = 0, cb;

	if (!set)
		return -ENOMEM;
	nftnl_set_set_str(set, NFTNL_SET_TABLE, nb->spec.table);
	nftnl_set_set_str(set, NFTNL_SET_NAME, nb->name[fam]);
	nlh = nftnl_nlmsg_build_hdr(nb->buf, NFT_MSG_GETSET, nb->spec.family, NLM_F_ACK, seq);
	nftnl_set_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	if (mnl_socket_sendto(nb->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		len = mnl_socket_recvfrom(nb->nl, nb->buf, BATCH_BUF);
		if (len < 0) {
			ret = -errno;
			goto out;
		}
		cb = mnl_cb_run(nb->buf, (size_t)len, seq, nb->portid, set_cb, &si);
	} while (cb > MNL_CB_STOP);
	if (cb < 0)
		ret = -errno;
out:
	if (ret == -ENOENT)
		snprintf(err, NFTSET_ERR_MAX, "nftables set %s %s %s not found: load the ruleset first "
			 "(nft -f /usr/share/jitwg/jitwg.nft)", fams[nb->spec.family], nb->spec.table, nb->name[fam]);
	else if (ret == -EPERM)
		snprintf(err, NFTSET_ERR_MAX, "nftables: %s (needs CAP_NET_ADMIN)", strerror(-ret));
	else if (ret)
		snprintf(err, NFTSET_ERR_MAX, "nftables set %s %s %s: %s", fams[nb->spec.family], nb->spec.table,
			 nb->name[fam], strerror(-ret));
	else if (!si.found || si.key_len != want_len || !(si.flags & NFT_SET_TIMEOUT)) {
		snprintf(err, NFTSET_ERR_MAX, "nftables set %s %s %s: want type %s and flags timeout",
			 fams[nb->spec.family], nb->spec.table, nb->name[fam], types[fam]);
		ret = -EINVAL;
	}
	return ret;
}

struct nftset *nftset_open(const struct nftset_spec *spec, struct metrics *m, char err[NFTSET_ERR_MAX])
{
	struct nl_backend *nb = calloc(1, sizeof(*nb));
	struct nftset_backend be = { .apply = nl_apply, .free = nl_free };
	struct timeval tv = { .tv_sec = 2 };
	struct nftset *s = NULL;
	int fam, e = ENOMEM;

	err[0] = '\0';
	if (!nb || !(nb->buf = malloc(BATCH_BUF)))
		goto fail;
	nb->spec = *spec;
	nb->seq = (uint32_t)time(NULL);
	if (spec->family != NFPROTO_IPV6)
		snprintf(nb->name[0], sizeof(nb->name[0]), "%s4", spec->prefix);
	if (spec->family != NFPROTO_IPV4)
		snprintf(nb->name[1], sizeof(nb->name[1]), "%s6", spec->prefix);
	nb->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nb->nl || mnl_socket_bind(nb->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		snprintf(err, NFTSET_ERR_MAX, "nftables: netlink socket: %s", strerror(e));
		goto fail;
	}
	nb->portid = mnl_socket_get_portid(nb->nl);
	/* Errors without a copy of the (up to ~11 KiB) message that caused them. */
	setsockopt(mnl_socket_get_fd(nb->nl), SOL_NETLINK, NETLINK_CAP_ACK, &(int){ 1 }, sizeof(int));
	/* Only the start-up check waits for an answer; bounded all the same. */
	setsockopt(mnl_socket_get_fd(nb->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (fam = 0; fam < 2; ++fam) {
		int ret;
		if (!nb->name[fam][0])
			continue;
		ret = check_set(nb, fam, err);
		if (ret) {
			e = -ret;
			goto fail;
		}
	}
	be.ctx = nb;
	s = nftset_new(&be, m);
	if (!s) {
		e = errno;
		goto fail;
	}
	return s;
fail:
	if (!err[0])
		snprintf(err, NFTSET_ERR_MAX, "nftables: %s", strerror(e));
	nl_free(nb);
	errno = e;
	return NULL;
}

// SPDX-License-Identifier: MIT
/*
 * Where the clients' datagrams leave and arrive. Two ways, one per run:
 *
 * own       each client has its own UDP socket, bound to its source and
 *           connected to the gateway: the kernel demultiplexes replies by
 *           4-tuple. One file descriptor per client.
 * shared    (--shared-ports, or when the descriptor limit is below the
 *           client count) client g has source address prefix+1+(g mod A)
 *           and port slot g div A, where A is the prefix's size: one
 *           unconnected socket per port slot serves A clients, each with
 *           its own address, sent with IP_PKTINFO and told apart on
 *           receipt by the destination address. Port slot p belongs to
 *           thread p mod T. So 100,000 clients need 2 descriptors over a
 *           /16 instead of 100,000 (a container may cap RLIMIT_NOFILE).
 */
#include "loadgen/internal.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { RECV_BUF = 2048 };

/* Number of usable source addresses in the prefix (hosts, without network and broadcast for IPv4). */
uint64_t lg_prefix_hosts(const struct cidr *p)
{
	unsigned bits = p->family == AF_INET ? 32u : 128u;

	if (!p->family)
		return 0;
	if (bits - p->prefix >= 63)
		return 1ULL << 62;
	if (p->family == AF_INET && p->prefix >= 31)
		return 1;
	return (1ULL << (bits - p->prefix)) - (p->family == AF_INET ? 2 : 1);
}

/* The source address of address offset off in the prefix. */
static void prefix_addr(const struct cidr *p, uint64_t off, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (p->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)out;
		uint32_t base;

		s->sin_family = AF_INET;
		memcpy(&base, p->addr, 4);
		s->sin_addr.s_addr = htonl(ntohl(base) + (p->prefix >= 31 ? 0 : 1) + (uint32_t)off);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)out;
		uint64_t lo;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, p->addr, 16);
		memcpy(&lo, (uint8_t *)&s->sin6_addr + 8, 8);
		lo = htobe64(be64toh(lo) + 1 + off);
		memcpy((uint8_t *)&s->sin6_addr + 8, &lo, 8);
	}
}

/* The offset of a destination address in the prefix, or UINT64_MAX. */
static uint64_t prefix_offset(const struct cidr *p, const void *addr)
{
	uint64_t off;

	if (p->family == AF_INET) {
		uint32_t a, base;

		memcpy(&a, addr, 4);
		memcpy(&base, p->addr, 4);
		off = (uint64_t)ntohl(a) - ntohl(base) - (p->prefix >= 31 ? 0 : 1);
	} else {
		uint64_t a, base;

		if (memcmp(addr, p->addr, 8))
			return UINT64_MAX;
		memcpy(&a, (const uint8_t *)addr + 8, 8);
		memcpy(&base, p->addr + 8, 8);
		off = be64toh(a) - be64toh(base) - 1;
	}
	return off < lg_prefix_hosts(p) ? off : UINT64_MAX;
}

int lg_client_socket(const struct loadgen_config *cfg, size_t i, int *fd_out)
{
	struct sockaddr_storage src;
	socklen_t slen = cfg->endpoint.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							    : sizeof(struct sockaddr_in6);
	int fd, one = 1, ret = 0;

	fd = socket(cfg->endpoint.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&src, 0, sizeof(src));
	src.ss_family = cfg->endpoint.ss_family;
	if (cfg->source_prefix.family)
		prefix_addr(&cfg->source_prefix, i % lg_prefix_hosts(&cfg->source_prefix), &src);
	if (cfg->base_port) {
		uint16_t port = htons((uint16_t)(cfg->base_port + i));

		if (src.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = port;
		else
			((struct sockaddr_in6 *)&src)->sin6_port = port;
	}
	/* Addresses of the prefix need only be routed locally (FREEBIND). */
	(void)setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	if ((cfg->source_prefix.family || cfg->base_port) && bind(fd, (struct sockaddr *)&src, slen) < 0) {
		ret = -errno;
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)&cfg->endpoint, cfg->endpoint_len) < 0) {
		ret = -errno;
		goto out;
	}
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int lg_shared_socket(const struct loadgen_config *cfg, size_t slot, int *fd_out)
{
	struct sockaddr_storage any;
	int fd, one = 1, ret = 0, fam = cfg->endpoint.ss_family;
	socklen_t slen = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int buf = 4 << 20;

	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&any, 0, sizeof(any));
	any.ss_family = (sa_family_t)fam;
	if (cfg->base_port) {
		uint16_t port = htons((uint16_t)(cfg->base_port + slot));

		if (fam == AF_INET)
			((struct sockaddr_in *)&any)->sin_port = port;
		else
			((struct sockaddr_in6 *)&any)->sin6_port = port;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	(void)setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	if (fam == AF_INET)
		ret = setsockopt(fd, SOL_IP, IP_PKTINFO, &one, sizeof(one));
	else
		ret = setsockopt(fd, SOL_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	if (ret < 0 || bind(fd, (struct sockaddr *)&any, slen) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*fd_out = fd;
	return 0;
}

void lg_send(struct lg_thread *t, struct client *c, const uint8_t *p, size_t len)
{
	const struct loadgen_config *cfg = t->run->cfg;
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct sockaddr_storage src;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr m = { .msg_name = (void *)&cfg->endpoint, .msg_namelen = cfg->endpoint_len,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (c->fd >= 0) {
		n = send(c->fd, p, len, 0);
		goto out;
	}
	/* Shared port: our own source address rides in IP_PKTINFO. */
	prefix_addr(&cfg->source_prefix, c->id % t->run->naddr, &src);
	memset(&ctl, 0, sizeof(ctl));
	m.msg_control = ctl.b;
	cm = (struct cmsghdr *)ctl.b;
	if (src.ss_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = ((struct sockaddr_in *)&src)->sin_addr };

		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = SOL_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = ((struct sockaddr_in6 *)&src)->sin6_addr };

		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = SOL_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	n = sendmsg(t->shared_fds[c->id / t->run->naddr / t->run->nthreads], &m, 0);
out:
	if (n != (ssize_t)len)
		t->st.send_errors++;
	if (t->run->trace)
		lg_trace(t->run, "out", p, len);
}

/* A shared socket's datagrams: the destination address names the client. */
static void drain_shared(struct lg_thread *t, uint32_t slot, int64_t now)
{
	const struct loadgen_config *cfg = t->run->cfg;
	uint8_t buf[RECV_BUF];
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct sockaddr_storage from;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m;
	struct cmsghdr *cm;
	ssize_t n;

	for (;;) {
		uint64_t off = UINT64_MAX;
		size_t idx;

		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
		n = recvmsg(t->shared_fds[slot], &m, MSG_DONTWAIT);
		if (n < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				off = prefix_offset(&cfg->source_prefix, &pi.ipi_addr);
			} else if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				off = prefix_offset(&cfg->source_prefix, &pi.ipi6_addr);
			}
		}
		idx = (size_t)slot * t->run->naddr + off;
		if (off == UINT64_MAX || idx >= t->nclients) {
			t->st.bad_packets++;
			continue;
		}
		client_packet(t, &t->clients[idx], buf, (size_t)n, now);
	}
}

void lg_drain(struct lg_thread *t, uint32_t tag, int64_t now)
{
	uint8_t buf[RECV_BUF];
	struct client *c;
	ssize_t len;

	if (tag & LG_TAG_SHARED) {
		drain_shared(t, tag & ~LG_TAG_SHARED, now);
		return;
	}
	c = &t->clients[tag];
	while (c->fd >= 0 && (len = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		client_packet(t, c, buf, (size_t)len, now);
}

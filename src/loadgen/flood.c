// SPDX-License-Identifier: MIT
/*
 * Handshake floods for bench/flood, sent with sendmmsg() in batches from
 * one thread while the legitimate clients connect:
 *   junk     148 bytes with type byte 1 and random rest (mac1 fails);
 *   keys     valid initiations (mac1 and every AEAD) from random static
 *            keys, one UDP socket; a pool of --flood-keys messages (each
 *            with its own key and ephemeral) made before the flood and
 *            sent round-robin (each message repeats once per pool cycle);
 *   spoofed  the same pool from random source addresses and ports in a
 *            prefix, through a raw socket (root; the source addresses
 *            need no configuration, replies go nowhere);
 *   replay   one initiation (given, or made from the first client key)
 *            from random sources in the prefix (raw), or without a prefix
 *            from 256 UDP sockets (source ports) in turn.
 */
#include "loadgen/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "crypto/x25519.h"

enum { BATCH = 64, PORTS = 256, HDR4 = 20 + 8, HDR6 = 40 + 8, MAXPKT = HDR6 + WG_MSG_INITIATION_LEN };

struct flood_state {
	struct lg_flood *fl;
	const struct loadgen_config *cfg;
	uint8_t (*pool)[WG_MSG_INITIATION_LEN];
	size_t npool, next;
	int raw;
	int udp[PORTS];
	size_t nudp;
	uint64_t rng;
};

static int make_pool(struct flood_state *fs)
{
	const struct loadgen_config *cfg = fs->cfg;
	struct noise_remote r;
	struct noise_local l;
	struct noise_handshake hs;
	struct timespec rt;
	uint8_t priv[WG_KEY_LEN], ts[WG_TAI64N_LEN], eph[WG_KEY_LEN];
	size_t i, n;
	int ret = 0;

	noise_remote_init(&r, cfg->server_public, cfg->has_psk ? cfg->psk : NULL);
	n = cfg->flood == LOADGEN_FLOOD_REPLAY || cfg->flood == LOADGEN_FLOOD_JUNK ? 1
	    : cfg->flood_keys ? cfg->flood_keys : 4096;
	if (cfg->flood == LOADGEN_FLOOD_JUNK)
		n = 256;
	fs->pool = calloc(n, sizeof(*fs->pool));
	if (!fs->pool)
		return -ENOMEM;
	/* Each message has its own ephemeral, as a real attacker's would: a
	 * shared one would let a gateway drop the flood as replays. */
	clock_gettime(CLOCK_REALTIME, &rt);
	noise_tai64n(ts, (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec);
	for (i = 0; i < n; ++i) {
		if (cfg->flood == LOADGEN_FLOOD_JUNK) {
			if (RAND_bytes(fs->pool[i], WG_MSG_INITIATION_LEN) != 1) {
				ret = -EIO;
				goto out;
			}
			fs->pool[i][0] = MESSAGE_HANDSHAKE_INITIATION;
			fs->pool[i][1] = fs->pool[i][2] = fs->pool[i][3] = 0;
			continue;
		}
		if (cfg->flood == LOADGEN_FLOOD_REPLAY && cfg->has_flood_packet) {
			memcpy(fs->pool[i], cfg->flood_packet, WG_MSG_INITIATION_LEN);
			continue;
		}
		if (cfg->flood == LOADGEN_FLOOD_REPLAY && cfg->keys)
			memcpy(priv, cfg->keys[0], WG_KEY_LEN);
		else if ((ret = x25519_generate(priv)))
			goto out;
		if ((ret = noise_local_init(&l, priv, &r)) || (ret = x25519_generate(eph)))
			goto out;
		ret = noise_handshake_create_initiation(&hs, fs->pool[i], &l, &r, (uint32_t)lg_rand(&fs->rng),
							ts, eph, NULL, 0);
		noise_handshake_wipe(&hs);
		noise_local_wipe(&l);
		if (ret)
			goto out;
	}
	fs->npool = n;
out:
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(eph, sizeof(eph));
	return ret;
}

/* IP + UDP + payload from a random source in the prefix; returns the length. */
static size_t spoof(struct flood_state *fs, uint8_t *out, const uint8_t *payload)
{
	const struct loadgen_config *cfg = fs->cfg;
	const struct cidr *pf = &cfg->flood_prefix;
	uint64_t rnd = lg_rand(&fs->rng);
	uint16_t sport = htons((uint16_t)(1024 + rnd % 64000)), dport, v;
	uint8_t src[16];
	size_t i, hl = pf->family == AF_INET ? 20 : 40, len = hl + 8 + WG_MSG_INITIATION_LEN;
	unsigned bits = pf->prefix;

	memcpy(src, pf->addr, sizeof(src));
	for (i = bits / 8; i < (pf->family == AF_INET ? 4u : 16u); ++i) {
		uint8_t r = (uint8_t)(lg_rand(&fs->rng) >> 24);

		if (i == bits / 8 && bits % 8)
			src[i] = (uint8_t)((src[i] & (0xff << (8 - bits % 8))) | (r & (0xff >> (bits % 8))));
		else
			src[i] = r;
	}
	memset(out, 0, hl + 8);
	if (pf->family == AF_INET) {
		const struct sockaddr_in *d = (const struct sockaddr_in *)&cfg->endpoint;

		dport = d->sin_port;
		out[0] = 0x45;
		v = htons((uint16_t)len);
		memcpy(out + 2, &v, 2);
		out[8] = 64;
		out[9] = IPPROTO_UDP;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, &d->sin_addr, 4);
		/* The kernel fills in the IPv4 checksum and id; UDP's may be 0. */
	} else {
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)&cfg->endpoint;

		dport = d->sin6_port;
		out[0] = 0x60;
		v = htons(8 + WG_MSG_INITIATION_LEN);
		memcpy(out + 4, &v, 2);
		out[6] = IPPROTO_UDP;
		out[7] = 64;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, &d->sin6_addr, 16);
	}
	memcpy(out + hl, &sport, 2);
	memcpy(out + hl + 2, &dport, 2);
	v = htons(8 + WG_MSG_INITIATION_LEN);
	memcpy(out + hl + 4, &v, 2);
	memcpy(out + hl + 8, payload, WG_MSG_INITIATION_LEN);
	if (pf->family == AF_INET6) {
		/* IPv6 needs the UDP checksum: pseudo-header, header, payload. */
		uint32_t sum = udpip_csum_add(0, out + 8, 32);

		sum += IPPROTO_UDP + 8 + WG_MSG_INITIATION_LEN;
		sum = udpip_csum_add(sum, out + hl, 8 + WG_MSG_INITIATION_LEN);
		v = htons(udpip_csum_fold(sum));
		if (!v)
			v = 0xffff;
		memcpy(out + hl + 6, &v, 2);
	}
	return len;
}

static int open_sockets(struct flood_state *fs)
{
	const struct loadgen_config *cfg = fs->cfg;
	int fam = cfg->endpoint.ss_family;
	size_t i, n;

	fs->raw = -1;
	if (cfg->flood == LOADGEN_FLOOD_SPOOFED ||
	    (cfg->flood == LOADGEN_FLOOD_REPLAY && cfg->flood_prefix.family)) {
		if (cfg->flood_prefix.family != fam)
			return -EAFNOSUPPORT;
		fs->raw = socket(fam, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		return fs->raw < 0 ? -errno : 0;
	}
	n = cfg->flood == LOADGEN_FLOOD_REPLAY ? PORTS : 1;
	for (i = 0; i < n; ++i) {
		int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		fs->udp[fs->nudp++] = fd;
		if (connect(fd, (const struct sockaddr *)&cfg->endpoint, cfg->endpoint_len) < 0)
			return -errno;
	}
	return 0;
}

void *lg_flood_main(void *arg)
{
	struct lg_flood *fl = arg;
	struct flood_state fs = { .fl = fl, .cfg = fl->run->cfg };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	static __thread uint8_t bufs[BATCH][MAXPKT];
	int64_t start, end, now;
	size_t i, turn = 0;
	int n, ret;

	if (RAND_bytes((uint8_t *)&fs.rng, sizeof(fs.rng)) != 1 || !fs.rng)
		fs.rng = 0x2545F4914F6CDD1DULL;
	if ((ret = make_pool(&fs)) || (ret = open_sockets(&fs))) {
		fl->err = ret;
		goto out;
	}
	if (fs.cfg->flood_started)
		fs.cfg->flood_started();
	start = lg_now_ns();
	end = start + (int64_t)(fs.cfg->flood_s * 1e9);
	memset(msgs, 0, sizeof(msgs));
	while (!*fl->run->stop && (now = lg_now_ns()) < end) {
		if (fs.cfg->flood_rate > 0) {
			double due = (double)(now - start) / 1e9 * fs.cfg->flood_rate;

			if ((double)fl->sent >= due) {
				struct timespec ts = { 0, 200000 };

				nanosleep(&ts, NULL);
				continue;
			}
		}
		for (i = 0; i < BATCH; ++i) {
			const uint8_t *p = fs.pool[fs.next];

			fs.next = (fs.next + 1) % fs.npool;
			if (fs.raw >= 0) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = spoof(&fs, bufs[i], p);
				msgs[i].msg_hdr.msg_name = (void *)&fs.cfg->endpoint;
				msgs[i].msg_hdr.msg_namelen = fs.cfg->endpoint_len;
			} else {
				iov[i].iov_base = (void *)p;
				iov[i].iov_len = WG_MSG_INITIATION_LEN;
			}
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fs.raw >= 0 ? fs.raw : fs.udp[turn++ % fs.nudp], msgs, BATCH, 0);
		if (n < 0) {
			__atomic_add_fetch(&fl->errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&fl->sent, (uint64_t)n, __ATOMIC_RELAXED);
	}
out:
	if (fs.raw >= 0)
		close(fs.raw);
	for (i = 0; i < fs.nudp; ++i)
		close(fs.udp[i]);
	free(fs.pool);
	return NULL;
}

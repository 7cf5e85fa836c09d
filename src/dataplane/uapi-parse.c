// SPDX-License-Identifier: MIT
/*
 * The text of the cross-platform UAPI: parsing "get=1" replies and
 * formatting "set=1" requests. The daemon on the other end is trusted to be
 * WireGuard, but a broken or hostile implementation must not be able to
 * crash us or make us read past a line, so every value is length-checked
 * before it is decoded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/uapi.h"
#include "crypto/x25519.h"

/* ---- small strict decoders ------------------------------------------------ */

/* Decimal without sign, spaces or overflow; at most max. */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -EPROTO;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -EPROTO;
		if (v > (UINT64_MAX - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	if (v > max)
		return -EPROTO;
	*out = v;
	return 0;
}

void uapi_key_to_hex(char out[static 2 * WG_KEY_LEN + 1], const uint8_t key[static WG_KEY_LEN])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	/* Table lookups indexed by secret nibbles stay within one cache line. */
	for (i = 0; i < WG_KEY_LEN; i++) {
		out[2 * i] = digits[key[i] >> 4];
		out[2 * i + 1] = digits[key[i] & 0xf];
	}
	out[2 * WG_KEY_LEN] = '\0';
}

/*
 * Private and preshared keys pass through here, so no branch or table
 * lookup depends on a digit's value: masks built from comparisons select
 * between the digit and letter decodings.
 */
int uapi_key_from_hex(uint8_t key[static WG_KEY_LEN], const char *s, size_t len)
{
	unsigned bad = 0;
	size_t i;

	if (len != 2 * WG_KEY_LEN) {
		memset(key, 0, WG_KEY_LEN);
		return -EPROTO;
	}
	for (i = 0; i < 2 * WG_KEY_LEN; i++) {
		unsigned c = (unsigned char)s[i];
		unsigned lc = c | 0x20;
		unsigned m_d = 0U - (unsigned)(c - '0' < 10U);
		unsigned m_a = 0U - (unsigned)(lc - 'a' < 6U);
		unsigned v = (m_d & (c - '0')) | (m_a & (lc - 'a' + 10));

		bad |= ~(m_d | m_a) & 1U;
		if (i & 1)
			key[i / 2] |= (uint8_t)(v & 0xf);
		else
			key[i / 2] = (uint8_t)((v & 0xf) << 4);
	}
	if (bad) {
		explicit_bzero(key, WG_KEY_LEN);
		return -EPROTO;
	}
	return 0;
}

static void map_v4mapped(union dp_endpoint *ep)
{
	struct sockaddr_in6 s6 = ep->addr6;

	if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	memset(ep, 0, sizeof(*ep));
	ep->addr4.sin_family = AF_INET;
	ep->addr4.sin_port = s6.sin6_port;
	memcpy(&ep->addr4.sin_addr, &s6.sin6_addr.s6_addr[12], 4);
}

static int endpoint_parse(union dp_endpoint *ep, const char *s, size_t len)
{
	char host[INET6_ADDRSTRLEN + IFNAMSIZ + 2];
	const char *colon, *port_s;
	size_t hlen;
	uint64_t port;
	char *zone;

	memset(ep, 0, sizeof(*ep));
	if (len < 3)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close || close + 1 >= s + len || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - s - 1);
		port_s = close + 2;
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (strlen(host) != hlen)
			return -EINVAL;
		zone = strchr(host, '%');
		if (zone)
			*zone++ = '\0';
		if (inet_pton(AF_INET6, host, &ep->addr6.sin6_addr) != 1)
			return -EINVAL;
		ep->addr6.sin6_family = AF_INET6;
		if (zone) {
			uint64_t idx;

			if (parse_u64(zone, strlen(zone), UINT32_MAX, &idx) == 0)
				ep->addr6.sin6_scope_id = (uint32_t)idx;
			else if (!*zone || !(ep->addr6.sin6_scope_id = if_nametoindex(zone)))
				return -EINVAL;
		}
	} else {
		colon = memchr(s, ':', len);
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		port_s = colon + 1;
		if (hlen == 0 || hlen >= INET_ADDRSTRLEN)
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (strlen(host) != hlen || inet_pton(AF_INET, host, &ep->addr4.sin_addr) != 1)
			return -EINVAL;
		ep->addr4.sin_family = AF_INET;
	}
	if (parse_u64(port_s, (size_t)(s + len - port_s), UINT16_MAX, &port) < 0)
		return -EINVAL;
	/* Both ports sit at the same offset; set it through the family's view. */
	if (ep->addr.sa_family == AF_INET)
		ep->addr4.sin_port = htons((uint16_t)port);
	else
		ep->addr6.sin6_port = htons((uint16_t)port);
	if (ep->addr.sa_family == AF_INET6)
		map_v4mapped(ep);
	return 0;
}

int uapi_endpoint_parse(union dp_endpoint *ep, const char *s, size_t len)
{
	int ret = endpoint_parse(ep, s, len);

	if (ret < 0)
		memset(ep, 0, sizeof(*ep));
	return ret;
}

int uapi_endpoint_format(char out[static UAPI_ENDPOINT_STR_MAX], const union dp_endpoint *ep)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->addr.sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &ep->addr4.sin_addr, a, sizeof(a)))
			return -EINVAL;
		snprintf(out, UAPI_ENDPOINT_STR_MAX, "%s:%u", a, ntohs(ep->addr4.sin_port));
		return 0;
	}
	if (ep->addr.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &ep->addr6.sin6_addr, a, sizeof(a)))
			return -EINVAL;
		if (ep->addr6.sin6_scope_id)
			snprintf(out, UAPI_ENDPOINT_STR_MAX, "[%s%%%u]:%u", a,
				 ep->addr6.sin6_scope_id, ntohs(ep->addr6.sin6_port));
		else
			snprintf(out, UAPI_ENDPOINT_STR_MAX, "[%s]:%u", a, ntohs(ep->addr6.sin6_port));
		return 0;
	}
	return -EINVAL;
}

/* "addr/prefix"; host bits are cleared, as the data plane does itself. */
static int parse_allowedip(struct dp_allowedip *a, const char *s, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = memchr(s, '/', len);
	uint64_t prefix;
	uint8_t *bytes;
	size_t hlen, nbytes, i;

	memset(a, 0, sizeof(*a));
	if (!slash)
		return -EPROTO;
	hlen = (size_t)(slash - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EPROTO;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (strlen(host) != hlen)
		return -EPROTO;
	if (inet_pton(AF_INET, host, &a->ip4) == 1) {
		a->family = AF_INET;
		nbytes = 4;
		bytes = (uint8_t *)&a->ip4;
	} else if (inet_pton(AF_INET6, host, &a->ip6) == 1) {
		a->family = AF_INET6;
		nbytes = 16;
		bytes = a->ip6.s6_addr;
	} else {
		return -EPROTO;
	}
	if (parse_u64(slash + 1, (size_t)(s + len - slash - 1), nbytes * 8, &prefix) < 0)
		return -EPROTO;
	a->cidr = (uint8_t)prefix;
	for (i = 0; i < nbytes; i++) {
		size_t bit = i * 8;

		if (bit >= prefix)
			bytes[i] = 0;
		else if (bit + 8 > prefix)
			bytes[i] &= (uint8_t)(0xff00U >> (prefix - bit));
	}
	return 0;
}

/* ---- get parser ----------------------------------------------------------- */

void uapi_get_init(struct uapi_get *g, bool want_peers)
{
	memset(g, 0, sizeof(*g));
	g->want_peers = want_peers;
}

void uapi_get_uninit(struct uapi_get *g)
{
	dataplane_peers_free(g->peers, g->n_peers);
	g->peers = NULL;
	g->n_peers = g->cap_peers = 0;
	dataplane_device_wipe(&g->dev);
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

static int new_peer(struct uapi_get *g, const char *v, size_t vlen)
{
	uint8_t key[WG_KEY_LEN];
	struct dp_peer *p;

	if (uapi_key_from_hex(key, v, vlen) < 0)
		return -EPROTO;
	if (!g->want_peers) {
		g->n_peers++;
		return 0;
	}
	if (g->n_peers == g->cap_peers) {
		size_t cap = g->cap_peers ? g->cap_peers * 2 : 64;

		if (cap > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(g->peers, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		g->peers = p;
		g->cap_peers = cap;
	}
	p = &g->peers[g->n_peers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, key, WG_KEY_LEN);
	g->cap_aips = 0;
	g->nsec_seen = false;
	return 0;
}

static int add_allowedip(struct uapi_get *g, const char *v, size_t vlen)
{
	struct dp_allowedip a, *arr;
	struct dp_peer *p;

	if (parse_allowedip(&a, v, vlen) < 0)
		return -EPROTO;
	if (!g->want_peers)
		return 0;
	p = &g->peers[g->n_peers - 1];
	if (p->n_allowed_ips == g->cap_aips) {
		size_t cap = g->cap_aips ? g->cap_aips * 2 : 4;

		if (cap > UAPI_MAX_ALLOWEDIPS)
			return -EPROTO;
		arr = realloc(p->allowed_ips, cap * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		p->allowed_ips = arr;
		g->cap_aips = cap;
	}
	p->allowed_ips[p->n_allowed_ips++] = a;
	return 0;
}

static int peer_line(struct uapi_get *g, const char *k, size_t klen, const char *v, size_t vlen)
{
	struct dp_peer scratch, *p = &scratch;
	uint64_t n;

	if (g->want_peers)
		p = &g->peers[g->n_peers - 1];
	if (key_is(k, klen, "allowed_ip"))
		return add_allowedip(g, v, vlen);
	if (key_is(k, klen, "endpoint"))
		return uapi_endpoint_parse(&p->endpoint, v, vlen) < 0 ? -EPROTO : 0;
	if (key_is(k, klen, "preshared_key")) {
		/* Validated, never returned: the seam does not hand out PSKs. */
		uint8_t psk[WG_KEY_LEN];
		int ret = uapi_key_from_hex(psk, v, vlen);

		explicit_bzero(psk, sizeof(psk));
		return ret;
	}
	if (key_is(k, klen, "last_handshake_time_sec")) {
		if (parse_u64(v, vlen, INT64_MAX, &n) < 0)
			return -EPROTO;
		p->last_handshake_sec = (int64_t)n;
		return 0;
	}
	if (key_is(k, klen, "last_handshake_time_nsec")) {
		g->nsec_seen = true;
		return parse_u64(v, vlen, 999999999, &n);
	}
	if (key_is(k, klen, "rx_bytes"))
		return parse_u64(v, vlen, UINT64_MAX, &p->rx_bytes);
	if (key_is(k, klen, "tx_bytes"))
		return parse_u64(v, vlen, UINT64_MAX, &p->tx_bytes);
	if (key_is(k, klen, "persistent_keepalive_interval")) {
		if (parse_u64(v, vlen, UINT16_MAX, &n) < 0)
			return -EPROTO;
		p->persistent_keepalive = (uint16_t)n;
		return 0;
	}
	if (key_is(k, klen, "protocol_version"))
		return parse_u64(v, vlen, UINT32_MAX, &n);
	return 0; /* unknown peer key: a newer implementation; skip it */
}

static int device_line(struct uapi_get *g, const char *k, size_t klen, const char *v, size_t vlen)
{
	uint64_t n;

	if (key_is(k, klen, "private_key")) {
		if (uapi_key_from_hex(g->dev.private_key, v, vlen) < 0)
			return -EPROTO;
		g->dev.has_private_key = !key_is_zero(g->dev.private_key);
		return 0;
	}
	if (key_is(k, klen, "listen_port")) {
		if (parse_u64(v, vlen, UINT16_MAX, &n) < 0)
			return -EPROTO;
		g->dev.listen_port = (uint16_t)n;
		return 0;
	}
	if (key_is(k, klen, "fwmark"))
		return parse_u64(v, vlen, UINT32_MAX, &n);
	/* Peer keys before the first public_key mean a confused daemon. */
	if (key_is(k, klen, "endpoint") || key_is(k, klen, "allowed_ip") ||
	    key_is(k, klen, "preshared_key") || key_is(k, klen, "last_handshake_time_sec") ||
	    key_is(k, klen, "rx_bytes") || key_is(k, klen, "tx_bytes") ||
	    key_is(k, klen, "persistent_keepalive_interval"))
		return -EPROTO;
	return 0;
}

int uapi_get_line(struct uapi_get *g, const char *line, size_t len)
{
	const char *eq, *v;
	size_t klen, vlen;
	uint64_t n;

	if (g->done || len == 0 || len > UAPI_LINE_MAX)
		return -EPROTO;
	eq = memchr(line, '=', len);
	if (!eq || eq == line)
		return -EPROTO;
	klen = (size_t)(eq - line);
	v = eq + 1;
	vlen = len - klen - 1;
	if (memchr(line, '\0', len))
		return -EPROTO;

	if (key_is(line, klen, "errno")) {
		if (parse_u64(v, vlen, 4095, &n) < 0)
			return -EPROTO;
		g->reply_errno = (int)n;
		g->done = true;
		return 0;
	}
	if (key_is(line, klen, "public_key"))
		return new_peer(g, v, vlen);
	if (g->n_peers == 0)
		return device_line(g, line, klen, v, vlen);
	if (key_is(line, klen, "private_key") || key_is(line, klen, "listen_port") ||
	    key_is(line, klen, "fwmark"))
		return -EPROTO;
	return peer_line(g, line, klen, v, vlen);
}

int uapi_get_finish(struct uapi_get *g, struct dp_device *dev, struct dp_peer **peers, size_t *n)
{
	int ret = 0;

	if (!g->done) {
		ret = -EPROTO;
		goto out;
	}
	if (g->reply_errno) {
		ret = -g->reply_errno;
		goto out;
	}
	if (g->dev.has_private_key) {
		ret = x25519_public_from_private(g->dev.public_key, g->dev.private_key);
		if (ret < 0)
			goto out;
	}
	if (dev)
		*dev = g->dev;
	if (peers && n) {
		*peers = g->peers;
		*n = g->want_peers ? g->n_peers : 0;
		g->peers = NULL;
		g->n_peers = 0;
	}
out:
	uapi_get_uninit(g);
	return ret;
}

/* ---- set formatter -------------------------------------------------------- */

static int append_str(struct buf *b, const char *s)
{
	return buf_put_str(b, s, strlen(s));
}

static int append_key(struct buf *b, const char *name, const uint8_t key[static WG_KEY_LEN])
{
	char line[32 + 2 * WG_KEY_LEN + 2];
	char hex[2 * WG_KEY_LEN + 1];
	int ret;

	uapi_key_to_hex(hex, key);
	snprintf(line, sizeof(line), "%s=%s\n", name, hex);
	ret = append_str(b, line);
	explicit_bzero(hex, sizeof(hex));
	explicit_bzero(line, sizeof(line));
	return ret;
}

static int append_allowedip(struct buf *b, const struct dp_allowedip *a)
{
	char addr[INET6_ADDRSTRLEN], line[INET6_ADDRSTRLEN + 32];

	if (a->family == AF_INET && a->cidr <= 32)
		inet_ntop(AF_INET, &a->ip4, addr, sizeof(addr));
	else if (a->family == AF_INET6 && a->cidr <= 128)
		inet_ntop(AF_INET6, &a->ip6, addr, sizeof(addr));
	else
		return -EINVAL;
	snprintf(line, sizeof(line), "allowed_ip=%s/%u\n", addr, a->cidr);
	return append_str(b, line);
}

int uapi_format_peer(struct buf *b, const struct dp_peer *p)
{
	char ep[UAPI_ENDPOINT_STR_MAX], line[128];
	int ret;
	size_t i;

	if (p->n_allowed_ips && !p->allowed_ips)
		return -EINVAL;
	ret = append_key(b, "public_key", p->public_key);
	/* update_only must come first: wireguard-go drops a peer it just created. */
	if (!ret && (p->flags & (DP_PEER_UPDATE_ONLY | DP_PEER_UPDATE_QUIET)))
		ret = append_str(b, "update_only=true\n");
	if (!ret && (p->flags & DP_PEER_HAS_PRESHARED_KEY))
		ret = append_key(b, "preshared_key", p->preshared_key);
	if (!ret && (p->flags & DP_PEER_HAS_ENDPOINT)) {
		ret = uapi_endpoint_format(ep, &p->endpoint);
		if (!ret) {
			snprintf(line, sizeof(line), "endpoint=%s\n", ep);
			ret = append_str(b, line);
		}
	}
	if (!ret && (p->flags & DP_PEER_HAS_KEEPALIVE)) {
		snprintf(line, sizeof(line), "persistent_keepalive_interval=%u\n",
			 p->persistent_keepalive);
		ret = append_str(b, line);
	}
	if (!ret && (p->flags & DP_PEER_REPLACE_ALLOWEDIPS))
		ret = append_str(b, "replace_allowed_ips=true\n");
	for (i = 0; !ret && i < p->n_allowed_ips; i++)
		ret = append_allowedip(b, &p->allowed_ips[i]);
	return ret;
}

int uapi_format_remove(struct buf *b, const uint8_t key[static WG_KEY_LEN])
{
	int ret = append_key(b, "public_key", key);

	return ret ? ret : append_str(b, "remove=true\n");
}

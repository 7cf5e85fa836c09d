// SPDX-License-Identifier: MIT
/*
 * nltool: drives the kernel backend (dataplane_netlink_ops) directly, for the
 * real-kernel tests and benchmarks in the guest. Not installed.
 *
 *   nltool IF open                       prints "errno=0" or "errno=ENODEV" ...
 *   nltool IF device [private]           public key, listen port (private key)
 *   nltool IF list                       one line per peer
 *   nltool IF count                      number of peers
 *   nltool IF set KEY [endpoint E] [keepalive N] [psk KEY] [allowed-ips A,B]
 *                     [replace] [update-only]
 *   nltool IF remove KEY...
 *   nltool IF initiate KEY ...           like set, through the dispatcher's
 *                                        dataplane_peer_initiate()
 *   nltool IF dpopen auto|kernel|userspace   dispatcher open: "ok" or its reason
 *   nltool IF gen-add N [seed S] [batch B] [aips K] [start I]
 *   nltool IF gen-verify N [seed S] [aips K]
 *   nltool IF gen-remove N [seed S] [batch B] [start I]
 *
 * The gen-* commands make deterministic peers: peer i's key carries i in its
 * last four bytes and its allowed IPs are unique /32s and /128s, so a dump
 * can be checked peer by peer without keeping the expected set around.
 * gen-add and gen-remove print "peers=N seconds=S rate=R" and the per-call
 * (per-batch) latency "call_ms_p50=.. call_ms_p99=.. call_ms_max=.." for benchmarks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dataplane/dataplane.h"
#include "wire/cidr.h"

static const struct dataplane_ops *ops = &dataplane_netlink_ops;

static const char *errno_name(int e)
{
	switch (e) {
	case 0: return "0";
	case ENODEV: return "ENODEV";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	default: return "other";
	}
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "nltool: %s: %s (errno=%s)\n", what, strerror(-err), errno_name(-err));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void gen_key(uint8_t key[WG_KEY_LEN], uint64_t seed, uint32_t i)
{
	uint64_t x = seed * 1000003ULL + i, v;

	for (int j = 0; j < 28; j += 8) {
		v = splitmix(&x);
		memcpy(key + j, &v, j + 8 <= 28 ? 8 : 4);
	}
	key[28] = i & 0xff;
	key[29] = (i >> 8) & 0xff;
	key[30] = (i >> 16) & 0xff;
	key[31] = (i >> 24) & 0xff;
}

static uint32_t key_index(const uint8_t key[WG_KEY_LEN])
{
	return key[28] | key[29] << 8 | key[30] << 16 | (uint32_t)key[31] << 24;
}

/* Allowed IP j of peer i: 10.0.0.0/8 + u as /32 for even j, fd00::u/128 for odd. */
static void gen_aip(struct dp_allowedip *a, uint32_t i, uint32_t j, uint32_t k)
{
	uint32_t u = i * k + j;

	memset(a, 0, sizeof(*a));
	if (j % 2 == 0) {
		a->family = AF_INET;
		a->cidr = 32;
		a->ip4.s_addr = htonl(0x0a000000U | (u & 0xffffff));
	} else {
		a->family = AF_INET6;
		a->cidr = 128;
		a->ip6.s6_addr[0] = 0xfd;
		a->ip6.s6_addr[12] = u >> 24;
		a->ip6.s6_addr[13] = u >> 16;
		a->ip6.s6_addr[14] = u >> 8;
		a->ip6.s6_addr[15] = u;
	}
}

static const char *opt(int argc, char **argv, int from, const char *name, const char *dflt)
{
	for (int i = from; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return dflt;
}

static bool flag(int argc, char **argv, int from, const char *name)
{
	for (int i = from; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

static void print_endpoint(const union dp_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr4.sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(ep->addr4.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr6.sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(ep->addr6.sin6_port));
	} else {
		snprintf(buf, len, "(none)");
	}
}

static int parse_endpoint(const char *s, union dp_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	size_t hl;
	long port;

	memset(ep, 0, sizeof(*ep));
	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -EINVAL;
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &ep->addr6.sin6_addr) != 1)
			return -EINVAL;
		ep->addr6.sin6_family = AF_INET6;
		ep->addr6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET, host, &ep->addr4.sin_addr) != 1)
		return -EINVAL;
	ep->addr4.sin_family = AF_INET;
	ep->addr4.sin_port = htons((uint16_t)port);
	return 0;
}

static int parse_aips(const char *s, struct dp_allowedip **out, size_t *n)
{
	char *copy = strdup(s), *save = NULL, *tok;
	struct dp_allowedip *a = calloc(strlen(s) / 2 + 2, sizeof(*a));
	size_t k = 0;
	int ret = 0;

	if (!copy || !a) {
		ret = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(tok, '/');
		int fam = strchr(tok, ':') ? AF_INET6 : AF_INET;

		if (!slash) {
			ret = -EINVAL;
			goto out;
		}
		*slash = 0;
		a[k].family = fam;
		a[k].cidr = (uint8_t)atoi(slash + 1);
		if (inet_pton(fam, tok, fam == AF_INET ? (void *)&a[k].ip4 : (void *)&a[k].ip6) != 1) {
			ret = -EINVAL;
			goto out;
		}
		k++;
	}
	*out = a;
	*n = k;
	a = NULL;
out:
	free(copy);
	free(a);
	return ret;
}

static int cmd_list(void *st, bool count_only)
{
	struct dp_peer *peers = NULL;
	size_t n = 0;
	int ret = ops->list_peers(st, &peers, &n);

	if (ret)
		return fail("list", ret);
	if (count_only) {
		printf("%zu\n", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char k[WG_KEY_B64_LEN + 1], ep[80], a[INET6_ADDRSTRLEN];
		const struct dp_peer *p = &peers[i];

		key_to_base64(k, p->public_key);
		print_endpoint(&p->endpoint, ep, sizeof(ep));
		printf("%s %s hs=%lld rx=%llu tx=%llu ka=%u aips=", k, ep, (long long)p->last_handshake_sec,
		       (unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes,
		       p->persistent_keepalive);
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			const struct dp_allowedip *x = &p->allowed_ips[j];

			inet_ntop(x->family, x->family == AF_INET ? (const void *)&x->ip4 : (const void *)&x->ip6,
				  a, sizeof(a));
			printf("%s%s/%u", j ? "," : "", a, x->cidr);
		}
		printf("\n");
	}
out:
	dataplane_peers_free(peers, n);
	return 0;
}

static int cmd_set(void *st, int argc, char **argv, bool initiate)
{
	struct dp_peer p;
	const char *v;
	int ret;

	memset(&p, 0, sizeof(p));
	if (argc < 4 || key_from_base64(p.public_key, argv[3]))
		return fail("set: bad key", -EINVAL);
	if ((v = opt(argc, argv, 4, "endpoint", NULL))) {
		if (parse_endpoint(v, &p.endpoint))
			return fail("set: bad endpoint", -EINVAL);
		p.flags |= DP_PEER_HAS_ENDPOINT;
	}
	if ((v = opt(argc, argv, 4, "keepalive", NULL))) {
		p.persistent_keepalive = (uint16_t)atoi(v);
		p.flags |= DP_PEER_HAS_KEEPALIVE;
	}
	if ((v = opt(argc, argv, 4, "psk", NULL))) {
		if (strcmp(v, "none") && key_from_base64(p.preshared_key, v))
			return fail("set: bad psk", -EINVAL);
		p.flags |= DP_PEER_HAS_PRESHARED_KEY;
	}
	if ((v = opt(argc, argv, 4, "allowed-ips", NULL))) {
		if (parse_aips(v, &p.allowed_ips, &p.n_allowed_ips))
			return fail("set: bad allowed-ips", -EINVAL);
	}
	if (flag(argc, argv, 4, "replace"))
		p.flags |= DP_PEER_REPLACE_ALLOWEDIPS;
	if (flag(argc, argv, 4, "update-only"))
		p.flags |= DP_PEER_UPDATE_ONLY;
	if (initiate) {
		const char *why = NULL;
		struct dataplane *dp = dataplane_open(argv[1], DP_BACKEND_KERNEL, &why);

		if (!dp) {
			fprintf(stderr, "nltool: %s\n", why ? why : "open failed");
			ret = -errno;
		} else {
			ret = dataplane_peer_initiate(dp, &p);
			dataplane_free(dp);
		}
	} else {
		ret = ops->set_peers(st, &p, 1);
	}
	free(p.allowed_ips);
	explicit_bzero(p.preshared_key, sizeof(p.preshared_key));
	return ret ? fail("set", ret) : 0;
}

static int cmd_remove(void *st, int argc, char **argv)
{
	int n = argc - 3;
	uint8_t (*keys)[WG_KEY_LEN] = calloc(n > 0 ? n : 1, WG_KEY_LEN);
	int ret;

	if (!keys)
		return fail("remove", -ENOMEM);
	for (int i = 0; i < n; i++)
		if (key_from_base64(keys[i], argv[3 + i])) {
			free(keys);
			return fail("remove: bad key", -EINVAL);
		}
	ret = ops->remove_peers(st, (const uint8_t (*)[WG_KEY_LEN])keys, n);
	free(keys);
	return ret ? fail("remove", ret) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The gen-* summary: "peers=N seconds=S rate=R", then the per-call latency
 * (one call is one batch: with batch 1, one peer added or removed into a
 * table of whatever size) as p50/p99/max in ms. Sorts calls in place.
 */
static void print_summary(uint32_t n, double seconds, double *calls, size_t ncalls)
{
	printf("peers=%u seconds=%.3f rate=%.0f", n, seconds, seconds > 0 ? n / seconds : 0);
	if (ncalls) {
		qsort(calls, ncalls, sizeof(*calls), cmp_double);
		printf(" call_ms_p50=%.3f call_ms_p99=%.3f call_ms_max=%.3f", calls[(ncalls - 1) / 2] * 1e3,
		       calls[(ncalls * 99 + 99) / 100 - 1] * 1e3, calls[ncalls - 1] * 1e3);
	}
	printf("\n");
}

static int cmd_gen_add(void *st, int argc, char **argv)
{
	uint32_t n = strtoul(argv[3], NULL, 10);
	uint64_t seed = strtoull(opt(argc, argv, 4, "seed", "1"), NULL, 10);
	uint32_t batch = strtoul(opt(argc, argv, 4, "batch", "1000"), NULL, 10);
	uint32_t k = strtoul(opt(argc, argv, 4, "aips", "1"), NULL, 10);
	uint32_t start = strtoul(opt(argc, argv, 4, "start", "0"), NULL, 10);
	struct dp_peer *peers;
	struct dp_allowedip *aips;
	double t0, t, *calls;
	size_t ncalls = 0;
	int ret = 0;

	if (!batch)
		batch = 1;
	peers = calloc(batch, sizeof(*peers));
	aips = calloc((size_t)batch * (k ? k : 1), sizeof(*aips));
	calls = calloc(n / batch + 1, sizeof(*calls));
	if (!peers || !aips || !calls) {
		free(peers);
		free(aips);
		free(calls);
		return fail("gen-add", -ENOMEM);
	}
	t0 = now();
	for (uint32_t i = 0; i < n && !ret; i += batch) {
		uint32_t m = n - i < batch ? n - i : batch;

		for (uint32_t b = 0; b < m; b++) {
			struct dp_peer *p = &peers[b];
			uint32_t idx = start + i + b;

			memset(p, 0, sizeof(*p));
			gen_key(p->public_key, seed, idx);
			p->allowed_ips = aips + (size_t)b * k;
			p->n_allowed_ips = k;
			for (uint32_t j = 0; j < k; j++)
				gen_aip(&p->allowed_ips[j], idx, j, k);
			p->flags = DP_PEER_REPLACE_ALLOWEDIPS;
		}
		t = now();
		ret = ops->set_peers(st, peers, m);
		calls[ncalls++] = now() - t;
	}
	if (!ret)
		print_summary(n, now() - t0, calls, ncalls);
	free(peers);
	free(aips);
	free(calls);
	return ret ? fail("gen-add", ret) : 0;
}

static int cmd_gen_remove(void *st, int argc, char **argv)
{
	uint32_t n = strtoul(argv[3], NULL, 10);
	uint64_t seed = strtoull(opt(argc, argv, 4, "seed", "1"), NULL, 10);
	uint32_t batch = strtoul(opt(argc, argv, 4, "batch", "1000"), NULL, 10);
	uint32_t start = strtoul(opt(argc, argv, 4, "start", "0"), NULL, 10);
	uint8_t (*keys)[WG_KEY_LEN];
	double t0, t, *calls;
	size_t ncalls = 0;
	int ret = 0;

	if (!batch)
		batch = 1;
	keys = calloc(batch, WG_KEY_LEN);
	calls = calloc(n / batch + 1, sizeof(*calls));
	if (!keys || !calls) {
		free(keys);
		free(calls);
		return fail("gen-remove", -ENOMEM);
	}
	t0 = now();
	for (uint32_t i = 0; i < n && !ret; i += batch) {
		uint32_t m = n - i < batch ? n - i : batch;

		for (uint32_t b = 0; b < m; b++)
			gen_key(keys[b], seed, start + i + b);
		t = now();
		ret = ops->remove_peers(st, (const uint8_t (*)[WG_KEY_LEN])keys, m);
		calls[ncalls++] = now() - t;
	}
	if (!ret)
		print_summary(n, now() - t0, calls, ncalls);
	free(keys);
	free(calls);
	return ret ? fail("gen-remove", ret) : 0;
}

/* Checks that the dump holds exactly peers 0..n-1 with all their allowed IPs. */
static int cmd_gen_verify(void *st, int argc, char **argv)
{
	uint32_t n = strtoul(argv[3], NULL, 10);
	uint64_t seed = strtoull(opt(argc, argv, 4, "seed", "1"), NULL, 10);
	uint32_t k = strtoul(opt(argc, argv, 4, "aips", "1"), NULL, 10);
	struct dp_peer *peers = NULL;
	uint8_t *seen = calloc(n ? n : 1, 1), key[WG_KEY_LEN];
	size_t got = 0, bad = 0;
	double t0 = now();
	int ret;

	if (!seen)
		return fail("gen-verify", -ENOMEM);
	ret = ops->list_peers(st, &peers, &got);
	if (ret) {
		free(seen);
		return fail("gen-verify: list", ret);
	}
	for (size_t i = 0; i < got; i++) {
		const struct dp_peer *p = &peers[i];
		uint32_t idx = key_index(p->public_key);

		gen_key(key, seed, idx);
		if (idx >= n || seen[idx] || memcmp(key, p->public_key, WG_KEY_LEN) ||
		    p->n_allowed_ips != k) {
			bad++;
			continue;
		}
		seen[idx] = 1;
		for (uint32_t j = 0; j < k; j++) {
			struct dp_allowedip want;
			bool found = false;

			gen_aip(&want, idx, j, k);
			/* The kernel lists allowed IPs in trie order, not ours. */
			for (size_t m = 0; m < p->n_allowed_ips && !found; m++) {
				const struct dp_allowedip *a = &p->allowed_ips[m];

				found = a->family == want.family && a->cidr == want.cidr &&
					(a->family == AF_INET ? !memcmp(&a->ip4, &want.ip4, 4)
							      : !memcmp(&a->ip6, &want.ip6, 16));
			}
			if (!found) {
				bad++;
				break;
			}
		}
	}
	printf("listed=%zu expected=%u bad=%zu seconds=%.3f\n", got, n, bad, now() - t0);
	dataplane_peers_free(peers, got);
	free(seen);
	return got == n && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	void *st = NULL;
	const char *cmd;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: nltool IFNAME open|device|list|count|set|remove|gen-add|gen-verify|gen-remove ...\n");
		return 2;
	}
	cmd = argv[2];
	if (!strcmp(cmd, "dpopen") && argc >= 4) {
		enum dp_backend b = !strcmp(argv[3], "kernel") ? DP_BACKEND_KERNEL
				    : !strcmp(argv[3], "userspace") ? DP_BACKEND_USERSPACE
								     : DP_BACKEND_AUTO;
		const char *why = NULL;
		struct dataplane *dp = dataplane_open(argv[1], b, &why);

		if (dp)
			printf("ok %s\n", dataplane_backend_name(dp));
		else
			printf("error %s\n", why ? why : "(no reason)");
		dataplane_free(dp);
		return 0;
	}
	ret = ops->open(argv[1], &st);
	if (!strcmp(cmd, "open")) {
		printf("errno=%s\n", errno_name(-ret));
		if (!ret)
			ops->close(st);
		return 0;
	}
	if (ret)
		return fail("open", ret);
	if (!strcmp(cmd, "device")) {
		struct dp_device dev;
		char k[WG_KEY_B64_LEN + 1];

		ret = ops->get_device(st, &dev);
		if (ret) {
			ret = fail("device", ret);
			goto out;
		}
		key_to_base64(k, dev.public_key);
		printf("name=%s public=%s port=%u has_private=%d\n", dev.name, k, dev.listen_port,
		       dev.has_private_key);
		if (flag(argc, argv, 3, "private")) {
			key_to_base64(k, dev.private_key);
			printf("private=%s\n", k);
		}
		explicit_bzero(k, sizeof(k));
		explicit_bzero(&dev, sizeof(dev));
	} else if (!strcmp(cmd, "list") || !strcmp(cmd, "count")) {
		ret = cmd_list(st, !strcmp(cmd, "count"));
	} else if (!strcmp(cmd, "set")) {
		ret = cmd_set(st, argc, argv, false);
	} else if (!strcmp(cmd, "initiate")) {
		ret = cmd_set(st, argc, argv, true);
	} else if (!strcmp(cmd, "remove")) {
		ret = cmd_remove(st, argc, argv);
	} else if (!strcmp(cmd, "gen-add") && argc >= 4) {
		ret = cmd_gen_add(st, argc, argv);
	} else if (!strcmp(cmd, "gen-remove") && argc >= 4) {
		ret = cmd_gen_remove(st, argc, argv);
	} else if (!strcmp(cmd, "gen-verify") && argc >= 4) {
		ret = cmd_gen_verify(st, argc, argv);
	} else {
		fprintf(stderr, "nltool: unknown command %s\n", cmd);
		ret = 2;
	}
out:
	ops->close(st);
	return ret;
}

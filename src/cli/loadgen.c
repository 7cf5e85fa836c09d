// SPDX-License-Identifier: MIT
/*
 * jitwg loadgen: options, the keys file, and the report (src/loadgen does
 * the work). The last line of stdout is the contract scripts parse:
 *   handshakes: N ok, M failed; connect ms p50 A p99 B max C
 * Exit 0 when every client connected, 1 when some failed, 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/addrport.h"
#include "wire/keyfile.h"
#include "loadgen/loadgen.h"
#include "wire/keys.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* A line for scripts that start the legitimate clients once a flood is on. */
static void on_flood_started(void)
{
	fputs("flood: sending\n", stderr);
	fflush(stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: jitwg loadgen --endpoint ADDR:PORT --server-public-key KEY [options]\n"
		"\n"
		"Simulated WireGuard clients, each with its own key and UDP socket.\n"
		"  --endpoint ADDR:PORT        the gateway ([v6]:port for IPv6)\n"
		"  --server-public-key KEY     the gateway's public key (base64)\n"
		"  --keys FILE                 one base64 private key per line, optionally\n"
		"                              followed by the client's tunnel IPv4 address;\n"
		"                              without: fresh random keys\n"
		"  --clients N                 clients (default: the keys in FILE, else 1; 0 with --flood)\n"
		"  --rate R                    client arrivals per second (default 1000; 0: all at once)\n"
		"  --threads T                 event-loop threads (default 1)\n"
		"  --start-after S             first client starts S seconds in (after a flood began)\n"
		"  --role both|initiator|responder  (default both: initiate, and answer the\n"
		"                              gateway's initiation; responder never initiates)\n"
		"  --psk KEY                   preshared key of every client\n"
		"  --source-prefix CIDR        spread client source addresses over CIDR\n"
		"  --base-port P               client i binds port P+i (shared: port slot i)\n"
		"  --shared-ports              clients share sockets, one source address each\n"
		"                              (automatic when file descriptors run short)\n"
		"  --hold S                    stay connected S seconds (default 0: leave)\n"
		"  --keepalive S               keepalive every S seconds while connected\n"
		"  --data                      ... an ICMP echo (data) instead of a keepalive (with --ping)\n"
		"  --return S                  after the hold, silent S seconds, then connect again once\n"
		"  --ping ADDR                 one ICMP echo through each tunnel to ADDR\n"
		"  --tunnel-prefix CIDR        client i's tunnel address: CIDR base + 2 + i\n"
		"  --ping-timeout S            (default 5)\n"
		"  --attempt-time S            give up after S (default 90, REKEY_ATTEMPT_TIME)\n"
		"  --rekey-timeout S           retransmit after S + jitter (default 5, REKEY_TIMEOUT)\n"
		"  --progress S                progress line on stderr every S seconds (default 5; 0: off)\n"
		"  --flood junk|keys|spoofed|replay  a handshake flood alongside (bench/flood)\n"
		"  --flood-rate PPS            (default: as fast as it goes)\n"
		"  --flood-duration S          (default 10)\n"
		"  --flood-prefix CIDR         spoofed sources (spoofed, replay)\n"
		"  --flood-keys N              random-key pool (default 4096)\n"
		"  --flood-packet HEXFILE      the initiation to replay (default: made from the first key)\n"
		"  --trace FILE                every datagram and ephemeral key as hex (tests only)\n");
}

/* "KEY [ADDR]" per line; blank lines and '#' comments skipped. */
static int read_keys(struct loadgen_config *cfg, const char *path, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char line[512], *tok, *save;
	size_t cap = 0, lineno = 0;
	int ret = 0;

	if (!f) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || tok[0] == '#')
			continue;
		if (cfg->nkeys == cap) {
			size_t nc = cap ? cap * 2 : 256;
			void *k = realloc(cfg->keys, nc * WG_KEY_LEN);
			void *a = realloc(cfg->tunnel_addrs, nc * sizeof(struct cidr));

			if (k)
				cfg->keys = k;
			if (a)
				cfg->tunnel_addrs = a;
			if (!k || !a) {
				ret = -ENOMEM;
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			cap = nc;
		}
		if (key_from_base64(cfg->keys[cfg->nkeys], tok)) {
			snprintf(why, whylen, "%s:%zu: not a base64 key", path, lineno);
			ret = -EINVAL;
			goto out;
		}
		memset(&cfg->tunnel_addrs[cfg->nkeys], 0, sizeof(struct cidr));
		tok = strtok_r(NULL, " \t\r\n", &save);
		if (tok && (cidr_parse(&cfg->tunnel_addrs[cfg->nkeys], tok) ||
			    cfg->tunnel_addrs[cfg->nkeys].family != AF_INET)) {
			snprintf(why, whylen, "%s:%zu: '%s' is not an IPv4 address", path, lineno, tok);
			ret = -EINVAL;
			goto out;
		}
		cfg->nkeys++;
	}
	if (!cfg->nkeys) {
		snprintf(why, whylen, "%s: no keys", path);
		ret = -EINVAL;
	}
out:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return ret;
}

static int read_hex_packet(uint8_t out[static WG_MSG_INITIATION_LEN], const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	return hex_decode(out, WG_MSG_INITIATION_LEN, buf, n) == WG_MSG_INITIATION_LEN ? 0 : -EINVAL;
}

static bool parse_double(const char *s, double *out, double min)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min) || v > 1e9)
		return false;
	*out = v;
	return true;
}

static void on_progress(const struct loadgen_progress *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "progress: %.2f s: started %llu, ok %llu, failed %llu, in flight %llu, retries %llu",
		p->t, (unsigned long long)p->started, (unsigned long long)p->ok,
		(unsigned long long)p->failed, (unsigned long long)p->inflight,
		(unsigned long long)p->retries);
	if (p->flood_sent)
		fprintf(stderr, ", flood sent %llu", (unsigned long long)p->flood_sent);
	fputc('\n', stderr);
}

static void report(const struct loadgen_config *cfg, const struct loadgen_stats *s)
{
	static const double edges[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000 };
	size_t counts[sizeof(edges) / sizeof(edges[0]) + 1] = { 0 }, i, b;

	for (i = 0; i < s->nconnect; ++i) {
		double ms = s->connect_us[i] / 1000.0;

		for (b = 0; b < sizeof(edges) / sizeof(edges[0]) && ms >= edges[b]; ++b)
			;
		counts[b]++;
	}
	printf("connect ms histogram:");
	for (b = 0; b <= sizeof(edges) / sizeof(edges[0]); ++b) {
		if (!counts[b])
			continue;
		if (b < sizeof(edges) / sizeof(edges[0]))
			printf(" <%g:%zu", edges[b], counts[b]);
		else
			printf(" >=%g:%zu", edges[b - 1], counts[b]);
	}
	printf("\nconnect ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", loadgen_percentile_ms(s, 50),
	       loadgen_percentile_ms(s, 90), loadgen_percentile_ms(s, 99), loadgen_percentile_ms(s, 100));
	printf("timeouts %llu, retries %llu, cookie replies %llu, mac2 sent %llu, gateway initiations answered %llu\n",
	       (unsigned long long)s->timeouts, (unsigned long long)s->retries,
	       (unsigned long long)s->cookies, (unsigned long long)s->mac2_sent,
	       (unsigned long long)s->responded);
	if (cfg->ping.s_addr)
		printf("pings: %llu ok, %llu failed\n", (unsigned long long)s->pings_ok,
		       (unsigned long long)s->pings_failed);
	if (cfg->return_s > 0)
		printf("returns %llu\n", (unsigned long long)s->returns);
	if (cfg->periodic_data)
		printf("data: %llu echoes sent while connected, %llu replies\n",
		       (unsigned long long)s->data_sent, (unsigned long long)s->data_replies);
	if (cfg->flood != LOADGEN_FLOOD_NONE)
		printf("flood: %llu packets in %.1f s (%.0f/s), %llu send errors\n",
		       (unsigned long long)s->flood_sent, cfg->flood_s,
		       cfg->flood_s > 0 ? s->flood_sent / cfg->flood_s : 0.0,
		       (unsigned long long)s->flood_errors);
	printf("set-up %.2f s, elapsed %.2f s, cpu %.2f s, %.0f handshakes per cpu-second, max rss %ld KiB, %llu bad packets, %llu send errors\n",
	       s->setup_s, s->elapsed_s, s->cpu_s, s->cpu_s > 0 ? s->ok / s->cpu_s : 0.0, s->max_rss_kib,
	       (unsigned long long)s->bad_packets, (unsigned long long)s->send_errors);
	printf("handshakes: %llu ok, %llu failed; connect ms p50 %.2f p99 %.2f max %.2f\n",
	       (unsigned long long)s->ok, (unsigned long long)s->failed, loadgen_percentile_ms(s, 50),
	       loadgen_percentile_ms(s, 99), loadgen_percentile_ms(s, 100));
	fflush(stdout);
}

enum { O_ENDPOINT = 256, O_SPK, O_KEYS, O_CLIENTS, O_RATE, O_THREADS, O_ROLE, O_PSK, O_SRC, O_PORT,
       O_HOLD, O_KA, O_RETURN, O_PING, O_TUN, O_PINGTO, O_ATTEMPT, O_REKEY, O_PROGRESS, O_FLOOD,
       O_FRATE, O_FDUR, O_FPREFIX, O_FKEYS, O_FPACKET, O_TRACE, O_START, O_SHARED, O_DATA };
static const struct option long_opts[] = {
	{ "endpoint", required_argument, NULL, O_ENDPOINT },
	{ "server-public-key", required_argument, NULL, O_SPK },
	{ "keys", required_argument, NULL, O_KEYS },
	{ "clients", required_argument, NULL, O_CLIENTS },
	{ "rate", required_argument, NULL, O_RATE },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "role", required_argument, NULL, O_ROLE },
	{ "psk", required_argument, NULL, O_PSK },
	{ "source-prefix", required_argument, NULL, O_SRC },
	{ "base-port", required_argument, NULL, O_PORT },
	{ "hold", required_argument, NULL, O_HOLD },
	{ "keepalive", required_argument, NULL, O_KA },
	{ "return", required_argument, NULL, O_RETURN },
	{ "ping", required_argument, NULL, O_PING },
	{ "tunnel-prefix", required_argument, NULL, O_TUN },
	{ "ping-timeout", required_argument, NULL, O_PINGTO },
	{ "attempt-time", required_argument, NULL, O_ATTEMPT },
	{ "rekey-timeout", required_argument, NULL, O_REKEY },
	{ "progress", required_argument, NULL, O_PROGRESS },
	{ "flood", required_argument, NULL, O_FLOOD },
	{ "flood-rate", required_argument, NULL, O_FRATE },
	{ "flood-duration", required_argument, NULL, O_FDUR },
	{ "flood-prefix", required_argument, NULL, O_FPREFIX },
	{ "flood-keys", required_argument, NULL, O_FKEYS },
	{ "flood-packet", required_argument, NULL, O_FPACKET },
	{ "trace", required_argument, NULL, O_TRACE },
	{ "start-after", required_argument, NULL, O_START },
	{ "shared-ports", no_argument, NULL, O_SHARED },
	{ "data", no_argument, NULL, O_DATA },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line gives beyond struct loadgen_config. */
struct args {
	struct loadgen_config cfg;
	const char *keys_path;
	bool have_ep, have_spk, clients_set;
};

/* Applies option c with value s (NULL for flags); false when s is not valid for it. */
static bool set_option(struct args *a, int c, const char *s)
{
	double v;
	bool ok = true;

	switch (c) {
	case O_ENDPOINT: ok = a->have_ep = addrport_resolve(s, 0, &a->cfg.endpoint, &a->cfg.endpoint_len) == 0; break;
	case O_SPK: ok = a->have_spk = key_from_base64(a->cfg.server_public, s) == 0; break;
	case O_KEYS: a->keys_path = s; break;
	case O_CLIENTS:
		ok = parse_double(s, &v, 0) && v == (size_t)v && v <= 10000000;
		a->cfg.clients = (size_t)v;
		a->clients_set = true;
		break;
	case O_RATE: ok = parse_double(s, &a->cfg.rate, 0); break;
	case O_THREADS: ok = parse_double(s, &v, 1) && v == (unsigned)v && v <= 256; a->cfg.threads = (unsigned)v; break;
	case O_ROLE:
		if (!strcmp(s, "both"))
			a->cfg.role = LOADGEN_ROLE_BOTH;
		else if (!strcmp(s, "initiator"))
			a->cfg.role = LOADGEN_ROLE_INITIATOR;
		else if (!strcmp(s, "responder"))
			a->cfg.role = LOADGEN_ROLE_RESPONDER;
		else
			ok = false;
		break;
	case O_PSK: ok = a->cfg.has_psk = key_from_base64(a->cfg.psk, s) == 0; break;
	case O_SRC: ok = cidr_parse(&a->cfg.source_prefix, s) == 0; break;
	case O_PORT: ok = parse_double(s, &v, 1) && v == (unsigned)v && v < 65536; a->cfg.base_port = (unsigned)v; break;
	case O_HOLD: ok = parse_double(s, &a->cfg.hold_s, 0); break;
	case O_KA: ok = parse_double(s, &a->cfg.keepalive_s, 0); break;
	case O_RETURN: ok = parse_double(s, &a->cfg.return_s, 0); break;
	case O_PING: ok = inet_pton(AF_INET, s, &a->cfg.ping) == 1 && a->cfg.ping.s_addr; break;
	case O_TUN: ok = cidr_parse(&a->cfg.tunnel_prefix, s) == 0 && a->cfg.tunnel_prefix.family == AF_INET; break;
	case O_PINGTO: ok = parse_double(s, &a->cfg.ping_timeout_s, 0.001); break;
	case O_ATTEMPT: ok = parse_double(s, &a->cfg.attempt_s, 0.001); break;
	case O_REKEY: ok = parse_double(s, &a->cfg.rekey_timeout_s, 0.001); break;
	case O_PROGRESS: ok = parse_double(s, &a->cfg.progress_s, 0); break;
	case O_FLOOD:
		if (!strcmp(s, "junk"))
			a->cfg.flood = LOADGEN_FLOOD_JUNK;
		else if (!strcmp(s, "keys"))
			a->cfg.flood = LOADGEN_FLOOD_KEYS;
		else if (!strcmp(s, "spoofed"))
			a->cfg.flood = LOADGEN_FLOOD_SPOOFED;
		else if (!strcmp(s, "replay"))
			a->cfg.flood = LOADGEN_FLOOD_REPLAY;
		else
			ok = false;
		break;
	case O_FRATE: ok = parse_double(s, &a->cfg.flood_rate, 0); break;
	case O_FDUR: ok = parse_double(s, &a->cfg.flood_s, 0); break;
	case O_FPREFIX: ok = cidr_parse(&a->cfg.flood_prefix, s) == 0; break;
	case O_FKEYS: ok = parse_double(s, &v, 1) && v == (size_t)v && v <= 10000000; a->cfg.flood_keys = (size_t)v; break;
	case O_FPACKET: ok = a->cfg.has_flood_packet = read_hex_packet(a->cfg.flood_packet, s) == 0; break;
	case O_TRACE: a->cfg.trace_path = s; break;
	case O_START: ok = parse_double(s, &a->cfg.start_after_s, 0); break;
	case O_SHARED: a->cfg.shared_ports = true; break;
	case O_DATA: a->cfg.periodic_data = true; break;
	}
	return ok;
}

/* The options' combinations, once all are read; prints the reason and returns false on a usage error. */
static bool args_check(struct args *a)
{
	struct loadgen_config *cfg = &a->cfg;
	char why[600] = "";

	if (a->keys_path && read_keys(cfg, a->keys_path, why, sizeof(why))) {
		fprintf(stderr, "jitwg loadgen: %s\n", why);
		return false;
	}
	if (!a->clients_set)
		cfg->clients = cfg->nkeys ? cfg->nkeys : 1;
	if (!cfg->clients && cfg->flood == LOADGEN_FLOOD_NONE) {
		fprintf(stderr, "jitwg loadgen: --clients 0 only makes sense with --flood\n");
		return false;
	}
	if (cfg->source_prefix.family && cfg->source_prefix.family != cfg->endpoint.ss_family) {
		fprintf(stderr, "jitwg loadgen: --source-prefix and --endpoint are of different families\n");
		return false;
	}
	if (cfg->base_port && cfg->base_port + cfg->clients > 65536 && !cfg->source_prefix.family) {
		fprintf(stderr, "jitwg loadgen: --base-port %u leaves no port for %zu clients\n", cfg->base_port,
			cfg->clients);
		return false;
	}
	if ((cfg->flood == LOADGEN_FLOOD_SPOOFED && !cfg->flood_prefix.family) ||
	    (cfg->flood_prefix.family && cfg->flood_prefix.family != cfg->endpoint.ss_family)) {
		fprintf(stderr, "jitwg loadgen: --flood spoofed needs --flood-prefix of the endpoint's family\n");
		return false;
	}
	return true;
}

/* Reads argv into *a. Returns 0 to run, 1 after --help, -1 on a usage error (reported). */
static int args_parse(struct args *a, int argc, char **argv)
{
	int c, li;

	memset(a, 0, sizeof(*a));
	a->cfg.rate = 1000;
	a->cfg.threads = 1;
	a->cfg.attempt_s = 90;
	a->cfg.rekey_timeout_s = 5;
	a->cfg.ping_timeout_s = 5;
	a->cfg.progress_s = 5;
	a->cfg.flood_s = 10;
	a->cfg.flood_keys = 4096;
	opterr = 0;
	while ((li = -1, c = getopt_long(argc, argv, "h", long_opts, &li)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c < O_ENDPOINT) {
			fprintf(stderr, "jitwg loadgen: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return -1;
		}
		if (!set_option(a, c, optarg)) {
			fprintf(stderr, "jitwg loadgen: invalid value '%s' for --%s\n", optarg,
				li >= 0 ? long_opts[li].name : "?");
			return -1;
		}
	}
	if (optind != argc || !a->have_ep || !a->have_spk) {
		fprintf(stderr, "jitwg loadgen: %s\n", optind != argc ? "unexpected argument"
				: "--endpoint and --server-public-key are required");
		usage(stderr);
		return -1;
	}
	return args_check(a) ? 0 : -1;
}

int cmd_loadgen(int argc, char **argv)
{
	struct args a;
	struct loadgen_config *cfg = &a.cfg;
	struct loadgen_stats st;
	const char *err = NULL;
	int ret, rc = 2;

	ret = args_parse(&a, argc, argv);
	if (ret) {
		rc = ret > 0 ? 0 : 2;
		goto out;
	}
	cfg->flood_started = on_flood_started;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = loadgen_run(cfg, &st, on_progress, NULL, &stop_flag, &err);
	if (ret) {
		fprintf(stderr, "jitwg loadgen: %s: %s\n", err ? err : "cannot run", strerror(-ret));
		rc = 1;
		goto out;
	}
	report(cfg, &st);
	rc = st.failed || st.ok < cfg->clients ? 1 : 0;
	loadgen_stats_free(&st);
out:
	if (cfg->keys)
		explicit_bzero(cfg->keys, cfg->nkeys * WG_KEY_LEN);
	free(cfg->keys);
	free(cfg->tunnel_addrs);
	explicit_bzero(&a, sizeof(a));
	return rc;
}

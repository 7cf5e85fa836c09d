// SPDX-License-Identifier: MIT
/*
 * jitwg-relay: WireGuard over WebSockets, in front of a WireGuard UDP port.
 * A daemon of its own so that restarting jitwgd never drops users' tunnels.
 * The main thread parses flags, starts the loops, then only waits for
 * signals: SIGHUP reloads the certificate, SIGTERM/SIGINT stop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/addrport.h"
#include "common/log.h"
#include "relay/relay.h"
#include "wire/hook.h"

#ifndef JITWG_VERSION
#define JITWG_VERSION "0.1"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jitwg-relay --listen ADDR:PORT [options]\n"
		"  --listen ADDR:PORT         where WebSocket clients connect\n"
		"  --tls-cert FILE --tls-key FILE\n"
		"                             serve wss:// (PEM chain and key; SIGHUP reloads);\n"
		"                             without them: plain ws:// behind a TLS proxy\n"
		"  --forward ADDR:PORT        WireGuard's UDP port (default 127.0.0.1:51820)\n"
		"  --hook PATH                hand initiations to jitwgd (default path " HOOK_DEFAULT_PATH ",\n"
		"                             use --hook " HOOK_DEFAULT_PATH " or any other; off when absent)\n"
		"  --metrics ADDR:PORT        serve /metrics\n"
		"  --max-connections N        answer 503 beyond N (default %d)\n"
		"  --threads N                event loops (default 2)\n"
		"  --handshake-timeout SEC    TLS handshake + upgrade deadline; also how long a record or\n"
		"                             message may stay unfinished, and a client may leave its\n"
		"                             output unread, before 1008 (default %d)\n"
		"  --idle-timeout SEC         close a WebSocket silent this long; pinged after a third\n"
		"                             (default %d)\n"
		"  --max-per-source N         connections per IPv4 address or IPv6 /64 (default %d;\n"
		"                             0 = no limit)\n"
		"  --trust-proxy CIDR         believe X-Forwarded-For from these peers (repeatable)\n"
		"  --bind-range CIDR          UDP source addresses, inside 127.0.0.0/8 (default 127.1.0.0/16)\n"
		"  --log-level error|warn|info|debug\n"
		"  --version\n",
		RELAY_DEFAULT_MAX_CONNS, RELAY_DEFAULT_HANDSHAKE_MS / 1000, RELAY_DEFAULT_IDLE_MS / 1000,
		RELAY_DEFAULT_PER_SOURCE);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int die(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "jitwg-relay: %s %s: %s\n", opt, val, why);
	return 2;
}

static int parse_bind_range(struct relay_config *cfg, const char *arg)
{
	struct cidr c;
	uint32_t a;

	if (cidr_parse(&c, arg) < 0 || c.family != AF_INET || c.prefix < 8 || c.prefix > 30)
		return die("--bind-range", arg, "expected an IPv4 prefix /8../30");
	memcpy(&a, c.addr, 4);
	a = ntohl(a);
	if ((a >> 24) != 127)
		return die("--bind-range", arg, "must lie inside 127.0.0.0/8");
	cfg->bind_base = a;
	cfg->bind_count = 1u << (32 - c.prefix);
	return 0;
}

static int parse_log_level(const char *arg)
{
	enum log_level lvl;

	if (log_level_parse(arg, &lvl))
		return die("--log-level", arg, "expected " LOG_LEVEL_NAMES);
	log_set_level(lvl);
	return 0;
}

/* One option. Returns 0, 2 (usage error, said), or -1 (done: exit 0). */
static int parse_opt(struct relay_config *cfg, int opt, const char *arg, bool *have_listen)
{
	unsigned v;

	switch (opt) {
	case 'l':
		if (addrport_parse(arg, &cfg->listen) < 0)
			return die("--listen", arg, "expected ADDR:PORT or [V6]:PORT");
		*have_listen = true;
		return 0;
	case 'f':
		if (addrport_parse(arg, &cfg->forward) < 0 ||
		    (cfg->forward.ss_family == AF_INET &&
		     ((struct sockaddr_in *)&cfg->forward)->sin_addr.s_addr == 0))
			return die("--forward", arg, "expected a numeric ADDR:PORT");
		return 0;
	case 'c': cfg->tls_cert = arg; return 0;
	case 'k': cfg->tls_key = arg; return 0;
	case 'H':
		if (!arg[0] || strlen(arg) >= 108)
			return die("--hook", arg, "expected a socket path (< 108 bytes)");
		cfg->hook_path = arg;
		return 0;
	case 'm': cfg->metrics = arg; return 0;
	case 'n':
		return parse_uint(arg, 1, 1000000, &cfg->max_conns) ? die("--max-connections", arg, "expected 1..1000000") : 0;
	case 't':
		return parse_uint(arg, 1, 64, &cfg->threads) ? die("--threads", arg, "expected 1..64") : 0;
	case 'T':
		if (parse_uint(arg, 1, 3600, &v))
			return die("--handshake-timeout", arg, "expected 1..3600 seconds");
		cfg->handshake_ms = v * 1000u;
		return 0;
	case 'I':
		if (parse_uint(arg, 3, 86400, &v))
			return die("--idle-timeout", arg, "expected 3..86400 seconds");
		cfg->idle_ms = v * 1000u;
		return 0;
	case 'S':
		return parse_uint(arg, 0, 1000000, &cfg->max_per_source) ? die("--max-per-source", arg, "expected 0..1000000") : 0;
	case 'p':
		if (cfg->ntrusted >= RELAY_MAX_TRUSTED)
			return die("--trust-proxy", arg, "too many (16 at most)");
		if (cidr_parse(&cfg->trusted[cfg->ntrusted], arg) < 0)
			return die("--trust-proxy", arg, "expected a CIDR prefix");
		cfg->ntrusted++;
		return 0;
	case 'b': return parse_bind_range(cfg, arg);
	case 'L': return parse_log_level(arg);
	case 'V':
		printf("jitwg-relay %s\n", JITWG_VERSION);
		return -1;
	case 'h':
		usage(stdout);
		return -1;
	default:
		usage(stderr);
		return 2;
	}
}

/* Returns 0, 2 (usage error, said) or -1 (done: exit 0). */
static int parse_args(struct relay_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "forward", required_argument, NULL, 'f' },
		{ "hook", required_argument, NULL, 'H' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "max-connections", required_argument, NULL, 'n' },
		{ "max-per-source", required_argument, NULL, 'S' },
		{ "threads", required_argument, NULL, 't' },
		{ "handshake-timeout", required_argument, NULL, 'T' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "trust-proxy", required_argument, NULL, 'p' },
		{ "bind-range", required_argument, NULL, 'b' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_listen = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((ret = parse_opt(cfg, opt, optarg, &have_listen)) != 0)
			return ret;
	if (optind < argc) {
		fprintf(stderr, "jitwg-relay: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!have_listen) {
		fprintf(stderr, "jitwg-relay: --listen is required\n");
		usage(stderr);
		return 2;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, "jitwg-relay: --tls-cert and --tls-key go together\n");
		return 2;
	}
	return 0;
}

/*
 * Raises the soft descriptor limit to the hard one, then says what to raise
 * when it is still short of two descriptors per connection (TCP and UDP)
 * plus some for listeners, epoll and the metrics server.
 */
static void check_fd_limit(const struct relay_config *cfg)
{
	rlim_t need = (rlim_t)cfg->max_conns * 2 + 64 + 8 * cfg->threads;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		log_warn("relay: the descriptor limit (RLIMIT_NOFILE %llu) is below the %llu that "
			 "--max-connections %u needs: raise LimitNOFILE= in the unit (or ulimit -n) to "
			 "%llu, or lower --max-connections to %llu; until then accepts pause when "
			 "descriptors run out", (unsigned long long)rl.rlim_cur, (unsigned long long)need,
			 cfg->max_conns, (unsigned long long)need,
			 (unsigned long long)(rl.rlim_cur > 64 + 8 * cfg->threads
						      ? (rl.rlim_cur - 64 - 8 * cfg->threads) / 2 : 1));
}

/* Waits for signals: SIGHUP reloads the certificate; SIGTERM/SIGINT return. */
static void serve(struct relay *r, sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return;
		if (relay_tls_reload(r) == 0 && r->cfg.tls_cert)
			log_info("relay: certificate reloaded");
	}
}

int main(int argc, char **argv)
{
	static struct relay r;
	struct relay_config *cfg = &r.cfg;
	void *metrics = NULL;
	sigset_t set;
	int ret;

	relay_config_defaults(cfg);
	addrport_parse("127.0.0.1:51820", &cfg->forward);
	pthread_mutex_init(&r.tls_mu, NULL);
	log_set_ident("jitwg-relay");
	if ((ret = parse_args(cfg, argc, argv)) != 0)
		return ret < 0 ? 0 : ret;
	check_fd_limit(cfg);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit the mask */
	ret = 1;
	if (cfg->tls_cert && relay_tls_reload(&r) < 0)
		goto out;
	if (cfg->metrics && !(metrics = relay_metrics_serve(&r)))
		goto out;
	if ((ret = relay_start(&r)) < 0) {
		log_err("relay: start: %s", strerror(-ret));
		ret = 1;
		goto out;
	}
	log_info("relay: jitwg-relay " JITWG_VERSION " listening (%s), forwarding to WireGuard, hook %s, "
		 "%u threads, idle timeout %u s, "
		 "%u per source", cfg->tls_cert ? "wss" : "ws", cfg->hook_path ? cfg->hook_path : "off",
		 cfg->threads, cfg->idle_ms / 1000, cfg->max_per_source);
	serve(&r, &set);
	log_info("relay: stopping");
	ret = 0;
out:
	relay_stop(&r);
	relay_metrics_stop(metrics);
	relay_tls_free(&r);
	return ret;
}

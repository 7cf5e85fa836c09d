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
		"  --handshake-timeout SEC    TLS handshake + upgrade deadline (default %d)\n"
		"  --trust-proxy CIDR         believe X-Forwarded-For from these peers (repeatable)\n"
		"  --bind-range CIDR          UDP source addresses, inside 127.0.0.0/8 (default 127.1.0.0/16)\n"
		"  --log-level error|warn|info|debug\n"
		"  --version\n",
		RELAY_DEFAULT_MAX_CONNS, RELAY_DEFAULT_HANDSHAKE_MS / 1000);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "forward", required_argument, NULL, 'f' },
		{ "hook", required_argument, NULL, 'H' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "max-connections", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "handshake-timeout", required_argument, NULL, 'T' },
		{ "trust-proxy", required_argument, NULL, 'p' },
		{ "bind-range", required_argument, NULL, 'b' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct relay r;
	struct relay_config *cfg = &r.cfg;
	bool have_listen = false;
	void *metrics = NULL;
	struct rlimit rl;
	sigset_t set;
	unsigned v;
	int opt, ret = 1, sig;

	relay_config_defaults(cfg);
	addrport_parse("127.0.0.1:51820", &cfg->forward);
	pthread_mutex_init(&r.tls_mu, NULL);
	log_set_ident("jitwg-relay");
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (addrport_parse(optarg, &cfg->listen) < 0)
				return die("--listen", optarg, "expected ADDR:PORT or [V6]:PORT");
			have_listen = true;
			break;
		case 'f':
			if (addrport_parse(optarg, &cfg->forward) < 0 ||
			    (cfg->forward.ss_family == AF_INET &&
			     ((struct sockaddr_in *)&cfg->forward)->sin_addr.s_addr == 0))
				return die("--forward", optarg, "expected a numeric ADDR:PORT");
			break;
		case 'c': cfg->tls_cert = optarg; break;
		case 'k': cfg->tls_key = optarg; break;
		case 'H':
			if (!optarg[0] || strlen(optarg) >= 108)
				return die("--hook", optarg, "expected a socket path (< 108 bytes)");
			cfg->hook_path = optarg;
			break;
		case 'm': cfg->metrics = optarg; break;
		case 'n':
			if (parse_uint(optarg, 1, 1000000, &cfg->max_conns))
				return die("--max-connections", optarg, "expected 1..1000000");
			break;
		case 't':
			if (parse_uint(optarg, 1, 64, &cfg->threads))
				return die("--threads", optarg, "expected 1..64");
			break;
		case 'T':
			if (parse_uint(optarg, 1, 3600, &v))
				return die("--handshake-timeout", optarg, "expected 1..3600 seconds");
			cfg->handshake_ms = v * 1000u;
			break;
		case 'p':
			if (cfg->ntrusted >= RELAY_MAX_TRUSTED)
				return die("--trust-proxy", optarg, "too many (16 at most)");
			if (cidr_parse(&cfg->trusted[cfg->ntrusted], optarg) < 0)
				return die("--trust-proxy", optarg, "expected a CIDR prefix");
			cfg->ntrusted++;
			break;
		case 'b': {
			struct cidr c;
			uint32_t a;
			if (cidr_parse(&c, optarg) < 0 || c.family != AF_INET || c.prefix < 8 || c.prefix > 30)
				return die("--bind-range", optarg, "expected an IPv4 prefix /8../30");
			memcpy(&a, c.addr, 4);
			a = ntohl(a);
			if ((a >> 24) != 127)
				return die("--bind-range", optarg, "must lie inside 127.0.0.0/8");
			cfg->bind_base = a;
			cfg->bind_count = 1u << (32 - c.prefix);
			break;
		}
		case 'L': {
			enum log_level lvl;

			if (log_level_parse(optarg, &lvl))
				return die("--log-level", optarg, "expected " LOG_LEVEL_NAMES);
			log_set_level(lvl);
			break;
		}
		case 'V':
			printf("jitwg-relay %s\n", JITWG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
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
	/* two descriptors per connection, plus room */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit the mask */
	if (cfg->tls_cert && relay_tls_reload(&r) < 0)
		goto out;
	if (cfg->metrics && !(metrics = relay_metrics_serve(&r)))
		goto out;
	if ((ret = relay_start(&r)) < 0) {
		log_err("relay: start: %s", strerror(-ret));
		ret = 1;
		goto out;
	}
	log_info("relay: jitwg-relay " JITWG_VERSION " listening (%s), forwarding to WireGuard, hook %s, %u threads",
		 cfg->tls_cert ? "wss" : "ws", cfg->hook_path ? cfg->hook_path : "off", cfg->threads);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (relay_tls_reload(&r) == 0 && cfg->tls_cert)
				log_info("relay: certificate reloaded");
			continue;
		}
		break;
	}
	log_info("relay: stopping");
	ret = 0;
out:
	relay_stop(&r);
	relay_metrics_stop(metrics);
	relay_tls_free(&r);
	return ret;
}

// SPDX-License-Identifier: MIT
/*
 * jitwg-registry: the control-plane peer registry.
 *
 *   jitwg-registry --listen ADDR:PORT --db PATH|postgres://... \
 *                  [--token-file F] [--pool CIDR[,CIDR6]] [--threads N] [-v]
 *   jitwg-registry token create|list|revoke --db DB ...   (tokencli.c)
 *
 * Signals are blocked in every thread and taken synchronously here, so the
 * HTTP workers never run a handler; SIGTERM/SIGINT drain in-flight requests
 * and exit 0. Between signals, every second, peers whose expiry is due are
 * deleted (a tombstone in the feed), and once a minute old tombstones go.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/addrport.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "registry/api.h"
#include "registry/http.h"
#include "registry/store.h"
#include "registry/tokencli.h"

enum {
	DEFAULT_THREADS = 4,
	EXPIRE_TICK_S = 1,     /* expiry's tombstones reach the feed within a second */
	PURGE_INTERVAL_S = 60, /* old tombstones go at least this often */
	DRAIN_TIMEOUT_MS = 10000,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: jitwg-registry --listen ADDR:PORT --db PATH|postgres://URL\n"
		"                      [--token-file FILE] [--pool CIDR[,CIDR6]] [--threads N] [-v]\n"
		"       jitwg-registry token create|list|revoke --db DB ...  (token --help)\n"
		"\n"
		"  --listen      address to serve HTTP on: 127.0.0.1:8080, [::1]:8080 (port 0 picks one)\n"
		"  --db          SQLite database file (created, WAL mode) or a PostgreSQL URL\n"
		"  --token-file  require 'Authorization: Bearer <token>' (all but /healthz)\n"
		"  --pool        allocate addresses for peers created without allowed_ips\n"
		"  --threads     HTTP worker threads and database connections (default %d)\n"
		"  -v, --verbose debug logging\n"
		"  --help, --version\n",
		DEFAULT_THREADS);
}

/* True when ADDR:PORT names a loopback address (localhost, 127.0.0.0/8, ::1). */
static bool listen_is_loopback(const char *listen)
{
	struct sockaddr_storage ss;

	if (!strncmp(listen, "localhost:", 10))
		return true;
	if (addrport_parse(listen, &ss))
		return false;
	if (ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
}

/* Why the HTTP server could not start, in the operator's terms; 2 for bad usage. */
static int listen_failed(const char *listen, int err)
{
	if (err == EINVAL) {
		fprintf(stderr, "jitwg-registry: --listen %s: expected ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080\n",
			listen);
		return 2;
	}
	log_err("cannot listen on %s: %s", listen,
		err == EADDRINUSE    ? "the port is already in use (another jitwg-registry? `ss -ltnp` names it)"
		: err == EADDRNOTAVAIL ? "the address is not on this host"
		: err == EACCES	       ? "ports below 1024 need CAP_NET_BIND_SERVICE"
				       : strerror(err));
	return 1;
}

/*
 * The main thread's work while the HTTP threads serve: every EXPIRE_TICK_S
 * second delete the peers whose expiry has come (a tombstone each, so the
 * gateways following the feed drop them), every PURGE_INTERVAL_S also the
 * old tombstones. Returns on SIGTERM or SIGINT (blocked in sigs).
 */
static void housekeep_until_signal(struct store *store, const sigset_t *sigs)
{
	struct timespec ts = { EXPIRE_TICK_S, 0 };
	time_t last_purge = 0, now;
	long purged;
	int sig;

	for (;;) {
		sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			return;
		if (sig < 0 && errno == EAGAIN) {
			now = time(NULL);
			if (now - last_purge >= PURGE_INTERVAL_S) {
				last_purge = now;
				purged = store_purge(store, now);
			} else {
				purged = store_expire(store, now);
			}
			if (purged > 0)
				log_info("expired %ld peers", purged);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "token-file", required_argument, NULL, 't' },
		{ "pool", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *listen = NULL, *db = NULL, *token_file = NULL, *pool = NULL, *why;
	struct api_ctx ctx = { 0 };
	struct http_server *h = NULL;
	unsigned long threads = DEFAULT_THREADS;
	sigset_t sigs;
	uint16_t port = 0;
	char *end;
	int c, ret, status = 1;

	log_set_ident("jitwg-registry");
	if (argc > 1 && !strcmp(argv[1], "token")) {
		log_set_level(LOG_LVL_WARN); /* the audit line would repeat what the command prints */
		return registry_token_main(argc - 1, argv + 1);
	}
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 't': token_file = optarg; break;
		case 'p': pool = optarg; break;
		case 'n':
			threads = strtoul(optarg, &end, 10);
			if (*end || threads < 1 || threads > 64) {
				fprintf(stderr, "jitwg-registry: --threads wants 1..64\n");
				return 2;
			}
			break;
		case 'v': log_set_level(LOG_LVL_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jitwg-registry %s\n", JITWG_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!listen || !db || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!strchr(listen, ':'))
		return listen_failed(listen, EINVAL);
	if (pool) {
		if (pool_parse(&ctx.pool, pool, &why)) {
			fprintf(stderr, "jitwg-registry: --pool %s: %s\n", pool, why);
			return 2;
		}
		ctx.has_pool = true;
	}
	if (token_file) {
		ret = api_token_load(&ctx, token_file);
		if (ret) {
			fprintf(stderr, "jitwg-registry: --token-file %s: %s\n", token_file,
				ret == -EINVAL ? "want one non-empty line" : strerror(-ret));
			return 2;
		}
		if (secret_path_exposed(token_file))
			log_warn("--token-file %s " SECRET_EXPOSED_HINT, token_file);
	}

	/* Before any thread exists, so that every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	ctx.store = store_open(db, (unsigned int)threads);
	if (!ctx.store) {
		log_err("cannot open database %s: %s", strncmp(db, "postgres", 8) ? db : "(postgres URL)",
			strerror(errno));
		goto out;
	}
	h = http_server_start(listen, (unsigned int)threads, &ctx, &port);
	if (!h) {
		status = listen_failed(listen, errno);
		goto out;
	}
	if (!ctx.has_token && !listen_is_loopback(listen))
		log_warn("listening on %s without --token-file: anyone who reaches this address can add, "
			 "change and delete peers; give --token-file FILE or listen on 127.0.0.1", listen);
	log_info("jitwg-registry " JITWG_VERSION " listening on %s port %u (%s store%s%s)", listen, port,
		 store_backend_name(ctx.store),
		 ctx.has_token ? ", token auth" : "", ctx.has_pool ? ", address pool" : "");

	housekeep_until_signal(ctx.store, &sigs);
	log_info("draining");
	http_server_drain_free(h, DRAIN_TIMEOUT_MS);
	h = NULL;
	status = 0;
out:
	http_server_drain_free(h, 0);
	store_free(ctx.store);
	explicit_bzero(&ctx, sizeof(ctx));
	return status;
}

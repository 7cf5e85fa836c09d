// SPDX-License-Identifier: MIT
/*
 * jitwgd: the just-in-time WireGuard gateway daemon.
 *
 * main() parses the configuration, builds the stages (start()), takes
 * signals (wait_signals()) and stops the stages in one documented order
 * (stop()). The packet's path, one folder per stage:
 *   ingest/ -> admit/ -> identify/ -> lookup/ (replay guard, cache,
 *   registry) -> install/ (+ evict); core/ is the frame; docs/ARCHITECTURE.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/log.h"
#include "common/clock.h"
#include "dataplane/dataplane.h"
#include "gateway/core/config.h"
#include "gateway/core/httpd.h"
#include "gateway/install/install.h"
#include "gateway/lookup/lookup.h"
#include "gateway/lookup/prefetch.h"
#include "gateway/lookup/regcheck.h"
#include "gateway/core/metrics.h"
#include "gateway/install/nftset.h"
#include "gateway/install/status.h"
#include "gateway/admit/gate.h"
#include "gateway/identify/identify.h"
#include "gateway/ingest/capture.h"
#include "gateway/ingest/hook.h"
#include "noise/noise.h"

#ifndef JITWG_VERSION
#define JITWG_VERSION "0.1"
#endif

struct daemon {
	struct config cfg;
	struct metrics *m;
	char *token;
	struct status_board *board;
	struct httpd *httpd;
	struct status_server *status;
	struct dataplane *dp;
	struct noise_responder *resp;
	struct capture *cap;
	struct installer *ins;
	struct lookup *lk;
	struct prefetch *pf;         /* the feed follower; NULL with --no-follow */
	struct regcheck *regcheck;   /* the start-up check of the registry; never fatal */
	struct identify *identify;
	struct admit_gate *admit;
	struct ingest_capture *capture_src;
	struct ingest_hook *hook_src;        /* NULL unless --hook */
	struct nftset *admit_set;            /* NULL unless --admit-set; used by the install stage */
	atomic_int fatal;            /* a stage stopped on its own: exit non-zero */
	char pubs[WG_KEY_B64_LEN + 1];
	uint8_t pub[WG_KEY_LEN];     /* the interface's public key (pubs in base64) */
	uint16_t port;
	const char *backend;
};

/* How a new peer's client gets its first answer, for the log lines. */
static const char *answer_mode(const struct config *cfg)
{
	if (cfg->no_initiate)
		return "no-initiate";
	return cfg->reinject ? "re-inject" : "role inversion";
}

/* systemd readiness protocol: one datagram to $NOTIFY_SOCKET; no-op without it. */
static void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

/* A source or stage that can no longer work: stop the daemon, with a failure status. */
static void on_fatal(void *ctx, int err, const char *what)
{
	struct daemon *d = ctx;

	atomic_store(&d->fatal, 1);
	kill(getpid(), SIGTERM);
}

/*
 * Reads the interface's private key into a locked, non-dumpable page and
 * builds the responder from it; the page is wiped before returning. The
 * responder keeps its own locked copy (noise.h).
 */
static struct noise_responder *load_responder(struct dataplane *dp, uint16_t *port, uint8_t pub[WG_KEY_LEN],
					      const char **why)
{
	struct noise_responder *r = NULL;
	struct dp_device *dev;
	long pg = sysconf(_SC_PAGESIZE);
	int ret, e = 0;

	dev = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dev == MAP_FAILED) {
		*why = "cannot map key memory";
		return NULL;
	}
	madvise(dev, (size_t)pg, MADV_DONTDUMP);
	if (mlock(dev, (size_t)pg) < 0) {
		e = errno;
		*why = "cannot lock key memory (mlock; raise LimitMEMLOCK)";
		goto out;
	}
	ret = dataplane_get_device(dp, dev);
	if (ret) {
		e = -ret;
		*why = "cannot read the interface";
		goto out;
	}
	if (!dev->has_private_key) {
		e = ENOKEY;
		*why = "the interface has no private key";
		goto out;
	}
	if (!dev->listen_port) {
		e = EADDRNOTAVAIL;
		*why = "the interface has no listen port";
		goto out;
	}
	*port = dev->listen_port;
	memcpy(pub, dev->public_key, WG_KEY_LEN);
	r = noise_responder_new(dev->private_key);
	if (!r) {
		e = errno;
		*why = "cannot set up the handshake decoder";
	}
out:
	dataplane_device_wipe(dev);
	explicit_bzero(dev, (size_t)pg);
	munlock(dev, (size_t)pg);
	munmap(dev, (size_t)pg);
	if (!r)
		errno = e ? e : EINVAL;
	return r;
}

/* Creates the cache file's directory (e.g. /var/lib/jitwg) if it is missing; one level. */
static void ensure_parent_dir(const char *path)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0700) == 0)
		log_info("created %s", dir);
}

/*
 * The lookup stage is built before the install stage (the cache file is
 * checked before the adoption sweep), so its forward calls go through d:
 * d->ins is set before any stage that feeds the lookup starts.
 */
static void to_install(void *ctx, const struct lookup_event *ev, const struct peer_record *rec)
{
	install_lookup_cb(((struct daemon *)ctx)->ins, ev, rec);
}

static void to_install_gone(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	install_gone_cb(((struct daemon *)ctx)->ins, key);
}

static void to_install_replayed(void *ctx, const struct lookup_event *ev)
{
	install_replayed_cb(((struct daemon *)ctx)->ins, ev);
}

static int to_install_update(void *ctx, const struct peer_record *rec)
{
	return installer_update(ctx, rec);
}

static void fill_installer_config(struct installer_config *ic, const struct config *cfg, struct metrics *m)
{
	memset(ic, 0, sizeof(*ic));
	config_fill_installer(cfg, ic);
	ic->ifname = cfg->interface;
	ic->metrics = m;
}

static void reload(struct daemon *d, int argc, char **argv)
{
	struct config fresh, *run = &d->cfg;
	struct installer_config ic;
	struct admit_config ac = { 0 };
	char err[CONFIG_ERR_MAX];
	int ret;

	sd_notify_msg("RELOADING=1");
	ret = config_load(&fresh, argc, argv, err);
	if (ret) {
		log_err("reload: %s; keeping the running configuration", ret > 0 ? "unexpected --help" : err);
		goto out;
	}
	ret = config_apply_reload(run, &fresh, err);
	if (ret)
		log_warn("reload: %d option(s) need a restart to change (first: %s); applied the rest", ret, err);
	log_set_level(run->log_level);
	fill_installer_config(&ic, run, d->m);
	installer_reconfigure(d->ins, &ic);
	config_fill_admit(run, &ac);
	admit_gate_reconfigure(d->admit, &ac);
	log_info("reloaded %s: idle-timeout %us, grace %us, %s, admit %u/s burst %u above %u/s",
		 run->config_file ? run->config_file : "(command line)", run->idle_timeout, run->grace,
		 answer_mode(run), run->admit_rate, run->admit_burst,
		 run->admit_threshold);
	config_free(&fresh);
out:
	sd_notify_msg("READY=1");
}

/*
 * What can be checked or bound without touching the disk or the data plane:
 * the token, the metrics port and the status socket (a second daemon on the
 * interface stops here).
 */
static int start_windows(struct daemon *d)
{
	struct config *cfg = &d->cfg;
	char err[CONFIG_ERR_MAX];
	const char *why = NULL;

	if (cfg->token_file && !(d->token = config_read_token(cfg->token_file, err))) {
		log_err("%s", err);
		return -1;
	}
	d->m = calloc(1, sizeof(*d->m));
	d->board = d->m ? status_board_new(d->m, 0, 0) : NULL;
	if (!d->board) {
		log_err("out of memory");
		return -1;
	}
	if (cfg->metrics_addr) {
		d->httpd = httpd_new(cfg->metrics_addr, d->m, d->board, &why);
		if (!d->httpd) {
			log_err("%s (%s)", why, cfg->metrics_addr);
			return -1;
		}
	}
	if (cfg->status_socket && *cfg->status_socket) {
		d->status = status_server_new(cfg->status_socket, d->board, &why);
		/* Two daemons on one interface would fight; anything else only costs `jitwg status`. */
		if (!d->status && errno == EADDRINUSE) {
			log_err("%s (%s)", why, cfg->status_socket);
			return -1;
		}
		if (!d->status)
			log_warn("%s (%s: %s); `jitwg status` will not work", why, cfg->status_socket,
				 strerror(errno));
	}
	return 0;
}

/*
 * The data plane, read-only: the interface's key and port (published on the
 * status board), then the capture socket on that port and the admission
 * set's handle (checked now, written only from the install stage's first
 * sweep, a flush and rebuild).
 */
static int start_dataplane(struct daemon *d)
{
	struct config *cfg = &d->cfg;
	char err[CONFIG_ERR_MAX];
	const char *why = NULL;
	struct status_info info;
	uint8_t pub[WG_KEY_LEN];

	d->dp = dataplane_open(cfg->interface, cfg->backend, &why);
	if (!d->dp) {
		log_err("interface %s: %s", cfg->interface, why ? why : strerror(errno));
		return -1;
	}
	d->backend = dataplane_backend_name(d->dp);
	/* `jitwg status` and GET /status read handshakes and transfer through a handle of their own */
	if (d->status || d->httpd)
		status_board_set_live(d->board, dataplane_open(cfg->interface, cfg->backend, NULL));
	d->resp = load_responder(d->dp, &d->port, pub, &why);
	if (!d->resp) {
		log_err("interface %s: %s (%s)", cfg->interface, why, strerror(errno));
		return -1;
	}
	key_to_base64(d->pubs, pub);
	memcpy(d->pub, pub, WG_KEY_LEN);
	memset(&info, 0, sizeof(info));
	snprintf(info.ifname, sizeof(info.ifname), "%s", cfg->interface);
	info.backend = d->backend;
	memcpy(info.public_key, pub, WG_KEY_LEN);
	info.listen_port = d->port;
	status_board_set_info(d->board, &info);
	/* With --hook, initiations from 127.0.0.0/8 come from jitwg-relay's
	 * sockets and arrive through the hook: capturing them too would
	 * process each one twice. */
	d->cap = cfg->hook_path ? capture_open_skip_v4(d->port, 0x7f000000u, 0xff000000u)
				: capture_open(d->port);
	if (!d->cap) {
		log_err("capture on port %u: %s%s", d->port, strerror(errno),
			errno == EPERM ? " (needs CAP_NET_RAW)" : "");
		return -1;
	}
	if (cfg->admit_set) {
		struct nftset_spec spec;
		if (nftset_spec_parse(cfg->admit_set, &spec, err) ||
		    !(d->admit_set = nftset_open(&spec, d->m, err))) {
			log_err("%s", err);
			return -1;
		}
	}
	return 0;
}

/* The cache file (flock()ed: a second daemon without a status socket stops here) and the registry client. */
static int start_lookup(struct daemon *d)
{
	struct config *cfg = &d->cfg;
	const char *why = NULL;
	struct lookup_config lc = {
		.cache_path = cfg->cache_path,
		.registry_url = cfg->registry_url,
		.token = d->token,
		.gateway = cfg->gateway,
		.positive_ttl = cfg->positive_ttl,
		.negative_ttl = cfg->negative_ttl,
		.fetch_window = cfg->fetch_window,
		.stale_max = cfg->stale_max,
		.timeout_ms = cfg->registry_timeout_ms,
		.max_inflight = cfg->registry_concurrency,
		.budget = cfg->registry_budget,
		.metrics = d->m,
		.replayed = to_install_replayed,
	};

	struct regcheck_config rcc = {
		.registry_url = cfg->registry_url, .token = d->token, .gateway = cfg->gateway,
		.timeout_ms = cfg->registry_timeout_ms, .metrics = d->m,
	};

	if (strcmp(cfg->cache_path, ":memory:"))
		ensure_parent_dir(cfg->cache_path);
	d->regcheck = regcheck_start(&rcc);
	d->lk = lookup_new(&lc, to_install, to_install_gone, d, &why);
	if (!d->lk) {
		log_err("lookup (cache %s): %s (%s)", cfg->cache_path, why ? why : "cannot start",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The install stage, whose first sweep adopts the peers already installed; it takes the data plane. */
static int start_install(struct daemon *d)
{
	struct installer_config ic;
	struct notice_inbox reval = { .send = lookup_notify, .ctx = d->lk };

	fill_installer_config(&ic, &d->cfg, d->m);
	ic.listen_port = d->port;
	ic.status = d->board;
	ic.admit = d->admit_set;
	ic.public_key = d->pub;
	d->ins = installer_new(d->dp, &ic);
	if (!d->ins) {
		log_err("install stage: %s", strerror(errno));
		return -1;
	}
	d->dp = NULL; /* the install stage owns it now */
	installer_set_revalidate(d->ins, &reval);
	return 0;
}

/*
 * The change-feed follower beside the lookup stage (on unless --no-follow;
 * --prefetch also stores every record), writing the same cache file and
 * feeding deletions and updates to the install stage, which must exist.
 */
static int start_prefetch(struct daemon *d)
{
	struct config *cfg = &d->cfg;
	const char *why = NULL;
	struct prefetch_config pc = {
		.cache_path = cfg->cache_path,
		.registry_url = cfg->registry_url,
		.token = d->token,
		.gateway = cfg->gateway,
		.store_all = cfg->prefetch > 0,
		.wait_s = cfg->feed_wait,
		.interval_ms = cfg->prefetch ? cfg->prefetch * 1000 : 1000,
		.positive_ttl = cfg->positive_ttl,
		.metrics = d->m,
		.revoke = { .send = installer_notify, .ctx = d->ins },
		.update = to_install_update,
		.update_ctx = d->ins,
	};

	if (cfg->no_follow)
		return 0;
	if (!strcmp(cfg->cache_path, ":memory:")) {
		log_warn("feed: not followed with an in-memory cache; deletions reach installed peers only "
			 "through --revalidate");
		return 0;
	}
	d->pf = prefetch_new(&pc, &why);
	if (!d->pf) {
		log_err("feed (cache %s): %s (%s)", cfg->cache_path, why ? why : "cannot start",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The identify workers (feeding lookup, replays to install), then the admission gate in front of them. */
static int start_identify_admit(struct daemon *d)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct identify_config ic = {
		.threads = d->cfg.workers ? d->cfg.workers : (unsigned int)(ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu),
		.responder = d->resp,
		.lookup = d->lk,
		.replays = { .send = installer_notify, .ctx = d->ins },
		.metrics = d->m,
	};
	struct admit_gate_config ac = { .metrics = d->m };

	d->identify = identify_new(&ic);
	if (!d->identify) {
		log_err("identify stage: %s", strerror(errno));
		return -1;
	}
	ac.identify = d->identify;
	config_fill_admit(&d->cfg, &ac.buckets);
	d->admit = admit_gate_new(&ac);
	if (!d->admit) {
		log_err("admission gate: %s", strerror(errno));
		return -1;
	}
	return 0;
}

enum { SEEN_BATCH = 64 };

/*
 * Hands what the capture saw to the install stage in batches: sessions'
 * first messages from from[0..n) (msg NULL), or the data plane's cookie
 * replies msg[0..n) to from[0..n) (install.h).
 */
static void to_install_seen(struct daemon *d, const union ingest_addr *from, const struct timespec *at,
			    const uint8_t (*msg)[CAPTURE_COOKIE_LEN], size_t n)
{
	union dp_endpoint ep[SEEN_BATCH];
	size_t i, j, k;

	for (i = 0; i < n; i += k) {
		k = n - i < SEEN_BATCH ? n - i : SEEN_BATCH;
		for (j = 0; j < k; ++j) {
			memset(&ep[j], 0, sizeof(ep[j]));
			if (from[i + j].sa.sa_family == AF_INET)
				ep[j].addr4 = from[i + j].sin;
			else
				ep[j].addr6 = from[i + j].sin6;
		}
		if (msg)
			installer_cookies_seen(d->ins, ep, msg + i, k);
		else
			installer_sessions_seen(d->ins, ep, at, k);
	}
}

static void on_sessions(void *ctx, const union ingest_addr *from, const struct timespec *at, size_t n)
{
	to_install_seen(ctx, from, at, NULL, n);
}

_Static_assert((int)CAPTURE_COOKIE_LEN == (int)WG_MSG_COOKIE_LEN, "a cookie reply is one length");

static void on_cookies(void *ctx, const union ingest_addr *to, const uint8_t (*msg)[CAPTURE_COOKIE_LEN], size_t n)
{
	to_install_seen(ctx, to, NULL, msg, n);
}

/* The sources, last: the capture thread, then the relay's hook socket (--hook). */
static int start_sources(struct daemon *d)
{
	struct config *cfg = &d->cfg;
	struct ingest_capture_config cc = {
		.src = d->cap, .admit = d->admit, .metrics = d->m, .fatal = on_fatal, .fatal_ctx = d,
		.sessions = on_sessions, .sessions_ctx = d,
		.cookies = on_cookies, .cookies_ctx = d,
	};

	d->capture_src = ingest_capture_start(&cc);
	if (!d->capture_src) {
		log_err("capture thread: %s", strerror(errno));
		return -1;
	}
	if (cfg->hook_path) {
		struct ingest_hook_config hc = { .path = cfg->hook_path, .peer_user = cfg->hook_peer_user,
						 .peer_group = cfg->hook_peer_group,
						 .endpoints = cfg->hook_endpoints, .admit = d->admit,
						 .metrics = d->m };
		const char *why;
		ensure_parent_dir(cfg->hook_path);
		d->hook_src = ingest_hook_start(&hc, &why);
		if (!d->hook_src) {
			log_err("hook %s: %s%s%s", cfg->hook_path, why ? why : "", why ? ": " : "",
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Start-up, in an order that fails before it leaves anything behind:
 * everything that can be checked or bound without touching the disk or the
 * data plane first (token, metrics port, status socket: a second daemon on
 * the interface stops here), then the data plane read-only (key, port) and
 * the capture sockets, then the cache file (flock()ed: a second daemon
 * without a status socket stops here), then the install stage (whose first
 * sweep adopts the peers already installed), then the stages back to front
 * so each exists before anything feeds it, the capture source last.
 * Each phase logs its own failure; stop() frees whatever was built.
 */
static int start(struct daemon *d)
{
	if (start_windows(d) || start_dataplane(d) || start_lookup(d) || start_install(d) ||
	    start_prefetch(d) || start_identify_admit(d) || start_sources(d))
		return -1;
	return 0;
}

/*
 * Shutdown, the one place its order is written: stop the sources first
 * (their threads run the admission gate, so nothing is admitted after),
 * then each stage in packet order, each draining what reached it into the
 * next one: identify -> lookup (its in-flight registry requests
 * finish and may still queue installs) -> install (its last revalidation
 * notices are refused by the stopped lookup, harmlessly: every stage is
 * only freed once all are stopped); the feed follower, which also feeds the
 * install stage, stops before it.
 * Then the windows (HTTP, status socket)
 * and the objects.
 */
static void stop(struct daemon *d)
{
	ingest_capture_stop(d->capture_src);
	ingest_hook_stop(d->hook_src);
	admit_gate_stop(d->admit);
	identify_stop(d->identify);
	lookup_stop(d->lk);
	prefetch_free(d->pf); /* the feed follower feeds the install stage too */
	d->pf = NULL;
	installer_stop(d->ins);
	regcheck_free(d->regcheck);
	status_server_free(d->status);
	httpd_free(d->httpd);
	admit_gate_free(d->admit);
	identify_free(d->identify);
	lookup_free(d->lk);
	installer_free(d->ins);
	nftset_free(d->admit_set); /* after the install stage, its only user; the set stays */
	status_board_free(d->board);
	dataplane_free(d->dp);
	capture_free(d->cap);
	noise_responder_free(d->resp);
	if (d->token) {
		explicit_bzero(d->token, strlen(d->token));
		free(d->token);
	}
}

/* Logs readiness, then opens the metrics port (bound in start()) and tells systemd. */
static int ready(struct daemon *d, uint64_t t0)
{
	const char *why = NULL;

	log_info("jitwgd " JITWG_VERSION " ready in %.1f ms: interface %s (%s), public key %s, port %u, "
		 "%zu peers adopted, idle-timeout %us, %s%s%s%s%s", (double)(clock_mono_ns() - t0) / 1e6, d->cfg.interface,
		 d->backend, d->pubs, d->port, (size_t)atomic_load(&d->m->peers_installed),
		 d->cfg.idle_timeout, answer_mode(&d->cfg),
		 d->admit_set ? ", admission set " : "", d->admit_set ? d->cfg.admit_set : "",
		 d->cfg.metrics_addr ? ", metrics on " : "", d->cfg.metrics_addr ? d->cfg.metrics_addr : "");
	if (d->httpd && httpd_start(d->httpd, &why)) {
		log_err("%s (%s)", why, d->cfg.metrics_addr);
		return -1;
	}
	sd_notify_msg("READY=1");
	return 0;
}

/* Takes signals until SIGTERM/SIGINT (or a fatal stage error); returns the exit status. */
static int wait_signals(struct daemon *d, int argc, char **argv)
{
	sigset_t sigs;
	int sig;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (atomic_load(&d->fatal)) {
			log_err("stopping after a fatal error");
			sd_notify_msg("STOPPING=1");
			return 1;
		}
		if (sig == SIGHUP) {
			reload(d, argc, argv);
			continue;
		}
		log_info("%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		sd_notify_msg("STOPPING=1");
		return 0;
	}
}

int main(int argc, char **argv)
{
	static struct daemon d;
	char err[CONFIG_ERR_MAX];
	uint64_t t0 = clock_mono_ns();
	sigset_t sigs;
	int ret, code = 1;

	log_set_ident("jitwgd");
	ret = config_load(&d.cfg, argc, argv, err);
	if (ret > 0) {
		printf("%s", strcmp(err, "version") ? config_usage : "jitwgd " JITWG_VERSION "\n");
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "jitwgd: %s\n", err);
		return 2;
	}
	log_set_level(d.cfg.log_level);
	/* Every thread inherits this mask; the main thread takes signals with sigwait(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (start(&d) == 0 && ready(&d, t0) == 0)
		code = wait_signals(&d, argc, argv);
	stop(&d);
	if (code == 0)
		log_info("stopped: %llu installs, %llu evictions",
			 (unsigned long long)metrics_get(&d.m->installs),
			 (unsigned long long)metrics_get(&d.m->evictions));
	free(d.m);
	config_free(&d.cfg);
	return code;
}

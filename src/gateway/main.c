// SPDX-License-Identifier: MIT
/*
 * jitwgd: the just-in-time WireGuard gateway daemon.
 *
 * Threads, in the order a handshake meets them:
 *   capture  AF_PACKET reader; admits per source (admit.c), queues to
 *   identify workers (workers.c: noise decoder, one ss cache each) ->
 *   lookup   replay guard, SQLite cache, registry client (lookup.h) ->
 *   installer the one owner of the data plane: install, evict, status.
 * The main thread only handles signals. Shutdown runs the same order, each
 * stage drained before the next one stops, so nothing admitted is lost.
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
#include "dataplane/dataplane.h"
#include "gateway/admit.h"
#include "gateway/config.h"
#include "gateway/httpd.h"
#include "gateway/install.h"
#include "gateway/lookup.h"
#include "gateway/prefetch.h"
#include "gateway/metrics.h"
#include "gateway/workers.h"
#include "noise/noise.h"

#ifndef JITWG_VERSION
#define JITWG_VERSION "0.1"
#endif

enum { CAPTURE_BATCH = 64 };

struct ingest {
	struct capture *cap;
	struct admit *admit;
	struct workers *workers;
	struct metrics *m;
	int stop[2];
	pthread_t thread;
	pthread_mutex_t mu;          /* guards pending_admit */
	bool has_pending;
	struct admit_config pending_admit;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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

static void *ingest_main(void *arg)
{
	struct ingest *in = arg;
	struct capture_pkt *pkts = calloc(CAPTURE_BATCH, sizeof(*pkts));
	struct capture_pkt *pass = calloc(CAPTURE_BATCH, sizeof(*pass));
	struct pollfd pfd[2] = {
		{ .fd = capture_fd(in->cap), .events = POLLIN },
		{ .fd = in->stop[0], .events = POLLIN },
	};
	uint64_t last_stats = now_ns();

	if (!pkts || !pass) {
		log_err("capture: out of memory");
		goto out;
	}
	for (;;) {
		uint64_t malformed = 0, t;
		int n, i, np = 0;

		if (poll(pfd, 2, 1000) < 0 && errno != EINTR) {
			log_err("capture: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		pthread_mutex_lock(&in->mu);
		if (in->has_pending) {
			admit_reconfigure(in->admit, &in->pending_admit);
			in->has_pending = false;
		}
		pthread_mutex_unlock(&in->mu);
		t = now_ns();
		if (t - last_stats > 1000000000ULL) {
			metrics_add(&in->m->capture_kernel_drops, capture_kernel_drops(in->cap));
			last_stats = t;
		}
		n = capture_read(in->cap, pkts, CAPTURE_BATCH, &malformed);
		metrics_add(&in->m->capture_malformed, malformed);
		if (n < 0) {
			if (n == -EAGAIN || n == -EINTR)
				continue;
			log_err("capture: read: %s", strerror(-n));
			break;
		}
		metrics_add(&in->m->captured, (uint64_t)n + malformed);
		for (i = 0; i < n; ++i) {
			bool loaded = workers_loaded(in->workers);
			if (admit_check(in->admit, &pkts[i].src.sa, t, loaded))
				pass[np++] = pkts[i];
			else
				metrics_inc(&in->m->admit_dropped);
		}
		metrics_gauge_set(&in->m->admit_engaged, admit_engaged(in->admit));
		if (np)
			workers_push(in->workers, pass, (size_t)np);
	}
out:
	free(pkts);
	free(pass);
	return NULL;
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

/* A replay the lookup caught on disk: the endpoint guard must see it too. */
static void replayed_cb(void *ctx, const struct lookup_event *ev)
{
	installer_replay_seen(ctx, ev->key, &ev->src.sa);
}

static void fill_installer_config(struct installer_config *ic, const struct config *cfg, struct metrics *m)
{
	memset(ic, 0, sizeof(*ic));
	ic->ifname = cfg->interface;
	ic->idle_timeout = cfg->idle_timeout;
	ic->grace = cfg->grace;
	ic->revalidate = cfg->revalidate;
	ic->no_initiate = cfg->no_initiate;
	ic->initiate_delay_ms = cfg->initiate_delay_ms;
	ic->metrics = m;
}

static void fill_admit_config(struct admit_config *ac, const struct config *cfg)
{
	memset(ac, 0, sizeof(*ac));
	ac->rate = cfg->admit_rate;
	ac->burst = cfg->admit_burst;
	ac->threshold = cfg->admit_threshold;
}

static void reload(struct config *run, int argc, char **argv, struct installer *ins, struct ingest *in,
		   struct metrics *m)
{
	struct config fresh;
	struct installer_config ic;
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
	fill_installer_config(&ic, run, m);
	installer_reconfigure(ins, &ic);
	pthread_mutex_lock(&in->mu);
	fill_admit_config(&in->pending_admit, run);
	in->has_pending = true;
	pthread_mutex_unlock(&in->mu);
	log_info("reloaded %s: idle-timeout %us, grace %us, %s, admit %u/s burst %u above %u/s",
		 run->config_file ? run->config_file : "(command line)", run->idle_timeout, run->grace,
		 run->no_initiate ? "no-initiate" : "initiate", run->admit_rate, run->admit_burst,
		 run->admit_threshold);
	config_free(&fresh);
out:
	sd_notify_msg("READY=1");
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], pubs[WG_KEY_B64_LEN + 1];
	struct metrics *m = NULL;
	struct dataplane *dp = NULL;
	struct noise_responder *resp = NULL;
	struct installer *ins = NULL;
	struct lookup *lk = NULL;
	struct prefetch *pf = NULL;
	struct httpd *httpd = NULL;
	struct status_server *status = NULL;
	struct ingest in = { .stop = { -1, -1 } };
	bool ingest_started = false;
	char *token = NULL;
	const char *why = NULL, *backend = "?";
	uint8_t pub[WG_KEY_LEN];
	uint16_t port = 0;
	uint64_t t0 = now_ns();
	sigset_t sigs;
	int ret, sig, status_code = 1;

	log_set_ident("jitwgd");
	ret = config_load(&cfg, argc, argv, err);
	if (ret > 0) {
		if (!strcmp(err, "version"))
			printf("jitwgd %s\n", JITWG_VERSION);
		else
			fputs(config_usage, stdout);
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "jitwgd: %s\n", err);
		return 2;
	}
	log_set_level(cfg.log_level);

	/* Every thread inherits this mask; the main thread takes signals with sigwait(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cfg.token_file && !(token = config_read_token(cfg.token_file, err))) {
		log_err("%s", err);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		log_err("out of memory");
		goto out;
	}

	dp = dataplane_open(cfg.interface, cfg.backend, &why);
	if (!dp) {
		log_err("interface %s: %s (%s)", cfg.interface, why ? why : "cannot open", strerror(errno));
		goto out;
	}
	backend = dataplane_backend_name(dp);
	resp = load_responder(dp, &port, pub, &why);
	if (!resp) {
		log_err("interface %s: %s (%s)", cfg.interface, why, strerror(errno));
		goto out;
	}
	key_to_base64(pubs, pub);

	in.cap = capture_open(port);
	if (!in.cap) {
		log_err("capture on port %u: %s%s", port, strerror(errno),
			errno == EPERM ? " (needs CAP_NET_RAW)" : "");
		goto out;
	}

	{
		struct installer_config ic;
		fill_installer_config(&ic, &cfg, m);
		ins = installer_new(dp, &ic);
		if (!ins) {
			log_err("installer: %s", strerror(errno));
			goto out;
		}
		dp = NULL; /* the installer owns it now */
	}

	{
		struct lookup_config lc = {
			.cache_path = cfg.cache_path,
			.registry_url = cfg.registry_url,
			.token = token,
			.gateway = cfg.gateway,
			.positive_ttl = cfg.positive_ttl,
			.negative_ttl = cfg.negative_ttl,
			.fetch_window = cfg.fetch_window,
			.stale_max = cfg.stale_max,
			.timeout_ms = cfg.registry_timeout_ms,
			.max_inflight = cfg.registry_concurrency,
			.metrics = m,
			.replayed = replayed_cb,
		};
		why = NULL;
		if (strcmp(cfg.cache_path, ":memory:"))
			ensure_parent_dir(cfg.cache_path);
		lk = lookup_new(&lc, install_lookup_cb, install_gone_cb, ins, &why);
		if (!lk) {
			log_err("lookup (cache %s): %s (%s)", cfg.cache_path, why ? why : "cannot start",
				strerror(errno));
			goto out;
		}
		installer_set_lookup(ins, lk);
	}
	if (cfg.prefetch) {
		struct prefetch_config pc = {
			.cache_path = cfg.cache_path,
			.registry_url = cfg.registry_url,
			.token = token,
			.gateway = cfg.gateway,
			.interval_ms = cfg.prefetch * 1000,
			.positive_ttl = cfg.positive_ttl,
			.metrics = m,
		};
		why = NULL;
		pf = prefetch_new(&pc, &why);
		if (!pf) {
			log_err("prefetch (cache %s): %s (%s)", cfg.cache_path, why ? why : "cannot start",
				strerror(errno));
			goto out;
		}
	}

	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		struct workers_config wc = {
			.threads = cfg.workers ? cfg.workers : (unsigned int)(ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu),
			.responder = resp,
			.lookup = lk,
			.installer = ins,
			.metrics = m,
		};
		in.workers = workers_new(&wc);
		if (!in.workers) {
			log_err("identify workers: %s", strerror(errno));
			goto out;
		}
	}
	{
		struct admit_config ac;
		fill_admit_config(&ac, &cfg);
		in.admit = admit_new(&ac);
		if (!in.admit) {
			log_err("admission table: %s", strerror(errno));
			goto out;
		}
	}
	in.m = m;
	pthread_mutex_init(&in.mu, NULL);
	if (pipe2(in.stop, O_CLOEXEC) < 0 || (errno = pthread_create(&in.thread, NULL, ingest_main, &in))) {
		log_err("capture thread: %s", strerror(errno));
		goto out;
	}
	ingest_started = true;

	if (cfg.metrics_addr) {
		httpd = httpd_new(cfg.metrics_addr, m, ins, &why);
		if (!httpd) {
			log_err("%s (%s)", why, cfg.metrics_addr);
			goto out;
		}
	}
	if (cfg.status_socket && *cfg.status_socket) {
		status = status_server_new(cfg.status_socket, ins, &why);
		/* Two daemons on one interface would fight; anything else only costs `jitwg status`. */
		if (!status && errno == EADDRINUSE) {
			log_err("%s (%s)", why, cfg.status_socket);
			goto out;
		}
		if (!status)
			log_warn("%s (%s: %s); `jitwg status` will not work", why, cfg.status_socket,
				 strerror(errno));
	}

	log_info("ready in %.1f ms: interface %s (%s), public key %s, port %u, %zu peers adopted, "
		 "idle-timeout %us, %s%s%s",
		 (double)(now_ns() - t0) / 1e6, cfg.interface, backend, pubs, port,
		 (size_t)atomic_load(&m->peers_installed), cfg.idle_timeout,
		 cfg.no_initiate ? "no-initiate" : "initiator role",
		 cfg.metrics_addr ? ", metrics on " : "", cfg.metrics_addr ? cfg.metrics_addr : "");
	sd_notify_msg("READY=1");

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			reload(&cfg, argc, argv, ins, &in, m);
			continue;
		}
		log_info("%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	sd_notify_msg("STOPPING=1");
	status_code = 0;
out:
	/* Stop at the front first; each later stage drains what reached it. */
	if (ingest_started) {
		if (write(in.stop[1], "x", 1) < 0)
			log_warn("capture thread: stop: %s", strerror(errno));
		pthread_join(in.thread, NULL);
		pthread_mutex_destroy(&in.mu);
	}
	if (in.stop[0] >= 0) {
		close(in.stop[0]);
		close(in.stop[1]);
	}
	status_server_free(status);
	httpd_free(httpd);
	workers_free(in.workers);
	if (ins)
		installer_set_lookup(ins, NULL);
	prefetch_free(pf);
	lookup_free(lk);
	installer_free(ins);
	dataplane_free(dp);
	admit_free(in.admit);
	capture_free(in.cap);
	noise_responder_free(resp);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (status_code == 0)
		log_info("stopped: %llu installs, %llu evictions",
			 (unsigned long long)metrics_get(&m->installs),
			 (unsigned long long)metrics_get(&m->evictions));
	free(m);
	config_free(&cfg);
	return status_code;
}

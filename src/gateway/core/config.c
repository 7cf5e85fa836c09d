// SPDX-License-Identifier: MIT
#include "gateway/core/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "common/log.h"
#include "common/secretfile.h"
#include "gateway/admit/admit.h"
#include "gateway/ingest/hook.h"
#include "gateway/install/install.h"
#include "gateway/install/nftset.h"

const char config_usage[] =
	"Usage: jitwgd --interface IF --registry URL [options]\n"
	"\n"
	"Installs WireGuard peers just in time: on a peer's first handshake\n"
	"initiation it is identified, looked up (cache, then registry) and installed.\n"
	"\n"
	"  --interface IF            WireGuard interface to serve (required)\n"
	"  --registry URL            registry base URL, e.g. http://10.0.0.1:8080 (required)\n"
	"  --token-file F            bearer token for the registry\n"
	"  --gateway NAME            ask the registry only for peers bound to NAME\n"
	"  --cache PATH              SQLite cache file (/var/lib/jitwg/IF.db)\n"
	"  --metrics ADDR:PORT       serve Prometheus text on http://ADDR:PORT/metrics\n"
	"  --status-socket PATH      unix socket for `jitwg status` (/run/jitwg/IF.sock; '' = none)\n"
	"  --idle-timeout SECONDS    evict peers idle this long (600)\n"
	"  --grace SECONDS           never evict a peer installed less than this ago (min(30, idle))\n"
	"  --revalidate SECONDS      re-ask the registry about installed peers this often (300)\n"
	"  --no-initiate             leave a new peer's first answer to the client's retry (5 s)\n"
	"  --reinject=false          role inversion: the data plane initiates to a new peer's client\n"
	"                            (default: it is handed the client's own initiation to answer)\n"
	"  --reinject-rate N         hand the data plane at most N initiations/s, 16 at once (2000)\n"
	"  --initiate-delay-ms MS    initiate no sooner than MS after the client's initiation (0)\n"
	"  --confirm-ms MS           repair an initiated install with no handshake MS later (40; 0 = off)\n"
	"  --backend auto|kernel|userspace   data plane (auto)\n"
	"  --workers N               identify threads (one per CPU, at most 8)\n"
	"  --admit-rate N            per-source initiations/s once admission engages (20)\n"
	"  --admit-burst N           per-source burst (5)\n"
	"  --admit-threshold N       gateway-wide initiations/s before admission engages (500; 0 = always)\n"
	"  --cache-ttl SECONDS       a fetched record is fresh this long (300)\n"
	"  --negative-ttl SECONDS    an unknown key stays unknown this long (60)\n"
	"  --fetch-window SECONDS    at most one registry request per key per window (5)\n"
	"  --stale-max SECONDS       oldest cached record used while the registry fails (86400)\n"
	"  --registry-timeout-ms MS  per registry request (2000)\n"
	"  --registry-concurrency N  registry requests in flight (16)\n"
"  --registry-budget N       registry requests/s (burst N) for never-seen keys (100; 0 = unlimited)\n"
	"  --prefetch SECONDS        also keep every record of the change feed in the cache, so\n"
	"                            first handshakes need no registry request; without long poll\n"
	"                            the feed is polled this often (0 = off, the default)\n"
	"  --feed-wait SECONDS       long-poll wait on the registry's change feed, which jitwgd\n"
	"                            follows to apply deletions and updates (25; 0 = poll every s)\n"
	"  --no-follow               do not follow the change feed: deletions then reach installed\n"
	"                            peers only through --revalidate (not recommended)\n"
	"  --hook PATH               receive initiations from jitwg-relay on this unix datagram\n"
	"                            socket (e.g. /run/jitwg/hook.sock); initiations from\n"
	"                            127.0.0.0/8 are then no longer captured (they come this way)\n"
	"  --hook-peer-group NAME    only root, jitwgd's user and processes whose real or effective\n"
	"                            group is NAME may send (default: the hook socket's group)\n"
	"  --hook-peer-user NAME     also accept hand-offs from this user\n"
	"  --hook-endpoints CIDR[,CIDR]  endpoints a hand-off may name: the relay's bind range\n"
	"                            (127.0.0.0/8,::1/128)\n"
	"  --admit-set FAMILY:TABLE:PREFIX  keep the installed peers' endpoints in the\n"
	"                            nftables sets PREFIX4/PREFIX6 (e.g. inet:jitwg:admit), which\n"
	"                            the ruleset /usr/share/jitwg/jitwg.nft uses to drop other\n"
	"                            sources' initiations before the data plane (not with\n"
	"                            --no-initiate)\n"
	"  --log-level error|warn|info|debug  (info)\n"
	"  --config FILE             read these options from FILE (\"name = value\" lines);\n"
	"                            the command line wins; SIGHUP re-reads it\n"
	"  --help, --version\n";

enum opt_type { OPT_STR, OPT_UINT, OPT_BOOL, OPT_BACKEND, OPT_LOGLEVEL, OPT_CONFIG, OPT_HELP, OPT_VERSION };

/* Which stage's config an option also feeds (config_fill_installer(), config_fill_admit()). */
enum opt_stage { TO_NONE, TO_INSTALL, TO_ADMIT };

/*
 * One row per option: where its value lives in struct config (off, by
 * type), its range and default (OPT_UINT; the enums default to their
 * first row of values below), whether a SIGHUP reload may change it, and
 * the field of a stage's config it is copied to. Parsing, defaults,
 * config_free(), reloads and the stage configs all walk this table, so a
 * new option is its struct config field, one row here and its usage line.
 */
struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	unsigned int min, max;
	unsigned int dflt;           /* OPT_UINT: value when not given, UINT_MAX = derived later; OPT_BOOL: 1 = true */
	bool reloadable;
	bool empty_ok;               /* OPT_STR: "" is a meaningful value (status-socket: none) */
	enum opt_stage stage;
	size_t stage_off;            /* the same-typed field in struct installer_config / admit_config */
};

#define ROW(n, t, field) .name = (n), .type = (t), .off = offsetof(struct config, field)
#define RANGE(lo, hi) .min = (lo), .max = (hi)
#define LIVE .reloadable = true
/* The stage's field must have the config field's size (a negative array size stops the build). */
#define FEEDS(st, stype, sfield, cfield)                                                              \
	.stage = (st), .stage_off = offsetof(stype, sfield) +                                          \
		0 * sizeof(char[sizeof(((stype *)0)->sfield) == sizeof(((struct config *)0)->cfield) ? 1 : -1])
#define INSTALL(f) FEEDS(TO_INSTALL, struct installer_config, f, f)
#define ADMIT(sf, cf) FEEDS(TO_ADMIT, struct admit_config, sf, cf)
static const struct opt opts[] = {
	{ ROW("interface", OPT_STR, interface) },
	{ ROW("registry", OPT_STR, registry_url) },
	{ ROW("token-file", OPT_STR, token_file) },
	{ ROW("gateway", OPT_STR, gateway) },
	{ ROW("cache", OPT_STR, cache_path) },
	{ ROW("metrics", OPT_STR, metrics_addr) },
	{ ROW("status-socket", OPT_STR, status_socket), .empty_ok = true },
	{ ROW("backend", OPT_BACKEND, backend) },
	{ ROW("workers", OPT_UINT, workers), RANGE(1, 64) },
	{ ROW("cache-ttl", OPT_UINT, positive_ttl), RANGE(1, 30 * 86400) },
	{ ROW("negative-ttl", OPT_UINT, negative_ttl), RANGE(1, 86400) },
	{ ROW("fetch-window", OPT_UINT, fetch_window), RANGE(1, 3600) },
	{ ROW("stale-max", OPT_UINT, stale_max), RANGE(1, 365 * 86400) },
	{ ROW("registry-timeout-ms", OPT_UINT, registry_timeout_ms), RANGE(50, 60000) },
	{ ROW("registry-concurrency", OPT_UINT, registry_concurrency), RANGE(1, 1024) },
	{ ROW("registry-budget", OPT_UINT, registry_budget), RANGE(0, 1000000), .dflt = 100 },
	{ ROW("prefetch", OPT_UINT, prefetch), RANGE(0, 3600) },
	{ ROW("feed-wait", OPT_UINT, feed_wait), RANGE(0, 60), .dflt = 25 },
	{ ROW("no-follow", OPT_BOOL, no_follow) },
	{ ROW("hook", OPT_STR, hook_path) },
	{ ROW("hook-peer-user", OPT_STR, hook_peer_user) },
	{ ROW("hook-peer-group", OPT_STR, hook_peer_group) },
	{ ROW("hook-endpoints", OPT_STR, hook_endpoints) },
	{ ROW("admit-set", OPT_STR, admit_set) },
	{ ROW("log-level", OPT_LOGLEVEL, log_level), LIVE },
	{ ROW("idle-timeout", OPT_UINT, idle_timeout), RANGE(1, 30 * 86400), .dflt = 600, LIVE, INSTALL(idle_timeout) },
	{ ROW("grace", OPT_UINT, grace), RANGE(0, 86400), .dflt = UINT_MAX, LIVE, INSTALL(grace) },
	{ ROW("revalidate", OPT_UINT, revalidate), RANGE(1, 30 * 86400), .dflt = 300, LIVE, INSTALL(revalidate) },
	{ ROW("no-initiate", OPT_BOOL, no_initiate), LIVE, INSTALL(no_initiate) },
	{ ROW("reinject", OPT_BOOL, reinject), .dflt = 1, LIVE, INSTALL(reinject) },
	{ ROW("reinject-rate", OPT_UINT, reinject_rate), RANGE(100, 1000000), .dflt = REINJECT_RATE_DEFAULT, LIVE, INSTALL(reinject_rate) },
	{ ROW("initiate-delay-ms", OPT_UINT, initiate_delay_ms), RANGE(0, 1000), LIVE, INSTALL(initiate_delay_ms) },
	{ ROW("confirm-ms", OPT_UINT, confirm_ms), RANGE(0, 10000), .dflt = 40, INSTALL(confirm_ms) },
	{ ROW("admit-rate", OPT_UINT, admit_rate), RANGE(1, 1000000), .dflt = 20, LIVE, ADMIT(rate, admit_rate) },
	{ ROW("admit-burst", OPT_UINT, admit_burst), RANGE(1, 1000000), .dflt = 5, LIVE, ADMIT(burst, admit_burst) },
	{ ROW("admit-threshold", OPT_UINT, admit_threshold), RANGE(0, 100000000), .dflt = 500, LIVE,
	  ADMIT(threshold, admit_threshold) },
	{ ROW("config", OPT_CONFIG, config_file) },
	{ .name = "help", .type = OPT_HELP },
	{ .name = "version", .type = OPT_VERSION },
};
#undef ADMIT
#undef INSTALL
#undef FEEDS
#undef LIVE
#undef RANGE
#undef ROW

enum { NOPTS = sizeof(opts) / sizeof(opts[0]) };

/* Bytes of the field an option stores into; 0 for the actions (help, version). */
static size_t opt_size(const struct opt *o)
{
	switch (o->type) {
	case OPT_STR:
	case OPT_CONFIG:
		return sizeof(char *);
	case OPT_UINT:
		return sizeof(unsigned int);
	case OPT_BOOL:
		return sizeof(bool);
	case OPT_BACKEND:
		return sizeof(enum dp_backend);
	case OPT_LOGLEVEL:
		return sizeof(enum log_level);
	default:
		return 0;
	}
}

static void *opt_field(struct config *cfg, const struct opt *o)
{
	return (char *)cfg + o->off;
}

static const void *opt_cfield(const struct config *cfg, const struct opt *o)
{
	return (const char *)cfg + o->off;
}

static bool is_string(const struct opt *o)
{
	return o->type == OPT_STR || o->type == OPT_CONFIG;
}

/* Zero, then each row's default: DP_BACKEND_AUTO, LOG_LVL_INFO, the OPT_UINT and OPT_BOOL .dflt. */
static void set_defaults(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NOPTS; ++i) {
		if (opts[i].type == OPT_UINT)
			*(unsigned int *)opt_field(cfg, &opts[i]) = opts[i].dflt;
		else if (opts[i].type == OPT_BOOL)
			*(bool *)opt_field(cfg, &opts[i]) = opts[i].dflt != 0;
		else if (opts[i].type == OPT_BACKEND)
			*(enum dp_backend *)opt_field(cfg, &opts[i]) = DP_BACKEND_AUTO;
		else if (opts[i].type == OPT_LOGLEVEL)
			*(enum log_level *)opt_field(cfg, &opts[i]) = LOG_LVL_INFO;
	}
}

__attribute__((format(printf, 2, 3)))
static int fail(char err[CONFIG_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const struct opt *find_opt(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTS; ++i)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

static bool takes_value(const struct opt *o)
{
	return o->type != OPT_BOOL && o->type != OPT_HELP && o->type != OPT_VERSION;
}

/* where: "" for the command line, "FILE:LINE: " for the config file. */
static int set_opt(struct config *cfg, const struct opt *o, const char *val, const char *where,
		   char err[CONFIG_ERR_MAX])
{
	void *field = opt_field(cfg, o);
	unsigned long v;
	char *end;

	switch (o->type) {
	case OPT_STR:
	case OPT_CONFIG: {
		char *s;
		if (!*val && !o->empty_ok)
			return fail(err, "%s--%s: empty value", where, o->name);
		s = strdup(val);
		if (!s)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = s;
		return 0;
	}
	case OPT_UINT:
		errno = 0;
		if (!isdigit((unsigned char)*val))
			return fail(err, "%s--%s: '%s' is not a non-negative integer", where, o->name, val);
		v = strtoul(val, &end, 10);
		if (errno || *end)
			return fail(err, "%s--%s: '%s' is not a non-negative integer", where, o->name, val);
		if (v < o->min || v > o->max)
			return fail(err, "%s--%s: %lu is out of range %u..%u", where, o->name, v, o->min, o->max);
		*(unsigned int *)field = (unsigned int)v;
		return 0;
	case OPT_BOOL:
		if (!val || !strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1"))
			*(bool *)field = true;
		else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0"))
			*(bool *)field = false;
		else
			return fail(err, "%s--%s: '%s' is not true or false", where, o->name, val);
		return 0;
	case OPT_BACKEND:
		if (!strcmp(val, "auto"))
			*(enum dp_backend *)field = DP_BACKEND_AUTO;
		else if (!strcmp(val, "kernel"))
			*(enum dp_backend *)field = DP_BACKEND_KERNEL;
		else if (!strcmp(val, "userspace"))
			*(enum dp_backend *)field = DP_BACKEND_USERSPACE;
		else
			return fail(err, "%s--backend: '%s' is not auto, kernel or userspace", where, val);
		return 0;
	case OPT_LOGLEVEL:
		if (log_level_parse(val, field))
			return fail(err, "%s--log-level: '%s' is not " LOG_LEVEL_NAMES, where, val);
		return 0;
	default:
		return 0;
	}
}

static int load_file(struct config *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
	char line[4096], where[PATH_MAX + 32];
	unsigned int lineno = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f) {
		int e = errno;
		fail(err, "--config %s: %s", path, strerror(e));
		return -e;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *name, *val, *e;
		const struct opt *o;
		size_t nlen;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u: ", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			ret = fail(err, "%sline too long", where);
			goto out;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		/* Accept "--name" too, so a command line can be pasted in. */
		if (!strncmp(p, "--", 2))
			p += 2;
		name = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != '#')
			p++;
		nlen = (size_t)(p - name);
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '=') {
			p++;
			while (isspace((unsigned char)*p))
				p++;
		}
		val = p;
		if (*val == '"') {
			/*
			 * Quotes allow an empty value, spaces and '#'. The closing
			 * quote is required: a lost one would otherwise make the
			 * quote and the rest of the line part of a path.
			 */
			e = strchr(val + 1, '"');
			if (!e) {
				ret = fail(err, "%sunterminated quote", where);
				goto out;
			}
			*e++ = '\0';
			val++;
			while (isspace((unsigned char)*e))
				e++;
			if (*e && *e != '#') {
				ret = fail(err, "%sunexpected text after the closing quote", where);
				goto out;
			}
		} else {
			e = strchr(val, '#');
			if (e)
				*e = '\0';
			e = val + strlen(val);
			while (e > val && isspace((unsigned char)e[-1]))
				*--e = '\0';
		}
		o = find_opt(name, nlen);
		if (!o || o->type == OPT_HELP || o->type == OPT_VERSION) {
			ret = fail(err, "%sunknown option '%.*s'", where, (int)nlen, name);
			goto out;
		}
		if (o->type == OPT_CONFIG) {
			ret = fail(err, "%s'config' cannot be nested", where);
			goto out;
		}
		if (takes_value(o) && !*val && !o->empty_ok) {
			ret = fail(err, "%s'%s' needs a value", where, o->name);
			goto out;
		}
		ret = set_opt(cfg, o, o->type == OPT_BOOL && !*val ? NULL : val, where, err);
		if (ret)
			goto out;
	}
	if (ferror(f))
		ret = fail(err, "--config %s: read error", path);
out:
	fclose(f);
	return ret;
}

/* Splits "--name=value" / "--name value"; returns the option or NULL. */
static const struct opt *parse_arg(int argc, char **argv, int *i, const char **val,
				   char err[CONFIG_ERR_MAX], int *ret)
{
	const char *a = argv[*i], *eq;
	const struct opt *o;

	*ret = 0;
	*val = NULL;
	if (strncmp(a, "--", 2)) {
		*ret = fail(err, "unexpected argument '%s' (see --help)", a);
		return NULL;
	}
	a += 2;
	eq = strchr(a, '=');
	o = find_opt(a, eq ? (size_t)(eq - a) : strlen(a));
	if (!o) {
		*ret = fail(err, "unknown option '%s' (see --help)", argv[*i]);
		return NULL;
	}
	if (eq) {
		*val = eq + 1;
	} else if (takes_value(o)) {
		if (*i + 1 >= argc) {
			*ret = fail(err, "--%s needs a value", o->name);
			return NULL;
		}
		*val = argv[++*i];
	}
	return o;
}

/*
 * The registry's base URL, parsed now with libcurl's own parser (the one
 * that will use it) so a malformed one ('http://[::1') fails at start-up
 * rather than at the first lookup. Request paths are appended to it, so a
 * query or fragment is refused too.
 */
static int check_registry_url(const char *url, char err[CONFIG_ERR_MAX])
{
	CURLU *u = curl_url();
	CURLUcode rc;
	char *host = NULL;
	int ret = 0;

	if (!u)
		return fail(err, "--registry: out of memory");
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc) {
		ret = fail(err, "--registry: '%s' is not a valid URL (%s)", url, curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) || !host || !*host) {
		ret = fail(err, "--registry: '%s' has no host", url);
		goto out;
	}
	if (strpbrk(url, "?#")) {
		ret = fail(err, "--registry: '%s': a base URL takes no query or fragment", url);
		goto out;
	}
out:
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

int config_load(struct config *cfg, int argc, char **argv, char err[CONFIG_ERR_MAX])
{
	const struct opt *o;
	const char *val;
	int i, ret = 0;

	set_defaults(cfg);
	err[0] = '\0';

	/* First pass: --help, --version and --config, so the file sits under the command line. */
	for (i = 1; i < argc; ++i) {
		o = parse_arg(argc, argv, &i, &val, err, &ret);
		if (!o)
			goto out;
		if (o->type == OPT_HELP) {
			snprintf(err, CONFIG_ERR_MAX, "%s", "help");
			ret = 1;
			goto out;
		}
		if (o->type == OPT_VERSION) {
			snprintf(err, CONFIG_ERR_MAX, "%s", "version");
			ret = 1;
			goto out;
		}
		if (o->type == OPT_CONFIG && (ret = set_opt(cfg, o, val, "", err)))
			goto out;
	}
	if (cfg->config_file && (ret = load_file(cfg, cfg->config_file, err)))
		goto out;
	for (i = 1; i < argc; ++i) {
		o = parse_arg(argc, argv, &i, &val, err, &ret);
		if (!o)
			goto out;
		if (o->type == OPT_CONFIG)
			continue;
		if ((ret = set_opt(cfg, o, val, "", err)))
			goto out;
	}

	if (!cfg->interface) {
		ret = fail(err, "--interface is required (see --help)");
		goto out;
	}
	if (strlen(cfg->interface) >= IFNAMSIZ || strchr(cfg->interface, '/')) {
		ret = fail(err, "--interface: '%s' is not a valid interface name", cfg->interface);
		goto out;
	}
	if (!cfg->registry_url) {
		ret = fail(err, "--registry is required (see --help)");
		goto out;
	}
	if (strncmp(cfg->registry_url, "http://", 7) && strncmp(cfg->registry_url, "https://", 8)) {
		ret = fail(err, "--registry: '%s' is not an http:// or https:// URL", cfg->registry_url);
		goto out;
	}
	if ((ret = check_registry_url(cfg->registry_url, err)))
		goto out;
	if (cfg->gateway && strlen(cfg->gateway) >= 64) {
		ret = fail(err, "--gateway: name longer than 63 characters");
		goto out;
	}
	if (cfg->metrics_addr && !strrchr(cfg->metrics_addr, ':')) {
		ret = fail(err, "--metrics: '%s' is not ADDR:PORT", cfg->metrics_addr);
		goto out;
	}
	if (cfg->hook_path && (!cfg->hook_path[0] || strlen(cfg->hook_path) >= 108)) {
		ret = fail(err, "--hook: expected a socket path shorter than 108 bytes");
		goto out;
	}
	if (cfg->hook_endpoints) {
		struct cidr eps[INGEST_HOOK_MAX_ENDPOINTS];
		size_t n;
		if (ingest_hook_endpoints_parse(cfg->hook_endpoints, eps, &n) < 0) {
			ret = fail(err, "--hook-endpoints: '%s' is not a list of 1..%d CIDR prefixes",
				   cfg->hook_endpoints, INGEST_HOOK_MAX_ENDPOINTS);
			goto out;
		}
	}
	if (cfg->admit_set) {
		struct nftset_spec spec;
		if ((ret = nftset_spec_parse(cfg->admit_set, &spec, err)))
			goto out;
		/*
		 * The filter drops every initiation from an endpoint no peer is
		 * installed on, so the data plane never sees a client's first one:
		 * only jitwgd's answer (the re-injected copy, or with
		 * --reinject=false the data plane's own initiation) connects.
		 */
		if (cfg->no_initiate) {
			ret = fail(err, "--admit-set needs jitwgd to answer first initiations: the filter keeps "
				   "clients' first initiations from the data plane; drop --no-initiate");
			goto out;
		}
	}
	if (cfg->grace == UINT_MAX)
		cfg->grace = cfg->idle_timeout < 30 ? cfg->idle_timeout : 30;
	if (!cfg->cache_path && asprintf(&cfg->cache_path, "/var/lib/jitwg/%s.db", cfg->interface) < 0) {
		cfg->cache_path = NULL;
		ret = -ENOMEM;
		goto out;
	}
	if (!cfg->status_socket && asprintf(&cfg->status_socket, "/run/jitwg/%s.sock", cfg->interface) < 0) {
		cfg->status_socket = NULL;
		ret = -ENOMEM;
		goto out;
	}
out:
	if (ret < 0) {
		if (ret == -ENOMEM && !err[0])
			snprintf(err, CONFIG_ERR_MAX, "out of memory");
		config_free(cfg);
	}
	return ret;
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NOPTS; ++i)
		if (is_string(&opts[i]))
			free(*(char **)opt_field(cfg, &opts[i]));
	memset(cfg, 0, sizeof(*cfg));
}

static bool opt_differs(const struct opt *o, const struct config *a, const struct config *b)
{
	const void *fa = opt_cfield(a, o), *fb = opt_cfield(b, o);
	const char *sa, *sb;

	if (!is_string(o))
		return memcmp(fa, fb, opt_size(o)) != 0;
	sa = *(char *const *)fa;
	sb = *(char *const *)fb;
	if (!sa || !sb)
		return sa != sb;
	return strcmp(sa, sb) != 0;
}

int config_apply_reload(struct config *run, struct config *fresh, char err[CONFIG_ERR_MAX])
{
	size_t i;
	int differ = 0;

	err[0] = '\0';
	for (i = 0; i < NOPTS; ++i) {
		const struct opt *o = &opts[i];

		if (o->type == OPT_HELP || o->type == OPT_VERSION || o->type == OPT_CONFIG)
			continue;
		if (!opt_differs(o, run, fresh))
			continue;
		if (!o->reloadable) {
			if (!differ++)
				snprintf(err, CONFIG_ERR_MAX, "%s", o->name);
			continue;
		}
		/* A string moves: the running one is freed, fresh's slot emptied. */
		if (is_string(o))
			free(*(char **)opt_field(run, o));
		memcpy(opt_field(run, o), opt_cfield(fresh, o), opt_size(o));
		if (is_string(o))
			*(char **)opt_field(fresh, o) = NULL;
	}
	return differ;
}

/* Copies each option that feeds stage from cfg into out (a struct installer_config or admit_config). */
static void fill_stage(const struct config *cfg, enum opt_stage stage, void *out)
{
	size_t i;

	for (i = 0; i < NOPTS; ++i)
		if (opts[i].stage == stage)
			memcpy((char *)out + opts[i].stage_off, opt_cfield(cfg, &opts[i]), opt_size(&opts[i]));
}

void config_fill_installer(const struct config *cfg, struct installer_config *ic)
{
	fill_stage(cfg, TO_INSTALL, ic);
}

void config_fill_admit(const struct config *cfg, struct admit_config *ac)
{
	fill_stage(cfg, TO_ADMIT, ac);
}

char *config_read_token(const char *path, char err[CONFIG_ERR_MAX])
{
	char buf[4097], *p, *e, *tok = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, saved = EINVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		snprintf(err, CONFIG_ERR_MAX, "--token-file %s: %s", path, strerror(errno));
		goto out;
	}
	if (secret_fd_exposed(fd))
		log_warn("--token-file %s " SECRET_EXPOSED_HINT, path);
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if (len == sizeof(buf) - 1) {
		snprintf(err, CONFIG_ERR_MAX, "--token-file %s: longer than 4096 bytes", path);
		goto out;
	}
	for (p = buf; isspace((unsigned char)*p); ++p)
		;
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); --e)
		;
	*e = '\0';
	if (!*p) {
		snprintf(err, CONFIG_ERR_MAX, "--token-file %s: empty", path);
		goto out;
	}
	for (e = p; *e; ++e) {
		if (!isgraph((unsigned char)*e)) {
			snprintf(err, CONFIG_ERR_MAX, "--token-file %s: not one printable word", path);
			goto out;
		}
	}
	tok = strdup(p);
	if (!tok)
		saved = ENOMEM;
out:
	explicit_bzero(buf, sizeof(buf));
	if (!tok)
		errno = saved;
	return tok;
}

// SPDX-License-Identifier: MIT
/*
 * `jitwg status`: what a running jitwgd sees, in the spirit of `wg show`.
 * It reads one JSON document from the daemon's status socket (connect, read
 * to EOF) and prints it for people, or as it is with --json.
 *
 * Colour, as `wg show` does: only when stdout is a terminal (and TERM is not
 * "dumb"), unless JITWG_COLOR_MODE says always or never.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <json-c/json.h>

#include "cli/cli.h"

enum { STATUS_MAX = 64 << 20 };

static const char default_dir[] = "/run/jitwg";

#define BOLD "\x1b[1m"
#define GREEN "\x1b[32m"
#define YELLOW "\x1b[33m"
#define RESET "\x1b[0m"

static bool colour;

static bool want_colour(void)
{
	const char *mode = getenv("JITWG_COLOR_MODE"), *term = getenv("TERM");

	if (mode && !strcmp(mode, "always"))
		return true;
	if (mode && !strcmp(mode, "never"))
		return false;
	return isatty(STDOUT_FILENO) && term && strcmp(term, "dumb");
}

/* A heading ("interface: wg0", "peer: KEY") in the given colour. */
static void heading(const char *tint, const char *name, const char *value)
{
	if (colour)
		printf(RESET "%s" BOLD "%s" RESET ": %s%s" RESET "\n", tint, name, tint, value);
	else
		printf("%s: %s\n", name, value);
}

/* "  name: value" with the name in bold on a terminal. */
__attribute__((format(printf, 2, 3)))
static void field(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf(colour ? "  " BOLD "%s" RESET ": " : "  %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: jitwg status [--interface IF | --socket PATH] [--json]\n"
		   "\n"
		   "Shows a running jitwgd's view: interface, backend, peers with endpoint,\n"
		   "latest handshake, transfer and install time, and the daemon's counters.\n"
		   "  --interface IF  the daemon serving IF (socket %s/IF.sock)\n"
		   "  --socket PATH   the daemon's --status-socket\n"
		   "  --json          print the daemon's JSON document\n"
		   "Without either, the only socket in %s is used. Colour only on a terminal\n"
		   "(JITWG_COLOR_MODE=always|never|auto overrides).\n",
		default_dir, default_dir);
}

static char *read_status(const char *path, const char **why)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 65536;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*why = "socket path too long";
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*why = errno == ENOENT || errno == ECONNREFUSED ? "jitwgd is not running (no status socket)"
							       : strerror(errno);
		goto fail;
	}
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf = malloc(cap);
	if (!buf) {
		*why = "out of memory";
		goto fail;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			if (cap >= STATUS_MAX) {
				*why = "status document too large";
				goto fail;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				*why = "out of memory";
				goto fail;
			}
			buf = nb;
		}
	}
	if (n < 0) {
		*why = errno == EAGAIN ? "jitwgd did not answer in time" : strerror(errno);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* "1 minute, 5 seconds ago" as wg show spells it, at most two units. */
static void ago(char *out, size_t len, int64_t secs)
{
	static const struct { const char *name; int64_t s; } units[] = {
		{ "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 },
	};
	size_t i, used = 0, parts = 0;

	if (secs <= 0) {
		snprintf(out, len, "Now");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < 4 && parts < 2; ++i) {
		int64_t v = secs / units[i].s;
		if (!v)
			continue;
		secs -= v * units[i].s;
		used += (size_t)snprintf(out + used, len - used, "%s%" PRId64 " %s%s", parts ? ", " : "", v,
					 units[i].name, v == 1 ? "" : "s");
		if (used >= len)
			return;
		parts++;
	}
	snprintf(out + used, len - used, " ago");
}

static void bytes(char *out, size_t len, int64_t b)
{
	if (b < 1024)
		snprintf(out, len, "%" PRId64 " B", b);
	else if (b < 1024 * 1024)
		snprintf(out, len, "%.2f KiB", (double)b / 1024);
	else if (b < 1024LL * 1024 * 1024)
		snprintf(out, len, "%.2f MiB", (double)b / (1024 * 1024));
	else
		snprintf(out, len, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

static int64_t geti(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static const char *gets(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static void print_human(json_object *root)
{
	json_object *peers, *c, *p, *ips;
	int64_t now = geti(root, "now");
	char buf[128], rx[32], tx[32];
	size_t i, j, n;
	json_object *v;

	if (!now)
		now = time(NULL);
	heading(GREEN, "interface", gets(root, "interface") ? gets(root, "interface") : "?");
	field("backend", "%s (jitwgd)", gets(root, "backend") ? gets(root, "backend") : "?");
	field("public key", "%s", gets(root, "public_key") ? gets(root, "public_key") : "?");
	field("listening port", "%" PRId64, geti(root, "listen_port"));
	json_object_object_get_ex(root, "initiate", &v);
	field("idle timeout", "%" PRId64 " s, %s", geti(root, "idle_timeout"),
	      v && json_object_get_boolean(v) ? "initiator role" : "no-initiate");
	if (json_object_object_get_ex(root, "counters", &c)) {
		field("handshakes", "%" PRId64 " captured, %" PRId64 " ok, %" PRId64 " bad, %" PRId64
		       " replayed, %" PRId64 " not admitted",
		       geti(c, "captured"), geti(c, "handshakes_ok"), geti(c, "handshakes_bad"),
		       geti(c, "replay_rejected"), geti(c, "admit_dropped"));
		field("cache", "%" PRId64 " hit, %" PRId64 " miss, %" PRId64 " negative, %" PRId64
		       " stale; registry: %" PRId64 " ok, %" PRId64 " not found, %" PRId64 " errors",
		       geti(c, "cache_hit"), geti(c, "cache_miss"), geti(c, "cache_negative"),
		       geti(c, "cache_stale"), geti(c, "registry_ok"), geti(c, "registry_not_found"),
		       geti(c, "registry_errors"));
		field("peers", "%" PRId64 " installs, %" PRId64 " install errors, %" PRId64
		       " evictions, %" PRId64 " stale now",
		       geti(c, "installs"), geti(c, "install_errors"), geti(c, "evictions"),
		       geti(c, "peers_stale"));
	}
	if (!json_object_object_get_ex(root, "peers", &peers))
		return;
	if (geti(root, "figures_at"))
		field("figures", "read from the data plane %" PRId64 " s ago", now - geti(root, "figures_at"));
	else
		field("figures", "handshakes and transfer as of the last sweep");
	n = json_object_array_length(peers);
	for (i = 0; i < n; ++i) {
		p = json_object_array_get_idx(peers, i);
		putchar('\n');
		heading(YELLOW, "peer", gets(p, "public_key") ? gets(p, "public_key") : "?");
		if (gets(p, "endpoint"))
			field("endpoint", "%s", gets(p, "endpoint"));
		if (json_object_object_get_ex(p, "allowed_ips", &ips)) {
			printf(colour ? "  " BOLD "allowed ips" RESET ": " : "  allowed ips: ");
			for (j = 0; j < json_object_array_length(ips); ++j)
				printf("%s%s", j ? ", " : "", json_object_get_string(json_object_array_get_idx(ips, j)));
			printf("%s\n", j ? "" : "(none)");
		}
		if (geti(p, "latest_handshake")) {
			ago(buf, sizeof(buf), now - geti(p, "latest_handshake"));
			field("latest handshake", "%s", buf);
		} else {
			field("latest handshake", "(none)");
		}
		bytes(rx, sizeof(rx), geti(p, "rx_bytes"));
		bytes(tx, sizeof(tx), geti(p, "tx_bytes"));
		field("transfer", "%s received, %s sent", rx, tx);
		if (geti(p, "installed_at")) {
			ago(buf, sizeof(buf), now - geti(p, "installed_at"));
			json_object_object_get_ex(p, "adopted", &v);
			field("installed", "%s%s", buf, v && json_object_get_boolean(v) ? " (adopted)" : "");
		}
		if (geti(p, "persistent_keepalive"))
			field("persistent keepalive", "every %" PRId64 " seconds", geti(p, "persistent_keepalive"));
	}
}

/*
 * False for a datagram socket (jitwgd's --hook socket shares the directory):
 * a stream connect to it fails with EPROTOTYPE before anyone sees it.
 */
static bool status_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return ret == 0 || errno != EPROTOTYPE;
}

/* The single status socket in the default directory, or NULL. */
static char *only_socket(const char **why)
{
	DIR *d = opendir(default_dir);
	struct dirent *e;
	char *found = NULL;
	int count = 0;

	*why = "no jitwgd status socket found in /run/jitwg (use --interface or --socket)";
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char *path;

		if (l < 6 || strcmp(e->d_name + l - 5, ".sock"))
			continue;
		if (asprintf(&path, "%s/%s", default_dir, e->d_name) < 0)
			continue;
		if (!status_socket(path) || ++count > 1) {
			free(path);
			continue;
		}
		found = path;
	}
	closedir(d);
	if (count > 1) {
		*why = "several jitwgd are running: pick one with --interface";
		free(found);
		return NULL;
	}
	return found;
}

int cmd_status(int argc, char **argv)
{
	const char *iface = NULL, *sock = NULL, *why = NULL;
	char *path = NULL, *doc = NULL;
	bool json = false;
	json_object *root = NULL;
	int i, ret = 1;

	for (i = 1; i < argc; ++i) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--interface") && i + 1 < argc) {
			iface = argv[++i];
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else {
			fprintf(stderr, "jitwg status: bad argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (sock)
		path = strdup(sock);
	else if (iface) {
		if (strchr(iface, '/') || asprintf(&path, "%s/%s.sock", default_dir, iface) < 0) {
			fprintf(stderr, "jitwg status: bad interface name '%s'\n", iface);
			return 2;
		}
	} else if (!(path = only_socket(&why))) {
		fprintf(stderr, "jitwg status: %s\n", why);
		return 1;
	}
	doc = read_status(path, &why);
	if (!doc) {
		fprintf(stderr, "jitwg status: %s: %s\n", path, why);
		goto out;
	}
	root = json_tokener_parse(doc);
	if (!root || !json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "jitwg status: %s: the daemon's answer is not JSON\n", path);
		goto out;
	}
	if (gets(root, "error")) {
		fprintf(stderr, "jitwg status: jitwgd: %s\n", gets(root, "error"));
		goto out;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	} else {
		colour = want_colour();
		print_human(root);
	}
	ret = 0;
out:
	json_object_put(root);
	free(doc);
	free(path);
	return ret;
}

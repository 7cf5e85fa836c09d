// SPDX-License-Identifier: MIT
/*
 * jitwg-registry token create|list|revoke: token management on the database
 * directly, for bootstrap (no server, no token needed) and for operators on
 * the registry host. The same store functions as POST/GET/DELETE
 * /v1/tokens, so both paths audit the same way (token id 0: the host).
 *
 * Exit status: 0 success, 1 the database refused, 2 bad usage.
 */
#include "registry/tokencli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "registry/api.h"
#include "registry/store.h"

static const char usage_text[] =
	"Usage: jitwg-registry token create --db DB --scope admin|gateway|enroll [--gateway NAME]\n"
	"                                   [--max-peers N] [--expires RFC3339] [--comment TEXT]\n"
	"                                   [--output FILE [--group GROUP]]\n"
	"       jitwg-registry token list --db DB\n"
	"       jitwg-registry token revoke --db DB ID\n";

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "jitwg-registry token: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* Writes the secret to a new file (O_EXCL, 0640, group when given). 0 or 1 after printing why. */
static int write_secret(const char *path, const char *group, const char *secret)
{
	struct group *g = NULL;
	size_t len = strlen(secret);
	int fd, ret = 1;

	if (group && !(g = getgrnam(group)))
		return fail("--group %s: no such group", group);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return fail("--output: %s", strerror(errno));
	if ((g && fchown(fd, (uid_t)-1, g->gr_gid)) || fchmod(fd, 0640) || write(fd, secret, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1)
		fail("--output: %s", strerror(errno));
	else
		ret = 0;
	if (close(fd) && !ret)
		ret = fail("--output: %s", strerror(errno));
	if (ret)
		unlink(path);
	return ret;
}

static int do_create(struct store *s, struct store_token *t, const char *output, const char *group)
{
	char secret[API_TOKEN_TEXT_MAX];
	uint8_t hash[API_TOKEN_HASH_LEN];
	const char *field;
	int ret;

	if (api_token_check(t, time(NULL), &field)) {
		fprintf(stderr, "jitwg-registry token: invalid --%s for scope %s\n",
			!strcmp(field, "max_peers") ? "max-peers" : !strcmp(field, "expires_at") ? "expires" : field,
			store_scope_name(t->scope));
		return 2;
	}
	if (api_token_generate(secret, hash) || store_token_create(s, hash, t, time(NULL), NULL)) {
		explicit_bzero(secret, sizeof(secret));
		return fail("%s", "cannot store the token");
	}
	fprintf(stderr, "token %" PRId64 " (%s) created\n", t->id, store_scope_name(t->scope));
	if (output)
		ret = write_secret(output, group, secret);
	else
		ret = printf("%s\n", secret) < 0;
	explicit_bzero(secret, sizeof(secret));
	return ret;
}

static int do_list(struct store *s)
{
	struct store_token *t = NULL;
	char ts[RFC3339_MAX];
	int64_t after = 0;
	size_t i, n;

	printf("%-6s %-8s %-16s %-9s %-21s %-8s %s\n", "ID", "SCOPE", "GATEWAY", "USED/MAX", "EXPIRES", "STATE",
	       "COMMENT");
	do {
		if (store_token_list(s, after, 1000, &t, &n))
			return fail("%s", "cannot read tokens");
		for (i = 0; i < n; ++i) {
			char used[32] = "-";

			if (t[i].scope == STORE_SCOPE_ENROLL)
				snprintf(used, sizeof(used), "%" PRId64 "/%" PRId64, t[i].used, t[i].max_peers);
			if (t[i].expires_at)
				rfc3339_format(ts, t[i].expires_at);
			else
				strcpy(ts, "never");
			printf("%-6" PRId64 " %-8s %-16s %-9s %-21s %-8s %s\n", t[i].id, store_scope_name(t[i].scope),
			       t[i].has_gateway ? t[i].gateway : "-", used, ts,
			       t[i].revoked_at ? "revoked" :
			       t[i].expires_at && t[i].expires_at <= time(NULL) ? "expired" : "live",
			       t[i].comment);
			after = t[i].id;
		}
		free(t);
	} while (n == 1000);
	return 0;
}

int registry_token_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },	       { "scope", required_argument, NULL, 's' },
		{ "gateway", required_argument, NULL, 'g' },   { "max-peers", required_argument, NULL, 'm' },
		{ "expires", required_argument, NULL, 'e' },   { "comment", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },    { "group", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },	       { 0 },
	};
	const char *db = NULL, *output = NULL, *group = NULL, *cmd, *scope = NULL;
	struct store_token t = { 0 };
	struct store *s = NULL;
	bool max_given = false;
	char *end;
	int c, ret = 2;
	int64_t id = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 's': scope = optarg; break;
		case 'g':
			if (strlen(optarg) >= sizeof(t.gateway))
				return fail("--gateway %s: too long", optarg), 2;
			strcpy(t.gateway, optarg);
			t.has_gateway = true;
			break;
		case 'm':
			t.max_peers = strtoll(optarg, &end, 10);
			if (*end || !*optarg)
				return fail("--max-peers %s: want a number", optarg), 2;
			max_given = true;
			break;
		case 'e':
			if (strcmp(optarg, "never") && (rfc3339_parse(&t.expires_at, optarg) || t.expires_at <= 0))
				return fail("--expires %s: want an RFC 3339 time or never", optarg), 2;
			break;
		case 'c':
			if (strlen(optarg) >= sizeof(t.comment))
				return fail("--comment: at most %s characters", "127"), 2;
			strcpy(t.comment, optarg);
			break;
		case 'o': output = optarg; break;
		case 'G': group = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (!db)
		return fail("%s", "--db is required"), 2;
	if (group && !output)
		return fail("%s", "--group needs --output"), 2;
	if (!strcmp(cmd, "create")) {
		if (!scope || store_scope_parse(scope, &t.scope))
			return fail("%s", "--scope admin|gateway|enroll is required"), 2;
		if (!max_given)
			t.max_peers = t.scope == STORE_SCOPE_ENROLL ? 1 : 0;
		if (optind != argc - 1)
			return fail("unexpected argument '%s'", argv[optind + 1]), 2;
	} else if (!strcmp(cmd, "list")) {
		if (optind != argc - 1 || scope || output)
			return fail("%s", "list takes --db only"), 2;
	} else if (!strcmp(cmd, "revoke")) {
		if (optind != argc - 2 || scope || output || (id = strtoll(argv[optind + 1], &end, 10)) < 1 || *end)
			return fail("%s", "revoke takes --db DB and one token ID"), 2;
	} else {
		fputs(usage_text, stderr);
		return 2;
	}
	s = store_open(db, 1);
	if (!s)
		return fail("cannot open database: %s", strerror(errno));
	if (!strcmp(cmd, "create"))
		ret = do_create(s, &t, output, group);
	else if (!strcmp(cmd, "list"))
		ret = do_list(s);
	else if ((ret = store_token_revoke(s, id, time(NULL), NULL)))
		ret = fail(ret == -ENOENT ? "token %s: no such live token" : "token %s: cannot revoke",
			   argv[optind + 1]);
	else
		fprintf(stderr, "token %s revoked\n", argv[optind + 1]);
	store_free(s);
	explicit_bzero(&t, sizeof(t));
	return ret;
}

// SPDX-License-Identifier: MIT
/*
 * jitwg token create|list|revoke: the registry's scoped tokens through its
 * API (POST/GET/DELETE /v1/tokens, an admin token needed), for operators
 * away from the registry's host. On the host, `jitwg-registry token` does
 * the same on the database directly.
 *
 * Exit status: 0 success, 1 the registry refused or could not be reached,
 * 2 bad usage.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/regapi.h"
#include "common/rfc3339.h"

struct topts {
	const char *registry, *token_file, *scope, *gateway, *max_peers, *expires, *comment, *id;
	bool json;
};

static const char *const usages[] = {
	("create --registry URL [--token-file F] --scope admin|gateway|enroll [--gateway NAME]\n"
	 "          [--max-peers N] [--expires RFC3339] [--comment TEXT] [--json]"),
	"list --registry URL [--token-file F] [--json]",
	"revoke --registry URL [--token-file F] --id ID",
};
static const char *const names[] = { "create", "list", "revoke" };

static int fail(const char *cmd, const char *msg, const char *arg)
{
	fprintf(stderr, "jitwg token %s: %s%s\n", cmd, msg, arg ? arg : "");
	return 1;
}

/* One request: the status, or -1 after printing why. */
static long call(const char *cmd, const struct topts *o, const char *method, const char *path, const char *body,
		 char **resp)
{
	const char *why = NULL;
	struct regapi *r = regapi_new(o->registry, o->token_file, &why);
	char line[512];
	long st = -1;

	*resp = NULL;
	if (!r) {
		fail(cmd, "--token-file: ", why ? why : "cannot read");
		return -1;
	}
	if (regapi_request(r, method, path, body, &st, resp, &why)) {
		fail(cmd, "cannot reach registry: ", why);
		st = -1;
	} else if (st < 200 || st > 299) {
		regapi_error_line(line, sizeof(line), st, *resp);
		fail(cmd, "registry: ", line);
	}
	regapi_free(r);
	return st;
}

/* The POST body from the options, or NULL after printing why. */
static char *create_body(const struct topts *o)
{
	struct json_object *b = json_object_new_object();
	char *end, *out = NULL;
	int64_t t;
	long long n;

	if (!b)
		return NULL;
	json_object_object_add(b, "scope", json_object_new_string(o->scope));
	if (o->gateway)
		json_object_object_add(b, "gateway", json_object_new_string(o->gateway));
	if (o->max_peers) {
		n = strtoll(o->max_peers, &end, 10);
		if (*end || !*o->max_peers) {
			fail("create", "--max-peers: want a number", NULL);
			goto out;
		}
		json_object_object_add(b, "max_peers", json_object_new_int64(n));
	}
	if (o->expires) {
		if (rfc3339_parse(&t, o->expires) || t <= 0) {
			fail("create", "--expires: want an RFC 3339 time such as 2030-01-31T12:00:00Z", NULL);
			goto out;
		}
		json_object_object_add(b, "expires_at", json_object_new_string(o->expires));
	}
	if (o->comment)
		json_object_object_add(b, "comment", json_object_new_string(o->comment));
	out = strdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(b);
	return out;
}

static const char *str(struct json_object *o, const char *k, const char *dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       dflt;
}

static int do_create(const struct topts *o)
{
	struct json_object *r = NULL;
	char *body, *resp = NULL;
	long st;
	int ret = 1;

	if (!o->scope)
		return fail("create", "--scope is required", NULL), 2;
	body = create_body(o);
	if (!body)
		return 2;
	st = call("create", o, "POST", "/v1/tokens", body, &resp);
	if (st == 201 && (r = json_tokener_parse(resp)) && str(r, "token", NULL)) {
		if (o->json)
			printf("%s\n", resp);
		else
			printf("%s\n", str(r, "token", ""));
		fprintf(stderr, "token %s created (%s)\n", json_object_get_string(json_object_object_get(r, "id")),
			str(r, "scope", "?"));
		ret = 0;
	} else if (st == 201) {
		fail("create", "registry sent an invalid answer", NULL);
	}
	json_object_put(r);
	if (resp)
		explicit_bzero(resp, strlen(resp));
	free(resp);
	free(body);
	return ret;
}

static int do_list(const struct topts *o)
{
	struct json_object *page = NULL, *arr, *t;
	char *resp = NULL;
	size_t i, n;
	int ret = 1;

	if (call("list", o, "GET", "/v1/tokens?limit=1000", NULL, &resp) != 200)
		goto out;
	page = json_tokener_parse(resp);
	if (!page || !json_object_object_get_ex(page, "tokens", &arr) || !json_object_is_type(arr, json_type_array)) {
		fail("list", "registry sent an invalid page", NULL);
		goto out;
	}
	if (o->json) {
		printf("%s\n", resp);
		ret = 0;
		goto out;
	}
	printf("%-6s %-8s %-16s %-21s %-21s %s\n", "ID", "SCOPE", "GATEWAY", "EXPIRES", "REVOKED", "COMMENT");
	n = json_object_array_length(arr);
	for (i = 0; i < n; ++i) {
		t = json_object_array_get_idx(arr, i);
		printf("%-6s %-8s %-16s %-21s %-21s %s\n", json_object_get_string(json_object_object_get(t, "id")),
		       str(t, "scope", "?"), str(t, "gateway", "-"), str(t, "expires_at", "never"),
		       str(t, "revoked_at", "-"), str(t, "comment", ""));
	}
	ret = 0;
out:
	json_object_put(page);
	free(resp);
	return ret;
}

static int do_revoke(const struct topts *o)
{
	char path[64], *resp = NULL, *end;
	long long id;
	long st;

	if (!o->id || (id = strtoll(o->id, &end, 10)) < 1 || *end)
		return fail("revoke", "--id wants a token id (jitwg token list)", NULL), 2;
	snprintf(path, sizeof(path), "/v1/tokens/%lld", id);
	st = call("revoke", o, "DELETE", path, NULL, &resp);
	free(resp);
	if (st != 204)
		return 1;
	printf("revoked\n");
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage:\n");
	for (i = 0; i < sizeof(usages) / sizeof(usages[0]); ++i)
		fprintf(f, "  jitwg token %s\n", usages[i]);
	fprintf(f, "\n--registry and --token-file default to $JITWG_REGISTRY and $JITWG_TOKEN_FILE "
		   "(an admin token).\n");
}

int cmd_token(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "registry", required_argument, NULL, 'r' },  { "token-file", required_argument, NULL, 't' },
		{ "scope", required_argument, NULL, 's' },     { "gateway", required_argument, NULL, 'g' },
		{ "max-peers", required_argument, NULL, 'm' }, { "expires", required_argument, NULL, 'e' },
		{ "comment", required_argument, NULL, 'c' },   { "id", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },	       { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const allowed[] = { "rtsgmecjh", "rtjh", "rtih" };
	struct topts o = { .registry = getenv("JITWG_REGISTRY"), .token_file = getenv("JITWG_TOKEN_FILE") };
	size_t cmd;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (cmd = 0; cmd < 3 && strcmp(argv[1], names[cmd]); ++cmd)
		;
	if (cmd == 3) {
		fprintf(stderr, "jitwg token: unknown subcommand '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", lopts, NULL)) != -1) {
		if (c == '?' || !strchr(allowed[cmd], c)) {
			fprintf(stderr, "Usage: jitwg token %s\n", usages[cmd]);
			return 2;
		}
		switch (c) {
		case 'h': printf("Usage: jitwg token %s\n", usages[cmd]); return 0;
		case 'r': o.registry = optarg; break;
		case 't': o.token_file = optarg; break;
		case 's': o.scope = optarg; break;
		case 'g': o.gateway = optarg; break;
		case 'm': o.max_peers = optarg; break;
		case 'e': o.expires = optarg; break;
		case 'c': o.comment = optarg; break;
		case 'i': o.id = optarg; break;
		case 'j': o.json = true; break;
		}
	}
	if (optind != argc - 1 || !o.registry) {
		fprintf(stderr, "Usage: jitwg token %s\n", usages[cmd]);
		return 2;
	}
	return cmd == 0 ? do_create(&o) : cmd == 1 ? do_list(&o) : do_revoke(&o);
}

// SPDX-License-Identifier: MIT
/*
 * jitwg peer add|get|list|del|rotate|update|config: the registry from an
 * operator's and a user's side. Records are parsed with the same peer_record_from_json()
 * jitwgd uses, so what this prints is what a gateway would install.
 *
 * Exit status: 0 success, 1 the registry refused or could not be reached
 * (one line on stderr), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/peer.h"
#include "common/rfc3339.h"

enum { LIST_PAGES_MAX = 100000 };

static const struct subcmd {
	const char *name;
	int (*fn)(struct opts *o);
	unsigned int allowed, required;
	const char *usage;
} *current;

void peer_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jitwg peer %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- registry plumbing ------------------------------------------------------ */

struct regapi *peer_connect_registry(const struct opts *o)
{
	const char *why = NULL;
	struct regapi *r = regapi_new(o->registry, o->token_file, &why);

	if (!r)
		peer_fail("--token-file %s: %s", o->token_file ? o->token_file : "", why ? why : strerror(errno));
	return r;
}

/*
 * One request; returns the HTTP status, or -1 after printing why the
 * registry could not be reached. *resp is the body (caller frees).
 */
long peer_call(struct regapi *r, const struct opts *o, const char *method, const char *path, const char *body,
		 char **resp)
{
	const char *why;
	long status;

	if (regapi_request(r, method, path, body, &status, resp, &why)) {
		peer_fail("cannot reach registry %s: %s", o->registry, why);
		return -1;
	}
	return status;
}

int peer_registry_error(long status, const char *body)
{
	char line[512];

	regapi_error_line(line, sizeof(line), status, body);
	peer_fail("registry: %s", line);
	return 1;
}

/* ---- output -------------------------------------------------------------------- */

static void print_record(const struct peer_record *r)
{
	char key[WG_KEY_B64_LEN + 1], c[CIDR_STR_MAX], ts[RFC3339_MAX];
	size_t i;

	key_to_base64(key, r->public_key);
	printf("peer %s\n  allowed ips: ", key);
	for (i = 0; i < r->n_allowed_ips; ++i) {
		cidr_format(c, &r->allowed_ips[i]);
		printf("%s%s", i ? ", " : "", c);
	}
	printf("%s\n  gateway: %s\n", r->n_allowed_ips ? "" : "(none)", r->has_gateway ? r->gateway : "(any)");
	if (r->has_name)
		printf("  name: %s\n", r->name);
	if (r->has_owner)
		printf("  owner: %s\n", r->owner);
	if (r->has_preshared_key)
		printf("  preshared key: (set)\n");
	if (r->persistent_keepalive)
		printf("  persistent keepalive: every %u seconds\n", r->persistent_keepalive);
	if (r->expires_at) {
		rfc3339_format(ts, r->expires_at);
		printf("  expires: %s\n", ts);
	}
	if (r->created_at) {
		rfc3339_format(ts, r->created_at);
		printf("  created: %s\n", ts);
	}
}

/* Parses a record the registry sent; prints it (human or raw JSON). */
int peer_show_record(const struct opts *o, const char *body, struct peer_record *keep)
{
	struct peer_record r;
	const char *field;

	if (peer_record_from_json(&r, body, strlen(body), &field)) {
		peer_fail("registry sent an invalid record (field %s)", field ? field : "?");
		return 1;
	}
	if (o->json)
		printf("%s\n", body);
	else if (!keep)
		print_record(&r);
	if (keep)
		*keep = r;
	else
		peer_record_clear(&r);
	return 0;
}

char *peer_key_path(const uint8_t key[static WG_KEY_LEN])
{
	char u[WG_KEY_B64URL_LEN + 1], *p = NULL;

	key_to_base64url(u, key);
	if (asprintf(&p, "/v1/peers/%s", u) < 0)
		return NULL;
	return p;
}

int peer_parse_label(const char *s, const char *opt, bool *has, char out[static PEER_LABEL_MAX])
{
	if (!s)
		return 0;
	if (!peer_label_valid(s)) {
		peer_fail("%s: want 1-63 of A-Z a-z 0-9 . _ - @", opt);
		return -EINVAL;
	}
	strcpy(out, s);
	*has = true;
	return 0;
}

int peer_parse_pubkey(const char *s, uint8_t key[static WG_KEY_LEN], const char *opt)
{
	if (key_from_base64(key, s) && key_from_base64url(key, s)) {
		peer_fail("%s: not a WireGuard public key (44 characters of base64)", opt);
		return -EINVAL;
	}
	if (key_is_low_order(key)) {
		peer_fail("%s: %s is a key of small order (all zero or alike): no handshake can "
			  "complete with it; use the output of `wg pubkey`", opt, s);
		return -EINVAL;
	}
	return 0;
}

/* "a,b,c" of CIDRs into r->allowed_ips. */
int peer_parse_cidrs(const char *list, struct cidr **out, size_t *n, const char *opt)
{
	char *dup = strdup(list), *part, *save = NULL;
	size_t cap = 1;
	const char *q;
	int ret = -EINVAL;

	*out = NULL;
	*n = 0;
	for (q = list; *q; ++q)
		cap += *q == ',';
	*out = calloc(cap, sizeof(**out));
	if (!dup || !*out) {
		peer_fail("out of memory");
		goto out;
	}
	for (part = strtok_r(dup, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		while (*part == ' ')
			++part;
		const char *why;

		if (cidr_parse_why(&(*out)[*n], part, &why)) {
			peer_fail("%s: '%s': %s", opt, part, why);
			goto out;
		}
		(*n)++;
	}
	ret = *n ? 0 : -EINVAL;
	if (ret)
		peer_fail("%s: empty list", opt);
out:
	free(dup);
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

/* ---- subcommands ------------------------------------------------------------ */

static int do_add(struct opts *o)
{
	struct peer_record r = { 0 };
	struct regapi *reg = NULL;
	char *body = NULL, *resp = NULL;
	long st;
	int ret = 2;

	if (peer_parse_pubkey(o->public_key, r.public_key, "--public-key"))
		goto out;
	if (o->allowed_ips && peer_parse_cidrs(o->allowed_ips, &r.allowed_ips, &r.n_allowed_ips, "--allowed-ips"))
		goto out;
	if (o->gateway) {
		if (!peer_gateway_valid(o->gateway)) {
			peer_fail("--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
			goto out;
		}
		strcpy(r.gateway, o->gateway);
		r.has_gateway = true;
	}
	if (o->expires && (rfc3339_parse(&r.expires_at, o->expires) || r.expires_at <= 0)) {
		peer_fail("--expires: want an RFC 3339 time such as 2030-01-31T12:00:00Z");
		goto out;
	}
	if (o->seen & O_KEEPALIVE)
		r.persistent_keepalive = (uint16_t)o->keepalive;
	if (peer_parse_label(o->name, "--name", &r.has_name, r.name) ||
	    peer_parse_label(o->owner, "--owner", &r.has_owner, r.owner))
		goto out;
	body = peer_record_to_json(&r);
	ret = 1;
	if (!body) {
		peer_fail("out of memory");
		goto out;
	}
	reg = peer_connect_registry(o);
	if (!reg)
		goto out;
	st = peer_call(reg, o, "POST", "/v1/peers", body, &resp);
	if (st < 0)
		goto out;
	if (st != 200 && st != 201) {
		ret = peer_registry_error(st, resp);
		goto out;
	}
	if (!o->json)
		printf("%s\n", st == 201 ? "created" : "already registered with this record");
	ret = peer_show_record(o, resp, NULL);
out:
	peer_record_clear(&r);
	regapi_free(reg);
	free(body);
	free(resp);
	return ret;
}

static int get_or_del(struct opts *o, bool del)
{
	uint8_t key[WG_KEY_LEN];
	struct regapi *reg = NULL;
	char *path = NULL, *resp = NULL;
	long st;
	int ret = 2;

	if (peer_parse_pubkey(o->public_key, key, "--public-key"))
		goto out;
	ret = 1;
	path = peer_key_path(key);
	reg = path ? peer_connect_registry(o) : NULL;
	if (!reg)
		goto out;
	st = peer_call(reg, o, del ? "DELETE" : "GET", path, NULL, &resp);
	if (st < 0)
		goto out;
	if (del && st == 204) {
		if (o->json)
			printf("{\"deleted\":true}\n");
		else
			printf("deleted\n");
		ret = 0;
	} else if (del && st == 404) {
		peer_fail("no peer with this public key: nothing was deleted");
		ret = 1;
	} else if (!del && st == 200) {
		ret = peer_show_record(o, resp, NULL);
	} else {
		ret = peer_registry_error(st, resp);
	}
out:
	regapi_free(reg);
	free(path);
	free(resp);
	return ret;
}

static int do_get(struct opts *o)
{
	return get_or_del(o, false);
}

static int do_del(struct opts *o)
{
	return get_or_del(o, true);
}

static void print_list_line(const struct peer_record *r)
{
	char key[WG_KEY_B64_LEN + 1], c[CIDR_STR_MAX], ts[RFC3339_MAX] = "never";
	size_t i;

	key_to_base64(key, r->public_key);
	printf("%s  ", key);
	for (i = 0; i < r->n_allowed_ips; ++i) {
		cidr_format(c, &r->allowed_ips[i]);
		printf("%s%s", i ? "," : "", c);
	}
	if (r->expires_at)
		rfc3339_format(ts, r->expires_at);
	printf("%s  gateway=%s  expires=%s", r->n_allowed_ips ? "" : "-", r->has_gateway ? r->gateway : "any", ts);
	if (r->has_name)
		printf("  name=%s", r->name);
	if (r->has_owner)
		printf("  owner=%s", r->owner);
	putchar('\n');
}

/* Walks every page; prints one line per peer, or one JSON document. */
static int do_list(struct opts *o)
{
	struct json_object *page = NULL, *peers, *next;
	struct regapi *reg = peer_connect_registry(o);
	char *path = NULL, *resp = NULL, *cursor = NULL;
	size_t i, n, total = 0;
	long st, pages;
	int ret = 1;

	if (!reg)
		return 1;
	if ((o->gateway && !peer_gateway_valid(o->gateway)) || (o->owner && !peer_label_valid(o->owner))) {
		peer_fail(o->owner && !peer_label_valid(o->owner) ? "--owner: want 1-63 of A-Z a-z 0-9 . _ - @"
								    : "--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
		regapi_free(reg);
		return 2;
	}
	if (o->json)
		printf("{\"peers\":[");
	for (pages = 0; pages < LIST_PAGES_MAX; ++pages) {
		free(path);
		path = NULL;
		/* '@' in an owner is legal in a query string as it is */
		if (asprintf(&path, "/v1/peers?limit=%s%s%s%s%s%s%s", o->limit ? o->limit : "1000",
			     cursor ? "&cursor=" : "", cursor ? cursor : "", o->gateway ? "&gateway=" : "",
			     o->gateway ? o->gateway : "", o->owner ? "&owner=" : "", o->owner ? o->owner : "") < 0) {
			path = NULL;
			goto out;
		}
		free(resp);
		st = peer_call(reg, o, "GET", path, NULL, &resp);
		if (st < 0)
			goto out;
		if (st != 200) {
			peer_registry_error(st, resp);
			goto out;
		}
		json_object_put(page);
		page = json_tokener_parse(resp);
		if (!page || !json_object_object_get_ex(page, "peers", &peers) ||
		    !json_object_is_type(peers, json_type_array)) {
			peer_fail("registry sent an invalid page");
			goto out;
		}
		n = json_object_array_length(peers);
		for (i = 0; i < n; ++i) {
			struct json_object *item = json_object_array_get_idx(peers, i);
			const char *text = json_object_to_json_string_ext(
				item, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			struct peer_record r;
			const char *field;

			if (peer_record_from_json(&r, text, strlen(text), &field)) {
				peer_fail("registry sent an invalid record (field %s)", field);
				goto out;
			}
			if (o->json)
				printf("%s%s", total ? "," : "", text);
			else
				print_list_line(&r);
			peer_record_clear(&r);
			total++;
		}
		free(cursor);
		cursor = NULL;
		if (!json_object_object_get_ex(page, "next_cursor", &next))
			break;
		/* json-c hands back NULL for a JSON null: never strdup that */
		if (!json_object_is_type(next, json_type_string)) {
			peer_fail("registry sent an invalid page (next_cursor)");
			goto out;
		}
		cursor = strdup(json_object_get_string(next));
		if (!cursor) {
			peer_fail("out of memory");
			goto out;
		}
	}
	if (o->json)
		printf("]}\n");
	else
		fprintf(stderr, "%zu peers\n", total);
	ret = 0;
out:
	if (ret && o->json)
		printf("]}\n");
	json_object_put(page);
	regapi_free(reg);
	free(path);
	free(resp);
	free(cursor);
	return ret;
}

/* ---- dispatch --------------------------------------------------------------- */

#define COMMON (O_REGISTRY | O_TOKEN | O_JSON)
static const struct subcmd subcmds[] = {
	{ "add", do_add, COMMON | O_PUBKEY | O_ALLOWED | O_GATEWAY | O_EXPIRES | O_KEEPALIVE | O_NAME | O_OWNER,
	  O_REGISTRY | O_PUBKEY,
	  "add --registry URL [--token-file F] --public-key KEY [--allowed-ips CIDR[,CIDR...]]\n"
	  "          [--gateway NAME] [--expires RFC3339] [--persistent-keepalive SECS]\n"
	  "          [--name NAME] [--owner OWNER] [--json]" },
	{ "get", do_get, COMMON | O_PUBKEY, O_REGISTRY | O_PUBKEY,
	  "get --registry URL [--token-file F] --public-key KEY [--json]" },
	{ "list", do_list, COMMON | O_GATEWAY | O_LIMIT | O_OWNER, O_REGISTRY,
	  "list --registry URL [--token-file F] [--gateway NAME] [--owner OWNER] [--limit PAGE_SIZE] [--json]" },
	{ "del", do_del, COMMON | O_PUBKEY, O_REGISTRY | O_PUBKEY,
	  "del --registry URL [--token-file F] --public-key KEY [--json]" },
	{ "rotate", peer_rotate, COMMON | O_PUBKEY | O_NEWKEY, O_REGISTRY | O_PUBKEY | O_NEWKEY,
	  "rotate --registry URL [--token-file F] --public-key OLD --new-public-key NEW [--json]" },
	{ "update", peer_update, COMMON | O_PUBKEY | O_ALLOWED | O_EXPIRES | O_KEEPALIVE | O_NAME | O_OWNER,
	  O_REGISTRY | O_PUBKEY,
	  "update --registry URL [--token-file F] --public-key KEY [--allowed-ips CIDR[,CIDR...]]\n"
	  "          [--expires RFC3339|never] [--persistent-keepalive SECS] [--name NAME] [--owner OWNER] [--json]" },
	{ "config", peer_config,
	  O_REGISTRY | O_TOKEN | O_GWKEY | O_ENDPOINT | O_PRIVKEY | O_GATEWAY | O_ROUTE | O_OUTPUT | O_WEBSOCKET |
		  O_FORCE | O_QR | O_MTU | O_DNS | O_KEEPALIVE,
	  O_REGISTRY | O_GWKEY,
	  "config --registry URL [--token-file F] --gateway-public-key KEY --endpoint HOST:PORT\n"
	  "          [--private-key FILE] [--gateway NAME] [--route CIDR[,CIDR...]]\n"
	  "          [--output FILE [--force]] [--qr] [--mtu N] [--dns ADDR[,ADDR...]] [--keepalive SECS]\n"
	  "          [--websocket ws[s]://RELAY[:PORT][/PATH]]  (Endpoint: the local jitwg tunnel,\n"
	  "                                 --endpoint or 127.0.0.1:51820)\n"
	  "          --private-key FILE: a missing FILE is created with a new key; an existing one\n"
	  "          is reused, and so is its registered address (refresh a lost config)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage:\n");
	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); ++i)
		fprintf(f, "  jitwg peer %s\n", subcmds[i].usage);
	fprintf(f, "\n--registry and --token-file default to $JITWG_REGISTRY and $JITWG_TOKEN_FILE.\n");
}

int cmd_peer(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "registry", required_argument, NULL, 'r' },
		{ "token-file", required_argument, NULL, 't' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "allowed-ips", required_argument, NULL, 'a' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "expires", required_argument, NULL, 'e' },
		{ "persistent-keepalive", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "gateway-public-key", required_argument, NULL, 'G' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ "private-key", required_argument, NULL, 'P' },
		{ "route", required_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "websocket", required_argument, NULL, 'W' },
		{ "new-public-key", required_argument, NULL, 'N' },
		{ "name", required_argument, NULL, 'n' },
		{ "owner", required_argument, NULL, 'O' },
		{ "force", no_argument, NULL, 'f' },
		{ "qr", no_argument, NULL, 'Q' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "dns", required_argument, NULL, 'D' },
		{ "keepalive", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct {
		int c;
		unsigned int bit;
		const char *name;
	} bits[] = {
		{ 'r', O_REGISTRY, "--registry" }, { 't', O_TOKEN, "--token-file" },
		{ 'k', O_PUBKEY, "--public-key" }, { 'a', O_ALLOWED, "--allowed-ips" },
		{ 'g', O_GATEWAY, "--gateway" }, { 'e', O_EXPIRES, "--expires" },
		{ 'p', O_KEEPALIVE, "--persistent-keepalive" }, { 'j', O_JSON, "--json" },
		{ 'G', O_GWKEY, "--gateway-public-key" }, { 'E', O_ENDPOINT, "--endpoint" },
		{ 'P', O_PRIVKEY, "--private-key" }, { 'R', O_ROUTE, "--route" },
		{ 'o', O_OUTPUT, "--output" }, { 'l', O_LIMIT, "--limit" },
		{ 'W', O_WEBSOCKET, "--websocket" }, { 'N', O_NEWKEY, "--new-public-key" },
		{ 'n', O_NAME, "--name" }, { 'O', O_OWNER, "--owner" },
		{ 'W', O_WEBSOCKET, "--websocket" }, { 'f', O_FORCE, "--force" },
		{ 'Q', O_QR, "--qr" }, { 'M', O_MTU, "--mtu" }, { 'D', O_DNS, "--dns" },
	};
	struct opts o = { 0 };
	char *end;
	size_t i;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); ++i)
		if (!strcmp(argv[1], subcmds[i].name))
			current = &subcmds[i];
	if (!current) {
		fprintf(stderr, "jitwg peer: unknown subcommand '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	o.registry = getenv("JITWG_REGISTRY");
	o.token_file = getenv("JITWG_TOKEN_FILE");
	if (o.registry)
		o.seen |= O_REGISTRY;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", lopts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: jitwg peer %s\n", current->usage);
			return 0;
		}
		for (i = 0; i < sizeof(bits) / sizeof(bits[0]); ++i)
			if (bits[i].c == c)
				break;
		if (i == sizeof(bits) / sizeof(bits[0])) {
			fprintf(stderr, "Usage: jitwg peer %s\n", current->usage);
			return 2;
		}
		if (!(current->allowed & bits[i].bit)) {
			peer_fail("%s does not apply here", bits[i].name);
			return 2;
		}
		o.seen |= bits[i].bit;
		switch (c) {
		case 'r': o.registry = optarg; break;
		case 't': o.token_file = optarg; break;
		case 'k': o.public_key = optarg; break;
		case 'a': o.allowed_ips = optarg; break;
		case 'g': o.gateway = optarg; break;
		case 'e': o.expires = optarg; break;
		case 'j': o.json = true; break;
		case 'G': o.gw_key = optarg; break;
		case 'E': o.endpoint = optarg; break;
		case 'P': o.private_key = optarg; break;
		case 'R': o.route = optarg; break;
		case 'o': o.output = optarg; break;
		case 'W': o.websocket = optarg; break;
		case 'N': o.new_public_key = optarg; break;
		case 'n': o.name = optarg; break;
		case 'O': o.owner = optarg; break;
		case 'f': o.force = true; break;
		case 'Q': o.qr = true; break;
		case 'D': o.dns = optarg; break;
		case 'M':
			o.mtu = strtol(optarg, &end, 10);
			if (*end || !*optarg || o.mtu < 576 || o.mtu > 9000) {
				peer_fail("--mtu wants 576..9000 bytes");
				return 2;
			}
			break;
		case 'l':
			o.limit = optarg;
			if (strtol(optarg, &end, 10) < 1 || strtol(optarg, &end, 10) > 1000 || *end) {
				peer_fail("--limit wants 1..1000");
				return 2;
			}
			break;
		case 'p':
			o.keepalive = strtol(optarg, &end, 10);
			if (*end || !*optarg || o.keepalive < 0 || o.keepalive > 65535) {
				peer_fail("--persistent-keepalive (--keepalive) wants 0..65535 seconds");
				return 2;
			}
			break;
		}
	}
	if (optind != argc - 1) {
		peer_fail("unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); ++i) {
		if ((current->required & bits[i].bit) && !(o.seen & bits[i].bit)) {
			peer_fail("%s is required", bits[i].name);
			return 2;
		}
	}
	return current->fn(&o);
}

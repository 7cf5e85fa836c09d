// SPDX-License-Identifier: MIT
/*
 * jitwg peer add|get|list|del|config: the registry from an operator's and a
 * user's side. Records are parsed with the same peer_record_from_json()
 * jitwgd uses, so what this prints is what a gateway would install.
 *
 * Exit status: 0 success, 1 the registry refused or could not be reached
 * (one line on stderr), 2 bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/regapi.h"
#include "common/rfc3339.h"
#include "common/keyfile.h"
#include "crypto/x25519.h"
#include "wire/record.h"
#include "wire/cidr.h"
#include "wire/keys.h"

enum opt_bit {
	O_REGISTRY = 1 << 0,
	O_TOKEN = 1 << 1,
	O_PUBKEY = 1 << 2,
	O_ALLOWED = 1 << 3,
	O_GATEWAY = 1 << 4,
	O_EXPIRES = 1 << 5,
	O_JSON = 1 << 6,
	O_KEEPALIVE = 1 << 7,
	O_GWKEY = 1 << 8,
	O_ENDPOINT = 1 << 9,
	O_PRIVKEY = 1 << 10,
	O_ROUTE = 1 << 11,
	O_OUTPUT = 1 << 12,
	O_LIMIT = 1 << 13,
	O_WEBSOCKET = 1 << 14,
};

enum { LIST_PAGES_MAX = 100000 };

struct opts {
	unsigned int seen;
	const char *registry, *token_file, *public_key, *allowed_ips, *gateway, *expires;
	const char *gw_key, *endpoint, *private_key, *route, *output, *limit;
	const char *websocket; /* config: reach the gateway through jitwg tunnel */
	long keepalive;
	bool json;
};

static const struct subcmd {
	const char *name;
	int (*fn)(struct opts *o);
	unsigned int allowed, required;
	const char *usage;
} *current;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jitwg peer %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- registry plumbing ------------------------------------------------------ */

static struct regapi *connect_registry(const struct opts *o)
{
	const char *why = NULL;
	struct regapi *r = regapi_new(o->registry, o->token_file, &why);

	if (!r)
		fail("--token-file %s: %s", o->token_file ? o->token_file : "", why ? why : strerror(errno));
	return r;
}

/*
 * One request; returns the HTTP status, or -1 after printing why the
 * registry could not be reached. *resp is the body (caller frees).
 */
static long call(struct regapi *r, const struct opts *o, const char *method, const char *path, const char *body,
		 char **resp)
{
	const char *why;
	long status;

	if (regapi_request(r, method, path, body, &status, resp, &why)) {
		fail("cannot reach registry %s: %s", o->registry, why);
		return -1;
	}
	return status;
}

static int registry_error(long status, const char *body)
{
	char line[512];

	regapi_error_line(line, sizeof(line), status, body);
	fail("registry: %s", line);
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
static int show_record(const struct opts *o, const char *body, struct peer_record *keep)
{
	struct peer_record r;
	const char *field;

	if (peer_record_from_json(&r, body, strlen(body), &field)) {
		fail("registry sent an invalid record (field %s)", field ? field : "?");
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

static char *key_path(const uint8_t key[static WG_KEY_LEN])
{
	char u[WG_KEY_B64URL_LEN + 1], *p = NULL;

	key_to_base64url(u, key);
	if (asprintf(&p, "/v1/peers/%s", u) < 0)
		return NULL;
	return p;
}

static int parse_pubkey(const char *s, uint8_t key[static WG_KEY_LEN], const char *opt)
{
	if (key_from_base64(key, s) && key_from_base64url(key, s)) {
		fail("%s: not a WireGuard public key (44 characters of base64)", opt);
		return -EINVAL;
	}
	return 0;
}

/* "a,b,c" of CIDRs into r->allowed_ips. */
static int parse_cidrs(const char *list, struct cidr **out, size_t *n, const char *opt)
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
		fail("out of memory");
		goto out;
	}
	for (part = strtok_r(dup, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		while (*part == ' ')
			++part;
		if (cidr_parse(&(*out)[*n], part)) {
			fail("%s: '%s' is not a CIDR prefix (host bits must be zero)", opt, part);
			goto out;
		}
		(*n)++;
	}
	ret = *n ? 0 : -EINVAL;
	if (ret)
		fail("%s: empty list", opt);
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

	if (parse_pubkey(o->public_key, r.public_key, "--public-key"))
		goto out;
	if (o->allowed_ips && parse_cidrs(o->allowed_ips, &r.allowed_ips, &r.n_allowed_ips, "--allowed-ips"))
		goto out;
	if (o->gateway) {
		if (!peer_gateway_valid(o->gateway)) {
			fail("--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
			goto out;
		}
		strcpy(r.gateway, o->gateway);
		r.has_gateway = true;
	}
	if (o->expires && (rfc3339_parse(&r.expires_at, o->expires) || r.expires_at <= 0)) {
		fail("--expires: want an RFC 3339 time such as 2030-01-31T12:00:00Z");
		goto out;
	}
	if (o->seen & O_KEEPALIVE)
		r.persistent_keepalive = (uint16_t)o->keepalive;
	body = peer_record_to_json(&r);
	ret = 1;
	if (!body) {
		fail("out of memory");
		goto out;
	}
	reg = connect_registry(o);
	if (!reg)
		goto out;
	st = call(reg, o, "POST", "/v1/peers", body, &resp);
	if (st < 0)
		goto out;
	if (st != 200 && st != 201) {
		ret = registry_error(st, resp);
		goto out;
	}
	if (!o->json)
		printf("%s\n", st == 201 ? "created" : "already registered with this record");
	ret = show_record(o, resp, NULL);
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

	if (parse_pubkey(o->public_key, key, "--public-key"))
		goto out;
	ret = 1;
	path = key_path(key);
	reg = path ? connect_registry(o) : NULL;
	if (!reg)
		goto out;
	st = call(reg, o, del ? "DELETE" : "GET", path, NULL, &resp);
	if (st < 0)
		goto out;
	if (del && st == 204) {
		if (o->json)
			printf("{\"deleted\":true}\n");
		else
			printf("deleted\n");
		ret = 0;
	} else if (!del && st == 200) {
		ret = show_record(o, resp, NULL);
	} else {
		ret = registry_error(st, resp);
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
	printf("%s  gateway=%s  expires=%s\n", r->n_allowed_ips ? "" : "-", r->has_gateway ? r->gateway : "any", ts);
}

/* Walks every page; prints one line per peer, or one JSON document. */
static int do_list(struct opts *o)
{
	struct json_object *page = NULL, *peers, *next;
	struct regapi *reg = connect_registry(o);
	char *path = NULL, *resp = NULL, *cursor = NULL;
	size_t i, n, total = 0;
	long st, pages;
	int ret = 1;

	if (!reg)
		return 1;
	if (o->gateway && !peer_gateway_valid(o->gateway)) {
		fail("--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
		regapi_free(reg);
		return 2;
	}
	if (o->json)
		printf("{\"peers\":[");
	for (pages = 0; pages < LIST_PAGES_MAX; ++pages) {
		free(path);
		path = NULL;
		if (asprintf(&path, "/v1/peers?limit=%s%s%s%s%s", o->limit ? o->limit : "1000",
			     cursor ? "&cursor=" : "", cursor ? cursor : "", o->gateway ? "&gateway=" : "",
			     o->gateway ? o->gateway : "") < 0) {
			path = NULL;
			goto out;
		}
		free(resp);
		st = call(reg, o, "GET", path, NULL, &resp);
		if (st < 0)
			goto out;
		if (st != 200) {
			registry_error(st, resp);
			goto out;
		}
		json_object_put(page);
		page = json_tokener_parse(resp);
		if (!page || !json_object_object_get_ex(page, "peers", &peers) ||
		    !json_object_is_type(peers, json_type_array)) {
			fail("registry sent an invalid page");
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
				fail("registry sent an invalid record (field %s)", field);
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
			fail("registry sent an invalid page (next_cursor)");
			goto out;
		}
		cursor = strdup(json_object_get_string(next));
		if (!cursor) {
			fail("out of memory");
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

/* ---- config: a wg-quick file for a new client ------------------------------ */

/* A new key pair, or the public half of the key in priv_file. */
static int gen_keypair(uint8_t priv[static WG_KEY_LEN], uint8_t pub[static WG_KEY_LEN], const char *priv_file)
{
	const char *why;
	int ret;

	if (priv_file) {
		ret = keyfile_read(priv, priv_file, &why);
		if (ret) {
			fail("--private-key %s: %s", priv_file, why);
			return ret;
		}
	} else if (x25519_generate(priv)) {
		ret = -EIO;
		goto out;
	}
	ret = x25519_public_from_private(pub, priv);
out:
	if (ret && !priv_file)
		fail("cannot generate a key pair");
	return ret;
}

/* ws:// or wss:// and URL characters only: it is written into the config's comments. */
static bool websocket_url_valid(const char *s)
{
	const char *h = !strncmp(s, "wss://", 6) ? s + 6 : !strncmp(s, "ws://", 5) ? s + 5 : NULL;

	if (!h || !*h || *h == '/' || strlen(s) > 1024)
		return false;
	for (; *s; ++s)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("-._~:/?#[]@!$&'()*+,;=%", *s)))
			return false;
	return true;
}

static bool endpoint_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t i;

	if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5 || atoi(colon + 1) > 65535 ||
	    atoi(colon + 1) < 1)
		return false;
	for (i = 1; colon[i]; ++i)
		if (colon[i] < '0' || colon[i] > '9')
			return false;
	if (s[0] == '[') {
		if (colon[-1] != ']' || colon - s < 3)
			return false;
		/* an address, maybe with a %zone: nothing that could end the line or start a comment */
		for (i = 1; s + i < colon - 1; ++i)
			if (!isalnum((unsigned char)s[i]) && !strchr(":.%-_", s[i]))
				return false;
		return true;
	}
	/*
	 * A host name or IPv4 address; an IPv6 address needs brackets, as wg(8)
	 * wants. The value is pasted into a wg-quick file: a newline would let it
	 * add lines (PostUp = ...), so only host-name characters pass.
	 */
	for (i = 0; s + i < colon; ++i)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_", s[i]))
			return false;
	return true;
}

/* Comma-joined AllowedIPs: --route, or the registry's pool. */
static int routes(struct regapi *reg, const struct opts *o, char **out)
{
	struct json_object *j = NULL, *arr;
	struct cidr *c = NULL;
	char *resp = NULL, *s = NULL, buf[CIDR_STR_MAX];
	size_t i, n = 0, len = 0;
	long st;
	int ret = 1;

	if (o->route) {
		if (parse_cidrs(o->route, &c, &n, "--route"))
			return 2;
	} else {
		st = call(reg, o, "GET", "/v1/pool", NULL, &resp);
		if (st < 0)
			goto out;
		if (st != 200) {
			registry_error(st, resp);
			goto out;
		}
		j = json_tokener_parse(resp);
		if (!j || !json_object_object_get_ex(j, "pool", &arr) || !json_object_is_type(arr, json_type_array)) {
			fail("registry sent an invalid pool");
			goto out;
		}
		n = json_object_array_length(arr);
		if (!n) {
			fail("the registry has no address pool; give --route CIDR");
			goto out;
		}
		c = calloc(n, sizeof(*c));
		for (i = 0; c && i < n; ++i) {
			if (cidr_parse(&c[i], json_object_get_string(json_object_array_get_idx(arr, i)))) {
				fail("registry sent an invalid pool");
				goto out;
			}
		}
		if (!c)
			goto out;
	}
	s = calloc(n, CIDR_STR_MAX + 2);
	if (!s)
		goto out;
	for (i = 0; i < n; ++i) {
		cidr_format(buf, &c[i]);
		len += (size_t)sprintf(s + len, "%s%s", i ? ", " : "", buf);
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	json_object_put(j);
	free(resp);
	free(c);
	free(s);
	return ret;
}

static int do_config(struct opts *o)
{
	uint8_t priv[WG_KEY_LEN] = { 0 }, pub[WG_KEY_LEN], gw[WG_KEY_LEN];
	char priv_b64[WG_KEY_B64_LEN + 1] = "", gw_b64[WG_KEY_B64_LEN + 1], c[CIDR_STR_MAX];
	struct peer_record r = { 0 }, got = { 0 };
	struct regapi *reg = NULL;
	char *body = NULL, *resp = NULL, *allowed = NULL;
	FILE *f = stdout;
	bool made = false;
	size_t i;
	long st;
	int ret = 2, fd = -1;

	if (parse_pubkey(o->gw_key, gw, "--gateway-public-key"))
		goto out;
	if (!o->endpoint && !o->websocket) {
		fail("--endpoint or --websocket is required");
		goto out;
	}
	if (o->websocket) {
		/* WireGuard talks to the local `jitwg tunnel`; --endpoint names that */
		if (!websocket_url_valid(o->websocket)) {
			fail("--websocket: want ws://HOST[:PORT][/PATH] or wss://...");
			goto out;
		}
		if (!o->endpoint)
			o->endpoint = "127.0.0.1:51820";
	}
	if (!endpoint_valid(o->endpoint)) {
		fail("--endpoint: want HOST:PORT or [IPv6]:PORT");
		goto out;
	}
	if (o->gateway && !peer_gateway_valid(o->gateway)) {
		fail("--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
		goto out;
	}
	if (gen_keypair(priv, pub, o->private_key))
		goto out;
	ret = 1;
	/*
	 * Open the output before registering: a peer registered with a key that
	 * is then thrown away would hold a pool address forever. An existing
	 * file is truncated only once the config is ready to be written.
	 */
	if (o->output) {
		fd = open(o->output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		made = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = open(o->output, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			fail("%s: %s", o->output, strerror(errno));
			goto out;
		}
	}
	reg = connect_registry(o);
	if (!reg)
		goto out;
	ret = routes(reg, o, &allowed);
	if (ret)
		goto out;
	ret = 1;

	/* Only the public key goes to the registry. */
	memcpy(r.public_key, pub, WG_KEY_LEN);
	if (o->gateway) {
		strcpy(r.gateway, o->gateway);
		r.has_gateway = true;
	}
	body = peer_record_to_json(&r);
	if (!body)
		goto out;
	st = call(reg, o, "POST", "/v1/peers", body, &resp);
	if (st < 0)
		goto out;
	if (st != 200 && st != 201) {
		registry_error(st, resp);
		goto out;
	}
	if (show_record(o, resp, &got))
		goto out;
	if (!got.n_allowed_ips) {
		fail("registry assigned no address");
		goto out;
	}
	if (fd >= 0) {
		if (ftruncate(fd, 0) || fchmod(fd, 0600) || !(f = fdopen(fd, "w"))) {
			fail("%s: %s", o->output, strerror(errno));
			f = stdout;
			goto out;
		}
		fd = -1;
	}
	key_to_base64(priv_b64, priv);
	key_to_base64(gw_b64, gw);
	if (o->websocket)
		fprintf(f,
			"# WireGuard over a WebSocket: this config's Endpoint is a local jitwg tunnel.\n"
			"# Start it first (or: systemctl enable --now jitwg-tunnel@NAME):\n"
			"#   jitwg tunnel --url %s --listen %s\n"
			"# Keep the relay's own address out of AllowedIPs, or the tunnel would carry itself.\n",
			o->websocket, o->endpoint);
	fprintf(f, "[Interface]\nPrivateKey = %s\nAddress = ", priv_b64);
	for (i = 0; i < got.n_allowed_ips; ++i) {
		cidr_format(c, &got.allowed_ips[i]);
		fprintf(f, "%s%s", i ? ", " : "", c);
	}
	fprintf(f, "\n\n[Peer]\nPublicKey = %s\nEndpoint = %s\nAllowedIPs = %s\n", gw_b64, o->endpoint, allowed);
	if (got.has_preshared_key) {
		key_to_base64(priv_b64, got.preshared_key);
		fprintf(f, "PresharedKey = %s\n", priv_b64);
	}
	if (got.persistent_keepalive)
		fprintf(f, "PersistentKeepalive = %u\n", got.persistent_keepalive);
	ret = 0;
	if (fflush(f)) {
		fail("writing the config: %s", strerror(errno));
		ret = 1;
	}
	if (f != stdout) {
		if (fclose(f) && !ret) {
			fail("writing the config: %s", strerror(errno));
			ret = 1;
		}
		f = stdout;
	}
out:
	if (f != stdout)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (ret && made)
		unlink(o->output);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(priv_b64, sizeof(priv_b64));
	peer_record_clear(&r);
	peer_record_clear(&got);
	regapi_free(reg);
	free(body);
	free(resp);
	free(allowed);
	return ret;
}

/* ---- dispatch --------------------------------------------------------------- */

#define COMMON (O_REGISTRY | O_TOKEN | O_JSON)
static const struct subcmd subcmds[] = {
	{ "add", do_add, COMMON | O_PUBKEY | O_ALLOWED | O_GATEWAY | O_EXPIRES | O_KEEPALIVE, O_REGISTRY | O_PUBKEY,
	  "add --registry URL [--token-file F] --public-key KEY [--allowed-ips CIDR[,CIDR...]]\n"
	  "          [--gateway NAME] [--expires RFC3339] [--persistent-keepalive SECS] [--json]" },
	{ "get", do_get, COMMON | O_PUBKEY, O_REGISTRY | O_PUBKEY,
	  "get --registry URL [--token-file F] --public-key KEY [--json]" },
	{ "list", do_list, COMMON | O_GATEWAY | O_LIMIT, O_REGISTRY,
	  "list --registry URL [--token-file F] [--gateway NAME] [--limit PAGE_SIZE] [--json]" },
	{ "del", do_del, COMMON | O_PUBKEY, O_REGISTRY | O_PUBKEY,
	  "del --registry URL [--token-file F] --public-key KEY [--json]" },
	{ "config", do_config,
	  O_REGISTRY | O_TOKEN | O_GWKEY | O_ENDPOINT | O_PRIVKEY | O_GATEWAY | O_ROUTE | O_OUTPUT | O_WEBSOCKET,
	  O_REGISTRY | O_GWKEY,
	  "config --registry URL [--token-file F] --gateway-public-key KEY --endpoint HOST:PORT\n"
	  "          [--private-key FILE] [--gateway NAME] [--route CIDR[,CIDR...]] [--output FILE]\n"
	  "          [--websocket ws[s]://RELAY[:PORT][/PATH]]  (Endpoint: the local jitwg tunnel,\n"
	  "                                 --endpoint or 127.0.0.1:51820)" },
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
		{ 'W', O_WEBSOCKET, "--websocket" },
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
			fail("%s does not apply here", bits[i].name);
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
		case 'l':
			o.limit = optarg;
			if (strtol(optarg, &end, 10) < 1 || strtol(optarg, &end, 10) > 1000 || *end) {
				fail("--limit wants 1..1000");
				return 2;
			}
			break;
		case 'p':
			o.keepalive = strtol(optarg, &end, 10);
			if (*end || !*optarg || o.keepalive < 0 || o.keepalive > 65535) {
				fail("--persistent-keepalive wants 0..65535 seconds");
				return 2;
			}
			break;
		}
	}
	if (optind != argc - 1) {
		fail("unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); ++i) {
		if ((current->required & bits[i].bit) && !(o.seen & bits[i].bit)) {
			fail("%s is required", bits[i].name);
			return 2;
		}
	}
	return current->fn(&o);
}

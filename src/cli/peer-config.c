// SPDX-License-Identifier: MIT
/*
 * jitwg peer config: registers a new client (its key pair made here unless
 * --private-key names one) and writes its wg-quick file. The private key
 * never reaches the registry. The output file is opened before registering,
 * so an unwritable one leaves no registered peer behind; a file created
 * here is removed again on failure.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/peer.h"
#include "common/addrport.h"
#include "wire/keyfile.h"
#include "crypto/x25519.h"

/* A new key pair, or the public half of the key in priv_file. */
static int gen_keypair(uint8_t priv[static WG_KEY_LEN], uint8_t pub[static WG_KEY_LEN], const char *priv_file)
{
	const char *why;
	int ret;

	if (priv_file) {
		ret = keyfile_read(priv, priv_file, &why);
		if (ret) {
			peer_fail("--private-key %s: %s", priv_file, why);
			return ret;
		}
	} else if (x25519_generate(priv)) {
		ret = -EIO;
		goto out;
	}
	ret = x25519_public_from_private(pub, priv);
out:
	if (ret && !priv_file)
		peer_fail("cannot generate a key pair");
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

/*
 * HOST:PORT or [IPv6]:PORT (addrport.h) for wg-quick's Endpoint. The value is
 * pasted into a wg-quick file: a newline would let it add lines (PostUp =
 * ...), so only host-name characters pass, and in brackets an address with
 * maybe a %zone.
 */
static bool endpoint_valid(const char *s)
{
	char host[ADDRPORT_HOST_MAX];
	uint16_t port;
	bool br;
	size_t i;

	if (addrport_split(s, host, &port, 0, &br))
		return false;
	for (i = 0; host[i]; ++i)
		if (!isalnum((unsigned char)host[i]) && !strchr(br ? ":.%-_" : ".-_", host[i]))
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
		if (peer_parse_cidrs(o->route, &c, &n, "--route"))
			return 2;
	} else {
		st = peer_call(reg, o, "GET", "/v1/pool", NULL, &resp);
		if (st < 0)
			goto out;
		if (st != 200) {
			peer_registry_error(st, resp);
			goto out;
		}
		j = json_tokener_parse(resp);
		if (!j || !json_object_object_get_ex(j, "pool", &arr) || !json_object_is_type(arr, json_type_array)) {
			peer_fail("registry sent an invalid pool");
			goto out;
		}
		n = json_object_array_length(arr);
		if (!n) {
			peer_fail("the registry has no address pool; give --route CIDR");
			goto out;
		}
		c = calloc(n, sizeof(*c));
		for (i = 0; c && i < n; ++i) {
			if (cidr_parse(&c[i], json_object_get_string(json_object_array_get_idx(arr, i)))) {
				peer_fail("registry sent an invalid pool");
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

int peer_config(struct opts *o)
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

	if (peer_parse_pubkey(o->gw_key, gw, "--gateway-public-key"))
		goto out;
	if (!o->endpoint && !o->websocket) {
		peer_fail("--endpoint or --websocket is required");
		goto out;
	}
	if (o->websocket) {
		/* WireGuard talks to the local `jitwg tunnel`; --endpoint names that */
		if (!websocket_url_valid(o->websocket)) {
			peer_fail("--websocket: want ws://HOST[:PORT][/PATH] or wss://...");
			goto out;
		}
		if (!o->endpoint)
			o->endpoint = "127.0.0.1:51820";
	}
	if (!endpoint_valid(o->endpoint)) {
		peer_fail("--endpoint: want HOST:PORT or [IPv6]:PORT");
		goto out;
	}
	if (o->gateway && !peer_gateway_valid(o->gateway)) {
		peer_fail("--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
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
			peer_fail("%s: %s", o->output, strerror(errno));
			goto out;
		}
	}
	reg = peer_connect_registry(o);
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
	st = peer_call(reg, o, "POST", "/v1/peers", body, &resp);
	if (st < 0)
		goto out;
	if (st != 200 && st != 201) {
		peer_registry_error(st, resp);
		goto out;
	}
	if (peer_show_record(o, resp, &got))
		goto out;
	if (!got.n_allowed_ips) {
		peer_fail("registry assigned no address");
		goto out;
	}
	if (fd >= 0) {
		if (ftruncate(fd, 0) || fchmod(fd, 0600) || !(f = fdopen(fd, "w"))) {
			peer_fail("%s: %s", o->output, strerror(errno));
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
		peer_fail("writing the config: %s", strerror(errno));
		ret = 1;
	}
	if (f != stdout) {
		if (fclose(f) && !ret) {
			peer_fail("writing the config: %s", strerror(errno));
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
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(priv_b64, sizeof(priv_b64));
	peer_record_clear(&r);
	peer_record_clear(&got);
	regapi_free(reg);
	free(body);
	free(resp);
	free(allowed);
	return ret;
}

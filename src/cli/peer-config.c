// SPDX-License-Identifier: MIT
/*
 * jitwg peer config: registers a client (its key pair made here unless
 * --private-key names one) and writes its wg-quick file, or shows it as a
 * QR code (--qr). The private key never reaches the registry. The output
 * file is opened before registering, so an unwritable one leaves no
 * registered peer behind; a file created here is removed again on failure.
 * An existing file is refused without --force, and never has its mode
 * changed. Registering a key again answers the same record (200), so
 * --private-key FILE refreshes a config with the same key and address.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <qrencode.h>

#include "cli/peer.h"
#include "common/addrport.h"
#include "common/secretfile.h"
#include "wire/keyfile.h"
#include "crypto/x25519.h"

/*
 * The MTU written with --websocket unless --mtu says otherwise. wg-quick
 * would take the route to the Endpoint, the loopback's 65536 - 80 = 65456,
 * and the gateway would forward inner packets of up to 64 KiB onto 1500-byte
 * links. 1344 makes one WireGuard packet fit one TCP segment on a 1500-byte
 * IPv6 path: 1500 - 40 (IPv6) - 32 (TCP with timestamps) - 29 (TLS 1.3
 * record: header, content type, tag) - 8 (masked WebSocket frame header)
 * - 32 (WireGuard header and tag) = 1359, rounded down to WireGuard's
 * 16-byte padding.
 */
enum { WEBSOCKET_MTU = 1344 };

/*
 * The public half of the key in priv_file; a missing priv_file is created
 * (0600, O_EXCL) with a new key, so the next run reuses it. Without
 * priv_file, a new key pair that only the config will hold.
 */
static int gen_keypair(uint8_t priv[static WG_KEY_LEN], uint8_t pub[static WG_KEY_LEN], const char *priv_file)
{
	char b64[WG_KEY_B64_LEN + 2];
	const char *why = NULL;
	int ret, fd = -1;

	if (priv_file) {
		ret = keyfile_read(priv, priv_file, &why);
		if (!ret && why)
			fprintf(stderr, "jitwg peer config: warning: %s: %s\n", priv_file, why);
		if (ret != -ENOENT)
			goto out;
		fd = open(priv_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			ret = -errno;
			why = strerror(errno);
			goto out;
		}
	}
	ret = x25519_generate(priv) ? -EIO : 0;
	why = "cannot generate a key pair";
	if (!ret && fd >= 0) {
		key_to_base64(b64, priv);
		strcat(b64, "\n");
		if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64) || fsync(fd)) {
			ret = -errno;
			why = strerror(errno);
			unlink(priv_file);
		}
	}
out:
	if (!ret)
		ret = x25519_public_from_private(pub, priv);
	if (ret)
		peer_fail("--private-key %s: %s", priv_file ? priv_file : "", why ? why : strerror(-ret));
	if (fd >= 0)
		close(fd);
	explicit_bzero(b64, sizeof(b64));
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

/* Comma-separated addresses or search domains: nothing that could end the line. */
static bool dns_valid(const char *s)
{
	if (!*s || strlen(s) > 512)
		return false;
	for (; *s; ++s)
		if (!isalnum((unsigned char)*s) && !strchr(".:-_, ", *s))
			return false;
	return true;
}

/* Usage checks of everything given; 0, or 2 after printing what was expected. */
static int check_usage(struct opts *o, uint8_t gw[static WG_KEY_LEN])
{
	if (peer_parse_pubkey(o->gw_key, gw, "--gateway-public-key"))
		return 2;
	if (!o->endpoint && !o->websocket) {
		peer_fail("--endpoint or --websocket is required");
		return 2;
	}
	if (o->websocket) {
		/* WireGuard talks to the local `jitwg tunnel`; --endpoint names that */
		if (!websocket_url_valid(o->websocket)) {
			peer_fail("--websocket: want ws://HOST[:PORT][/PATH] or wss://...");
			return 2;
		}
		if (!o->endpoint)
			o->endpoint = "127.0.0.1:51820";
		if (!o->mtu)
			o->mtu = WEBSOCKET_MTU;
	}
	if (!endpoint_valid(o->endpoint)) {
		peer_fail("--endpoint: want HOST:PORT or [IPv6]:PORT");
		return 2;
	}
	if (o->gateway && !peer_gateway_valid(o->gateway)) {
		peer_fail("--gateway: want 1-63 of A-Z a-z 0-9 . _ -");
		return 2;
	}
	if (o->dns && !dns_valid(o->dns)) {
		peer_fail("--dns: want ADDR[,ADDR...] (IP addresses or search domains)");
		return 2;
	}
	if (o->force && !o->output) {
		peer_fail("--force applies to --output FILE only");
		return 2;
	}
	return 0;
}

/*
 * The --output file, opened before registering: a new one 0600 (O_EXCL),
 * an existing one only with --force, truncated only once the config is
 * ready, its mode kept (a warning if other users can read it). -1 after
 * printing why; *made when this run created it.
 */
static int open_output(const struct opts *o, bool *made)
{
	int fd = open(o->output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	*made = fd >= 0;
	if (fd < 0 && errno == EEXIST && !o->force) {
		peer_fail("%s exists: give --force to overwrite it (its mode is kept), or another --output",
			  o->output);
		return -1;
	}
	if (fd < 0 && errno == EEXIST)
		fd = open(o->output, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		peer_fail("%s: %s", o->output, errno == ELOOP ? "a symbolic link; name the file itself" : strerror(errno));
		return -1;
	}
	if (!*made && secret_fd_exposed(fd))
		fprintf(stderr, "jitwg peer config: warning: %s " SECRET_EXPOSED_HINT "\n", o->output);
	return fd;
}

/* POSTs the public key; the registry's record in *got. 0, or 1 after printing why. */
static int register_key(struct regapi *reg, const struct opts *o, const uint8_t pub[static WG_KEY_LEN],
			struct peer_record *got)
{
	struct peer_record r = { 0 };
	char *body = NULL, *resp = NULL;
	long st;
	int ret = 1;

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
	if (peer_show_record(o, resp, got))
		goto out;
	if (!got->n_allowed_ips) {
		peer_fail("registry assigned no address");
		goto out;
	}
	ret = 0;
out:
	peer_record_clear(&r);
	free(body);
	free(resp);
	return ret;
}

/* The wg-quick text of the client's config. */
static void write_config(FILE *f, const struct opts *o, const uint8_t priv[static WG_KEY_LEN],
			 const uint8_t gw[static WG_KEY_LEN], const struct peer_record *got, const char *allowed)
{
	char b64[WG_KEY_B64_LEN + 1], c[CIDR_STR_MAX];
	long keepalive = (o->seen & O_KEEPALIVE) ? o->keepalive : got->persistent_keepalive;
	size_t i;

	if (o->websocket)
		fprintf(f,
			"# WireGuard over a WebSocket: this config's Endpoint is a local jitwg tunnel.\n"
			"# Start it first (or: systemctl enable --now jitwg-tunnel@NAME):\n"
			"#   jitwg tunnel --url %s --listen %s\n"
			"# Keep the relay's own address out of AllowedIPs, or the tunnel would carry itself.\n",
			o->websocket, o->endpoint);
	key_to_base64(b64, priv);
	fprintf(f, "[Interface]\nPrivateKey = %s\nAddress = ", b64);
	for (i = 0; i < got->n_allowed_ips; ++i) {
		cidr_format(c, &got->allowed_ips[i]);
		fprintf(f, "%s%s", i ? ", " : "", c);
	}
	fputc('\n', f);
	if (o->mtu)
		fprintf(f, "MTU = %ld\n", o->mtu);
	if (o->dns)
		fprintf(f, "DNS = %s\n", o->dns);
	key_to_base64(b64, gw);
	fprintf(f, "\n[Peer]\nPublicKey = %s\nEndpoint = %s\nAllowedIPs = %s\n", b64, o->endpoint, allowed);
	if (got->has_preshared_key) {
		key_to_base64(b64, got->preshared_key);
		fprintf(f, "PresharedKey = %s\n", b64);
	}
	if (keepalive)
		fprintf(f, "PersistentKeepalive = %ld\n", keepalive);
	explicit_bzero(b64, sizeof(b64));
}

/* One module of q, light outside it. */
static bool qr_dark(const QRcode *q, int x, int y)
{
	return x >= 0 && y >= 0 && x < q->width && y < q->width && (q->data[y * q->width + x] & 1);
}

/*
 * text as a QR code for a terminal, as `qrencode -t ansiutf8` draws it: two
 * module rows per line in half blocks, light modules white on black, a
 * margin of four. 0, or 1 after printing why (a config too long for a QR
 * code, out of memory).
 */
static int print_qr(FILE *f, const char *text)
{
	enum { MARGIN = 4 };
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	int x, y, w;

	if (!q) {
		peer_fail("--qr: %s", errno == ERANGE ? "the config is too long for a QR code" : strerror(errno));
		return 1;
	}
	w = q->width + 2 * MARGIN;
	for (y = 0; y < w; y += 2) {
		fputs("\033[40;37;1m", f);
		for (x = 0; x < w; ++x) {
			bool top = qr_dark(q, x - MARGIN, y - MARGIN), bot = qr_dark(q, x - MARGIN, y + 1 - MARGIN);

			fputs(top && bot ? " " : top ? "\u2584" : bot ? "\u2580" : "\u2588", f);
		}
		fputs("\033[0m\n", f);
	}
	explicit_bzero(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	return 0;
}

/* text to fd (or stdout without --output, unless --qr shows it), then the QR code. */
static int emit(const struct opts *o, int fd, const char *text)
{
	size_t len = strlen(text), done = 0;
	ssize_t n;

	if (fd >= 0 && ftruncate(fd, 0))
		goto fail;
	while (fd >= 0 && done < len) {
		n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fd >= 0 && fsync(fd))
		goto fail;
	if (fd < 0 && !o->qr && (fputs(text, stdout) == EOF || fflush(stdout)))
		goto fail;
	if (o->qr && (print_qr(stdout, text) || fflush(stdout)))
		return 1;
	return 0;
fail:
	peer_fail("writing the config%s%s: %s", o->output ? " to " : "", o->output ? o->output : "", strerror(errno));
	return 1;
}

int peer_config(struct opts *o)
{
	uint8_t priv[WG_KEY_LEN] = { 0 }, pub[WG_KEY_LEN], gw[WG_KEY_LEN];
	struct peer_record got = { 0 };
	struct regapi *reg = NULL;
	char *allowed = NULL, *text = NULL;
	size_t text_len = 0;
	FILE *mem = NULL;
	bool made = false;
	int ret, fd = -1;

	ret = check_usage(o, gw);
	if (ret)
		goto out;
	ret = 1;
	if (gen_keypair(priv, pub, o->private_key))
		goto out;
	/* A peer registered with a key that is then thrown away would hold a pool address forever. */
	if (o->output && (fd = open_output(o, &made)) < 0)
		goto out;
	reg = peer_connect_registry(o);
	if (!reg)
		goto out;
	ret = routes(reg, o, &allowed);
	if (ret)
		goto out;
	ret = 1;
	if (register_key(reg, o, pub, &got))
		goto out;
	mem = open_memstream(&text, &text_len);
	if (!mem)
		goto out;
	write_config(mem, o, priv, gw, &got, allowed);
	if (fclose(mem)) {
		mem = NULL;
		goto out;
	}
	mem = NULL;
	ret = emit(o, fd, text);
out:
	if (fd >= 0)
		close(fd);
	if (ret && made)
		unlink(o->output);
	if (text) {
		explicit_bzero(text, text_len);
		free(text);
	}
	explicit_bzero(priv, sizeof(priv));
	peer_record_clear(&got);
	regapi_free(reg);
	free(allowed);
	return ret;
}

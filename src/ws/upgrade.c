// SPDX-License-Identifier: MIT
/*
 * The opening handshake. Written here rather than over http-parser: that
 * library is archived upstream and its successor (llhttp) is not in Debian 12;
 * an upgrade needs one request line and six headers, bounded to 4 KiB, and a
 * small strict parser is easier to fuzz than a general one is to constrain.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ws/upgrade.h"

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Finds the end of the head ("\r\n\r\n"); returns its length or 0. */
static size_t head_len(const char *buf, size_t len)
{
	size_t i;

	for (i = 3; i < len; ++i)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* True when the comma-separated list v[0..n) holds token (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token), i = 0;

	while (i < n) {
		size_t s, e;
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			++i;
		s = i;
		while (i < n && v[i] != ',')
			++i;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			--e;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return true;
	}
	return false;
}

/*
 * Walks header lines between p and end (end points past the final CRLF of
 * the blank line). Calls fn for each; stops at the first non-zero return.
 * Returns 0, -EBADMSG on a malformed line, -E2BIG on too many headers.
 */
typedef int (*header_fn)(const char *name, size_t nl, const char *val, size_t vl, void *arg);

static int walk_headers(const char *p, const char *end, header_fn fn, void *arg)
{
	int count = 0, ret;

	for (;;) {
		const char *eol = memchr(p, '\r', (size_t)(end - p)), *colon, *v, *ve;

		if (!eol || eol + 1 >= end || eol[1] != '\n')
			return -EBADMSG;
		if (eol == p)
			return 0; /* blank line */
		if (++count > WS_UPGRADE_MAX_HEADERS)
			return -E2BIG;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return -EBADMSG;
		for (const char *q = p; q < colon; ++q)
			if (!is_tchar(*q))
				return -EBADMSG; /* also rejects obs-fold and space before ':' */
		for (const char *q = colon + 1; q < eol; ++q)
			if ((unsigned char)*q < 0x20 && *q != '\t')
				return -EBADMSG;
		v = colon + 1;
		ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			++v;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			--ve;
		ret = fn(p, (size_t)(colon - p), v, (size_t)(ve - v), arg);
		if (ret)
			return ret;
		p = eol + 2;
	}
}

static bool name_is(const char *name, size_t nl, const char *want)
{
	return nl == strlen(want) && strncasecmp(name, want, nl) == 0;
}

struct req_scan {
	struct ws_upgrade_req *req;
	bool host, upgrade, connection, version_ok, version_seen, key;
};

static int req_header(const char *name, size_t nl, const char *v, size_t vl, void *arg)
{
	struct req_scan *s = arg;

	if (name_is(name, nl, "Host")) {
		s->host = vl > 0;
	} else if (name_is(name, nl, "Upgrade")) {
		s->upgrade = list_has(v, vl, "websocket");
	} else if (name_is(name, nl, "Connection")) {
		s->connection = list_has(v, vl, "upgrade");
	} else if (name_is(name, nl, "Sec-WebSocket-Version")) {
		s->version_seen = true;
		s->version_ok = vl == 2 && memcmp(v, "13", 2) == 0;
	} else if (name_is(name, nl, "Sec-WebSocket-Key")) {
		unsigned char raw[20];
		/* 24 base64 characters that decode to exactly 16 bytes ("==" pad). */
		if (vl != WS_KEY_LEN || v[22] != '=' || v[23] != '=' ||
		    EVP_DecodeBlock(raw, (const unsigned char *)v, WS_KEY_LEN) != 18)
			return -EBADMSG;
		memcpy(s->req->key, v, WS_KEY_LEN);
		s->req->key[WS_KEY_LEN] = '\0';
		s->key = true;
	} else if (name_is(name, nl, "X-Forwarded-For")) {
		if (vl > WS_XFF_MAX)
			return -EBADMSG;
		memcpy(s->req->xff, v, vl);
		s->req->xff[vl] = '\0';
	}
	return 0;
}

static int fail(struct ws_upgrade_req *req, int status, int err)
{
	req->status = status;
	return err;
}

int ws_upgrade_parse_request(struct ws_upgrade_req *req, const char *buf, size_t len)
{
	struct req_scan s = { .req = req };
	const char *eol, *sp1, *sp2, *end;
	size_t hl;
	int ret;

	memset(req, 0, sizeof(*req));
	hl = head_len(buf, len < WS_UPGRADE_MAX ? len : WS_UPGRADE_MAX);
	if (!hl)
		return len >= WS_UPGRADE_MAX ? fail(req, 431, -EMSGSIZE) : 0;
	end = buf + hl;
	/* Request line: METHOD SP request-target SP HTTP/1.1 CRLF */
	eol = memchr(buf, '\r', hl);
	if (eol[1] != '\n')
		return fail(req, 400, -EBADMSG);
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1)
		return fail(req, 400, -EBADMSG);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || (size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)
		return fail(req, 400, -EBADMSG);
	for (const char *q = buf; q < sp1; ++q)
		if (!is_tchar(*q))
			return fail(req, 400, -EBADMSG);
	for (const char *q = sp1 + 1; q < sp2; ++q)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return fail(req, 400, -EBADMSG);
	ret = walk_headers(eol + 2, end, req_header, &s);
	if (ret == -E2BIG)
		return fail(req, 431, -EMSGSIZE);
	if (ret)
		return fail(req, 400, -EBADMSG);
	if (sp1 - buf != 3 || memcmp(buf, "GET", 3) != 0)
		return fail(req, 405, -EOPNOTSUPP);
	if (sp2 - sp1 - 1 < 1 || sp1[1] != '/')
		return fail(req, 400, -EBADMSG);
	/* Path "/" with or without a query string. */
	if (sp2 - sp1 - 1 > 1 && sp1[2] != '?')
		return fail(req, 404, -ENOENT);
	if (!s.host || !s.upgrade || !s.connection || !s.key || !s.version_seen)
		return fail(req, 400, -EBADMSG);
	if (!s.version_ok)
		return fail(req, 426, -EPROTONOSUPPORT);
	return (int)hl;
}

int ws_upgrade_accept(char out[static WS_ACCEPT_LEN + 1], const char *key)
{
	unsigned char md[20];
	char in[WS_KEY_LEN + sizeof(WS_GUID)];
	unsigned int mdlen = 0;
	size_t kl = strlen(key);

	if (kl != WS_KEY_LEN)
		return -EINVAL;
	memcpy(in, key, kl);
	memcpy(in + kl, WS_GUID, sizeof(WS_GUID) - 1);
	if (!EVP_Digest(in, kl + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -EIO;
	if (EVP_EncodeBlock((unsigned char *)out, md, 20) != WS_ACCEPT_LEN)
		return -EIO;
	return 0;
}

int ws_upgrade_response(char *out, size_t cap, const struct ws_upgrade_req *req)
{
	char acc[WS_ACCEPT_LEN + 1];
	int n;

	if (ws_upgrade_accept(acc, req->key))
		return -EIO;
	n = snprintf(out, cap,
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static const char *reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default:  return "Error";
	}
}

int ws_upgrade_error(char *out, size_t cap, int status)
{
	const char *r = reason(status);
	int n;

	n = snprintf(out, cap,
		     "HTTP/1.1 %d %s\r\n"
		     "%s"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s\n",
		     status, r, status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "",
		     strlen(r) + 1, r);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static bool url_chars(const char *s)
{
	for (; *s; ++s)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int ws_upgrade_request(char *out, size_t cap, const char *host, const char *path,
		       char key[static WS_KEY_LEN + 1])
{
	unsigned char raw[16];
	int n;

	if (!url_chars(host) || !url_chars(path) || path[0] != '/' || !host[0])
		return -EINVAL;
	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw)) != WS_KEY_LEN)
		return -EIO;
	n = snprintf(out, cap,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "User-Agent: jitwg-tunnel\r\n\r\n", path, host, key);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

struct resp_scan {
	const char *want;
	bool accept_ok, upgrade, connection;
};

static int resp_header(const char *name, size_t nl, const char *v, size_t vl, void *arg)
{
	struct resp_scan *s = arg;

	if (name_is(name, nl, "Sec-WebSocket-Accept"))
		s->accept_ok = vl == WS_ACCEPT_LEN && memcmp(v, s->want, WS_ACCEPT_LEN) == 0;
	else if (name_is(name, nl, "Upgrade"))
		s->upgrade = list_has(v, vl, "websocket");
	else if (name_is(name, nl, "Connection"))
		s->connection = list_has(v, vl, "upgrade");
	return 0;
}

int ws_upgrade_parse_response(const char *buf, size_t len, const char *key, int *status)
{
	char want[WS_ACCEPT_LEN + 1];
	struct resp_scan s = { .want = want };
	const char *eol;
	size_t hl;
	int code;

	*status = 0;
	hl = head_len(buf, len < WS_UPGRADE_MAX ? len : WS_UPGRADE_MAX);
	if (!hl)
		return len >= WS_UPGRADE_MAX ? -EMSGSIZE : 0;
	eol = memchr(buf, '\r', hl);
	if (eol[1] != '\n')
		return -EBADMSG;
	/* "HTTP/1.1 NNN" */
	if (eol - buf < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0 ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || (eol - buf > 12 && buf[12] != ' '))
		return -EBADMSG;
	code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	*status = code;
	if (ws_upgrade_accept(want, key))
		return -EIO;
	if (walk_headers(eol + 2, buf + hl, resp_header, &s))
		return -EBADMSG;
	if (code != 101)
		return -EPROTO;
	if (!s.accept_ok || !s.upgrade || !s.connection)
		return -EPROTO;
	return (int)hl;
}

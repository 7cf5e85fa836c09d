// SPDX-License-Identifier: MIT
/*
 * Base64 for 32-byte keys, written here rather than taken from OpenSSL:
 * EVP_DecodeBlock tolerates whitespace and trailing garbage and branches on
 * the input, and private keys pass through these decoders. Each character is
 * mapped with arithmetic only, in the style of wireguard-tools' encoding.c.
 */
#include "wire/keys.h"

#include <errno.h>
#include <string.h>

/* Map 0..63 to the alphabet without table lookups indexed by secrets. */
static char encode_6bits(unsigned int v, bool url)
{
	int c = (int)v;

	/* 'A'..'Z' for 0..25, 'a'..'z' for 26..51, '0'..'9' for 52..61 */
	int r = 'A' + c;
	r += ((25 - c) >> 8) & 6;
	r -= ((51 - c) >> 8) & 75;
	/* 62 and 63 */
	r -= ((61 - c) >> 8) & (url ? 13 : 15);
	r += ((62 - c) >> 8) & (url ? 49 : 3);
	return (char)r;
}

/* Returns 0..63 or -1 for a character outside the alphabet, branch-free. */
static int decode_6bits(int c, bool url)
{
	int ret = -1;
	int c62 = url ? '-' : '+', c63 = url ? '_' : '/';

	ret += (((('A' - 1) - c) & (c - ('Z' + 1))) >> 8) & (c - 64);
	ret += (((('a' - 1) - c) & (c - ('z' + 1))) >> 8) & (c - 70);
	ret += (((('0' - 1) - c) & (c - ('9' + 1))) >> 8) & (c + 5);
	ret += ((((c62 - 1) - c) & (c - (c62 + 1))) >> 8) & 63;
	ret += ((((c63 - 1) - c) & (c - (c63 + 1))) >> 8) & 64;
	return ret;
}

static void encode(char *out, const uint8_t key[static WG_KEY_LEN], bool url)
{
	unsigned int i, j = 0;

	for (i = 0; i < WG_KEY_LEN / 3; ++i) {
		unsigned int v = key[i * 3] << 16 | key[i * 3 + 1] << 8 | key[i * 3 + 2];
		out[j++] = encode_6bits((v >> 18) & 63, url);
		out[j++] = encode_6bits((v >> 12) & 63, url);
		out[j++] = encode_6bits((v >> 6) & 63, url);
		out[j++] = encode_6bits(v & 63, url);
	}
	/* 32 = 10*3 + 2: the last two bytes make three characters. */
	unsigned int v = key[30] << 16 | key[31] << 8;
	out[j++] = encode_6bits((v >> 18) & 63, url);
	out[j++] = encode_6bits((v >> 12) & 63, url);
	out[j++] = encode_6bits((v >> 6) & 63, url);
	if (!url)
		out[j++] = '=';
	out[j] = '\0';
}

static int decode(uint8_t key[static WG_KEY_LEN], const char *in, bool url)
{
	size_t want = url ? WG_KEY_B64URL_LEN : WG_KEY_B64_LEN;
	unsigned int i;
	int bad = 0;

	if (!in || strnlen(in, want + 1) != want || (!url && in[WG_KEY_B64_LEN - 1] != '='))
		goto err;
	for (i = 0; i < WG_KEY_LEN / 3; ++i) {
		int a = decode_6bits(in[i * 4], url), b = decode_6bits(in[i * 4 + 1], url);
		int c = decode_6bits(in[i * 4 + 2], url), d = decode_6bits(in[i * 4 + 3], url);
		unsigned int v = (unsigned int)a << 18 | (unsigned int)b << 12 | (unsigned int)c << 6 | (unsigned int)d;

		bad |= (a | b | c | d) >> 31;
		key[i * 3] = (v >> 16) & 0xff;
		key[i * 3 + 1] = (v >> 8) & 0xff;
		key[i * 3 + 2] = v & 0xff;
	}
	int a = decode_6bits(in[40], url), b = decode_6bits(in[41], url), c = decode_6bits(in[42], url);
	unsigned int v = (unsigned int)a << 18 | (unsigned int)b << 12 | (unsigned int)c << 6;

	bad |= (a | b | c) >> 31;
	bad |= (int)(v & 0xff); /* the padding bits must be zero: one spelling per key */
	key[30] = (v >> 16) & 0xff;
	key[31] = (v >> 8) & 0xff;
	if (bad)
		goto err;
	return 0;
err:
	memset(key, 0, WG_KEY_LEN);
	return -EINVAL;
}

void key_to_base64(char out[static WG_KEY_B64_LEN + 1], const uint8_t key[static WG_KEY_LEN])
{
	encode(out, key, false);
}

int key_from_base64(uint8_t key[static WG_KEY_LEN], const char *in)
{
	return decode(key, in, false);
}

void key_to_base64url(char out[static WG_KEY_B64URL_LEN + 1], const uint8_t key[static WG_KEY_LEN])
{
	encode(out, key, true);
}

int key_from_base64url(uint8_t key[static WG_KEY_LEN], const char *in)
{
	return decode(key, in, true);
}

bool ct_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; ++i)
		acc |= x[i] ^ y[i];
	return acc == 0;
}

bool key_equal(const uint8_t a[static WG_KEY_LEN], const uint8_t b[static WG_KEY_LEN])
{
	return ct_equal(a, b, WG_KEY_LEN);
}

bool key_is_zero(const uint8_t key[static WG_KEY_LEN])
{
	static const uint8_t zero[WG_KEY_LEN];

	return ct_equal(key, zero, WG_KEY_LEN);
}

/*
 * The Curve25519 points of small order (1, 2, 4 or 8) as 32-byte
 * little-endian u-coordinates, bit 255 ignored as X25519 ignores it: 0, 1,
 * the two points of order 8, and p - 1, p, p + 1 (non-canonical 0 and 1).
 * Any private key gives an all-zero shared secret with them, so WireGuard
 * can never complete a handshake with such a public key.
 */
static const uint8_t low_order[][WG_KEY_LEN] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	  0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
	  0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

bool key_is_low_order(const uint8_t key[static WG_KEY_LEN])
{
	uint8_t k[WG_KEY_LEN];
	bool hit = false;
	size_t i;

	memcpy(k, key, WG_KEY_LEN);
	k[WG_KEY_LEN - 1] &= 0x7f;
	/* no early exit: public keys are not secret, but the cost is nil */
	for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); ++i)
		hit |= ct_equal(k, low_order[i], WG_KEY_LEN);
	return hit;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long hex_decode(uint8_t *out, size_t out_cap, const char *in, size_t in_len)
{
	size_t i;

	if (in_len % 2)
		return -EINVAL;
	if (in_len / 2 > out_cap)
		return -EMSGSIZE;
	for (i = 0; i < in_len; i += 2) {
		int hi = hexval(in[i]), lo = hexval(in[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(in_len / 2);
}

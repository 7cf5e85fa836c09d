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

/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_KEYS_H
#define JITWG_WIRE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WG_KEY_LEN = 32,
	WG_KEY_B64_LEN = 44,    /* standard base64 with one '=' pad, as wg(8) prints */
	WG_KEY_B64URL_LEN = 43, /* RFC 4648 section 5, no padding: used in URL paths */
};

/*
 * Key encodings. Pure functions, no I/O. The decoders run in constant time
 * with respect to the key's value (private keys pass through them) and
 * accept exactly one spelling: a string of the exact length with valid
 * characters and zero padding bits. They return 0 or -EINVAL; on error the
 * output is zeroed.
 */
void key_to_base64(char out[static WG_KEY_B64_LEN + 1], const uint8_t key[static WG_KEY_LEN]);
int key_from_base64(uint8_t key[static WG_KEY_LEN], const char *in);
void key_to_base64url(char out[static WG_KEY_B64URL_LEN + 1], const uint8_t key[static WG_KEY_LEN]);
int key_from_base64url(uint8_t key[static WG_KEY_LEN], const char *in);

/* Constant-time equality of two keys. */
bool key_equal(const uint8_t a[static WG_KEY_LEN], const uint8_t b[static WG_KEY_LEN]);
/* Constant-time test for the all-zero key. */
bool key_is_zero(const uint8_t key[static WG_KEY_LEN]);
/*
 * True for a public key of small order (the all-zero key among them): no
 * handshake can ever complete with it, so it is refused where it is typed.
 */
bool key_is_low_order(const uint8_t key[static WG_KEY_LEN]);

/* Constant-time comparison of two buffers of the same length. */
bool ct_equal(const void *a, const void *b, size_t len);

/*
 * Hex helpers for test vectors and the identify CLI. hex_decode() writes at
 * most out_cap bytes, ignores no characters, and returns the byte count or
 * -EINVAL (odd length, bad digit) / -EMSGSIZE (too long).
 */
long hex_decode(uint8_t *out, size_t out_cap, const char *in, size_t in_len);

#endif

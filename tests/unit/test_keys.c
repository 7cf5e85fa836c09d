// SPDX-License-Identifier: MIT
/* Key encodings and the key-file reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "wire/keyfile.h"
#include "wire/keys.h"
#include "crypto/x25519.h"

/* A key and its spellings, computed with `wg pubkey` / base64 -w0. */
static const char *b64 = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
static const char *b64url = "yAnz5TF-lXXJte14tji3zlMNq-hd2rYUIgJBgB3fBmk";

static void test_roundtrip(void **state)
{
	uint8_t k[WG_KEY_LEN], k2[WG_KEY_LEN];
	char s[WG_KEY_B64_LEN + 1], u[WG_KEY_B64URL_LEN + 1];

	assert_int_equal(key_from_base64(k, b64), 0);
	key_to_base64(s, k);
	assert_string_equal(s, b64);
	key_to_base64url(u, k);
	assert_string_equal(u, b64url);
	assert_int_equal(key_from_base64url(k2, u), 0);
	assert_true(key_equal(k, k2));
	assert_false(key_is_zero(k));
}

static void test_all_bytes(void **state)
{
	uint8_t k[WG_KEY_LEN], k2[WG_KEY_LEN];
	char s[WG_KEY_B64_LEN + 1], u[WG_KEY_B64URL_LEN + 1];
	int i, j;

	for (i = 0; i < 256; ++i) {
		for (j = 0; j < WG_KEY_LEN; ++j)
			k[j] = (uint8_t)(i + j * 7);
		key_to_base64(s, k);
		assert_int_equal(key_from_base64(k2, s), 0);
		assert_memory_equal(k, k2, WG_KEY_LEN);
		key_to_base64url(u, k);
		assert_int_equal(key_from_base64url(k2, u), 0);
		assert_memory_equal(k, k2, WG_KEY_LEN);
	}
}

static void test_rejects(void **state)
{
	uint8_t k[WG_KEY_LEN];

	assert_int_equal(key_from_base64(k, ""), -EINVAL);
	assert_int_equal(key_from_base64(k, NULL), -EINVAL);
	/* wrong length, missing pad, bad char, non-zero padding bits */
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk"), -EINVAL);
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=="), -EINVAL);
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm!="), -EINVAL);
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBml="), -EINVAL);
	assert_true(key_is_zero(k));
	/* the url alphabet is not accepted as standard and vice versa */
	assert_int_equal(key_from_base64(k, "yAnz5TF-lXXJte14tji3zlMNq-hd2rYUIgJBgB3fBmk="), -EINVAL);
	assert_int_equal(key_from_base64url(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk"), -EINVAL);
	assert_int_equal(key_from_base64url(k, b64), -EINVAL);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void test_keyfile(void **state)
{
	char path[] = "/tmp/jitwg-test-key.XXXXXX";
	uint8_t k[WG_KEY_LEN];
	const char *why;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n");
	assert_int_equal(keyfile_read(k, path, &why), 0);
	assert_null(why);
	write_file(path, "");
	assert_int_equal(keyfile_read(k, path, &why), -EINVAL);
	assert_non_null(why);
	write_file(path, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nextra\n");
	assert_int_equal(keyfile_read(k, path, &why), -EINVAL);
	write_file(path, "not a key at all");
	assert_int_equal(keyfile_read(k, path, &why), -EINVAL);
	unlink(path);
	assert_int_equal(keyfile_read(k, path, &why), -ENOENT);
	assert_true(key_is_zero(k));
}

static void test_hex(void **state)
{
	uint8_t out[4];

	assert_int_equal(hex_decode(out, sizeof(out), "00ff10Ab", 8), 4);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[3], 0xab);
	assert_int_equal(hex_decode(out, sizeof(out), "0", 1), -EINVAL);
	assert_int_equal(hex_decode(out, sizeof(out), "zz", 2), -EINVAL);
	assert_int_equal(hex_decode(out, sizeof(out), "0011223344", 10), -EMSGSIZE);
}

/*
 * The low-order table checked against X25519 itself: with a random private
 * key, a low-order point gives an all-zero secret (x25519() refuses it), a
 * generated public key does not; bit 255 does not matter.
 */
static void test_low_order(void **state)
{
	static const char *low[] = {
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=",
		"X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=",
		"7P///////////////////////////////////////38=",
		"7f///////////////////////////////////////38=",
		"7v///////////////////////////////////////38=",
		"7v////////////////////////////////////////8=",
	};
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], out[WG_KEY_LEN];
	size_t i;

	assert_int_equal(x25519_generate(priv), 0);
	for (i = 0; i < sizeof(low) / sizeof(low[0]); ++i) {
		assert_int_equal(key_from_base64(pub, low[i]), 0);
		assert_true(key_is_low_order(pub));
		assert_int_not_equal(x25519(out, priv, pub), 0);
	}
	for (i = 0; i < 32; ++i) {
		assert_int_equal(x25519_generate(out), 0);
		assert_int_equal(x25519_public_from_private(pub, out), 0);
		assert_false(key_is_low_order(pub));
		assert_int_equal(x25519(out, priv, pub), 0);
	}
	assert_int_equal(key_from_base64(pub, b64), 0);
	assert_false(key_is_low_order(pub));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_all_bytes),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_low_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

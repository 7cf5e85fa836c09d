// SPDX-License-Identifier: MIT
/*
 * The session side of src/noise (session.h) and XChaCha20-Poly1305:
 * draft-irtf-cfrg-xchacha vectors (section 2.2.1, appendix A.3.1); both
 * handshake roles against each other and against the gateway's consumer;
 * cookie reply and mac2; transport data and its replay window. The
 * known-answer tests against wireguard-go's packets are in test_session_kat.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/x25519.h"
#include "noise/noise.h"
#include "noise/session.h"
#include "wire/keys.h"
#include "wire/messages.h"

static void unhex(uint8_t *out, size_t cap, const char *hex)
{
	assert_int_equal(hex_decode(out, cap, hex, strlen(hex)), (long)strlen(hex) / 2);
}

static void test_hchacha20_vector(void **state)
{
	uint8_t key[32], nonce[16], want[32], got[32];
	int i;

	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)i;
	unhex(nonce, sizeof(nonce), "000000090000004a0000000031415927");
	unhex(want, sizeof(want), "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
	hchacha20(got, key, nonce);
	assert_memory_equal(got, want, 32);
}

static void test_xchacha20_poly1305_vector(void **state)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
				 "tip for the future, sunscreen would be it.";
	uint8_t key[32], nonce[24], ad[12], want[sizeof(pt) - 1 + 16], ct[sizeof(want)], back[sizeof(pt)];
	size_t n = sizeof(pt) - 1;
	int i;

	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)(0x80 + i);
	for (i = 0; i < 24; ++i)
		nonce[i] = (uint8_t)(0x40 + i);
	unhex(ad, sizeof(ad), "50515253c0c1c2c3c4c5c6c7");
	unhex(want, sizeof(want),
	      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
	      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
	      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
	      "21f9664c97637da9768812f615c68b13b52e"
	      "c0875924c1c7987947deafd8780acf49");
	assert_int_equal(xaead_encrypt(ct, (const uint8_t *)pt, n, nonce, ad, sizeof(ad), key), 0);
	assert_memory_equal(ct, want, sizeof(want));
	memset(back, 0, sizeof(back));
	assert_int_equal(xaead_decrypt(back, ct, sizeof(ct), nonce, ad, sizeof(ad), key), 0);
	assert_memory_equal(back, pt, n);
	/* Any flipped bit of ciphertext, tag, nonce or AD fails, output untouched. */
	for (i = 0; i < (int)sizeof(ct); i += 7) {
		ct[i] ^= 1;
		memset(back, 0xaa, sizeof(back));
		assert_int_equal(xaead_decrypt(back, ct, sizeof(ct), nonce, ad, sizeof(ad), key), -EBADMSG);
		assert_int_equal(back[0], 0xaa);
		ct[i] ^= 1;
	}
	nonce[3] ^= 1;
	assert_int_equal(xaead_decrypt(back, ct, sizeof(ct), nonce, ad, sizeof(ad), key), -EBADMSG);
	nonce[3] ^= 1;
	nonce[20] ^= 1;
	assert_int_equal(xaead_decrypt(back, ct, sizeof(ct), nonce, ad, sizeof(ad), key), -EBADMSG);
	nonce[20] ^= 1;
	ad[0] ^= 1;
	assert_int_equal(xaead_decrypt(back, ct, sizeof(ct), nonce, ad, sizeof(ad), key), -EBADMSG);
}

struct pair {
	uint8_t gw_priv[32], gw_pub[32], cl_priv[32], cl_pub[32];
	struct noise_remote gw_as_remote, cl_as_remote; /* the client's and the gateway's view */
	struct noise_local cl, gw;
};

static void make_pair(struct pair *p)
{
	assert_int_equal(x25519_generate(p->gw_priv), 0);
	assert_int_equal(x25519_generate(p->cl_priv), 0);
	assert_int_equal(x25519_public_from_private(p->gw_pub, p->gw_priv), 0);
	assert_int_equal(x25519_public_from_private(p->cl_pub, p->cl_priv), 0);
	noise_remote_init(&p->gw_as_remote, p->gw_pub, NULL);
	noise_remote_init(&p->cl_as_remote, p->cl_pub, NULL);
	assert_int_equal(noise_local_init(&p->cl, p->cl_priv, &p->gw_as_remote), 0);
	assert_int_equal(noise_local_init(&p->gw, p->gw_priv, &p->cl_as_remote), 0);
	assert_memory_equal(p->cl.ss, p->gw.ss, 32);
}

/* A full handshake, client initiating, then data both ways. */
static void test_roles_roundtrip(void **state)
{
	struct pair p;
	struct noise_handshake ihs, rhs;
	struct noise_keypair ikp, rkp;
	struct noise_result res;
	struct noise_responder *gw;
	uint8_t ts[12], init[148], resp[92], pkt[128], plain[64], bad[92];
	size_t n, m;

	make_pair(&p);
	noise_tai64n(ts, 1700000000123456789LL);
	assert_int_equal(noise_handshake_create_initiation(&ihs, init, &p.cl, &p.gw_as_remote, 0x11223344,
							   ts, NULL, NULL, 0), 0);
	/* The gateway's own consumer agrees. */
	gw = noise_responder_new(p.gw_priv);
	assert_non_null(gw);
	assert_int_equal(noise_consume_initiation(gw, NULL, init, sizeof(init), &res), 0);
	assert_int_equal(res.verdict, NOISE_OK);
	assert_memory_equal(res.initiator_static, p.cl_pub, 32);
	assert_memory_equal(res.timestamp, ts, 12);
	noise_responder_free(gw);

	assert_int_equal(noise_handshake_consume_initiation(&rhs, init, sizeof(init), &p.gw, &p.cl_as_remote), 0);
	assert_int_equal(rhs.remote_index, 0x11223344);
	assert_memory_equal(rhs.remote_timestamp, ts, 12);
	assert_int_equal(noise_handshake_create_response(&rhs, &rkp, resp, &p.gw, &p.cl_as_remote, 0x55667788,
							 NULL, NULL, 0), 0);
	/* Damaged responses fail and leave the initiator's state usable
	 * (mac2, the last 16 bytes, is not checked by a peer not under load). */
	for (n = 0; n < WG_RESPONSE_MAC2_OFF; n += 3) {
		memcpy(bad, resp, sizeof(bad));
		bad[n] ^= 0x10;
		assert_int_equal(noise_handshake_consume_response(&ihs, &ikp, bad, sizeof(bad), &p.cl,
								  &p.gw_as_remote), -EBADMSG);
	}
	assert_int_equal(noise_handshake_consume_response(&ihs, &ikp, resp, 91, &p.cl, &p.gw_as_remote), -EBADMSG);
	assert_int_equal(noise_handshake_consume_response(&ihs, &ikp, resp, sizeof(resp), &p.cl,
							  &p.gw_as_remote), 0);
	assert_memory_equal(ikp.send_key, rkp.recv_key, 32);
	assert_memory_equal(ikp.recv_key, rkp.send_key, 32);
	assert_int_equal(ikp.remote_index, 0x55667788);
	assert_int_equal(rkp.remote_index, 0x11223344);
	/* A second copy of the response finds no handshake. */
	assert_int_equal(noise_handshake_consume_response(&ihs, &ikp, resp, sizeof(resp), &p.cl,
							  &p.gw_as_remote), -EBADMSG);

	/* Keepalive initiator -> responder, then a payload back. */
	assert_int_equal(noise_transport_encrypt(&ikp, pkt, sizeof(pkt), &n, NULL, 0), 0);
	assert_int_equal(n, 32);
	assert_int_equal(noise_transport_decrypt(&rkp, plain, sizeof(plain), &m, pkt, n), 0);
	assert_int_equal(m, 0);
	assert_int_equal(noise_transport_decrypt(&rkp, plain, sizeof(plain), &m, pkt, n), -EBADMSG); /* replay */
	assert_int_equal(noise_transport_encrypt(&rkp, pkt, sizeof(pkt), &n, (const uint8_t *)"hello", 5), 0);
	assert_int_equal(n, 16 + 16 + 16);
	pkt[20] ^= 1;
	assert_int_equal(noise_transport_decrypt(&ikp, plain, sizeof(plain), &m, pkt, n), -EBADMSG);
	pkt[20] ^= 1;
	assert_int_equal(noise_transport_decrypt(&ikp, plain, sizeof(plain), &m, pkt, n), 0);
	assert_int_equal(m, 16);
	assert_memory_equal(plain, "hello\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(noise_transport_encrypt(&rkp, pkt, 47, &n, (const uint8_t *)"hello", 5), -EMSGSIZE);
}

/* A responder that accepts any initiator (the bench sink) ends in the same keys. */
static void test_consume_any(void **state)
{
	struct pair p;
	struct noise_handshake ihs, rhs;
	struct noise_keypair ikp, rkp;
	struct noise_remote who;
	struct noise_local sink;
	uint8_t ts[12], init[148], resp[92], stat[32];

	make_pair(&p);
	noise_tai64n(ts, 1700000000000000000LL);
	assert_int_equal(noise_handshake_create_initiation(&ihs, init, &p.cl, &p.gw_as_remote, 1, ts, NULL,
							   NULL, 0), 0);
	memset(&sink, 0, sizeof(sink));
	memcpy(sink.private_key, p.gw_priv, 32);
	memcpy(sink.public_key, p.gw_pub, 32);
	init[60] ^= 1;
	assert_int_equal(noise_handshake_consume_initiation_any(&rhs, stat, init, sizeof(init), &sink), -EBADMSG);
	init[60] ^= 1;
	assert_int_equal(noise_handshake_consume_initiation_any(&rhs, stat, init, sizeof(init), &sink), 0);
	assert_memory_equal(stat, p.cl_pub, 32);
	noise_remote_init(&who, stat, NULL);
	assert_int_equal(noise_handshake_create_response(&rhs, &rkp, resp, &sink, &who, 2, NULL, NULL, 0), 0);
	assert_int_equal(noise_handshake_consume_response(&ihs, &ikp, resp, sizeof(resp), &p.cl,
							  &p.gw_as_remote), 0);
	assert_memory_equal(ikp.send_key, rkp.recv_key, 32);
}

/* Role inversion: the gateway initiates, the client answers. */
static void test_client_responder(void **state)
{
	struct pair p, other;
	struct noise_handshake ghs, chs;
	struct noise_keypair gkp, ckp;
	uint8_t ts[12], init[148], resp[92], pkt[64], plain[64];
	size_t n, m;

	make_pair(&p);
	make_pair(&other);
	noise_tai64n(ts, 1700000000000000000LL);
	assert_int_equal(noise_handshake_create_initiation(&ghs, init, &p.gw, &p.cl_as_remote, 7, ts, NULL,
							   NULL, 0), 0);
	/* From a gateway key the client does not know: refused after s. */
	assert_int_equal(noise_handshake_create_initiation(&chs, init, &other.gw, &p.cl_as_remote, 7, ts,
							   NULL, NULL, 0), 0);
	assert_int_equal(noise_handshake_consume_initiation(&chs, init, sizeof(init), &p.cl,
							    &p.gw_as_remote), -EBADMSG);
	assert_int_equal(noise_handshake_create_initiation(&ghs, init, &p.gw, &p.cl_as_remote, 7, ts, NULL,
							   NULL, 0), 0);
	assert_int_equal(noise_handshake_consume_initiation(&chs, init, sizeof(init), &p.cl,
							    &p.gw_as_remote), 0);
	assert_int_equal(noise_handshake_create_response(&chs, &ckp, resp, &p.cl, &p.gw_as_remote, 9, NULL,
							 NULL, 0), 0);
	assert_int_equal(noise_handshake_consume_response(&ghs, &gkp, resp, sizeof(resp), &p.gw,
							  &p.cl_as_remote), 0);
	assert_int_equal(noise_transport_encrypt(&gkp, pkt, sizeof(pkt), &n, NULL, 0), 0);
	assert_int_equal(noise_transport_decrypt(&ckp, plain, sizeof(plain), &m, pkt, n), 0);
}

/* The gateway under load answers with a cookie; the retry carries mac2. */
static void test_cookie_and_mac2(void **state)
{
	struct pair p;
	struct noise_handshake hs;
	struct noise_cookie c = { 0 };
	uint8_t ts[12], init[148], reply[64], cookie[16], mac2[16];
	int i;

	make_pair(&p);
	for (i = 0; i < 16; ++i)
		cookie[i] = (uint8_t)(0xc0 + i);
	noise_tai64n(ts, 1700000000000000000LL);
	assert_int_equal(noise_handshake_create_initiation(&hs, init, &p.cl, &p.gw_as_remote, 42, ts, NULL,
							   NULL, 0), 0);
	assert_int_equal(noise_cookie_create_reply(reply, 42, init + WG_INITIATION_MAC1_OFF, p.gw_pub, cookie,
						   NULL), 0);
	/* Wrong index, wrong AD (other mac1), wrong length: refused. */
	hs.local_index = 43;
	assert_int_equal(noise_cookie_consume(&c, &hs, reply, sizeof(reply), &p.gw_as_remote, 1), -EBADMSG);
	hs.local_index = 42;
	hs.last_mac1[0] ^= 1;
	assert_int_equal(noise_cookie_consume(&c, &hs, reply, sizeof(reply), &p.gw_as_remote, 1), -EBADMSG);
	hs.last_mac1[0] ^= 1;
	assert_int_equal(noise_cookie_consume(&c, &hs, reply, 63, &p.gw_as_remote, 1), -EBADMSG);
	assert_false(c.valid);
	assert_int_equal(noise_cookie_consume(&c, &hs, reply, sizeof(reply), &p.gw_as_remote, 1000), 0);
	assert_true(c.valid);
	assert_memory_equal(c.cookie, cookie, 16);
	/* The retry: mac2 = MAC(cookie, msg up to mac2), fresh for 120 s only. */
	assert_int_equal(noise_handshake_create_initiation(&hs, init, &p.cl, &p.gw_as_remote, 44, ts, NULL,
							   &c, 2000), 0);
	blake2s(mac2, 16, init, WG_INITIATION_MAC2_OFF, cookie, 16);
	assert_memory_equal(init + WG_INITIATION_MAC2_OFF, mac2, 16);
	assert_int_equal(noise_handshake_create_initiation(&hs, init, &p.cl, &p.gw_as_remote, 44, ts, NULL,
							   &c, 1000 + NOISE_COOKIE_SECRET_MAX_AGE_NS), 0);
	memset(mac2, 0, sizeof(mac2));
	assert_memory_equal(init + WG_INITIATION_MAC2_OFF, mac2, 16);
}

static void test_replay_window(void **state)
{
	struct noise_keypair s, r;
	uint8_t pkts[70][32], plain[16];
	size_t n, m;
	int i;

	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	memset(s.send_key, 7, 32);
	memset(r.recv_key, 7, 32);
	s.remote_index = r.local_index = 5;
	for (i = 0; i < 70; ++i)
		assert_int_equal(noise_transport_encrypt(&s, pkts[i], 32, &n, NULL, 0), 0);
	/* Out of order inside the window is fine once each. */
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[65], 32), 0);
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[10], 32), 0);
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[10], 32), -EBADMSG);
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[1], 32), -EBADMSG);
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[69], 32), 0);
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[65], 32), -EBADMSG);
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[66], 32), 0);
	r.local_index = 6;
	assert_int_equal(noise_transport_decrypt(&r, plain, sizeof(plain), &m, pkts[67], 32), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hchacha20_vector),
		cmocka_unit_test(test_xchacha20_poly1305_vector),
		cmocka_unit_test(test_roles_roundtrip),
		cmocka_unit_test(test_client_responder),
		cmocka_unit_test(test_consume_any),
		cmocka_unit_test(test_cookie_and_mac2),
		cmocka_unit_test(test_replay_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

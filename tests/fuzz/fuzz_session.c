// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the session side of src/noise (session.h): what a
 * client parses from the network. The first byte picks the parser:
 *   0 response to a live initiation   1 the same, mac1 re-signed first
 *   2 initiation from the gateway     3 the same, mac1 re-signed first
 *   4 cookie reply                    5 transport data on a live session
 * Keys are fixed; the live initiation and session are made at start-up.
 * Every parser must return 0 or -EBADMSG and never touch state on failure
 * (checked: a failed response leaves the handshake able to take the real
 * response afterwards).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/blake2s.h"
#include "crypto/x25519.h"
#include "noise/session.h"

static struct noise_remote gw_remote, cl_remote;
static struct noise_local cl, gw;
static struct noise_handshake live_hs;
static struct noise_keypair live_kp;
static uint8_t real_resp[WG_MSG_RESPONSE_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t cpriv[32], gpriv[32], cpub[32], gpub[32], ts[12], init[148], eph[32];
	struct noise_handshake rhs, ihs;
	struct noise_keypair rkp;

	memset(cpriv, 0x11, 32);
	memset(gpriv, 0x22, 32);
	memset(eph, 0x33, 32);
	if (x25519_public_from_private(cpub, cpriv) || x25519_public_from_private(gpub, gpriv))
		abort();
	noise_remote_init(&gw_remote, gpub, NULL);
	noise_remote_init(&cl_remote, cpub, NULL);
	if (noise_local_init(&cl, cpriv, &gw_remote) || noise_local_init(&gw, gpriv, &cl_remote))
		abort();
	noise_tai64n(ts, 1700000000000000000LL);
	if (noise_handshake_create_initiation(&live_hs, init, &cl, &gw_remote, 1, ts, eph, NULL, 0) ||
	    noise_handshake_consume_initiation(&rhs, init, sizeof(init), &gw, &cl_remote) ||
	    noise_handshake_create_response(&rhs, &rkp, real_resp, &gw, &cl_remote, 2, eph, NULL, 0))
		abort();
	ihs = live_hs;
	if (noise_handshake_consume_response(&ihs, &live_kp, real_resp, sizeof(real_resp), &cl, &gw_remote))
		abort();
	return 0;
}

static void resign(uint8_t *m, size_t len, const uint8_t key[static 32])
{
	if (len == WG_MSG_RESPONSE_LEN || len == WG_MSG_INITIATION_LEN)
		blake2s(m + len - 32, 16, m, len - 32, key, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct noise_handshake hs;
	struct noise_keypair kp;
	struct noise_cookie c = { 0 };
	uint8_t m[2048], out[2048], self_mac1[32];
	size_t n, outlen;
	int ret;

	if (!size || size - 1 > sizeof(m))
		return 0;
	n = size - 1;
	memcpy(m, data + 1, n);
	switch (data[0] % 6) {
	case 1:
	case 3: {
		struct noise_remote self;

		noise_remote_init(&self, cl.public_key, NULL);
		memcpy(self_mac1, self.mac1_key, 32);
		resign(m, n, self_mac1);
		if (data[0] % 6 == 3)
			goto initiation;
	}
		/* fall through */
	case 0:
		hs = live_hs;
		ret = noise_handshake_consume_response(&hs, &kp, m, n, &cl, &gw_remote);
		if (ret != 0 && ret != -EBADMSG)
			abort();
		if (ret && noise_handshake_consume_response(&hs, &kp, real_resp, sizeof(real_resp), &cl,
							    &gw_remote))
			abort(); /* a failure spoiled the state */
		break;
	case 2:
	initiation:
		ret = noise_handshake_consume_initiation(&hs, m, n, &cl, &gw_remote);
		if (ret != 0 && ret != -EBADMSG)
			abort();
		break;
	case 4:
		ret = noise_cookie_consume(&c, &live_hs, m, n, &gw_remote, 0);
		if ((ret != 0 && ret != -EBADMSG) || (ret && c.valid))
			abort();
		break;
	case 5:
		kp = live_kp;
		ret = noise_transport_decrypt(&kp, out, sizeof(out), &outlen, m, n);
		if ((ret != 0 && ret != -EBADMSG && ret != -EMSGSIZE) || (ret && outlen) ||
		    (!ret && outlen + 32 != n))
			abort();
		break;
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * Transport data messages (type 4): header, little-endian receiver index and
 * counter, then the payload padded to 16 bytes and sealed with the session
 * key and the counter as the nonce. The receive side keeps a 64-message
 * sliding window of seen counters, the same idea as the kernel's (which
 * keeps 8,192 for reordering links; a load generator's sessions carry a
 * keepalive or a ping at a time, so 64 is plenty).
 */
#include "noise/session.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto/aead.h"

enum { REJECT_AFTER_MESSAGES = 0xffffffffffffe000ULL / 2 };

int noise_transport_encrypt(struct noise_keypair *kp, uint8_t *out, size_t out_cap, size_t *out_len,
			    const uint8_t *payload, size_t len)
{
	size_t padded = (len + 15) & ~(size_t)15, total = WG_DATA_HEADER_LEN + padded + AEAD_TAG_LEN;
	uint32_t idx = htole32(kp->remote_index);
	uint64_t ctr;
	int ret;

	*out_len = 0;
	if (len > 65535 || total > out_cap)
		return -EMSGSIZE;
	if (kp->send_counter >= REJECT_AFTER_MESSAGES)
		return -EKEYEXPIRED;
	out[0] = MESSAGE_DATA;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, &idx, 4);
	ctr = htole64(kp->send_counter);
	memcpy(out + 8, &ctr, 8);
	/* Pad in place, then seal in place. */
	if (len)
		memmove(out + WG_DATA_HEADER_LEN, payload, len);
	memset(out + WG_DATA_HEADER_LEN + len, 0, padded - len);
	ret = aead_encrypt(NULL, out + WG_DATA_HEADER_LEN, out + WG_DATA_HEADER_LEN, padded,
			   kp->send_counter, NULL, 0, kp->send_key);
	if (ret)
		return ret;
	kp->send_counter++;
	*out_len = total;
	return 0;
}

/* Whether counter is new to the window (does not record it). */
static bool window_fresh(const struct noise_keypair *kp, uint64_t counter)
{
	uint64_t back;

	if (counter >= kp->recv_max)
		return true;
	back = kp->recv_max - 1 - counter;
	return back < 64 && !(kp->recv_window & (1ULL << back));
}

static void window_mark(struct noise_keypair *kp, uint64_t counter)
{
	uint64_t shift;

	if (counter >= kp->recv_max) {
		shift = counter + 1 - kp->recv_max;
		kp->recv_window = shift >= 64 ? 0 : kp->recv_window << shift;
		kp->recv_window |= 1;
		kp->recv_max = counter + 1;
		return;
	}
	kp->recv_window |= 1ULL << (kp->recv_max - 1 - counter);
}

int noise_transport_decrypt(struct noise_keypair *kp, uint8_t *out, size_t out_cap, size_t *out_len,
			    const uint8_t *msg, size_t len)
{
	uint32_t idx;
	uint64_t ctr;
	size_t ctlen;

	*out_len = 0;
	if (!msg || len < WG_MSG_DATA_MIN_LEN || msg[0] != MESSAGE_DATA || (msg[1] | msg[2] | msg[3]))
		return -EBADMSG;
	memcpy(&idx, msg + 4, 4);
	memcpy(&ctr, msg + 8, 8);
	ctr = le64toh(ctr);
	ctlen = len - WG_DATA_HEADER_LEN;
	if (le32toh(idx) != kp->local_index || ctr >= REJECT_AFTER_MESSAGES || !window_fresh(kp, ctr))
		return -EBADMSG;
	if (ctlen - AEAD_TAG_LEN > out_cap)
		return -EMSGSIZE;
	if (aead_decrypt(NULL, out, msg + WG_DATA_HEADER_LEN, ctlen, ctr, NULL, 0, kp->recv_key))
		return -EBADMSG;
	window_mark(kp, ctr);
	*out_len = ctlen - AEAD_TAG_LEN;
	return 0;
}

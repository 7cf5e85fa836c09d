// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "wire/hook.h"

static int put_addr(uint8_t *fam, uint8_t addr[16], uint8_t port[2],
		    const struct sockaddr_storage *ss)
{
	uint16_t p;

	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		*fam = 4;
		memcpy(addr, &sin->sin_addr, 4);
		p = sin->sin_port;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		*fam = 6;
		memcpy(addr, &sin6->sin6_addr, 16);
		p = sin6->sin6_port;
	} else {
		return -EAFNOSUPPORT;
	}
	memcpy(port, &p, 2); /* already network order */
	return 0;
}

static int get_addr(struct sockaddr_storage *ss, uint8_t fam, const uint8_t addr[16],
		    const uint8_t port[2])
{
	static const uint8_t zero[12];
	uint16_t p;

	memcpy(&p, port, 2);
	if (p == 0)
		return -EBADMSG;
	memset(ss, 0, sizeof(*ss));
	if (fam == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		if (memcmp(addr + 4, zero, 12) != 0)
			return -EBADMSG;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = p;
	} else if (fam == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = p;
	} else {
		return -EBADMSG;
	}
	return 0;
}

int hook_msg_encode(uint8_t out[static HOOK_MSG_LEN], const struct hook_msg *m)
{
	int ret;

	memset(out, 0, HOOK_MSG_LEN);
	memcpy(out, HOOK_MAGIC, 4);
	ret = put_addr(&out[4], &out[8], &out[24], &m->endpoint);
	if (ret == 0)
		ret = put_addr(&out[5], &out[28], &out[26], &m->client);
	if (ret == 0)
		memcpy(out + HOOK_OFF_INITIATION, m->initiation, WG_MSG_INITIATION_LEN);
	return ret;
}

int hook_msg_decode(struct hook_msg *m, const uint8_t *buf, size_t len)
{
	static const uint8_t type1[4] = { MESSAGE_HANDSHAKE_INITIATION, 0, 0, 0 };
	int ret = -EBADMSG;

	memset(m, 0, sizeof(*m));
	if (len != HOOK_MSG_LEN || memcmp(buf, HOOK_MAGIC, 4) != 0 || buf[6] || buf[7])
		goto out;
	if (memcmp(buf + HOOK_OFF_INITIATION, type1, 4) != 0)
		goto out;
	if (get_addr(&m->endpoint, buf[4], &buf[8], &buf[24]) ||
	    get_addr(&m->client, buf[5], &buf[28], &buf[26]))
		goto out;
	memcpy(m->initiation, buf + HOOK_OFF_INITIATION, WG_MSG_INITIATION_LEN);
	ret = 0;
out:
	if (ret)
		memset(m, 0, sizeof(*m));
	return ret;
}

// SPDX-License-Identifier: MIT
/*
 * The relay's end of the hook (src/wire/hook.h): one unbound AF_UNIX datagram
 * socket per loop, sendto() the configured path each time with MSG_DONTWAIT.
 * A missing, full or slow receiver costs one failed system call and a count:
 * the relay never waits for jitwgd, and when jitwgd (re)binds the path the
 * next hand-off reaches it, without a relay restart.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay/conn.h"
#include "wire/hook.h"

int hook_sender_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

void hook_send(struct relay_loop *L, const struct conn *c, const uint8_t *init)
{
	struct relay *r = L->r;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint8_t buf[HOOK_MSG_LEN];
	struct hook_msg m;
	size_t pl;

	if (L->hookfd < 0)
		return;
	pl = strlen(r->cfg.hook_path);
	if (pl >= sizeof(sun.sun_path))
		goto drop;
	memcpy(sun.sun_path, r->cfg.hook_path, pl);
	memset(&m, 0, sizeof(m));
	memcpy(&m.endpoint, &c->endpoint, sizeof(c->endpoint));
	memcpy(&m.client, &c->client, sizeof(c->client));
	memcpy(m.initiation, init, sizeof(m.initiation));
	if (hook_msg_encode(buf, &m) < 0)
		goto drop;
	if (sendto(L->hookfd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl + 1)) != (ssize_t)sizeof(buf))
		goto drop;
	atomic_fetch_add_explicit(&r->m.hook_sent, 1, memory_order_relaxed);
	return;
drop:
	atomic_fetch_add_explicit(&r->m.hook_dropped, 1, memory_order_relaxed);
}

// SPDX-License-Identifier: MIT
/*
 * Connections per source, so that one host (or one IPv6 /64, what one
 * client is usually given) cannot take all of --max-connections: the
 * relay's --max-per-source, in the project's keyed table (crypto/keyedtab).
 * An entry exists only while its count is above zero, so the table never
 * holds more entries than connections.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyedtab.h"
#include "relay/relay.h"

enum { SOURCE_KEY_LEN = 17, SOURCE_WAYS = 8 };

struct source {
	uint8_t key[SOURCE_KEY_LEN]; /* family, then the address (IPv6: its /64) */
	unsigned count;
};

struct relay_sources {
	pthread_mutex_t mu;
	struct keyedtab tab;
	unsigned max;
};

struct relay_sources *relay_sources_new(unsigned max, size_t most)
{
	struct relay_sources *t = calloc(1, sizeof(*t));
	int e;

	if (!t)
		return NULL;
	/* four times the connections that can hold an entry: a set is then
	 * rarely full, and a full one refuses (never forgets a count) */
	e = keyedtab_init(&t->tab, most * 4 + 64, SOURCE_WAYS, sizeof(struct source), SOURCE_KEY_LEN);
	if (e < 0) {
		free(t);
		errno = -e;
		return NULL;
	}
	t->max = max;
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void relay_sources_free(struct relay_sources *t)
{
	if (!t)
		return;
	keyedtab_uninit(&t->tab);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void key_of(uint8_t key[SOURCE_KEY_LEN], const struct sockaddr *sa)
{
	memset(key, 0, SOURCE_KEY_LEN);
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
}

bool relay_source_get(struct relay_sources *t, const struct sockaddr *sa)
{
	uint8_t key[SOURCE_KEY_LEN];
	struct source *s;
	size_t set;
	bool ok = true;

	if (!t || !t->max)
		return true;
	key_of(key, sa);
	pthread_mutex_lock(&t->mu);
	set = keyedtab_set(&t->tab, key);
	s = keyedtab_find(&t->tab, set, key);
	if (s) {
		ok = s->count < t->max;
		if (ok)
			s->count++;
	} else if ((s = keyedtab_claim(&t->tab, set, key, NULL, NULL, NULL))) {
		s->count = 1;
	} else {
		ok = false; /* a full set: refuse rather than not count */
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

void relay_source_put(struct relay_sources *t, const struct sockaddr *sa)
{
	uint8_t key[SOURCE_KEY_LEN];
	struct source *s;

	if (!t || !t->max)
		return;
	key_of(key, sa);
	pthread_mutex_lock(&t->mu);
	s = keyedtab_find(&t->tab, keyedtab_set(&t->tab, key), key);
	if (s && --s->count == 0)
		keyedtab_release(&t->tab, s);
	pthread_mutex_unlock(&t->mu);
}

void relay_addr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}

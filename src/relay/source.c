// SPDX-License-Identifier: MIT
/*
 * Connections per source, so that one host (or one IPv6 /64, what one
 * client is usually given) cannot take all of --max-connections: the
 * relay's --max-per-source. Entries exist only while their count is above
 * zero, so the table never holds more entries than connections.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/siphash.h"
#include "relay/relay.h"

struct source {
	struct source *next;
	uint8_t key[17]; /* family, then the address (IPv6: its /64) */
	unsigned count;
};

struct relay_sources {
	pthread_mutex_t mu;
	struct siphash_key sk;
	unsigned max;
	size_t mask;
	struct source **bucket;
};

struct relay_sources *relay_sources_new(unsigned max, size_t buckets)
{
	struct relay_sources *t = calloc(1, sizeof(*t));
	size_t n = 64;

	if (!t)
		return NULL;
	while (n < buckets && n < ((size_t)1 << 24))
		n *= 2;
	t->bucket = calloc(n, sizeof(*t->bucket));
	if (!t->bucket || siphash_key_random(&t->sk) < 0) {
		free(t->bucket);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->mask = n - 1;
	t->max = max;
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void relay_sources_free(struct relay_sources *t)
{
	if (!t)
		return;
	for (size_t i = 0; i <= t->mask; ++i)
		while (t->bucket[i]) {
			struct source *s = t->bucket[i];
			t->bucket[i] = s->next;
			free(s);
		}
	pthread_mutex_destroy(&t->mu);
	free(t->bucket);
	free(t);
}

static void key_of(uint8_t key[17], const struct sockaddr *sa)
{
	memset(key, 0, 17);
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
}

/* The entry's link, or the NULL link where it would go. Under t->mu. */
static struct source **find(struct relay_sources *t, const uint8_t key[17])
{
	struct source **pp = &t->bucket[siphash24(&t->sk, key, 17) & t->mask];

	while (*pp && memcmp((*pp)->key, key, 17) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool relay_source_get(struct relay_sources *t, const struct sockaddr *sa)
{
	uint8_t key[17];
	struct source **pp;
	bool ok = true;

	if (!t || !t->max)
		return true;
	key_of(key, sa);
	pthread_mutex_lock(&t->mu);
	pp = find(t, key);
	if (*pp) {
		ok = (*pp)->count < t->max;
		if (ok)
			(*pp)->count++;
	} else if ((*pp = calloc(1, sizeof(**pp)))) {
		memcpy((*pp)->key, key, 17);
		(*pp)->count = 1;
	} else {
		ok = false; /* out of memory: refuse rather than not count */
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

void relay_source_put(struct relay_sources *t, const struct sockaddr *sa)
{
	uint8_t key[17];
	struct source **pp;

	if (!t || !t->max)
		return;
	key_of(key, sa);
	pthread_mutex_lock(&t->mu);
	pp = find(t, key);
	if (*pp && --(*pp)->count == 0) {
		struct source *s = *pp;
		*pp = s->next;
		free(s);
	}
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

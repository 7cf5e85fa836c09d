// SPDX-License-Identifier: MIT
#include "common/clock.h"

#include <string.h>

enum { NSEC_PER_SEC = 1000000000, NSEC_PER_MSEC = 1000000 };

struct timespec clock_timespec(clockid_t id)
{
	struct timespec ts;

	/* Only fails for an invalid id; every caller passes a constant one. */
	clock_gettime(id, &ts);
	return ts;
}

static uint64_t ns_of(clockid_t id)
{
	struct timespec ts = clock_timespec(id);

	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void)
{
	return ns_of(CLOCK_MONOTONIC);
}

uint64_t clock_mono_ms(void)
{
	return ns_of(CLOCK_MONOTONIC) / NSEC_PER_MSEC;
}

int64_t clock_real_ms(void)
{
	struct timespec ts = clock_timespec(CLOCK_REALTIME);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NSEC_PER_MSEC;
}

uint64_t clock_thread_cpu_ns(void)
{
	return ns_of(CLOCK_THREAD_CPUTIME_ID);
}

void timespec_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * NSEC_PER_MSEC;
	if (ts->tv_nsec >= NSEC_PER_SEC) {
		ts->tv_sec++;
		ts->tv_nsec -= NSEC_PER_SEC;
	}
}

struct timespec clock_deadline_ms(clockid_t id, uint64_t ms)
{
	struct timespec ts = clock_timespec(id);

	timespec_add_ms(&ts, ms);
	return ts;
}

uint64_t clock_earliest(const void *base, size_t n, size_t stride, size_t off)
{
	const unsigned char *p = base;
	uint64_t due = UINT64_MAX, t;
	size_t i;

	for (i = 0; i < n; ++i) {
		memcpy(&t, p + i * stride + off, sizeof(t));
		if (t < due)
			due = t;
	}
	return due;
}

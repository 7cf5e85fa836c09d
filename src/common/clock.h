/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_CLOCK_H
#define JITWG_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * The project's clocks, named by what they measure. "mono" is
 * CLOCK_MONOTONIC: intervals, deadlines, rate windows; it never jumps.
 * "real" is CLOCK_REALTIME: wall-clock instants that are stored or shown
 * (log stamps, expiry times, cache rows). Never mix the two in one
 * comparison. All are thread-safe and cannot fail on Linux.
 */
uint64_t clock_mono_ns(void);
uint64_t clock_mono_ms(void);
int64_t clock_real_ms(void);
/* CPU time the calling thread has used, in ns (benchmarks). */
uint64_t clock_thread_cpu_ns(void);

/* The current time of clock id as a timespec. */
struct timespec clock_timespec(clockid_t id);

/*
 * Adds ms to *ts and carries nanoseconds into seconds: the one place that
 * builds an absolute deadline for pthread_cond_timedwait or
 * clock_nanosleep(TIMER_ABSTIME).
 */
void timespec_add_ms(struct timespec *ts, uint64_t ms);

/* now(id) + ms: an absolute deadline on clock id. */
struct timespec clock_deadline_ms(clockid_t id, uint64_t ms);

/*
 * The earliest due time in an array: the smallest uint64_t at byte offset
 * off of each of the n elements of size stride at base (e.g. a struct's
 * due_ms: offsetof(struct x, due_ms)). UINT64_MAX when n is 0. Pure.
 */
uint64_t clock_earliest(const void *base, size_t n, size_t stride, size_t off);

#endif

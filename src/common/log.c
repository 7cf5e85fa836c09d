// SPDX-License-Identifier: MIT
#include "common/log.h"

#include "common/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Written by SIGHUP's reload on the main thread while every thread reads it. */
static _Atomic int current_level = LOG_LVL_INFO;
static const char *ident = "jitwg";

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

void log_set_ident(const char *name)
{
	ident = name;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERR:   return "error";
	case LOG_LVL_WARN:  return "warn";
	case LOG_LVL_INFO:  return "info";
	default:            return "debug";
	}
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level level; } names[] = {
		{ "error", LOG_LVL_ERR }, { "err", LOG_LVL_ERR },	  { "warn", LOG_LVL_WARN },
		{ "warning", LOG_LVL_WARN }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
		if (!strcmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n, m;

	ts = clock_timespec(CLOCK_REALTIME);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, ident, (int)getpid(), level_name(level));
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line keeps concurrent threads' lines whole. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((int)level > atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void log_ratelimited_debug(const char *fmt, ...)
{
	enum { BUDGET_PER_SEC = 5 };
	static atomic_long window;
	static atomic_int used;
	long sec;
	va_list ap;

	if (atomic_load_explicit(&current_level, memory_order_relaxed) < LOG_LVL_DEBUG)
		return;
	sec = (long)(clock_mono_ms() / 1000);
	if (atomic_exchange(&window, sec) != sec)
		atomic_store(&used, 0);
	if (atomic_fetch_add(&used, 1) >= BUDGET_PER_SEC)
		return;
	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}

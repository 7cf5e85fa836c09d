/* SPDX-License-Identifier: MIT */
#ifndef JITWG_COMMON_LOG_H
#define JITWG_COMMON_LOG_H

#include <stdbool.h>

/*
 * One log line per event, to stderr (journald picks it up under systemd).
 * Never call these per packet at info level or above; per-packet detail goes
 * through log_ratelimited_debug(), which caps itself.
 */
enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/*
 * The level: set by main() at start-up and again on every SIGHUP reload while
 * other threads log; an atomic, so both are safe from any thread.
 */
void log_set_level(enum log_level level);
void log_set_ident(const char *ident);
enum log_level log_get_level(void);

/*
 * The --log-level spelling every binary takes: error (or err), warn (or
 * warning), info, debug. Returns 0 or -EINVAL (*out untouched). Pure.
 */
int log_level_parse(const char *s, enum log_level *out);
#define LOG_LEVEL_NAMES "error, warn, info or debug"

/* Thread-safe: one write(2) per line so lines from threads never interleave. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Debug logging capped at a few lines per second process-wide, for events an
 * attacker can trigger at packet rate. Returns without formatting when the
 * debug level is off or the budget is spent.
 */
void log_ratelimited_debug(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif

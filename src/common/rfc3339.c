// SPDX-License-Identifier: MIT
#include "common/rfc3339.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool is_leap(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* 9999-12-31T23:59:59Z: the last instant with a four-digit year. */
static const int64_t RFC3339_LAST = 253402300799;

/* Reads exactly n digits; returns -1 on a non-digit. */
static int digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; ++i) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int rfc3339_parse(int64_t *out, const char *s)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;

	*out = 0;
	if (strlen(s) < 20)
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 60 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && is_leap((unsigned int)y)))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (++p; *p >= '0' && *p <= '9'; ++p)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		++p;
	} else if (*p == '+' || *p == '-') {
		/* exact length first: the digits below are read blindly */
		if (strlen(p) != 6 || p[3] != ':')
			return -EINVAL;
		sign = *p == '+' ? 1 : -1;
		oh = digits(p + 1, 2);
		om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	/* A leap second is folded into the next second; POSIX time has no :60. */
	*out = days_from_civil(y, (unsigned int)mo, (unsigned int)d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	/* An offset can carry 9999-12-31 into year 10000, which the format above cannot read back. */
	if (*out > RFC3339_LAST) {
		*out = 0;
		return -EINVAL;
	}
	return 0;
}

void rfc3339_format(char out[static RFC3339_MAX], int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(out, RFC3339_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, RFC3339_MAX, "1970-01-01T00:00:00Z");
}


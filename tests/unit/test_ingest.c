// SPDX-License-Identifier: MIT
/*
 * The capture ingest source: a read error (or no memory) must not leave the
 * daemon READY but deaf; the source stops and reports it (main exits 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "gateway/ingest/capture.h"

struct fake {
	int pipe[2];
	int reads;
	int fail_with;
};

static int f_fd(void *src) { return ((struct fake *)src)->pipe[0]; }
static uint64_t f_drops(void *src) { return 0; }
static int f_read(void *src, struct capture_pkt *p, size_t max, uint64_t *mal)
{
	struct fake *f = src;

	f->reads++;
	return f->fail_with;
}

static const struct ingest_capture_io fake_io = { .fd = f_fd, .read = f_read, .kernel_drops = f_drops };

static atomic_int fatal_err;

static void on_fatal(void *ctx, int err, const char *what)
{
	atomic_store(&fatal_err, err);
}

static void run(int fail_with, int expect_fatal)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct fake f = { .fail_with = fail_with };
	struct ingest_capture_config cfg = {
		.src = &f, .io = &fake_io, .metrics = m, .fatal = on_fatal,
	};
	struct ingest_capture *c;
	int i;

	assert_int_equal(pipe(f.pipe), 0);
	assert_int_equal(write(f.pipe[1], "x", 1), 1); /* always readable */
	atomic_store(&fatal_err, 0);
	c = ingest_capture_start(&cfg);
	assert_non_null(c);
	for (i = 0; i < 200 && !atomic_load(&fatal_err); ++i)
		usleep(5000);
	assert_int_equal(atomic_load(&fatal_err), expect_fatal);
	ingest_capture_stop(c);
	close(f.pipe[0]);
	close(f.pipe[1]);
	free(m);
}

static void test_read_error_is_fatal(void **state)
{
	run(-EIO, -EIO);
	run(-ENETDOWN, -ENETDOWN);
}

static void test_eagain_is_not(void **state)
{
	run(-EAGAIN, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_error_is_fatal),
		cmocka_unit_test(test_eagain_is_not),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

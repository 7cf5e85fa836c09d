// SPDX-License-Identifier: MIT
/* jitwgd configuration: command line, --config file, reload rules, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/core/config.h"
#include "gateway/install/reinject.h"

static int load(struct config *c, char *err, int n, ...)
{
	char *argv[32] = { "jitwgd" };
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; ++i)
		argv[i + 1] = va_arg(ap, char *);
	va_end(ap);
	return config_load(c, n + 1, argv, err);
}

static char *write_file(const char *text)
{
	char *path = strdup("/tmp/jitwg-test-config.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_minimal(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://127.0.0.1:8080"), 0);
	assert_string_equal(c.interface, "wg0");
	assert_int_equal(c.idle_timeout, 600);
	assert_int_equal(c.grace, 30);
	assert_false(c.no_initiate);
	assert_true(c.reinject); /* a default-true bool row */
	assert_int_equal(c.reinject_rate, REINJECT_RATE_DEFAULT);
	assert_int_equal(c.initiate_delay_ms, 0); /* install confirmation repairs crossed handshakes */
	assert_int_equal(c.confirm_ms, 40);
	assert_int_equal(c.backend, DP_BACKEND_AUTO);
	assert_string_equal(c.cache_path, "/var/lib/jitwg/wg0.db");
	assert_string_equal(c.status_socket, "/run/jitwg/wg0.sock");
	config_free(&c);
}

static void test_all_contract_options(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(load(&c, err, 17, "--interface", "wg1", "--registry", "https://r.example:8443",
			      "--token-file", "/etc/t", "--gateway", "fra1", "--cache", "/tmp/c.db",
			      "--metrics", "127.0.0.1:9100", "--idle-timeout=5", "--no-initiate",
			      "--backend", "userspace", "--reinject=false"), 0);
	assert_false(c.reinject);

	assert_string_equal(c.gateway, "fra1");
	assert_int_equal(c.idle_timeout, 5);
	assert_int_equal(c.grace, 5); /* capped at the idle timeout */
	assert_true(c.no_initiate);
	assert_int_equal(c.backend, DP_BACKEND_USERSPACE);
	assert_string_equal(c.metrics_addr, "127.0.0.1:9100");
	config_free(&c);
	assert_int_equal(load(&c, err, 6, "--interface", "wg1", "--registry", "http://r", "--reinject-rate", "500"), 0);
	assert_int_equal(c.reinject_rate, 500);
	config_free(&c);
	/* under 100/s a 1,000-client reboot's copies would outlive REKEY_TIMEOUT */
	assert_int_equal(load(&c, err, 6, "--interface", "wg1", "--registry", "http://r", "--reinject-rate", "99"),
			 -EINVAL);
}

static void test_errors(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(load(&c, err, 2, "--registry", "http://x"), -EINVAL);
	assert_non_null(strstr(err, "--interface is required"));
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "ftp://x"), -EINVAL);
	assert_non_null(strstr(err, "http"));
	/* Malformed URLs fail at start-up, with libcurl's reason. */
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://[::1"), -EINVAL);
	assert_non_null(strstr(err, "not a valid URL"));
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://"), -EINVAL);
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://a b/"), -EINVAL);
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://r:99999/"), -EINVAL);
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://r/?x=1"), -EINVAL);
	assert_int_equal(load(&c, err, 4, "--interface", "wg0", "--registry", "http://[::1]:8080/"), 0);
	config_free(&c);
	assert_int_equal(load(&c, err, 6, "--interface", "wg0", "--registry", "http://x", "--idle-timeout", "ten"), -EINVAL);
	assert_non_null(strstr(err, "idle-timeout"));
	assert_int_equal(load(&c, err, 6, "--interface", "wg0", "--registry", "http://x", "--idle-timeout", "0"), -EINVAL);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(load(&c, err, 5, "--interface", "wg0", "--registry", "http://x", "--bogus"), -EINVAL);
	assert_non_null(strstr(err, "unknown option"));
	assert_int_equal(load(&c, err, 3, "--interface", "wg0", "--registry"), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(load(&c, err, 6, "--interface", "wg0", "--registry", "http://x", "--backend", "bsd"), -EINVAL);
	assert_int_equal(load(&c, err, 1, "--help"), 1);
	assert_int_equal(load(&c, err, 6, "--interface", "wg0", "--registry", "http://x", "--config", "/nonexistent/x"), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x"));
}

static void test_file_and_override(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	char *path = write_file("# jitwgd\ninterface = wg7\nregistry http://10.0.0.1:8080\n"
				"idle-timeout = 120  # two minutes\nno-initiate\n--gateway=\"ams\"\nreinject = no\n");

	assert_int_equal(load(&c, err, 4, "--config", path, "--idle-timeout", "60"), 0);
	assert_string_equal(c.interface, "wg7");
	assert_string_equal(c.registry_url, "http://10.0.0.1:8080");
	assert_int_equal(c.idle_timeout, 60); /* command line wins */
	assert_true(c.no_initiate);
	assert_false(c.reinject);
	assert_string_equal(c.gateway, "ams");
	config_free(&c);
	unlink(path);
	free(path);
}

static void test_file_errors(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	char *path = write_file("interface = wg0\nregistry = http://x\nidle-timout = 5\n");

	assert_int_equal(load(&c, err, 2, "--config", path), -EINVAL);
	assert_non_null(strstr(err, ":3: unknown option 'idle-timout'"));
	unlink(path);
	free(path);
	path = write_file("interface = wg0\nregistry =\n");
	assert_int_equal(load(&c, err, 2, "--config", path), -EINVAL);
	assert_non_null(strstr(err, ":2: 'registry' needs a value"));
	unlink(path);
	free(path);
	/* A lost closing quote is an error at its line, not part of the path. */
	path = write_file("interface = wg0\nregistry = http://x\ncache = \"/path/c.db\n");
	assert_int_equal(load(&c, err, 2, "--config", path), -EINVAL);
	assert_non_null(strstr(err, ":3: unterminated quote"));
	unlink(path);
	free(path);
	path = write_file("interface = wg0\nregistry = http://x\ncache = \"/a b\" x\n");
	assert_int_equal(load(&c, err, 2, "--config", path), -EINVAL);
	assert_non_null(strstr(err, ":3: unexpected text after the closing quote"));
	unlink(path);
	free(path);
}

/* Quoted values keep spaces and '#'; a comment may follow the closing quote. */
static void test_file_quotes(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	char *path = write_file("interface = wg0 # the gateway\nregistry = http://x\n"
				"cache = \"/var/lib/j w/#1.db\"  # quoted\n");

	assert_int_equal(load(&c, err, 2, "--config", path), 0);
	assert_string_equal(c.interface, "wg0");
	assert_string_equal(c.cache_path, "/var/lib/j w/#1.db");
	config_free(&c);
	unlink(path);
	free(path);
}

static void test_reload(void **state)
{
	struct config run, fresh;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(load(&run, err, 4, "--interface", "wg0", "--registry", "http://a"), 0);
	assert_int_equal(load(&fresh, err, 8, "--interface", "wg0", "--registry", "http://b",
			      "--idle-timeout", "30", "--admit-rate", "7"), 0);
	assert_int_equal(config_apply_reload(&run, &fresh, err), 1);
	assert_string_equal(err, "registry");
	assert_int_equal(run.idle_timeout, 30);
	assert_int_equal(run.admit_rate, 7);
	assert_string_equal(run.registry_url, "http://a"); /* needs a restart */
	config_free(&run);
	config_free(&fresh);
}

/* --admit-set: restart-only, checked at load, and never with --no-initiate (also via the file). */
static void test_admit_set(void **state)
{
	struct config c, fresh;
	char err[CONFIG_ERR_MAX], *path;

	assert_int_equal(load(&c, err, 6, "--interface", "wg0", "--registry", "http://r", "--admit-set",
			      "inet:jitwg:admit"), 0);
	assert_string_equal(c.admit_set, "inet:jitwg:admit");
	assert_int_equal(load(&fresh, err, 6, "--interface", "wg0", "--registry", "http://r", "--admit-set",
			      "ip:jitwg:other"), 0);
	assert_int_equal(config_apply_reload(&c, &fresh, err), 1);
	assert_string_equal(err, "admit-set");
	config_free(&fresh);
	config_free(&c);
	assert_int_equal(load(&c, err, 6, "--interface", "wg0", "--registry", "http://r", "--admit-set", "inet:jitwg"),
			 -EINVAL);
	assert_non_null(strstr(err, "--admit-set: 'inet:jitwg'"));
	assert_int_equal(load(&c, err, 7, "--interface", "wg0", "--registry", "http://r", "--admit-set",
			      "inet:jitwg:admit", "--no-initiate"), -EINVAL);
	assert_non_null(strstr(err, "needs jitwgd to answer"));
	path = write_file("interface wg0\nregistry http://r\nadmit-set = inet:jitwg:admit\nno-initiate\n");
	assert_int_equal(load(&c, err, 2, "--config", path), -EINVAL);
	assert_non_null(strstr(err, "needs jitwgd to answer"));
	unlink(path);
	free(path);
}

static void test_token(void **state)
{
	char err[CONFIG_ERR_MAX], *t;
	char *path = write_file("  s3cret-token\n");

	t = config_read_token(path, err);
	assert_non_null(t);
	assert_string_equal(t, "s3cret-token");
	free(t);
	unlink(path);
	free(path);
	path = write_file("two words\n");
	assert_null(config_read_token(path, err));
	unlink(path);
	free(path);
	assert_null(config_read_token("/nonexistent/token", err));
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_all_contract_options),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_file_and_override),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_quotes),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_admit_set),
		cmocka_unit_test(test_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/* common/addrport: the one ADDR:PORT parser (split, numeric, resolving) and its error codes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "common/addrport.h"

static void test_split(void **state)
{
	char host[ADDRPORT_HOST_MAX], longhost[ADDRPORT_HOST_MAX + 8];
	uint16_t port;
	bool br;

	assert_int_equal(addrport_split("gw.example:51820", host, &port, 0, &br), 0);
	assert_string_equal(host, "gw.example");
	assert_int_equal(port, 51820);
	assert_false(br);
	assert_int_equal(addrport_split("[fe80::1%lo]:443", host, &port, 0, &br), 0);
	assert_string_equal(host, "fe80::1%lo");
	assert_true(br);
	assert_int_equal(addrport_split("[::1]", host, &port, ADDRPORT_PORT_OPTIONAL, NULL), 0);
	assert_int_equal(port, 0);
	assert_int_equal(addrport_split("relay", host, &port, ADDRPORT_PORT_OPTIONAL, NULL), 0);
	assert_string_equal(host, "relay");
	assert_int_equal(addrport_split("relay", host, &port, 0, NULL), -EINVAL);
	assert_int_equal(addrport_split("[::1]", host, &port, 0, NULL), -EINVAL);
	assert_int_equal(addrport_split("[::1]x:80", host, &port, 0, NULL), -EINVAL);
	assert_int_equal(addrport_split(":80", host, &port, 0, NULL), -EINVAL);
	assert_int_equal(addrport_split(":80", host, &port, ADDRPORT_EMPTY_HOST, NULL), 0);
	assert_int_equal(addrport_split("[]:80", host, &port, ADDRPORT_EMPTY_HOST, NULL), -EINVAL);
	assert_int_equal(addrport_split("::1:80", host, &port, 0, NULL), -EAFNOSUPPORT);
	assert_int_equal(addrport_split("h:0", host, &port, 0, NULL), -ERANGE);
	assert_int_equal(addrport_split("h:0", host, &port, ADDRPORT_PORT0, NULL), 0);
	assert_int_equal(addrport_split("h:65536", host, &port, 0, NULL), -ERANGE);
	assert_int_equal(addrport_split("h:000080", host, &port, 0, NULL), -ERANGE);
	assert_int_equal(addrport_split("h:+80", host, &port, 0, NULL), -ERANGE);
	assert_int_equal(addrport_split("h:", host, &port, 0, NULL), -ERANGE);
	memset(longhost, 'a', sizeof(longhost));
	strcpy(longhost + ADDRPORT_HOST_MAX, ":80");
	assert_int_equal(addrport_split(longhost, host, &port, 0, NULL), -EINVAL);
	assert_non_null(strstr(addrport_strerror(-ERANGE), "port"));
	assert_non_null(strstr(addrport_strerror(-EINVAL), "ADDR:PORT"));
}

static void test_resolve(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	assert_int_equal(addrport_resolve("192.0.2.1:51820", 0, &ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(s4->sin_addr.s_addr, inet_addr("192.0.2.1"));
	assert_int_equal(ntohs(s4->sin_port), 51820);
	assert_int_equal(addrport_resolve("[fd79::1]:7", 0, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 7);
	assert_int_equal(addrport_resolve("[fe80::1%lo]:7", 0, &ss, &len), 0);
	assert_int_equal(s6->sin6_scope_id, 1);
	assert_int_equal(addrport_resolve(":9100", ADDRPORT_EMPTY_HOST, &ss, &len), 0);
	assert_int_equal(s4->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(addrport_resolve("127.0.0.1:0", ADDRPORT_PORT0, &ss, &len), 0);
	assert_int_equal(addrport_resolve("127.0.0.1:0", 0, &ss, &len), -ERANGE);
	assert_int_equal(addrport_resolve("localhost:80", 0, &ss, &len), -EADDRNOTAVAIL); /* numeric only */
	assert_int_equal(addrport_resolve("localhost:80", ADDRPORT_RESOLVE, &ss, &len), 0);
	assert_int_equal(ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port), 80);
	assert_int_equal(addrport_resolve("[localhost]:80", ADDRPORT_RESOLVE, &ss, &len), -EADDRNOTAVAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

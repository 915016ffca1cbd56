/* SPDX-License-Identifier: MIT */
/* The allow-list and listen parsers against hostile input, and the match. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/netaddr.h"

static socklen_t source(const char *addr, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, addr, &((struct sockaddr_in *) ss)->sin_addr) == 1) {
                ss->ss_family = AF_INET;
                return sizeof(struct sockaddr_in);
        }
        assert_int_equal(inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *) ss)->sin6_addr), 1);
        ss->ss_family = AF_INET6;
        return sizeof(struct sockaddr_in6);
}

static void test_prefix_parse(void **state) {
        static const struct {
                const char *in;
                int family; /* 0: refused */
                unsigned bits;
        } cases[] = {
                { "10.0.0.0/8", AF_INET, 8 },
                { "192.0.2.7", AF_INET, 32 },
                { "0.0.0.0/0", AF_INET, 0 },
                { "2001:db8::/32", AF_INET6, 32 },
                { "::1", AF_INET6, 128 },
                { "::/0", AF_INET6, 0 },
                { "::ffff:10.0.0.0/104", AF_INET, 8 }, /* mapped: normalised to IPv4 */
                { "::ffff:192.0.2.1", AF_INET, 32 },
                { "::ffff:0:0/96", AF_INET, 0 },
                { "::/95", AF_INET6, 95 }, /* wider than mapped space: stays v6 */
                { "::ffff:0:0/95", 0, 0 }, /* bit 95 is set */
                { "10.0.0.1/8", 0, 0 },    /* host bits set */
                { "10.0.0.0/33", 0, 0 },
                { "2001:db8::/129", 0, 0 },
                { "10.0.0.0/", 0, 0 },
                { "10.0.0.0/08", 0, 0 }, /* leading zero */
                { "10.0.0.0/+8", 0, 0 },
                { "10.0.0.0/-1", 0, 0 },
                { "10.0.0.0/8 ", 0, 0 },
                { " 10.0.0.0/8", 0, 0 },
                { "10.0.0.0/8/8", 0, 0 },
                { "010.0.0.0/8", 0, 0 }, /* octal-looking */
                { "10.0.0/8", 0, 0 },
                { "10.0.0.256", 0, 0 },
                { "0x0a.0.0.0/8", 0, 0 },
                { "localhost", 0, 0 },
                { "fe80::1%eth0", 0, 0 }, /* no zones */
                { "", 0, 0 },
                { "/8", 0, 0 },
                { "10.0.0.0/4294967304", 0, 0 }, /* 2^32 + 8: no wrap */
                { "1111111111111111111111111111111111111111111111111111111111111111111", 0, 0 },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                NetPrefix p = { .family = -1 };
                int r = netaddr_parse_prefix(cases[i].in, &p);
                if (!cases[i].family) {
                        if (r != -EINVAL)
                                fail_msg("accepted \"%s\"", cases[i].in);
                        assert_int_equal(p.family, -1); /* not written on failure */
                        continue;
                }
                if (r != 0)
                        fail_msg("refused \"%s\"", cases[i].in);
                assert_int_equal(p.family, cases[i].family);
                assert_int_equal(p.bits, cases[i].bits);
        }
        assert_int_equal(netaddr_parse_prefix(NULL, &(NetPrefix){}), -EINVAL);
}

static void test_match(void **state) {
        static const struct {
                const char *prefix, *src;
                bool match;
        } cases[] = {
                { "10.0.0.0/8", "10.1.2.3", true },
                { "10.0.0.0/8", "11.0.0.0", false },
                { "10.0.0.0/8", "::ffff:10.1.2.3", true }, /* a dual-stack socket's view */
                { "::ffff:10.0.0.0/104", "10.9.9.9", true },
                { "10.128.0.0/9", "10.127.255.255", false },
                { "10.128.0.0/9", "10.128.0.0", true },
                { "192.0.2.7", "192.0.2.7", true },
                { "192.0.2.7", "192.0.2.8", false },
                { "0.0.0.0/0", "203.0.113.9", true },
                { "0.0.0.0/0", "2001:db8::1", false },
                { "::/0", "2001:db8::1", true },
                { "::/0", "::ffff:10.0.0.1", false }, /* all IPv6, not all sources */
                { "::/0", "10.0.0.1", false },
                { "2001:db8::/33", "2001:db8:7fff::1", true },
                { "2001:db8::/33", "2001:db8:8000::1", false },
                { "::1", "::1", true },
                { "::1", "127.0.0.1", false },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct sockaddr_storage ss;
                socklen_t len = source(cases[i].src, &ss);
                NetPrefix p;
                assert_int_equal(netaddr_parse_prefix(cases[i].prefix, &p), 0);
                if (netaddr_prefix_match(&p, (struct sockaddr *) &ss, len) != cases[i].match)
                        fail_msg("%s in %s: expected %d", cases[i].src, cases[i].prefix,
                                 cases[i].match);
        }
}

static void test_allowed(void **state) {
        struct sockaddr_storage ss;
        socklen_t len;
        NetPrefix p[2];
        struct not_inet {
                sa_family_t f;
        } un = { AF_UNIX };

        (void) state;
        /* Empty: loopback only, in both families and mapped. */
        len = source("127.0.0.2", &ss);
        assert_true(netaddr_allowed(NULL, 0, (struct sockaddr *) &ss, len));
        len = source("::ffff:127.0.0.1", &ss);
        assert_true(netaddr_allowed(NULL, 0, (struct sockaddr *) &ss, len));
        len = source("::1", &ss);
        assert_true(netaddr_allowed(NULL, 0, (struct sockaddr *) &ss, len));
        len = source("10.0.0.1", &ss);
        assert_false(netaddr_allowed(NULL, 0, (struct sockaddr *) &ss, len));
        /* A list replaces loopback rather than adding to it. */
        assert_int_equal(netaddr_parse_prefix("10.0.0.0/8", &p[0]), 0);
        assert_int_equal(netaddr_parse_prefix("2001:db8::/32", &p[1]), 0);
        assert_true(netaddr_allowed(p, 2, (struct sockaddr *) &ss, len));
        len = source("127.0.0.1", &ss);
        assert_false(netaddr_allowed(p, 2, (struct sockaddr *) &ss, len));
        len = source("2001:db8::5", &ss);
        assert_true(netaddr_allowed(p, 2, (struct sockaddr *) &ss, len));
        /* Short or foreign addresses never match. */
        assert_false(netaddr_allowed(p, 2, (struct sockaddr *) &ss, 8));
        assert_false(netaddr_allowed(NULL, 0, (struct sockaddr *) &un, sizeof(un)));
        assert_false(netaddr_allowed(NULL, 0, NULL, 0));
}

static void test_listen(void **state) {
        static const struct {
                const char *in;
                int family;
                unsigned port;
        } cases[] = {
                { "0.0.0.0:8053", AF_INET, 8053 },
                { "127.0.0.1:1", AF_INET, 1 },
                { "[::]:8053", AF_INET6, 8053 },
                { "[::1]:65535", AF_INET6, 65535 },
                { "[::ffff:127.0.0.1]:80", AF_INET6, 80 },
                { "0.0.0.0:0", 0, 0 },
                { "0.0.0.0:65536", 0, 0 },
                { "0.0.0.0:08053", 0, 0 },
                { "0.0.0.0:", 0, 0 },
                { "0.0.0.0", 0, 0 },
                { ":8053", 0, 0 },
                { "localhost:8053", 0, 0 },
                { "::1:8053", 0, 0 }, /* IPv6 needs brackets */
                { "[::1]8053", 0, 0 },
                { "[::1]:", 0, 0 },
                { "[127.0.0.1]:80", 0, 0 }, /* brackets are for IPv6 */
                { "[::1:80", 0, 0 },
                { "0.0.0.0:80 ", 0, 0 },
                { "0.0.0.0:+80", 0, 0 },
                { "0.0.0.0:8o", 0, 0 },
                { "", 0, 0 },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct sockaddr_storage ss;
                socklen_t len = 0;
                int r = netaddr_parse_listen(cases[i].in, &ss, &len);
                if (!cases[i].family) {
                        if (r != -EINVAL)
                                fail_msg("accepted \"%s\"", cases[i].in);
                        continue;
                }
                if (r != 0)
                        fail_msg("refused \"%s\"", cases[i].in);
                assert_int_equal(ss.ss_family, cases[i].family);
                assert_int_equal(ntohs(((struct sockaddr_in *) &ss)->sin_port), cases[i].port);
                assert_int_equal(len, cases[i].family == AF_INET ? sizeof(struct sockaddr_in)
                                                                 : sizeof(struct sockaddr_in6));
        }
}

static void test_format(void **state) {
        struct sockaddr_storage ss;
        socklen_t len = source("::ffff:10.0.0.1", &ss);
        char buf[64];

        (void) state;
        assert_string_equal(netaddr_format((struct sockaddr *) &ss, len, buf, sizeof(buf)),
                            "10.0.0.1");
        len = source("2001:db8::1", &ss);
        assert_string_equal(netaddr_format((struct sockaddr *) &ss, len, buf, sizeof(buf)),
                            "2001:db8::1");
        assert_string_equal(netaddr_format(NULL, 0, buf, sizeof(buf)), "?");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prefix_parse), cmocka_unit_test(test_match),
                cmocka_unit_test(test_allowed),      cmocka_unit_test(test_listen),
                cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

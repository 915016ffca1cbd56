/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/statsd-format.h"
#include "metrics/statsd.h"

#define ELEMS(x) (sizeof(x) / sizeof((x)[0]))

static void test_address(void **state) {
        static const struct {
                const char *in;
                int ret;
                int family;
                unsigned port;
        } cases[] = {
                { "127.0.0.1:8125", 0, AF_INET, 8125 },
                { "[::1]:8125", 0, AF_INET6, 8125 },
                { "[fd00:ec2::254]:1", 0, AF_INET6, 1 },
                { "10.0.0.1:65535", 0, AF_INET, 65535 },
                { "localhost:8125", -EINVAL, 0, 0 }, /* no DNS, ever */
                { "statsd.internal:8125", -EINVAL, 0, 0 },
                { "127.0.0.1", -EINVAL, 0, 0 },
                { "127.0.0.1:", -EINVAL, 0, 0 },
                { "127.0.0.1:0", -EINVAL, 0, 0 },
                { "127.0.0.1:65536", -EINVAL, 0, 0 },
                { "127.0.0.1:+80", -EINVAL, 0, 0 },
                { "127.0.0.1:80x", -EINVAL, 0, 0 },
                { "::1:8125", -EINVAL, 0, 0 }, /* IPv6 needs brackets */
                { "[::1]8125", -EINVAL, 0, 0 },
                { "[::1:8125", -EINVAL, 0, 0 },
                { "[127.0.0.1]:8125", -EINVAL, 0, 0 },
                { "1.2.3:8125", -EINVAL, 0, 0 },
                { "", -EINVAL, 0, 0 },
                { "[]:1", -EINVAL, 0, 0 },
        };
        (void) state;
        for (size_t i = 0; i < ELEMS(cases); i++) {
                struct sockaddr_storage ss;
                socklen_t len = 0;
                int r = statsd_address_parse(cases[i].in, &ss, &len);
                if (r != cases[i].ret)
                        fail_msg("%s: %d", cases[i].in, r);
                if (r < 0)
                        continue;
                assert_int_equal(ss.ss_family, cases[i].family);
                if (cases[i].family == AF_INET)
                        assert_int_equal(ntohs(((struct sockaddr_in *) &ss)->sin_port),
                                         cases[i].port);
                else
                        assert_int_equal(ntohs(((struct sockaddr_in6 *) &ss)->sin6_port),
                                         cases[i].port);
        }
        assert_int_equal(statsd_address_parse(NULL, NULL, NULL), -EINVAL);
}

static void test_prefix(void **state) {
        static const struct {
                const char *in;
                bool ok;
        } cases[] = {
                { "drover", true }, { "", true },           { "prod.web_1.drover", true },
                { "a.", false },    { ".a", false },        { "a..b", false },
                { "a-b", false },   { "a b", false },       { "a:b", false },
                { "a|b", false },   { "d\xc3\xa9", false }, { "x.y.z.0", true },
        };
        (void) state;
        for (size_t i = 0; i < ELEMS(cases); i++)
                if (statsd_prefix_valid(cases[i].in) != cases[i].ok)
                        fail_msg("%s", cases[i].in);
        char long_prefix[STATSD_PREFIX_MAX + 2];
        memset(long_prefix, 'a', sizeof(long_prefix) - 1);
        long_prefix[sizeof(long_prefix) - 1] = 0;
        assert_false(statsd_prefix_valid(long_prefix));
        long_prefix[STATSD_PREFIX_MAX] = 0;
        assert_true(statsd_prefix_valid(long_prefix));
}

static void test_value(void **state) {
        static const struct {
                double v;
                const char *out;
        } cases[] = {
                { 0, "0" },
                { -0.0, "0" },
                { 1, "1" },
                { -5, "-5" },
                { 0.25, "0.25" },
                { 0.1, "0.1" },
                { 123456789, "123456789" },
                { 1e20, "1e+20" },
                { 12.5, "12.5" },
                { 1.0 / 3, "0.3333333333333333" },
        };
        char buf[64];
        (void) state;
        for (size_t i = 0; i < ELEMS(cases); i++) {
                assert_int_equal(statsd_format_value(cases[i].v, buf, sizeof(buf)),
                                 (int) strlen(cases[i].out));
                assert_string_equal(buf, cases[i].out);
        }
        assert_int_equal(statsd_format_value(0.0 / 0.0, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(statsd_format_value(1.0 / 0.0, buf, sizeof(buf)), -EINVAL);
}

/* The one datagram a packer holds, as a string. */
static const char *only(const StatsdPacker *p) {
        static char buf[STATSD_DATAGRAM_MAX + 1];
        size_t len;
        const char *d;

        assert_int_equal(statsd_packer_n_datagrams(p), 1);
        d = statsd_packer_datagram(p, 0, &len);
        memcpy(buf, d, len);
        buf[len] = 0;
        return buf;
}

static void test_lines(void **state) {
        static const StatsdIdentity id = { .asg = "web-asg", .instance_id = "i-0abc" };
        static const StatsdIdentity per = { .asg = "web-asg",
                                            .instance_id = "i-0abc",
                                            .per_instance = true };
        static const struct {
                StatsdTags tags;
                const char *prefix;
                const StatsdIdentity *id;
                const char *check, *name;
                double value;
                StatsdType type;
                const char *out;
        } cases[] = {
                { STATSD_TAGS_NONE, "drover", &id, "web", "check.status", 2, STATSD_GAUGE,
                  "drover.check.web.status:2|g" },
                { STATSD_TAGS_NONE, "drover", &id, "web", "check.duration", 12.5, STATSD_TIMER,
                  "drover.check.web.duration:12.5|ms" },
                { STATSD_TAGS_NONE, "drover", &id, "disk /var", "check.perfdata.free", 3,
                  STATSD_GAUGE, "drover.check.disk_var.perfdata.free:3|g" },
                { STATSD_TAGS_NONE, "drover", &id, "t", "check.perfdata.offset", -5, STATSD_GAUGE,
                  "drover.check.t.perfdata.offset:0|g\n"
                  "drover.check.t.perfdata.offset:-5|g" },
                { STATSD_TAGS_NONE, "", &id, NULL, "replacement.deferred", 1, STATSD_COUNTER,
                  "replacement.deferred:1|c" },
                { STATSD_TAGS_NONE, "prod.eu", NULL, NULL, "instance.healthy", 0, STATSD_GAUGE,
                  "prod.eu.instance.healthy:0|g" },
                { STATSD_TAGS_DOGSTATSD, "drover", &id, "web", "check.status", 0, STATSD_GAUGE,
                  "drover.check.status:0|g|#check:web,autoscaling_group:web-asg" },
                { STATSD_TAGS_DOGSTATSD, "drover", &per, "web", "check.status", 0, STATSD_GAUGE,
                  "drover.check.status:0|g|#check:web,autoscaling_group:web-asg,"
                  "instance_id:i-0abc" },
                { STATSD_TAGS_DOGSTATSD, "drover", &id, "a,b|c#d", "check.perfdata.x", -0.5,
                  STATSD_GAUGE,
                  "drover.check.perfdata.x:0|g|#check:a_b_c_d,autoscaling_group:"
                  "web-asg\ndrover.check.perfdata.x:-0.5|g|#check:a_b_c_d,"
                  "autoscaling_group:web-asg" },
                { STATSD_TAGS_DOGSTATSD, "drover", NULL, NULL, "remediation.attempted", 1,
                  STATSD_COUNTER, "drover.remediation.attempted:1|c" },
                /* a timer or a counter keeps its sign: only a gauge reads it as a delta */
                { STATSD_TAGS_NONE, "d", NULL, NULL, "x", -1, STATSD_COUNTER, "d.x:-1|c" },
        };
        (void) state;
        for (size_t i = 0; i < ELEMS(cases); i++) {
                _cleanup_(statsd_packer_freep) StatsdPacker *p = NULL;
                assert_int_equal(statsd_packer_new(cases[i].prefix, cases[i].tags, &p), 0);
                assert_int_equal(statsd_packer_add(p, cases[i].id, cases[i].check, cases[i].name,
                                                   cases[i].value, cases[i].type),
                                 0);
                assert_string_equal(only(p), cases[i].out);
        }
}

static void test_refused(void **state) {
        _cleanup_(statsd_packer_freep) StatsdPacker *p = NULL;
        char big[STATSD_DATAGRAM_MAX + 10];
        (void) state;

        assert_int_equal(statsd_packer_new("bad prefix", STATSD_TAGS_NONE, &p), -EINVAL);
        assert_int_equal(statsd_packer_new("drover", _STATSD_TAGS_MAX, &p), -EINVAL);
        assert_int_equal(statsd_packer_new("drover", STATSD_TAGS_NONE, &p), 0);
        assert_int_equal(statsd_packer_add(p, NULL, "%%", "check.status", 0, STATSD_GAUGE),
                         -EINVAL);
        assert_int_equal(statsd_packer_add(p, NULL, NULL, "a..b", 0, STATSD_GAUGE), -EINVAL);
        assert_int_equal(statsd_packer_add(p, NULL, NULL, "x", 0.0 / 0.0, STATSD_GAUGE), -EINVAL);
        assert_int_equal(statsd_packer_add_perfdata(p, NULL, "web", "!!!", 1), -EINVAL);
        /* parts are capped, so a name cannot outgrow a datagram; a long one is cut */
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_int_equal(statsd_packer_add_perfdata(p, NULL, big, big, 1), 0);
        assert_int_equal(statsd_packer_n_datagrams(p), 1);
        assert_true(strlen(only(p)) < 2 * STATSD_PART_MAX + 40);
}

static void test_packing(void **state) {
        _cleanup_(statsd_packer_freep) StatsdPacker *p = NULL;
        size_t lines = 0, total = 0;
        int r = 0;
        (void) state;

        assert_int_equal(statsd_packer_new("drover", STATSD_TAGS_NONE, &p), 0);
        /* Fill to the limit with negative gauges: each pair must stay in one datagram. */
        while ((r = statsd_packer_add_perfdata(p, NULL, "web", "temperature_sensor_long_name",
                                               -123.25)) == 0)
                lines += 2;
        assert_int_equal(r, -ENOBUFS);
        assert_int_equal(statsd_packer_n_datagrams(p), STATSD_MAX_DATAGRAMS);
        for (size_t i = 0; i < statsd_packer_n_datagrams(p); i++) {
                char buf[STATSD_DATAGRAM_MAX + 1];
                size_t len, n = 0;
                const char *d = statsd_packer_datagram(p, i, &len);
                assert_true(len > 0 && len <= STATSD_DATAGRAM_MAX);
                memcpy(buf, d, len);
                buf[len] = 0;
                for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"), n++)
                        assert_string_equal(l, n % 2 ? "drover.check.web.perfdata."
                                                       "temperature_sensor_long_name:-123.25|g"
                                                     : "drover.check.web.perfdata."
                                                       "temperature_sensor_long_name:0|g");
                assert_int_equal(n % 2, 0);
                /* packed: the next pair would not have fitted */
                assert_true(len + 1 + 2 * 60 > STATSD_DATAGRAM_MAX);
                total += n;
        }
        assert_int_equal(total, lines);
        assert_null(statsd_packer_datagram(p, STATSD_MAX_DATAGRAMS, NULL));
        statsd_packer_clear(p);
        assert_int_equal(statsd_packer_n_datagrams(p), 0);
        assert_int_equal(statsd_packer_add_check(p, NULL, "web", 0, 3), 0);
        assert_string_equal(only(p), "drover.check.web.status:0|g\n"
                                     "drover.check.web.duration:3|ms");
}

/* The sender: what it packs arrives, and nobody listening costs a count, not a wait. */
static void test_sender(void **state) {
        _cleanup_(statsd_freep) Statsd *s = NULL;
        struct sockaddr_in a = { .sin_family = AF_INET };
        socklen_t alen = sizeof(a);
        char addr[64], buf[2048];
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ssize_t n;
        (void) state;

        assert_true(fd >= 0);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(a.sin_port));
        assert_int_equal(statsd_new("localhost:1", "drover", STATSD_TAGS_NONE, &s), -EINVAL);
        assert_int_equal(statsd_new(addr, "drover", STATSD_TAGS_NONE, &s), 0);
        assert_string_equal(statsd_address(s), addr);
        assert_int_equal(statsd_packer_add_check(statsd_packer(s), NULL, "web", 2, 1.5), 0);
        assert_int_equal(statsd_flush(s), 0);
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = 0;
        assert_string_equal(buf, "drover.check.web.status:2|g\ndrover.check.web.duration:1.5|ms");
        assert_int_equal(statsd_sent(s), 1);
        assert_int_equal(statsd_packer_n_datagrams(statsd_packer(s)), 0);
        /* The collector goes away: the ICMP refusal shows on a later send, as a drop. */
        close(fd);
        for (int i = 0; i < 5; i++) {
                assert_int_equal(statsd_packer_add_check(statsd_packer(s), NULL, "web", 0, 1), 0);
                (void) statsd_flush(s);
        }
        assert_true(statsd_dropped(s) >= 1);
        statsd_count_dropped(s);
        assert_true(statsd_dropped(s) >= 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_address), cmocka_unit_test(test_prefix),
                cmocka_unit_test(test_value),   cmocka_unit_test(test_lines),
                cmocka_unit_test(test_refused), cmocka_unit_test(test_packing),
                cmocka_unit_test(test_sender),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

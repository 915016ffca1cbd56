/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/metric-name.h"

static void test_table(void **state) {
        static const struct {
                const char *in;
                size_t size;
                int ret;
                const char *out;
        } cases[] = {
                { "load1", 64, 5, "load1" },
                { "disk /var", 64, 8, "disk_var" },
                { "/var/log/", 64, 7, "var_log" },
                { "a__b", 64, 3, "a_b" },
                { "1min", 64, 5, "_1min" },
                { "Tempo\xc3\xa9rature", 64, 12, "Tempo_rature" },
                { "a;b|c:d@e#f", 64, 11, "a_b_c_d_e_f" },
                { "", 64, -EINVAL, NULL },
                { "%%%", 64, -EINVAL, NULL },
                { "abcdef", 4, 3, "abc" },
                { "ab cd", 4, 2, "ab" },   /* "ab_" would end in the gap: stop before it */
                { "9", 2, -EINVAL, NULL }, /* "_9" does not fit in one byte */
                { "x", 1, -EINVAL, NULL },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];
                int r = metric_name_sanitize(cases[i].in, buf, cases[i].size);
                assert_int_equal(r, cases[i].ret);
                if (r >= 0)
                        assert_string_equal(buf, cases[i].out);
        }
        assert_int_equal(metric_name_sanitize(NULL, (char[4]){ 0 }, 4), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

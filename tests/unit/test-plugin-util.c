/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "../../plugins/mountinfo.h"
#include "../../plugins/plugin-util.h"

/* The Nagios plugin guidelines' own range examples, plus the edges. */
static void test_range_alert(void **state) {
        static const struct {
                const char *range;
                double value;
                bool alert;
        } cases[] = {
                { "10", -1, true },      { "10", 0, false },      { "10", 10, false },
                { "10", 10.01, true },   { "10:", 9.9, true },    { "10:", 10, false },
                { "10:", 1e9, false },   { "~:10", -1e9, false }, { "~:10", 10.5, true },
                { "10:20", 9, true },    { "10:20", 15, false },  { "10:20", 21, true },
                { "@10:20", 10, true },  { "@10:20", 20, true },  { "@10:20", 9, false },
                { "@10:20", 21, false }, { "0", 0, false },       { "0", 1, true },
                { "-5:-1", -3, false },  { "-5:-1", 0, true },    { "0.5:1.5", 1.5, false },
                { ":5", 3, false },      { "@~:0", -1, true },    { "@~:0", 0.1, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PluginRange r;
                assert_int_equal(plugin_range_parse(cases[i].range, &r), 0);
                assert_string_equal(r.text, cases[i].range);
                if (plugin_range_alert(&r, cases[i].value) != cases[i].alert)
                        fail_msg("range %s value %g: want alert=%d", cases[i].range, cases[i].value,
                                 cases[i].alert);
        }
}

static void test_range_invalid(void **state) {
        static const char *const bad[] = {
                "",      "@",
                "abc",   "10:5",
                "1:2:3", "nan",
                "inf",   "0x10",
                "10 ",   " 10",
                "1e",    "~",
                "@~",    "10:x",
                "~:~",   "1234567890123456789012345678901234567890123456789012345678901234567890",
        };
        PluginRange r = { .start = 42 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (plugin_range_parse(bad[i], &r) != -EINVAL)
                        fail_msg("'%s' should be invalid", bad[i]);
                assert_true(r.start == 42); /* untouched on failure */
        }
        assert_int_equal(plugin_range_parse(NULL, &r), -EINVAL);
}

static void test_thresholds(void **state) {
        PluginRange w, c;

        assert_int_equal(plugin_range_parse("10", &w), 0);
        assert_int_equal(plugin_range_parse("20", &c), 0);
        assert_int_equal(plugin_thresholds(&w, &c, 5), NAGIOS_OK);
        assert_int_equal(plugin_thresholds(&w, &c, 15), NAGIOS_WARNING);
        assert_int_equal(plugin_thresholds(&w, &c, 25), NAGIOS_CRITICAL);
        assert_int_equal(plugin_thresholds(NULL, &c, 15), NAGIOS_OK);
        assert_int_equal(plugin_thresholds(&(PluginRange){}, NULL, 1e9), NAGIOS_OK);
}

static void test_format(void **state) {
        static const struct {
                double v;
                const char *want;
        } nums[] = { { 0, "0" },
                     { 42, "42" },
                     { -3, "-3" },
                     { 0.5, "0.5" },
                     { 0.000512, "0.000512" },
                     { 83.18, "83.18" },
                     { 1e-9, "0" },
                     { 85463789568.0, "85463789568" } };
        PluginOutput o = {};
        PluginRange w;
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(nums); i++) {
                plugin_format_number(buf, sizeof(buf), nums[i].v);
                assert_string_equal(buf, nums[i].want);
        }
        assert_int_equal(plugin_range_parse("@5:20", &w), 0);
        plugin_msg(&o, ", ", "first");
        plugin_msg(&o, ", ", "second %d", 2);
        plugin_perf(&o, "a", 1.5, "s", &w, NULL, "0", NULL);
        plugin_perf(&o, "b b", 7, NULL, NULL, NULL, NULL, NULL);
        plugin_format_line(buf, sizeof(buf), "FS", NAGIOS_WARNING, o.msg, o.perf);
        assert_string_equal(buf, "FS WARNING - first, second 2 | 'a'=1.5s;@5:20;;0; 'b b'=7;;;;");
        plugin_format_line(buf, sizeof(buf), "FS", NAGIOS_UNKNOWN, "x", "");
        assert_string_equal(buf, "FS UNKNOWN - x");
}

static void test_output_truncates(void **state) {
        PluginOutput o = {};

        for (int i = 0; i < 1000; i++) {
                plugin_msg(&o, ", ", "message %d", i);
                plugin_perf(&o, "label", i, NULL, NULL, NULL, NULL, NULL);
        }
        assert_true(strlen(o.msg) < sizeof(o.msg));
        assert_true(strlen(o.perf) < sizeof(o.perf));
}

static void test_sanitize(void **state) {
        char s[] = "a|b\nc\td\x7f";

        plugin_sanitize(s);
        assert_string_equal(s, "a/b c d ");
        plugin_sanitize(NULL);
}

static void test_parse_timeout(void **state) {
        static const struct {
                const char *s;
                int r;
                unsigned secs;
                NagiosStatus st;
        } cases[] = {
                { "10", 0, 10, NAGIOS_CRITICAL },
                { "5:unknown", 0, 5, NAGIOS_UNKNOWN },
                { "5:WARNING", 0, 5, NAGIOS_WARNING },
                { "0", -EINVAL, 0, 0 },
                { "-1", -EINVAL, 0, 0 },
                { "5:bogus", -EINVAL, 0, 0 },
                { "86401", -EINVAL, 0, 0 },
                { "", -EINVAL, 0, 0 },
                { "5s", -EINVAL, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned secs = 0;
                NagiosStatus st = NAGIOS_OK;
                assert_int_equal(plugin_parse_timeout(cases[i].s, &secs, &st), cases[i].r);
                if (cases[i].r == 0) {
                        assert_int_equal(secs, cases[i].secs);
                        assert_int_equal(st, cases[i].st);
                }
        }
}

static void test_state_dir(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        assert_int_equal(plugin_state_dir("/x", &a), 0);
        assert_string_equal(a, "/x");
        assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/foo:/var/lib/bar", 1), 0);
        assert_int_equal(plugin_state_dir(NULL, &b), 0);
        assert_string_equal(b, "/var/lib/foo/plugins");
        assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
        assert_int_equal(plugin_state_dir("", &c), 0);
        assert_string_equal(c, LOCALSTATEDIR "/lib/drover/plugins");
}

static void test_mountinfo(void **state) {
        static const char table[] =
                "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
                "30 22 259:5 / /data ro,relatime - xfs /dev/nvme1n1 ro\n"
                "31 22 259:6 / /srv rw - ext4 /dev/nvme2n1 rw,errors=remount-ro\n"
                "32 22 259:7 / /mnt/with\\040space rw - ext4 /dev/x rw\n"
                "33 22 0:40 / /var rw - tmpfs tmpfs ro\n"
                "34 33 0:41 / /var rw shared:9 master:2 - tmpfs tmpfs rw,size=10k\n"
                "35 22 0:42 / /srvx rw - ext4 /dev/y rw,rox\n";
        static const struct {
                const char *path, *mountpoint, *fstype;
                bool ro;
        } cases[] = {
                { "/", "/", "ext4", false },
                { "/etc/passwd", "/", "ext4", false },
                { "/data", "/data", "xfs", true },
                { "/data/x/y", "/data", "xfs", true },
                { "/database", "/", "ext4", false }, /* a prefix is not a parent */
                { "/srv/www", "/srv", "ext4", false },
                { "/srvx", "/srvx", "ext4", false }, /* "rox" is not "ro" */
                { "/mnt/with space/f", "/mnt/with space", "ext4", false },
                { "/var/lib", "/var", "tmpfs", false }, /* the over-mount wins */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[sizeof(table)];
                MountEntry m;

                memcpy(buf, table, sizeof(table));
                assert_int_equal(mountinfo_find(buf, cases[i].path, &m), 0);
                assert_string_equal(m.mountpoint, cases[i].mountpoint);
                assert_string_equal(m.fstype, cases[i].fstype);
                if (m.ro != cases[i].ro)
                        fail_msg("%s: ro=%d", cases[i].path, m.ro);
        }
}

static void test_mountinfo_hostile(void **state) {
        static const struct {
                const char *table;
                int r;
        } cases[] = {
                { "", -ENOENT },
                { "22 1 259:1 / / rw\n", -EBADMSG },       /* no " - " */
                { "22 1 / / rw - ext4 x rw\n", -EBADMSG }, /* too few fields */
                { "22 1 259:1 / / rw - \n", -EBADMSG },    /* no fstype */
                { "22 1 259:1 / relative rw - ext4 x rw\n", -ENOENT },
                { "22 1 259:1 / /\\777 rw - ext4 x rw\n", -ENOENT }, /* no \777 byte */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *buf = strdup(cases[i].table);
                MountEntry m;

                assert_non_null(buf);
                assert_int_equal(mountinfo_find(buf, "/data", &m), cases[i].r);
                free(buf);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_range_alert),      cmocka_unit_test(test_range_invalid),
                cmocka_unit_test(test_thresholds),       cmocka_unit_test(test_format),
                cmocka_unit_test(test_output_truncates), cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_parse_timeout),    cmocka_unit_test(test_state_dir),
                cmocka_unit_test(test_mountinfo),        cmocka_unit_test(test_mountinfo_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

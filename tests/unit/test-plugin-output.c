/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>

#include "checks/nagios-output.h"
#include "checks/plugin.h"

/* One expected perfdata item; NAN = absent (null), NULL warn/crit = absent. */
typedef struct ExpectPerf {
        const char *label;
        double value;
        const char *uom;
        const char *warn, *crit;
        double min, max;
} ExpectPerf;

#define X NAN

static const struct {
        const char *in;
        const char *message;
        const char *long_output;
        size_t n_perf;
        ExpectPerf perf[4];
} cases[] = {
        { "", "", "", 0, {} },
        { "OK", "OK", "", 0, {} },
        { "  PING OK - Packet loss = 0%  \n", "PING OK - Packet loss = 0%", "", 0, {} },
        { "OK|a=1", "OK", "", 1, { { "a", 1, "", NULL, NULL, X, X } } },
        { "DISK OK | /=2643MB;5948;5958;0;5968",
          "DISK OK",
          "",
          1,
          { { "/", 2643, "MB", "5948", "5958", 0, 5968 } } },
        /* The guidelines' multi-line example: perfdata after the first '|' in long output. */
        { "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
          "/ 15272 MB (77%);\n"
          "/boot 68 MB (69%); | /boot=68MB;88;93;0;98\n"
          "/home=69357MB;253404;253409;0;253414 \n",
          "DISK OK - free space: / 3326 MB (56%);",
          "/ 15272 MB (77%);\n/boot 68 MB (69%);",
          3,
          { { "/", 2643, "MB", "5948", "5958", 0, 5968 },
            { "/boot", 68, "MB", "88", "93", 0, 98 },
            { "/home", 69357, "MB", "253404", "253409", 0, 253414 } } },
        /* Quoted labels with spaces and an escaped quote. */
        { "OK | 'in use'=5%;80;90 'it''s'=1.5s;@5:20;~:10;0;",
          "OK",
          "",
          2,
          { { "in use", 5, "%", "80", "90", X, X }, { "it's", 1.5, "s", "@5:20", "~:10", 0, X } } },
        /* U = unknown value; unknown UOM kept; negative and exponent values. */
        { "OK | a=U;;;; b=3widgets c=-2.5e3ms d=10c;;;0;100c",
          "OK",
          "",
          4,
          { { "a", X, "", NULL, NULL, X, X },
            { "b", 3, "widgets", NULL, NULL, X, X },
            { "c", -2500, "ms", NULL, NULL, X, X },
            { "d", 10, "c", NULL, NULL, 0, 100 } } },
        /* Malformed items are skipped, the rest kept. */
        { "OK | =1 a= b=abc c=1 'unterminated=2",
          "OK",
          "",
          1,
          { { "c", 1, "", NULL, NULL, X, X } } },
        { "OK | x=nan y=inf z=0x10 w=1e999 v=2",
          "OK",
          "",
          1,
          { { "v", 2, "", NULL, NULL, X, X } } },
        /* Windows line ends; long output without perfdata. */
        { "WARNING - slow\r\nline one\r\nline two\r\n",
          "WARNING - slow",
          "line one\nline two",
          0,
          {} },
        /* Only perfdata in long output. */
        { "OK\n| a=1 b=2\nc=3",
          "OK",
          "",
          3,
          { { "a", 1, "", NULL, NULL, X, X },
            { "b", 2, "", NULL, NULL, X, X },
            { "c", 3, "", NULL, NULL, X, X } } },
        /* Min/max garbage is absent, not fatal. */
        { "OK | a=1;2;3;foo;bar", "OK", "", 1, { { "a", 1, "", "2", "3", X, X } } },
        /* The first '|' ends the message; stray words in perfdata are skipped. */
        { "CRITICAL: a|b | c=1", "CRITICAL: a", "", 1, { { "c", 1, "", NULL, NULL, X, X } } },
};

static void assert_double(double want, bool has, double got) {
        if (isnan(want))
                assert_false(has);
        else {
                assert_true(has);
                assert_true(fabs(want - got) < 1e-9);
        }
}

static void assert_opt_string(const char *want, const char *got) {
        if (!want)
                assert_null(got);
        else
                assert_string_equal(want, got);
}

static void test_parse_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(nagios_output_freep) NagiosOutput *o = NULL;

                print_message("case %zu: %s\n", i, cases[i].in);
                assert_int_equal(nagios_output_parse(cases[i].in, strlen(cases[i].in), &o), 0);
                assert_string_equal(o->message, cases[i].message);
                assert_string_equal(o->long_output, cases[i].long_output);
                assert_int_equal(o->n_perfdata, cases[i].n_perf);
                for (size_t k = 0; k < cases[i].n_perf; k++) {
                        const ExpectPerf *e = &cases[i].perf[k];
                        const NagiosPerfdata *p = &o->perfdata[k];

                        assert_string_equal(p->label, e->label);
                        assert_double(e->value, p->has_value, p->value);
                        assert_string_equal(p->uom, e->uom);
                        assert_opt_string(e->warn, p->warn);
                        assert_opt_string(e->crit, p->crit);
                        assert_double(e->min, p->has_min, p->min);
                        assert_double(e->max, p->has_max, p->max);
                }
        }
}

static void test_hostile_bytes(void **state) {
        static const char in[] = "OK \xff\xfe bad\0nul \xc0\xaf | 'l\xe9'=1";
        _cleanup_(nagios_output_freep) NagiosOutput *o = NULL;

        assert_int_equal(nagios_output_parse(in, sizeof(in) - 1, &o), 0);
        assert_string_equal(o->message, "OK \\xff\\xfe bad\\x00nul \\xc0\\xaf");
        assert_int_equal(o->n_perfdata, 1);
        assert_string_equal(o->perfdata[0].label, "l\\xe9");
}

/* Terminal escapes, CR overwrites, bells, C1 and bidi overrides reach neither the
 * journal nor a terminal: message and long output come out escaped, long output keeps
 * its line breaks, and so are perfdata labels. */
static void test_control_characters_escaped(void **state) {
        static const char in[] = "OK\x1b[2J\x07 fine\rCRITICAL \xe2\x80\xae"
                                 "ti\xc2\x9b | a=1\tb=2\n"
                                 "long\tline\x1b]0;x\x07\n\xe2\x81\xa6second\r\n"
                                 "| 'c\x1b"
                                 "d'=3 'e f'=4";
        _cleanup_(nagios_output_freep) NagiosOutput *o = NULL;

        assert_int_equal(nagios_output_parse(in, sizeof(in) - 1, &o), 0);
        assert_string_equal(o->message, "OK\\x1b[2J\\x07 fine\\x0dCRITICAL \\u{202e}ti\\u{9b}");
        assert_string_equal(o->long_output, "long\\x09line\\x1b]0;x\\x07\n\\u{2066}second");
        assert_int_equal(o->n_perfdata, 4);
        assert_string_equal(o->perfdata[0].label, "a");
        assert_string_equal(o->perfdata[1].label, "b");
        assert_string_equal(o->perfdata[2].label, "c\\x1bd");
        assert_string_equal(o->perfdata[3].label, "e f");
}

static void test_caps(void **state) {
        _cleanup_(nagios_output_freep) NagiosOutput *o = NULL, *o2 = NULL;
        _cleanup_free_ char *many = NULL, *label = NULL;
        size_t n = 0;

        /* More items than the cap: exactly NAGIOS_PERFDATA_MAX kept. */
        many = malloc(16 * 1000 + 8);
        n = (size_t) sprintf(many, "OK |");
        for (int i = 0; i < 1000; i++)
                n += (size_t) sprintf(many + n, " m%d=%d", i, i);
        assert_int_equal(nagios_output_parse(many, n, &o), 0);
        assert_int_equal(o->n_perfdata, NAGIOS_PERFDATA_MAX);
        assert_string_equal(o->perfdata[NAGIOS_PERFDATA_MAX - 1].label, "m255");

        /* An over-long label is skipped. */
        label = malloc(NAGIOS_LABEL_MAX + 64);
        strcpy(label, "OK | ");
        memset(label + 5, 'a', NAGIOS_LABEL_MAX + 1);
        strcpy(label + 5 + NAGIOS_LABEL_MAX + 1, "=1 b=2");
        assert_int_equal(nagios_output_parse(label, strlen(label), &o2), 0);
        assert_int_equal(o2->n_perfdata, 1);
        assert_string_equal(o2->perfdata[0].label, "b");
}

static void test_uom_known(void **state) {
        assert_true(nagios_uom_known(""));
        assert_true(nagios_uom_known("ms"));
        assert_true(nagios_uom_known("%"));
        assert_true(nagios_uom_known("TB"));
        assert_false(nagios_uom_known("KiB"));
        assert_false(nagios_uom_known("widgets"));
}

static void test_exit_status(void **state) {
        static const struct {
                PluginExit x;
                NagiosStatus timeout_state;
                NagiosStatus want;
                const char *message; /* NULL: the plugin's own output stands */
        } t[] = {
                { { .exited = true, .code = 0 }, NAGIOS_CRITICAL, NAGIOS_OK, NULL },
                { { .exited = true, .code = 1 }, NAGIOS_CRITICAL, NAGIOS_WARNING, NULL },
                { { .exited = true, .code = 2 }, NAGIOS_CRITICAL, NAGIOS_CRITICAL, NULL },
                { { .exited = true, .code = 3 }, NAGIOS_CRITICAL, NAGIOS_UNKNOWN, NULL },
                { { .exited = true, .code = 42 },
                  NAGIOS_CRITICAL,
                  NAGIOS_UNKNOWN,
                  "plugin exited with status 42" },
                { { .exited = false, .code = SIGSEGV },
                  NAGIOS_CRITICAL,
                  NAGIOS_UNKNOWN,
                  "plugin killed by signal SIGSEGV" },
                { { .timed_out = true, .exited = false, .code = SIGTERM },
                  NAGIOS_CRITICAL,
                  NAGIOS_CRITICAL,
                  "plugin timed out after 2.5 s" },
                { { .timed_out = true, .exited = true, .code = 0 },
                  NAGIOS_WARNING,
                  NAGIOS_WARNING,
                  "plugin timed out after 2.5 s" },
                { { .exited = true, .code = 127, .exec_errno = EACCES },
                  NAGIOS_CRITICAL,
                  NAGIOS_UNKNOWN,
                  "cannot exec /x: Permission denied" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *m = NULL;
                NagiosStatus s = _NAGIOS_STATUS_MAX;
                int r = plugin_exit_status(&t[i].x, "/x", 2.5, t[i].timeout_state, &s, &m);

                assert_int_equal(r, t[i].message ? 1 : 0);
                assert_int_equal(s, t[i].want);
                assert_opt_string(t[i].message, m);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_table),
                cmocka_unit_test(test_hostile_bytes),
                cmocka_unit_test(test_control_characters_escaped),
                cmocka_unit_test(test_caps),
                cmocka_unit_test(test_uom_known),
                cmocka_unit_test(test_exit_status),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The syntax pre-scanner against libconfig itself: every "bad" case is one libconfig
 * refuses with a bare "syntax error" (checked here), and the scanner names the token,
 * the line (the opening one for an unclosed bracket) and a hint; every "good" case is
 * one libconfig accepts, and the scanner must find nothing in it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "config/config-scan.h"

const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks its scanner's string buffer on an unclosed string (fixed in 1.7);
 * that is not ours to find (fuzz-config and tests/valgrind.supp say the same). */
const char *__lsan_default_suppressions(void) {
        return "leak:strbuf_append\nleak:libconfig_yylex\nleak:libconfig_yyparse\n";
}

static bool libconfig_accepts(const char *text, const char **ret_why) {
        config_t c;
        bool ok;

        config_init(&c);
        ok = config_read_string(&c, text) == CONFIG_TRUE;
        *ret_why = ok ? NULL : config_error_text(&c);
        if (!ok && *ret_why && streq(*ret_why, "syntax error"))
                *ret_why = "syntax error";
        config_destroy(&c);
        return ok;
}

static void test_bad(void **state) {
        static const struct {
                const char *in;
                int line;
                const char *message;
        } cases[] = {
                { "checks = [ { name = \"web\"; } ];", 1,
                  "checks is a list ( ), not an array [ ]: an array holds only strings, "
                  "numbers or booleans" },
                { "policy: {\n  grace_period = 10;\n\nmetrics: { enabled = true; };\n", 1,
                  "the '{' of policy opened here is never closed" },
                { "a = 1;\nb: {\n c: {\n  d = 2;\n };\n", 2,
                  "the '{' of b opened here is never closed" },
                { "imds: { retries = ; };", 1, "retries has no value before ';'" },
                { "imds: {\n retries = 3;\n token_ttl = ; };", 3,
                  "token_ttl has no value before ';'" },
                { "plugins: { user = drover; };", 1,
                  "the value of user must be quoted: \"drover\"" },
                { "checks = ( { name = \"a\"; }\n { name = \"b\"; } );", 2,
                  "missing ',' between two elements of checks" },
                { "x = [ 1 2 ];", 1, "missing ',' between two elements of x" },
                { "x = [ \"a\", \"b\";\ny = 1;", 1,
                  "the '[' of x opened here is not closed before ';' on line 1" },
                { "x = ( 1, 2 ;", 1,
                  "the '(' of x opened here is not closed before ';' on line 1" },
                { "a: { b = 1; );", 1, "')' does not close the '{' of a opened on line 1" },
                { "a = 1; }", 1, "'}' closes nothing: no bracket is open" },
                { "policy { grace_period = 1; };", 1, "missing '=' or ':' between policy and '{'" },
                { "a 1;", 1, "missing '=' or ':' after a" },
                { "a;", 1, "a needs '=' or ':' and a value, not ';'" },
                { "a = 1;\nb", 2, "b needs '=' or ':' and a value, not the end of the file" },
                { "a = \"abc;\nb = 2;\n", 1, "the string opened with \" here is never closed" },
                { "a = 1;\n\"b\" = 2;", 2, "a setting starts with a name, not a value" },
                { "a = 1;\n= 2;", 2, "unexpected '=' where a setting name belongs" },
                { "a = 1;\nb = @;", 2, "unexpected character '@'" },
                { "a = \x01;", 1, "unexpected byte 0x01 (not text)" },
                { "a = ", 1, "a has no value before the end of the file" },
        };
        ConfigScanResult res;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                if (libconfig_accepts(cases[i].in, &why) || !streq(strempty(why), "syntax error"))
                        fail_msg("case %zu: libconfig says %s", i, why ? why : "OK");
                res = (ConfigScanResult){};
                if (config_scan(cases[i].in, strlen(cases[i].in), &res) != 1)
                        fail_msg("case %zu: the scanner found nothing", i);
                if (res.line != cases[i].line || !streq(res.message, cases[i].message))
                        fail_msg("case %zu: got %d: %s", i, res.line, res.message);
        }
}

static void test_good(void **state) {
        static const char *const cases[] = {
                "",
                "# only a comment\n// another\n/* and\n a block */\n",
                "a = 1; /* a comment that never ends, as libconfig reads it\n b = ",
                "a = 1; b = 2.5; c = -3; d = 0x1F; e = 1e-5; f = true; g = FALSE; h = 5L;",
                "a = 1 b = 2",   /* terminators are optional */
                "a = 1, b = 2;", /* ',' ends a setting too */
                "s = \"a\" \"b\"\n  \"c\";",
                "s = \"esc \\\" quote \\\\ back\";",
                "x = [ ]; y = ( ); z = { };",
                "x = [ 1, 2, 3 ]; y = ( 1, \"a\", { k = 1; }, ( 2 ), [ 3 ] );",
                "a: { b: { c = ( { d = [ \"e\" ]; } ); }; };",
                "name-with-dash = 1; under_score = 2; *star = 3;",
                "checks = ( { name = \"web\"; command = [ \"/bin/true\" ]; } );",
        };
        ConfigScanResult res;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                if (!libconfig_accepts(cases[i], &why))
                        fail_msg("case %zu: libconfig refuses it: %s", i, why);
                if (config_scan(cases[i], strlen(cases[i]), &res) != 0)
                        fail_msg("case %zu: %d: %s", i, res.line, res.message);
        }
}

/* The shipped example: everything drover.conf(5) shows reads as valid. */
static void test_packaged_example(void **state) {
        const char *top = getenv("top_srcdir");
        _cleanup_free_ char *path = NULL, *text = NULL;
        ConfigScanResult res;
        size_t len;

        assert_true(asprintf(&path, "%s/packaging/drover.conf", top ? top : "..") > 0);
        assert_int_equal(read_file_capped(path, 1 << 20, &text, &len), 0);
        if (config_scan(text, len, &res) != 0)
                fail_msg("%d: %s", res.line, res.message);
}

static void test_hostile(void **state) {
        ConfigScanResult res;
        size_t n = 100000;
        char *deep = malloc(n * 2 + 8), *nul;

        /* Nesting far deeper than the cap: an error, not a stack overflow. */
        assert_non_null(deep);
        memcpy(deep, "a = ", 4);
        memset(deep + 4, '(', n);
        deep[n + 4] = 0;
        assert_int_equal(config_scan(deep, strlen(deep), &res), 1);
        assert_string_equal(res.message, "nested deeper than 64 levels");
        free(deep);
        /* An embedded NUL is a byte like any other, not the end of the text. */
        nul = strdup("a = 1;\nb = 2;");
        nul[6] = 0;
        assert_int_equal(config_scan(nul, 13, &res), 1);
        assert_int_equal(res.line, 1);
        assert_string_equal(res.message, "unexpected byte 0x00 (not text)");
        free(nul);
        /* A name longer than a message shows its start. */
        char longname[400];
        memset(longname, 'k', sizeof(longname));
        memcpy(longname + sizeof(longname) - 3, ";\n", 3);
        assert_int_equal(config_scan(longname, strlen(longname), &res), 1);
        assert_true(strlen(res.message) < sizeof(res.message));
        assert_true(strneq(res.message, "kkkk", 4));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_packaged_example),
                cmocka_unit_test(test_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

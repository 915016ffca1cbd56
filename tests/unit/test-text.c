/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/text.h"

#define LEN(s) (sizeof(s) - 1)

/* What a hostile plugin prints, and what may reach the journal, a terminal or a log. */
static void test_hostile_table(void **state) {
        static const struct {
                const char *in;
                size_t len;
                TextEscapeFlags flags;
                const char *out;
        } cases[] = {
#define C(in, flags, out) { in, LEN(in), flags, out }
                C("OK: all fine", 0, "OK: all fine"), C("", 0, ""),
                /* C0: terminal escapes, cursor moves, bell, backspace, carriage return */
                C("\x1b[2J\x1b]0;pwned\x07", 0, "\\x1b[2J\\x1b]0;pwned\\x07"),
                C("ok\rCRITICAL", 0, "ok\\x0dCRITICAL"),
                C("abc\b\b\bxyz", 0, "abc\\x08\\x08\\x08xyz"), C("a\tb", 0, "a\\x09b"),
                C("line1\nline2", 0, "line1\\x0aline2"),
                C("line1\nline2", TEXT_ESCAPE_KEEP_NEWLINE, "line1\nline2"),
                C("a\r\n\tb", TEXT_ESCAPE_KEEP_NEWLINE, "a\\x0d\n\\x09b"),
                C("a\r\n\t\v\fb\x1b", TEXT_ESCAPE_KEEP_SPACE, "a\r\n\t\v\fb\\x1b"),
                C("\x7f", 0, "\\x7f"),
                /* NUL in the middle does not end the text */
                C("bad\0nul", 0, "bad\\x00nul"),
                /* C1 controls: U+009B is a one-byte CSI on some terminals, U+0085 NEL */
                C("x\xc2\x9b"
                  "2Jy",
                  0, "x\\u{9b}2Jy"),
                C("\xc2\x80\xc2\x85\xc2\x9f", 0, "\\u{80}\\u{85}\\u{9f}"),
                C("\xc2\xa0\xc2\xa9", 0, "\xc2\xa0\xc2\xa9"), /* NBSP and (c) are text */
                /* bidi: "Trojan Source" overrides and isolates, marks, separators */
                C("ok \xe2\x80\xae"
                  "LACITIRC",
                  0, "ok \\u{202e}LACITIRC"),
                C("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 0,
                  "\\u{202a}\\u{202b}\\u{202c}\\u{202d}"),
                C("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 0,
                  "\\u{2066}\\u{2067}\\u{2068}\\u{2069}"),
                C("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 0, "\\u{200e}\\u{200f}\\u{61c}"),
                C("a\xe2\x80\xa8"
                  "b\xe2\x80\xa9",
                  0, "a\\u{2028}b\\u{2029}"),
                /* valid UTF-8 kept: accents, CJK, emoji (4 bytes) */
                C("Temp\xc3\xa9rature \xe6\x97\xa5 \xf0\x9f\x94\xa5", 0,
                  "Temp\xc3\xa9rature \xe6\x97\xa5 \xf0\x9f\x94\xa5"),
                /* invalid UTF-8: each bad byte on its own */
                C("\xff\xfe", 0, "\\xff\\xfe"), C("\xc0\xaf", 0, "\\xc0\\xaf"), /* overlong '/' */
                C("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"),          /* overlong, 3 bytes */
                C("\xed\xa0\x80", 0, "\\xed\\xa0\\x80"),          /* surrogate U+D800 */
                C("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"), /* beyond U+10FFFF */
                C("\xe2\x80", 0, "\\xe2\\x80"),                   /* cut short at the end */
                C("\xc3"
                  "A",
                  0, "\\xc3A"),        /* lead byte then ASCII */
                C("\x80", 0, "\\x80"), /* lone continuation */
#undef C
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *out = text_escape_untrusted(cases[i].in, cases[i].len, cases[i].flags);

                assert_non_null(out);
                assert_string_equal(out, cases[i].out);
                free(out);
        }
}

/* The escaped text is safe already: a second pass (the log after the parser) is a no-op. */
static void test_idempotent(void **state) {
        static const char in[] = "\x1b[31m\xe2\x80\xae\xc2\x9b\xff\0\r\n\tend\\x1b";
        char *once, *twice;

        (void) state;
        once = text_escape_untrusted(in, LEN(in), 0);
        assert_non_null(once);
        twice = text_escape_untrusted(once, strlen(once), 0);
        assert_non_null(twice);
        assert_string_equal(once, twice);
        free(once);
        free(twice);
}

/* The worst case fits the documented growth exactly. */
static void test_worst_case_growth(void **state) {
        char in[256], *out;

        (void) state;
        memset(in, 0x01, sizeof(in));
        out = text_escape_untrusted(in, sizeof(in), 0);
        assert_non_null(out);
        assert_int_equal(strlen(out), sizeof(in) * TEXT_ESCAPE_MAX_GROWTH);
        free(out);
        assert_null(text_escape_untrusted(in, (size_t) -1, 0));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hostile_table),
                cmocka_unit_test(test_idempotent),
                cmocka_unit_test(test_worst_case_growth),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * `drover status` text, golden: one JSON fixture per situation of the table in
 * drover(8) (tests/unit/status-golden, written by make-fixtures.py), rendered at a fixed
 * clock and compared byte for byte with NAME.txt. DROVER_UPDATE_GOLDEN=1 rewrites them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "cli/status-text.h"

#define NOW ((time_t) 1796181000)

static const struct {
        const char *name;
        StatusClass want;
        const char *headline; /* its start: the situation table's words */
} situations[] = {
        { "off-ec2", STATUS_CLASS_UNKNOWN, "UNKNOWN: IMDS unreachable" },
        { "starting", STATUS_CLASS_UNKNOWN, "UNKNOWN: starting" },
        { "identity-invalid", STATUS_CLASS_UNKNOWN,
          "UNKNOWN: IMDS answered, but the identity document is invalid (instanceId)" },
        { "no-verdict-yet", STATUS_CLASS_UNKNOWN, "UNKNOWN: no verdict yet" },
        { "healthy-not-asked-yet", STATUS_CLASS_OK, "HEALTHY: 1 of 1" },
        { "healthy-in-group", STATUS_CLASS_OK, "HEALTHY: 1 of 1" },
        { "healthy-check-not-run", STATUS_CLASS_OK,
          "HEALTHY: 1 of 2 liveness checks passing, 1 not run yet" },
        { "degraded", STATUS_CLASS_WARNING, "DEGRADED: dependency failing: db" },
        { "remediating", STATUS_CLASS_WARNING, "REMEDIATING: failing: web" },
        { "held-back-grace-period", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-no-fresh-answer", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-standalone-not-allowed", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-process-suspended", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-paused-tag", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-standby-or-detached", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-not-in-service", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-storm-brake", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-fleet-guard", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-action-none", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "held-back-dry-run", STATUS_CLASS_WARNING, "HELD BACK: " },
        { "replacing", STATUS_CLASS_CRITICAL, "UNHEALTHY: failing: web; replacing" },
        { "requested", STATUS_CLASS_CRITICAL, "UNHEALTHY: failing: web; replacement requested" },
        { "confirmed", STATUS_CLASS_CRITICAL, "UNHEALTHY: replacement confirmed by the group" },
        { "group-replacing", STATUS_CLASS_CRITICAL, "UNHEALTHY: being replaced" },
        { "terminated-by-group", STATUS_CLASS_CRITICAL, "REPLACED: the group let go" },
        { "reload-failed", STATUS_CLASS_OK, "HEALTHY" },
        { "cut-output", STATUS_CLASS_OK, "HEALTHY" },
        { "spot-notice", STATUS_CLASS_OK, "HEALTHY" },
        { "daemon-error", STATUS_CLASS_UNKNOWN, "UNKNOWN: the daemon answered" },
};

static char *golden_path(const char *name, const char *ext) {
        const char *top = getenv("top_srcdir");
        char *p;

        assert_true(asprintf(&p, "%s/tests/unit/status-golden/%s.%s", top ? top : "..", name, ext) >
                    0);
        return p;
}

static void test_golden(void **state) {
        bool update = !isempty(getenv("DROVER_UPDATE_GOLDEN"));

        for (size_t i = 0; i < ELEMENTSOF(situations); i++) {
                _cleanup_free_ char *jp = golden_path(situations[i].name, "json");
                _cleanup_free_ char *tp = golden_path(situations[i].name, "txt");
                _cleanup_free_ char *got = NULL, *want = NULL;
                char head[640];
                size_t got_len = 0, want_len = 0;
                json_error_t err;
                json_t *doc = json_load_file(jp, 0, &err);
                FILE *f;

                if (!doc)
                        fail_msg("%s: %s", jp, err.text);
                assert_non_null(f = open_memstream(&got, &got_len));
                assert_int_equal(status_text_print(f, doc, NOW, false), situations[i].want);
                fclose(f);
                assert_int_equal(status_text_headline(doc, NOW, head, sizeof(head)),
                                 situations[i].want);
                if (!strneq(head, situations[i].headline, strlen(situations[i].headline)))
                        fail_msg("%s: headline '%s'", situations[i].name, head);
                /* The screen starts with the headline, and no line contradicts it. */
                assert_true(strneq(got, head, strlen(head)));
                json_decref(doc);
                if (update) {
                        assert_non_null(f = fopen(tp, "we"));
                        fputs(got, f);
                        fclose(f);
                        continue;
                }
                if (read_file_capped(tp, 1 << 20, &want, &want_len) < 0)
                        fail_msg("%s: missing (DROVER_UPDATE_GOLDEN=1 writes it)", tp);
                if (!streq(got, want))
                        fail_msg("%s differs; got:\n%s", tp, got);
        }
}

static void test_colour(void **state) {
        _cleanup_free_ char *jp = golden_path("held-back-fleet-guard", "json");
        _cleanup_free_ char *got = NULL;
        size_t len = 0;
        json_t *doc = json_load_file(jp, 0, NULL);
        FILE *f = open_memstream(&got, &len);

        assert_non_null(doc);
        status_text_print(f, doc, NOW, true);
        fclose(f);
        assert_true(strneq(got, "\033[33mHELD BACK\033[0m: unhealthy", 29));
        assert_non_null(strstr(got, "\033[31mfailed  \033[0m"));
        json_decref(doc);
}

static void test_cut(void **state) {
        static const struct {
                const char *in;
                size_t max;
                bool mark;
                const char *want;
        } cases[] = {
                { "hello", 10, false, "hello" },
                { "hello", 5, false, "hello" },
                { "hello world", 8, false, "hello..." },
                { "hello", 10, true, "hello..." },
                { "a\x01"
                  "b\nc",
                  10, false, "a?b?c" },
                { "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4, false, "\xc3\xa9..." },
                { "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 3, false,
                  "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac" },
                { "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 3, false,
                  "..." },
                { "", 5, false, "" },
        };
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                status_text_cut(cases[i].in, cases[i].max, cases[i].mark, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        /* A buffer smaller than the width: still whole characters, still marked. */
        char small[8];
        status_text_cut("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 50, false, small,
                        sizeof(small));
        assert_string_equal(small, "\xc3\xa9...");
}

static void test_span_when(void **state) {
        static const struct {
                double s;
                const char *want;
        } spans[] = {
                { -3, "0 s" },         { 0, "0 s" },
                { 59.9, "59 s" },      { 60, "1 min" },
                { 3599, "59 min" },    { 3600, "1 h 0 min" },
                { 3900, "1 h 5 min" }, { 86400 * 2 + 3 * 3600 + 5, "2 d 3 h" },
        };
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(spans); i++) {
                status_text_span(spans[i].s, buf, sizeof(buf));
                assert_string_equal(buf, spans[i].want);
        }
        status_text_when(NOW - 180, NOW, buf, sizeof(buf));
        assert_string_equal(buf, "2026-12-02T03:07:00Z (3 min ago)");
        status_text_when(NOW + 40, NOW, buf, sizeof(buf));
        assert_string_equal(buf, "2026-12-02T03:10:40Z (in 40 s)");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_colour),
                cmocka_unit_test(test_cut),
                cmocka_unit_test(test_span_when),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

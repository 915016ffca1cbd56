/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>

#include "checks/check.h"

#define O NAGIOS_OK
#define W NAGIOS_WARNING
#define C NAGIOS_CRITICAL
#define U NAGIOS_UNKNOWN
#define P CHECK_STATE_PENDING
#define S CHECK_STATE_PASSING
#define F CHECK_STATE_FAILED

/* A run of results and the hard state after each one (and whether it changed). */
static const struct {
        const char *what;
        unsigned rise, fall;
        size_t n;
        NagiosStatus in[8];
        CheckState want[8];
} cases[] = {
        { "pending until rise successes", 2, 3, 3, { O, O, O }, { P, S, S } },
        { "pending until fall failures", 2, 3, 4, { C, C, C, C }, { P, P, F, F } },
        { "warning counts as success", 2, 3, 2, { W, O }, { P, S } },
        { "unknown holds the counters", 2, 3, 5, { C, U, C, U, C }, { P, P, P, P, F } },
        { "unknown never passes", 1, 1, 4, { U, U, U, U }, { P, P, P, P } },
        { "a success resets failures", 2, 2, 6, { O, O, C, O, C, C }, { P, S, S, S, S, F } },
        { "a failure resets successes", 2, 2, 7, { C, C, O, C, O, O, O }, { P, F, F, F, F, S, S } },
        { "rise/fall 1 flip at once", 1, 1, 4, { O, C, O, W }, { S, F, S, S } },
        { "rise/fall 0 act as 1", 0, 0, 2, { C, O }, { F, S } },
        { "unknown between successes", 3, 2, 5, { O, U, O, U, O }, { P, P, P, P, S } },
};

static void test_state_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(check_freep) Check *c = check_new("t", cases[i].rise, cases[i].fall);
                CheckState prev = P;

                print_message("case: %s\n", cases[i].what);
                assert_non_null(c);
                for (size_t k = 0; k < cases[i].n; k++) {
                        int r = check_record(c, cases[i].in[k], "out", 1000, 100 + k);

                        assert_int_equal(check_state(c), cases[i].want[k]);
                        assert_int_equal(r, cases[i].want[k] != prev);
                        if (r)
                                assert_int_equal(check_last_change(c), 100 + k);
                        prev = cases[i].want[k];
                }
        }
}

static void test_soft(void **state) {
        _cleanup_(check_freep) Check *c = check_new("web", 2, 2);

        assert_false(check_is_soft(c));
        assert_false(check_has_result(c));
        assert_int_equal(check_last_status(c), U);
        assert_string_equal(check_last_output(c), "");
        assert_int_equal(check_record(c, U, NULL, 1, 10), 0);
        assert_false(check_is_soft(c)); /* pending, no evidence either way */
        assert_int_equal(check_record(c, O, "fine", 1, 11), 0);
        assert_true(check_is_soft(c)); /* pending, heading for passing */
        assert_int_equal(check_record(c, O, "fine", 1, 12), 1);
        assert_false(check_is_soft(c));
        assert_int_equal(check_record(c, C, "down", 7, 13), 0);
        assert_true(check_is_soft(c)); /* passing, one failure */
        assert_int_equal(check_state(c), S);
        assert_int_equal(check_record(c, U, "?", 7, 14), 0);
        assert_true(check_is_soft(c)); /* unknown holds: still one failure */
        assert_int_equal(check_counters(c).failures, 1);
        assert_int_equal(check_record(c, C, "down", 9, 15), 1);
        assert_false(check_is_soft(c));
        assert_int_equal(check_state(c), F);
        assert_int_equal(check_last_status(c), C);
        assert_string_equal(check_last_output(c), "down");
        assert_int_equal(check_last_duration(c), 9);
        assert_int_equal(check_last_run(c), 15);
        assert_int_equal(check_last_change(c), 15);
        assert_string_equal(check_name(c), "web");
}

static void test_thresholds_change(void **state) {
        _cleanup_(check_freep) Check *c = check_new("t", 5, 5);

        for (int i = 0; i < 3; i++)
                assert_int_equal(check_record(c, C, "", 0, (uint64_t) i), 0);
        /* A reload lowers fall: the next failure applies the new threshold. */
        check_set_thresholds(c, 5, 2);
        assert_int_equal(check_record(c, C, "", 0, 9), 1);
        assert_int_equal(check_state(c), F);
}

static void test_outcome_and_names(void **state) {
        assert_int_equal(check_outcome(O), CHECK_OUTCOME_SUCCESS);
        assert_int_equal(check_outcome(W), CHECK_OUTCOME_SUCCESS);
        assert_int_equal(check_outcome(C), CHECK_OUTCOME_FAILURE);
        assert_int_equal(check_outcome(U), CHECK_OUTCOME_NEITHER);
        assert_int_equal(check_outcome((NagiosStatus) 42), CHECK_OUTCOME_NEITHER);
        assert_string_equal(check_state_to_string(P), "pending");
        assert_string_equal(check_state_to_string(S), "passing");
        assert_string_equal(check_state_to_string(F), "failed");
}

static void test_counters_saturate(void **state) {
        CheckCounters k = { .state = S, .successes = UINT_MAX - 1 };

        assert_false(check_counters_apply(&k, O, 2, 2));
        assert_false(check_counters_apply(&k, O, 2, 2));
        assert_int_equal(k.successes, UINT_MAX);
}

/* What /metrics reads: results by status, and the last perfdata with values only. */
static void test_results_and_perfdata(void **state) {
        _cleanup_(check_freep) Check *c = check_new("web", 1, 1);
        NagiosPerfdata pd[] = {
                { .label = (char *) "time", .has_value = true, .value = 12, .uom = (char *) "ms" },
                { .label = (char *) "gone", .has_value = false, .uom = (char *) "" },
                { .label = (char *) "/", .has_value = true, .value = 40, .uom = (char *) "%" },
        };
        const CheckPerfdata *p;
        size_t n = 99;

        (void) state;
        assert_non_null(c);
        p = check_last_perfdata(c, &n);
        assert_int_equal(n, 0);
        for (int i = 0; i < 3; i++)
                assert_true(check_record(c, O, "", 1, 1 + (uint64_t) i) >= 0);
        assert_true(check_record(c, C, "", 1, 9) >= 0);
        assert_int_equal(check_results(c, O), 3);
        assert_int_equal(check_results(c, C), 1);
        assert_int_equal(check_results(c, W), 0);
        assert_int_equal(check_results(c, (NagiosStatus) 42), 0);
        assert_int_equal(check_set_perfdata(c, pd, 3), 0);
        p = check_last_perfdata(c, &n);
        assert_int_equal(n, 2); /* "U" values are not kept */
        assert_string_equal(p[0].label, "time");
        assert_true(p[0].value == 12);
        assert_string_equal(p[0].uom, "ms");
        assert_string_equal(p[1].label, "/");
        assert_int_equal(check_set_perfdata(c, NULL, 0), 0); /* a result without any */
        (void) check_last_perfdata(c, &n);
        assert_int_equal(n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_table),
                cmocka_unit_test(test_soft),
                cmocka_unit_test(test_thresholds_change),
                cmocka_unit_test(test_outcome_and_names),
                cmocka_unit_test(test_counters_saturate),
                cmocka_unit_test(test_results_and_perfdata),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

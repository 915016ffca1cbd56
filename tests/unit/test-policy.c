/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>

#include "heal/policy.h"

/* The decide table starts each case from a base scenario and overrides a few fields. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define S USEC_PER_SEC

/* ---- budget arithmetic ---- */

static void test_budget_resolve(void **state) {
        static const struct {
                bool percent;
                unsigned value, desired, want;
        } cases[] = {
                /* counts stand as they are, whatever the desired capacity */
                { false, 0, 20, 0 },
                { false, 2, 20, 2 },
                { false, 5, 0, 5 },
                { false, 1, 1, 1 },
                { false, 30, 3, 30 },
                /* 10%: floor, never below 1 */
                { true, 10, 0, 1 },
                { true, 10, 1, 1 },
                { true, 10, 3, 1 },
                { true, 10, 10, 1 },
                { true, 10, 19, 1 },
                { true, 10, 20, 2 },
                { true, 10, 100, 10 },
                /* 0% means never, like a count of 0 */
                { true, 0, 0, 0 },
                { true, 0, 3, 0 },
                { true, 0, 100, 0 },
                /* 100% */
                { true, 100, 0, 1 },
                { true, 100, 1, 1 },
                { true, 100, 3, 3 },
                { true, 100, 10, 10 },
                { true, 100, 20, 20 },
                { true, 100, 100, 100 },
                /* 25% (the storm brake's default) and other rounding */
                { true, 25, 3, 1 },
                { true, 25, 10, 2 },
                { true, 25, 20, 5 },
                { true, 25, 100, 25 },
                { true, 34, 3, 1 },
                { true, 67, 3, 2 },
                { true, 50, 1, 1 },
                { true, 200, 10, 20 },
                /* no overflow */
                { true, UINT_MAX, UINT_MAX, UINT_MAX },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Budget b = { .percent = cases[i].percent, .value = cases[i].value };
                unsigned got = policy_budget_resolve(b, cases[i].desired);

                if (got != cases[i].want)
                        fail_msg("case %zu: %u%s of %u: got %u, want %u", i, cases[i].value,
                                 cases[i].percent ? "%" : "", cases[i].desired, got, cases[i].want);
        }
}

/* ---- lifecycle names ---- */

static void test_lifecycle(void **state) {
        static const struct {
                const char *s;
                PolicyLifecycle want;
        } cases[] = {
                { "Pending", POLICY_LIFECYCLE_PENDING },
                { "Pending:Wait", POLICY_LIFECYCLE_PENDING },
                { "Pending:Proceed", POLICY_LIFECYCLE_PENDING },
                { "Quarantined", POLICY_LIFECYCLE_QUARANTINED },
                { "InService", POLICY_LIFECYCLE_IN_SERVICE },
                { "Terminating", POLICY_LIFECYCLE_TERMINATING },
                { "Terminating:Wait", POLICY_LIFECYCLE_TERMINATING },
                { "Terminating:Proceed", POLICY_LIFECYCLE_TERMINATING },
                { "Terminated", POLICY_LIFECYCLE_TERMINATING },
                { "Detaching", POLICY_LIFECYCLE_DETACHED },
                { "Detached", POLICY_LIFECYCLE_DETACHED },
                { "EnteringStandby", POLICY_LIFECYCLE_STANDBY },
                { "Standby", POLICY_LIFECYCLE_STANDBY },
                { "Warmed:Running", POLICY_LIFECYCLE_WARMED },
                { "Warmed:Pending:Wait", POLICY_LIFECYCLE_WARMED },
                { "inservice", POLICY_LIFECYCLE_UNKNOWN },
                { "InService ", POLICY_LIFECYCLE_UNKNOWN },
                { "PendingX", POLICY_LIFECYCLE_UNKNOWN },
                { "", POLICY_LIFECYCLE_UNKNOWN },
                { NULL, POLICY_LIFECYCLE_UNKNOWN },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (policy_lifecycle_from_string(cases[i].s) != cases[i].want)
                        fail_msg("case %zu: '%s'", i, strempty(cases[i].s));
        assert_string_equal(policy_lifecycle_to_string(POLICY_LIFECYCLE_IN_SERVICE), "InService");
        assert_string_equal(policy_lifecycle_to_string(_POLICY_LIFECYCLE_MAX), "unknown");
}

static void test_names(void **state) {
        assert_string_equal(policy_reason_to_string(POLICY_REASON_FLEET_GUARD), "fleet-guard");
        assert_string_equal(policy_reason_to_string(POLICY_REASON_STORM_BRAKE), "storm-brake");
        assert_string_equal(policy_reason_to_string(_POLICY_REASON_MAX), "unknown");
        assert_string_equal(policy_action_to_string(POLICY_ACTION_REPORT_ONLY), "report-only");
        assert_string_equal(policy_action_to_string(_POLICY_ACTION_MAX), "unknown");
        assert_string_equal(policy_verdict_to_string(POLICY_VERDICT_DEGRADED), "degraded");
        assert_string_equal(policy_verdict_to_string(_POLICY_VERDICT_MAX), "unknown");
        assert_string_equal(policy_remedy_to_string(POLICY_REMEDY_SETTLING), "settling");
        assert_string_equal(policy_remedy_to_string(_POLICY_REMEDY_MAX), "unknown");
        for (unsigned r = 0; r < _POLICY_REASON_MAX; r++)
                assert_string_not_equal(policy_reason_to_string(r), "unknown");
}

/* ---- jitter and grace ---- */

static void test_jitter(void **state) {
        static const struct {
                double jitter, unit;
                uint64_t want;
        } cases[] = {
                { 5.0, 0.0, 0 },  { 5.0, 0.5, 2500000 }, { 5.0, 0.999, 4995000 },
                { 5.0, 1.0, 0 },  { 5.0, -0.1, 0 },      { 0.0, 0.7, 0 },
                { -3.0, 0.5, 0 }, { 0.2, 0.5, 100000 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (policy_jitter_usec(cases[i].jitter, cases[i].unit) != cases[i].want)
                        fail_msg("case %zu", i);
}

static void test_grace_left(void **state) {
        PolicyConfig cfg = { .grace_period = 300 };

        assert_int_equal(policy_grace_left_usec(&cfg, 0), 300 * S);
        assert_int_equal(policy_grace_left_usec(&cfg, 100 * S), 200 * S);
        assert_int_equal(policy_grace_left_usec(&cfg, 300 * S), 0);
        assert_int_equal(policy_grace_left_usec(&cfg, 5000 * S), 0);
        cfg.grace_period = 0;
        assert_int_equal(policy_grace_left_usec(&cfg, 0), 0);
        cfg.grace_period = -1;
        assert_int_equal(policy_grace_left_usec(&cfg, 0), 0);
}

/* ---- remediation ladder ---- */

static void test_settle(void **state) {
        Remediation r = { .attempts = 2, .window = 3600, .backoff = 30, .delay = 10, .settle = 0 };
        PolicyRemedyInput in;

        /* settle = 0: interval * fall */
        assert_int_equal(policy_settle_usec(&r, 10.0, 3), 30 * S);
        r.settle = 45.5;
        assert_int_equal(policy_settle_usec(&r, 10.0, 3), 45500000);
        assert_int_equal(policy_settle_usec(NULL, 2.0, 5), 10 * S);
        policy_remedy_input_from_config(&r, 10.0, 3, &in);
        assert_int_equal(in.attempts, 2);
        assert_true(in.window == 3600 && in.backoff == 30 && in.delay == 10);
        assert_int_equal(in.settle_usec, 45500000);
        assert_int_equal(in.n_history, 0);
}

/* a history in seconds and its length */
#define H(...) ((const uint64_t[]){ __VA_ARGS__ }), ELEMENTSOF(((const uint64_t[]){ __VA_ARGS__ }))
#define NOH NULL, 0

static void test_remedy_step(void **state) {
        /* not static: the history arrays are compound literals */
        const struct {
                const char *name;
                unsigned attempts;
                double window, backoff, delay, settle;
                const uint64_t *history; /* seconds */
                size_t n_history;
                uint64_t failed, now; /* seconds */
                double unit;
                PolicyRemedy want;
                uint64_t want_at; /* seconds */
                unsigned want_counted;
                bool want_exhausted;
        } cases[] = {
                { "first attempt at once", 2, 3600, 30, 10, 60, NOH, 1000, 1000, 0.0,
                  POLICY_REMEDY_DUE, 1000, 0, false },
                { "first attempt after the random delay", 2, 3600, 30, 10, 60, NOH, 1000, 1000, 0.5,
                  POLICY_REMEDY_WAIT, 1005, 0, false },
                { "random delay over", 2, 3600, 30, 10, 60, NOH, 1000, 1005, 0.5, POLICY_REMEDY_DUE,
                  1005, 0, false },
                { "unit 1.0 is out of range: no delay", 2, 3600, 30, 10, 60, NOH, 1000, 1000, 1.0,
                  POLICY_REMEDY_DUE, 1000, 0, false },
                { "negative unit: no delay", 2, 3600, 30, 10, 60, NOH, 1000, 1000, -0.1,
                  POLICY_REMEDY_DUE, 1000, 0, false },
                { "settling after an attempt", 2, 3600, 30, 10, 60, H(1000), 1000, 1030, 0.0,
                  POLICY_REMEDY_SETTLING, 1060, 1, false },
                { "settle over, backoff shorter: due", 2, 3600, 30, 10, 60, H(1000), 1000, 1060,
                  0.0, POLICY_REMEDY_DUE, 1060, 1, false },
                { "settle over, backoff longer: wait", 2, 3600, 100, 10, 60, H(1000), 1000, 1060,
                  0.0, POLICY_REMEDY_WAIT, 1100, 1, false },
                { "delay added after backoff", 2, 3600, 30, 10, 60, H(1000), 1000, 1060, 0.5,
                  POLICY_REMEDY_WAIT, 1065, 1, false },
                { "settling after the last attempt", 2, 3600, 30, 10, 60, H(1000, 1100), 1000, 1120,
                  0.0, POLICY_REMEDY_SETTLING, 1160, 2, true },
                { "exhausted until the oldest leaves", 2, 3600, 30, 10, 60, H(1000, 1100), 1000,
                  1200, 0.0, POLICY_REMEDY_EXHAUSTED, 4600, 2, true },
                { "just before the oldest leaves", 2, 3600, 30, 10, 60, H(1000, 1100), 1000, 4599,
                  0.0, POLICY_REMEDY_EXHAUSTED, 4600, 2, true },
                { "oldest left the window exactly", 2, 3600, 30, 10, 60, H(1000, 1100), 1000, 4600,
                  0.0, POLICY_REMEDY_DUE, 1160, 1, false },
                { "all left the window", 2, 3600, 30, 10, 60, H(1000, 1100), 1000, 9000, 0.0,
                  POLICY_REMEDY_DUE, 1160, 0, false },
                { "new failure later than backoff", 2, 3600, 30, 10, 60, H(1000), 2000, 2000, 0.0,
                  POLICY_REMEDY_DUE, 2000, 1, false },
                { "window 0: attempts count forever", 2, 0, 30, 10, 60, H(1000, 1100), 1000, 900000,
                  0.0, POLICY_REMEDY_EXHAUSTED, 0, 2, true },
                { "attempts 0: exhausted from the start", 0, 3600, 30, 10, 60, NOH, 1000, 1000, 0.0,
                  POLICY_REMEDY_EXHAUSTED, 0, 0, true },
                { "fewer attempts after a reload", 1, 3600, 30, 10, 60, H(1000, 1100, 1200), 1000,
                  1300, 0.0, POLICY_REMEDY_EXHAUSTED, 4800, 3, true },
                { "exponential backoff: third attempt", 5, 3600, 30, 0, 0, H(1000, 1030, 1090),
                  1000, 1100, 0.0, POLICY_REMEDY_WAIT, 1210, 3, false },
                { "exponential backoff: due", 5, 3600, 30, 0, 0, H(1000, 1030, 1090), 1000, 1210,
                  0.0, POLICY_REMEDY_DUE, 1210, 3, false },
                { "backoff capped at the window", 5, 100, 1000, 0, 0, H(1000), 1000, 1001, 0.0,
                  POLICY_REMEDY_WAIT, 1100, 1, false },
                { "no backoff, no settle", 3, 3600, 0, 0, 0, H(1000), 1000, 1000, 0.0,
                  POLICY_REMEDY_DUE, 1000, 1, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t hist[8];
                PolicyRemedyInput in = {
                        .attempts = cases[i].attempts,
                        .window = cases[i].window,
                        .backoff = cases[i].backoff,
                        .delay = cases[i].delay,
                        .settle_usec = (uint64_t) (cases[i].settle * S),
                        .history = hist,
                        .n_history = cases[i].n_history,
                        .failed_usec = cases[i].failed * S,
                        .unit = cases[i].unit,
                };
                PolicyRemedyStep st;

                for (size_t j = 0; j < cases[i].n_history; j++)
                        hist[j] = cases[i].history[j] * S;
                assert_int_equal(policy_remedy_step(&in, cases[i].now * S, &st), 0);
                if (st.remedy != cases[i].want || st.at_usec != cases[i].want_at * S ||
                    st.counted != cases[i].want_counted || st.exhausted != cases[i].want_exhausted)
                        fail_msg("%s: got %s at %llu counted %u exhausted %d", cases[i].name,
                                 policy_remedy_to_string(st.remedy),
                                 (unsigned long long) st.at_usec, st.counted, st.exhausted);
        }
}

static void test_remedy_invalid(void **state) {
        static const uint64_t unsorted[] = { 2000 * S, 1000 * S };
        static const uint64_t future[] = { 5000 * S };
        static const uint64_t one[] = { 1000 * S };
        PolicyRemedyInput in = {
                .attempts = 2, .window = 3600, .history = unsorted, .n_history = 2
        };
        PolicyRemedyStep st = { .remedy = POLICY_REMEDY_NONE, .at_usec = 42 };

        assert_int_equal(policy_remedy_step(&in, 3000 * S, &st), -EINVAL);
        in.history = future;
        in.n_history = 1;
        assert_int_equal(policy_remedy_step(&in, 3000 * S, &st), -EINVAL);
        in.history = NULL;
        assert_int_equal(policy_remedy_step(&in, 3000 * S, &st), -EINVAL);
        assert_int_equal(policy_remedy_step(NULL, 3000 * S, &st), -EINVAL);
        /* ret untouched on error */
        assert_int_equal(st.at_usec, 42);

        /* huge durations saturate instead of wrapping */
        in = (PolicyRemedyInput){ .attempts = 1,
                                  .window = 1e30,
                                  .backoff = 1e30,
                                  .delay = 1e30,
                                  .settle_usec = 0,
                                  .history = one,
                                  .n_history = 1 };
        assert_int_equal(policy_remedy_step(&in, 2000 * S, &st), 0);
        assert_int_equal(st.remedy, POLICY_REMEDY_EXHAUSTED);
        assert_true(st.at_usec > 1000000 * S);
        in.attempts = 2;
        in.unit = 0.5;
        assert_int_equal(policy_remedy_step(&in, 2000 * S, &st), 0);
        assert_int_equal(st.remedy, POLICY_REMEDY_WAIT);
        assert_true(st.at_usec > 1000000 * S);
}

/* ---- verdict ---- */

typedef struct VCheck {
        CheckRole role;
        PolicyCheckState state;
        PolicyRemedy remedy;
} VCheck;

#define L CHECK_ROLE_LIVENESS
#define D CHECK_ROLE_DEPENDENCY
#define R CHECK_ROLE_READINESS
#define PASS POLICY_CHECK_PASSING
#define FAIL POLICY_CHECK_FAILED
#define PEND POLICY_CHECK_PENDING

static void test_verdict(void **state) {
        static const struct {
                const char *name;
                VCheck checks[4];
                size_t n;
                PolicyVerdictKind want;
                bool ready;
                size_t n_failing, n_remediating, n_deps;
        } cases[] = {
                { "no checks", {}, 0, POLICY_VERDICT_HEALTHY, true, 0, 0, 0 },
                { "liveness passing",
                  { { L, PASS, POLICY_REMEDY_NONE } },
                  1,
                  POLICY_VERDICT_HEALTHY,
                  true,
                  0,
                  0,
                  0 },
                { "liveness pending never counts",
                  { { L, PEND, POLICY_REMEDY_NONE } },
                  1,
                  POLICY_VERDICT_HEALTHY,
                  true,
                  0,
                  0,
                  0 },
                { "liveness failed, no remediation",
                  { { L, FAIL, POLICY_REMEDY_NONE } },
                  1,
                  POLICY_VERDICT_UNHEALTHY,
                  true,
                  1,
                  0,
                  0 },
                { "liveness failed, exhausted",
                  { { L, FAIL, POLICY_REMEDY_EXHAUSTED } },
                  1,
                  POLICY_VERDICT_UNHEALTHY,
                  true,
                  1,
                  0,
                  0 },
                { "liveness failed, remediation due",
                  { { L, FAIL, POLICY_REMEDY_DUE } },
                  1,
                  POLICY_VERDICT_REMEDIATING,
                  true,
                  0,
                  1,
                  0 },
                { "liveness failed, waiting",
                  { { L, FAIL, POLICY_REMEDY_WAIT } },
                  1,
                  POLICY_VERDICT_REMEDIATING,
                  true,
                  0,
                  1,
                  0 },
                { "liveness failed, settling",
                  { { L, FAIL, POLICY_REMEDY_SETTLING } },
                  1,
                  POLICY_VERDICT_REMEDIATING,
                  true,
                  0,
                  1,
                  0 },
                { "liveness recovered after exhausting",
                  { { L, PASS, POLICY_REMEDY_EXHAUSTED } },
                  1,
                  POLICY_VERDICT_HEALTHY,
                  true,
                  0,
                  0,
                  0 },
                { "dependency failed only",
                  { { L, PASS, 0 }, { D, FAIL, POLICY_REMEDY_NONE } },
                  2,
                  POLICY_VERDICT_DEGRADED,
                  true,
                  0,
                  0,
                  1 },
                { "dependency pending",
                  { { D, PEND, POLICY_REMEDY_NONE } },
                  1,
                  POLICY_VERDICT_HEALTHY,
                  true,
                  0,
                  0,
                  0 },
                { "dependency and liveness failed",
                  { { D, FAIL, 0 }, { L, FAIL, POLICY_REMEDY_NONE } },
                  2,
                  POLICY_VERDICT_UNHEALTHY,
                  true,
                  1,
                  0,
                  1 },
                { "dependency failed, liveness remediating",
                  { { D, FAIL, 0 }, { L, FAIL, POLICY_REMEDY_WAIT } },
                  2,
                  POLICY_VERDICT_REMEDIATING,
                  true,
                  0,
                  1,
                  1 },
                { "readiness failed",
                  { { R, FAIL, 0 } },
                  1,
                  POLICY_VERDICT_HEALTHY,
                  false,
                  0,
                  0,
                  0 },
                { "readiness pending",
                  { { R, PEND, 0 } },
                  1,
                  POLICY_VERDICT_HEALTHY,
                  false,
                  0,
                  0,
                  0 },
                { "readiness passing",
                  { { R, PASS, 0 }, { L, PASS, 0 } },
                  2,
                  POLICY_VERDICT_HEALTHY,
                  true,
                  0,
                  0,
                  0 },
                { "one counts, one settles",
                  { { L, FAIL, POLICY_REMEDY_EXHAUSTED },
                    { L, FAIL, POLICY_REMEDY_SETTLING },
                    { R, PASS, 0 } },
                  3,
                  POLICY_VERDICT_UNHEALTHY,
                  true,
                  1,
                  1,
                  0 },
                { "unknown role treated as liveness",
                  { { (CheckRole) 99, FAIL, 0 } },
                  1,
                  POLICY_VERDICT_UNHEALTHY,
                  true,
                  1,
                  0,
                  0 },
                { "unknown remedy counts",
                  { { L, FAIL, (PolicyRemedy) 99 } },
                  1,
                  POLICY_VERDICT_UNHEALTHY,
                  true,
                  1,
                  0,
                  0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PolicyCheckInput in[4];
                _cleanup_(policy_verdict_done) PolicyVerdict v = {};

                for (size_t j = 0; j < cases[i].n; j++)
                        in[j] = (PolicyCheckInput){ .name = "c",
                                                    .role = cases[i].checks[j].role,
                                                    .state = cases[i].checks[j].state,
                                                    .remedy = cases[i].checks[j].remedy };
                assert_int_equal(policy_verdict(cases[i].n ? in : NULL, cases[i].n, &v), 0);
                if (v.verdict != cases[i].want || v.ready != cases[i].ready ||
                    v.n_failing != cases[i].n_failing ||
                    v.n_remediating != cases[i].n_remediating ||
                    v.n_dependencies != cases[i].n_deps)
                        fail_msg("%s: got %s ready=%d %zu/%zu/%zu", cases[i].name,
                                 policy_verdict_to_string(v.verdict), v.ready, v.n_failing,
                                 v.n_remediating, v.n_dependencies);
                assert_true((v.n_failing == 0) == (v.failing == NULL));
                assert_true((v.n_remediating == 0) == (v.remediating == NULL));
                assert_true((v.n_dependencies == 0) == (v.dependencies == NULL));
        }
}

static void test_verdict_names(void **state) {
        const PolicyCheckInput in[] = {
                { "web", L, FAIL, POLICY_REMEDY_NONE },
                { "db", D, FAIL, POLICY_REMEDY_NONE },
                { "cache", L, FAIL, POLICY_REMEDY_SETTLING },
                { "api", L, FAIL, POLICY_REMEDY_EXHAUSTED },
                { "disk", L, PASS, POLICY_REMEDY_NONE },
        };
        _cleanup_(policy_verdict_done) PolicyVerdict v = {};
        _cleanup_free_ char *names = NULL, *none = NULL;

        assert_int_equal(policy_verdict(in, ELEMENTSOF(in), &v), 0);
        assert_int_equal(v.verdict, POLICY_VERDICT_UNHEALTHY);
        assert_int_equal(v.n_failing, 2);
        assert_int_equal(v.failing[0], 0);
        assert_int_equal(v.failing[1], 3);
        assert_int_equal(v.remediating[0], 2);
        assert_int_equal(v.dependencies[0], 1);
        names = policy_verdict_failing_names(&v, in, ",");
        assert_string_equal(names, "web,api");
        policy_verdict_done(&v);
        assert_null(v.failing);
        assert_int_equal(policy_verdict(in + 4, 1, &v), 0);
        none = policy_verdict_failing_names(&v, in + 4, ",");
        assert_string_equal(none, "");
        assert_int_equal(policy_verdict(NULL, 3, &v), -EINVAL);
        policy_verdict_done(NULL);
}

/* ---- replacement decision ---- */

typedef struct DecideCase {
        const char *name;
        /* the situation */
        PolicyVerdictKind verdict;
        PolicyRequest request;
        ReplaceAction requested;
        uint64_t now, age; /* seconds since boot; age of the group's answer */
        bool answered, future;
        PolicyMembership membership;
        const char *lifecycle; /* this instance */
        bool self_unhealthy, self_unlisted;
        unsigned desired, n_instances, n_bad; /* n_instances includes this one when listed */
        const char *suspended, *tag_key, *tag_value;
        unsigned recent;
        /* the config */
        ReplaceAction action, standalone;
        bool dry_run;
        Budget max_unhealthy, max_rph;
        double grace;
        /* what must come out */
        PolicyAction want;
        PolicyReason reason;
        ReplaceAction replace;
        bool confirmed;
        const char *message; /* exact, when set */
} DecideCase;

#define BASE                                                                                       \
        .verdict = POLICY_VERDICT_UNHEALTHY, .request = POLICY_REQUEST_NONE, .now = 1000,          \
        .age = 1, .answered = true, .membership = POLICY_MEMBERSHIP_IN_GROUP,                      \
        .lifecycle = "InService", .desired = 20, .n_instances = 20, .tag_key = "team",             \
        .tag_value = "web", .action = REPLACE_SET_UNHEALTHY, .standalone = REPLACE_NONE,           \
        .max_unhealthy = { true, 10 }, .max_rph = { true, 25 }, .grace = 300,                      \
        .want = POLICY_ACTION_REPLACE, .reason = POLICY_REASON_REPLACE,                            \
        .replace = REPLACE_SET_UNHEALTHY

#define NONE_(r) .want = POLICY_ACTION_NONE, .reason = (r), .replace = REPLACE_NONE
#define WAIT_(r) .want = POLICY_ACTION_WAIT, .reason = (r), .replace = REPLACE_NONE
#define REPORT_(r) .want = POLICY_ACTION_REPORT_ONLY, .reason = (r), .replace = REPLACE_NONE
#define COUNT(n)                                                                                   \
        { false, (n) }
#define PCT(n)                                                                                     \
        { true, (n) }

static const DecideCase decide_cases[] = {
        { BASE, .name = "sick, fresh, in budget: replace", .message = "replacing: set-unhealthy" },
        /* 1. verdict */
        { BASE, .name = "healthy", .verdict = POLICY_VERDICT_HEALTHY,
          NONE_(POLICY_REASON_HEALTHY) },
        { BASE, .name = "dependency only", .verdict = POLICY_VERDICT_DEGRADED,
          NONE_(POLICY_REASON_DEGRADED),
          .message = "only dependency checks failing: not a reason to replace" },
        { BASE, .name = "remediating", .verdict = POLICY_VERDICT_REMEDIATING,
          NONE_(POLICY_REASON_REMEDIATING) },
        { BASE, .name = "healthy beats grace", .verdict = POLICY_VERDICT_HEALTHY, .now = 10,
          NONE_(POLICY_REASON_HEALTHY) },
        /* 2. already requested */
        { BASE, .name = "confirmed", .request = POLICY_REQUEST_CONFIRMED,
          NONE_(POLICY_REASON_ALREADY_REQUESTED) },
        { BASE, .name = "confirmed, no answer needed", .request = POLICY_REQUEST_CONFIRMED,
          .answered = false, NONE_(POLICY_REASON_ALREADY_REQUESTED) },
        /* 3. grace period */
        { BASE, .name = "grace", .now = 100, WAIT_(POLICY_REASON_GRACE_PERIOD),
          .message = "grace period: 200 s left" },
        { BASE, .name = "grace rounds up", .now = 299, WAIT_(POLICY_REASON_GRACE_PERIOD),
          .message = "grace period: 1 s left" },
        { BASE, .name = "grace just over", .now = 300 },
        { BASE, .name = "no grace", .grace = 0, .now = 5 },
        { BASE, .name = "grace before no answer", .now = 100, .answered = false,
          WAIT_(POLICY_REASON_GRACE_PERIOD) },
        /* 4. freshness */
        { BASE, .name = "never answered", .answered = false, WAIT_(POLICY_REASON_NO_FRESH_ANSWER),
          .message = "no successful answer from Auto Scaling yet" },
        { BASE, .name = "stale answer", .age = 31, WAIT_(POLICY_REASON_NO_FRESH_ANSWER),
          .message = "the group's answer is too old to act on" },
        { BASE, .name = "answer exactly at the limit", .age = 30 },
        { BASE, .name = "answer from the future", .future = true,
          WAIT_(POLICY_REASON_NO_FRESH_ANSWER) },
        { BASE, .name = "membership unknown", .membership = POLICY_MEMBERSHIP_UNKNOWN,
          WAIT_(POLICY_REASON_NO_FRESH_ANSWER), .message = "group membership unknown" },
        { BASE, .name = "membership garbage", .membership = (PolicyMembership) 7,
          WAIT_(POLICY_REASON_NO_FRESH_ANSWER) },
        /* 5. the group already has it */
        { BASE, .name = "group shows Unhealthy", .self_unhealthy = true,
          NONE_(POLICY_REASON_GROUP_REPLACING),
          .message = "group web-asg shows this instance Unhealthy" },
        { BASE, .name = "our request shows", .self_unhealthy = true,
          .request = POLICY_REQUEST_PENDING, NONE_(POLICY_REASON_ALREADY_REQUESTED),
          .confirmed = true },
        { BASE, .name = "our request: Terminating", .lifecycle = "Terminating:Wait",
          .request = POLICY_REQUEST_PENDING, NONE_(POLICY_REASON_ALREADY_REQUESTED),
          .confirmed = true, .message = "group web-asg shows this instance Terminating" },
        { BASE, .name = "Terminating on its own", .lifecycle = "Terminating",
          NONE_(POLICY_REASON_GROUP_REPLACING) },
        { BASE, .name = "pending request not taken: ask again", .request = POLICY_REQUEST_PENDING },
        /* 7-8. operators' brake */
        { BASE, .name = "ReplaceUnhealthy suspended", .suspended = "ReplaceUnhealthy",
          REPORT_(POLICY_REASON_PROCESS_SUSPENDED),
          .message = "ReplaceUnhealthy process suspended on group web-asg" },
        { BASE, .name = "Terminate suspended", .suspended = "Terminate",
          REPORT_(POLICY_REASON_PROCESS_SUSPENDED) },
        { BASE, .name = "suspended, odd case", .suspended = "replaceunhealthy",
          REPORT_(POLICY_REASON_PROCESS_SUSPENDED) },
        { BASE, .name = "other process suspended", .suspended = "AZRebalance" },
        { BASE, .name = "suspended under dry_run", .suspended = "Terminate", .dry_run = true,
          REPORT_(POLICY_REASON_PROCESS_SUSPENDED) },
        { BASE, .name = "paused", .tag_key = "drover:paused", .tag_value = "true",
          REPORT_(POLICY_REASON_PAUSED_TAG),
          .message = "group web-asg is tagged drover:paused=true" },
        { BASE, .name = "paused TRUE", .tag_key = "drover:paused", .tag_value = " TRUE\n",
          REPORT_(POLICY_REASON_PAUSED_TAG) },
        { BASE, .name = "paused, key case", .tag_key = "Drover:Paused", .tag_value = "True",
          REPORT_(POLICY_REASON_PAUSED_TAG) },
        { BASE, .name = "paused=false", .tag_key = "drover:paused", .tag_value = "false" },
        { BASE, .name = "paused=yes is not true", .tag_key = "drover:paused", .tag_value = "yes" },
        { BASE, .name = "paused=truex", .tag_key = "drover:paused", .tag_value = "truex" },
        { BASE, .name = "paused empty", .tag_key = "drover:paused", .tag_value = "" },
        { BASE, .name = "suspended before paused", .suspended = "Terminate",
          .tag_key = "drover:paused", .tag_value = "true",
          REPORT_(POLICY_REASON_PROCESS_SUSPENDED) },
        { BASE, .name = "paused beats standby", .lifecycle = "Standby", .tag_key = "drover:paused",
          .tag_value = "true", REPORT_(POLICY_REASON_PAUSED_TAG) },
        /* 9-10. lifecycle */
        { BASE, .name = "standby", .lifecycle = "Standby",
          REPORT_(POLICY_REASON_STANDBY_OR_DETACHED),
          .message = "instance is Standby: never replaced" },
        { BASE, .name = "entering standby", .lifecycle = "EnteringStandby",
          REPORT_(POLICY_REASON_STANDBY_OR_DETACHED) },
        { BASE, .name = "detaching", .lifecycle = "Detaching",
          REPORT_(POLICY_REASON_STANDBY_OR_DETACHED) },
        { BASE, .name = "detached", .lifecycle = "Detached",
          REPORT_(POLICY_REASON_STANDBY_OR_DETACHED) },
        { BASE, .name = "standby beats storm", .lifecycle = "Standby", .recent = 99,
          REPORT_(POLICY_REASON_STANDBY_OR_DETACHED) },
        { BASE, .name = "pending", .lifecycle = "Pending", WAIT_(POLICY_REASON_NOT_IN_SERVICE),
          .message = "lifecycle state Pending, not InService" },
        { BASE, .name = "pending:wait", .lifecycle = "Pending:Wait",
          WAIT_(POLICY_REASON_NOT_IN_SERVICE) },
        { BASE, .name = "warmed", .lifecycle = "Warmed:Running",
          WAIT_(POLICY_REASON_NOT_IN_SERVICE) },
        { BASE, .name = "quarantined", .lifecycle = "Quarantined",
          WAIT_(POLICY_REASON_NOT_IN_SERVICE) },
        { BASE, .name = "unknown lifecycle", .lifecycle = "Levitating",
          WAIT_(POLICY_REASON_NOT_IN_SERVICE) },
        /* 11. storm brake */
        { BASE, .name = "storm at the limit", .max_rph = COUNT(5), .recent = 5,
          REPORT_(POLICY_REASON_STORM_BRAKE),
          .message = "storm brake: 5 health replacements in the last hour, limit 5" },
        { BASE, .name = "storm below the limit", .max_rph = COUNT(5), .recent = 4 },
        { BASE, .name = "storm 25% of 20 = 5", .recent = 5, REPORT_(POLICY_REASON_STORM_BRAKE) },
        { BASE, .name = "storm 25% of 20, 4 done", .recent = 4 },
        { BASE, .name = "storm 25% of 3 = 1", .desired = 3, .n_instances = 3, .recent = 1,
          REPORT_(POLICY_REASON_STORM_BRAKE) },
        { BASE, .name = "storm 25% of 3, none done", .desired = 3, .n_instances = 3 },
        { BASE, .name = "storm limit 0: never", .max_rph = COUNT(0),
          REPORT_(POLICY_REASON_STORM_BRAKE) },
        { BASE, .name = "storm under dry_run", .dry_run = true, .recent = 50,
          REPORT_(POLICY_REASON_STORM_BRAKE) },
        /* 12. fleet guard */
        { BASE, .name = "guard: 2 of 20, budget 2", .n_bad = 1 },
        { BASE, .name = "guard: 3 of 20, budget 2", .n_bad = 2, WAIT_(POLICY_REASON_FLEET_GUARD),
          .message = "fleet guard: 3 of 20 not InService+Healthy, budget 2" },
        { BASE, .name = "guard: count 0 never", .max_unhealthy = COUNT(0),
          WAIT_(POLICY_REASON_FLEET_GUARD),
          .message = "fleet guard: 1 of 20 not InService+Healthy, budget 0" },
        { BASE, .name = "guard: 0% never", .max_unhealthy = PCT(0),
          WAIT_(POLICY_REASON_FLEET_GUARD) },
        { BASE, .name = "guard: desired 1", .desired = 1, .n_instances = 1 },
        { BASE, .name = "guard: desired 1, replacement pending", .desired = 1, .n_instances = 2,
          .n_bad = 1, WAIT_(POLICY_REASON_FLEET_GUARD),
          .message = "fleet guard: 2 of 2 not InService+Healthy, budget 1" },
        { BASE, .name = "guard: desired 0", .desired = 0, .n_instances = 1 },
        { BASE, .name = "guard: desired 3, one bad", .desired = 3, .n_instances = 3, .n_bad = 1,
          WAIT_(POLICY_REASON_FLEET_GUARD) },
        { BASE, .name = "guard: desired 10, 10%", .desired = 10, .n_instances = 10 },
        { BASE, .name = "guard: desired 10, 10%, one bad", .desired = 10, .n_instances = 10,
          .n_bad = 1, WAIT_(POLICY_REASON_FLEET_GUARD) },
        { BASE, .name = "guard: desired 100, 9 bad", .desired = 100, .n_instances = 100, .n_bad = 9,
          .max_rph = PCT(100) },
        { BASE, .name = "guard: desired 100, 10 bad", .desired = 100, .n_instances = 100,
          .n_bad = 10, WAIT_(POLICY_REASON_FLEET_GUARD),
          .message = "fleet guard: 11 of 100 not InService+Healthy, budget 10" },
        { BASE, .name = "guard: 100% of 10, 9 bad", .desired = 10, .n_instances = 10, .n_bad = 9,
          .max_unhealthy = PCT(100) },
        { BASE, .name = "guard: count 3, 2 bad", .max_unhealthy = COUNT(3), .n_bad = 2 },
        { BASE, .name = "guard: count 3, 3 bad", .max_unhealthy = COUNT(3), .n_bad = 3,
          WAIT_(POLICY_REASON_FLEET_GUARD) },
        { BASE, .name = "guard: self not listed", .self_unlisted = true, .n_instances = 20,
          .n_bad = 1 },
        { BASE, .name = "guard: self not listed, over", .self_unlisted = true, .n_instances = 20,
          .n_bad = 2, WAIT_(POLICY_REASON_FLEET_GUARD),
          .message = "fleet guard: 3 of 21 not InService+Healthy, budget 2" },
        { BASE, .name = "guard before action none", .action = REPLACE_NONE, .n_bad = 5,
          WAIT_(POLICY_REASON_FLEET_GUARD) },
        /* 13-15. action */
        { BASE, .name = "action none", .action = REPLACE_NONE, REPORT_(POLICY_REASON_ACTION_NONE),
          .message = "policy.action = none: reporting only" },
        { BASE, .name = "dry_run", .dry_run = true, .want = POLICY_ACTION_REPORT_ONLY,
          .reason = POLICY_REASON_DRY_RUN, .message = "dry_run: would set-unhealthy" },
        { BASE, .name = "terminate-in-asg", .action = REPLACE_TERMINATE_IN_ASG,
          .replace = REPLACE_TERMINATE_IN_ASG, .message = "replacing: terminate-in-asg" },
        { BASE, .name = "terminate", .action = REPLACE_TERMINATE, .replace = REPLACE_TERMINATE },
        { BASE, .name = "garbage action reports only", .action = (ReplaceAction) 9,
          REPORT_(POLICY_REASON_ACTION_NONE) },
        /* 6. standalone */
        { BASE, .name = "standalone, not allowed", .membership = POLICY_MEMBERSHIP_STANDALONE,
          REPORT_(POLICY_REASON_STANDALONE_NOT_ALLOWED),
          .message = "not in an Auto Scaling group and standalone_action = none" },
        { BASE, .name = "standalone, terminate", .membership = POLICY_MEMBERSHIP_STANDALONE,
          .standalone = REPLACE_TERMINATE, .replace = REPLACE_TERMINATE,
          .message = "replacing: terminate" },
        { BASE, .name = "standalone ignores group fields",
          .membership = POLICY_MEMBERSHIP_STANDALONE, .standalone = REPLACE_TERMINATE,
          .lifecycle = NULL, .self_unhealthy = true, .n_bad = 19, .replace = REPLACE_TERMINATE },
        { BASE, .name = "standalone, dry_run", .membership = POLICY_MEMBERSHIP_STANDALONE,
          .standalone = REPLACE_TERMINATE, .dry_run = true, .want = POLICY_ACTION_REPORT_ONLY,
          .reason = POLICY_REASON_DRY_RUN, .replace = REPLACE_TERMINATE,
          .message = "dry_run: would terminate" },
        { BASE, .name = "standalone, action none", .membership = POLICY_MEMBERSHIP_STANDALONE,
          .standalone = REPLACE_TERMINATE, .action = REPLACE_NONE,
          REPORT_(POLICY_REASON_ACTION_NONE) },
        { BASE, .name = "left the group after our request",
          .membership = POLICY_MEMBERSHIP_STANDALONE, .request = POLICY_REQUEST_PENDING,
          .requested = REPLACE_SET_UNHEALTHY, NONE_(POLICY_REASON_ALREADY_REQUESTED),
          .confirmed = true },
        { BASE, .name = "left the group after terminate-in-asg",
          .membership = POLICY_MEMBERSHIP_STANDALONE, .request = POLICY_REQUEST_PENDING,
          .requested = REPLACE_TERMINATE_IN_ASG, NONE_(POLICY_REASON_ALREADY_REQUESTED),
          .confirmed = true },
        { BASE, .name = "standalone terminate pending: ask again",
          .membership = POLICY_MEMBERSHIP_STANDALONE, .request = POLICY_REQUEST_PENDING,
          .requested = REPLACE_TERMINATE, .standalone = REPLACE_TERMINATE,
          .replace = REPLACE_TERMINATE },
        { BASE, .name = "standalone in grace", .membership = POLICY_MEMBERSHIP_STANDALONE,
          .standalone = REPLACE_TERMINATE, .now = 10, WAIT_(POLICY_REASON_GRACE_PERIOD) },
        { BASE, .name = "standalone unanswered", .membership = POLICY_MEMBERSHIP_STANDALONE,
          .standalone = REPLACE_TERMINATE, .answered = false,
          WAIT_(POLICY_REASON_NO_FRESH_ANSWER) },
};

/* Builds the view for a case; ids and storage live in the caller's arrays. */
static void build_input(const DecideCase *c, PolicyGroupInstance *inst, char (*ids)[16],
                        const char **susp, PolicyTag *tag, PolicyConfig *cfg,
                        PolicyReplaceInput *in) {
        size_t n = 0;

        if (!c->self_unlisted)
                inst[n++] =
                        (PolicyGroupInstance){ "i-self", policy_lifecycle_from_string(c->lifecycle),
                                               !c->self_unhealthy };
        /* the others: n_bad of them not InService+Healthy, in both ways that can happen */
        for (unsigned k = 0; n < c->n_instances; k++, n++) {
                bool bad = k < c->n_bad;

                snprintf(ids[n], sizeof(ids[n]), "i-%u", k);
                inst[n] = (PolicyGroupInstance){ ids[n],
                                                 bad && k % 2 ? POLICY_LIFECYCLE_PENDING
                                                              : POLICY_LIFECYCLE_IN_SERVICE,
                                                 !(bad && k % 2 == 0) };
        }
        *susp = c->suspended;
        *tag = (PolicyTag){ c->tag_key, c->tag_value };
        *cfg = (PolicyConfig){
                .grace_period = c->grace,
                .action = c->action,
                .dry_run = c->dry_run,
                .max_unhealthy = c->max_unhealthy,
                .max_replacements_per_hour = c->max_rph,
                .jitter = 5,
                .standalone_action = c->standalone,
                .confirm_interval = 60,
        };
        *in = (PolicyReplaceInput) {
                .verdict = c->verdict,
                .instance_id = "i-self",
                .max_age_usec = 30 * S,
                .request = c->request,
                .requested = c->requested,
                .group = {
                        .answered = c->answered,
                        .answered_usec = c->future ? (c->now + 1) * S : (c->now - c->age) * S,
                        .membership = c->membership,
                        .group_name = "web-asg", .desired_capacity = c->desired,
                        .lifecycle = policy_lifecycle_from_string(c->lifecycle),
                        .healthy = !c->self_unhealthy,
                        .instances = inst, .n_instances = n,
                        .suspended = susp, .n_suspended = c->suspended ? 1 : 0,
                        .tags = tag, .n_tags = 1,
                        .health_replacements_last_hour = c->recent,
                },
        };
}

static void test_decide(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(decide_cases); i++) {
                const DecideCase *c = &decide_cases[i];
                PolicyGroupInstance inst[128];
                char ids[128][16];
                const char *susp;
                PolicyTag tag;
                PolicyConfig cfg;
                PolicyReplaceInput in;
                PolicyDecision d;

                assert_true(c->n_instances < ELEMENTSOF(inst));
                build_input(c, inst, ids, &susp, &tag, &cfg, &in);
                policy_decide(&cfg, &in, c->now * S, &d);
                if (d.action != c->want || d.reason != c->reason || d.replace != c->replace ||
                    d.confirmed != c->confirmed)
                        fail_msg("%s: got %s/%s replace=%d confirmed=%d: %s", c->name,
                                 policy_action_to_string(d.action),
                                 policy_reason_to_string(d.reason), d.replace, d.confirmed,
                                 d.message);
                if (c->message && !streq(c->message, d.message))
                        fail_msg("%s: message '%s', want '%s'", c->name, d.message, c->message);
                assert_true(d.message[0] != 0);
        }
}

static void test_decide_retry_and_numbers(void **state) {
        DecideCase c = { BASE, .name = "numbers" };
        PolicyGroupInstance inst[32];
        char ids[32][16];
        const char *susp;
        PolicyTag tag;
        PolicyConfig cfg;
        PolicyReplaceInput in;
        PolicyDecision d;

        /* grace: when to look again */
        c.now = 120;
        build_input(&c, inst, ids, &susp, &tag, &cfg, &in);
        policy_decide(&cfg, &in, c.now * S, &d);
        assert_int_equal(d.reason, POLICY_REASON_GRACE_PERIOD);
        assert_int_equal(d.retry_usec, 300 * S);

        /* the guard's numbers for STATUS= and metrics */
        c.now = 1000;
        c.n_bad = 4;
        build_input(&c, inst, ids, &susp, &tag, &cfg, &in);
        policy_decide(&cfg, &in, c.now * S, &d);
        assert_int_equal(d.reason, POLICY_REASON_FLEET_GUARD);
        assert_int_equal(d.count, 5);
        assert_int_equal(d.total, 20);
        assert_int_equal(d.limit, 2);
        assert_int_equal(d.retry_usec, 0);

        /* the storm brake's numbers */
        c.n_bad = 0;
        c.recent = 7;
        build_input(&c, inst, ids, &susp, &tag, &cfg, &in);
        policy_decide(&cfg, &in, c.now * S, &d);
        assert_int_equal(d.reason, POLICY_REASON_STORM_BRAKE);
        assert_int_equal(d.count, 7);
        assert_int_equal(d.limit, 5);

        /* NULL arrays with zero counts are fine; self then counts alone */
        c.recent = 0;
        build_input(&c, inst, ids, &susp, &tag, &cfg, &in);
        in.group.instances = NULL;
        in.group.n_instances = 0;
        in.group.suspended = NULL;
        in.group.tags = NULL;
        in.group.n_tags = 0;
        in.group.group_name = NULL;
        policy_decide(&cfg, &in, c.now * S, &d);
        assert_int_equal(d.action, POLICY_ACTION_REPLACE);

        /* a hostile group name cannot overflow the message */
        {
                char big[1024];

                memset(big, 'x', sizeof(big) - 1);
                big[sizeof(big) - 1] = 0;
                in.group.group_name = big;
                in.group.suspended = (const char *const[]){ "Terminate" };
                in.group.n_suspended = 1;
                policy_decide(&cfg, &in, c.now * S, &d);
                assert_int_equal(d.reason, POLICY_REASON_PROCESS_SUSPENDED);
                assert_int_equal(strlen(d.message), sizeof(d.message) - 1);
        }
}

/* ---- invariants over random situations: no path to REPLACE around a gate ---- */

static uint64_t xorshift(uint64_t *x) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

#define PICK(x, n) ((unsigned) (xorshift(x) % (n)))

static void test_decide_invariants(void **state) {
        static const char *const lifecycles[] = { "InService", "Pending",     "Standby",
                                                  "Detached",  "Terminating", "Warmed:Running",
                                                  NULL };
        static const char *const suspended[] = { NULL, "AZRebalance", "ReplaceUnhealthy",
                                                 "Terminate" };
        static const char *const tags[] = { "false", "true", "TRUE", "yes" };
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        unsigned replaced = 0;

        for (unsigned i = 0; i < 50000; i++) {
                DecideCase c = {
                        .verdict = PICK(&x, _POLICY_VERDICT_MAX),
                        .request = PICK(&x, _POLICY_REQUEST_MAX),
                        .now = 200 + PICK(&x, 300),
                        .age = PICK(&x, 40),
                        .answered = PICK(&x, 8) != 0,
                        .future = PICK(&x, 16) == 0,
                        .membership = PICK(&x, _POLICY_MEMBERSHIP_MAX),
                        .lifecycle = lifecycles[PICK(&x, ELEMENTSOF(lifecycles))],
                        .self_unhealthy = PICK(&x, 4) == 0,
                        .self_unlisted = PICK(&x, 4) == 0,
                        .desired = PICK(&x, 40),
                        .n_instances = 1 + PICK(&x, 40),
                        .suspended = suspended[PICK(&x, ELEMENTSOF(suspended))],
                        .tag_key = "drover:paused",
                        .tag_value = tags[PICK(&x, ELEMENTSOF(tags))],
                        .recent = PICK(&x, 12),
                        .action = PICK(&x, _REPLACE_ACTION_MAX),
                        .standalone = PICK(&x, 2) ? REPLACE_TERMINATE : REPLACE_NONE,
                        .dry_run = PICK(&x, 4) == 0,
                        .max_unhealthy = { PICK(&x, 2), PICK(&x, 30) },
                        .max_rph = { PICK(&x, 2), PICK(&x, 30) },
                        .grace = 300,
                };
                PolicyGroupInstance inst[64];
                char ids[64][16];
                const char *susp;
                PolicyTag tag;
                PolicyConfig cfg;
                PolicyReplaceInput in;
                PolicyDecision d;
                unsigned count, total;

                c.n_bad = PICK(&x, c.n_instances + 1);
                build_input(&c, inst, ids, &susp, &tag, &cfg, &in);
                policy_decide(&cfg, &in, c.now * S, &d);
                assert_true(strlen(d.message) > 0 && strlen(d.message) < sizeof(d.message));
                assert_true(d.action < _POLICY_ACTION_MAX && d.reason < _POLICY_REASON_MAX);
                if (d.action != POLICY_ACTION_REPLACE)
                        continue;

                replaced++;
                assert_int_equal(c.verdict, POLICY_VERDICT_UNHEALTHY);
                assert_int_not_equal(c.request, POLICY_REQUEST_CONFIRMED);
                assert_true(c.now >= 300 && c.answered && !c.future && c.age <= 30);
                assert_false(c.dry_run);
                assert_int_not_equal(c.action, REPLACE_NONE);
                assert_int_equal(d.reason, POLICY_REASON_REPLACE);
                if (c.membership == POLICY_MEMBERSHIP_STANDALONE) {
                        assert_int_equal(c.standalone, REPLACE_TERMINATE);
                        assert_int_equal(d.replace, REPLACE_TERMINATE);
                        continue;
                }
                assert_int_equal(c.membership, POLICY_MEMBERSHIP_IN_GROUP);
                assert_int_equal(d.replace, c.action);
                assert_string_equal(c.lifecycle, "InService");
                assert_false(c.self_unhealthy);
                assert_true(!c.suspended || streq(c.suspended, "AZRebalance"));
                assert_true(streq(c.tag_value, "false") || streq(c.tag_value, "yes"));
                assert_true(c.recent < policy_budget_resolve(c.max_rph, c.desired));
                total = c.n_instances + (c.self_unlisted ? 1 : 0);
                count = MIN(c.n_bad, total - 1) + 1; /* the others that are bad, and this one */
                assert_true(count <= total);
                assert_true(count <= policy_budget_resolve(c.max_unhealthy, c.desired));
        }
        /* the generator must reach the REPLACE branch, or the test proves nothing */
        assert_true(replaced > 100);
}

/* A wall clock that steps back between two attempts must not skip the rest of the ladder:
 * the history stays in order (it used to reach policy_remedy_step out of order, which then
 * failed, and the check counted as exhausted at once). */
static void test_remedy_history_clock_step(void **state) {
        const uint64_t now = 5000 * USEC_PER_SEC;
        /* Attempt 2 was recorded after the clock stepped back by 100 s. */
        const time_t attempts[] = { 100000, 99950, 99990 };
        uint64_t h[3];
        PolicyRemedyInput in = { .attempts = 5,
                                 .window = 3600,
                                 .backoff = 10,
                                 .delay = 0,
                                 .settle_usec = 0,
                                 .failed_usec = 0 };
        PolicyRemedyStep step;
        (void) state;

        policy_remedy_history(attempts, 3, 100010, now, h);
        assert_int_equal(h[0], now - 10 * USEC_PER_SEC);
        assert_true(h[1] >= h[0] && h[2] >= h[1]);
        assert_true(h[2] <= now);
        in.history = h;
        in.n_history = 3;
        assert_int_equal(policy_remedy_step(&in, now, &step), 0);
        assert_int_not_equal(step.remedy, POLICY_REMEDY_EXHAUSTED); /* two attempts left */
        /* Times after now (the clock stepped back since): now, not the future. */
        policy_remedy_history(attempts, 3, 90000, now, h);
        assert_int_equal(h[0], now);
        assert_int_equal(h[2], now);
        /* Before this boot: long ago, clamped at 0. */
        policy_remedy_history(attempts, 1, 100000 + 10000, now, h);
        assert_int_equal(h[0], 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_budget_resolve),
                cmocka_unit_test(test_remedy_history_clock_step),
                cmocka_unit_test(test_lifecycle),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_jitter),
                cmocka_unit_test(test_grace_left),
                cmocka_unit_test(test_settle),
                cmocka_unit_test(test_remedy_step),
                cmocka_unit_test(test_remedy_invalid),
                cmocka_unit_test(test_verdict),
                cmocka_unit_test(test_verdict_names),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_decide_retry_and_numbers),
                cmocka_unit_test(test_decide_invariants),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* The /health decision, the drain delay, HealthCheckType and which events drain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "health/health.h"

#define L CHECK_ROLE_LIVENESS
#define R CHECK_ROLE_READINESS
#define D CHECK_ROLE_DEPENDENCY
#define P HEALTH_CHECK_PENDING
#define OK HEALTH_CHECK_PASSING
#define F HEALTH_CHECK_FAILED

static void test_decide(void **state) {
        static const struct {
                HealthCheckInput checks[3];
                size_t n;
                const char *draining;
                bool live, ready, serving;
                const char *reason;
        } cases[] = {
                { {}, 0, NULL, true, true, true, "OK" },
                { { { "web", L, OK } }, 1, NULL, true, true, true, "OK" },
                /* Pending liveness does not count (as in the verdict); pending readiness does. */
                { { { "web", L, P } }, 1, NULL, true, true, true, "OK" },
                { { { "app", R, P } },
                  1,
                  NULL,
                  true,
                  false,
                  false,
                  "readiness check not passing: app" },
                { { { "web", L, F } }, 1, NULL, false, true, false, "liveness check failed: web" },
                { { { "web", L, F }, { "api", L, F } },
                  2,
                  NULL,
                  false,
                  true,
                  false,
                  "liveness check failed: web, api" },
                /* A dependency never takes the instance out of the pool. */
                { { { "db", D, F }, { "web", L, OK } }, 2, NULL, true, true, true, "OK" },
                { { { "db", D, F } }, 1, "terminate", true, true, false, "draining: terminate" },
                /* Liveness before readiness, draining before both. */
                { { { "app", R, F }, { "web", L, F } },
                  2,
                  NULL,
                  false,
                  false,
                  false,
                  "liveness check failed: web" },
                { { { "app", R, F }, { "web", L, F } },
                  2,
                  "spot-interruption",
                  false,
                  false,
                  false,
                  "draining: spot-interruption" },
                { { { "app", R, OK }, { "web", L, OK } },
                  2,
                  "scheduled-event system-reboot",
                  true,
                  true,
                  false,
                  "draining: scheduled-event system-reboot" },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                HealthVerdict v;
                health_decide(&(HealthInput){ .checks = cases[i].checks,
                                              .n_checks = cases[i].n,
                                              .draining = cases[i].draining },
                              &v);
                assert_int_equal(v.live, cases[i].live);
                assert_int_equal(v.ready, cases[i].ready);
                assert_int_equal(v.serving, cases[i].serving);
                assert_string_equal(v.reason, cases[i].reason);
        }
}

static void test_reason_is_bounded(void **state) {
        HealthCheckInput many[64];
        char names[64][40];
        HealthVerdict v;

        (void) state;
        for (size_t i = 0; i < 64; i++) {
                snprintf(names[i], sizeof(names[i]), "a-rather-long-check-name-%02zu", i);
                many[i] = (HealthCheckInput){ names[i], L, F };
        }
        health_decide(&(HealthInput){ .checks = many, .n_checks = 64 }, &v);
        assert_false(v.serving);
        assert_true(strlen(v.reason) < HEALTH_REASON_MAX);
        assert_null(strchr(v.reason, '\n'));
        assert_string_equal(v.reason + strlen(v.reason) - 3, "...");
}

static void test_drain_delay(void **state) {
        static const struct {
                double delay;
                time_t deadline, now;
                uint64_t usec;
        } cases[] = {
                { 0, 0, 1000, 0 },
                { 30, 0, 1000, 30 * USEC_PER_SEC },     /* no deadline */
                { 30, 1120, 1000, 30 * USEC_PER_SEC },  /* 120 s left: 60 available */
                { 300, 1120, 1000, 60 * USEC_PER_SEC }, /* spot: capped at half of 120 */
                { 300, 1001, 1000, USEC_PER_SEC / 2 },
                { 300, 1000, 1000, 0 }, /* deadline now */
                { 300, 900, 1000, 0 },  /* passed */
                { -5, 0, 1000, 0 },
                { 2.5, 0, 1000, 2500000 },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(
                        health_drain_delay_usec(cases[i].delay, cases[i].deadline, cases[i].now),
                        cases[i].usec);
}

static void test_health_check_type(void **state) {
        (void) state;
        assert_true(health_check_type_has_elb("ELB"));
        assert_true(health_check_type_has_elb("EC2,ELB"));
        assert_true(health_check_type_has_elb("ELB,EBS"));
        assert_true(health_check_type_has_elb("EC2, ELB"));
        assert_false(health_check_type_has_elb("EC2"));
        assert_false(health_check_type_has_elb("EC2,EBS,VPC_LATTICE"));
        assert_false(health_check_type_has_elb("ELBX"));
        assert_false(health_check_type_has_elb("XELB"));
        assert_false(health_check_type_has_elb(""));
        assert_false(health_check_type_has_elb(NULL));
}

static void test_drains(void **state) {
        (void) state;
        assert_true(health_lifecycle_drains(LIFECYCLE_EVENT_TERMINATE, false));
        assert_true(health_lifecycle_drains(LIFECYCLE_EVENT_SPOT, false));
        assert_true(health_lifecycle_drains(LIFECYCLE_EVENT_SCHEDULED, true));
        assert_true(health_lifecycle_drains(LIFECYCLE_EVENT_REBALANCE, true));
        assert_false(health_lifecycle_drains(LIFECYCLE_EVENT_SCHEDULED, false));
        assert_false(health_lifecycle_drains(LIFECYCLE_EVENT_REBALANCE, false));
        assert_false(health_lifecycle_drains(LIFECYCLE_EVENT_LAUNCH, false));
        assert_false(health_lifecycle_drains(LIFECYCLE_EVENT_LAUNCH, true));
        assert_false(health_lifecycle_drains(LIFECYCLE_EVENT_NONE, false));
}

static void test_connection_limit(void **state) {
        static const struct {
                unsigned long nofile;
                unsigned concurrency, limit;
        } cases[] = {
                { 1024, 4, 256 },               /* the default soft limit: the cap */
                { 300, 4, 220 },                /* 300 - (64 + 4 * 4) */
                { 100, 4, 20 },   { 84, 4, 4 }, /* just enough */
                { 81, 4, 1 },     { 80, 4, 0 }, /* nothing left after the reserve */
                { 16, 4, 0 },     { 524288, 64, 256 },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(health_connection_limit(cases[i].nofile, cases[i].concurrency),
                                 cases[i].limit);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decide),      cmocka_unit_test(test_reason_is_bounded),
                cmocka_unit_test(test_drain_delay), cmocka_unit_test(test_health_check_type),
                cmocka_unit_test(test_drains),      cmocka_unit_test(test_connection_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

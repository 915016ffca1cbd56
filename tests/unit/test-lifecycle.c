/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "lifecycle/lifecycle.h"
#include "base/util.h"

/* 2017-09-18T08:22:00Z */
#define T0 ((time_t) 1505722920)

static void test_time(void **state) {
        static const struct {
                const char *in;
                int ret;
                time_t want;
        } cases[] = {
                { "2017-09-18T08:22:00Z", 0, T0 },
                { "2017-09-18T08:22:00.123Z", 0, T0 },
                { "2017-09-18T08:22:00+00:00", 0, T0 },
                { "18 Sep 2017 08:22:00 GMT", 0, T0 },
                { "1 Jan 2019 00:00:00 GMT", 0, 1546300800 },
                { "2017-02-31T08:22:00Z", -EINVAL, 0 }, /* moved by timegm: not a date */
                { "2017-09-18 08:22:00Z", -EINVAL, 0 },
                { "2017-09-18T08:22:00", -EINVAL, 0 }, /* no zone */
                { "2017-09-18T08:22:00Zjunk", -EINVAL, 0 },
                { "2017-13-18T08:22:00Z", -EINVAL, 0 },
                { "18 Foo 2017 08:22:00 GMT", -EINVAL, 0 },
                { "18 Sep 2017 08:22:00 UTC", -EINVAL, 0 },
                { "-1-09-18T08:22:00Z", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "99999999999999999999999999999999999999999999", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                time_t t = 0;
                int r = lifecycle_parse_time(cases[i].in, &t);
                if (r != cases[i].ret || (r == 0 && t != cases[i].want))
                        fail_msg("case %zu (%s): r=%d t=%lld", i, cases[i].in, r, (long long) t);
        }
        assert_int_equal(lifecycle_parse_time(NULL, &(time_t){ 0 }), -EINVAL);
}

static void test_target(void **state) {
        static const struct {
                const char *in;
                int ret;
                LifecycleTarget want;
        } cases[] = {
                { "InService", 0, LIFECYCLE_TARGET_IN_SERVICE },
                { "InService\n", 0, LIFECYCLE_TARGET_IN_SERVICE },
                { "Terminated", 0, LIFECYCLE_TARGET_TERMINATED },
                { "Warmed:Stopped", 0, LIFECYCLE_TARGET_OTHER },
                { "Detached", 0, LIFECYCLE_TARGET_OTHER },
                { "", -EBADMSG, 0 },
                { "In Service", -EBADMSG, 0 },
                { "Terminated\n\n", -EBADMSG, 0 },
                { "<html>", -EBADMSG, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LifecycleTarget t = LIFECYCLE_TARGET_UNKNOWN;
                int r = lifecycle_parse_target(cases[i].in, strlen(cases[i].in), &t);
                assert_int_equal(r, cases[i].ret);
                if (r == 0)
                        assert_int_equal(t, cases[i].want);
        }
        /* An embedded NUL is not a state. */
        assert_int_equal(lifecycle_parse_target("InService\0x", 11, &(LifecycleTarget){ 0 }),
                         -EBADMSG);
}

static void test_spot(void **state) {
        static const struct {
                const char *in;
                int ret;
                const char *action;
        } cases[] = {
                { "{\"action\": \"terminate\", \"time\": \"2017-09-18T08:22:00Z\"}", 0,
                  "terminate" },
                { "{\"action\":\"stop\",\"time\":\"2017-09-18T08:22:00Z\"}", 0, "stop" },
                { "{\"action\":\"hibernate\",\"time\":\"2017-09-18T08:22:00Z\",\"x\":1}", 0,
                  "hibernate" },
                { "{\"action\":\"reboot\",\"time\":\"2017-09-18T08:22:00Z\"}", -EBADMSG, NULL },
                { "{\"action\":\"terminate\"}", -EBADMSG, NULL },
                { "{\"action\":\"terminate\",\"time\":\"soon\"}", -EBADMSG, NULL },
                { "{\"action\":\"terminate\",\"time\":7}", -EBADMSG, NULL },
                { "{\"action\":\"terminate\",\"action\":\"stop\",\"time\":\"2017-09-18T08:22:"
                  "00Z\"}",
                  -EBADMSG, NULL },
                { "[\"terminate\"]", -EBADMSG, NULL },
                { "{\"action\":\"terminate\\u0000x\",\"time\":\"2017-09-18T08:22:00Z\"}", -EBADMSG,
                  NULL },
                { "{", -EBADMSG, NULL },
                { "2017-09-18T08:22:00Z", -EBADMSG, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LifecycleSpot s = {};
                int r = lifecycle_parse_spot(cases[i].in, strlen(cases[i].in), &s);
                if (r != cases[i].ret)
                        fail_msg("case %zu: %d", i, r);
                if (r == 0) {
                        assert_string_equal(s.action, cases[i].action);
                        assert_int_equal(s.time, T0);
                }
        }
}

static void test_size_caps(void **state) {
        size_t n = LIFECYCLE_SCHEDULED_MAX + 10;
        _cleanup_free_ char *big = malloc(n + 1);
        LifecycleScheduled ev[2];
        size_t k = 99;
        time_t t;

        assert_non_null(big);
        memset(big, ' ', n);
        memcpy(big, "[", 1);
        memcpy(big + n - 1, "]", 1);
        big[n] = 0;
        assert_int_equal(lifecycle_parse_scheduled(big, n, ev, 2, &k), -EBADMSG);
        assert_int_equal(k, 99);
        assert_int_equal(lifecycle_parse_spot(big, LIFECYCLE_NOTICE_MAX + 1, &(LifecycleSpot){}),
                         -EBADMSG);
        assert_int_equal(lifecycle_parse_rebalance(big, LIFECYCLE_NOTICE_MAX + 1, &t), -EBADMSG);
}

static void test_rebalance(void **state) {
        time_t t = 0;

        const char *ok = "{\"noticeTime\": \"2017-09-18T08:22:00Z\"}";

        assert_int_equal(lifecycle_parse_rebalance(ok, strlen(ok), &t), 0);
        assert_int_equal(t, T0);
        assert_int_equal(lifecycle_parse_rebalance("{\"noticeTime\": 1}", 17, &t), -EBADMSG);
        assert_int_equal(lifecycle_parse_rebalance("{}", 2, &t), -EBADMSG);
        assert_int_equal(lifecycle_parse_rebalance("null", 4, &t), -EBADMSG);
}

static void test_scheduled(void **state) {
        const char *doc =
                "[{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"system-reboot\","
                "\"Description\":\"x\",\"EventId\":\"instance-event-0d59937288b749b32\","
                "\"NotAfter\":\"18 Sep 2017 09:22:00 GMT\",\"State\":\"active\"},"
                "{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"instance-retirement\","
                "\"EventId\":\"instance-event-1\",\"State\":\"canceled\"},"
                "{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"instance-stop\","
                "\"EventId\":\"instance-event-2\",\"State\":\"completed\"}]";
        static const char *const bad[] = {
                "{}",
                "[1]",
                "[{\"Code\":\"system-reboot\",\"EventId\":\"e\"}]", /* no NotBefore */
                "[{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"a b\",\"EventId\":\"e\"}]",
                "[{\"NotBefore\":\"18 Sep 2017 08:22:00 "
                "GMT\",\"Code\":\"x\",\"EventId\":\"e;rm\"}]",
                "[{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"x\",\"EventId\":\"e\","
                "\"State\":\"weird\"}]",
                "[{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"x\",\"EventId\":\"e\","
                "\"NotAfter\":\"never\"}]",
                "[{\"NotBefore\":\"18 Sep 2017 08:22:00 GMT\",\"Code\":\"\",\"EventId\":\"e\"}]",
        };
        LifecycleScheduled ev[4];
        size_t n = 0;

        assert_int_equal(lifecycle_parse_scheduled(doc, strlen(doc), ev, 4, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(ev[0].code, "system-reboot");
        assert_string_equal(ev[0].id, "instance-event-0d59937288b749b32");
        assert_int_equal(ev[0].not_before, T0);
        assert_int_equal(ev[0].not_after, T0 + 3600);
        assert_int_equal(ev[0].state, LIFECYCLE_SCHEDULED_ACTIVE);
        assert_int_equal(ev[1].state, LIFECYCLE_SCHEDULED_CANCELED);
        assert_int_equal(ev[2].state, LIFECYCLE_SCHEDULED_COMPLETED);
        /* More than fits: the first ones are kept. */
        assert_int_equal(lifecycle_parse_scheduled(doc, strlen(doc), ev, 1, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(lifecycle_parse_scheduled("[]", 2, ev, 4, &n), 0);
        assert_int_equal(n, 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (lifecycle_parse_scheduled(bad[i], strlen(bad[i]), ev, 4, &n) != -EBADMSG)
                        fail_msg("bad case %zu accepted", i);
}

static void test_record(void **state) {
        StateLifecycle rec = {};
        char longname[300];

        lifecycle_record_start(&rec, LIFECYCLE_EVENT_SPOT, "spot-interruption@1");
        assert_string_equal(rec.event, "spot-interruption");
        assert_int_equal(lifecycle_record_add(&rec, "spot-interruption", "10-a", true), 0);
        assert_int_equal(lifecycle_record_add(&rec, "terminate", "10-b", false), 0);
        assert_int_equal(lifecycle_record_add(&rec, "terminate", "20-c", true), 0);
        assert_int_equal(lifecycle_record_find(&rec, "spot-interruption", "10-a"), 1);
        assert_int_equal(lifecycle_record_find(&rec, "terminate", "10-b"), 2);
        assert_int_equal(lifecycle_record_find(&rec, "terminate", "10-a"), 0);
        assert_int_equal(lifecycle_record_find(&rec, "term", "inate/10-b"), 0);
        assert_int_equal(lifecycle_record_failed(&rec), 1);
        rec.completed = true;

        /* A termination after it keeps the terminate hooks, and only those. */
        lifecycle_record_start(&rec, LIFECYCLE_EVENT_TERMINATE, "terminate");
        assert_false(rec.completed);
        assert_string_equal(rec.key, "terminate");
        assert_int_equal(rec.n_hooks_done, 2);
        assert_int_equal(lifecycle_record_find(&rec, "terminate", "10-b"), 2);
        assert_int_equal(lifecycle_record_find(&rec, "terminate", "20-c"), 1);
        assert_int_equal(lifecycle_record_find(&rec, "spot-interruption", "10-a"), 0);

        /* Anything else starts afresh. */
        lifecycle_record_start(&rec, LIFECYCLE_EVENT_REBALANCE, "rebalance@5");
        assert_int_equal(rec.n_hooks_done, 0);

        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        assert_int_equal(lifecycle_record_add(&rec, "rebalance", longname, true), -E2BIG);
        assert_int_equal(rec.n_hooks_done, 0);
        for (unsigned i = 0; i < STATE_MAX_HOOKS; i++)
                assert_int_equal(lifecycle_record_add(&rec, "rebalance", "h", true), 0);
        assert_int_equal(lifecycle_record_add(&rec, "rebalance", "h", true), -E2BIG);
}

/* ---- the planner ---- */

typedef struct PlanCase {
        const char *name;
        LifecycleTarget target;
        const char *group_state;
        const char *spot; /* action, or NULL */
        bool rebalance;
        const char *sched_code; /* one active scheduled event, or NULL */
        const char *term_hook, *launch_hook;
        const char *rec_event, *rec_key;
        bool rec_completed;
        const char *handled, *handled_boot; /* one persisted entry (boot: BOOT if NULL) */
        /* want */
        LifecycleEvent event;
        const char *key;
        bool resume;
        const char *dir0, *dir1;
        const char *complete;
        bool replace;
        time_t deadline;
        const char *warm; /* DROVER_WARM_POOL, "" if NULL */
} PlanCase;

#define NOW ((time_t) 1700000000)
#define BOOT "11111111-2222-3333-4444-555555555555"
#define OTHER_BOOT "99999999-2222-3333-4444-555555555555"

static const PlanCase plan_cases[] = {
        { "idle", LIFECYCLE_TARGET_IN_SERVICE, "InService", .term_hook = "drain",
          .event = LIFECYCLE_EVENT_NONE },
        { "no answers yet", LIFECYCLE_TARGET_UNKNOWN, NULL, .event = LIFECYCLE_EVENT_NONE },
        { "scale-in by IMDS", LIFECYCLE_TARGET_TERMINATED, NULL, .term_hook = "drain",
          .event = LIFECYCLE_EVENT_TERMINATE, .key = "terminate", .dir0 = "terminate",
          .complete = "drain" },
        { "scale-in by the group", LIFECYCLE_TARGET_IN_SERVICE, "Terminating:Wait",
          .term_hook = "drain", .event = LIFECYCLE_EVENT_TERMINATE, .key = "terminate",
          .dir0 = "terminate", .complete = "drain" },
        { "scale-in, no hook name", LIFECYCLE_TARGET_TERMINATED, "Terminating:Wait",
          .event = LIFECYCLE_EVENT_TERMINATE, .key = "terminate", .dir0 = "terminate" },
        { "termination resumed", LIFECYCLE_TARGET_TERMINATED, "Terminating:Wait",
          .term_hook = "drain", .rec_event = "terminate", .rec_key = "terminate",
          .event = LIFECYCLE_EVENT_TERMINATE, .key = "terminate", .resume = true,
          .dir0 = "terminate", .complete = "drain" },
        { "termination done", LIFECYCLE_TARGET_TERMINATED, "Terminating:Proceed",
          .term_hook = "drain", .rec_event = "terminate", .rec_key = "terminate",
          .rec_completed = true, .event = LIFECYCLE_EVENT_NONE },
        { "spot", LIFECYCLE_TARGET_IN_SERVICE, "InService", .spot = "terminate",
          .term_hook = "drain", .event = LIFECYCLE_EVENT_SPOT, .key = "spot-interruption",
          .dir0 = "spot-interruption", .dir1 = "terminate", .deadline = T0 },
        { "spot beats termination", LIFECYCLE_TARGET_TERMINATED, "Terminating:Wait", .spot = "stop",
          .term_hook = "drain", .event = LIFECYCLE_EVENT_SPOT, .key = "spot-interruption",
          .dir0 = "spot-interruption", .dir1 = "terminate", .deadline = T0 },
        { "hibernation starts now", LIFECYCLE_TARGET_IN_SERVICE, NULL, .spot = "hibernate",
          .event = LIFECYCLE_EVENT_SPOT, .key = "spot-interruption", .dir0 = "spot-interruption",
          .dir1 = "terminate", .deadline = T0 },
        { "after spot the group waits: complete", LIFECYCLE_TARGET_TERMINATED, "Terminating:Wait",
          .spot = "terminate", .term_hook = "drain", .rec_event = "spot-interruption",
          .rec_key = "spot-interruption", .rec_completed = true, .event = LIFECYCLE_EVENT_TERMINATE,
          .key = "terminate", .dir0 = "terminate", .complete = "drain" },
        { "after spot, no hook name: done", LIFECYCLE_TARGET_TERMINATED, "Terminating:Wait",
          .spot = "terminate", .rec_event = "spot-interruption", .rec_key = "spot-interruption",
          .rec_completed = true, .event = LIFECYCLE_EVENT_NONE },
        { "after spot, not waiting yet", LIFECYCLE_TARGET_TERMINATED, "Terminating",
          .spot = "terminate", .term_hook = "drain", .rec_event = "spot-interruption",
          .rec_key = "spot-interruption", .rec_completed = true, .event = LIFECYCLE_EVENT_NONE },
        { "launch held", LIFECYCLE_TARGET_IN_SERVICE, "Pending:Wait", .launch_hook = "boot",
          .event = LIFECYCLE_EVENT_LAUNCH, .key = "launch@1700000000", .dir0 = "launch",
          .complete = "boot", .deadline = NOW + 600 },
        { "launch resumed keeps its start", LIFECYCLE_TARGET_IN_SERVICE, "Pending:Wait",
          .launch_hook = "boot", .rec_event = "launch", .rec_key = "launch@1699999900",
          .event = LIFECYCLE_EVENT_LAUNCH, .key = "launch@1699999900", .resume = true,
          .dir0 = "launch", .complete = "boot", .deadline = 1699999900 + 600 },
        { "launch done", LIFECYCLE_TARGET_IN_SERVICE, "Pending:Wait", .launch_hook = "boot",
          .rec_event = "launch", .rec_key = "launch@1699999900", .rec_completed = true,
          .event = LIFECYCLE_EVENT_NONE },
        { "launch: not held", LIFECYCLE_TARGET_IN_SERVICE, "Pending", .launch_hook = "boot",
          .event = LIFECYCLE_EVENT_NONE },
        { "warm pool: entering", LIFECYCLE_TARGET_OTHER, "Warmed:Pending:Wait",
          .launch_hook = "boot", .event = LIFECYCLE_EVENT_LAUNCH, .key = "launch-warm@1700000000",
          .dir0 = "launch", .complete = "boot", .deadline = NOW + 600, .warm = "entering" },
        { "warm pool: entered", LIFECYCLE_TARGET_OTHER, "Warmed:Pending:Wait",
          .launch_hook = "boot", .handled = "launch-warm@1699999000", .rec_event = "launch",
          .rec_key = "launch-warm@1699999000", .rec_completed = true,
          .event = LIFECYCLE_EVENT_NONE },
        { "warm pool: leaving for InService", LIFECYCLE_TARGET_IN_SERVICE, "Pending:Wait",
          .launch_hook = "boot", .handled = "launch-warm@1699999000", .handled_boot = OTHER_BOOT,
          .rec_event = "launch", .rec_key = "launch-warm@1699999000", .rec_completed = true,
          .event = LIFECYCLE_EVENT_LAUNCH, .key = "launch@1700000000", .dir0 = "launch",
          .complete = "boot", .deadline = NOW + 600, .warm = "leaving" },
        { "scheduled retirement", LIFECYCLE_TARGET_IN_SERVICE, "InService",
          .sched_code = "instance-retirement", .event = LIFECYCLE_EVENT_SCHEDULED,
          .key = "scheduled-event@instance-event-1", .dir0 = "scheduled-event", .replace = true,
          .deadline = T0 },
        { "scheduled reboot, not in replace_on", LIFECYCLE_TARGET_ABSENT, NULL,
          .sched_code = "system-reboot", .event = LIFECYCLE_EVENT_SCHEDULED,
          .key = "scheduled-event@instance-event-1", .dir0 = "scheduled-event", .deadline = T0 },
        { "scheduled handled in this run", LIFECYCLE_TARGET_IN_SERVICE, "InService",
          .sched_code = "system-reboot", .handled = "scheduled-event@instance-event-1",
          .event = LIFECYCLE_EVENT_NONE },
        { "spot handled: once while it stays", LIFECYCLE_TARGET_IN_SERVICE, "InService",
          .spot = "stop", .handled = "spot-interruption", .event = LIFECYCLE_EVENT_NONE },
        { "spot handled in another boot: a new notice", LIFECYCLE_TARGET_IN_SERVICE, "InService",
          .spot = "stop", .handled = "spot-interruption", .handled_boot = OTHER_BOOT,
          .event = LIFECYCLE_EVENT_SPOT, .key = "spot-interruption", .dir0 = "spot-interruption",
          .dir1 = "terminate", .deadline = T0 },
        { "rebalance handled", LIFECYCLE_TARGET_IN_SERVICE, "InService", .rebalance = true,
          .handled = "rebalance", .event = LIFECYCLE_EVENT_NONE },
        { "rebalance handled in another boot", LIFECYCLE_TARGET_IN_SERVICE, "InService",
          .rebalance = true, .handled = "rebalance", .handled_boot = OTHER_BOOT,
          .event = LIFECYCLE_EVENT_REBALANCE, .key = "rebalance", .dir0 = "rebalance",
          .replace = true },
        { "scheduled handled before a reboot stays handled", LIFECYCLE_TARGET_IN_SERVICE,
          "InService", .sched_code = "system-reboot", .handled = "scheduled-event@instance-event-1",
          .handled_boot = OTHER_BOOT, .event = LIFECYCLE_EVENT_NONE },
        { "terminate handled: once per instance", LIFECYCLE_TARGET_TERMINATED, "Terminating:Wait",
          .term_hook = "drain", .handled = "terminate", .handled_boot = OTHER_BOOT,
          .event = LIFECYCLE_EVENT_NONE },
        { "retained: never acted on", LIFECYCLE_TARGET_TERMINATED, "Terminating:Retained",
          .term_hook = "drain", .event = LIFECYCLE_EVENT_NONE },
        { "rebalance", LIFECYCLE_TARGET_IN_SERVICE, "InService", .rebalance = true,
          .event = LIFECYCLE_EVENT_REBALANCE, .key = "rebalance", .dir0 = "rebalance",
          .replace = true },
        { "scheduled before rebalance", LIFECYCLE_TARGET_IN_SERVICE, "InService", .rebalance = true,
          .sched_code = "system-reboot", .event = LIFECYCLE_EVENT_SCHEDULED,
          .key = "scheduled-event@instance-event-1", .dir0 = "scheduled-event", .deadline = T0 },
        { "rebalance after scheduled", LIFECYCLE_TARGET_IN_SERVICE, "InService", .rebalance = true,
          .sched_code = "system-reboot", .rec_event = "scheduled-event",
          .rec_key = "scheduled-event@instance-event-1", .rec_completed = true,
          .event = LIFECYCLE_EVENT_REBALANCE, .key = "rebalance", .dir0 = "rebalance",
          .replace = true },
        { "rebalance done", LIFECYCLE_TARGET_IN_SERVICE, "InService", .rebalance = true,
          .rec_event = "rebalance", .rec_key = "rebalance", .rec_completed = true,
          .event = LIFECYCLE_EVENT_NONE },
        { "termination beats a rebalance in progress", LIFECYCLE_TARGET_TERMINATED, NULL,
          .rebalance = true, .term_hook = "drain", .rec_event = "rebalance", .rec_key = "rebalance",
          .event = LIFECYCLE_EVENT_TERMINATE, .key = "terminate", .dir0 = "terminate",
          .complete = "drain" },
};

static void test_plan(void **state) {
        char *replace_on[] = { (char *) "rebalance", (char *) "instance-retirement", NULL };

        for (size_t i = 0; i < ELEMENTSOF(plan_cases); i++) {
                const PlanCase *c = &plan_cases[i];
                StateLifecycle rec = {};
                LifecycleScheduled sched = {
                        .code = "",
                        .id = "instance-event-1",
                        .not_before = T0,
                        .state = LIFECYCLE_SCHEDULED_ACTIVE,
                };
                StateHandled handled = { .at = NOW };
                LifecycleInput in = {
                        .now = NOW,
                        .target = c->target,
                        .group_state = c->group_state,
                        .have_spot = c->spot != NULL,
                        .spot = { .time = T0 },
                        .have_rebalance = c->rebalance,
                        .rebalance_notice = T0,
                        .scheduled = &sched,
                        .n_scheduled = c->sched_code ? 1 : 0,
                        .terminate_hook_name = c->term_hook ? c->term_hook : "",
                        .launch_hook_name = c->launch_hook ? c->launch_hook : "",
                        .replace_on = replace_on,
                        .launch_timeout = 600,
                        .record = &rec,
                        .handled = &handled,
                        .n_handled = c->handled ? 1 : 0,
                        .boot_id = BOOT,
                };
                LifecyclePlan p;

                if (c->handled) {
                        snprintf(handled.key, sizeof(handled.key), "%s", c->handled);
                        snprintf(handled.boot_id, sizeof(handled.boot_id), "%s",
                                 c->handled_boot ? c->handled_boot : BOOT);
                }
                if (c->spot)
                        snprintf(in.spot.action, sizeof(in.spot.action), "%s", c->spot);
                if (c->sched_code)
                        snprintf(sched.code, sizeof(sched.code), "%s", c->sched_code);
                if (c->rec_event) {
                        snprintf(rec.event, sizeof(rec.event), "%s", c->rec_event);
                        snprintf(rec.key, sizeof(rec.key), "%s", c->rec_key);
                        rec.completed = c->rec_completed;
                }
                assert_int_equal(lifecycle_plan(&in, &p), 0);
                if (p.event != c->event)
                        fail_msg("%s: event %s, want %s", c->name,
                                 lifecycle_event_to_string(p.event),
                                 lifecycle_event_to_string(c->event));
                if (c->event == LIFECYCLE_EVENT_NONE)
                        continue;
                if (!streq(p.key, c->key) || p.resume != c->resume || p.replace != c->replace ||
                    p.deadline != c->deadline)
                        fail_msg("%s: key %s resume %d replace %d deadline %lld", c->name, p.key,
                                 p.resume, p.replace, (long long) p.deadline);
                assert_string_equal(p.dirs[0], c->dir0);
                if (c->dir1)
                        assert_string_equal(p.dirs[1], c->dir1);
                else
                        assert_null(p.dirs[1]);
                if (c->complete)
                        assert_string_equal(p.complete, c->complete);
                else
                        assert_null(p.complete);
                assert_int_equal(p.unconfigured,
                                 !c->complete && (c->event == LIFECYCLE_EVENT_TERMINATE ||
                                                  c->event == LIFECYCLE_EVENT_LAUNCH));
                if (c->event == LIFECYCLE_EVENT_SPOT)
                        assert_string_equal(p.spot_action, c->spot);
                assert_string_equal(p.warm_pool, c->warm ? c->warm : "");
                /* Readiness gates every launch but the one entering a warm pool. */
                assert_int_equal(p.wait_ready, c->event == LIFECYCLE_EVENT_LAUNCH &&
                                                       !(c->warm && streq(c->warm, "entering")));
                if (c->event == LIFECYCLE_EVENT_SCHEDULED)
                        assert_string_equal(p.event_code, c->sched_code);
        }
}

static void test_retained(void **state) {
        assert_true(lifecycle_state_retained("Terminating:Retained"));
        assert_true(lifecycle_state_retained("Warmed:Pending:Retained"));
        assert_false(lifecycle_state_retained(":Retained"));
        assert_false(lifecycle_state_retained("Terminating:Wait"));
        assert_false(lifecycle_state_retained("Retained"));
        assert_false(lifecycle_state_retained(NULL));
}

static void test_resumed(void **state) {
        assert_false(lifecycle_resumed(0, 0));
        assert_false(lifecycle_resumed(0, 900000)); /* rounding between the readings */
        assert_true(lifecycle_resumed(0, 5000000));
        assert_true(lifecycle_resumed(7000000, 60000000));
        assert_false(lifecycle_resumed(7000000, 7000100));
}

static void test_plan_hibernate_now(void **state) {
        StateLifecycle rec = {};
        LifecycleInput in = {
                .now = T0 - 100,
                .have_spot = true,
                .spot = { "hibernate", T0 },
                .record = &rec,
        };
        LifecyclePlan p;

        assert_int_equal(lifecycle_plan(&in, &p), 0);
        assert_int_equal(p.deadline, T0 - 100);
        assert_string_equal(p.unit, "drover-terminate.target");
        assert_int_equal(lifecycle_plan(NULL, &p), -EINVAL);
}

static void test_completion(void **state) {
        static const struct {
                LifecycleEvent ev;
                const char *gs;
                LifecycleCompletion want;
        } cases[] = {
                { LIFECYCLE_EVENT_TERMINATE, "Terminating:Wait", LIFECYCLE_COMPLETE_NOW },
                { LIFECYCLE_EVENT_TERMINATE, "Terminating", LIFECYCLE_COMPLETE_WAIT },
                { LIFECYCLE_EVENT_TERMINATE, "InService", LIFECYCLE_COMPLETE_WAIT },
                { LIFECYCLE_EVENT_TERMINATE, NULL, LIFECYCLE_COMPLETE_WAIT },
                { LIFECYCLE_EVENT_TERMINATE, "Terminating:Proceed", LIFECYCLE_COMPLETE_GONE },
                { LIFECYCLE_EVENT_TERMINATE, "Terminated", LIFECYCLE_COMPLETE_GONE },
                { LIFECYCLE_EVENT_LAUNCH, "Pending:Wait", LIFECYCLE_COMPLETE_NOW },
                { LIFECYCLE_EVENT_LAUNCH, "Pending", LIFECYCLE_COMPLETE_WAIT },
                { LIFECYCLE_EVENT_LAUNCH, "InService", LIFECYCLE_COMPLETE_GONE },
                { LIFECYCLE_EVENT_LAUNCH, "Terminating", LIFECYCLE_COMPLETE_GONE },
                { LIFECYCLE_EVENT_LAUNCH, "Warmed:Pending:Wait", LIFECYCLE_COMPLETE_NOW },
                { LIFECYCLE_EVENT_LAUNCH, "Warmed:Pending", LIFECYCLE_COMPLETE_WAIT },
                { LIFECYCLE_EVENT_LAUNCH, "Warmed:Running", LIFECYCLE_COMPLETE_GONE },
                { LIFECYCLE_EVENT_SPOT, "Terminating:Wait", LIFECYCLE_COMPLETE_GONE },
                { LIFECYCLE_EVENT_REBALANCE, NULL, LIFECYCLE_COMPLETE_GONE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (lifecycle_completion(cases[i].ev, cases[i].gs) != cases[i].want)
                        fail_msg("case %zu", i);
}

static void test_names(void **state) {
        for (LifecycleEvent e = LIFECYCLE_EVENT_REBALANCE; e < _LIFECYCLE_EVENT_MAX; e++)
                assert_int_equal(lifecycle_event_from_string(lifecycle_event_to_string(e)), e);
        assert_int_equal(lifecycle_event_from_string("unhealthy"), LIFECYCLE_EVENT_NONE);
        assert_int_equal(lifecycle_event_from_string(NULL), LIFECYCLE_EVENT_NONE);
        assert_string_equal(lifecycle_event_to_string(_LIFECYCLE_EVENT_MAX), "none");
        assert_string_equal(lifecycle_target_to_string(LIFECYCLE_TARGET_TERMINATED), "Terminated");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_time),
                cmocka_unit_test(test_target),
                cmocka_unit_test(test_spot),
                cmocka_unit_test(test_size_caps),
                cmocka_unit_test(test_rebalance),
                cmocka_unit_test(test_scheduled),
                cmocka_unit_test(test_record),
                cmocka_unit_test(test_plan),
                cmocka_unit_test(test_plan_hibernate_now),
                cmocka_unit_test(test_resumed),
                cmocka_unit_test(test_retained),
                cmocka_unit_test(test_completion),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* The replacement request machine: every (phase, event) pair, then the stories. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "heal/request.h"

#define NOW (1000 * USEC_PER_SEC)
#define CI (60 * USEC_PER_SEC) /* confirm_interval */

enum {
        CANCEL = REQUEST_DO_CANCEL,
        LOOK = REQUEST_DO_LOOK,
        HOOKS = REQUEST_DO_HOOKS,
        CALL = REQUEST_DO_CALL,
        ARM = REQUEST_DO_ARM,
        PERSIST = REQUEST_DO_PERSIST,
        HELD = REQUEST_DO_SAY_HELD,
        ERROR = REQUEST_DO_SAY_ERROR,
        REQUESTED = REQUEST_DO_SAY_REQUESTED,
        CONFIRMED = REQUEST_DO_SAY_CONFIRMED,
        ENDED = REQUEST_DO_SAY_ENDED,
        CANCELLED = REQUEST_DO_SAY_CANCELLED,
};

static const PolicyDecision replace = { .action = POLICY_ACTION_REPLACE,
                                        .reason = POLICY_REASON_REPLACE,
                                        .replace = REPLACE_SET_UNHEALTHY };
static const RequestView back_in_service = { .membership = POLICY_MEMBERSHIP_IN_GROUP,
                                             .lifecycle = POLICY_LIFECYCLE_IN_SERVICE,
                                             .healthy = true };

static RequestInput input(PolicyVerdictKind verdict) {
        return (RequestInput){
                .verdict = verdict,
                .can_ask = true,
                .decision = &replace,
                .view = &back_in_service,
                .error = -EACCES,
                .code = "AccessDenied",
                .message = "not authorized",
                .confirm_interval = CI,
                .jitter = 2 * USEC_PER_SEC,
                .unit = 0.5,
        };
}

/* The memory a machine has in each phase, as the phase would have left it. */
static RequestMemory in_phase(RequestPhase p) {
        RequestMemory m = { .phase = p, .decision = 1, .held = _POLICY_REASON_MAX };

        if (p == REQUEST_HELD)
                m.held = POLICY_REASON_FLEET_GUARD;
        if (p == REQUEST_REQUESTED || p == REQUEST_CONFIRMED) {
                m.requested = true;
                m.action = REPLACE_SET_UNHEALTHY;
                m.hooks_ran = 1;
        }
        m.confirmed = p == REQUEST_CONFIRMED;
        if (p == REQUEST_HOOKS || p == REQUEST_CALLING)
                m.action = REPLACE_SET_UNHEALTHY;
        return m;
}

static void test_every_pair(void **state) {
        /* Canonical inputs: unhealthy, AWS reachable, grace over; VIEW = REPLACE (or, in
         * CONFIRMED, the group shows us InService and Healthy); CALL_FAILED = AccessDenied.
         * TIMER is due; other events come with no timer armed. */
        static const struct {
                RequestPhase phase;
                RequestEvent ev;
                RequestPhase next;
                unsigned what;
        } table[] = {
                { REQUEST_IDLE, REQUEST_EV_EVALUATE, REQUEST_LOOKING, LOOK },
                { REQUEST_IDLE, REQUEST_EV_TIMER, REQUEST_IDLE, 0 },
                { REQUEST_IDLE, REQUEST_EV_VIEW, REQUEST_IDLE, 0 },
                { REQUEST_IDLE, REQUEST_EV_VIEW_FAILED, REQUEST_IDLE, 0 },
                { REQUEST_IDLE, REQUEST_EV_HOOKS_DONE, REQUEST_IDLE, 0 },
                { REQUEST_IDLE, REQUEST_EV_CALL_OK, REQUEST_IDLE, 0 },
                { REQUEST_IDLE, REQUEST_EV_CALL_FAILED, REQUEST_IDLE, 0 },

                { REQUEST_HELD, REQUEST_EV_EVALUATE, REQUEST_HELD, 0 },
                { REQUEST_HELD, REQUEST_EV_TIMER, REQUEST_LOOKING, LOOK },
                { REQUEST_HELD, REQUEST_EV_VIEW, REQUEST_HELD, 0 },
                { REQUEST_HELD, REQUEST_EV_VIEW_FAILED, REQUEST_HELD, 0 },
                { REQUEST_HELD, REQUEST_EV_HOOKS_DONE, REQUEST_HELD, 0 },
                { REQUEST_HELD, REQUEST_EV_CALL_OK, REQUEST_HELD, 0 },
                { REQUEST_HELD, REQUEST_EV_CALL_FAILED, REQUEST_HELD, 0 },

                { REQUEST_LOOKING, REQUEST_EV_EVALUATE, REQUEST_LOOKING, 0 },
                { REQUEST_LOOKING, REQUEST_EV_TIMER, REQUEST_LOOKING, 0 },
                { REQUEST_LOOKING, REQUEST_EV_VIEW, REQUEST_JITTER, ARM },
                { REQUEST_LOOKING, REQUEST_EV_VIEW_FAILED, REQUEST_HELD, HELD | ERROR | ARM },
                { REQUEST_LOOKING, REQUEST_EV_HOOKS_DONE, REQUEST_LOOKING, 0 },
                { REQUEST_LOOKING, REQUEST_EV_CALL_OK, REQUEST_LOOKING, 0 },
                { REQUEST_LOOKING, REQUEST_EV_CALL_FAILED, REQUEST_LOOKING, 0 },

                { REQUEST_JITTER, REQUEST_EV_EVALUATE, REQUEST_JITTER, 0 },
                { REQUEST_JITTER, REQUEST_EV_TIMER, REQUEST_SECOND_LOOK, LOOK },
                { REQUEST_JITTER, REQUEST_EV_VIEW, REQUEST_JITTER, 0 },
                { REQUEST_JITTER, REQUEST_EV_VIEW_FAILED, REQUEST_JITTER, 0 },
                { REQUEST_JITTER, REQUEST_EV_HOOKS_DONE, REQUEST_JITTER, 0 },
                { REQUEST_JITTER, REQUEST_EV_CALL_OK, REQUEST_JITTER, 0 },
                { REQUEST_JITTER, REQUEST_EV_CALL_FAILED, REQUEST_JITTER, 0 },

                { REQUEST_SECOND_LOOK, REQUEST_EV_EVALUATE, REQUEST_SECOND_LOOK, 0 },
                { REQUEST_SECOND_LOOK, REQUEST_EV_TIMER, REQUEST_SECOND_LOOK, 0 },
                { REQUEST_SECOND_LOOK, REQUEST_EV_VIEW, REQUEST_HOOKS, HOOKS },
                { REQUEST_SECOND_LOOK, REQUEST_EV_VIEW_FAILED, REQUEST_HELD, HELD | ERROR | ARM },
                { REQUEST_SECOND_LOOK, REQUEST_EV_HOOKS_DONE, REQUEST_SECOND_LOOK, 0 },
                { REQUEST_SECOND_LOOK, REQUEST_EV_CALL_OK, REQUEST_SECOND_LOOK, 0 },
                { REQUEST_SECOND_LOOK, REQUEST_EV_CALL_FAILED, REQUEST_SECOND_LOOK, 0 },

                { REQUEST_HOOKS, REQUEST_EV_EVALUATE, REQUEST_HOOKS, 0 },
                { REQUEST_HOOKS, REQUEST_EV_TIMER, REQUEST_HOOKS, 0 },
                { REQUEST_HOOKS, REQUEST_EV_VIEW, REQUEST_HOOKS, 0 },
                { REQUEST_HOOKS, REQUEST_EV_VIEW_FAILED, REQUEST_HOOKS, 0 },
                { REQUEST_HOOKS, REQUEST_EV_HOOKS_DONE, REQUEST_CALLING, PERSIST | CALL },
                { REQUEST_HOOKS, REQUEST_EV_CALL_OK, REQUEST_HOOKS, 0 },
                { REQUEST_HOOKS, REQUEST_EV_CALL_FAILED, REQUEST_HOOKS, 0 },

                { REQUEST_CALLING, REQUEST_EV_EVALUATE, REQUEST_CALLING, 0 },
                { REQUEST_CALLING, REQUEST_EV_TIMER, REQUEST_CALLING, 0 },
                { REQUEST_CALLING, REQUEST_EV_VIEW, REQUEST_CALLING, 0 },
                { REQUEST_CALLING, REQUEST_EV_VIEW_FAILED, REQUEST_CALLING, 0 },
                { REQUEST_CALLING, REQUEST_EV_HOOKS_DONE, REQUEST_CALLING, 0 },
                { REQUEST_CALLING, REQUEST_EV_CALL_OK, REQUEST_REQUESTED,
                  PERSIST | REQUESTED | ARM },
                { REQUEST_CALLING, REQUEST_EV_CALL_FAILED, REQUEST_RETRY, ERROR | ARM },

                { REQUEST_RETRY, REQUEST_EV_EVALUATE, REQUEST_RETRY, 0 },
                { REQUEST_RETRY, REQUEST_EV_TIMER, REQUEST_LOOKING, LOOK },
                { REQUEST_RETRY, REQUEST_EV_VIEW, REQUEST_RETRY, 0 },
                { REQUEST_RETRY, REQUEST_EV_VIEW_FAILED, REQUEST_RETRY, 0 },
                { REQUEST_RETRY, REQUEST_EV_HOOKS_DONE, REQUEST_RETRY, 0 },
                { REQUEST_RETRY, REQUEST_EV_CALL_OK, REQUEST_RETRY, 0 },
                { REQUEST_RETRY, REQUEST_EV_CALL_FAILED, REQUEST_RETRY, 0 },

                { REQUEST_REQUESTED, REQUEST_EV_EVALUATE, REQUEST_REQUESTED, 0 },
                { REQUEST_REQUESTED, REQUEST_EV_TIMER, REQUEST_LOOKING, LOOK },
                { REQUEST_REQUESTED, REQUEST_EV_VIEW, REQUEST_REQUESTED, 0 },
                { REQUEST_REQUESTED, REQUEST_EV_VIEW_FAILED, REQUEST_REQUESTED, 0 },
                { REQUEST_REQUESTED, REQUEST_EV_HOOKS_DONE, REQUEST_REQUESTED, 0 },
                { REQUEST_REQUESTED, REQUEST_EV_CALL_OK, REQUEST_REQUESTED, 0 },
                { REQUEST_REQUESTED, REQUEST_EV_CALL_FAILED, REQUEST_REQUESTED, 0 },

                { REQUEST_CONFIRMED, REQUEST_EV_EVALUATE, REQUEST_CONFIRMED, 0 },
                { REQUEST_CONFIRMED, REQUEST_EV_TIMER, REQUEST_CONFIRMED, LOOK },
                /* The group shows us healthy again: the request ends, and the instance,
                 * still unhealthy, starts a new decision at once. */
                { REQUEST_CONFIRMED, REQUEST_EV_VIEW, REQUEST_LOOKING, PERSIST | ENDED | LOOK },
                { REQUEST_CONFIRMED, REQUEST_EV_VIEW_FAILED, REQUEST_CONFIRMED, ERROR | ARM },
                { REQUEST_CONFIRMED, REQUEST_EV_HOOKS_DONE, REQUEST_CONFIRMED, 0 },
                { REQUEST_CONFIRMED, REQUEST_EV_CALL_OK, REQUEST_CONFIRMED, 0 },
                { REQUEST_CONFIRMED, REQUEST_EV_CALL_FAILED, REQUEST_CONFIRMED, 0 },
        };
        bool seen[_REQUEST_PHASE_MAX][_REQUEST_EV_MAX] = {};
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                RequestMemory m = in_phase(table[i].phase);
                RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
                RequestActions a;

                if (table[i].ev == REQUEST_EV_TIMER)
                        m.at = NOW;
                request_step(&m, table[i].ev, &in, NOW, &a);
                if (m.phase != table[i].next || a.what != table[i].what)
                        fail_msg("row %zu (%s, event %d): got %s/%#x, want %s/%#x", i,
                                 request_phase_to_string(table[i].phase), table[i].ev,
                                 request_phase_to_string(m.phase), a.what,
                                 request_phase_to_string(table[i].next), table[i].what);
                if (a.what & ARM)
                        assert_true(a.at > NOW && a.at == m.at);
                seen[table[i].phase][table[i].ev] = true;
        }
        for (int p = 0; p < _REQUEST_PHASE_MAX; p++)
                for (int e = 0; e < _REQUEST_EV_MAX; e++)
                        if (!seen[p][e])
                                fail_msg("pair (%s, %d) has no row", request_phase_to_string(p), e);
}

/* Phases that stand down when the verdict is no longer unhealthy. */
static void test_healthy_again(void **state) {
        static const struct {
                RequestPhase phase;
                RequestPhase next;
                unsigned what;
        } table[] = {
                { REQUEST_IDLE, REQUEST_IDLE, 0 },
                { REQUEST_HELD, REQUEST_IDLE, CANCEL },
                { REQUEST_LOOKING, REQUEST_IDLE, CANCEL },
                { REQUEST_JITTER, REQUEST_IDLE, CANCEL },
                { REQUEST_SECOND_LOOK, REQUEST_IDLE, CANCEL },
                /* The hooks had started a drain: nothing undoes it, and drover says so. */
                { REQUEST_HOOKS, REQUEST_IDLE, CANCEL | CANCELLED },
                { REQUEST_CALLING, REQUEST_CALLING, 0 }, /* committed: the call is out */
                { REQUEST_RETRY, REQUEST_IDLE, CANCEL },
                /* A healthy verdict cancels an unconfirmed request... */
                { REQUEST_REQUESTED, REQUEST_IDLE, CANCEL | PERSIST | ENDED },
                /* ...but a confirmed one lasts until the group says it is over. */
                { REQUEST_CONFIRMED, REQUEST_CONFIRMED, 0 },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                RequestMemory m = in_phase(table[i].phase);
                RequestInput in = input(POLICY_VERDICT_HEALTHY);
                RequestActions a;

                request_step(&m, REQUEST_EV_EVALUATE, &in, NOW, &a);
                if (m.phase != table[i].next || a.what != table[i].what)
                        fail_msg("%s: got %s/%#x", request_phase_to_string(table[i].phase),
                                 request_phase_to_string(m.phase), a.what);
                if (table[i].phase == REQUEST_REQUESTED)
                        assert_false(m.requested);
        }
}

/* Drives m with ev; fires the armed timer when ev is TIMER. */
static RequestActions step(RequestMemory *m, RequestEvent ev, const RequestInput *in,
                           uint64_t *now) {
        RequestActions a;

        if (ev == REQUEST_EV_TIMER) {
                assert_true(m->at > 0);
                *now = m->at;
        }
        request_step(m, ev, in, *now, &a);
        return a;
}

/* From IDLE to a successful call, counting hooks runs. */
static void drive_to_call(RequestMemory *m, const RequestInput *in, uint64_t *now,
                          unsigned *hooks) {
        RequestEvent first =
                m->phase == REQUEST_IDLE || m->at == 0 ? REQUEST_EV_EVALUATE : REQUEST_EV_TIMER;
        RequestActions a = step(m, first, in, now);
        assert_true(a.what & LOOK);
        a = step(m, REQUEST_EV_VIEW, in, now);
        assert_int_equal(m->phase, REQUEST_JITTER);
        a = step(m, REQUEST_EV_TIMER, in, now);
        assert_true(a.what & LOOK);
        a = step(m, REQUEST_EV_VIEW, in, now);
        if (a.what & HOOKS) {
                (*hooks)++;
                a = step(m, REQUEST_EV_HOOKS_DONE, in, now);
        }
        assert_true(a.what & CALL);
        assert_int_equal(a.call, REPLACE_SET_UNHEALTHY);
        assert_int_equal(m->phase, REQUEST_CALLING);
}

static void test_set_healthy_again_acts_on_next_failure(void **state) {
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        PolicyDecision shown = { .action = POLICY_ACTION_NONE,
                                 .reason = POLICY_REASON_GROUP_REPLACING };
        RequestView still_unhealthy = { POLICY_MEMBERSHIP_IN_GROUP, POLICY_LIFECYCLE_IN_SERVICE,
                                        false };
        uint64_t now = NOW;
        unsigned hooks = 0;
        RequestActions a;
        (void) state;

        drive_to_call(&m, &in, &now, &hooks);
        a = step(&m, REQUEST_EV_CALL_OK, &in, &now);
        assert_true(m.requested && (a.what & PERSIST));
        a = step(&m, REQUEST_EV_TIMER, &in, &now);
        in.decision = &shown; /* ReplaceUnhealthy suspended: Unhealthy, and it stays */
        a = step(&m, REQUEST_EV_VIEW, &in, &now);
        assert_int_equal(m.phase, REQUEST_CONFIRMED);
        assert_true(m.confirmed && (a.what & CONFIRMED));
        /* The operator repairs it: verdict healthy, but the group still shows Unhealthy. */
        in = input(POLICY_VERDICT_HEALTHY);
        in.view = &still_unhealthy;
        for (int i = 0; i < 3; i++) {
                a = step(&m, REQUEST_EV_TIMER, &in, &now);
                assert_true(a.what & LOOK);
                a = step(&m, REQUEST_EV_VIEW, &in, &now);
                assert_int_equal(m.phase, REQUEST_CONFIRMED);
        }
        /* ...and sets it Healthy: the request ends. */
        in.view = &back_in_service;
        a = step(&m, REQUEST_EV_TIMER, &in, &now);
        a = step(&m, REQUEST_EV_VIEW, &in, &now);
        assert_int_equal(m.phase, REQUEST_IDLE);
        assert_true((a.what & ENDED) && !m.requested && !m.confirmed);
        /* The next failure is a new decision: its hooks run, its call is made. */
        in = input(POLICY_VERDICT_UNHEALTHY);
        drive_to_call(&m, &in, &now, &hooks);
        assert_int_equal(hooks, 2);
        assert_int_equal(m.decision, 2);
}

static void test_access_denied_says_once_and_acts_when_allowed(void **state) {
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        uint64_t now = NOW, last_delay = 0;
        unsigned hooks = 0, said = 0;
        RequestActions a;
        (void) state;

        for (int i = 0; i < 6; i++) {
                uint64_t t0;
                drive_to_call(&m, &in, &now, &hooks);
                t0 = now;
                a = step(&m, REQUEST_EV_CALL_FAILED, &in, &now);
                assert_int_equal(m.phase, REQUEST_RETRY);
                assert_int_equal(a.error, REQUEST_ERROR_PERMANENT);
                said += !!(a.what & ERROR);
                /* Slowly: never sooner than a second, never later than the cap. */
                assert_true(m.at - t0 >= USEC_PER_SEC);
                assert_true(m.at - t0 <= 2 * REQUEST_HOLD_CAP_USEC);
                assert_true(m.at - t0 <= 5 * CI || i > 0);
                last_delay = m.at - t0;
        }
        (void) last_delay;
        assert_int_equal(hooks, 1); /* once per decision, however many attempts */
        assert_int_equal(said, 1);  /* one error line */
        /* The permission is back: the next attempt succeeds. */
        drive_to_call(&m, &in, &now, &hooks);
        a = step(&m, REQUEST_EV_CALL_OK, &in, &now);
        assert_int_equal(m.phase, REQUEST_REQUESTED);
        assert_int_equal(hooks, 1);
}

static void test_throttling_backs_off(void **state) {
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        uint64_t now = NOW, prev = 0;
        unsigned hooks = 0, said = 0;
        RequestActions a;
        (void) state;

        in.code = "Throttling";
        in.unit = 0.999; /* the top of each jitter window, so growth shows */
        for (int i = 0; i < 8; i++) {
                uint64_t t0, delay;
                drive_to_call(&m, &in, &now, &hooks);
                t0 = now;
                a = step(&m, REQUEST_EV_CALL_FAILED, &in, &now);
                assert_int_equal(a.error, REQUEST_ERROR_TRANSIENT);
                said += !!(a.what & ERROR);
                delay = m.at - t0;
                assert_true(delay <= REQUEST_RETRY_CAP_USEC);
                assert_true(delay >= prev || delay > REQUEST_RETRY_CAP_USEC * 9 / 10);
                prev = delay;
        }
        assert_true(prev > REQUEST_RETRY_CAP_USEC * 9 / 10);
        assert_int_equal(said, 1);
}

static void test_fleet_guard_looks_back_off_and_reset_on_kind(void **state) {
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        PolicyDecision guard = { .action = POLICY_ACTION_WAIT,
                                 .reason = POLICY_REASON_FLEET_GUARD };
        PolicyDecision storm = { .action = POLICY_ACTION_REPORT_ONLY,
                                 .reason = POLICY_REASON_STORM_BRAKE };
        uint64_t now = NOW, delays[8];
        unsigned looks = 0, said = 0;
        RequestActions a;
        (void) state;

        in.unit = 0.999;
        in.decision = &guard;
        a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
        for (int i = 0; i < 8; i++) {
                uint64_t t0 = now;
                looks += !!(a.what & LOOK);
                a = step(&m, REQUEST_EV_VIEW, &in, &now);
                said += !!(a.what & HELD);
                assert_int_equal(m.phase, REQUEST_HELD);
                delays[i] = m.at - t0;
                /* Other results in between ask nothing. */
                a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
                assert_int_equal(a.what, 0);
                a = step(&m, REQUEST_EV_TIMER, &in, &now);
        }
        assert_int_equal(said, 1); /* figures change, the kind does not: said once */
        assert_true(delays[0] < CI && delays[1] > CI && delays[2] > 2 * CI);
        assert_true(delays[7] <= REQUEST_HOLD_CAP_USEC && delays[7] > REQUEST_HOLD_CAP_USEC / 2);
        /* A new kind of reason starts the backoff over. */
        in.decision = &storm;
        {
                uint64_t t0 = now;
                a = step(&m, REQUEST_EV_VIEW, &in, &now);
                assert_true(a.what & HELD);
                assert_true(m.at - t0 < CI);
        }
        /* Once the reason is gone, it acts. */
        in.decision = &replace;
        a = step(&m, REQUEST_EV_TIMER, &in, &now);
        a = step(&m, REQUEST_EV_VIEW, &in, &now);
        assert_int_equal(m.phase, REQUEST_JITTER);
}

static void test_drain_outside_in_service_requests_nothing(void **state) {
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        uint64_t now = NOW;
        unsigned hooks = 0;
        RequestActions a;
        (void) state;

        /* Terminating:Wait: the drain hook stopped the service, the check fails. */
        in.not_in_service = true;
        a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
        assert_int_equal(m.phase, REQUEST_HELD);
        assert_false(a.what & (LOOK | CALL | HOOKS | ARM));
        for (int i = 0; i < 5; i++) {
                a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
                assert_int_equal(a.what, 0);
        }
        /* Leaving service while looking: the look is dropped. */
        m = (RequestMemory){ .held = _POLICY_REASON_MAX };
        in.not_in_service = false;
        a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
        assert_true(a.what & LOOK);
        in.not_in_service = true;
        a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
        assert_true(a.what & CANCEL);
        assert_int_equal(m.phase, REQUEST_HELD);
        /* Back in service (a cancelled scale-in): it decides again. */
        in.not_in_service = false;
        drive_to_call(&m, &in, &now, &hooks);
}

static void test_grace_and_restart(void **state) {
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        uint64_t now = NOW;
        RequestActions a;
        (void) state;

        in.grace_end = NOW + 100 * USEC_PER_SEC;
        a = step(&m, REQUEST_EV_EVALUATE, &in, &now);
        assert_int_equal(m.phase, REQUEST_HELD);
        assert_true(a.what & ARM);
        assert_int_equal(a.at, in.grace_end); /* asks nothing until the grace ends */
        in.grace_end = 0;
        a = step(&m, REQUEST_EV_TIMER, &in, &now);
        assert_true(a.what & LOOK);

        /* After a restart with a request on record, the group's answer decides. */
        m = (RequestMemory){
                .requested = true, .action = REPLACE_SET_UNHEALTHY, .decision = 3, .hooks_ran = 3
        };
        request_resume(&m, NOW);
        assert_int_equal(m.phase, REQUEST_REQUESTED);
        now = NOW;
        a = step(&m, REQUEST_EV_TIMER, &in, &now);
        assert_true(a.what & LOOK);
        {
                /* Just restarted: no check has a result, the verdict says "healthy", but
                 * the group shows the instance Unhealthy: the old request is confirmed. */
                PolicyDecision healthy = { .action = POLICY_ACTION_NONE,
                                           .reason = POLICY_REASON_HEALTHY };
                RequestView shown = { POLICY_MEMBERSHIP_IN_GROUP, POLICY_LIFECYCLE_TERMINATING,
                                      false };
                RequestInput fresh = input(POLICY_VERDICT_HEALTHY);

                fresh.decision = &healthy;
                fresh.view = &shown;
                a = step(&m, REQUEST_EV_VIEW, &fresh, &now);
                assert_int_equal(m.phase, REQUEST_CONFIRMED);
                assert_true(m.confirmed && !(a.what & ENDED));
        }
        m = (RequestMemory){ .requested = true, .confirmed = true };
        request_resume(&m, NOW);
        assert_int_equal(m.phase, REQUEST_CONFIRMED);
        m = (RequestMemory){ .phase = REQUEST_CALLING };
        request_resume(&m, NOW);
        assert_int_equal(m.phase, REQUEST_IDLE);
        assert_int_equal(m.at, 0);
}

static void test_gone_from_the_group_rests(void **state) {
        RequestMemory m = in_phase(REQUEST_CONFIRMED);
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        RequestView gone = { .membership = POLICY_MEMBERSHIP_STANDALONE };
        RequestActions a;
        (void) state;

        in.view = &gone;
        request_step(&m, REQUEST_EV_VIEW, &in, NOW, &a);
        assert_int_equal(m.phase, REQUEST_CONFIRMED);
        assert_true(m.requested && m.confirmed); /* replaced: status says so */
        assert_int_equal(a.what, ENDED);         /* no look armed, nothing new */
        request_step(&m, REQUEST_EV_EVALUATE, &in, NOW, &a);
        assert_int_equal(a.what, 0);
        request_step(&m, REQUEST_EV_TIMER, &in, NOW, &a);
        assert_int_equal(a.what, 0);
}

static void test_gone_ends_the_request(void **state) {
        RequestMemory m = in_phase(REQUEST_CALLING);
        RequestInput in = input(POLICY_VERDICT_UNHEALTHY);
        RequestActions a;
        (void) state;

        m.requested = true; /* asking again after an unconfirmed request */
        in.code = "ValidationError";
        in.message = "Instance Id not found - No managed instance found for instance ID";
        request_step(&m, REQUEST_EV_CALL_FAILED, &in, NOW, &a);
        assert_int_equal(a.error, REQUEST_ERROR_GONE);
        assert_true((a.what & ENDED) && !m.requested);
        assert_int_equal(m.phase, REQUEST_HELD);
}

static void test_error_classes(void **state) {
        static const struct {
                int error;
                const char *code, *message;
                RequestError want;
        } table[] = {
                { -EBUSY, "Throttling", "Rate exceeded", REQUEST_ERROR_TRANSIENT },
                { -EBUSY, "RequestLimitExceeded", NULL, REQUEST_ERROR_TRANSIENT },
                { -EREMOTEIO, "ServiceUnavailable", NULL, REQUEST_ERROR_TRANSIENT },
                { -EREMOTEIO, "InternalFailure", NULL, REQUEST_ERROR_TRANSIENT },
                { -EBUSY, "ResourceContention", NULL, REQUEST_ERROR_TRANSIENT },
                { -EBUSY, "ScalingActivityInProgress", NULL, REQUEST_ERROR_TRANSIENT },
                { -EREMOTEIO, NULL, NULL, REQUEST_ERROR_TRANSIENT }, /* a bare 5xx */
                { -ETIMEDOUT, NULL, NULL, REQUEST_ERROR_TRANSIENT },
                { -ECONNRESET, "", NULL, REQUEST_ERROR_TRANSIENT },
                { -EACCES, "ExpiredToken", NULL, REQUEST_ERROR_CREDENTIALS },
                { -EACCES, "RequestExpired", NULL, REQUEST_ERROR_CREDENTIALS },
                { -EACCES, "SignatureDoesNotMatch", NULL, REQUEST_ERROR_CREDENTIALS },
                { -EACCES, "InvalidClientTokenId", NULL, REQUEST_ERROR_CREDENTIALS },
                { -EACCES, "AccessDenied", "not authorized", REQUEST_ERROR_PERMANENT },
                { -EACCES, "UnauthorizedOperation", NULL, REQUEST_ERROR_PERMANENT },
                { -EINVAL, "ValidationError", "bad parameter", REQUEST_ERROR_PERMANENT },
                { -EINVAL, "ValidationError", "Instance Id not found - No managed instance",
                  REQUEST_ERROR_GONE },
                { -EINVAL, "InvalidInstanceID.NotFound", NULL, REQUEST_ERROR_GONE },
                { -EINVAL, "SomethingNew", NULL, REQUEST_ERROR_PERMANENT },
                { -ENOMEM, NULL, NULL, REQUEST_ERROR_PERMANENT },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (request_error_class(table[i].error, table[i].code, table[i].message) !=
                    table[i].want)
                        fail_msg("row %zu: %s", i, strempty(table[i].code));
        assert_string_equal(request_error_to_string(REQUEST_ERROR_GONE), "gone");
        assert_string_equal(request_phase_to_string(REQUEST_SECOND_LOOK), "second-look");
        assert_null(request_phase_to_string(_REQUEST_PHASE_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_pair),
                cmocka_unit_test(test_healthy_again),
                cmocka_unit_test(test_set_healthy_again_acts_on_next_failure),
                cmocka_unit_test(test_access_denied_says_once_and_acts_when_allowed),
                cmocka_unit_test(test_throttling_backs_off),
                cmocka_unit_test(test_fleet_guard_looks_back_off_and_reset_on_kind),
                cmocka_unit_test(test_drain_outside_in_service_requests_nothing),
                cmocka_unit_test(test_grace_and_restart),
                cmocka_unit_test(test_gone_ends_the_request),
                cmocka_unit_test(test_gone_from_the_group_rests),
                cmocka_unit_test(test_error_classes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

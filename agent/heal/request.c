/* SPDX-License-Identifier: MIT */
/*
 * The replacement request machine (request.h). The rules, each where it is applied:
 *  - A decision starts when an unhealthy instance leaves IDLE, and lasts until the
 *    request ends or the verdict is no longer unhealthy. hooks.d/unhealthy/ runs once
 *    per decision: a retry takes a fresh look and passes every gate again, but does not
 *    run the hooks again (`hooks_ran` is persisted, so neither does a restart).
 *  - A confirmed request ends when the group shows this instance InService and Healthy
 *    again (the next failure is a new decision), or gone (replaced: the record stays for
 *    status, and nothing more is asked). A healthy verdict ends an unconfirmed one.
 *  - While held back, looks back off: confirm_interval doubling per look up to 15 min,
 *    full jitter, reset when the kind of reason changes, not when its figures do.
 *  - Errors by class (request_error_class()): transient backs off from 5 s to 5 min;
 *    credentials were refreshed by the AWS client, so the same; permanent is said once
 *    per decision and retried slowly (retry_delay()); "gone" ends the request.
 *  - Outside InService (IMDS's target lifecycle state, or the group's answer) the machine
 *    holds and asks nothing: a drain that stops the service must not cause a request.
 */
#include <string.h>

#include "base/util.h"
#include "heal/request.h"

static uint64_t jittered(unsigned attempt, uint64_t base, uint64_t cap, double unit) {
        return MAX(backoff_full_jitter_usec(attempt, base, cap, unit), USEC_PER_SEC);
}

static uint64_t hold_cap(const RequestInput *in) {
        return in->hold_cap > 0 ? in->hold_cap : REQUEST_HOLD_CAP_USEC;
}

static void arm(RequestMemory *m, uint64_t at, RequestActions *ret) {
        m->at = at;
        ret->what |= REQUEST_DO_ARM;
        ret->at = at;
}

/* Enter HELD for reason (a kind); at 0 means "no timer: an evaluation wakes us". */
static void hold(RequestMemory *m, PolicyReason reason, uint64_t at, RequestActions *ret) {
        if (m->held != reason) {
                m->held = reason;
                m->held_looks = 0;
                ret->what |= REQUEST_DO_SAY_HELD;
        }
        m->phase = REQUEST_HELD;
        if (at)
                arm(m, at, ret);
        else
                m->at = 0;
}

/* Held by a reason that clears by itself: look again after a backoff of that kind. */
static void hold_and_look_later(RequestMemory *m, PolicyReason reason, const RequestInput *in,
                                uint64_t now, RequestActions *ret) {
        hold(m, reason, 0, ret);
        arm(m,
            now + jittered(m->held_looks++, MAX(in->confirm_interval, USEC_PER_SEC), hold_cap(in),
                           in->unit),
            ret);
}

static void end_request(RequestMemory *m, RequestActions *ret) {
        m->requested = m->confirmed = false;
        m->action = REPLACE_NONE;
        ret->what |= REQUEST_DO_PERSIST | REQUEST_DO_SAY_ENDED;
}

/* The verdict is no longer unhealthy (or IMDS says we are leaving): stop what runs. */
static void stand_down(RequestMemory *m, const RequestInput *in, RequestActions *ret) {
        ret->what |= REQUEST_DO_CANCEL;
        m->at = 0;
        /* A drain the hooks started is not undone by anyone: say so. */
        if ((m->phase == REQUEST_HOOKS || (m->hooks_ran == m->decision && m->decision > 0)) &&
            !m->requested)
                ret->what |= REQUEST_DO_SAY_CANCELLED;
        if (m->requested && !m->confirmed)
                end_request(m, ret);
        m->call_failures = m->look_failures = 0;
        if (in->not_in_service && in->verdict == POLICY_VERDICT_UNHEALTHY)
                hold(m, POLICY_REASON_NOT_IN_SERVICE, 0, ret);
        else {
                m->phase = REQUEST_IDLE;
                m->held = _POLICY_REASON_MAX;
        }
}

/* The gates the machine can apply without asking the group, then the first look. */
static void try_now(RequestMemory *m, const RequestInput *in, uint64_t now, RequestActions *ret) {
        if (in->not_in_service)
                hold(m, POLICY_REASON_NOT_IN_SERVICE, 0, ret);
        else if (in->grace_end > now)
                hold(m, POLICY_REASON_GRACE_PERIOD, in->grace_end, ret);
        else if (!in->can_ask)
                hold_and_look_later(m, POLICY_REASON_NO_FRESH_ANSWER, in, now, ret);
        else {
                m->phase = REQUEST_LOOKING;
                m->at = 0;
                ret->what |= REQUEST_DO_LOOK;
        }
}

/* What held us without asking the group is gone: IMDS says in service again, or a reload
 * ended the grace period. */
static bool held_cleared(const RequestMemory *m, const RequestInput *in, uint64_t now) {
        if (m->held == POLICY_REASON_NOT_IN_SERVICE && m->at == 0)
                return !in->not_in_service;
        return m->held == POLICY_REASON_GRACE_PERIOD && in->grace_end <= now;
}

static void start_decision(RequestMemory *m, const RequestInput *in, uint64_t now,
                           RequestActions *ret) {
        m->decision++;
        m->call_failures = m->look_failures = 0;
        m->error_said = false;
        m->held = _POLICY_REASON_MAX;
        try_now(m, in, now, ret);
}

static bool unhealthy(const RequestInput *in) {
        return in->verdict == POLICY_VERDICT_UNHEALTHY;
}

/* The group shows what was asked: this instance Unhealthy or Terminating, or let go of
 * (whatever the verdict is now: the request was made on an earlier one). */
static bool view_shows_request(const RequestView *v) {
        if (!v)
                return false;
        if (v->membership == POLICY_MEMBERSHIP_STANDALONE)
                return true;
        return v->membership == POLICY_MEMBERSHIP_IN_GROUP &&
               (!v->healthy || v->lifecycle == POLICY_LIFECYCLE_TERMINATING);
}

/* A look answered while deciding (LOOKING or SECOND_LOOK). */
static void on_view(RequestMemory *m, const RequestInput *in, uint64_t now, RequestActions *ret) {
        const PolicyDecision *d = in->decision;

        m->look_failures = 0;
        if (m->requested && (d->confirmed || d->reason == POLICY_REASON_GROUP_REPLACING ||
                             view_shows_request(in->view))) {
                m->confirmed = true;
                ret->what |= REQUEST_DO_PERSIST | REQUEST_DO_SAY_CONFIRMED;
                m->phase = REQUEST_CONFIRMED;
                m->held = _POLICY_REASON_MAX;
                m->held_looks = 0;
                arm(m,
                    now + jittered(m->held_looks++, MAX(in->confirm_interval, USEC_PER_SEC),
                                   hold_cap(in), in->unit),
                    ret);
                return;
        }
        switch (d->action) {
        case POLICY_ACTION_REPLACE:
                m->action = d->replace;
                if (m->phase == REQUEST_LOOKING) {
                        /* Wait a random moment and look again, so two sick instances that
                         * decided together see each other's request before both go. */
                        m->phase = REQUEST_JITTER;
                        arm(m, now + in->jitter, ret);
                } else if (m->hooks_ran != m->decision) {
                        m->phase = REQUEST_HOOKS;
                        ret->what |= REQUEST_DO_HOOKS;
                } else {
                        m->phase = REQUEST_CALLING;
                        ret->what |= REQUEST_DO_CALL;
                        ret->call = m->action;
                }
                return;
        case POLICY_ACTION_WAIT:
        case POLICY_ACTION_REPORT_ONLY:
                if (d->reason == POLICY_REASON_GRACE_PERIOD && d->retry_usec > now)
                        hold(m, d->reason, d->retry_usec, ret);
                else
                        hold_and_look_later(m, d->reason, in, now, ret);
                return;
        default:
                /* Nothing to do now, but still unhealthy (the group is replacing us
                 * itself, say): keep looking, slowly, rather than at every result. */
                if (unhealthy(in))
                        hold_and_look_later(m, d->reason, in, now, ret);
                else
                        stand_down(m, in, ret);
        }
}

/* Transient: from 5 s doubling up to 5 min (or the hold cap, when lower); permanent: from
 * 5 x confirm_interval up to 2 x the hold cap (5 and 30 min by default), so a missing
 * permission is retried at a pace that costs nothing and still acts once it is fixed. */
static uint64_t retry_delay(const RequestMemory *m, const RequestInput *in, bool permanent) {
        uint64_t base = REQUEST_RETRY_BASE_USEC, cap = MIN(REQUEST_RETRY_CAP_USEC, hold_cap(in));

        if (permanent) {
                base = MAX(5 * in->confirm_interval, REQUEST_RETRY_BASE_USEC);
                cap = MAX(2 * hold_cap(in), base);
        }
        return jittered(m->call_failures - 1, base, cap, in->unit);
}

static void on_call_failed(RequestMemory *m, const RequestInput *in, uint64_t now,
                           RequestActions *ret) {
        RequestError e = request_error_class(in->error, in->code, in->message);
        bool permanent = e == REQUEST_ERROR_PERMANENT;

        m->call_failures++;
        m->error = e;
        ret->error = e;
        if (e == REQUEST_ERROR_GONE) {
                ret->what |= REQUEST_DO_SAY_ERROR;
                if (m->requested)
                        end_request(m, ret);
                hold_and_look_later(m, POLICY_REASON_GROUP_REPLACING, in, now, ret);
                return;
        }
        if (permanent ? !m->error_said : m->call_failures == 1)
                ret->what |= REQUEST_DO_SAY_ERROR;
        if (permanent)
                m->error_said = true;
        m->phase = REQUEST_RETRY;
        arm(m, now + retry_delay(m, in, permanent), ret);
}

/* A look that failed: no answer is no action; ask again after a transient backoff. */
static void on_view_failed(RequestMemory *m, const RequestInput *in, uint64_t now,
                           RequestActions *ret) {
        m->look_failures++;
        m->error = REQUEST_ERROR_TRANSIENT;
        ret->error = REQUEST_ERROR_TRANSIENT;
        if (m->look_failures == 1)
                ret->what |= REQUEST_DO_SAY_ERROR;
        if (m->phase != REQUEST_CONFIRMED)
                hold(m, POLICY_REASON_NO_FRESH_ANSWER, 0, ret);
        arm(m,
            now + jittered(m->look_failures - 1, REQUEST_RETRY_BASE_USEC, REQUEST_RETRY_CAP_USEC,
                           in->unit),
            ret);
}

static void on_confirmed_view(RequestMemory *m, const RequestInput *in, uint64_t now,
                              RequestActions *ret) {
        const RequestView *v = in->view;

        m->look_failures = 0;
        if (v->membership == POLICY_MEMBERSHIP_STANDALONE) {
                /* Gone from the group: the request did what it was for. The record stays
                 * (status says "replaced"), nothing more is asked, nothing new starts: this
                 * instance is on its way out. A restart asks once more and decides. */
                m->at = 0;
                ret->what |= REQUEST_DO_SAY_ENDED;
                return;
        }
        if (v->membership == POLICY_MEMBERSHIP_IN_GROUP &&
            v->lifecycle == POLICY_LIFECYCLE_IN_SERVICE && v->healthy) {
                end_request(m, ret);
                m->phase = REQUEST_IDLE;
                m->at = 0;
                if (unhealthy(in)) /* the next failure is a new request */
                        start_decision(m, in, now, ret);
                return;
        }
        arm(m,
            now + jittered(m->held_looks++, MAX(in->confirm_interval, USEC_PER_SEC), hold_cap(in),
                           in->unit),
            ret);
}

void request_step(RequestMemory *m, RequestEvent ev, const RequestInput *in, uint64_t now,
                  RequestActions *ret) {
        RequestPhase p = m->phase;

        *ret = (RequestActions){};
        switch (ev) {
        case REQUEST_EV_EVALUATE:
                if (p == REQUEST_IDLE) {
                        if (unhealthy(in))
                                start_decision(m, in, now, ret);
                } else if (p == REQUEST_REQUESTED) {
                        if (!unhealthy(in)) {
                                ret->what |= REQUEST_DO_CANCEL;
                                end_request(m, ret);
                                m->phase = REQUEST_IDLE;
                                m->at = 0;
                        }
                } else if (p == REQUEST_HELD && unhealthy(in) && held_cleared(m, in, now))
                        try_now(m, in, now, ret);
                else if (p == REQUEST_HELD || p == REQUEST_LOOKING || p == REQUEST_JITTER ||
                         p == REQUEST_SECOND_LOOK || p == REQUEST_HOOKS || p == REQUEST_RETRY) {
                        if (!unhealthy(in) ||
                            (in->not_in_service && m->held != POLICY_REASON_NOT_IN_SERVICE))
                                stand_down(m, in, ret);
                }
                /* CALLING: committed, the call is out. CONFIRMED: the group decides. */
                break;
        case REQUEST_EV_TIMER:
                if (m->at == 0 || now < m->at)
                        break; /* stale, or early */
                m->at = 0;
                if (p == REQUEST_HELD || p == REQUEST_RETRY) {
                        if (unhealthy(in) || m->requested)
                                try_now(m, in, now, ret);
                        else
                                stand_down(m, in, ret);
                } else if (p == REQUEST_JITTER) {
                        m->phase = REQUEST_SECOND_LOOK;
                        ret->what |= REQUEST_DO_LOOK;
                } else if (p == REQUEST_REQUESTED) {
                        m->phase = REQUEST_LOOKING;
                        ret->what |= REQUEST_DO_LOOK;
                } else if (p == REQUEST_CONFIRMED)
                        ret->what |= REQUEST_DO_LOOK;
                break;
        case REQUEST_EV_VIEW:
                if (p == REQUEST_LOOKING || p == REQUEST_SECOND_LOOK)
                        on_view(m, in, now, ret);
                else if (p == REQUEST_CONFIRMED && m->at == 0)
                        on_confirmed_view(m, in, now, ret);
                break;
        case REQUEST_EV_VIEW_FAILED:
                if (p == REQUEST_LOOKING || p == REQUEST_SECOND_LOOK ||
                    (p == REQUEST_CONFIRMED && m->at == 0))
                        on_view_failed(m, in, now, ret);
                break;
        case REQUEST_EV_HOOKS_DONE:
                if (p != REQUEST_HOOKS)
                        break;
                m->hooks_ran = m->decision;
                m->phase = REQUEST_CALLING;
                ret->what |= REQUEST_DO_PERSIST | REQUEST_DO_CALL;
                ret->call = m->action;
                break;
        case REQUEST_EV_CALL_OK:
                if (p != REQUEST_CALLING)
                        break;
                m->requested = true;
                m->confirmed = false;
                m->call_failures = 0;
                m->phase = REQUEST_REQUESTED;
                m->held = _POLICY_REASON_MAX;
                ret->what |= REQUEST_DO_PERSIST | REQUEST_DO_SAY_REQUESTED;
                arm(m,
                    now + jittered(0, MAX(in->confirm_interval, USEC_PER_SEC) * 2, hold_cap(in),
                                   in->unit),
                    ret);
                break;
        case REQUEST_EV_CALL_FAILED:
                if (p == REQUEST_CALLING)
                        on_call_failed(m, in, now, ret);
                break;
        default:
                break;
        }
}

void request_resume(RequestMemory *m, uint64_t now) {
        m->phase = m->requested ? (m->confirmed ? REQUEST_CONFIRMED : REQUEST_REQUESTED)
                                : REQUEST_IDLE;
        m->held = _POLICY_REASON_MAX;
        m->held_looks = m->call_failures = m->look_failures = 0;
        m->error_said = false;
        m->at = m->requested ? now : 0; /* the group's answer decides: look at once */
}

/* ---- errors ---------------------------------------------------------------------- */

static const struct {
        const char *code;
        RequestError class;
} error_codes[] = {
        { "Throttling", REQUEST_ERROR_TRANSIENT },
        { "ThrottlingException", REQUEST_ERROR_TRANSIENT },
        { "RequestLimitExceeded", REQUEST_ERROR_TRANSIENT },
        { "RequestThrottled", REQUEST_ERROR_TRANSIENT },
        { "TooManyRequestsException", REQUEST_ERROR_TRANSIENT },
        { "ResourceContention", REQUEST_ERROR_TRANSIENT },
        { "ScalingActivityInProgress", REQUEST_ERROR_TRANSIENT },
        { "ServiceUnavailable", REQUEST_ERROR_TRANSIENT },
        { "Unavailable", REQUEST_ERROR_TRANSIENT },
        { "InternalFailure", REQUEST_ERROR_TRANSIENT },
        { "InternalError", REQUEST_ERROR_TRANSIENT },
        { "ExpiredToken", REQUEST_ERROR_CREDENTIALS },
        { "ExpiredTokenException", REQUEST_ERROR_CREDENTIALS },
        { "RequestExpired", REQUEST_ERROR_CREDENTIALS },
        { "SignatureDoesNotMatch", REQUEST_ERROR_CREDENTIALS },
        { "InvalidClientTokenId", REQUEST_ERROR_CREDENTIALS },
        { "IncompleteSignature", REQUEST_ERROR_CREDENTIALS },
        { "AuthFailure", REQUEST_ERROR_CREDENTIALS },
        { "InvalidInstanceID.NotFound", REQUEST_ERROR_GONE },
        { "InvalidInstanceID.Malformed", REQUEST_ERROR_PERMANENT },
        { "AccessDenied", REQUEST_ERROR_PERMANENT },
        { "AccessDeniedException", REQUEST_ERROR_PERMANENT },
        { "UnauthorizedOperation", REQUEST_ERROR_PERMANENT },
        { "OptInRequired", REQUEST_ERROR_PERMANENT },
        { "ValidationError", REQUEST_ERROR_PERMANENT },
};

RequestError request_error_class(int error, const char *code, const char *message) {
        if (!isempty(code)) {
                /* Auto Scaling says an instance it does not manage with a ValidationError. */
                if (streq(code, "ValidationError") && message &&
                    (strstr(message, "not found") || strstr(message, "No managed instance")))
                        return REQUEST_ERROR_GONE;
                for (size_t i = 0; i < ELEMENTSOF(error_codes); i++)
                        if (streq(code, error_codes[i].code))
                                return error_codes[i].class;
                return REQUEST_ERROR_PERMANENT; /* a code we do not know: do not hammer */
        }
        /* No AWS code: the network or the endpoint (timeouts, resets, 5xx without an
         * error document) is transient; a local failure to even build the call is not. */
        return error == -ENOMEM || error == -EINVAL ? REQUEST_ERROR_PERMANENT
                                                    : REQUEST_ERROR_TRANSIENT;
}

static const char *const phase_names[_REQUEST_PHASE_MAX] = {
        [REQUEST_IDLE] = "idle",
        [REQUEST_HELD] = "held",
        [REQUEST_LOOKING] = "looking",
        [REQUEST_JITTER] = "jitter",
        [REQUEST_SECOND_LOOK] = "second-look",
        [REQUEST_HOOKS] = "hooks",
        [REQUEST_CALLING] = "calling",
        [REQUEST_RETRY] = "retry",
        [REQUEST_REQUESTED] = "requested",
        [REQUEST_CONFIRMED] = "confirmed",
};

const char *request_phase_to_string(RequestPhase p) {
        return (unsigned) p < _REQUEST_PHASE_MAX ? phase_names[p] : NULL;
}

static const char *const error_names[_REQUEST_ERROR_MAX] = {
        [REQUEST_ERROR_TRANSIENT] = "transient",
        [REQUEST_ERROR_CREDENTIALS] = "credentials",
        [REQUEST_ERROR_PERMANENT] = "permanent",
        [REQUEST_ERROR_GONE] = "gone",
};

const char *request_error_to_string(RequestError e) {
        return (unsigned) e < _REQUEST_ERROR_MAX ? error_names[e] : NULL;
}

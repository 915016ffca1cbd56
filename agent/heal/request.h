/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The replacement request, as one pure machine in the style of lifecycle_plan():
 * (phase, event, inputs, now) -> (next phase, actions). heal.c only carries the actions
 * out (asks the group, runs hooks.d/unhealthy/, makes the call, arms one timer,
 * persists) and feeds back what happened as the next event. Its life, in short:
 *
 *   IDLE --unhealthy--> LOOKING --REPLACE--> JITTER --timer--> SECOND_LOOK --REPLACE-->
 *   HOOKS (once per decision) --> CALLING --ok--> REQUESTED --group shows it--> CONFIRMED
 *   --group shows this instance InService and Healthy again, or gone--> IDLE
 *
 * and every "not now" (grace period, fleet guard, brakes, no answer, an AWS error) is
 * HELD or RETRY with a timer; every retry takes a fresh look and passes every gate
 * again. The rules are in request.c, next to the code; drover.conf(5) tells users.
 */

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "heal/policy.h"

typedef enum RequestPhase {
        REQUEST_IDLE,        /* nothing asked, nothing planned */
        REQUEST_HELD,        /* held back (grace, guard, brake, no answer): look at `at` */
        REQUEST_LOOKING,     /* the first look is out */
        REQUEST_JITTER,      /* the random wait before the second look */
        REQUEST_SECOND_LOOK, /* the look right before acting is out */
        REQUEST_HOOKS,       /* hooks.d/unhealthy/ runs */
        REQUEST_CALLING,     /* the replacement call is out */
        REQUEST_RETRY,       /* the call failed: look again (fresh gates) at `at` */
        REQUEST_REQUESTED,   /* asked; waiting for the group to show it */
        REQUEST_CONFIRMED,   /* the group shows it; waiting for the request's end */
        _REQUEST_PHASE_MAX,
} RequestPhase;

typedef enum RequestEvent {
        REQUEST_EV_EVALUATE,    /* the verdict (or anything heal decides on) may have changed */
        REQUEST_EV_TIMER,       /* the timer the machine armed fired */
        REQUEST_EV_VIEW,        /* a look answered: in->decision and in->view are set */
        REQUEST_EV_VIEW_FAILED, /* a look failed (in->error, in->code) */
        REQUEST_EV_HOOKS_DONE,  /* hooks.d/unhealthy/ finished (whatever they returned) */
        REQUEST_EV_CALL_OK,     /* the replacement call succeeded */
        REQUEST_EV_CALL_FAILED, /* it failed: in->error, in->code, in->message */
        _REQUEST_EV_MAX,
} RequestEvent;

/* What an AWS error means for the request (request_error_class()). */
typedef enum RequestError {
        REQUEST_ERROR_TRANSIENT,   /* throttling, 5xx, network, contention: back off, retry */
        REQUEST_ERROR_CREDENTIALS, /* expired or bad credentials, clock: refreshed, retry soon */
        REQUEST_ERROR_PERMANENT,   /* permissions, validation: said once, retried slowly */
        REQUEST_ERROR_GONE,        /* this instance is not in the group any more: done */
        _REQUEST_ERROR_MAX,
} RequestError;

typedef struct RequestMemory {
        /* Persisted (state.json): what was asked and what ran. */
        bool requested;       /* a call succeeded and the request has not ended */
        bool confirmed;       /* the group showed it */
        ReplaceAction action; /* what was asked */
        uint64_t decision;    /* the decision being carried out (or the last one) */
        uint64_t hooks_ran;   /* the decision whose hooks.d/unhealthy/ ran */
        /* The run's own. */
        RequestPhase phase;
        PolicyReason held;      /* the reason kind of HELD, for the backoff */
        unsigned held_looks;    /* looks under that kind in a row */
        unsigned call_failures; /* failed calls in a row (the retry backoff) */
        unsigned look_failures; /* failed looks in a row */
        RequestError error;     /* the class of the last failure */
        bool error_said;        /* a permanent error of this decision was logged */
        uint64_t at;            /* the armed timer (CLOCK_BOOTTIME usec), 0 when none */
} RequestMemory;

/* The facts of a fresh view the machine reads itself (to end a confirmed request). */
typedef struct RequestView {
        PolicyMembership membership;
        PolicyLifecycle lifecycle;
        bool healthy;
} RequestView;

typedef struct RequestInput {
        PolicyVerdictKind verdict;
        bool can_ask;                   /* an AWS client exists (the region is known) */
        bool not_in_service;            /* IMDS says the instance is leaving or not in
                                         * service (target-lifecycle-state): hold, ask nothing */
        uint64_t grace_end;             /* 0 when the grace period is over */
        const PolicyDecision *decision; /* EV_VIEW: policy_decide() on the view */
        const RequestView *view;        /* EV_VIEW */
        int error;                      /* EV_*_FAILED: negative errno */
        const char *code;               /* EV_*_FAILED: AWS error code or NULL */
        const char *message;            /* EV_CALL_FAILED: AWS message or NULL */
        uint64_t confirm_interval;      /* usec: the first re-look while held */
        uint64_t hold_cap;              /* usec: the looks' backoff cap; 0 = the default */
        uint64_t jitter;                /* usec: the random wait, already drawn */
        double unit;                    /* random in [0, 1), for backoffs */
} RequestInput;

/* What to do, in this order. */
enum {
        REQUEST_DO_CANCEL = 1U << 0,    /* cancel a look, hooks or a timer in flight */
        REQUEST_DO_LOOK = 1U << 1,      /* ask the group for a fresh view */
        REQUEST_DO_HOOKS = 1U << 2,     /* run hooks.d/unhealthy/ (then EV_HOOKS_DONE) */
        REQUEST_DO_CALL = 1U << 3,      /* make the call in `call` */
        REQUEST_DO_ARM = 1U << 4,       /* arm the timer at `at` */
        REQUEST_DO_PERSIST = 1U << 5,   /* save the persisted part of the memory */
        REQUEST_DO_SAY_HELD = 1U << 6,  /* the reason to hold changed: log, count it */
        REQUEST_DO_SAY_ERROR = 1U << 7, /* log the failure (once for a permanent one) */
        REQUEST_DO_SAY_REQUESTED = 1U << 8,
        REQUEST_DO_SAY_CONFIRMED = 1U << 9,
        REQUEST_DO_SAY_ENDED = 1U << 10,     /* the request ended (healthy again, or gone) */
        REQUEST_DO_SAY_CANCELLED = 1U << 11, /* cancelled after its hooks ran: nothing
                                              * undoes a drain */
};

typedef struct RequestActions {
        unsigned what;      /* REQUEST_DO_* */
        uint64_t at;        /* DO_ARM */
        ReplaceAction call; /* DO_CALL */
        RequestError error; /* DO_SAY_ERROR: the class */
} RequestActions;

/* Backoff of the looks while held: base doubling per look to this (policy.hold_backoff_max). */
#define REQUEST_HOLD_CAP_USEC (15 * 60 * USEC_PER_SEC)
/* A failed call, transient: from 5 s up to 5 min (or the hold cap when lower). A
 * permanent one: from 5 x confirm_interval up to 2 x the hold cap (5 and 30 min). */
#define REQUEST_RETRY_BASE_USEC (5 * USEC_PER_SEC)
#define REQUEST_RETRY_CAP_USEC (5 * 60 * USEC_PER_SEC)

/*
 * One step. m is updated in place (only its own fields); ret says what to do. Events
 * that do not belong to the phase (a stale answer, a timer after a cancel) change
 * nothing and do nothing.
 */
void request_step(RequestMemory *m, RequestEvent ev, const RequestInput *in, uint64_t now,
                  RequestActions *ret);

/* The class of an AWS error (code may be NULL: then by errno), from a table. */
RequestError request_error_class(int error, const char *code, const char *message);

/* Restart: the phase a persisted memory resumes in (REQUESTED, CONFIRMED or IDLE). With
 * a request, the timer is due at now: arm it, and the look it makes decides. */
void request_resume(RequestMemory *m, uint64_t now);

const char *request_phase_to_string(RequestPhase p);
const char *request_error_to_string(RequestError e);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The pure decision core (DESIGN.md "The verdict and what follows").
 *
 * Nothing here does I/O, reads a clock, logs or keeps state: the daemon fills plain
 * input structs, calls, and acts on the plain output structs. The structs are public on
 * purpose; this module is the exception to the opaque-type rule.
 *
 * Time: every timestamp and every `now` is microseconds of CLOCK_BOOTTIME, i.e. time
 * since boot (now_usec(CLOCK_BOOTTIME), or sd_event_now(e, CLOCK_BOOTTIME, ...)). Using
 * the one clock everywhere makes "seconds since boot" (the grace period) simply `now`,
 * and it does not jump with the wall clock. Values of one call must all come from it.
 *
 * Three steps, in the order the daemon uses them:
 *   1. policy_remedy_step(): per failed check with a remediation, may we remediate now,
 *      when next, or are its attempts exhausted (and is it settling after an attempt);
 *   2. policy_verdict(): from every check's role, hard state and remediation status,
 *      is this instance HEALTHY, DEGRADED, REMEDIATING or UNHEALTHY, and is it ready;
 *   3. policy_decide(): given the verdict and a fresh view of the group, do nothing,
 *      wait, report only, or replace; always with a reason enum and a human message.
 * Before acting on REPLACE the daemon waits policy_jitter_usec() and asks the group
 * again, then calls policy_decide() once more with the new view.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <time.h>

#include "config/config.h"
#include "base/macro.h"

/* ---- 1. Remediation ladder ----------------------------------------------------------- */

typedef enum PolicyRemedy {
        POLICY_REMEDY_NONE,      /* the check has no remediation configured */
        POLICY_REMEDY_DUE,       /* attempt one now */
        POLICY_REMEDY_WAIT,      /* an attempt is allowed at at_usec (backoff + random delay) */
        POLICY_REMEDY_SETTLING,  /* an attempt was made; its failures do not count yet */
        POLICY_REMEDY_EXHAUSTED, /* no attempt left in the window: failures count */
        _POLICY_REMEDY_MAX,
} PolicyRemedy;

/*
 * Sliding-window semantics, precisely:
 *  - An attempt made at time t "counts" at time now while now - t < window. So
 *    attempts = 2, window = 3600 means: at most 2 attempts in any 3600 s; an attempt
 *    stops counting exactly window seconds after it was made (not at the top of the
 *    hour, not when the check recovers, not after a drover restart if the daemon keeps
 *    the times). window <= 0 means forever: attempts never stop counting.
 *  - The check is EXHAUSTED while the counted attempts >= attempts; at_usec then says
 *    when enough of them will have left the window for one more attempt. attempts = 0
 *    means exhausted from the start (a remediation that is never tried).
 *  - Recovery does not reset the window: a check that flaps (fails, is restarted,
 *    passes, fails again) uses up its attempts and then counts towards replacement.
 *    This is deliberate: a service that needs a restart every few minutes is broken.
 *  - Settle: for settle_usec after the most recent attempt the check is SETTLING, even
 *    when that attempt was the last one allowed: its failures do not count towards
 *    replacement until the restarted service had time to come back.
 *  - Next attempt: not before failed_usec (the time this failure began), not before the
 *    previous attempt + settle, and not before the previous attempt +
 *    backoff * 2^(k-1), k = attempts counted in the window (capped at the window); then
 *    plus unit * delay, the random delay, so a shared cause does not restart a service
 *    on every instance in the same second.
 * unit must be drawn once per planned attempt and kept until that attempt is made:
 * drawing a new one on every call would keep moving the attempt.
 */
typedef struct PolicyRemedyInput {
        unsigned attempts;       /* Remediation.attempts */
        double window;           /* Remediation.window, seconds */
        double backoff;          /* Remediation.backoff, seconds */
        double delay;            /* Remediation.delay, seconds */
        uint64_t settle_usec;    /* policy_settle_usec() */
        const uint64_t *history; /* earlier attempts' times, oldest first; NULL if n == 0 */
        size_t n_history;
        uint64_t failed_usec; /* when the check became hard FAILED this time */
        double unit;          /* random in [0, 1); outside that range treated as 0 */
} PolicyRemedyInput;

typedef struct PolicyRemedyStep {
        PolicyRemedy remedy; /* DUE, WAIT, SETTLING or EXHAUSTED */
        /* WAIT: when the attempt is due. SETTLING: when the settle ends. EXHAUSTED: when
         * an attempt will be allowed again (0 = never: window <= 0 or attempts == 0). */
        uint64_t at_usec;
        unsigned counted; /* attempts counted in the window now */
        bool exhausted;   /* also true while SETTLING after the last attempt */
} PolicyRemedyStep;

/* Fills a PolicyRemedyInput's config fields from a check's Remediation. */
void policy_remedy_input_from_config(const Remediation *r, double interval, unsigned fall,
                                     PolicyRemedyInput *ret);

/* Remediation.settle, or interval * fall when it is 0 (config.h's documented default). */
uint64_t policy_settle_usec(const Remediation *r, double interval, unsigned fall);

/*
 * The persisted attempt times (Unix seconds, oldest first) as CLOCK_BOOTTIME usec for
 * policy_remedy_step(), seen at now_unix / now. The wall clock may have stepped back
 * between attempts (NTP, a VM resumed): times are clamped so they never lie after now and
 * never go backwards, so a step cannot make the ladder skip its remaining attempts.
 * Writes n values to ret.
 */
void policy_remedy_history(const time_t *attempts, size_t n, time_t now_unix, uint64_t now,
                           uint64_t *ret);

/* -EINVAL when the history is not in order (oldest first) or lies after now. */
int policy_remedy_step(const PolicyRemedyInput *in, uint64_t now, PolicyRemedyStep *ret);

/* ---- 2. Verdict ------------------------------------------------------------------------ */

/* A check's hard state, as agent/check.h exposes it (the daemon maps it). UNKNOWN results
 * (broken plugin) never change the hard state, so they have no value here. */
typedef enum PolicyCheckState {
        POLICY_CHECK_PENDING, /* no hard state yet */
        POLICY_CHECK_PASSING,
        POLICY_CHECK_FAILED,
        _POLICY_CHECK_STATE_MAX,
} PolicyCheckState;

typedef struct PolicyCheckInput {
        const char *name;
        CheckRole role;
        PolicyCheckState state;
        PolicyRemedy remedy; /* NONE without remediation, else policy_remedy_step()'s */
} PolicyCheckInput;

typedef enum PolicyVerdictKind {
        POLICY_VERDICT_HEALTHY,     /* no liveness or dependency check failed */
        POLICY_VERDICT_DEGRADED,    /* only dependency checks failed: reported, never a reason */
        POLICY_VERDICT_REMEDIATING, /* a liveness check failed, its remediation is not exhausted */
        POLICY_VERDICT_UNHEALTHY,   /* a liveness check failed with no remediation left */
        _POLICY_VERDICT_MAX,
} PolicyVerdictKind;

/* Index arrays point into the input array; each is NULL when empty. */
typedef struct PolicyVerdict {
        PolicyVerdictKind verdict; /* the worst: UNHEALTHY > REMEDIATING > DEGRADED > HEALTHY */
        bool ready;                /* every readiness check PASSING (true if there is none) */
        size_t *failing;           /* failed liveness checks that count (UNHEALTHY) */
        size_t n_failing;
        size_t *remediating; /* failed liveness checks still being remediated */
        size_t n_remediating;
        size_t *dependencies; /* failed dependency checks */
        size_t n_dependencies;
} PolicyVerdict;

/*
 * A failed liveness check counts towards replacement only when its remediation is NONE
 * or EXHAUSTED; DUE, WAIT and SETTLING make it REMEDIATING. PENDING never counts.
 * Readiness checks only feed `ready`. Returns 0 or -ENOMEM; *ret is written on success
 * and must be released with policy_verdict_done().
 */
int policy_verdict(const PolicyCheckInput *checks, size_t n, PolicyVerdict *ret);
void policy_verdict_done(PolicyVerdict *v);

/* The names of the failing liveness checks joined with sep ("web,api"), for
 * DROVER_CHECKS and messages. malloc'd, "" when none; NULL on ENOMEM. */
char *policy_verdict_failing_names(const PolicyVerdict *v, const PolicyCheckInput *checks,
                                   const char *sep);

/* ---- 3. Replacement decision ------------------------------------------------------------ */

typedef enum PolicyLifecycle {
        POLICY_LIFECYCLE_UNKNOWN, /* missing, or a state this version does not know */
        POLICY_LIFECYCLE_PENDING, /* Pending, Pending:Wait, Pending:Proceed */
        POLICY_LIFECYCLE_QUARANTINED,
        POLICY_LIFECYCLE_IN_SERVICE,
        POLICY_LIFECYCLE_TERMINATING, /* Terminating, Terminating:Wait/Proceed, Terminated */
        POLICY_LIFECYCLE_DETACHED,    /* Detaching, Detached */
        POLICY_LIFECYCLE_STANDBY,     /* EnteringStandby, Standby */
        POLICY_LIFECYCLE_WARMED,      /* Warmed:* (warm pool) */
        _POLICY_LIFECYCLE_MAX,
} PolicyLifecycle;

/* Maps Auto Scaling's LifecycleState strings; NULL or unknown -> UNKNOWN. */
PolicyLifecycle policy_lifecycle_from_string(const char *s);
const char *policy_lifecycle_to_string(PolicyLifecycle l);

typedef enum PolicyMembership {
        POLICY_MEMBERSHIP_UNKNOWN, /* no successful DescribeAutoScalingInstances yet */
        POLICY_MEMBERSHIP_IN_GROUP,
        POLICY_MEMBERSHIP_STANDALONE, /* proven: a successful, EMPTY answer; never from an error */
        _POLICY_MEMBERSHIP_MAX,
} PolicyMembership;

typedef struct PolicyGroupInstance {
        const char *instance_id;
        PolicyLifecycle lifecycle;
        bool healthy; /* HealthStatus "Healthy" */
} PolicyGroupInstance;

typedef struct PolicyTag {
        const char *key;
        const char *value;
} PolicyTag;

/*
 * What the group said. `answered` is set only when every call behind the view succeeded
 * (DescribeAutoScalingInstances, and for a member also DescribeAutoScalingGroups and
 * DescribeScalingActivities); answered_usec is the time of the OLDEST of those answers.
 * Strings and arrays are borrowed for the duration of the call.
 */
typedef struct PolicyGroupView {
        bool answered;
        uint64_t answered_usec;
        PolicyMembership membership;
        const char *group_name;
        unsigned desired_capacity;
        PolicyLifecycle lifecycle;            /* this instance */
        bool healthy;                         /* this instance's HealthStatus in the group */
        const PolicyGroupInstance *instances; /* the group's instances, this one or not */
        size_t n_instances;
        const char *const *suspended; /* suspended process names, e.g. "ReplaceUnhealthy" */
        size_t n_suspended;
        const PolicyTag *tags; /* the group's tags */
        size_t n_tags;
        unsigned health_replacements_last_hour; /* from DescribeScalingActivities */
} PolicyGroupView;

typedef enum PolicyRequest {
        POLICY_REQUEST_NONE,      /* nothing asked of AWS (or nothing remembered) */
        POLICY_REQUEST_PENDING,   /* asked; the group has not shown it yet */
        POLICY_REQUEST_CONFIRMED, /* asked, and the group showed Unhealthy/Terminating */
        _POLICY_REQUEST_MAX,
} PolicyRequest;

typedef struct PolicyReplaceInput {
        PolicyVerdictKind verdict;
        const char *instance_id;
        PolicyGroupView group;
        uint64_t max_age_usec; /* the view is fresh while now - answered_usec <= this */
        PolicyRequest request;
        ReplaceAction requested; /* what was asked, when request is not NONE */
} PolicyReplaceInput;

typedef enum PolicyAction {
        POLICY_ACTION_NONE,        /* nothing to do */
        POLICY_ACTION_WAIT,        /* a reason that should clear by itself; decide again later */
        POLICY_ACTION_REPORT_ONLY, /* a deliberate stop (brake, config): log, metric, no AWS call */
        POLICY_ACTION_REPLACE,     /* carry out `replace` (after jitter and a second look) */
        _POLICY_ACTION_MAX,
} PolicyAction;

typedef enum PolicyReason {
        POLICY_REASON_HEALTHY,                /* NONE */
        POLICY_REASON_DEGRADED,               /* NONE: dependency checks only */
        POLICY_REASON_REMEDIATING,            /* NONE: remediation not exhausted */
        POLICY_REASON_ALREADY_REQUESTED,      /* NONE: our request is confirmed */
        POLICY_REASON_GROUP_REPLACING,        /* NONE: the group shows us Unhealthy/Terminating */
        POLICY_REASON_GRACE_PERIOD,           /* WAIT until retry_usec */
        POLICY_REASON_NO_FRESH_ANSWER,        /* WAIT: ask the group (again) */
        POLICY_REASON_STANDALONE_NOT_ALLOWED, /* REPORT_ONLY */
        POLICY_REASON_PROCESS_SUSPENDED,      /* REPORT_ONLY: operators' brake */
        POLICY_REASON_PAUSED_TAG,             /* REPORT_ONLY: operators' brake */
        POLICY_REASON_STANDBY_OR_DETACHED,    /* REPORT_ONLY: never replaced */
        POLICY_REASON_NOT_IN_SERVICE,         /* WAIT: Pending, Warmed, Quarantined, unknown */
        POLICY_REASON_STORM_BRAKE,            /* REPORT_ONLY */
        POLICY_REASON_FLEET_GUARD,            /* WAIT */
        POLICY_REASON_ACTION_NONE,            /* REPORT_ONLY: policy.action = none */
        POLICY_REASON_DRY_RUN,                /* REPORT_ONLY: `replace` is what would be done */
        POLICY_REASON_REPLACE,                /* REPLACE */
        _POLICY_REASON_MAX,
} PolicyReason;

typedef struct PolicyDecision {
        PolicyAction action;
        PolicyReason reason;
        /* REPLACE: what to call. DRY_RUN: what would have been called. Else REPLACE_NONE. */
        ReplaceAction replace;
        bool confirmed;      /* a PENDING request now shows in the group: persist it */
        uint64_t retry_usec; /* GRACE_PERIOD: when it ends; otherwise 0 */
        unsigned count;      /* FLEET_GUARD: not InService+Healthy, this one included;
                                   * STORM_BRAKE: health replacements in the last hour */
        unsigned total;      /* FLEET_GUARD: instances in the group */
        unsigned limit;      /* FLEET_GUARD: the budget; STORM_BRAKE: the limit */
        char message[256];   /* for logs, STATUS= and `drover status` */
} PolicyDecision;

/*
 * Budget arithmetic for max_unhealthy and max_replacements_per_hour: a count is itself;
 * "N%" is max(1, floor(N * desired / 100)), so a small group can still heal one at a
 * time. A value of 0 (count 0 or "0%") is 0: never replace.
 */
unsigned policy_budget_resolve(Budget b, unsigned desired);

/*
 * The gates, in order; the first that applies decides:
 *  1. verdict not UNHEALTHY                         -> NONE
 *  2. request CONFIRMED                             -> NONE
 *  3. now < grace_period                            -> WAIT (retry_usec = end of grace)
 *  4. no fresh answer, or membership UNKNOWN        -> WAIT
 *  5. the group shows this instance Unhealthy or Terminating -> NONE (confirmed = true
 *     when our request was PENDING)
 *  6. standalone: after our own set-unhealthy / terminate-in-asg request, the group let
 *     go of the instance: NONE (confirmed). Otherwise standalone_action must be
 *     terminate, else REPORT_ONLY; then 13-14
 *  7. a suspended ReplaceUnhealthy or Terminate process -> REPORT_ONLY
 *  8. group tag drover:paused = true (key and value case-insensitive, blanks around the
 *     value ignored; any other value, e.g. "yes", does not pause) -> REPORT_ONLY
 *  9. Standby / EnteringStandby / Detaching / Detached -> REPORT_ONLY (never replaced)
 * 10. any other lifecycle but InService                -> WAIT
 * 11. storm brake: health replacements in the last hour >= resolved
 *     max_replacements_per_hour (one more would be more than it allows) -> REPORT_ONLY
 * 12. fleet guard: instances not (InService and Healthy), this one counted as not,
 *     > resolved max_unhealthy                         -> WAIT
 * 13. policy.action = none -> REPORT_ONLY;  14. dry_run -> REPORT_ONLY (replace set)
 * 15. REPLACE with policy.action (standalone: REPLACE_TERMINATE).
 * All brakes are evaluated under dry_run and action = none too, so the report says what
 * would really have happened.
 */
void policy_decide(const PolicyConfig *cfg, const PolicyReplaceInput *in, uint64_t now,
                   PolicyDecision *ret);

/* ---- 4. Jitter and names ---------------------------------------------------------------- */

/* The random wait before acting: unit * jitter seconds; unit outside [0, 1) or a
 * negative jitter give 0. */
uint64_t policy_jitter_usec(double jitter, double unit);

/* Microseconds of grace period left at now (0 once it is over). */
uint64_t policy_grace_left_usec(const PolicyConfig *cfg, uint64_t now);

const char *policy_remedy_to_string(PolicyRemedy r);
const char *policy_verdict_to_string(PolicyVerdictKind v); /* "healthy", ... */
const char *policy_action_to_string(PolicyAction a);       /* "none", "wait", ... */
const char *policy_reason_to_string(PolicyReason r);       /* "fleet-guard", ... */

/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>

#include "heal/policy.h"

/* Durations in config are seconds as doubles; anything not positive (or NaN) is 0, and a
 * value too large for the clock is clamped so that additions below cannot wrap. */
#define POLICY_USEC_MAX (UINT64_MAX / 4)

static uint64_t sec_to_usec(double s) {
        if (!(s > 0))
                return 0;
        if (s >= (double) POLICY_USEC_MAX / USEC_PER_SEC)
                return POLICY_USEC_MAX;
        return (uint64_t) (s * USEC_PER_SEC);
}

static uint64_t add_usec(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool unit_ok(double unit) {
        return unit >= 0.0 && unit < 1.0;
}

/* ---- remediation ladder ---- */

uint64_t policy_settle_usec(const Remediation *r, double interval, unsigned fall) {
        if (r && r->settle > 0)
                return sec_to_usec(r->settle);
        return sec_to_usec(interval * (double) fall);
}

void policy_remedy_input_from_config(const Remediation *r, double interval, unsigned fall,
                                     PolicyRemedyInput *ret) {
        *ret = (PolicyRemedyInput){
                .attempts = r->attempts,
                .window = r->window,
                .backoff = r->backoff,
                .delay = r->delay,
                .settle_usec = policy_settle_usec(r, interval, fall),
        };
}

/* backoff * 2^(k-1) for the k-th attempt counted in the window, capped at the window. */
static uint64_t remedy_gap_usec(const PolicyRemedyInput *in, unsigned counted, uint64_t window) {
        double gap;

        if (counted == 0)
                return 0;
        gap = in->backoff > 0 ? in->backoff * ldexp(1.0, (int) MIN(counted - 1, 40u)) : 0;
        return window > 0 ? MIN(sec_to_usec(gap), window) : sec_to_usec(gap);
}

void policy_remedy_history(const time_t *attempts, size_t n, time_t now_unix, uint64_t now,
                           uint64_t *ret) {
        for (size_t k = 0; k < n; k++) {
                uint64_t age = now_unix > attempts[k]
                                       ? (uint64_t) (now_unix - attempts[k]) * USEC_PER_SEC
                                       : 0;
                /* Attempts from before this boot's clock started are simply long ago. */
                ret[k] = age < now ? now - age : 0;
                if (k > 0 && ret[k] < ret[k - 1])
                        ret[k] = ret[k - 1];
        }
}

int policy_remedy_step(const PolicyRemedyInput *in, uint64_t now, PolicyRemedyStep *ret) {
        uint64_t window, last = 0, settle_end = 0, at = 0;
        size_t first = 0;
        unsigned counted;
        bool exhausted;

        if (!in || !ret || (in->n_history > 0 && !in->history))
                return -EINVAL;
        for (size_t i = 0; i < in->n_history; i++)
                if (in->history[i] > now || (i > 0 && in->history[i] < in->history[i - 1]))
                        return -EINVAL;

        window = sec_to_usec(in->window);
        if (window > 0)
                while (first < in->n_history && now - in->history[first] >= window)
                        first++;
        counted = (unsigned) MIN(in->n_history - first, (size_t) UINT_MAX);
        exhausted = counted >= in->attempts;

        if (in->n_history > 0) {
                last = in->history[in->n_history - 1];
                settle_end = add_usec(last, in->settle_usec);
        }

        if (in->n_history > 0 && now < settle_end) {
                *ret = (PolicyRemedyStep){ POLICY_REMEDY_SETTLING, settle_end, counted, exhausted };
                return 0;
        }
        if (exhausted) {
                /* One more attempt is allowed once counted - attempts + 1 of them left. */
                if (window > 0 && in->attempts > 0)
                        at = add_usec(in->history[first + (counted - in->attempts)], window);
                *ret = (PolicyRemedyStep){ POLICY_REMEDY_EXHAUSTED, at, counted, true };
                return 0;
        }

        at = in->failed_usec;
        if (in->n_history > 0) {
                at = MAX(at, settle_end);
                at = MAX(at, add_usec(last, remedy_gap_usec(in, counted, window)));
        }
        if (unit_ok(in->unit))
                at = add_usec(at, sec_to_usec(in->unit * in->delay));
        *ret = (PolicyRemedyStep){ now >= at ? POLICY_REMEDY_DUE : POLICY_REMEDY_WAIT, at, counted,
                                   false };
        return 0;
}

/* ---- verdict ---- */

void policy_verdict_done(PolicyVerdict *v) {
        if (!v)
                return;
        free(v->failing);
        free(v->remediating);
        free(v->dependencies);
        *v = (PolicyVerdict){};
}

static bool remedy_counts(PolicyRemedy r) {
        /* Unknown values count: a mapping bug must not hide a failure forever. */
        return r == POLICY_REMEDY_NONE || r == POLICY_REMEDY_EXHAUSTED || r >= _POLICY_REMEDY_MAX;
}

int policy_verdict(const PolicyCheckInput *checks, size_t n, PolicyVerdict *ret) {
        _cleanup_(policy_verdict_done) PolicyVerdict v = { .ready = true };

        if (n > 0 && !checks)
                return -EINVAL;
        if (n > 0) {
                v.failing = calloc(n, sizeof(size_t));
                v.remediating = calloc(n, sizeof(size_t));
                v.dependencies = calloc(n, sizeof(size_t));
                if (!v.failing || !v.remediating || !v.dependencies)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < n; i++) {
                const PolicyCheckInput *c = &checks[i];
                bool failed = c->state == POLICY_CHECK_FAILED;

                switch (c->role) {
                case CHECK_ROLE_READINESS:
                        if (c->state != POLICY_CHECK_PASSING)
                                v.ready = false;
                        break;
                case CHECK_ROLE_DEPENDENCY:
                        if (failed)
                                v.dependencies[v.n_dependencies++] = i;
                        break;
                case CHECK_ROLE_LIVENESS:
                default: /* an unknown role is treated as the safe default, liveness */
                        if (!failed)
                                break;
                        if (remedy_counts(c->remedy))
                                v.failing[v.n_failing++] = i;
                        else
                                v.remediating[v.n_remediating++] = i;
                        break;
                }
        }

        if (v.n_failing > 0)
                v.verdict = POLICY_VERDICT_UNHEALTHY;
        else if (v.n_remediating > 0)
                v.verdict = POLICY_VERDICT_REMEDIATING;
        else if (v.n_dependencies > 0)
                v.verdict = POLICY_VERDICT_DEGRADED;
        else
                v.verdict = POLICY_VERDICT_HEALTHY;

        /* Empty lists are NULL, as documented. */
        if (v.n_failing == 0)
                v.failing = mfree(v.failing);
        if (v.n_remediating == 0)
                v.remediating = mfree(v.remediating);
        if (v.n_dependencies == 0)
                v.dependencies = mfree(v.dependencies);
        *ret = v;
        v = (PolicyVerdict){};
        return 0;
}

char *policy_verdict_failing_names(const PolicyVerdict *v, const PolicyCheckInput *checks,
                                   const char *sep) {
        size_t len = 1, seplen = strlen(strempty(sep));
        char *s, *p;

        for (size_t i = 0; i < v->n_failing; i++)
                len += strlen(strempty(checks[v->failing[i]].name)) + seplen;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = 0;
        for (size_t i = 0; i < v->n_failing; i++) {
                if (i > 0)
                        p = stpcpy(p, strempty(sep));
                p = stpcpy(p, strempty(checks[v->failing[i]].name));
        }
        return s;
}

/* ---- names ---- */

static const char *const lifecycle_names[_POLICY_LIFECYCLE_MAX] = {
        [POLICY_LIFECYCLE_UNKNOWN] = "unknown",         [POLICY_LIFECYCLE_PENDING] = "Pending",
        [POLICY_LIFECYCLE_QUARANTINED] = "Quarantined", [POLICY_LIFECYCLE_IN_SERVICE] = "InService",
        [POLICY_LIFECYCLE_TERMINATING] = "Terminating", [POLICY_LIFECYCLE_DETACHED] = "Detached",
        [POLICY_LIFECYCLE_STANDBY] = "Standby",         [POLICY_LIFECYCLE_WARMED] = "Warmed",
};

PolicyLifecycle policy_lifecycle_from_string(const char *s) {
        static const struct {
                const char *prefix;
                bool exact;
                PolicyLifecycle l;
        } table[] = {
                { "Pending", true, POLICY_LIFECYCLE_PENDING },
                { "Pending:", false, POLICY_LIFECYCLE_PENDING },
                { "Quarantined", true, POLICY_LIFECYCLE_QUARANTINED },
                { "InService", true, POLICY_LIFECYCLE_IN_SERVICE },
                { "Terminating", true, POLICY_LIFECYCLE_TERMINATING },
                { "Terminating:", false, POLICY_LIFECYCLE_TERMINATING },
                { "Terminated", true, POLICY_LIFECYCLE_TERMINATING },
                { "Detaching", true, POLICY_LIFECYCLE_DETACHED },
                { "Detached", true, POLICY_LIFECYCLE_DETACHED },
                { "EnteringStandby", true, POLICY_LIFECYCLE_STANDBY },
                { "Standby", true, POLICY_LIFECYCLE_STANDBY },
                { "Warmed:", false, POLICY_LIFECYCLE_WARMED },
        };

        if (!s)
                return POLICY_LIFECYCLE_UNKNOWN;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].exact ? streq(s, table[i].prefix)
                                   : strneq(s, table[i].prefix, strlen(table[i].prefix)))
                        return table[i].l;
        return POLICY_LIFECYCLE_UNKNOWN;
}

const char *policy_lifecycle_to_string(PolicyLifecycle l) {
        return (unsigned) l < _POLICY_LIFECYCLE_MAX ? lifecycle_names[l] : "unknown";
}

const char *policy_remedy_to_string(PolicyRemedy r) {
        static const char *const names[_POLICY_REMEDY_MAX] = {
                "none", "due", "wait", "settling", "exhausted",
        };
        return (unsigned) r < _POLICY_REMEDY_MAX ? names[r] : "unknown";
}

const char *policy_verdict_to_string(PolicyVerdictKind v) {
        static const char *const names[_POLICY_VERDICT_MAX] = {
                "healthy",
                "degraded",
                "remediating",
                "unhealthy",
        };
        return (unsigned) v < _POLICY_VERDICT_MAX ? names[v] : "unknown";
}

const char *policy_action_to_string(PolicyAction a) {
        static const char *const names[_POLICY_ACTION_MAX] = {
                "none",
                "wait",
                "report-only",
                "replace",
        };
        return (unsigned) a < _POLICY_ACTION_MAX ? names[a] : "unknown";
}

const char *policy_reason_to_string(PolicyReason r) {
        static const char *const names[_POLICY_REASON_MAX] = {
                [POLICY_REASON_HEALTHY] = "healthy",
                [POLICY_REASON_DEGRADED] = "degraded",
                [POLICY_REASON_REMEDIATING] = "remediating",
                [POLICY_REASON_ALREADY_REQUESTED] = "already-requested",
                [POLICY_REASON_GROUP_REPLACING] = "group-replacing",
                [POLICY_REASON_GRACE_PERIOD] = "grace-period",
                [POLICY_REASON_NO_FRESH_ANSWER] = "no-fresh-answer",
                [POLICY_REASON_STANDALONE_NOT_ALLOWED] = "standalone-not-allowed",
                [POLICY_REASON_PROCESS_SUSPENDED] = "process-suspended",
                [POLICY_REASON_PAUSED_TAG] = "paused-tag",
                [POLICY_REASON_STANDBY_OR_DETACHED] = "standby-or-detached",
                [POLICY_REASON_NOT_IN_SERVICE] = "not-in-service",
                [POLICY_REASON_STORM_BRAKE] = "storm-brake",
                [POLICY_REASON_FLEET_GUARD] = "fleet-guard",
                [POLICY_REASON_ACTION_NONE] = "action-none",
                [POLICY_REASON_DRY_RUN] = "dry-run",
                [POLICY_REASON_REPLACE] = "replace",
        };
        return (unsigned) r < _POLICY_REASON_MAX ? names[r] : "unknown";
}

/* config.c owns replace_action_to_string(); the policy core keeps its own copy so it
 * links (and is tested) without the config parser. */
static const char *action_name(ReplaceAction a) {
        static const char *const names[_REPLACE_ACTION_MAX] = {
                "set-unhealthy",
                "terminate-in-asg",
                "terminate",
                "none",
        };
        return (unsigned) a < _REPLACE_ACTION_MAX ? names[a] : "none";
}

/* ---- jitter, grace, budgets ---- */

uint64_t policy_jitter_usec(double jitter, double unit) {
        if (!unit_ok(unit))
                return 0;
        return sec_to_usec(unit * jitter);
}

uint64_t policy_grace_left_usec(const PolicyConfig *cfg, uint64_t now) {
        uint64_t grace = sec_to_usec(cfg->grace_period);

        return now < grace ? grace - now : 0;
}

unsigned policy_budget_resolve(Budget b, unsigned desired) {
        uint64_t v;

        if (b.value == 0)
                return 0;
        if (!b.percent)
                return b.value;
        v = (uint64_t) b.value * desired / 100;
        return (unsigned) MAX(MIN(v, (uint64_t) UINT_MAX), 1u);
}

/* ---- replacement decision ---- */

_printf_(4, 5) static void decision(PolicyDecision *d, PolicyAction action, PolicyReason reason,
                                    const char *fmt, ...) {
        va_list ap;

        d->action = action;
        d->reason = reason;
        va_start(ap, fmt);
        (void) vsnprintf(d->message, sizeof(d->message), fmt, ap);
        va_end(ap);
}

static bool view_fresh(const PolicyReplaceInput *in, uint64_t now) {
        /* An answer from the future means the clocks were mixed up: not trusted. */
        return in->group.answered && in->group.answered_usec <= now &&
               now - in->group.answered_usec <= in->max_age_usec;
}

static const char *suspended_brake(const PolicyGroupView *g) {
        static const char *const brakes[] = { "ReplaceUnhealthy", "Terminate" };

        for (size_t i = 0; i < g->n_suspended && g->suspended; i++)
                for (size_t j = 0; j < ELEMENTSOF(brakes); j++)
                        if (g->suspended[i] && strcasecmp(g->suspended[i], brakes[j]) == 0)
                                return brakes[j];
        return NULL;
}

static bool value_is_true(const char *v) {
        size_t len;

        v += strspn(v, " \t\r\n");
        len = strlen(v);
        while (len > 0 && strchr(" \t\r\n", v[len - 1]))
                len--;
        return len == 4 && strncasecmp(v, "true", 4) == 0;
}

static bool paused_tag(const PolicyGroupView *g) {
        for (size_t i = 0; i < g->n_tags && g->tags; i++)
                if (g->tags[i].key && strcasecmp(g->tags[i].key, "drover:paused") == 0 &&
                    g->tags[i].value && value_is_true(g->tags[i].value))
                        return true;
        return false;
}

/* Instances that are not InService-and-Healthy, counting this one as not. */
static void fleet_count(const PolicyReplaceInput *in, unsigned *ret_count, unsigned *ret_total) {
        const PolicyGroupView *g = &in->group;
        unsigned count = 0, total = 0;
        bool self_seen = false;

        for (size_t i = 0; i < g->n_instances && g->instances; i++) {
                const PolicyGroupInstance *x = &g->instances[i];

                total++;
                if (!self_seen && x->instance_id && in->instance_id &&
                    streq(x->instance_id, in->instance_id)) {
                        self_seen = true;
                        count++;
                } else if (!(x->lifecycle == POLICY_LIFECYCLE_IN_SERVICE && x->healthy))
                        count++;
        }
        if (!self_seen) {
                total++;
                count++;
        }
        *ret_count = count;
        *ret_total = total;
}

/* Gates 13-15: what is left once every brake has let the replacement through. */
static void decide_final(const PolicyConfig *cfg, ReplaceAction action, PolicyDecision *d) {
        if (action == REPLACE_NONE || (unsigned) action >= _REPLACE_ACTION_MAX) {
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_ACTION_NONE,
                         "policy.action = none: reporting only");
                return;
        }
        d->replace = action;
        if (cfg->dry_run) {
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_DRY_RUN, "dry_run: would %s",
                         action_name(action));
                return;
        }
        decision(d, POLICY_ACTION_REPLACE, POLICY_REASON_REPLACE, "replacing: %s",
                 action_name(action));
}

static void decide_standalone(const PolicyConfig *cfg, PolicyDecision *d) {
        if (cfg->standalone_action != REPLACE_TERMINATE) {
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_STANDALONE_NOT_ALLOWED,
                         "not in an Auto Scaling group and standalone_action = none");
                return;
        }
        /* policy.action = none means report only, for standalone instances too. */
        decide_final(cfg, cfg->action == REPLACE_NONE ? REPLACE_NONE : REPLACE_TERMINATE, d);
}

static void decide_in_group(const PolicyConfig *cfg, const PolicyReplaceInput *in,
                            PolicyDecision *d) {
        const PolicyGroupView *g = &in->group;
        const char *name = strempty(g->group_name), *brake;
        unsigned limit, count, total;

        if (g->lifecycle == POLICY_LIFECYCLE_TERMINATING || !g->healthy) {
                d->confirmed = in->request == POLICY_REQUEST_PENDING;
                decision(d, POLICY_ACTION_NONE,
                         d->confirmed ? POLICY_REASON_ALREADY_REQUESTED
                                      : POLICY_REASON_GROUP_REPLACING,
                         "group %s shows this instance %s", name,
                         g->lifecycle == POLICY_LIFECYCLE_TERMINATING ? "Terminating"
                                                                      : "Unhealthy");
                return;
        }

        brake = suspended_brake(g);
        if (brake) {
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_PROCESS_SUSPENDED,
                         "%s process suspended on group %s", brake, name);
                return;
        }
        if (paused_tag(g)) {
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_PAUSED_TAG,
                         "group %s is tagged drover:paused=true", name);
                return;
        }

        if (g->lifecycle == POLICY_LIFECYCLE_STANDBY || g->lifecycle == POLICY_LIFECYCLE_DETACHED) {
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_STANDBY_OR_DETACHED,
                         "instance is %s: never replaced",
                         policy_lifecycle_to_string(g->lifecycle));
                return;
        }
        if (g->lifecycle != POLICY_LIFECYCLE_IN_SERVICE) {
                decision(d, POLICY_ACTION_WAIT, POLICY_REASON_NOT_IN_SERVICE,
                         "lifecycle state %s, not InService",
                         policy_lifecycle_to_string(g->lifecycle));
                return;
        }

        limit = policy_budget_resolve(cfg->max_replacements_per_hour, g->desired_capacity);
        if (g->health_replacements_last_hour >= limit) {
                d->count = g->health_replacements_last_hour;
                d->limit = limit;
                decision(d, POLICY_ACTION_REPORT_ONLY, POLICY_REASON_STORM_BRAKE,
                         "storm brake: %u health replacements in the last hour, limit %u", d->count,
                         limit);
                return;
        }

        limit = policy_budget_resolve(cfg->max_unhealthy, g->desired_capacity);
        fleet_count(in, &count, &total);
        if (count > limit) {
                d->count = count;
                d->total = total;
                d->limit = limit;
                decision(d, POLICY_ACTION_WAIT, POLICY_REASON_FLEET_GUARD,
                         "fleet guard: %u of %u not InService+Healthy, budget %u", count, total,
                         limit);
                return;
        }

        decide_final(cfg, cfg->action, d);
}

static void decide(const PolicyConfig *cfg, const PolicyReplaceInput *in, uint64_t now,
                   PolicyDecision *d) {
        uint64_t grace_left;

        switch (in->verdict) {
        case POLICY_VERDICT_UNHEALTHY:
                break;
        case POLICY_VERDICT_REMEDIATING:
                decision(d, POLICY_ACTION_NONE, POLICY_REASON_REMEDIATING,
                         "liveness check failing, remediation in progress");
                return;
        case POLICY_VERDICT_DEGRADED:
                decision(d, POLICY_ACTION_NONE, POLICY_REASON_DEGRADED,
                         "only dependency checks failing: not a reason to replace");
                return;
        default:
                decision(d, POLICY_ACTION_NONE, POLICY_REASON_HEALTHY, "no liveness check failing");
                return;
        }

        if (in->request == POLICY_REQUEST_CONFIRMED) {
                decision(d, POLICY_ACTION_NONE, POLICY_REASON_ALREADY_REQUESTED,
                         "replacement already requested and confirmed");
                return;
        }

        grace_left = policy_grace_left_usec(cfg, now);
        if (grace_left > 0) {
                d->retry_usec = now + grace_left;
                decision(d, POLICY_ACTION_WAIT, POLICY_REASON_GRACE_PERIOD,
                         "grace period: %llu s left",
                         (unsigned long long) ((grace_left + USEC_PER_SEC - 1) / USEC_PER_SEC));
                return;
        }

        if (!in->group.answered) {
                decision(d, POLICY_ACTION_WAIT, POLICY_REASON_NO_FRESH_ANSWER,
                         "no successful answer from Auto Scaling yet");
                return;
        }
        if (!view_fresh(in, now)) {
                decision(d, POLICY_ACTION_WAIT, POLICY_REASON_NO_FRESH_ANSWER,
                         "the group's answer is too old to act on");
                return;
        }

        switch (in->group.membership) {
        case POLICY_MEMBERSHIP_IN_GROUP:
                decide_in_group(cfg, in, d);
                return;
        case POLICY_MEMBERSHIP_STANDALONE:
                if (in->request == POLICY_REQUEST_PENDING &&
                    (in->requested == REPLACE_SET_UNHEALTHY ||
                     in->requested == REPLACE_TERMINATE_IN_ASG)) {
                        /* The group took the instance out: that is the request taking effect. */
                        d->confirmed = true;
                        decision(d, POLICY_ACTION_NONE, POLICY_REASON_ALREADY_REQUESTED,
                                 "the group let go of this instance (it is in no group now)");
                        return;
                }
                decide_standalone(cfg, d);
                return;
        default:
                decision(d, POLICY_ACTION_WAIT, POLICY_REASON_NO_FRESH_ANSWER,
                         "group membership unknown");
                return;
        }
}

void policy_decide(const PolicyConfig *cfg, const PolicyReplaceInput *in, uint64_t now,
                   PolicyDecision *ret) {
        PolicyDecision d = { .replace = REPLACE_NONE };

        decide(cfg, in, now, &d);
        *ret = d;
}

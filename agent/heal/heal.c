/* SPDX-License-Identifier: MIT */
/*
 * Healing, the shell around policy.c: it gathers the inputs (check states, remediation
 * history, a fresh view of the group), asks policy what to do, and carries it out. All
 * times are CLOCK_BOOTTIME microseconds unless named *_unix.
 */
#include <inttypes.h>
#include <stdio.h>

#include "aws/autoscaling.h"
#include "heal/groupview.h"
#include "heal/heal.h"
#include "checks/hooks.h"
#include "base/log.h"
#include "checks/monitor.h"
#include "heal/policy.h"
#include "bus/remedy.h"
#include "state/state.h"
#include "base/util.h"

#define VIEW_MAX_AGE_USEC (60 * USEC_PER_SEC)
#define LOOK_RETRY_BASE_USEC (5 * USEC_PER_SEC)
#define LOOK_RETRY_CAP_USEC (300 * USEC_PER_SEC)
#define REMEDY_TIMEOUT_USEC (90 * USEC_PER_SEC)
#define HISTORY_MAX 16
/* While healthy, who are we? One cheap call every few minutes keeps the group name (for
 * metrics) and the lifecycle state (for STATUS=) current without loading the API. */
#define PROBE_INTERVAL_USEC (300 * USEC_PER_SEC)

typedef enum Phase {
        PHASE_IDLE,
        PHASE_LOOK,        /* asking the group */
        PHASE_JITTER,      /* the random wait before the second look */
        PHASE_SECOND_LOOK, /* asking again right before acting */
        PHASE_HOOKS,       /* hooks.d/unhealthy/ */
        PHASE_CALLING,     /* the replacement call */
} Phase;

typedef struct Slot {
        Heal *heal;
        char *name;
        uint64_t failed_usec; /* when the current failure began, 0 if not failed */
        double unit;          /* random delay of the planned attempt, drawn once */
        bool unit_drawn;
        RemedyJob *job;
        Plugin *exec;
        sd_event_source *timer;
} Slot;

struct Heal {
        Manager *m;
        bool have_identity;
        State state;
        Remedy *remedy;
        Slot **slots; /* pointers: callbacks hold their Slot */
        size_t n_slots;

        GroupView *view;
        Phase phase;
        sd_event_source *timer;
        uint64_t next_look;
        unsigned look_failures;
        AwsCall *call;
        HookRun *hooks;

        PolicyVerdictKind verdict;
        bool have_verdict;
        char *failing;    /* failing liveness checks, "web,api" */
        char *forced;     /* lifecycle.c: replace_on asked for a replacement, and why */
        char *group_name; /* as last answered: stable across refreshes, for metrics */
        PolicyMembership membership;
        char lifecycle[32]; /* this instance's LifecycleState as last answered */
        AwsCall *probe;
        sd_event_source *probe_timer;
        PolicyDecision decision;
        char summary[sizeof(((PolicyDecision *) 0)->message) + 96];
        char history[HISTORY_MAX][192];
        size_t n_history;
};

static void heal_evaluate(Heal *h);

static const Config *cfg(Heal *h) {
        return h->m->config;
}

static time_t unix_now(void) {
        return (time_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
}

static void remember(Heal *h, const char *fmt, ...) _printf_(2, 3);
static void remember(Heal *h, const char *fmt, ...) {
        char stamp[32], text[160];
        time_t t = unix_now();
        struct tm tm;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        if (h->n_history == HISTORY_MAX)
                memmove(h->history, h->history[1], (HISTORY_MAX - 1) * sizeof(h->history[0]));
        else
                h->n_history++;
        snprintf(h->history[h->n_history - 1], sizeof(h->history[0]), "%s %s", stamp, text);
}

static void save_state(Heal *h) {
        int r = state_save(drover_state_dir(), &h->state);

        if (r < 0)
                log_error_errno(r,
                                "cannot save state in %s: %m (it is only a memory: the "
                                "group's answer still decides)",
                                drover_state_dir());
}

/* ---- local remediation ------------------------------------------------------------ */

static Slot *slot_for(Heal *h, const char *name) {
        Slot **n, *s;

        for (size_t i = 0; i < h->n_slots; i++)
                if (streq(h->slots[i]->name, name))
                        return h->slots[i];
        n = reallocarray(h->slots, h->n_slots + 1, sizeof(Slot *));
        if (!n)
                return NULL;
        h->slots = n;
        s = calloc(1, sizeof(Slot));
        if (!s || !(s->name = strdup(name))) {
                free(s);
                return NULL;
        }
        s->heal = h;
        h->slots[h->n_slots++] = s;
        return s;
}

static void slot_free(Slot *s) {
        remedy_job_cancel(s->job);
        plugin_free(s->exec);
        sd_event_source_disable_unref(s->timer);
        free(s->name);
        free(s);
}

static int on_slot_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Slot *s = userdata;

        s->timer = sd_event_source_disable_unref(s->timer);
        heal_evaluate(s->heal);
        return 0;
}

static void slot_arm(Slot *s, uint64_t at) {
        if (s->timer && sd_event_source_set_time(s->timer, at) >= 0 &&
            sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT) >= 0)
                return;
        s->timer = sd_event_source_disable_unref(s->timer);
        (void) sd_event_add_time(s->heal->m->event, &s->timer, CLOCK_BOOTTIME, at,
                                 100 * USEC_PER_MSEC, on_slot_timer, s);
}

static void remedy_finished(Slot *s, bool ok, const char *what) {
        log_fields(ok ? LOG_NOTICE : LOG_WARNING, NULL, "remediation of %s: %s", s->name, what);
        remember(s->heal, "remediation of %s: %s", s->name, what);
        manager_update_status(s->heal->m);
}

static void on_restart_done(int result, const char *job_result, void *userdata) {
        Slot *s = userdata;
        char what[128];

        s->job = NULL;
        if (result == 0)
                snprintf(what, sizeof(what), "unit restarted");
        else
                snprintf(what, sizeof(what), "restart %s",
                         job_result ? job_result : strerror(-result));
        remedy_finished(s, result == 0, what);
}

static void on_exec_done(Plugin *p, PluginResult *res, void *userdata) {
        Slot *s = userdata;
        char what[160];

        snprintf(what, sizeof(what), "exec %s (%s)",
                 res->exit_code == 0 && !res->timed_out ? "succeeded" : "failed",
                 res->output ? res->output->message : "");
        plugin_free(s->exec);
        s->exec = NULL;
        remedy_finished(s, res->exit_code == 0 && !res->timed_out, what);
        plugin_result_free(res);
}

static void remedy_attempt(Heal *h, Slot *s, const CheckConfig *cc) {
        StateRemediation *rec;
        int r;

        /* Recorded before it starts: a crash mid-attempt must not buy another attempt. */
        if (state_remediation(&h->state, cc->name, &rec) >= 0) {
                state_remediation_add(rec, unix_now());
                save_state(h);
        }
        s->unit_drawn = false;
        manager_metric(h->m, METRICS_REMEDIATION_ATTEMPTED, 1);
        if (!isempty(cc->remediate.restart_unit)) {
                log_notice("check %s failed: restarting %s", cc->name, cc->remediate.restart_unit);
                r = remedy_restart_unit(h->remedy, cc->remediate.restart_unit, REMEDY_TIMEOUT_USEC,
                                        on_restart_done, s, &s->job);
        } else {
                PluginSpec spec;

                plugin_spec_from_check(cc, &spec);
                spec.argv = cc->remediate.exec;
                spec.shell = false;
                spec.timeout = REMEDY_TIMEOUT_USEC / (double) USEC_PER_SEC;
                log_notice("check %s failed: running %s", cc->name, cc->remediate.exec[0]);
                r = plugin_spawn(h->m->event, &spec, on_exec_done, s, &s->exec);
        }
        if (r < 0) {
                char what[96];
                snprintf(what, sizeof(what), "could not start: %s", strerror(-r));
                remedy_finished(s, false, what);
        }
}

/* The remediation ladder's state for check i, starting an attempt when one is due. */
static PolicyRemedy remedy_step(Heal *h, size_t i, uint64_t now) {
        const CheckConfig *cc = monitor_check_config(h->m->monitor, i);
        const Check *c = monitor_check(h->m->monitor, i);
        uint64_t history[STATE_MAX_ATTEMPTS], now_unix = (uint64_t) unix_now();
        StateRemediation *rec = NULL;
        PolicyRemedyInput in;
        PolicyRemedyStep step;
        Slot *s;

        if (cc->role != CHECK_ROLE_LIVENESS || !cc->has_remediation)
                return POLICY_REMEDY_NONE;
        s = slot_for(h, cc->name);
        if (!s)
                return POLICY_REMEDY_EXHAUSTED; /* out of memory: do not block healing */
        if (check_state(c) != CHECK_STATE_FAILED) {
                s->failed_usec = 0;
                return POLICY_REMEDY_NONE;
        }
        if (s->failed_usec == 0)
                s->failed_usec = check_last_change(c);
        if (!s->unit_drawn) {
                s->unit = random_unit();
                s->unit_drawn = true;
        }
        policy_remedy_input_from_config(&cc->remediate, cc->interval, cc->fall, &in);
        (void) state_remediation(&h->state, cc->name, &rec);
        in.n_history = 0;
        for (size_t k = 0; rec && k < rec->n_attempts; k++) {
                uint64_t age = now_unix > (uint64_t) rec->attempts[k]
                                       ? (now_unix - (uint64_t) rec->attempts[k]) * USEC_PER_SEC
                                       : 0;
                /* Attempts from before this boot's clock started are simply long ago. */
                history[in.n_history++] = age < now ? now - age : 0;
        }
        in.history = history;
        in.failed_usec = s->failed_usec;
        in.unit = s->unit;
        if (policy_remedy_step(&in, now, &step) < 0)
                return POLICY_REMEDY_EXHAUSTED;
        if (step.remedy == POLICY_REMEDY_DUE && !s->job && !s->exec) {
                remedy_attempt(h, s, cc);
                return POLICY_REMEDY_SETTLING;
        }
        if ((step.remedy == POLICY_REMEDY_WAIT || step.remedy == POLICY_REMEDY_SETTLING ||
             step.remedy == POLICY_REMEDY_EXHAUSTED) &&
            step.at_usec > now)
                slot_arm(s, step.at_usec);
        return step.remedy;
}

/* ---- replacement ------------------------------------------------------------------ */

static void arm_timer(Heal *h, uint64_t at, sd_event_time_handler_t cb) {
        h->timer = sd_event_source_disable_unref(h->timer);
        (void) sd_event_add_time(h->m->event, &h->timer, CLOCK_BOOTTIME, at, 100 * USEC_PER_MSEC,
                                 cb, h);
}

static int on_look_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Heal *h = userdata;

        h->timer = sd_event_source_disable_unref(h->timer);
        heal_evaluate(h);
        return 0;
}

static void set_decision(Heal *h, const PolicyDecision *d) {
        bool changed = d->action != h->decision.action || d->reason != h->decision.reason;

        h->decision = *d;
        if (!changed)
                return;
        if (d->action == POLICY_ACTION_WAIT || d->action == POLICY_ACTION_REPORT_ONLY) {
                log_fields(LOG_WARNING, NULL, "instance unhealthy (%s), replacement %s: %s",
                           strempty(h->failing),
                           d->action == POLICY_ACTION_WAIT ? "deferred" : "held back", d->message);
                remember(h, "replacement %s: %s",
                         d->action == POLICY_ACTION_WAIT ? "deferred" : "held back", d->message);
                manager_metric(h->m, METRICS_REPLACEMENT_DEFERRED, 1);
        }
}

/* Policy's decision for what is known now (view answered or not). */
static void decide(Heal *h, uint64_t now, PolicyDecision *ret) {
        PolicyReplaceInput in = {
                .verdict = h->verdict,
                .instance_id = h->m->identity.instance_id,
                .group = *groupview_policy(h->view),
                .max_age_usec = VIEW_MAX_AGE_USEC,
                .request = !h->state.requested  ? POLICY_REQUEST_NONE
                           : h->state.confirmed ? POLICY_REQUEST_CONFIRMED
                                                : POLICY_REQUEST_PENDING,
                .requested = h->state.action,
        };

        policy_decide(&cfg(h)->policy, &in, now, ret);
}

static void look_again_later(Heal *h, uint64_t at) {
        h->phase = PHASE_IDLE;
        h->next_look = at;
        arm_timer(h, at, on_look_timer);
}

static void on_replace_done(int error, const char *code, const char *message, void *userdata) {
        Heal *h = userdata;
        const char *what = replace_action_to_string(h->decision.replace);
        uint64_t now = now_usec(CLOCK_BOOTTIME);

        h->call = NULL;
        if (error < 0) {
                h->look_failures++;
                log_error("replacement request (%s) failed: %s%s%s, asking again later", what,
                          isempty(code) ? strerror(-error) : code, isempty(message) ? "" : ": ",
                          strempty(message));
                remember(h, "replacement request (%s) failed: %s", what,
                         isempty(code) ? strerror(-error) : code);
                look_again_later(h, now + backoff_full_jitter_usec(
                                                  h->look_failures, LOOK_RETRY_BASE_USEC,
                                                  LOOK_RETRY_CAP_USEC, 1.0 - random_unit() / 2));
                return;
        }
        h->state.requested = true;
        h->state.action = h->decision.replace;
        h->state.requested_at = unix_now();
        h->state.confirmed = false;
        save_state(h);
        manager_metric(h->m, METRICS_REPLACEMENT_REQUESTED, 1);
        log_fields(LOG_WARNING, NULL, "instance %s is unhealthy (%s): replacement requested (%s)",
                   h->m->identity.instance_id, strempty(h->failing), what);
        remember(h, "replacement requested (%s), failing: %s", what, strempty(h->failing));
        /* Confirm later that the group took it; ask again if it did not. */
        look_again_later(h, now + (uint64_t) (cfg(h)->policy.confirm_interval * USEC_PER_SEC));
        manager_update_status(h->m);
}

static void replace_now(Heal *h) {
        const char *id = h->m->identity.instance_id;
        int r = -EINVAL;

        h->phase = PHASE_CALLING;
        switch (h->decision.replace) {
        case REPLACE_SET_UNHEALTHY:
                /* drover applied its own grace period already. */
                r = asg_set_instance_health(h->m->aws, id, false, false, on_replace_done, h,
                                            &h->call);
                break;
        case REPLACE_TERMINATE_IN_ASG:
                r = asg_terminate_instance(h->m->aws, id, false, on_replace_done, h, &h->call);
                break;
        case REPLACE_TERMINATE:
                r = ec2_terminate_instance(h->m->aws, id, on_replace_done, h, &h->call);
                break;
        default:
                break;
        }
        if (r < 0)
                on_replace_done(r, NULL, NULL, h);
}

static void on_unhealthy_hook(const char *name, bool ok, const PluginResult *res, void *userdata) {
        log_fields(ok ? LOG_INFO : LOG_WARNING, NULL, "hook unhealthy/%s %s: %s", name,
                   ok ? "succeeded" : "failed", res && res->output ? res->output->message : "");
}

static void on_unhealthy_hooks_done(unsigned ran, unsigned failed, void *userdata) {
        Heal *h = userdata;

        h->hooks = NULL;
        if (ran > 0)
                remember(h, "hooks.d/unhealthy: %u ran, %u failed", ran, failed);
        /* A failed hook (log shipping, say) must not keep a broken instance in service. */
        replace_now(h);
}

static void run_unhealthy_hooks(Heal *h) {
        const PolicyGroupView *v = groupview_policy(h->view);
        char ev[64], inst[64], region[64], asg[300], checks[1024];
        char *env[] = { ev, inst, region, asg, checks, (char *) "DROVER_DEADLINE=", NULL };
        int r;

        snprintf(ev, sizeof(ev), "DROVER_EVENT=unhealthy");
        snprintf(inst, sizeof(inst), "DROVER_INSTANCE_ID=%s", h->m->identity.instance_id);
        snprintf(region, sizeof(region), "DROVER_REGION=%s", aws_region(h->m->aws));
        snprintf(asg, sizeof(asg), "DROVER_ASG=%s", strempty(v->group_name));
        snprintf(checks, sizeof(checks), "DROVER_CHECKS=%s", strempty(h->failing));
        h->phase = PHASE_HOOKS;
        r = hooks_run(h->m->event, &cfg(h)->hooks, "unhealthy", env, NULL, 0, on_unhealthy_hook,
                      on_unhealthy_hooks_done, h, &h->hooks);
        if (r < 0) {
                log_warning_errno(r, "cannot run hooks.d/unhealthy: %m; replacing anyway");
                replace_now(h);
        }
}

static int on_jitter(sd_event_source *src, uint64_t usec, void *userdata);

static void remember_membership(Heal *h, PolicyMembership membership, const char *group,
                                const char *lifecycle) {
        h->membership = membership;
        snprintf(h->lifecycle, sizeof(h->lifecycle), "%s", strempty(lifecycle));
        if (streq(strempty(h->group_name), strempty(group)))
                return;
        free(h->group_name);
        h->group_name = group ? strdup(group) : NULL;
}

static void on_probe(int error, const AsgInstance *found, void *userdata) {
        Heal *h = userdata;

        h->probe = NULL;
        if (error < 0)
                log_debug("DescribeAutoScalingInstances failed: %s", strerror(-error));
        else if (found)
                remember_membership(h, POLICY_MEMBERSHIP_IN_GROUP, found->group_name,
                                    found->lifecycle_state);
        else
                remember_membership(h, POLICY_MEMBERSHIP_STANDALONE, NULL, NULL);
        manager_update_status(h->m);
}

static int on_probe_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Heal *h = userdata;

        if (h->m->aws && !h->probe && h->phase == PHASE_IDLE)
                (void) asg_describe_instance(h->m->aws, h->m->identity.instance_id, on_probe, h,
                                             &h->probe);
        (void) sd_event_source_set_time_relative(
                src, (uint64_t) ((0.9 + random_unit() / 5) * (double) PROBE_INTERVAL_USEC));
        (void) sd_event_source_set_enabled(src, SD_EVENT_ON);
        return 0;
}

static void on_view(GroupView *v, int error, void *userdata) {
        Heal *h = userdata;
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        Phase phase = h->phase;
        PolicyDecision d;

        decide(h, now, &d);
        if (d.confirmed) {
                h->state.confirmed = true;
                save_state(h);
                log_notice("the group took the replacement request: %s", d.message);
                remember(h, "replacement confirmed by the group");
        }
        set_decision(h, &d);
        manager_update_status(h->m);
        if (error < 0) {
                h->look_failures++;
                log_fields(h->look_failures == 1 ? LOG_WARNING : LOG_DEBUG, NULL,
                           "cannot ask the group (%s): reporting and waiting", groupview_error(v));
                look_again_later(h, now + backoff_full_jitter_usec(
                                                  h->look_failures, LOOK_RETRY_BASE_USEC,
                                                  LOOK_RETRY_CAP_USEC, 1.0 - random_unit() / 2));
                return;
        }
        h->look_failures = 0;
        remember_membership(h, groupview_policy(v)->membership, groupview_policy(v)->group_name,
                            groupview_lifecycle_state(v));
        if (d.action != POLICY_ACTION_REPLACE) {
                uint64_t at =
                        d.reason == POLICY_REASON_GRACE_PERIOD
                                ? d.retry_usec
                                : now + (uint64_t) (cfg(h)->policy.confirm_interval * USEC_PER_SEC);
                look_again_later(h, at);
                return;
        }
        if (phase == PHASE_LOOK) {
                /* Wait a random moment and look again, so two sick instances that decided
                 * together see each other's request before both go. */
                h->phase = PHASE_JITTER;
                arm_timer(h, now + policy_jitter_usec(cfg(h)->policy.jitter, random_unit()),
                          on_jitter);
                return;
        }
        run_unhealthy_hooks(h);
}

static void start_look(Heal *h, Phase phase) {
        int r;

        h->phase = phase;
        r = groupview_refresh(h->view, h->m->aws, h->m->identity.instance_id,
                              now_usec(CLOCK_BOOTTIME), on_view, h);
        if (r < 0)
                on_view(h->view, r, h);
}

static int on_jitter(sd_event_source *src, uint64_t usec, void *userdata) {
        Heal *h = userdata;

        h->timer = sd_event_source_disable_unref(h->timer);
        start_look(h, PHASE_SECOND_LOOK);
        return 0;
}

static void stop_replacing(Heal *h) {
        if (h->phase == PHASE_HOOKS || h->phase == PHASE_CALLING)
                return; /* committed: let the request go out */
        groupview_cancel(h->view);
        h->timer = sd_event_source_disable_unref(h->timer);
        h->phase = PHASE_IDLE;
        h->next_look = 0;
}

static PolicyCheckState policy_state(CheckState s) {
        return s == CHECK_STATE_PASSING  ? POLICY_CHECK_PASSING
               : s == CHECK_STATE_FAILED ? POLICY_CHECK_FAILED
                                         : POLICY_CHECK_PENDING;
}

static void heal_evaluate(Heal *h) {
        size_t n = monitor_n_checks(h->m->monitor);
        _cleanup_free_ PolicyCheckInput *in = calloc(n ?: 1, sizeof(*in));
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        PolicyVerdict v;
        PolicyDecision d;

        if (!h->have_identity || !in)
                return;
        for (size_t i = 0; i < n; i++) {
                const CheckConfig *cc = monitor_check_config(h->m->monitor, i);
                in[i] = (PolicyCheckInput){
                        .name = cc->name,
                        .role = cc->role,
                        .state = policy_state(check_state(monitor_check(h->m->monitor, i))),
                        .remedy = remedy_step(h, i, now),
                };
        }
        if (policy_verdict(in, n, &v) < 0)
                return;
        free(h->failing);
        h->failing = policy_verdict_failing_names(&v, in, ",");
        if (h->forced && v.verdict != POLICY_VERDICT_UNHEALTHY) {
                /* A lifecycle notice in replace_on: replaced through the same gates. */
                v.verdict = POLICY_VERDICT_UNHEALTHY;
                free(h->failing);
                h->failing = strdup(h->forced);
        }
        if (!h->have_verdict || v.verdict != h->verdict)
                log_fields(v.verdict == POLICY_VERDICT_HEALTHY ? LOG_NOTICE : LOG_WARNING, NULL,
                           "instance is %s", policy_verdict_to_string(v.verdict));
        h->verdict = v.verdict;
        h->have_verdict = true;
        policy_verdict_done(&v);

        if (h->verdict != POLICY_VERDICT_UNHEALTHY &&
            !(h->state.requested && !h->state.confirmed)) {
                stop_replacing(h);
                decide(h, now, &d);
                set_decision(h, &d);
                return;
        }
        if (h->phase != PHASE_IDLE)
                return;
        /* No need to ask AWS while the grace period alone holds us back. */
        decide(h, now, &d);
        if (d.reason == POLICY_REASON_GRACE_PERIOD) {
                set_decision(h, &d);
                if (!h->timer)
                        arm_timer(h, d.retry_usec, on_look_timer);
                return;
        }
        if (!h->m->aws) /* no region yet: report and wait */
                set_decision(h, &d);
        else if (now >= h->next_look)
                start_look(h, PHASE_LOOK);
        else if (!h->timer)
                arm_timer(h, h->next_look, on_look_timer);
}

/* ---- the module's surface --------------------------------------------------------- */

Heal *heal_new(Manager *m) {
        Heal *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->m = m;
        h->view = groupview_new();
        if (!h->view || remedy_new(m->event, &h->remedy) < 0)
                return heal_free(h);
        h->decision.message[0] = 0;
        return h;
}

Heal *heal_free(Heal *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_slots; i++)
                slot_free(h->slots[i]);
        free(h->slots);
        hooks_cancel(h->hooks);
        aws_call_cancel(h->call);
        aws_call_cancel(h->probe);
        sd_event_source_disable_unref(h->probe_timer);
        groupview_free(h->view);
        sd_event_source_disable_unref(h->timer);
        remedy_free(h->remedy);
        state_done(&h->state);
        free(h->failing);
        free(h->forced);
        free(h->group_name);
        free(h);
        return NULL;
}

void heal_set_identity(Heal *h, const ImdsIdentity *id) {
        char boot[37] = "";
        int r;

        (void) state_boot_id(boot);
        r = state_load(drover_state_dir(), id->instance_id, boot, &h->state);
        if (r < 0) {
                log_warning_errno(r,
                                  "ignoring unreadable state in %s: %m; the lifecycle notices "
                                  "it remembered as handled (terminate, scheduled events, spot "
                                  "and rebalance) may run their hooks again if still listed",
                                  drover_state_dir());
                h->state = (State){};
                snprintf(h->state.instance_id, sizeof(h->state.instance_id), "%s", id->instance_id);
                snprintf(h->state.boot_id, sizeof(h->state.boot_id), "%s", boot);
        } else if (h->state.requested)
                log_notice("a replacement (%s) was requested before this start; the group's "
                           "answer decides whether it still needs asking",
                           replace_action_to_string(h->state.action));
        h->have_identity = true;
        (void) sd_event_add_time_relative(h->m->event, &h->probe_timer, CLOCK_BOOTTIME, 0,
                                          USEC_PER_SEC, on_probe_timer, h);
        heal_evaluate(h);
}

void heal_config_changed(Heal *h) {
        for (size_t i = 0; i < h->n_slots;)
                if (monitor_find(h->m->monitor, h->slots[i]->name) < 0) {
                        slot_free(h->slots[i]);
                        h->slots[i] = h->slots[--h->n_slots];
                } else
                        i++;
        heal_evaluate(h);
}

void heal_check_result(Heal *h, size_t i, const PluginResult *result, bool changed) {
        heal_evaluate(h);
}

const char *heal_group_name(Heal *h) {
        return h->group_name;
}

bool heal_membership_known(Heal *h) {
        return h->membership != POLICY_MEMBERSHIP_UNKNOWN;
}

int heal_instance_healthy(Heal *h) {
        if (!h->have_verdict)
                return -1;
        return h->verdict != POLICY_VERDICT_UNHEALTHY;
}

const char *heal_summary(Heal *h) {
        uint64_t grace = policy_grace_left_usec(&cfg(h)->policy, now_usec(CLOCK_BOOTTIME));
        char g[48] = "";

        if (!h->have_identity)
                return "IMDS unreachable: reporting only";
        if (grace > 0)
                snprintf(g, sizeof(g), "; grace %" PRIu64 " s left",
                         (uint64_t) (grace / USEC_PER_SEC));
        snprintf(h->summary, sizeof(h->summary), "%s; %s%s",
                 h->membership == POLICY_MEMBERSHIP_IN_GROUP     ? h->lifecycle
                 : h->membership == POLICY_MEMBERSHIP_STANDALONE ? "standalone"
                                                                 : "group unknown",
                 h->decision.action == POLICY_ACTION_NONE || !h->decision.message[0]
                         ? policy_verdict_to_string(h->verdict)
                         : h->decision.message,
                 g);
        return h->summary;
}

json_t *heal_status_json(Heal *h) {
        json_t *hist = json_array(), *rem = json_array(), *o;

        for (size_t i = 0; hist && i < h->n_history; i++)
                json_array_append_new(hist, json_string(h->history[i]));
        for (size_t i = 0; rem && i < h->state.n_remediation; i++) {
                json_t *t = json_array();
                for (size_t k = 0; t && k < h->state.remediation[i].n_attempts; k++)
                        json_array_append_new(t, json_integer(h->state.remediation[i].attempts[k]));
                json_array_append_new(rem, json_pack("{s:s,s:o}", "check",
                                                     h->state.remediation[i].name, "attempts", t));
        }
        o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:o,s:o,s:o}", "verdict",
                      h->have_verdict ? policy_verdict_to_string(h->verdict) : "unknown", "failing",
                      strempty(h->failing), "decision", "action",
                      policy_action_to_string(h->decision.action), "reason",
                      policy_reason_to_string(h->decision.reason), "message", h->decision.message,
                      "group", groupview_json(h->view), "remediation", rem, "history", hist);
        if (o && h->state.requested)
                json_object_set_new(o, "replacement",
                                    json_pack("{s:s,s:I,s:b}", "action",
                                              replace_action_to_string(h->state.action),
                                              "requested_at", (json_int_t) h->state.requested_at,
                                              "confirmed", h->state.confirmed));
        return o;
}

/* ---- for lifecycle.c ---------------------------------------------------------------- */

State *heal_state(Heal *h) {
        return &h->state;
}

void heal_save_state(Heal *h) {
        save_state(h);
}

void heal_request_replacement(Heal *h, const char *why) {
        if (h->forced)
                return;
        h->forced = strdup(why);
        heal_evaluate(h);
}

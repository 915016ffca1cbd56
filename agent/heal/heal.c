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
#include "base/history.h"
#include "base/log.h"
#include "checks/monitor.h"
#include "heal/policy.h"
#include "heal/request.h"
#include "imds/imds.h"
#include "bus/remedy.h"
#include "base/util.h"

#define VIEW_MAX_AGE_USEC (60 * USEC_PER_SEC)
#define REMEDY_TIMEOUT_USEC (90 * USEC_PER_SEC)
#define PROBE_INTERVAL_USEC (3600 * USEC_PER_SEC)
#define PROBE_FIRST_USEC (5 * USEC_PER_SEC)
#define PROBE_RETRY_BASE_USEC (10 * USEC_PER_SEC)
#define PROBE_RETRY_CAP_USEC (300 * USEC_PER_SEC)
#define GROUP_TAG_PATH "meta-data/tags/instance/aws:autoscaling:groupName"

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
        const HealContext *ctx;
        bool have_identity;
        State scratch;
        Slot **slots; /* pointers: callbacks hold their Slot */
        size_t n_slots;

        GroupView *view;
        bool looking;
        RequestMemory req;      /* request.c's machine; its persisted part is in the State */
        sd_event_source *timer; /* the machine's one timer */
        AwsCall *call;
        HookRun *hooks;
        char *last_error; /* the last failed look or call, for logs and status */

        PolicyVerdictKind verdict;
        bool have_verdict;
        char *failing;    /* failing liveness checks, "web,api" */
        char *forced;     /* lifecycle.c: replace_on asked for a replacement, and why */
        char *group_name; /* as last answered: stable across refreshes, for metrics */
        PolicyMembership membership;
        char lifecycle[32]; /* this instance's LifecycleState as last answered */
        AwsCall *probe;
        sd_event_source *probe_timer;
        unsigned probe_failures;
        ImdsCall *tag_call;
        bool group_from_imds; /* the name came from the instance's tag, not from a call */
        PolicyDecision decision;
        char summary[sizeof(((PolicyDecision *) 0)->message) + 96];
        History history;
};

static void heal_evaluate(Heal *h);

static const Config *cfg(Heal *h) {
        return h->ctx->config;
}

static time_t unix_now(void) {
        return (time_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
}

/* The persisted State exists once the identity is known (the daemon opens it then);
 * before that, remediation keeps its count in a scratch State that nothing keys or saves,
 * as a file without an instance id would be ignored anyway. */
static State *st(Heal *h) {
        return h->ctx->state ? state_store_get(h->ctx->state) : &h->scratch;
}

static void save_state(Heal *h) {
        int r;

        if (!h->ctx->state)
                return;
        r = state_store_save(h->ctx->state);

        if (r < 0)
                log_error_errno(r,
                                "cannot save state in %s: %m (it is only a memory: the "
                                "group's answer still decides)",
                                state_store_dir(h->ctx->state));
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
        (void) sd_event_add_time(s->heal->ctx->event, &s->timer, CLOCK_BOOTTIME, at,
                                 100 * USEC_PER_MSEC, on_slot_timer, s);
}

static void remedy_finished(Slot *s, bool ok, const char *what) {
        log_fields(ok ? LOG_NOTICE : LOG_WARNING, NULL, "remediation of %s: %s", s->name, what);
        history_add(&s->heal->history, unix_now(), "remediation of %s: %s", s->name, what);
        s->heal->ctx->changed(s->heal->ctx->userdata);
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
        if (state_remediation(st(h), cc->name, &rec) >= 0) {
                state_remediation_add(rec, unix_now());
                save_state(h);
        }
        s->unit_drawn = false;
        h->ctx->metric(METRICS_REMEDIATION_ATTEMPTED, 1, h->ctx->userdata);
        if (!isempty(cc->remediate.restart_unit)) {
                log_notice("check %s failed: restarting %s", cc->name, cc->remediate.restart_unit);
                r = remedy_restart_unit(h->ctx->bus, cc->remediate.restart_unit,
                                        REMEDY_TIMEOUT_USEC, on_restart_done, s, &s->job);
        } else {
                PluginSpec spec;

                plugin_spec_from_check(cc, &spec);
                spec.argv = cc->remediate.exec;
                spec.shell = false;
                spec.timeout = REMEDY_TIMEOUT_USEC / (double) USEC_PER_SEC;
                log_notice("check %s failed: running %s", cc->name, cc->remediate.exec[0]);
                r = plugin_spawn(h->ctx->event, &spec, on_exec_done, s, &s->exec);
        }
        if (r < 0) {
                char what[256];
                if (isempty(cc->remediate.restart_unit))
                        snprintf(what, sizeof(what), "could not run %s: %s", cc->remediate.exec[0],
                                 strerror(-r));
                else if (r == -ENOENT || r == -ECONNREFUSED)
                        /* sd_bus_open_system: no socket to connect to. */
                        snprintf(what, sizeof(what),
                                 "could not ask systemd to restart %s: the system D-Bus is not "
                                 "reachable (%s)",
                                 cc->remediate.restart_unit, strerror(-r));
                else
                        snprintf(what, sizeof(what), "could not ask systemd to restart %s: %s",
                                 cc->remediate.restart_unit, strerror(-r));
                remedy_finished(s, false, what);
        }
}

/* The remediation ladder's state for check i, starting an attempt when one is due. */
static PolicyRemedy remedy_step(Heal *h, size_t i, uint64_t now) {
        const CheckConfig *cc = monitor_check_config(h->ctx->monitor, i);
        const Check *c = monitor_check(h->ctx->monitor, i);
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
        (void) state_remediation(st(h), cc->name, &rec);
        in.n_history = rec ? rec->n_attempts : 0;
        policy_remedy_history(rec ? rec->attempts : NULL, in.n_history, (time_t) now_unix, now,
                              history);
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

/* ---- replacement: the shell of request.c's machine ---------------------------------- */

static void drive(Heal *h, RequestEvent ev, RequestInput *in);

static const char *target_state(Heal *h) {
        return h->ctx->target_state ? h->ctx->target_state(h->ctx->userdata) : NULL;
}

static void request_input(Heal *h, uint64_t now, RequestInput *ret) {
        uint64_t grace = policy_grace_left_usec(&cfg(h)->policy, now);
        const char *target = target_state(h);

        *ret = (RequestInput){
                .verdict = h->verdict,
                .can_ask = h->ctx->aws != NULL,
                .not_in_service = target && !streq(target, "InService"),
                .grace_end = grace > 0 ? now + grace : 0,
                .confirm_interval = (uint64_t) (cfg(h)->policy.confirm_interval * USEC_PER_SEC),
                .hold_cap = (uint64_t) (cfg(h)->policy.hold_backoff_max * USEC_PER_SEC),
                .jitter = policy_jitter_usec(cfg(h)->policy.jitter, random_unit()),
                .unit = random_unit(),
        };
}

static void drive_simple(Heal *h, RequestEvent ev) {
        RequestInput in;

        request_input(h, now_usec(CLOCK_BOOTTIME), &in);
        drive(h, ev, &in);
}

static int on_request_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Heal *h = userdata;

        h->timer = sd_event_source_disable_unref(h->timer);
        drive_simple(h, REQUEST_EV_TIMER);
        return 0;
}

/* Policy's decision for what is known now (view answered or not). */
static void decide(Heal *h, uint64_t now, PolicyDecision *ret) {
        PolicyReplaceInput in = {
                .verdict = h->verdict,
                .instance_id = h->ctx->identity->instance_id,
                .group = *groupview_policy(h->view),
                .max_age_usec = VIEW_MAX_AGE_USEC,
                .request = !h->req.requested  ? POLICY_REQUEST_NONE
                           : h->req.confirmed ? POLICY_REQUEST_CONFIRMED
                                              : POLICY_REQUEST_PENDING,
                .requested = h->req.action,
        };

        policy_decide(&cfg(h)->policy, &in, now, ret);
}

static void on_replace_done(int error, const char *code, const char *message, void *userdata) {
        Heal *h = userdata;
        RequestInput in;

        h->call = NULL;
        request_input(h, now_usec(CLOCK_BOOTTIME), &in);
        in.error = error;
        in.code = code;
        in.message = message;
        h->last_error = mfree(h->last_error);
        if (error < 0 && asprintf(&h->last_error, "%s%s%s", isempty(code) ? strerror(-error) : code,
                                  isempty(message) ? "" : ": ", strempty(message)) < 0)
                h->last_error = NULL;
        drive(h, error < 0 ? REQUEST_EV_CALL_FAILED : REQUEST_EV_CALL_OK, &in);
}

static void call_replace(Heal *h, ReplaceAction action) {
        const char *id = h->ctx->identity->instance_id;
        int r = -EINVAL;

        switch (action) {
        case REPLACE_SET_UNHEALTHY:
                /* drover applied its own grace period already. */
                r = asg_set_instance_health(h->ctx->aws, id, false, false, on_replace_done, h,
                                            &h->call);
                break;
        case REPLACE_TERMINATE_IN_ASG:
                r = asg_terminate_instance(h->ctx->aws, id, false, on_replace_done, h, &h->call);
                break;
        case REPLACE_TERMINATE:
                r = ec2_terminate_instance(h->ctx->aws, id, on_replace_done, h, &h->call);
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
                history_add(&h->history, unix_now(), "hooks.d/unhealthy: %u ran, %u failed", ran,
                            failed);
        /* A failed hook (log shipping, say) must not keep a broken instance in service. */
        drive_simple(h, REQUEST_EV_HOOKS_DONE);
}

static void run_unhealthy_hooks(Heal *h) {
        const PolicyGroupView *v = groupview_policy(h->view);
        char ev[64], inst[64], region[64], asg[300], checks[1024];
        char *env[] = { ev, inst, region, asg, checks, (char *) "DROVER_DEADLINE=", NULL };
        int r;

        snprintf(ev, sizeof(ev), "DROVER_EVENT=unhealthy");
        snprintf(inst, sizeof(inst), "DROVER_INSTANCE_ID=%s", h->ctx->identity->instance_id);
        snprintf(region, sizeof(region), "DROVER_REGION=%s", aws_region(h->ctx->aws));
        snprintf(asg, sizeof(asg), "DROVER_ASG=%s", strempty(v->group_name));
        snprintf(checks, sizeof(checks), "DROVER_CHECKS=%s", strempty(h->failing));
        r = hooks_run(h->ctx->event, &cfg(h)->hooks, "unhealthy", env, NULL, 0, on_unhealthy_hook,
                      on_unhealthy_hooks_done, h, &h->hooks);
        if (r < 0) {
                h->hooks = NULL;
                log_warning_errno(r, "cannot run hooks.d/unhealthy: %m; replacing anyway");
                drive_simple(h, REQUEST_EV_HOOKS_DONE);
        }
}

static void remember_membership(Heal *h, PolicyMembership membership, const char *group,
                                const char *lifecycle) {
        h->membership = membership;
        snprintf(h->lifecycle, sizeof(h->lifecycle), "%s", strempty(lifecycle));
        if (streq(strempty(h->group_name), strempty(group)))
                return;
        free(h->group_name);
        h->group_name = group ? strdup(group) : NULL;
}

/*
 * Who are we, while healthy? For the metrics' group dimension and STATUS=. The
 * instance's own tag in IMDS (aws:autoscaling:groupName, with InstanceMetadataTags on)
 * answers without any Auto Scaling call; without it, one DescribeAutoScalingInstances at
 * start and then one a jittered hour apart (failures retried sooner). Deciding never
 * relies on either: every decision asks the group afresh.
 */
static int on_probe_timer(sd_event_source *src, uint64_t usec, void *userdata);

static void arm_probe(Heal *h, uint64_t delay) {
        h->probe_timer = sd_event_source_disable_unref(h->probe_timer);
        (void) sd_event_add_time_relative(h->ctx->event, &h->probe_timer, CLOCK_BOOTTIME, delay,
                                          USEC_PER_SEC, on_probe_timer, h);
}

static void on_probe(int error, const AsgInstance *found, void *userdata) {
        Heal *h = userdata;

        h->probe = NULL;
        if (error < 0) {
                if (h->probe_failures++ == 0)
                        log_info("DescribeAutoScalingInstances failed (%s): the group's name "
                                 "stays unknown for metrics, retrying",
                                 strerror(-error));
                arm_probe(h, backoff_full_jitter_usec(h->probe_failures, PROBE_RETRY_BASE_USEC,
                                                      PROBE_RETRY_CAP_USEC, random_unit()) +
                                     USEC_PER_SEC);
                return;
        }
        h->probe_failures = 0;
        if (found)
                remember_membership(h, POLICY_MEMBERSHIP_IN_GROUP, found->group_name,
                                    found->lifecycle_state);
        else
                remember_membership(h, POLICY_MEMBERSHIP_STANDALONE, NULL, NULL);
        h->ctx->changed(h->ctx->userdata);
        arm_probe(h, (uint64_t) ((0.5 + random_unit()) * (double) PROBE_INTERVAL_USEC));
}

static int on_probe_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Heal *h = userdata;

        h->probe_timer = sd_event_source_disable_unref(h->probe_timer);
        if (h->ctx->aws && !h->probe && h->req.phase == REQUEST_IDLE &&
            asg_describe_instance(h->ctx->aws, h->ctx->identity->instance_id, on_probe, h,
                                  &h->probe) >= 0)
                return 0;
        /* Deciding (its looks answer the same question), or no client yet. */
        arm_probe(h, PROBE_RETRY_CAP_USEC);
        return 0;
}

static void on_group_tag(Imds *imds, const ImdsResult *res, void *userdata) {
        Heal *h = userdata;
        _cleanup_free_ char *name = NULL;

        h->tag_call = NULL;
        if (res->error == 0 && res->len > 0 && imds_tag_value_valid(res->body, res->len) &&
            (name = strndup(res->body, res->len))) {
                h->group_from_imds = true;
                remember_membership(h, POLICY_MEMBERSHIP_IN_GROUP, name, NULL);
                h->ctx->changed(h->ctx->userdata);
                return;
        }
        /* Lifecycle asks the group at start (a launch may wait in Pending:Wait): give its
         * answer a moment before asking the same question ourselves. */
        arm_probe(h, PROBE_FIRST_USEC);
}

static void on_view(GroupView *v, int error, void *userdata) {
        Heal *h = userdata;
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        const PolicyGroupView *pv = groupview_policy(v);
        RequestView rv = { pv->membership, pv->lifecycle, pv->healthy };
        RequestInput in;
        PolicyDecision d;

        h->looking = false;
        request_input(h, now, &in);
        if (error < 0) {
                free(h->last_error);
                h->last_error =
                        strdup(isempty(groupview_error(v)) ? strerror(-error) : groupview_error(v));
                in.error = error;
                drive(h, REQUEST_EV_VIEW_FAILED, &in);
                return;
        }
        remember_membership(h, pv->membership, pv->group_name, groupview_lifecycle_state(v));
        decide(h, now, &d);
        h->decision = d;
        in.decision = &d;
        in.view = &rv;
        drive(h, REQUEST_EV_VIEW, &in);
}

static void start_look(Heal *h) {
        int r;

        h->looking = true;
        r = groupview_refresh(h->view, h->ctx->aws, h->ctx->identity->instance_id,
                              now_usec(CLOCK_BOOTTIME), on_view, h);
        if (r < 0)
                on_view(h->view, r, h);
}

static void persist(Heal *h, const RequestActions *a) {
        State *s = st(h);

        if (a->what & REQUEST_DO_SAY_REQUESTED)
                s->requested_at = unix_now();
        s->requested = h->req.requested;
        s->confirmed = h->req.confirmed;
        s->action = h->req.requested ? h->req.action : REPLACE_NONE;
        s->decision = h->req.decision;
        s->hooks_ran = h->req.hooks_ran;
        save_state(h);
}

static const char *held_word(const PolicyDecision *d) {
        return d->action == POLICY_ACTION_REPORT_ONLY ? "held back" : "deferred";
}

/* What the machine says, said once where it is decided. */
static void say(Heal *h, const RequestActions *a, const RequestInput *in) {
        const char *what = replace_action_to_string(h->req.action);
        uint64_t left = h->req.at > 0 ? (h->req.at - MIN(h->req.at, now_usec(CLOCK_BOOTTIME))) /
                                                USEC_PER_SEC
                                      : 0;

        if (a->what & REQUEST_DO_SAY_HELD) {
                const char *why = h->decision.message;
                log_fields(LOG_WARNING, NULL, "instance unhealthy (%s), replacement %s: %s",
                           strempty(h->failing), held_word(&h->decision), why);
                history_add(&h->history, unix_now(), "replacement %s: %s", held_word(&h->decision),
                            why);
                h->ctx->metric(METRICS_REPLACEMENT_DEFERRED, 1, h->ctx->userdata);
        }
        if (a->what & REQUEST_DO_SAY_ERROR) {
                bool view = !(h->req.phase == REQUEST_RETRY || a->error == REQUEST_ERROR_GONE);
                int prio = a->error == REQUEST_ERROR_PERMANENT ? LOG_ERR : LOG_WARNING;

                if (view)
                        log_fields(prio, NULL,
                                   "cannot ask the group (%s): no action without an "
                                   "answer, retrying in %" PRIu64 " s",
                                   strempty(h->last_error), left);
                else if (a->error == REQUEST_ERROR_GONE)
                        log_fields(LOG_NOTICE, NULL,
                                   "replacement request (%s) answered: this instance is not in "
                                   "the group any more (%s)",
                                   what, strempty(h->last_error));
                else
                        log_fields(prio, NULL,
                                   "replacement request (%s) failed (%s error): %s; retrying in "
                                   "%" PRIu64 " s%s",
                                   what, request_error_to_string(a->error), strempty(h->last_error),
                                   left,
                                   a->error == REQUEST_ERROR_PERMANENT
                                           ? " (said once; see drover status)"
                                           : "");
                history_add(&h->history, unix_now(), "%s failed: %s",
                            view ? "asking the group" : "replacement request",
                            strempty(h->last_error));
        }
        if (a->what & REQUEST_DO_SAY_REQUESTED) {
                h->ctx->metric(METRICS_REPLACEMENT_REQUESTED, 1, h->ctx->userdata);
                log_fields(LOG_WARNING, NULL,
                           "instance %s is unhealthy (%s): replacement requested (%s)",
                           h->ctx->identity->instance_id, strempty(h->failing), what);
                history_add(&h->history, unix_now(), "replacement requested (%s), failing: %s",
                            what, strempty(h->failing));
        }
        if (a->what & REQUEST_DO_SAY_CONFIRMED) {
                const RequestView *v = in->view;
                log_notice("replacement confirmed: %s (%s)",
                           !v || v->membership == POLICY_MEMBERSHIP_STANDALONE
                                   ? "the group let go of this instance (it is in no group now)"
                           : v->lifecycle == POLICY_LIFECYCLE_TERMINATING
                                   ? "the group is terminating this instance"
                                   : "the group shows this instance Unhealthy",
                           what);
                history_add(&h->history, unix_now(), "replacement confirmed by the group");
        }
        if (a->what & REQUEST_DO_SAY_ENDED) {
                log_notice("replacement request ended: %s",
                           h->req.requested ? "the group let go of this instance (replaced)"
                           : in->verdict != POLICY_VERDICT_UNHEALTHY && !in->view
                                   ? "the instance is healthy again before the group acted"
                                   : "the group shows this instance InService and Healthy "
                                     "again; the next failure is a new request");
                history_add(&h->history, unix_now(), "replacement request ended");
        }
        if (a->what & REQUEST_DO_SAY_CANCELLED) {
                log_fields(LOG_WARNING, NULL,
                           "decision %" PRIu64 " cancelled (the instance is %s) after "
                           "hooks.d/unhealthy/ started: nothing undoes what they did",
                           h->req.decision, policy_verdict_to_string(in->verdict));
                history_add(&h->history, unix_now(),
                            "decision %" PRIu64 " cancelled after its hooks ran", h->req.decision);
        }
}

/* One step of the machine, and its actions carried out in order. */
static void drive(Heal *h, RequestEvent ev, RequestInput *in) {
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        RequestActions a;

        request_step(&h->req, ev, in, now, &a);
        if (a.what & REQUEST_DO_CANCEL) {
                groupview_cancel(h->view);
                h->looking = false;
                hooks_cancel(h->hooks);
                h->hooks = NULL;
                h->timer = sd_event_source_disable_unref(h->timer);
        }
        if (a.what & REQUEST_DO_PERSIST)
                persist(h, &a);
        if (a.what & REQUEST_DO_ARM) {
                h->timer = sd_event_source_disable_unref(h->timer);
                (void) sd_event_add_time(h->ctx->event, &h->timer, CLOCK_BOOTTIME, a.at,
                                         100 * USEC_PER_MSEC, on_request_timer, h);
        }
        if (h->req.phase == REQUEST_HELD && h->req.held == POLICY_REASON_NOT_IN_SERVICE &&
            in->not_in_service) {
                /* Held on IMDS's word alone: no view to decide on, so say it ourselves. */
                h->decision = (PolicyDecision){ .action = POLICY_ACTION_WAIT,
                                                .reason = POLICY_REASON_NOT_IN_SERVICE };
                snprintf(h->decision.message, sizeof(h->decision.message),
                         "the instance is leaving service (IMDS target-lifecycle-state %s): "
                         "no request while it is",
                         strempty(target_state(h)));
        } else if (h->req.phase == REQUEST_HELD && ev != REQUEST_EV_VIEW)
                decide(h, now, &h->decision); /* the decision shown is what holds us */
        say(h, &a, in);
        if (a.what & (REQUEST_DO_PERSIST | REQUEST_DO_SAY_HELD | REQUEST_DO_SAY_ENDED))
                h->ctx->changed(h->ctx->userdata);
        /* Last: each of these may come back into drive() synchronously. */
        if (a.what & REQUEST_DO_LOOK)
                start_look(h);
        else if (a.what & REQUEST_DO_HOOKS)
                run_unhealthy_hooks(h);
        else if (a.what & REQUEST_DO_CALL)
                call_replace(h, a.call);
}

static PolicyCheckState policy_state(CheckState s) {
        return s == CHECK_STATE_PASSING  ? POLICY_CHECK_PASSING
               : s == CHECK_STATE_FAILED ? POLICY_CHECK_FAILED
                                         : POLICY_CHECK_PENDING;
}

static void heal_evaluate(Heal *h) {
        size_t n = monitor_n_checks(h->ctx->monitor);
        _cleanup_free_ PolicyCheckInput *in = calloc(n ?: 1, sizeof(*in));
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        bool settled = true;
        PolicyVerdict v;

        if (!h->have_identity || !in)
                return;
        for (size_t i = 0; i < n; i++) {
                const CheckConfig *cc = monitor_check_config(h->ctx->monitor, i);
                if (cc->role == CHECK_ROLE_LIVENESS &&
                    check_state(monitor_check(h->ctx->monitor, i)) == CHECK_STATE_PENDING)
                        settled = false;
                in[i] = (PolicyCheckInput){
                        .name = cc->name,
                        .role = cc->role,
                        .state = policy_state(check_state(monitor_check(h->ctx->monitor, i))),
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
        if (h->req.phase == REQUEST_IDLE)
                decide(h, now, &h->decision); /* what `drover status` shows */
        /* "Not unhealthy" while a liveness check has no result yet (just started) is no
         * evidence of health: it must not end a request remembered across a restart. */
        if (h->verdict == POLICY_VERDICT_UNHEALTHY || settled)
                drive_simple(h, REQUEST_EV_EVALUATE);
}

/* ---- the module's surface --------------------------------------------------------- */

Heal *heal_new(const HealContext *ctx) {
        Heal *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->ctx = ctx;
        h->view = groupview_new();
        if (!h->view)
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
        imds_call_cancel(h->tag_call);
        sd_event_source_disable_unref(h->probe_timer);
        groupview_free(h->view);
        sd_event_source_disable_unref(h->timer);
        state_done(&h->scratch);
        free(h->last_error);
        free(h->failing);
        free(h->forced);
        free(h->group_name);
        free(h);
        return NULL;
}

void heal_set_identity(Heal *h) {
        const State *s = st(h);

        h->req = (RequestMemory){ .requested = s->requested,
                                  .confirmed = s->confirmed,
                                  .action = s->action,
                                  .decision = s->decision,
                                  .hooks_ran = s->hooks_ran };
        request_resume(&h->req, now_usec(CLOCK_BOOTTIME));
        if (h->req.at > 0)
                (void) sd_event_add_time(h->ctx->event, &h->timer, CLOCK_BOOTTIME, h->req.at, 0,
                                         on_request_timer, h);
        if (st(h)->requested)
                log_notice("a replacement (%s) was requested before this start; the group's "
                           "answer decides whether it still needs asking",
                           replace_action_to_string(st(h)->action));
        h->have_identity = true;
        if (!h->ctx->imds ||
            imds_get(h->ctx->imds, GROUP_TAG_PATH, on_group_tag, h, &h->tag_call) < 0)
                arm_probe(h, 0);
        heal_evaluate(h);
}

void heal_config_changed(Heal *h) {
        for (size_t i = 0; i < h->n_slots;)
                if (monitor_find(h->ctx->monitor, h->slots[i]->name) < 0) {
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

/* For the summary: where the instance stands, never "standalone" after a replacement.
 * In the group: its lifecycle state as the group last said, or IMDS's target state when
 * the group was never asked. */
static const char *membership_words(Heal *h) {
        if (h->membership == POLICY_MEMBERSHIP_IN_GROUP)
                return !isempty(h->lifecycle) ? h->lifecycle : target_state(h) ?: "in the group";
        if (h->membership == POLICY_MEMBERSHIP_STANDALONE)
                return h->req.requested && h->req.confirmed ? "no longer in the group (replaced)"
                                                            : "standalone";
        return h->req.look_failures > 0 ? "group unknown (no answer)" : "group not asked yet";
}

const char *heal_summary(Heal *h) {
        uint64_t grace = policy_grace_left_usec(&cfg(h)->policy, now_usec(CLOCK_BOOTTIME));
        char g[48] = "";

        if (!h->have_identity) /* the daemon says why, it asked */
                return NULL;
        if (grace > 0)
                snprintf(g, sizeof(g), "; grace %" PRIu64 " s left",
                         (uint64_t) (grace / USEC_PER_SEC));
        snprintf(h->summary, sizeof(h->summary), "%s; %s%s", membership_words(h),
                 h->decision.action == POLICY_ACTION_NONE || !h->decision.message[0]
                         ? policy_verdict_to_string(h->verdict)
                         : h->decision.message,
                 g);
        return h->summary;
}

json_t *heal_status_json(Heal *h) {
        json_t *hist = json_array(), *rem = json_array(), *o;

        for (size_t i = 0; hist && i < h->history.n; i++)
                json_array_append_new(hist, json_string(h->history.lines[i]));
        for (size_t i = 0; rem && i < st(h)->n_remediation; i++) {
                json_t *t = json_array();
                for (size_t k = 0; t && k < st(h)->remediation[i].n_attempts; k++)
                        json_array_append_new(t, json_integer(st(h)->remediation[i].attempts[k]));
                json_array_append_new(rem, json_pack("{s:s,s:o}", "check",
                                                     st(h)->remediation[i].name, "attempts", t));
        }
        o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:o,s:o,s:o}", "verdict",
                      h->have_verdict ? policy_verdict_to_string(h->verdict) : "unknown", "failing",
                      strempty(h->failing), "decision", "action",
                      policy_action_to_string(h->decision.action), "reason",
                      policy_reason_to_string(h->decision.reason), "message", h->decision.message,
                      "group", groupview_json(h->view), "remediation", rem, "history", hist);
        if (o)
                json_object_set_new(
                        o, "request",
                        json_pack("{s:s,s:I,s:I,s:s?,s:s?,s:I}", "phase",
                                  request_phase_to_string(h->req.phase), "decision",
                                  (json_int_t) h->req.decision, "hooks_ran",
                                  (json_int_t) h->req.hooks_ran, "error_class",
                                  h->last_error ? request_error_to_string(h->req.error) : NULL,
                                  "error", h->last_error, "next_look_in_ms",
                                  (json_int_t) (h->req.at > 0 ? (h->req.at -
                                                                 MIN(h->req.at,
                                                                     now_usec(CLOCK_BOOTTIME))) /
                                                                        USEC_PER_MSEC
                                                              : 0)));
        if (o && st(h)->requested)
                json_object_set_new(o, "replacement",
                                    json_pack("{s:s,s:I,s:b}", "action",
                                              replace_action_to_string(st(h)->action),
                                              "requested_at", (json_int_t) st(h)->requested_at,
                                              "confirmed", st(h)->confirmed));
        return o;
}

void heal_learn_membership(Heal *h, const char *group, const char *lifecycle_state) {
        remember_membership(h, group ? POLICY_MEMBERSHIP_IN_GROUP : POLICY_MEMBERSHIP_STANDALONE,
                            group, lifecycle_state);
        h->probe_failures = 0;
        if (!h->probe && !h->group_from_imds)
                arm_probe(h, (uint64_t) ((0.5 + random_unit()) * (double) PROBE_INTERVAL_USEC));
        h->ctx->changed(h->ctx->userdata);
}

/* ---- for lifecycle.c ---------------------------------------------------------------- */

void heal_request_replacement(Heal *h, const char *why) {
        if (h->forced)
                return;
        h->forced = strdup(why);
        heal_evaluate(h);
}

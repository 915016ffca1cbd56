/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle watcher, the shell around lifecycle-parse.c: every poll_interval it asks
 * IMDS for the four notices (one token, one connection), asks the group who we are only
 * while that matters (a launch held in Pending:Wait, a termination to complete), lets
 * lifecycle_plan() pick the event, and carries it out: hooks one at a time with progress
 * persisted after each, the systemd target, heartbeats, CompleteLifecycleAction.
 */
#include <inttypes.h>
#include <stdio.h>

#include "aws/autoscaling.h"
#include "checks/check.h"
#include "checks/hooks.h"
#include "lifecycle/lifecycle.h"
#include "base/history.h"
#include "base/text.h"
#include "base/log.h"
#include "checks/monitor.h"
#include "bus/remedy.h"
#include "base/util.h"

#define UNIT_TIMEOUT_USEC (90 * USEC_PER_SEC)
#define COMPLETE_WAIT_WARN_SEC 900 /* the group has not shown the :Wait state: say so */
#define WAIT_BACKOFF_CAP_USEC (60 * USEC_PER_SEC)
#define COMPLETE_MAX_FAILURES 5
#define DESCRIBE_BACKOFF_CAP_USEC (120 * USEC_PER_SEC)

enum { N_TARGET, N_SPOT, N_REBALANCE, N_SCHEDULED, _N_MAX };

typedef enum Phase { PHASE_HOOKS, PHASE_READY, PHASE_COMPLETE } Phase;

static const char *const phase_names[] = { "hooks", "waiting-for-readiness", "completing" };

struct Lifecycle {
        const LifecycleContext *ctx;
        sd_event_source *tick;
        ImdsCall *imds[_N_MAX];
        unsigned pending;
        int notice_error[_N_MAX]; /* last error logged per notice, to log once */

        LifecycleTarget target;
        bool have_spot, have_rebalance;
        LifecycleSpot spot;
        time_t rebalance;
        LifecycleScheduled scheduled[LIFECYCLE_MAX_SCHEDULED];
        size_t n_scheduled;

        AwsCall *describe;
        AwsCall *group_call; /* DescribeAutoScalingGroups: the retention policy */
        bool have_retention, retention_warned, retained;
        AsgRetention retention;
        char *group_name;
        char group_state[48];
        bool have_group_state, standalone;
        uint64_t next_describe;
        unsigned describe_failures;

        bool running;
        LifecyclePlan plan;
        char complete_name[256]; /* plan.complete, copied: a reload frees the config */
        Phase phase;
        HookRun *hook;
        char current[300];       /* dir/name running now */
        const char *current_dir; /* static: lifecycle_event_to_string() or "terminate" */
        char **attempted;        /* dir/name started in this job (a full record still ends) */
        unsigned refused;        /* hooks drover would not run (path checks), this job */
        time_t phase_since;
        const char *result; /* "CONTINUE" / "ABANDON" */
        unsigned complete_failures;
        AwsCall *complete_call, *heartbeat_call;
        unsigned heartbeats;
        unsigned heartbeat_failures, heartbeat_failures_unsummarised;
        char heartbeat_error[320]; /* the last failure, for the summary and status */
        bool wait_warned;
        bool recheck;          /* a heartbeat or completion failed: ask the group again */
        bool ask_group;        /* IMDS's target changed: the group's answer may have too */
        unsigned same_answers; /* DescribeAutoScalingInstances answers in a row unchanged */
        unsigned hooks_total, hooks_finished;
        char summary[192];
        sd_event_source *heartbeat_timer;
        sd_event_source *drain_timer; /* /health is 503: the hooks wait for the drain */
        RemedyJob *unit_job;

        uint64_t asleep_usec; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC at the last tick */
        History history;
};

static void evaluate(Lifecycle *l);
static void next_hook(Lifecycle *l);
static void try_complete(Lifecycle *l);
static void count_hooks(Lifecycle *l);
static void on_group(int error, const AsgGroup *g, void *userdata);

static const Config *cfg(Lifecycle *l) {
        return l->ctx->config;
}

static StateLifecycle *record(Lifecycle *l) {
        return &state_store_get(l->ctx->state)->lifecycle;
}

static State *state(Lifecycle *l) {
        return state_store_get(l->ctx->state);
}

static time_t unix_now(void) {
        return (time_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
}

static void save_state(Lifecycle *l) {
        int r = state_store_save(l->ctx->state);

        if (r < 0)
                log_error_errno(r,
                                "cannot save lifecycle progress in %s: %m (hooks may run again "
                                "after a restart)",
                                state_store_dir(l->ctx->state));
}

static const char *group_name(Lifecycle *l) {
        return l->group_name ? l->group_name : l->ctx->group_name(l->ctx->userdata);
}

/* ---- the job --------------------------------------------------------------------- */

static void stop_job(Lifecycle *l) {
        hooks_cancel(l->hook);
        l->hook = NULL;
        aws_call_cancel(l->complete_call);
        aws_call_cancel(l->heartbeat_call);
        l->complete_call = l->heartbeat_call = NULL;
        l->heartbeat_timer = sd_event_source_disable_unref(l->heartbeat_timer);
        l->drain_timer = sd_event_source_disable_unref(l->drain_timer);
        strv_free(l->attempted);
        l->attempted = NULL;
        l->refused = 0;
        l->current[0] = 0;
        l->running = false;
}

static void finish_job(Lifecycle *l, const char *what, bool failed) {
        StateLifecycle *rec = record(l);

        unsigned dropped = state(l)->handled_dropped;

        rec->completed = true;
        rec->complete_failed = failed;
        if (state_handled_add(state(l), l->plan.key, state(l)->boot_id, unix_now()) < 0)
                log_warning("%s: cannot remember it as handled", l->plan.key);
        else if (state(l)->handled_dropped > dropped)
                log_notice("the handled set is full (%u entries): the oldest was forgotten",
                           STATE_MAX_HANDLED);
        save_state(l);
        if (l->heartbeat_failures > 0)
                log_warning("%s: %u of %u heartbeats failed during this event (last: %s)",
                            lifecycle_event_to_string(l->plan.event), l->heartbeat_failures,
                            l->heartbeat_failures + l->heartbeats, l->heartbeat_error);
        log_fields(failed ? LOG_WARNING : LOG_NOTICE, NULL, "%s: %s (%zu hooks, %u failed): %s",
                   lifecycle_event_to_string(l->plan.event), failed ? "FAILED" : "done",
                   rec->n_hooks_done, lifecycle_record_failed(rec), what);
        history_add(&l->history, unix_now(), "%s %s: %s", lifecycle_event_to_string(l->plan.event),
                    failed ? "failed" : "done", what);
        stop_job(l);
        if (l->ctx->changed)
                l->ctx->changed(l->ctx->userdata);
}

static void on_complete(int error, const char *code, const char *message, void *userdata) {
        Lifecycle *l = userdata;
        char what[400];

        l->complete_call = NULL;
        if (error >= 0) {
                snprintf(what, sizeof(what), "CompleteLifecycleAction %s %s accepted",
                         l->complete_name, l->result);
                finish_job(l, what, false);
                return;
        }
        l->complete_failures++;
        /* The first failure warns; the retries are details; a give-up warns again. */
        log_fields(l->complete_failures == 1 ? LOG_WARNING : LOG_INFO, NULL,
                   "CompleteLifecycleAction %s %s failed (%s%s%s)%s", l->complete_name, l->result,
                   isempty(code) ? strerror(-error) : code, isempty(message) ? "" : ": ",
                   strempty(message),
                   l->complete_failures >= COMPLETE_MAX_FAILURES ? ": giving up"
                                                                 : ", trying again");
        if (l->complete_failures >= COMPLETE_MAX_FAILURES) {
                snprintf(what, sizeof(what),
                         "CompleteLifecycleAction %s given up after %u "
                         "attempts: %s%s%s; the group applies the hook's default result "
                         "when its heartbeat timeout ends",
                         l->result, l->complete_failures, isempty(code) ? strerror(-error) : code,
                         isempty(message) ? "" : ": ", strempty(message));
                finish_job(l, what, true);
                return;
        }
        /* The group's answer decides what is left: ask it again on the next tick. */
        l->next_describe = 0;
        l->have_group_state = false;
        l->recheck = true;
}

static void try_complete(Lifecycle *l) {
        const char *gs = l->have_group_state ? l->group_state : NULL;
        LifecycleCompletion c = lifecycle_completion(l->plan.event, gs);
        char what[400];
        int r;

        if (l->complete_call)
                return;
        if (c == LIFECYCLE_COMPLETE_GONE) {
                snprintf(what, sizeof(what),
                         "the lifecycle action is no longer pending (%s), "
                         "nothing to complete",
                         strempty(gs));
                finish_job(l, what, false);
                return;
        }
        if (c == LIFECYCLE_COMPLETE_WAIT || !l->ctx->aws || isempty(group_name(l))) {
                /* No give-up: the group ends the action when the hook's timeout runs
                 * out, and its answer then says so (GONE above). Meanwhile the group is
                 * asked with backoff (on_describe), and told once that it is slow. */
                if (!l->wait_warned && unix_now() - l->phase_since > COMPLETE_WAIT_WARN_SEC) {
                        l->wait_warned = true;
                        log_warning("%s: the group has not held the instance for %s for %d s "
                                    "(it shows %s); still waiting, asking with backoff",
                                    lifecycle_event_to_string(l->plan.event), l->complete_name,
                                    COMPLETE_WAIT_WARN_SEC, gs ? gs : "nothing yet");
                }
                return;
        }
        log_info("%s: CompleteLifecycleAction %s %s", lifecycle_event_to_string(l->plan.event),
                 l->complete_name, l->result);
        r = asg_complete_lifecycle_action(l->ctx->aws, group_name(l), l->complete_name,
                                          l->ctx->identity->instance_id, l->result, on_complete, l,
                                          &l->complete_call);
        if (r < 0)
                on_complete(r, NULL, NULL, l);
}

static void enter_complete(Lifecycle *l, const char *result) {
        count_hooks(l);
        l->phase = PHASE_COMPLETE;
        l->phase_since = unix_now();
        l->result = result;
        try_complete(l);
}

static bool ready(Lifecycle *l) {
        size_t n = monitor_n_checks(l->ctx->monitor);

        for (size_t i = 0; i < n; i++)
                if (monitor_check_config(l->ctx->monitor, i)->role == CHECK_ROLE_READINESS &&
                    check_state(monitor_check(l->ctx->monitor, i)) != CHECK_STATE_PASSING)
                        return false;
        return true;
}

static void check_ready(Lifecycle *l) {
        if (ready(l)) {
                log_notice("launch: every readiness check passes");
                history_add(&l->history, unix_now(), "launch: ready");
                enter_complete(l, "CONTINUE");
        } else if (unix_now() >= l->plan.deadline) {
                log_warning("launch: readiness checks did not pass within launch_timeout "
                            "(%.0f s): abandoning the launch",
                            cfg(l)->hooks.launch_timeout);
                history_add(&l->history, unix_now(), "launch: not ready in time");
                enter_complete(l, "ABANDON");
        }
}

static void hooks_finished(Lifecycle *l) {
        unsigned failed = lifecycle_record_failed(record(l));
        char why[96];

        l->current[0] = 0;
        if (l->plan.replace) {
                snprintf(why, sizeof(why), "%s %s", lifecycle_event_to_string(l->plan.event),
                         isempty(l->plan.event_code) ? "notice" : l->plan.event_code);
                log_notice("%s: replace_on asks for a replacement ahead of it", why);
                history_add(&l->history, unix_now(), "%s: replacement asked of the healer", why);
                l->ctx->request_replacement(why, l->ctx->userdata);
        }
        if (!l->plan.complete) {
                finish_job(l,
                           l->plan.unconfigured ? "no lifecycle hook name configured, "
                                                  "completing nothing"
                                                : "hooks ran",
                           false);
                return;
        }
        /* A refused hook does not abandon: the replacement boots the same image with the
         * same refused hook, so every new instance would be abandoned in turn. */
        if (failed > l->refused && cfg(l)->hooks.abandon_on_failure)
                enter_complete(l, "ABANDON");
        else if (l->plan.wait_ready) {
                l->phase = PHASE_READY;
                l->phase_since = unix_now();
                check_ready(l);
        } else
                enter_complete(l, "CONTINUE");
}

static void log_hook_output(const char *hook, const PluginResult *res) {
        char f_hook[320];
        const char *fields[] = { f_hook, NULL };
        const char *p = res && res->raw ? res->raw : "";
        const char *end = p + (res && res->raw ? res->raw_len : 0);

        snprintf(f_hook, sizeof(f_hook), "DROVER_HOOK=%s", hook);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                /* The hook's own bytes: escaped, so they cannot drive a terminal. */
                _cleanup_free_ char *line = n > 0 ? text_escape_untrusted(p, n, 0) : NULL;

                if (line)
                        log_fields(LOG_INFO, fields, "hook %s: %s", hook, line);
                p += n + (nl != NULL);
        }
}

static void on_hook_step(const char *name, bool ok, const PluginResult *res, void *userdata) {
        Lifecycle *l = userdata;
        const char *dir = l->current_dir;
        char path[300];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        log_hook_output(path, res);
        if (res && res->refused) {
                l->refused++;
                log_error("hook %s refused (%s); it counts as failed but does not abandon a "
                          "launch",
                          path, res->output ? res->output->message : "");
        }
        if (lifecycle_record_add(record(l), dir, name, ok) < 0)
                log_warning("%s: the lifecycle record is full; it would run again after a "
                            "restart",
                            path);
        save_state(l);
        l->ctx->metric(METRICS_LIFECYCLE_HOOK_RUN, 1, l->ctx->userdata);
        log_fields(ok ? LOG_INFO : LOG_WARNING, NULL, "hook %s %s%s%s%s", path,
                   ok ? "succeeded" : "failed", res && res->timed_out ? " (timed out, killed)" : "",
                   ok ? "" : ": ", res && res->output && !ok ? res->output->message : "");
        history_add(&l->history, unix_now(), "hook %s %s", path,
                    ok                      ? "ok"
                    : res && res->timed_out ? "timed out"
                                            : "failed");
}

static void on_hook_done(unsigned ran, unsigned failed, void *userdata) {
        Lifecycle *l = userdata;

        l->hook = NULL;
        next_hook(l);
}

static bool attempted(Lifecycle *l, const char *dir, const char *name) {
        for (size_t i = 0; l->attempted && l->attempted[i]; i++) {
                size_t dl = strlen(dir);
                if (strneq(l->attempted[i], dir, dl) && l->attempted[i][dl] == '/' &&
                    streq(l->attempted[i] + dl + 1, name))
                        return true;
        }
        return false;
}

static void note_attempt(Lifecycle *l, const char *path) {
        size_t n = strv_length(l->attempted);
        char **a = reallocarray(l->attempted, n + 2, sizeof(char *));

        if (!a)
                return;
        l->attempted = a;
        a[n] = strdup(path);
        a[n + (a[n] != NULL)] = NULL;
}

static int start_hook(Lifecycle *l, const char *dir, char **names, size_t which) {
        const LifecyclePlan *p = &l->plan;
        char ev[64], inst[64], region[64], asg[300], hook[300], dl[48], spot[48], code[64], ret[48];
        char warm[48];
        char *env[] = { ev, inst, region, asg, hook, dl, spot, code, ret, warm, NULL };
        _cleanup_strv_free_ char **skip = strv_copy(names);
        double timeout = cfg(l)->hooks.timeout;

        if (!skip)
                return -ENOMEM;
        /* hooks_run() runs a directory; skipping the others runs just this one, with the
         * time the deadline leaves it. */
        free(skip[which]);
        for (size_t i = which; skip[i]; i++)
                skip[i] = skip[i + 1];
        if (p->deadline > 0)
                timeout = MIN(timeout, MAX(1.0, (double) (p->deadline - unix_now())));
        snprintf(ev, sizeof(ev), "DROVER_EVENT=%s", dir);
        snprintf(inst, sizeof(inst), "DROVER_INSTANCE_ID=%s", l->ctx->identity->instance_id);
        snprintf(region, sizeof(region), "DROVER_REGION=%s",
                 l->ctx->aws ? aws_region(l->ctx->aws) : l->ctx->identity->region);
        snprintf(asg, sizeof(asg), "DROVER_ASG=%s", strempty(group_name(l)));
        snprintf(hook, sizeof(hook), "DROVER_LIFECYCLE_HOOK=%s", p->complete ? p->complete : "");
        if (p->deadline > 0)
                snprintf(dl, sizeof(dl), "DROVER_DEADLINE=%lld", (long long) p->deadline);
        else
                snprintf(dl, sizeof(dl), "DROVER_DEADLINE=");
        snprintf(spot, sizeof(spot), "DROVER_SPOT_ACTION=%s", p->spot_action);
        snprintf(code, sizeof(code), "DROVER_EVENT_CODE=%s", p->event_code);
        snprintf(warm, sizeof(warm), "DROVER_WARM_POOL=%s", strempty(p->warm_pool));
        snprintf(ret, sizeof(ret), "DROVER_RETENTION=%s",
                 l->have_retention ? asg_retention_to_string(l->retention) : "unknown");
        snprintf(l->current, sizeof(l->current), "%s/%s", dir, names[which]);
        l->current_dir = dir;
        note_attempt(l, l->current);
        log_info("running hook %s (timeout %.0f s)", l->current, timeout);
        return hooks_run(l->ctx->event, &cfg(l)->hooks, dir, env, skip, timeout, on_hook_step,
                         on_hook_done, l, &l->hook);
}

/* For status: how many of the event's hooks there are and how many finished. */
static void count_hooks(Lifecycle *l) {
        l->hooks_total = l->hooks_finished = 0;
        for (size_t d = 0; l->plan.dirs[d]; d++) {
                _cleanup_strv_free_ char **names = NULL;

                if (hooks_list(cfg(l)->hooks.dir, l->plan.dirs[d], &names) < 0)
                        continue;
                for (size_t i = 0; names[i]; i++) {
                        l->hooks_total++;
                        l->hooks_finished +=
                                lifecycle_record_find(record(l), l->plan.dirs[d], names[i]) != 0;
                }
        }
}

static void next_hook(Lifecycle *l) {
        count_hooks(l);
        if (l->ctx->changed)
                l->ctx->changed(l->ctx->userdata);
        for (size_t d = 0; l->plan.dirs[d]; d++) {
                const char *dir = l->plan.dirs[d];
                _cleanup_strv_free_ char **names = NULL;
                int r = hooks_list(cfg(l)->hooks.dir, dir, &names);

                if (r < 0) {
                        log_warning_errno(r, "cannot list %s/%s: %m", cfg(l)->hooks.dir, dir);
                        continue;
                }
                for (size_t i = 0; names[i]; i++) {
                        if (lifecycle_record_find(record(l), dir, names[i]) ||
                            attempted(l, dir, names[i]))
                                continue;
                        r = start_hook(l, dir, names, i);
                        if (r >= 0)
                                return;
                        log_warning_errno(r, "cannot run hook %s/%s: %m", dir, names[i]);
                        (void) lifecycle_record_add(record(l), dir, names[i], false);
                }
        }
        hooks_finished(l);
}

static void on_heartbeat_done(int error, const char *code, const char *message, void *userdata) {
        Lifecycle *l = userdata;

        l->heartbeat_call = NULL;
        if (error < 0) {
                snprintf(l->heartbeat_error, sizeof(l->heartbeat_error), "%s%s%s",
                         isempty(code) ? strerror(-error) : code, isempty(message) ? "" : ": ",
                         strempty(message));
                /* Once, then counted: nine failures are one line and a summary. */
                if (l->heartbeat_failures++ == 0)
                        log_warning("RecordLifecycleActionHeartbeat %s failed: %s; further "
                                    "failures are counted and summarised",
                                    l->complete_name, l->heartbeat_error);
                l->heartbeat_failures_unsummarised++;
                /* The group may have ended the action (its timeout): ask it. */
                l->recheck = true;
        } else {
                if (l->heartbeat_failures_unsummarised > 0)
                        log_notice("RecordLifecycleActionHeartbeat %s works again after %u "
                                   "failures (last: %s)",
                                   l->complete_name, l->heartbeat_failures_unsummarised,
                                   l->heartbeat_error);
                l->heartbeat_failures_unsummarised = 0;
                l->heartbeats++;
        }
        if (l->ctx->changed)
                l->ctx->changed(l->ctx->userdata);
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        Lifecycle *l = userdata;
        const char *gs = l->have_group_state ? l->group_state : NULL;

        if (l->ctx->aws && !l->heartbeat_call && !l->complete_call && !isempty(group_name(l)) &&
            lifecycle_completion(l->plan.event, gs) == LIFECYCLE_COMPLETE_NOW)
                (void) asg_record_heartbeat(l->ctx->aws, group_name(l), l->complete_name,
                                            l->ctx->identity->instance_id, on_heartbeat_done, l,
                                            &l->heartbeat_call);
        (void) sd_event_source_set_time_relative(
                s, (uint64_t) (cfg(l)->hooks.heartbeat_interval * USEC_PER_SEC));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static void on_unit_done(int result, const char *job_result, void *userdata) {
        Lifecycle *l = userdata;

        l->unit_job = NULL;
        if (result == 0)
                log_info("started the lifecycle target");
        else
                log_warning("starting the lifecycle target failed: %s",
                            job_result ? job_result : strerror(-result));
}

static int on_drained(sd_event_source *s, uint64_t usec, void *userdata) {
        Lifecycle *l = userdata;

        l->drain_timer = sd_event_source_disable_unref(l->drain_timer);
        next_hook(l);
        return 0;
}

static void start_job(Lifecycle *l, const LifecyclePlan *p) {
        const char *ev = lifecycle_event_to_string(p->event);
        uint64_t drain;
        int r;

        if (l->running) {
                log_warning("%s pre-empts %s", ev, lifecycle_event_to_string(l->plan.event));
                stop_job(l);
        }
        l->plan = *p;
        snprintf(l->complete_name, sizeof(l->complete_name), "%s", strempty(p->complete));
        l->plan.complete = p->complete ? l->complete_name : NULL;
        l->running = true;
        l->phase = PHASE_HOOKS;
        l->phase_since = unix_now();
        l->complete_failures = 0;
        l->heartbeats = 0;
        l->heartbeat_failures = l->heartbeat_failures_unsummarised = 0;
        l->heartbeat_error[0] = 0;
        l->wait_warned = false;
        l->same_answers = 0;
        /* The policy may have changed since start: ask again (the hooks see the last
         * answer; the group's answer to the completion is what counts in the end). */
        if ((p->event == LIFECYCLE_EVENT_TERMINATE || p->event == LIFECYCLE_EVENT_SPOT) &&
            l->have_retention && !l->group_call && l->ctx->aws && !isempty(group_name(l)))
                (void) asg_describe_group(l->ctx->aws, group_name(l), on_group, l, &l->group_call);
        if (!p->resume) {
                lifecycle_record_start(record(l), p->event, p->key);
                save_state(l);
        }
        log_notice("lifecycle event %s (%s)%s", ev, p->key,
                   p->resume ? ": resuming what was left when drover stopped" : "");
        history_add(&l->history, unix_now(), "%s %s (%s)", p->resume ? "resuming" : "started", ev,
                    p->key);
        if (p->unconfigured)
                log_notice("%s: no hooks.lifecycle_hook_names.%s configured: running the hooks "
                           "and completing nothing (the group's hooks belong to other "
                           "controllers)",
                           ev, p->event == LIFECYCLE_EVENT_LAUNCH ? "launch" : "terminate");
        if (p->unit && !l->unit_job) {
                r = remedy_start_unit(l->ctx->bus, p->unit, UNIT_TIMEOUT_USEC, on_unit_done, l,
                                      &l->unit_job);
                if (r < 0)
                        log_warning_errno(r, "cannot start %s: %m", p->unit);
        }
        if (l->plan.complete)
                (void) sd_event_add_time_relative(l->ctx->event, &l->heartbeat_timer,
                                                  CLOCK_BOOTTIME, 0, USEC_PER_SEC / 10,
                                                  on_heartbeat, l);
        /* Load balancers first (heartbeats go on meanwhile), then the hooks. */
        drain = l->ctx->drain ? l->ctx->drain(&l->plan, l->ctx->userdata) : 0;
        if (drain > 0 && sd_event_add_time_relative(l->ctx->event, &l->drain_timer, CLOCK_BOOTTIME,
                                                    drain, USEC_PER_SEC / 10, on_drained, l) >= 0)
                return;
        next_hook(l);
}

/* ---- watching ---------------------------------------------------------------------- */

static bool want_describe(Lifecycle *l) {
        if (!l->ctx->aws || l->describe || now_usec(CLOCK_BOOTTIME) < l->next_describe)
                return false;
        /* Held in the Wait state, the heartbeats' answers say it still holds: ask the
         * group again only when one of them (or the completion) failed. */
        if (l->running && l->plan.complete && l->have_group_state &&
            lifecycle_completion(l->plan.event, l->group_state) == LIFECYCLE_COMPLETE_NOW)
                return l->recheck;
        if (l->ask_group)
                return true;
        if (!l->have_group_state)
                return !l->standalone || l->target == LIFECYCLE_TARGET_TERMINATED;
        /* After a termination the group's answer says whether it retains the instance;
         * unchanged answers are asked for less and less often (on_describe). */
        /* In a warm pool (target-lifecycle-state Warmed:*) a launch hook may hold the
         * instance in Warmed:Pending:Wait: the group's answer says. */
        return strneq(l->group_state, "Pending", 7) ||
               strneq(l->group_state, "Warmed:Pending", 14) ||
               l->target == LIFECYCLE_TARGET_OTHER || l->target == LIFECYCLE_TARGET_TERMINATED ||
               (l->running && l->plan.complete);
}

static void on_group(int error, const AsgGroup *g, void *userdata) {
        Lifecycle *l = userdata;

        l->group_call = NULL;
        if (error < 0) {
                log_debug("DescribeAutoScalingGroups failed: %s; DROVER_RETENTION stays unknown",
                          strerror(-error));
                l->have_retention = true; /* asked once; a terminate event asks again */
                l->retention = ASG_RETENTION_UNKNOWN;
                return;
        }
        l->have_retention = true;
        l->retention = g->retention;
        if (l->retention == ASG_RETENTION_RETAIN && cfg(l)->hooks.abandon_on_failure &&
            !l->retention_warned) {
                l->retention_warned = true;
                log_warning("hooks.on_failure = \"abandon\" and group %s retains instances whose "
                            "termination is abandoned (InstanceLifecyclePolicy: "
                            "TerminateHookAbandon = retain): every failed drain leaves this "
                            "instance in Terminating:Retained, out of desired capacity and "
                            "still paid for, until someone calls "
                            "TerminateInstanceInAutoScalingGroup",
                            g->name);
        }
}

/* What the group's answer says that no plan acts on: a retained instance. */
static void note_group_state(Lifecycle *l) {
        /* Terminating:Retained, and in a warm pool Warmed:Pending:Retained and
         * Warmed:Terminating:Retained (Auto Scaling user guide, "Manage retained
         * instances"): the group keeps the instance for a person to look at. */
        bool retained = lifecycle_state_retained(l->group_state);

        if (retained && !l->retained) {
                log_warning("the group retains this instance (%s): it is out of desired capacity "
                            "and still paid for until someone calls "
                            "TerminateInstanceInAutoScalingGroup; drover does nothing about it",
                            l->group_state);
                history_add(&l->history, unix_now(), "retained by the group (%s)", l->group_state);
                l->ctx->metric(METRICS_LIFECYCLE_RETAINED, 1, l->ctx->userdata);
        }
        l->retained = retained;
}

static void on_describe(int error, const AsgInstance *found, void *userdata) {
        Lifecycle *l = userdata;

        l->describe = NULL;
        if (error < 0) {
                l->describe_failures++;
                l->next_describe = now_usec(CLOCK_BOOTTIME) +
                                   backoff_full_jitter_usec(l->describe_failures, USEC_PER_SEC,
                                                            DESCRIBE_BACKOFF_CAP_USEC,
                                                            0.5 + random_unit() / 2);
                log_debug("DescribeAutoScalingInstances failed: %s", strerror(-error));
        } else {
                const char *was = l->have_group_state ? l->group_state : "";
                /* The same answer again: ask less often (1 s doubling to 60 s, jittered),
                 * so that a scale-in of a thousand instances is not a storm of calls. */
                if (found && streq(was, strempty(found->lifecycle_state)))
                        l->next_describe = now_usec(CLOCK_BOOTTIME) +
                                           backoff_full_jitter_usec(l->same_answers++, USEC_PER_SEC,
                                                                    WAIT_BACKOFF_CAP_USEC,
                                                                    0.5 + random_unit() / 2);
                else
                        l->same_answers = 0;
                l->recheck = l->ask_group = false;
                l->describe_failures = 0;
                l->standalone = !found;
                l->have_group_state = found != NULL;
                snprintf(l->group_state, sizeof(l->group_state), "%s",
                         found ? strempty(found->lifecycle_state) : "");
                if (found && !streq(strempty(l->group_name), strempty(found->group_name))) {
                        free(l->group_name);
                        l->group_name = found->group_name ? strdup(found->group_name) : NULL;
                }
                /* One question, one answer: healing learns who we are from it too. */
                if (l->ctx->membership)
                        l->ctx->membership(found ? found->group_name : NULL,
                                           found ? found->lifecycle_state : NULL, l->ctx->userdata);
                if (found)
                        note_group_state(l);
        }
        if (!l->have_retention && !l->group_call && l->ctx->aws && !isempty(group_name(l)))
                (void) asg_describe_group(l->ctx->aws, group_name(l), on_group, l, &l->group_call);
        evaluate(l);
}

static void evaluate(Lifecycle *l) {
        LifecycleInput in = {
                .now = unix_now(),
                .target = l->target,
                .group_state = l->have_group_state ? l->group_state : NULL,
                .have_spot = l->have_spot,
                .spot = l->spot,
                .have_rebalance = l->have_rebalance,
                .rebalance_notice = l->rebalance,
                .scheduled = l->scheduled,
                .n_scheduled = l->n_scheduled,
                .terminate_hook_name = cfg(l)->hooks.terminate_hook_name,
                .launch_hook_name = cfg(l)->hooks.launch_hook_name,
                .replace_on = cfg(l)->hooks.replace_on,
                .launch_timeout = cfg(l)->hooks.launch_timeout,
                .record = record(l),
                .handled = state(l)->handled,
                .n_handled = state(l)->n_handled,
                .boot_id = state(l)->boot_id,
        };
        LifecyclePlan p;

        if (lifecycle_plan(&in, &p) < 0)
                return;
        if (p.event != LIFECYCLE_EVENT_NONE &&
            (!l->running || (p.event > l->plan.event && !streq(p.key, l->plan.key))))
                start_job(l, &p);
        else if (l->running && l->phase == PHASE_READY)
                check_ready(l);
        else if (l->running && l->phase == PHASE_COMPLETE)
                try_complete(l);
}

static void observed(Lifecycle *l) {
        if (--l->pending > 0)
                return;
        if (want_describe(l)) {
                int r = asg_describe_instance(l->ctx->aws, l->ctx->identity->instance_id,
                                              on_describe, l, &l->describe);
                if (r >= 0)
                        return;
        }
        evaluate(l);
}

/* Only a 404 says a notice is gone: a failed poll keeps what was handled. */
static void rearm(Lifecycle *l, const char *key, const char *why) {
        if (!state_handled_remove(state(l), key))
                return;
        log_info("%s: %s hooks will run again for the next one", why, key);
        history_add(&l->history, unix_now(), "%s re-armed: %s", key, why);
        save_state(l);
}

static uint64_t asleep_usec(void) {
        uint64_t b = now_usec(CLOCK_BOOTTIME), m = now_usec(CLOCK_MONOTONIC);

        return b > m ? b - m : 0;
}

/* A hibernation (spot's or the owner's) ends with the same boot id: the clocks tell. */
static void check_resumed(Lifecycle *l) {
        uint64_t a = asleep_usec();

        if (lifecycle_resumed(l->asleep_usec, a)) {
                log_notice("resumed after %" PRIu64 " s asleep (hibernation): a spot or "
                           "rebalance notice seen now is a new one",
                           (uint64_t) ((a - l->asleep_usec) / USEC_PER_SEC));
                rearm(l, LIFECYCLE_KEY_SPOT, "resumed from hibernation");
                rearm(l, LIFECYCLE_KEY_REBALANCE, "resumed from hibernation");
        }
        l->asleep_usec = a;
}

/* A notice's answer: 0 parsed, -ENOENT absent (normal), else keep what we knew. */
static int notice_result(Lifecycle *l, int which, const ImdsResult *res, int parsed) {
        int r = res->error < 0 ? res->error : parsed;

        char why[160];

        l->imds[which] = NULL;
        /* "Protocol error" said nothing: name the HTTP status and the step it came from. */
        if (r == -EBADMSG)
                snprintf(why, sizeof(why), "malformed answer");
        else if (r == -EPROTO && res->status > 0)
                snprintf(why, sizeof(why), "unexpected HTTP %ld to the %s", res->status,
                         isempty(res->step) ? "request" : res->step);
        else
                snprintf(why, sizeof(why), "%s%s%s", strerror(-r),
                         isempty(res->step) ? "" : " in the ", strempty(res->step));
        if (r < 0 && r != -ENOENT && r != l->notice_error[which])
                log_warning("IMDS %s: %s; keeping the last answer",
                            which == N_TARGET      ? "target lifecycle state"
                            : which == N_SPOT      ? "spot instance-action"
                            : which == N_REBALANCE ? "rebalance recommendation"
                                                   : "scheduled events",
                            why);
        l->notice_error[which] = r == -ENOENT ? 0 : r;
        return r;
}

static void on_target(Imds *i, const ImdsResult *res, void *userdata) {
        Lifecycle *l = userdata;
        LifecycleTarget t = LIFECYCLE_TARGET_UNKNOWN;
        int r = notice_result(l, N_TARGET, res,
                              res->error ? 0 : lifecycle_parse_target(res->body, res->len, &t));

        if (r == -ENOENT)
                t = LIFECYCLE_TARGET_ABSENT;
        if ((r == 0 || r == -ENOENT) && t != l->target) {
                /* A new target (out of a warm pool, into a termination): the group's
                 * answer is worth asking for now, whatever the backoff had reached. */
                l->next_describe = 0;
                l->same_answers = 0;
                l->ask_group = l->target != LIFECYCLE_TARGET_UNKNOWN;
                l->target = t;
        }
        observed(l);
}

static void on_spot(Imds *i, const ImdsResult *res, void *userdata) {
        Lifecycle *l = userdata;
        LifecycleSpot s;
        int r = notice_result(l, N_SPOT, res,
                              res->error ? 0 : lifecycle_parse_spot(res->body, res->len, &s));

        if (r == 0 && (!l->have_spot || s.time != l->spot.time))
                log_warning("spot interruption notice: %s at %lld", s.action, (long long) s.time);
        if (r == 0 || r == -ENOENT) {
                l->have_spot = r == 0;
                if (r == 0)
                        l->spot = s;
                else
                        rearm(l, LIFECYCLE_KEY_SPOT, "the spot notice is gone");
        }
        observed(l);
}

static void on_rebalance(Imds *i, const ImdsResult *res, void *userdata) {
        Lifecycle *l = userdata;
        time_t t = 0;
        int r = notice_result(l, N_REBALANCE, res,
                              res->error ? 0 : lifecycle_parse_rebalance(res->body, res->len, &t));

        if (r == 0 || r == -ENOENT) {
                l->have_rebalance = r == 0;
                l->rebalance = t;
                if (r == -ENOENT)
                        rearm(l, LIFECYCLE_KEY_REBALANCE, "the rebalance notice is gone");
        }
        observed(l);
}

static void on_scheduled(Imds *i, const ImdsResult *res, void *userdata) {
        Lifecycle *l = userdata;
        LifecycleScheduled ev[LIFECYCLE_MAX_SCHEDULED];
        size_t n = 0;
        int r = notice_result(l, N_SCHEDULED, res,
                              res->error ? 0
                                         : lifecycle_parse_scheduled(res->body, res->len, ev,
                                                                     ELEMENTSOF(ev), &n));

        if (r == 0 || r == -ENOENT) {
                memcpy(l->scheduled, ev, n * sizeof(ev[0]));
                l->n_scheduled = n;
        }
        observed(l);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Lifecycle *l = userdata;
        static const char *const paths[_N_MAX] = { LIFECYCLE_IMDS_TARGET, LIFECYCLE_IMDS_SPOT,
                                                   LIFECYCLE_IMDS_REBALANCE,
                                                   LIFECYCLE_IMDS_SCHEDULED };
        static const imds_done_cb cbs[_N_MAX] = { on_target, on_spot, on_rebalance, on_scheduled };

        (void) sd_event_source_set_time_relative(
                s, (uint64_t) (cfg(l)->hooks.poll_interval * USEC_PER_SEC));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        check_resumed(l);
        if (l->pending > 0 || l->describe)
                return 0;        /* the last round is still out: IMDS is slow, do not pile up */
        l->pending = _N_MAX + 1; /* held until every call is out */
        for (int i = 0; i < _N_MAX; i++)
                if (imds_get(l->ctx->imds, paths[i], cbs[i], l, &l->imds[i]) < 0)
                        l->pending--;
        observed(l);
        return 0;
}

/* ---- the module's surface ---------------------------------------------------------- */

Lifecycle *lifecycle_new(const LifecycleContext *ctx) {
        Lifecycle *l = calloc(1, sizeof(*l));

        if (!l)
                return NULL;
        l->ctx = ctx;
        l->asleep_usec = asleep_usec();
        if (sd_event_add_time_relative(ctx->event, &l->tick, CLOCK_BOOTTIME, 0, USEC_PER_SEC / 20,
                                       on_tick, l) < 0)
                return lifecycle_free(l);
        return l;
}

Lifecycle *lifecycle_free(Lifecycle *l) {
        if (!l)
                return NULL;
        stop_job(l);
        for (int i = 0; i < _N_MAX; i++)
                imds_call_cancel(l->imds[i]);
        aws_call_cancel(l->describe);
        aws_call_cancel(l->group_call);
        remedy_job_cancel(l->unit_job);
        sd_event_source_disable_unref(l->tick);
        free(l->group_name);
        free(l);
        return NULL;
}

LifecycleTarget lifecycle_target(const Lifecycle *l) {
        return l ? l->target : LIFECYCLE_TARGET_UNKNOWN;
}

static json_t *handled_json(const State *s) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < s->n_handled; i++)
                json_array_append_new(a, json_pack("{s:s,s:I,s:b}", "key", s->handled[i].key, "at",
                                                   (json_int_t) s->handled[i].at, "this_boot",
                                                   streq(s->handled[i].boot_id, s->boot_id)));
        return a;
}

const char *lifecycle_summary(Lifecycle *l) {
        char dl[48] = "", hb[64] = "";

        if (!l || !l->running)
                return "";
        if (l->plan.deadline > 0)
                snprintf(dl, sizeof(dl), ", deadline in %lld s",
                         (long long) MAX(0, l->plan.deadline - unix_now()));
        if (l->plan.complete)
                snprintf(hb, sizeof(hb), ", %u heartbeats%s", l->heartbeats,
                         l->heartbeat_failures > 0 ? " (some failed)" : "");
        snprintf(l->summary, sizeof(l->summary), "%s (%s): %u/%u hooks done%s%s",
                 lifecycle_event_to_string(l->plan.event), phase_names[l->phase], l->hooks_finished,
                 l->hooks_total, hb, dl);
        return l->summary;
}

json_t *lifecycle_status_json(Lifecycle *l) {
        const StateLifecycle *rec = record(l);
        json_t *hist = json_array(), *done = json_array(), *sched = json_array(), *o;

        for (size_t i = 0; hist && i < l->history.n; i++)
                json_array_append_new(hist, json_string(l->history.lines[i]));
        for (size_t i = 0; done && i < rec->n_hooks_done; i++)
                json_array_append_new(done, json_string(rec->hooks_done[i]));
        for (size_t i = 0; sched && i < l->n_scheduled; i++)
                json_array_append_new(sched,
                                      json_pack("{s:s,s:s,s:I}", "code", l->scheduled[i].code, "id",
                                                l->scheduled[i].id, "not_before",
                                                (json_int_t) l->scheduled[i].not_before));
        o = json_pack("{s:s,s:s?,s:s?,s:o,s:o,s:o,s:o}", "target",
                      lifecycle_target_to_string(l->target), "group_state",
                      l->have_group_state ? l->group_state : NULL, "group", group_name(l), "spot",
                      l->have_spot ? json_pack("{s:s,s:I}", "action", l->spot.action, "time",
                                               (json_int_t) l->spot.time)
                                   : json_null(),
                      "rebalance",
                      l->have_rebalance ? json_integer((json_int_t) l->rebalance) : json_null(),
                      "scheduled", sched, "history", hist);
        if (o && !isempty(rec->event))
                json_object_set_new(o, "record",
                                    json_pack("{s:s,s:s,s:o,s:b,s:s,s:i}", "event", rec->event,
                                              "key", rec->key, "hooks_done", done, "completed",
                                              rec->completed && !rec->complete_failed, "outcome",
                                              !rec->completed        ? "in-progress"
                                              : rec->complete_failed ? "failed"
                                                                     : "done",
                                              "failed", (int) lifecycle_record_failed(rec)));
        else
                json_decref(done);
        if (o)
                json_object_set_new(o, "handled", handled_json(state(l)));
        if (o)
                json_object_set_new(o, "retention",
                                    json_string(l->have_retention
                                                        ? asg_retention_to_string(l->retention)
                                                        : "unknown"));
        if (o)
                json_object_set_new(o, "retained", json_boolean(l->retained));
        if (o)
                json_object_set_new(o, "handled_dropped",
                                    json_integer((json_int_t) state(l)->handled_dropped));
        if (o && l->running)
                json_object_set_new(
                        o, "running",
                        json_pack("{s:s,s:s,s:s,s:s,s:s?,s:i,s:i,s:i,s:i,s:s?,s:o,s:I,s:s?}",
                                  "event", lifecycle_event_to_string(l->plan.event), "key",
                                  l->plan.key, "phase", phase_names[l->phase], "hook", l->current,
                                  "lifecycle_hook", l->plan.complete, "heartbeats",
                                  (int) l->heartbeats, "heartbeat_failures",
                                  (int) l->heartbeat_failures, "hooks_done",
                                  (int) l->hooks_finished, "hooks_left",
                                  (int) (l->hooks_total - MIN(l->hooks_finished, l->hooks_total)),
                                  "last_heartbeat_error",
                                  isempty(l->heartbeat_error) ? NULL : l->heartbeat_error,
                                  "deadline",
                                  l->plan.deadline > 0 ? json_integer((json_int_t) l->plan.deadline)
                                                       : json_null(),
                                  "since", (json_int_t) l->phase_since, "warm_pool",
                                  isempty(l->plan.warm_pool) ? NULL : l->plan.warm_pool));
        return o;
}

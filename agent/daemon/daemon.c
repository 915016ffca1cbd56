/* SPDX-License-Identifier: MIT */
/*
 * The daemon's shell: one sd-event loop, one Manager handed to every callback. It
 * carries data between the modules and the outside world (systemd, IMDS, AWS, the
 * status socket) and makes no decision of its own: those live in policy.c and
 * friends.
 */
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>

#include "aws/cloudwatch.h"
#include "daemon/daemon.h"
#include "heal/heal.h"
#include "imds/imds.h"
#include "lifecycle/lifecycle.h"
#include "base/log.h"
#include "daemon/manager.h"
#include "checks/monitor.h"
#include "daemon/status.h"
#include "base/util.h"

#define IDENTITY_RETRY_MAX_USEC (60 * USEC_PER_SEC)
/* On SIGTERM, how long the buffered metrics may take to go out: well inside systemd's
 * TimeoutStopSec, and short enough that a stop never feels stuck. */
#define STOP_FLUSH_USEC (2 * USEC_PER_SEC)

static gid_t status_gid(const Config *c) {
        struct group *g;

        if (isempty(c->status.group) || !(g = getgrnam(c->status.group)))
                return (gid_t) -1;
        return g->gr_gid;
}

/* Joins s to *acc with "; ", for reload_error; out of memory leaves *acc as it was. */
static void append_why(char **acc, const char *s) {
        char *n = NULL;

        /* The status reply carries it: a few problems are the point, not all of them. */
        if (*acc && strlen(*acc) > 2048)
                return;
        if (asprintf(&n, "%s%s%s", strempty(*acc), *acc ? "; " : "", s) < 0)
                return;
        free(*acc);
        *acc = n;
}

/* ret_why (may be NULL): on failure, every problem as "FILE:LINE: message", joined. */
static int load_config(const char *path, Config **ret, char **ret_why) {
        ConfigErrors errors = {};
        unsigned flags = geteuid() == 0 ? CONFIG_LOAD_REQUIRE_TRUSTED : 0;
        int r = config_load(path, flags, ret, &errors);
        char *why = NULL;

        for (size_t i = 0; i < errors.n; i++) {
                _cleanup_free_ char *m = config_error_format(&errors.items[i]);
                log_error("%s", m ? m : errors.items[i].message);
                append_why(&why, m ? m : errors.items[i].message);
        }
        if (r < 0 && errors.n == 0) {
                log_error_errno(r, "%s: %m", path);
                if (asprintf(&why, "%s: %s", path, strerror(-r)) < 0)
                        why = NULL;
        }
        config_errors_clear(&errors);
        if (r < 0 && ret_why)
                *ret_why = why;
        else
                free(why);
        return r;
}

void manager_update_status(Manager *m) {
        char line[sizeof(m->status_line)];
        size_t n = monitor_n_checks(m->monitor), passing = 0;
        const char *summary = heal_summary(m->heal);

        for (size_t i = 0; i < n; i++)
                passing += check_state(monitor_check(m->monitor, i)) == CHECK_STATE_PASSING;
        const char *lc = lifecycle_summary(m->lifecycle);

        if (!summary)
                summary = m->identity_invalid ? "IMDS identity document invalid: reporting only"
                                              : "IMDS unreachable: reporting only";
        snprintf(line, sizeof(line), "%zu/%zu checks passing; %s%s%s%s%s", passing, n, summary,
                 isempty(lc) ? "" : "; lifecycle ", lc, m->reload_error ? "; reload failed: " : "",
                 strempty(m->reload_error));
        manager_http_check_group(m);
        if (streq(line, m->status_line))
                return;
        memcpy(m->status_line, line, sizeof(line));
        (void) sd_notifyf(false, "STATUS=%s", line);
}

static void aws_config_done(AwsConfig *c) {
        free(c->region);
        free(c->endpoint_autoscaling);
        free(c->endpoint_ec2);
        free(c->endpoint_cloudwatch);
        free(c->ca_file);
        *c = (AwsConfig){};
}

static int aws_config_copy(const AwsConfig *from, AwsConfig *to) {
        aws_config_done(to);
        *to = *from;
        to->region = strdup(from->region);
        to->endpoint_autoscaling = strdup(from->endpoint_autoscaling);
        to->endpoint_ec2 = strdup(from->endpoint_ec2);
        to->endpoint_cloudwatch = strdup(from->endpoint_cloudwatch);
        to->ca_file = strdup(from->ca_file);
        if (!to->region || !to->endpoint_autoscaling || !to->endpoint_ec2 ||
            !to->endpoint_cloudwatch || !to->ca_file) {
                aws_config_done(to);
                return -ENOMEM;
        }
        return 0;
}

static bool aws_config_equal(const AwsConfig *a, const AwsConfig *b) {
        return streq(a->region, b->region) &&
               streq(a->endpoint_autoscaling, b->endpoint_autoscaling) &&
               streq(a->endpoint_ec2, b->endpoint_ec2) &&
               streq(a->endpoint_cloudwatch, b->endpoint_cloudwatch) &&
               streq(a->ca_file, b->ca_file) && a->fips == b->fips &&
               a->timeout_ms == b->timeout_ms && a->max_attempts == b->max_attempts;
}

static MetricsIdentity metrics_identity(Manager *m) {
        return (MetricsIdentity){
                .asg = heal_group_name(m->heal),
                .instance_id = m->have_identity ? m->identity.instance_id : NULL,
                .per_instance = m->config->metrics.per_instance,
        };
}

static uint64_t now_ms(void) {
        return now_usec(CLOCK_REALTIME) / USEC_PER_MSEC;
}

void manager_metric(Manager *m, MetricsInstanceMetric which, double value) {
        MetricsIdentity id = metrics_identity(m);

        manager_statsd_instance(m, which, value);
        if ((unsigned) which < _METRICS_INSTANCE_METRIC_MAX && which != METRICS_INSTANCE_HEALTHY)
                m->totals[which] += value; /* the counters, for status and /metrics */
        if (m->metrics && m->have_identity && heal_membership_known(m->heal))
                (void) metrics_record_instance(m->metrics, &id, which, value, now_ms());
}

/* ---- what heal and lifecycle reach the daemon through (their contexts) ----------- */

static void ctx_metric(MetricsInstanceMetric which, double value, void *userdata) {
        manager_metric(userdata, which, value);
}

static void ctx_changed(void *userdata) {
        manager_update_status(userdata);
}

static const char *ctx_target_state(void *userdata) {
        Manager *m = userdata;

        switch (lifecycle_target(m->lifecycle)) {
        case LIFECYCLE_TARGET_IN_SERVICE:
                return "InService";
        case LIFECYCLE_TARGET_TERMINATED:
                return "Terminated";
        case LIFECYCLE_TARGET_OTHER:
                return "not in service";
        default:
                return NULL;
        }
}

static const char *ctx_group_name(void *userdata) {
        Manager *m = userdata;

        return heal_group_name(m->heal);
}

static void ctx_membership(const char *group, const char *lifecycle_state, void *userdata) {
        Manager *m = userdata;

        heal_learn_membership(m->heal, group, lifecycle_state);
}

static uint64_t ctx_drain(const LifecyclePlan *plan, void *userdata) {
        return manager_drain(userdata, plan);
}

static void ctx_request_replacement(const char *why, void *userdata) {
        Manager *m = userdata;

        heal_request_replacement(m->heal, why);
}

static void record_check_metrics(Manager *m, size_t i, const PluginResult *res) {
        const char *name = monitor_check_config(m->monitor, i)->name;
        MetricsIdentity id = metrics_identity(m);
        uint64_t t = now_ms();

        /* statsd is local: it reports even while AWS (and so the group) is unknown. */
        manager_statsd_check(m, name, res);
        if (!m->metrics || !heal_membership_known(m->heal))
                return;
        (void) metrics_record_check(m->metrics, &id, name, res->status,
                                    (double) res->duration_usec / USEC_PER_MSEC, t);
        for (size_t k = 0; res->output && k < res->output->n_perfdata; k++) {
                const NagiosPerfdata *p = &res->output->perfdata[k];
                if (p->has_value)
                        (void) metrics_record_perfdata(m->metrics, &id, name, p->label, p->value,
                                                       p->uom, t);
        }
}

static void flush_metrics(Manager *m);

static void on_metrics_sent(int error, MetricsOutcome outcome, const AwsResult *res,
                            void *userdata) {
        Manager *m = userdata;

        m->metrics_call = NULL;
        if (error < 0 && m->stopping) {
                log_warning("stopping with %zu metric values unsent: CloudWatch failed",
                            metrics_buffered(m->metrics));
                (void) sd_event_exit(m->event, 0);
                return;
        }
        if (error < 0) {
                if (!m->metrics_failing)
                        log_warning("CloudWatch PutMetricData failed (%s%s%s): keeping %zu values "
                                    "buffered, retrying next interval",
                                    isempty(res->code) ? strerror(-error) : res->code,
                                    isempty(res->message) ? "" : ": ", strempty(res->message),
                                    metrics_buffered(m->metrics));
                m->metrics_failing = true;
                return;
        }
        if (m->metrics_failing)
                log_notice("CloudWatch reachable again");
        m->metrics_failing = false;
        flush_metrics(m); /* drain what is left of a backlog */
}

static void flush_metrics(Manager *m) {
        MetricsBatch *batch = NULL;
        int r;

        if (!m->metrics || !m->aws || m->metrics_call)
                return;
        /* Stopping: the periods still collecting go out too, then we are done. */
        r = metrics_flush(m->metrics, now_ms(), m->stopping, &batch);
        if (r > 0 &&
            cloudwatch_send(m->aws, m->metrics, batch, on_metrics_sent, m, &m->metrics_call) >= 0)
                return;
        if (m->stopping)
                (void) sd_event_exit(m->event, 0);
}

static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        double interval = m->config->metrics.interval;
        uint64_t dropped;
        int healthy = heal_instance_healthy(m->heal);

        if (healthy >= 0)
                manager_metric(m, METRICS_INSTANCE_HEALTHY, healthy);
        dropped = m->metrics ? metrics_dropped(m->metrics) : 0;
        if (dropped > m->metrics_dropped_reported) {
                manager_metric(m, METRICS_DROPPED,
                               (double) (dropped - m->metrics_dropped_reported));
                m->metrics_dropped_reported = dropped;
        }
        flush_metrics(m);
        /* Spread the fleet's flushes over a tenth of the interval. */
        (void) sd_event_source_set_time_relative(
                s, (uint64_t) (interval * (0.95 + random_unit() / 10) * USEC_PER_SEC));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int start_metrics(Manager *m) {
        const MetricsConfig *mc = &m->config->metrics;
        int r;

        if (!mc->enabled)
                return 0;
        r = manager_statsd_start(m);
        if (r >= 0 && config_metrics_sink(m->config, "cloudwatch"))
                r = metrics_new(mc->namespace, mc->high_resolution, mc->buffer_max, &m->metrics);
        if (r < 0)
                return r;
        return sd_event_add_time_relative(m->event, &m->metrics_timer, CLOCK_BOOTTIME,
                                          (uint64_t) (mc->interval * random_unit() * USEC_PER_SEC),
                                          USEC_PER_SEC, on_metrics_timer, m);
}

static void log_check_change(Manager *m, size_t i, const PluginResult *res) {
        const CheckConfig *cc = monitor_check_config(m->monitor, i);
        const Check *c = monitor_check(m->monitor, i);
        char f_check[96], f_state[48], f_status[48], f_inst[64];
        const char *fields[] = { f_check, f_state, f_status, f_inst, NULL };
        CheckState st = check_state(c);

        snprintf(f_check, sizeof(f_check), "DROVER_CHECK=%s", cc->name);
        snprintf(f_state, sizeof(f_state), "DROVER_STATE=%s", check_state_to_string(st));
        snprintf(f_status, sizeof(f_status), "DROVER_STATUS=%s", nagios_status_name(res->status));
        snprintf(f_inst, sizeof(f_inst), "DROVER_INSTANCE_ID=%s", m->identity.instance_id);
        log_fields(st == CHECK_STATE_FAILED ? LOG_WARNING : LOG_NOTICE, fields,
                   "check %s (%s) is now %s: %s %s", cc->name, check_role_to_string(cc->role),
                   check_state_to_string(st), nagios_status_name(res->status),
                   check_last_output(c));
}

static void on_check_result(Monitor *mon, size_t i, const PluginResult *res, bool changed,
                            void *userdata) {
        Manager *m = userdata;

        record_check_metrics(m, i, res);
        if (changed)
                log_check_change(m, i, res);
        else if (res->broken && check_last_status(monitor_check(mon, i)) == NAGIOS_UNKNOWN)
                log_debug("check %s: %s", monitor_check_config(mon, i)->name,
                          check_last_output(monitor_check(mon, i)));
        heal_check_result(m->heal, i, res, changed);
        manager_update_status(m);
}

static void send_ready(Manager *m) {
        if (m->ready_sent)
                return;
        m->ready_sent = true;
        (void) sd_notify(false, "READY=1");
        manager_update_status(m);
}

static void on_identity(Imds *imds, const ImdsResult *res, void *userdata);

static int on_identity_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->identity_timer = sd_event_source_disable_unref(m->identity_timer);
        (void) imds_get(m->imds, IMDS_PATH_IDENTITY, on_identity, m, NULL);
        return 0;
}

/* The persisted state, keyed by the instance id just learned, for heal and lifecycle. */
static int start_state(Manager *m) {
        int load_error, r;

        r = state_store_open(drover_state_dir(), m->identity.instance_id, &m->state, &load_error);
        if (r < 0) {
                log_error_errno(r, "cannot set up the state: %m");
                return sd_event_exit(m->event, r), r;
        }
        if (load_error < 0)
                log_warning_errno(load_error,
                                  "ignoring unreadable state in %s: %m; the lifecycle notices "
                                  "it remembered as handled (terminate, scheduled events, spot "
                                  "and rebalance) may run their hooks again if still listed",
                                  drover_state_dir());
        m->heal_ctx.state = m->lifecycle_ctx.state = m->state;
        m->lifecycle_ctx = (LifecycleContext){
                .event = m->event,
                .config = m->config,
                .aws = m->aws,
                .imds = m->imds,
                .identity = &m->identity,
                .monitor = m->monitor,
                .bus = m->bus,
                .state = m->state,
                .metric = ctx_metric,
                .changed = ctx_changed,
                .group_name = ctx_group_name,
                .membership = ctx_membership,
                .drain = ctx_drain,
                .request_replacement = ctx_request_replacement,
                .userdata = m,
        };
        return 0;
}

static void on_identity(Imds *imds, const ImdsResult *res, void *userdata) {
        Manager *m = userdata;
        const char *field = NULL;
        uint64_t delay;
        int r = res->error;

        if (r == 0) {
                r = imds_parse_identity(res->body, res->len, &m->identity, &field);
                /* IMDS answered: the document is what is wrong, not the network. */
                m->identity_invalid = r < 0;
                if (r < 0)
                        snprintf(m->imds_why, sizeof(m->imds_why),
                                 "the identity document is invalid (%s)",
                                 field ? field : "malformed");
                if (r < 0 && m->identity_attempts == 0)
                        log_error("IMDS answered, but %s: reporting only until it is readable",
                                  m->imds_why);
        } else {
                m->identity_invalid = false;
                snprintf(m->imds_why, sizeof(m->imds_why), "%s: %s%s%s",
                         isempty(res->step) ? "identity" : res->step, strerror(-r),
                         isempty(res->detail) ? "" : ": ", strempty(res->detail));
        }
        if (r == 0) {
                const char *region =
                        isempty(m->config->aws.region) ? m->identity.region : m->config->aws.region;
                m->have_identity = true;
                r = aws_config_copy(&m->config->aws, &m->aws_config);
                if (r >= 0)
                        r = aws_new(m->http, m->imds, &m->aws_config, region, &m->aws);
                if (r < 0)
                        log_error_errno(r,
                                        "cannot set up the AWS client for %s: %m; reporting "
                                        "only",
                                        region);
                log_info("drover %s on %s (%s, %s, %s)", PACKAGE_VERSION, m->identity.instance_id,
                         m->identity.image_id, m->identity.instance_type,
                         m->identity.availability_zone);
                m->heal_ctx.aws = m->lifecycle_ctx.aws = m->aws;
                if (start_state(m) < 0)
                        return;
                heal_set_identity(m->heal);
                if (!m->lifecycle && !(m->lifecycle = lifecycle_new(&m->lifecycle_ctx)))
                        log_error("cannot watch lifecycle events: out of memory");
                send_ready(m);
                return;
        }
        /* Degraded: checks run and report, nothing is replaced, and we keep asking. */
        m->identity_attempts++;
        delay = backoff_full_jitter_usec(m->identity_attempts, USEC_PER_SEC,
                                         IDENTITY_RETRY_MAX_USEC, 0.5 + random_unit() / 2);
        if (m->identity_attempts == 1 && res->error < 0)
                log_warning("IMDS unreachable (%s): running degraded, no actions, retrying",
                            m->imds_why);
        m->imds_error = -r;
        send_ready(m);
        /* One timer, ours: a floating source per attempt would pile up during an outage. */
        m->identity_timer = sd_event_source_disable_unref(m->identity_timer);
        (void) sd_event_add_time_relative(m->event, &m->identity_timer, CLOCK_BOOTTIME, delay,
                                          USEC_PER_SEC, on_identity_retry, m);
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1");
        log_info("reloading %s", m->config_path);
        free(m->reload_error);
        m->reload_error = NULL;
        r = load_config(m->config_path, &c, &m->reload_error);
        if (r < 0) {
                if (!m->reload_error)
                        m->reload_error = strdup("configuration invalid");
                log_error("reload failed: keeping the previous configuration");
        } else if ((r = monitor_apply_config(m->monitor, c)) < 0) {
                m->reload_error = strdup("out of memory applying it");
                log_error_errno(r, "reload failed: %m; keeping the previous configuration");
        } else {
                /* Live calls and the credential cache hang off the client: it keeps
                 * the settings it was made with. */
                if (m->aws && !aws_config_equal(&m->aws_config, &c->aws))
                        log_notice("aws{} changed: it takes effect when drover restarts");
                runner_set_concurrency(m->runner, c->plugins.concurrency);
                status_server_set_allowed_gid(m->status, status_gid(c));
                manager_http_reload(m, c);
                config_free(m->config);
                m->config = TAKE_PTR(c);
                m->heal_ctx.config = m->lifecycle_ctx.config = m->config;
                heal_config_changed(m->heal);
                log_info("configuration reloaded: %zu checks", m->config->n_checks);
        }
        (void) sd_notify(false, "READY=1");
        manager_update_status(m);
        return 0;
}

static int on_stop_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("stopping with %zu metric values unsent: CloudWatch did not answer in time",
                    metrics_buffered(m->metrics));
        return sd_event_exit(m->event, 0);
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (m->stopping || !m->metrics || !m->aws) {
                log_info("stopping on SIG%s", strempty(sigabbrev_np((int) si->ssi_signo)));
                (void) sd_notify(false, "STOPPING=1");
                return sd_event_exit(m->event, 0);
        }
        /* A restart must not lose the minute being collected: send it first, briefly. */
        log_info("stopping on SIG%s, sending buffered metrics first",
                 strempty(sigabbrev_np((int) si->ssi_signo)));
        (void) sd_notify(false, "STOPPING=1");
        m->stopping = true;
        if (sd_event_add_time_relative(m->event, NULL, CLOCK_BOOTTIME, STOP_FLUSH_USEC, 0,
                                       on_stop_deadline, m) < 0)
                return sd_event_exit(m->event, 0);
        flush_metrics(m); /* with a call in flight, its completion carries on */
        return 0;
}

static void manager_free(Manager *m) {
        if (!m)
                return;
        lifecycle_free(m->lifecycle);
        heal_free(m->heal);
        manager_http_stop(m);       /* before aws: it may have a call out */
        state_store_free(m->state); /* after both: they keep their parts in it */
        remedy_free(m->bus);
        aws_call_cancel(m->metrics_call);
        sd_event_source_disable_unref(m->metrics_timer);
        sd_event_source_disable_unref(m->identity_timer);
        metrics_free(m->metrics);
        statsd_free(m->statsd);
        aws_free(m->aws);
        aws_config_done(&m->aws_config);
        status_server_free(m->status);
        /* The monitor before the runner: it cancels its runs, the runner kills them. */
        monitor_free(m->monitor);
        runner_free(m->runner);
        imds_free(m->imds);
        http_free(m->http);
        config_free(m->config);
        free(m->config_path);
        free(m->reload_error);
        sd_event_unref(m->event);
        free(m);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free)

static int manager_start(Manager *m) {
        char sock[4096];
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop: %m");
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_stop, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, on_stop, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m)) < 0)
                return log_error_errno(r, "cannot watch signals: %m");
        /* WatchdogSec=: ping from the loop itself, so a wedged loop gets us restarted. */
        (void) sd_event_set_watchdog(m->event, true);
        if ((r = http_new(m->event, &m->http)) < 0 ||
            (r = imds_new(m->http, &m->config->imds, &m->imds)) < 0 ||
            (r = runner_new(m->event, m->config->plugins.concurrency, &m->runner)) < 0 ||
            (r = monitor_new(m->event, m->runner, on_check_result, m, &m->monitor)) < 0 ||
            (r = remedy_new(m->event, &m->bus)) < 0)
                return log_error_errno(r, "cannot set up: %m");
        m->heal_ctx = (HealContext){
                .event = m->event,
                .config = m->config,
                .imds = m->imds,
                .identity = &m->identity,
                .monitor = m->monitor,
                .bus = m->bus,
                .metric = ctx_metric,
                .changed = ctx_changed,
                .target_state = ctx_target_state,
                .userdata = m,
        };
        m->heal = heal_new(&m->heal_ctx);
        if (!m->heal)
                return log_error("cannot set up: out of memory"), -ENOMEM;
        snprintf(sock, sizeof(sock), "%s/drover.sock", drover_runtime_dir());
        r = status_server_new(m->event, sock, status_gid(m->config), manager_render_status, m,
                              &m->status);
        if (r < 0)
                return log_error_errno(r, "cannot listen on %s: %m", sock);
        r = monitor_apply_config(m->monitor, m->config);
        if (r < 0)
                return log_error_errno(r, "cannot schedule checks: %m");
        r = manager_http_start(m);
        if (r < 0)
                return r;
        r = start_metrics(m);
        if (r < 0)
                return log_error_errno(r, "cannot set up metrics: %m");
        m->started_usec = now_usec(CLOCK_BOOTTIME);
        r = imds_get(m->imds, IMDS_PATH_IDENTITY, on_identity, m, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot ask IMDS: %m");
        return 0;
}

int daemon_run(const char *config_path) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "sigprocmask: %m"), 1;
        /* A peer that goes away must be an EPIPE, not our death: systemd's IgnoreSIGPIPE=
         * does this for the unit, but not in a terminal, a container or under another
         * supervisor. Plugins get the default back (plugin.c resets every signal). */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return log_error_errno(errno, "cannot ignore SIGPIPE: %m"), 1;
        /* The daemon holds credentials: no core file of it (the unit also says
         * LimitCORE=0), and no ptrace by other processes of its user. Plugins are not
         * affected: exec resets it. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                log_warning_errno(errno, "cannot turn core dumps off: %m");
        m = calloc(1, sizeof(*m));
        if (!m || !(m->config_path = strdup(config_path)))
                return log_error("out of memory"), 1;
        if (load_config(config_path, &m->config, NULL) < 0)
                return 1;
        if (manager_start(m) < 0)
                return 1;
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %m"), 1;
        return 0;
}

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's one long-lived object, handed as userdata to every callback of the
 * daemon's own files (daemon.c, manager-status.c). Only those include this: heal and
 * lifecycle see the small contexts below, which the daemon keeps current.
 */

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "aws/aws.h"
#include "bus/remedy.h"
#include "heal/heal.h"
#include "lifecycle/lifecycle.h"
#include "state/state.h"
#include "config/config.h"
#include "imds/http.h"
#include "imds/imds.h"
#include "aws/metrics.h"
#include "checks/plugin.h"
#include "metrics/statsd.h"

typedef struct Monitor Monitor;
typedef struct Runner Runner;
typedef struct StatusServer StatusServer;
typedef struct Httpd Httpd;
typedef struct LifecyclePlan LifecyclePlan;

typedef struct Manager {
        sd_event *event;
        char *config_path;
        Config *config;
        char *reload_error; /* why the last reload was refused, NULL if it was not */

        Http *http;
        Imds *imds;
        Aws *aws;             /* NULL until the region is known */
        AwsConfig aws_config; /* what aws borrows (aws_new): a copy, since a reload
                                    * frees the Config it came from */
        Metrics *metrics;     /* NULL when metrics.enabled = false */
        sd_event_source *metrics_timer;
        AwsCall *metrics_call; /* one PutMetricData at a time */
        bool metrics_failing;
        bool stopping; /* SIGTERM seen: sending what is buffered, then exit */
        uint64_t metrics_dropped_reported;
        Statsd *statsd; /* NULL unless metrics.sinks lists statsd */
        Runner *runner;
        Monitor *monitor;
        Remedy *bus;       /* one system-bus connection for heal and lifecycle */
        StateStore *state; /* NULL until the identity is known */
        HealContext heal_ctx;
        Heal *heal;
        LifecycleContext lifecycle_ctx;
        Lifecycle *lifecycle; /* NULL until the identity is known */
        StatusServer *status;

        ImdsIdentity identity;
        bool have_identity;
        unsigned identity_attempts;
        sd_event_source *identity_timer; /* the retry while IMDS does not answer */
        int imds_error;                  /* errno of the last failed identity fetch, 0 if none */
        char imds_why[192];              /* that failure in words, for the status */
        bool identity_invalid;           /* IMDS answered, with a document that does not parse */

        Httpd *httpd;         /* NULL when http.listen is empty */
        char *draining;       /* why /health says 503 for good, NULL until a drain starts */
        uint64_t drain_since; /* CLOCK_BOOTTIME */
        time_t drain_since_unix;
        AwsCall *elb_call;     /* DescribeAutoScalingGroups for HealthCheckType, once */
        uint64_t elb_next_ask; /* CLOCK_BOOTTIME; after a failed answer */
        char *elb_warning;     /* said once, shown in status */
        double totals[_METRICS_INSTANCE_METRIC_MAX]; /* instance counters since start */

        bool ready_sent;
        uint64_t started_usec; /* CLOCK_BOOTTIME */
        char status_line[256]; /* last STATUS= sent */
} Manager;

/* Records an instance-level metric (no-op without metrics or identity). */
void manager_metric(Manager *m, MetricsInstanceMetric which, double value);

/* The statsd sink (statsd-sink.c): set up from the config; one check result or one
 * instance metric, sent at once. No-ops without a statsd sink. */
int manager_statsd_start(Manager *m);
void manager_statsd_check(Manager *m, const char *check, const PluginResult *res);
void manager_statsd_instance(Manager *m, MetricsInstanceMetric which, double value);

/* Sends STATUS= if the one-line summary changed. */
void manager_update_status(Manager *m);

/* The full state for `drover status --json` (manager-status.c); wide: see status.h. */
json_t *manager_render_status(const char *wide, void *userdata);
/* ---- the health endpoint (manager-http.c) ---- */
/* Listens when http.listen is set; a bad address or a taken port fails the start. */
int manager_http_start(Manager *m);
void manager_http_stop(Manager *m);
/* A reload: the allow-list and drain_delay apply now, listen after a restart. */
void manager_http_reload(Manager *m, const Config *next);
/* Once the group is known with http on: ask its HealthCheckType, warn if it has ELB. */
void manager_http_check_group(Manager *m);
/*
 * A lifecycle event is starting (lifecycle.c): when it takes the instance away
 * (terminate, spot interruption, a replace_on event), /health turns 503 from now on.
 * Returns how long to wait before its hooks (drain_delay, capped by the event's deadline,
 * minus the time already drained), 0 to go on at once.
 */
uint64_t manager_drain(Manager *m, const LifecyclePlan *plan);
/* The "http" object of the status document (also what /metrics shows of health). */
json_t *manager_http_status_json(Manager *m);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's one long-lived object, handed as userdata to every callback of the
 * daemon-side modules (daemon.c, heal.c, manager-status.c). Only those include this.
 */

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "aws/aws.h"
#include "config/config.h"
#include "imds/http.h"
#include "imds/imds.h"
#include "aws/metrics.h"

typedef struct Heal Heal;
typedef struct Lifecycle Lifecycle;
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
        Runner *runner;
        Monitor *monitor;
        Heal *heal;
        Lifecycle *lifecycle; /* NULL until the identity is known */
        StatusServer *status;

        ImdsIdentity identity;
        bool have_identity;
        unsigned identity_attempts;
        int imds_error; /* errno of the last failed identity fetch, 0 if none */

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

/* Sends STATUS= if the one-line summary changed. */
void manager_update_status(Manager *m);

/* The full state for `drover status --json` (manager-status.c). */
json_t *manager_render_status(void *userdata);

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

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's one long-lived object, handed as userdata to every callback of the
 * daemon-side modules (daemon.c, heal.c, manager-status.c). Only those include this.
 */

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

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
        int imds_error;        /* errno of the last failed identity fetch, 0 if none */
        char imds_why[192];    /* that failure in words, for the status */
        bool identity_invalid; /* IMDS answered, with a document that does not parse */

        bool ready_sent;
        uint64_t started_usec; /* CLOCK_BOOTTIME */
        char status_line[256]; /* last STATUS= sent */
} Manager;

/* Records an instance-level metric (no-op without metrics or identity). */
void manager_metric(Manager *m, MetricsInstanceMetric which, double value);

/* Sends STATUS= if the one-line summary changed. */
void manager_update_status(Manager *m);

/* The full state for `drover status --json` (manager-status.c); wide: see status.h. */
json_t *manager_render_status(const char *wide, void *userdata);

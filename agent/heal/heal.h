/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Healing: turns check results into local remediation and, when that is not enough,
 * into a replacement request to the Auto Scaling group — through policy.c's gates, a
 * fresh answer of the group before every decision, a random wait and a second look
 * before acting, the hooks.d/unhealthy/ hooks, and a confirmation that the group took
 * the request. What was asked is persisted (state.c).
 */

#include <jansson.h>
#include <stdbool.h>

#include "aws/aws.h"
#include "aws/metrics.h"
#include "bus/remedy.h"
#include "checks/monitor.h"
#include "config/config.h"
#include "imds/imds-parse.h"
#include "state/state.h"

typedef struct Heal Heal;

/*
 * What healing gets from the daemon, which owns every part and keeps this struct current
 * (a reload swaps config, the region makes aws): heal keeps a pointer, never a copy.
 */
typedef struct HealContext {
        sd_event *event;
        const Config *config;
        Imds *imds;                   /* the group's name from the instance's tags */
        Aws *aws;                     /* NULL until the region is known: report only */
        const ImdsIdentity *identity; /* valid once heal_set_identity() was called */
        Monitor *monitor;             /* read only: the checks and their states */
        Remedy *bus;                  /* the daemon's one system-bus connection */
        StateStore *state;            /* NULL until the identity is known */
        void (*metric)(MetricsInstanceMetric which, double value, void *userdata);
        void (*changed)(void *userdata); /* the summary may have changed (STATUS=) */
        /* IMDS's target lifecycle state: "InService", "Terminated", "not in service"
         * (Standby, Detached, Warmed:*), or NULL when unknown. Anything but InService and
         * the request machine holds and asks nothing. May be NULL. */
        const char *(*target_state)(void *userdata);
        void *userdata;
} HealContext;

Heal *heal_new(const HealContext *ctx);
Heal *heal_free(Heal *h);

/* The identity is known and ctx->state open: start deciding. */
void heal_set_identity(Heal *h);
/* A reload swapped ctx->config: drop remediation bookkeeping of checks that are gone. */
void heal_config_changed(Heal *h);
/* Check i of the monitor has a new result. */
void heal_check_result(Heal *h, size_t i, const PluginResult *result, bool changed);

/* "InService; grace 120 s left", for STATUS=. Valid until the next heal call. NULL
 * before the identity is known. */
const char *heal_summary(Heal *h);
/* verdict, decision, brakes, group view, remediation and replacement history. */
json_t *heal_status_json(Heal *h);
/* The group this instance is in, as last answered; NULL outside a group or unknown. */
const char *heal_group_name(Heal *h);
/* Whether the group has answered who we are (in a group, or proven standalone): until
 * then metrics would go out without their AutoScalingGroupName dimension, as a separate
 * (billed) metric. */
bool heal_membership_known(Heal *h);
/* 1 healthy, 0 not (InstanceHealthy metric); -1 before any verdict. */
int heal_instance_healthy(Heal *h);

/* Someone else asked the group who we are (lifecycle's DescribeAutoScalingInstances):
 * the answer stands for heal's own question, which is then not asked. group NULL: proven
 * standalone. */
void heal_learn_membership(Heal *h, const char *group, const char *lifecycle_state);

/* A lifecycle notice listed in hooks.replace_on: treat the instance as unhealthy (why
 * stands in for DROVER_CHECKS), so the replacement goes through the same policy, fleet
 * guard, brakes and persisted request as a failed check. Once per run. */
void heal_request_replacement(Heal *h, const char *why);

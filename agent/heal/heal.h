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

#include "imds/imds.h"
#include "daemon/manager.h"
#include "checks/plugin.h"

Heal *heal_new(Manager *m);
Heal *heal_free(Heal *h);

/* The identity is known: load the persisted state and start deciding. */
void heal_set_identity(Heal *h, const ImdsIdentity *id);
/* A reload swapped m->config: drop remediation bookkeeping of checks that are gone. */
void heal_config_changed(Heal *h);
/* Check i of the monitor has a new result. */
void heal_check_result(Heal *h, size_t i, const PluginResult *result, bool changed);

/* "InService; grace 120 s left", for STATUS=. Valid until the next heal call. */
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

/* For lifecycle.c, which keeps its progress in the same persisted State. */
#include "state/state.h"
State *heal_state(Heal *h);
void heal_save_state(Heal *h);
/* A lifecycle notice listed in hooks.replace_on: treat the instance as unhealthy (why
 * stands in for DROVER_CHECKS), so the replacement goes through the same policy, fleet
 * guard, brakes and persisted request as a failed check. Once per run. */
void heal_request_replacement(Heal *h, const char *why);

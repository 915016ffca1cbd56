/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the Auto Scaling answers drover reads become: plain structs, and the pure parsers
 * (xml in, struct out) that make them. In the core library; the typed calls that glue
 * aws_call() to these are in autoscaling.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/xml.h"
#include "base/macro.h"

typedef struct AsgInstance {
        char *instance_id;
        char *group_name;
        char *lifecycle_state; /* "InService", "Pending:Wait", "Terminating:Wait", ... */
        char *health_status;   /* "Healthy" / "Unhealthy" */
        char *availability_zone;
        bool protected_from_scale_in;
} AsgInstance;

typedef struct AsgTag {
        char *key;
        char *value;
} AsgTag;

/* InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon: what an abandoned
 * termination lifecycle action does (API_RetentionTriggers: "retain | terminate"; absent
 * is the default, terminate). UNKNOWN: a value this drover does not know. */
typedef enum AsgRetention {
        ASG_RETENTION_TERMINATE,
        ASG_RETENTION_RETAIN,
        ASG_RETENTION_UNKNOWN,
        _ASG_RETENTION_MAX,
} AsgRetention;

/* "terminate", "retain", "unknown": DROVER_RETENTION. */
const char *asg_retention_to_string(AsgRetention r);

typedef struct AsgGroup {
        char *name;
        AsgRetention retention;
        unsigned min_size, max_size, desired_capacity;
        unsigned health_check_grace_period;
        char *health_check_type; /* "EC2", "ELB", "EC2,ELB", ...; "" when absent */
        AsgInstance *instances;
        size_t n_instances;
        char **suspended_processes; /* NULL-terminated process names */
        AsgTag *tags;
        size_t n_tags;
} AsgGroup;

typedef struct AsgActivity {
        char *activity_id;
        char *description;
        char *cause;
        char *status_code; /* "Successful", "InProgress", ... */
        time_t start_time;
        time_t end_time; /* 0 while in progress */
} AsgActivity;

/* Pure: how many activities since `since` are replacements of instances for failed
 * health checks (EC2 or ELB or user health checks: SetInstanceHealth). */
unsigned asg_count_health_replacements(const AsgActivity *acts, size_t n, time_t since);

/* Pure parsers (tests and fuzzing). */
int asg_parse_instances(const XmlNode *root, AsgInstance **ret, size_t *ret_n);
int asg_parse_group(const XmlNode *root, const char *name, AsgGroup **ret, char **ret_next_token);
int asg_parse_activities(const XmlNode *root, AsgActivity **ret, size_t *ret_n,
                         char **ret_next_token);
void asg_instance_free_many(AsgInstance *i, size_t n);
AsgGroup *asg_group_free(AsgGroup *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(AsgGroup *, asg_group_free)
void asg_activity_free_many(AsgActivity *a, size_t n);

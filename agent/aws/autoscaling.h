/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Auto Scaling and EC2 calls drover makes, typed. Answers are parsed into plain
 * structs the callback borrows for its duration. Every parser is pure (xml in, struct
 * out) and has its own tests; the call functions only glue aws_call() to them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/aws.h"

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

/* DescribeAutoScalingInstances for one instance. found NULL with error 0: PROVEN not in
 * any group (a successful, empty answer). */
typedef void (*asg_instance_cb)(int error, const AsgInstance *found, void *userdata);
int asg_describe_instance(Aws *a, const char *instance_id, asg_instance_cb cb, void *userdata,
                          AwsCall **ret);

/* DescribeAutoScalingGroups for one group (all pages of instances followed). error
 * -ENOENT when the group does not exist. */
typedef void (*asg_group_cb)(int error, const AsgGroup *group, void *userdata);
int asg_describe_group(Aws *a, const char *name, asg_group_cb cb, void *userdata, AwsCall **ret);

/* DescribeScalingActivities for a group, pages followed until activities start before
 * `since` (or a page cap). */
typedef void (*asg_activities_cb)(int error, const AsgActivity *acts, size_t n, void *userdata);
int asg_describe_activities(Aws *a, const char *name, time_t since, asg_activities_cb cb,
                            void *userdata, AwsCall **ret);

/* Pure: how many activities since `since` are replacements of instances for failed
 * health checks (EC2 or ELB or user health checks: SetInstanceHealth). */
unsigned asg_count_health_replacements(const AsgActivity *acts, size_t n, time_t since);

/* Calls without an answer worth parsing: error 0 on success. On failure code is the AWS
 * error code ("" if none) and message says the HTTP status and the AWS message, or that
 * the body was not an AWS error document (query_error_detail); "" without an answer. */
typedef void (*asg_done_cb)(int error, const char *code, const char *message, void *userdata);
int asg_set_instance_health(Aws *a, const char *instance_id, bool healthy,
                            bool respect_grace_period, asg_done_cb cb, void *userdata,
                            AwsCall **ret);
int asg_terminate_instance(Aws *a, const char *instance_id, bool decrement_desired, asg_done_cb cb,
                           void *userdata, AwsCall **ret);
int asg_complete_lifecycle_action(Aws *a, const char *group, const char *hook,
                                  const char *instance_id,
                                  const char *result /* CONTINUE|ABANDON */, asg_done_cb cb,
                                  void *userdata, AwsCall **ret);
int asg_record_heartbeat(Aws *a, const char *group, const char *hook, const char *instance_id,
                         asg_done_cb cb, void *userdata, AwsCall **ret);
int ec2_terminate_instance(Aws *a, const char *instance_id, asg_done_cb cb, void *userdata,
                           AwsCall **ret);

/* Pure parsers (tests and fuzzing). */
int asg_parse_instances(const XmlNode *root, AsgInstance **ret, size_t *ret_n);
int asg_parse_group(const XmlNode *root, const char *name, AsgGroup **ret, char **ret_next_token);
int asg_parse_activities(const XmlNode *root, AsgActivity **ret, size_t *ret_n,
                         char **ret_next_token);
void asg_instance_free_many(AsgInstance *i, size_t n);
AsgGroup *asg_group_free(AsgGroup *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(AsgGroup *, asg_group_free)
void asg_activity_free_many(AsgActivity *a, size_t n);

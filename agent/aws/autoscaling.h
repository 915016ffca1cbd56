/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Auto Scaling and EC2 calls drover makes, typed. Answers are parsed into the plain
 * structs of autoscaling-parse.h, which the callback borrows for its duration.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/autoscaling-parse.h"
#include "aws/aws.h"

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

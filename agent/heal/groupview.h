/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the Auto Scaling group says about this instance and itself, fetched fresh before
 * every decision: DescribeAutoScalingInstances (membership, lifecycle, health), then for a
 * member DescribeAutoScalingGroups (desired capacity, every instance, suspended
 * processes, tags) and DescribeScalingActivities (health replacements in the last hour).
 * The view counts as answered only when every call succeeded; a failed refresh leaves
 * the view unanswered, never half-updated.
 */

#include <jansson.h>
#include <stdint.h>

#include "aws/aws.h"
#include "heal/policy.h"

typedef struct GroupView GroupView;

/* error: 0 when the view is answered, else the first failing call's negative errno. */
typedef void (*groupview_done_t)(GroupView *v, int error, void *userdata);

GroupView *groupview_new(void);
GroupView *groupview_free(GroupView *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(GroupView *, groupview_free)

/* Starts a refresh (cancelling one in flight). now: CLOCK_BOOTTIME usec, stamped on the
 * answer. -EBUSY never: a new refresh replaces the old. */
int groupview_refresh(GroupView *v, Aws *a, const char *instance_id, uint64_t now,
                      groupview_done_t cb, void *userdata);
void groupview_cancel(GroupView *v);

/* The last answered view in policy's terms (answered = false before the first, after a
 * failed refresh, and while a refresh is in flight). Valid until the next refresh. */
const PolicyGroupView *groupview_policy(const GroupView *v);
/* Why the last refresh failed ("DescribeAutoScalingGroups: Throttling: Rate exceeded"),
 * "" if it did not. */
const char *groupview_error(const GroupView *v);
/* For status: the last finished refresh while one is in flight. */
json_t *groupview_json(const GroupView *v);
/* This instance's LifecycleState as the group wrote it ("Pending:Wait"), NULL if unknown. */
const char *groupview_lifecycle_state(const GroupView *v);

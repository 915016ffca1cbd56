/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "aws/autoscaling.h"
#include "heal/groupview.h"
#include "base/util.h"

#define HOUR_SEC 3600

struct GroupView {
        /* The answer being assembled, moved to the public view when complete. */
        PolicyGroupView view;
        char *group_name;
        PolicyGroupInstance *instances;
        size_t n_instances;
        char **suspended;
        PolicyTag *tags;
        size_t n_tags;
        char *lifecycle_state, *health_status;
        char error[256];
        json_t *shown;   /* the last finished refresh, for status while one is in flight */
        bool assembling; /* a refresh started (and was not finished: maybe cancelled) */

        Aws *aws;
        AwsCall *call;
        char instance_id[32];
        uint64_t started;
        groupview_done_t cb;
        void *userdata;
};

static void clear_answer(GroupView *v) {
        free(v->group_name);
        for (size_t i = 0; i < v->n_instances; i++)
                free((char *) v->instances[i].instance_id);
        free(v->instances);
        strv_free(v->suspended);
        for (size_t i = 0; i < v->n_tags; i++) {
                free((char *) v->tags[i].key);
                free((char *) v->tags[i].value);
        }
        free(v->tags);
        free(v->lifecycle_state);
        free(v->health_status);
        v->group_name = v->lifecycle_state = v->health_status = NULL;
        v->instances = NULL;
        v->tags = NULL;
        v->suspended = NULL;
        v->n_instances = v->n_tags = 0;
        v->view = (PolicyGroupView){};
}

GroupView *groupview_new(void) {
        return calloc(1, sizeof(GroupView));
}

void groupview_cancel(GroupView *v) {
        aws_call_cancel(v->call);
        v->call = NULL;
}

GroupView *groupview_free(GroupView *v) {
        if (!v)
                return NULL;
        groupview_cancel(v);
        clear_answer(v);
        json_decref(v->shown);
        free(v);
        return NULL;
}

static json_t *render(const GroupView *v);

static void finish(GroupView *v, int error, const char *step) {
        v->call = NULL;
        if (error < 0) {
                snprintf(v->error, sizeof(v->error), "%s: %s", step, strerror(-error));
                clear_answer(v);
        } else {
                v->error[0] = 0;
                v->view.answered = true;
                v->view.answered_usec = v->started;
        }
        v->assembling = false;
        json_decref(v->shown);
        v->shown = render(v);
        v->cb(v, error, v->userdata);
}

static void on_activities(int error, const AsgActivity *acts, size_t n, void *userdata) {
        GroupView *v = userdata;

        if (error == 0)
                v->view.health_replacements_last_hour =
                        asg_count_health_replacements(acts, n, time(NULL) - HOUR_SEC);
        finish(v, error, "DescribeScalingActivities");
}

static int copy_group(GroupView *v, const AsgGroup *g) {
        v->instances = calloc(g->n_instances ?: 1, sizeof(*v->instances));
        v->tags = calloc(g->n_tags ?: 1, sizeof(*v->tags));
        v->suspended = strv_copy(g->suspended_processes);
        if (!v->instances || !v->tags || !v->suspended)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_instances; i++) {
                v->instances[i] = (PolicyGroupInstance){
                        .instance_id = strdup(g->instances[i].instance_id),
                        .lifecycle = policy_lifecycle_from_string(g->instances[i].lifecycle_state),
                        .healthy = streq(strempty(g->instances[i].health_status), "Healthy"),
                };
                v->n_instances++;
                if (!v->instances[i].instance_id)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < g->n_tags; i++) {
                v->tags[i].key = strdup(g->tags[i].key);
                v->tags[i].value = strdup(strempty(g->tags[i].value));
                v->n_tags++;
                if (!v->tags[i].key || !v->tags[i].value)
                        return -ENOMEM;
        }
        v->view.desired_capacity = g->desired_capacity;
        v->view.instances = v->instances;
        v->view.n_instances = v->n_instances;
        v->view.suspended = (const char *const *) v->suspended;
        v->view.n_suspended = strv_length(v->suspended);
        v->view.tags = v->tags;
        v->view.n_tags = v->n_tags;
        return 0;
}

static void on_group(int error, const AsgGroup *g, void *userdata) {
        GroupView *v = userdata;

        if (error == 0)
                error = copy_group(v, g);
        if (error == 0)
                error = asg_describe_activities(v->aws, v->group_name, time(NULL) - HOUR_SEC,
                                                on_activities, v, &v->call);
        if (error < 0)
                finish(v, error, "DescribeAutoScalingGroups");
}

static void on_instance(int error, const AsgInstance *found, void *userdata) {
        GroupView *v = userdata;

        if (error < 0) {
                finish(v, error, "DescribeAutoScalingInstances");
                return;
        }
        if (!found) {
                /* A successful, empty answer: proven to be outside any group. */
                v->view.membership = POLICY_MEMBERSHIP_STANDALONE;
                finish(v, 0, NULL);
                return;
        }
        v->view.membership = POLICY_MEMBERSHIP_IN_GROUP;
        v->group_name = strdup(found->group_name);
        v->lifecycle_state = strdup(strempty(found->lifecycle_state));
        v->health_status = strdup(strempty(found->health_status));
        if (!v->group_name || !v->lifecycle_state || !v->health_status) {
                finish(v, -ENOMEM, "DescribeAutoScalingInstances");
                return;
        }
        v->view.group_name = v->group_name;
        v->view.lifecycle = policy_lifecycle_from_string(v->lifecycle_state);
        v->view.healthy = streq(v->health_status, "Healthy");
        error = asg_describe_group(v->aws, v->group_name, on_group, v, &v->call);
        if (error < 0)
                finish(v, error, "DescribeAutoScalingGroups");
}

int groupview_refresh(GroupView *v, Aws *a, const char *instance_id, uint64_t now,
                      groupview_done_t cb, void *userdata) {
        groupview_cancel(v);
        clear_answer(v);
        v->aws = a;
        v->assembling = true;
        v->started = now;
        v->cb = cb;
        v->userdata = userdata;
        snprintf(v->instance_id, sizeof(v->instance_id), "%s", instance_id);
        return asg_describe_instance(a, v->instance_id, on_instance, v, &v->call);
}

const PolicyGroupView *groupview_policy(const GroupView *v) {
        return &v->view;
}

const char *groupview_error(const GroupView *v) {
        return v->error;
}

json_t *groupview_json(const GroupView *v) {
        /* A refresh clears the answer it assembles: show the last one meanwhile, rather
         * than a group that seems to vanish on every look. */
        if (v->assembling && v->shown)
                return json_incref(v->shown);
        return render(v);
}

static json_t *render(const GroupView *v) {
        json_t *o = json_pack("{s:b,s:s,s:s?}", "answered", v->view.answered, "membership",
                              v->view.membership == POLICY_MEMBERSHIP_IN_GROUP     ? "in-group"
                              : v->view.membership == POLICY_MEMBERSHIP_STANDALONE ? "standalone"
                                                                                   : "unknown",
                              "error", v->error[0] ? v->error : NULL);
        json_t *susp = json_array();

        if (!o || !susp) {
                json_decref(o);
                json_decref(susp);
                return NULL;
        }
        for (size_t i = 0; v->suspended && v->suspended[i]; i++)
                json_array_append_new(susp, json_string(v->suspended[i]));
        if (v->view.membership == POLICY_MEMBERSHIP_IN_GROUP)
                json_object_update_new(
                        o, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i}", "group", v->group_name,
                                     "lifecycle_state", strempty(v->lifecycle_state),
                                     "health_status", strempty(v->health_status), "desired",
                                     (int) v->view.desired_capacity, "instances",
                                     (int) v->n_instances, "health_replacements_last_hour",
                                     (int) v->view.health_replacements_last_hour));
        json_object_set_new(o, "suspended_processes", susp);
        return o;
}

const char *groupview_lifecycle_state(const GroupView *v) {
        return v->lifecycle_state;
}

/* SPDX-License-Identifier: MIT */
/*
 * The typed Auto Scaling and EC2 calls: parameters in, aws_call(), the pure parsers in
 * autoscaling-parse.c on the answer. Paginated calls continue on the same AwsCall so the
 * handle given to the caller stays valid across pages.
 */
#include "aws/autoscaling.h"

#define ASG_VERSION "2011-01-01"
#define EC2_VERSION "2016-11-15"
#define MAX_GROUP_PAGES 20U
#define MAX_ACTIVITY_PAGES 10U
#define MAX_ID 256U

typedef enum OpKind {
        OP_INSTANCE,
        OP_GROUP,
        OP_ACTIVITIES,
        OP_DONE,
} OpKind;

typedef struct AsgOp {
        OpKind kind;
        union {
                asg_instance_cb instance;
                asg_group_cb group;
                asg_activities_cb activities;
                asg_done_cb done;
        } cb;
        void *userdata;
        char *key; /* the instance id or group name asked about */
        time_t since;
        unsigned pages;
        AsgActivity *acts;
        size_t n_acts;
        AwsCall *call; /* ours, for aws_call_continue() (aws_call never calls back early) */
} AsgOp;

static void op_free(void *p) {
        AsgOp *op = p;

        free(op->key);
        asg_activity_free_many(op->acts, op->n_acts);
        free(op);
}

static bool id_valid(const char *s) {
        return !isempty(s) && strlen(s) <= MAX_ID;
}

static void on_answer(const AwsResult *res, void *userdata);

/* Sends p as op's call; takes ownership of both in all cases. */
static int op_start(Aws *a, AwsService s, QueryParams *p, AsgOp *op, AwsCall **ret) {
        AwsCall *c;
        int r;

        if (!p) {
                op_free(op);
                return -ENOMEM;
        }
        r = aws_call(a, s, p, false, on_answer, op, &c);
        if (r < 0) {
                op_free(op);
                return r;
        }
        aws_call_set_destroy(c, op_free);
        op->call = c;
        if (ret)
                *ret = c;
        return 0;
}

static AsgOp *op_new(OpKind kind, const char *key, void *userdata) {
        AsgOp *op = calloc(1, sizeof(*op));

        if (!op)
                return NULL;
        op->kind = kind;
        op->userdata = userdata;
        op->key = key ? strdup(key) : NULL;
        if (key && !op->key)
                return mfree(op);
        return op;
}

static void answer_instance(AsgOp *op, const AwsResult *res) {
        AsgInstance *v = NULL;
        const AsgInstance *found = NULL;
        size_t n = 0;
        int r = res->error;

        if (r >= 0)
                r = asg_parse_instances(res->root, &v, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (streq(v[i].instance_id, op->key))
                        found = &v[i];
        /* Other instances but not this one is a confused answer, not proof of absence. */
        if (r >= 0 && n > 0 && !found)
                r = -EBADMSG;
        op->cb.instance(r < 0 ? r : 0, r < 0 ? NULL : found, op->userdata);
        asg_instance_free_many(v, n);
}

static QueryParams *group_params(const char *name, const char *token) {
        _cleanup_(query_params_freep) QueryParams *p =
                query_params_new("DescribeAutoScalingGroups", ASG_VERSION);

        if (!p || query_params_add(p, "AutoScalingGroupNames.member.1", name) < 0 ||
            (token && query_params_add(p, "NextToken", token) < 0))
                return NULL;
        return TAKE_PTR(p);
}

static void answer_group(AsgOp *op, AwsCall *call, const AwsResult *res) {
        _cleanup_(asg_group_freep) AsgGroup *g = NULL;
        _cleanup_free_ char *token = NULL;
        int r = res->error;

        if (r >= 0)
                r = asg_parse_group(res->root, op->key, &g, &token);
        if (r == -ENOENT && token && ++op->pages < MAX_GROUP_PAGES) {
                r = aws_call_continue(call, group_params(op->key, token));
                if (r >= 0)
                        return;
        }
        op->cb.group(r < 0 ? r : 0, r < 0 ? NULL : g, op->userdata);
}

static QueryParams *activity_params(const char *name, const char *token) {
        _cleanup_(query_params_freep) QueryParams *p =
                query_params_new("DescribeScalingActivities", ASG_VERSION);

        if (!p || query_params_add(p, "AutoScalingGroupName", name) < 0 ||
            query_params_add(p, "MaxRecords", "100") < 0 ||
            (token && query_params_add(p, "NextToken", token) < 0))
                return NULL;
        return TAKE_PTR(p);
}

static int append_activities(AsgOp *op, AsgActivity *v, size_t n) {
        AsgActivity *m;

        if (n == 0) {
                free(v);
                return 0;
        }
        m = reallocarray(op->acts, op->n_acts + n, sizeof(*m));
        if (!m) {
                asg_activity_free_many(v, n);
                return -ENOMEM;
        }
        memcpy(m + op->n_acts, v, n * sizeof(*v));
        free(v);
        op->acts = m;
        op->n_acts += n;
        return 0;
}

static void answer_activities(AsgOp *op, AwsCall *call, const AwsResult *res) {
        _cleanup_free_ char *token = NULL;
        AsgActivity *v = NULL;
        size_t n = 0;
        int r = res->error;

        if (r >= 0)
                r = asg_parse_activities(res->root, &v, &n, &token);
        if (r >= 0)
                r = append_activities(op, v, n);
        /* Newest first: once a page reaches back before `since`, the rest is older. */
        if (r >= 0 && token && n > 0 && op->acts[op->n_acts - 1].start_time >= op->since &&
            ++op->pages < MAX_ACTIVITY_PAGES) {
                r = aws_call_continue(call, activity_params(op->key, token));
                if (r >= 0)
                        return;
        }
        op->cb.activities(r < 0 ? r : 0, r < 0 ? NULL : op->acts, r < 0 ? 0 : op->n_acts,
                          op->userdata);
}

/* A failure's message names the HTTP status too, so that every log line built from
 * (code, message) says what the answer was. */
static void answer_done(AsgOp *op, const AwsResult *res) {
        char detail[QUERY_ERROR_MAX_FIELD + 64];

        if (res->error >= 0)
                return op->cb.done(0, "", "", op->userdata);
        query_error_detail(res->status, res->code, res->message, detail, sizeof(detail));
        op->cb.done(res->error, res->code, detail, op->userdata);
}

static void on_answer(const AwsResult *res, void *userdata) {
        AsgOp *op = userdata;

        switch (op->kind) {
        case OP_INSTANCE:
                return answer_instance(op, res);
        case OP_GROUP:
                return answer_group(op, op->call, res);
        case OP_ACTIVITIES:
                return answer_activities(op, op->call, res);
        case OP_DONE:
                return answer_done(op, res);
        }
}

int asg_describe_instance(Aws *a, const char *instance_id, asg_instance_cb cb, void *userdata,
                          AwsCall **ret) {
        QueryParams *p;
        AsgOp *op;

        if (!a || !id_valid(instance_id) || !cb)
                return -EINVAL;
        op = op_new(OP_INSTANCE, instance_id, userdata);
        if (!op)
                return -ENOMEM;
        op->cb.instance = cb;
        p = query_params_new("DescribeAutoScalingInstances", ASG_VERSION);
        if (p && query_params_add(p, "InstanceIds.member.1", instance_id) < 0)
                p = query_params_free(p);
        return op_start(a, AWS_SERVICE_AUTOSCALING, p, op, ret);
}

int asg_describe_group(Aws *a, const char *name, asg_group_cb cb, void *userdata, AwsCall **ret) {
        AsgOp *op;

        if (!a || !id_valid(name) || !cb)
                return -EINVAL;
        op = op_new(OP_GROUP, name, userdata);
        if (!op)
                return -ENOMEM;
        op->cb.group = cb;
        return op_start(a, AWS_SERVICE_AUTOSCALING, group_params(name, NULL), op, ret);
}

int asg_describe_activities(Aws *a, const char *name, time_t since, asg_activities_cb cb,
                            void *userdata, AwsCall **ret) {
        AsgOp *op;

        if (!a || !id_valid(name) || !cb)
                return -EINVAL;
        op = op_new(OP_ACTIVITIES, name, userdata);
        if (!op)
                return -ENOMEM;
        op->cb.activities = cb;
        op->since = since;
        return op_start(a, AWS_SERVICE_AUTOSCALING, activity_params(name, NULL), op, ret);
}

/* A call whose answer only says "done": the params are "key", "value" pairs. */
static int simple_call(Aws *a, AwsService s, const char *action, const char *const *kv, size_t n_kv,
                       asg_done_cb cb, void *userdata, AwsCall **ret) {
        QueryParams *p;
        AsgOp *op;

        if (!a || !cb)
                return -EINVAL;
        for (size_t i = 1; i < n_kv; i += 2)
                if (!id_valid(kv[i]))
                        return -EINVAL;
        op = op_new(OP_DONE, NULL, userdata);
        if (!op)
                return -ENOMEM;
        op->cb.done = cb;
        p = query_params_new(action, s == AWS_SERVICE_EC2 ? EC2_VERSION : ASG_VERSION);
        for (size_t i = 0; p && i + 1 < n_kv; i += 2)
                if (query_params_add(p, kv[i], kv[i + 1]) < 0)
                        p = query_params_free(p);
        return op_start(a, s, p, op, ret);
}

int asg_set_instance_health(Aws *a, const char *instance_id, bool healthy,
                            bool respect_grace_period, asg_done_cb cb, void *userdata,
                            AwsCall **ret) {
        const char *kv[] = { "InstanceId",
                             instance_id,
                             "HealthStatus",
                             healthy ? "Healthy" : "Unhealthy",
                             "ShouldRespectGracePeriod",
                             respect_grace_period ? "true" : "false" };

        return simple_call(a, AWS_SERVICE_AUTOSCALING, "SetInstanceHealth", kv, ELEMENTSOF(kv), cb,
                           userdata, ret);
}

int asg_terminate_instance(Aws *a, const char *instance_id, bool decrement_desired, asg_done_cb cb,
                           void *userdata, AwsCall **ret) {
        const char *kv[] = { "InstanceId", instance_id, "ShouldDecrementDesiredCapacity",
                             decrement_desired ? "true" : "false" };

        return simple_call(a, AWS_SERVICE_AUTOSCALING, "TerminateInstanceInAutoScalingGroup", kv,
                           ELEMENTSOF(kv), cb, userdata, ret);
}

int asg_complete_lifecycle_action(Aws *a, const char *group, const char *hook,
                                  const char *instance_id, const char *result, asg_done_cb cb,
                                  void *userdata, AwsCall **ret) {
        const char *kv[] = { "AutoScalingGroupName", group,       "LifecycleHookName",     hook,
                             "InstanceId",           instance_id, "LifecycleActionResult", result };

        if (!result || (!streq(result, "CONTINUE") && !streq(result, "ABANDON")))
                return -EINVAL;
        return simple_call(a, AWS_SERVICE_AUTOSCALING, "CompleteLifecycleAction", kv,
                           ELEMENTSOF(kv), cb, userdata, ret);
}

int asg_record_heartbeat(Aws *a, const char *group, const char *hook, const char *instance_id,
                         asg_done_cb cb, void *userdata, AwsCall **ret) {
        const char *kv[] = { "AutoScalingGroupName", group,      "LifecycleHookName", hook,
                             "InstanceId",           instance_id };

        return simple_call(a, AWS_SERVICE_AUTOSCALING, "RecordLifecycleActionHeartbeat", kv,
                           ELEMENTSOF(kv), cb, userdata, ret);
}

int ec2_terminate_instance(Aws *a, const char *instance_id, asg_done_cb cb, void *userdata,
                           AwsCall **ret) {
        const char *kv[] = { "InstanceId.1", instance_id };

        return simple_call(a, AWS_SERVICE_EC2, "TerminateInstances", kv, ELEMENTSOF(kv), cb,
                           userdata, ret);
}

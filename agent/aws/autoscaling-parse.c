/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers for Auto Scaling answers (the XML tree of query_parse_response()). The
 * answers are never trusted: strings are cut and stripped of control bytes, numbers
 * range-checked, lists capped, and a missing required field fails the whole answer
 * (a decision on half an answer is how fleets get killed).
 */
#include <ctype.h>
#include <strings.h>

#include "aws/autoscaling-parse.h"
#include "aws/credentials-parse.h"
#include "base/util.h"

#define MAX_FIELD 4096U
#define MAX_INSTANCES 100000U
#define MAX_ACTIVITIES 10000U
#define MAX_TAGS 1000U
#define MAX_PROCESSES 64U

/* A copy of the text, control bytes replaced, cut at MAX_FIELD; "" if absent. */
static char *text_dup(const XmlNode *n, const char *path) {
        const char *s = xml_find_text(n, path);
        size_t len = strnlen(strempty(s), MAX_FIELD);
        char *d = strndup(strempty(s), len);

        for (char *c = d; c && *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
        return d;
}

static int required(const XmlNode *n, const char *path, char **ret) {
        char *s = text_dup(n, path);

        if (!s)
                return -ENOMEM;
        if (!*s) {
                free(s);
                return -EBADMSG;
        }
        *ret = s;
        return 0;
}

static int optional(const XmlNode *n, const char *path, char **ret) {
        *ret = text_dup(n, path);
        return *ret ? 0 : -ENOMEM;
}

static int parse_uint(const XmlNode *n, const char *path, unsigned *ret) {
        const char *s = xml_find_text(n, path);
        unsigned long v;
        char *end;

        if (!s || !*s) {
                *ret = 0;
                return 0;
        }
        if (!isdigit((unsigned char) s[0]))
                return -EBADMSG;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > 1000000000UL)
                return -EBADMSG;
        *ret = (unsigned) v;
        return 0;
}

static bool parse_bool(const XmlNode *n, const char *path) {
        const char *s = xml_find_text(n, path);
        return s && streq(s, "true");
}

static int parse_time(const XmlNode *n, const char *path, bool required_, time_t *ret) {
        const char *s = xml_find_text(n, path);

        if (!s || !*s) {
                *ret = 0;
                return required_ ? -EBADMSG : 0;
        }
        return credentials_parse_iso8601(s, ret) < 0 ? -EBADMSG : 0;
}

/* DescribeAutoScalingInstances spells health in capitals; groups do not. */
static void normalize_health(char *h) {
        if (strcasecmp(h, "healthy") == 0)
                strcpy(h, "Healthy");
        else if (strcasecmp(h, "unhealthy") == 0)
                strcpy(h, "Unhealthy");
}

static void instance_done(AsgInstance *i) {
        free(i->instance_id);
        free(i->group_name);
        free(i->lifecycle_state);
        free(i->health_status);
        free(i->availability_zone);
}

void asg_instance_free_many(AsgInstance *i, size_t n) {
        for (size_t k = 0; i && k < n; k++)
                instance_done(&i[k]);
        free(i);
}

/* One <member> of an instance list; group_name is known for a group's own list. */
static int parse_instance(const XmlNode *m, const char *group_name, AsgInstance *ret) {
        AsgInstance i = {};
        int r;

        r = required(m, "InstanceId", &i.instance_id);
        if (r >= 0)
                r = group_name ? ((i.group_name = strdup(group_name)) ? 0 : -ENOMEM)
                               : required(m, "AutoScalingGroupName", &i.group_name);
        if (r >= 0)
                r = required(m, "LifecycleState", &i.lifecycle_state);
        if (r >= 0)
                r = required(m, "HealthStatus", &i.health_status);
        if (r >= 0)
                r = optional(m, "AvailabilityZone", &i.availability_zone);
        if (r < 0) {
                instance_done(&i);
                return r;
        }
        normalize_health(i.health_status);
        i.protected_from_scale_in = parse_bool(m, "ProtectedFromScaleIn");
        *ret = i;
        return 0;
}

static int parse_instance_list(const XmlNode *list, const char *group_name, AsgInstance **ret,
                               size_t *ret_n) {
        size_t n = list ? xml_count(list, "member") : 0, k = 0;
        AsgInstance *v;
        int r;

        if (n > MAX_INSTANCES)
                return -E2BIG;
        v = calloc(MAX(n, 1U), sizeof(*v));
        if (!v)
                return -ENOMEM;
        XML_FOREACH(m, list, "member") {
                r = parse_instance(m, group_name, &v[k]);
                if (r < 0) {
                        asg_instance_free_many(v, k);
                        return r;
                }
                k++;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

int asg_parse_instances(const XmlNode *root, AsgInstance **ret, size_t *ret_n) {
        const XmlNode *res = root ? xml_child(root, "DescribeAutoScalingInstancesResult") : NULL;

        if (!res)
                return -EBADMSG;
        return parse_instance_list(xml_child(res, "AutoScalingInstances"), NULL, ret, ret_n);
}

AsgGroup *asg_group_free(AsgGroup *g) {
        if (!g)
                return NULL;
        free(g->name);
        free(g->health_check_type);
        asg_instance_free_many(g->instances, g->n_instances);
        strv_free(g->suspended_processes);
        for (size_t i = 0; i < g->n_tags; i++) {
                free(g->tags[i].key);
                free(g->tags[i].value);
        }
        free(g->tags);
        return mfree(g);
}

static int parse_processes(const XmlNode *list, char ***ret) {
        size_t n = list ? xml_count(list, "member") : 0, k = 0;
        char **v;
        int r;

        if (n > MAX_PROCESSES)
                return -E2BIG;
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        XML_FOREACH(m, list, "member") {
                r = required(m, "ProcessName", &v[k]);
                if (r < 0) {
                        strv_free(v);
                        return r;
                }
                k++;
        }
        *ret = v;
        return 0;
}

static int parse_tags(const XmlNode *list, AsgGroup *g) {
        size_t n = list ? xml_count(list, "member") : 0;
        int r;

        if (n > MAX_TAGS)
                return -E2BIG;
        g->tags = calloc(MAX(n, 1U), sizeof(AsgTag));
        if (!g->tags)
                return -ENOMEM;
        XML_FOREACH(m, list, "member") {
                AsgTag *t = &g->tags[g->n_tags];

                r = required(m, "Key", &t->key);
                if (r < 0)
                        return r;
                g->n_tags++;
                r = optional(m, "Value", &t->value);
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *asg_retention_to_string(AsgRetention r) {
        static const char *const names[_ASG_RETENTION_MAX] = {
                [ASG_RETENTION_TERMINATE] = "terminate",
                [ASG_RETENTION_RETAIN] = "retain",
                [ASG_RETENTION_UNKNOWN] = "unknown",
        };
        return r >= 0 && r < _ASG_RETENTION_MAX ? names[r] : "unknown";
}

static AsgRetention parse_retention(const XmlNode *m) {
        const char *v =
                xml_find_text(m, "InstanceLifecyclePolicy/RetentionTriggers/TerminateHookAbandon");

        /* The API reference spells the values in lower case, the user guide capitalised. */
        if (!v || !*v || strcasecmp(v, "terminate") == 0)
                return ASG_RETENTION_TERMINATE;
        return strcasecmp(v, "retain") == 0 ? ASG_RETENTION_RETAIN : ASG_RETENTION_UNKNOWN;
}

static int parse_group(const XmlNode *m, AsgGroup **ret) {
        _cleanup_(asg_group_freep) AsgGroup *g = calloc(1, sizeof(AsgGroup));
        int r;

        if (!g)
                return -ENOMEM;
        r = required(m, "AutoScalingGroupName", &g->name);
        if (r >= 0)
                r = parse_uint(m, "MinSize", &g->min_size);
        if (r >= 0)
                r = parse_uint(m, "MaxSize", &g->max_size);
        if (r >= 0)
                r = parse_uint(m, "HealthCheckGracePeriod", &g->health_check_grace_period);
        /* The fleet guard divides by it: absent is not zero, it is a broken answer. */
        if (r >= 0)
                r = xml_find_text(m, "DesiredCapacity")
                            ? parse_uint(m, "DesiredCapacity", &g->desired_capacity)
                            : -EBADMSG;
        if (r >= 0)
                r = parse_instance_list(xml_child(m, "Instances"), g->name, &g->instances,
                                        &g->n_instances);
        if (r >= 0)
                r = optional(m, "HealthCheckType", &g->health_check_type);
        if (r >= 0)
                r = parse_processes(xml_child(m, "SuspendedProcesses"), &g->suspended_processes);
        if (r >= 0)
                r = parse_tags(xml_child(m, "Tags"), g);
        if (r < 0)
                return r;
        g->retention = parse_retention(m);
        *ret = TAKE_PTR(g);
        return 0;
}

static int next_token(const XmlNode *res, char **ret) {
        const char *t = xml_find_text(res, "NextToken");

        if (!ret)
                return 0;
        if (!t || !*t) {
                *ret = NULL;
                return 0;
        }
        if (strlen(t) > MAX_FIELD)
                return -EBADMSG;
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

int asg_parse_group(const XmlNode *root, const char *name, AsgGroup **ret, char **ret_next_token) {
        const XmlNode *res = root ? xml_child(root, "DescribeAutoScalingGroupsResult") : NULL;
        const XmlNode *list;
        AsgGroup *g = NULL;
        int r;

        if (!res || !name)
                return -EBADMSG;
        list = xml_child(res, "AutoScalingGroups");
        XML_FOREACH(m, list, "member") {
                const char *n = xml_find_text(m, "AutoScalingGroupName");
                if (!n || !streq(n, name))
                        continue;
                r = parse_group(m, &g);
                if (r < 0)
                        return r;
                break;
        }
        r = next_token(res, ret_next_token);
        if (r < 0) {
                asg_group_free(g);
                return r;
        }
        if (!g)
                return -ENOENT; /* *ret_next_token says whether another page may hold it */
        *ret = g;
        return 0;
}

void asg_activity_free_many(AsgActivity *a, size_t n) {
        for (size_t k = 0; a && k < n; k++) {
                free(a[k].activity_id);
                free(a[k].description);
                free(a[k].cause);
                free(a[k].status_code);
        }
        free(a);
}

static int parse_activity(const XmlNode *m, AsgActivity *a) {
        int r;

        r = required(m, "ActivityId", &a->activity_id);
        if (r >= 0)
                r = optional(m, "Description", &a->description);
        if (r >= 0)
                r = optional(m, "Cause", &a->cause);
        if (r >= 0)
                r = required(m, "StatusCode", &a->status_code);
        if (r >= 0)
                r = parse_time(m, "StartTime", true, &a->start_time);
        if (r >= 0)
                r = parse_time(m, "EndTime", false, &a->end_time);
        return r;
}

int asg_parse_activities(const XmlNode *root, AsgActivity **ret, size_t *ret_n,
                         char **ret_next_token) {
        const XmlNode *res = root ? xml_child(root, "DescribeScalingActivitiesResult") : NULL;
        const XmlNode *list;
        AsgActivity *v;
        size_t n, k = 0;
        int r;

        if (!res)
                return -EBADMSG;
        list = xml_child(res, "Activities");
        n = list ? xml_count(list, "member") : 0;
        if (n > MAX_ACTIVITIES)
                return -E2BIG;
        v = calloc(MAX(n, 1U), sizeof(*v));
        if (!v)
                return -ENOMEM;
        XML_FOREACH(m, list, "member") {
                r = parse_activity(m, &v[k]);
                if (r < 0) {
                        asg_activity_free_many(v, k + 1);
                        return r;
                }
                k++;
        }
        r = next_token(res, ret_next_token);
        if (r < 0) {
                asg_activity_free_many(v, k);
                return r;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

unsigned asg_count_health_replacements(const AsgActivity *acts, size_t n, time_t since) {
        unsigned count = 0;

        for (size_t i = 0; i < n; i++) {
                const char *d = strempty(acts[i].description), *c = strempty(acts[i].cause);

                if (acts[i].start_time < since || !strneq(d, "Terminating EC2 instance", 24))
                        continue;
                /* "EC2 health check", "ELB system health check failure", "user health-check" */
                if (strcasestr(c, "health check") || strcasestr(c, "health-check"))
                        count++;
        }
        return count;
}

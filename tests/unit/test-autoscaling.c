/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/autoscaling.h"
#include "aws/cloudwatch.h"
#include "aws/credentials.h"
#include "base/util.h"

#define NS "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\""
#define META                                                                                       \
        "<ResponseMetadata><RequestId>908c0e27-6858-48ac-822c-2f74dc0cb958</RequestId>"            \
        "</ResponseMetadata>"

static XmlNode *parse(const char *doc, const char *action) {
        XmlNode *root = NULL;
        assert_int_equal(query_parse_response(doc, strlen(doc), action, &root), 0);
        return root;
}

/* ---- DescribeAutoScalingInstances ---- */

static const char instances_doc[] =
        "<DescribeAutoScalingInstancesResponse " NS "><DescribeAutoScalingInstancesResult>"
        "<AutoScalingInstances><member><InstanceId>i-0123456789abcdef0</InstanceId>"
        "<InstanceType>t3.micro</InstanceType><AutoScalingGroupName>web-asg</AutoScalingGroupName>"
        "<AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>InService</LifecycleState>"
        "<HealthStatus>HEALTHY</HealthStatus><LaunchTemplate><LaunchTemplateId>lt-1</"
        "LaunchTemplateId>"
        "</LaunchTemplate><ProtectedFromScaleIn>true</ProtectedFromScaleIn></member>"
        "</AutoScalingInstances></DescribeAutoScalingInstancesResult>" META
        "</DescribeAutoScalingInstancesResponse>";

static void test_parse_instances(void **state) {
        _cleanup_(xml_freep) XmlNode *root = parse(instances_doc, "DescribeAutoScalingInstances");
        AsgInstance *v = NULL;
        size_t n = 0;

        assert_int_equal(asg_parse_instances(root, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].instance_id, "i-0123456789abcdef0");
        assert_string_equal(v[0].group_name, "web-asg");
        assert_string_equal(v[0].lifecycle_state, "InService");
        assert_string_equal(v[0].health_status, "Healthy"); /* normalised from HEALTHY */
        assert_string_equal(v[0].availability_zone, "us-east-1a");
        assert_true(v[0].protected_from_scale_in);
        asg_instance_free_many(v, n);
}

static void test_parse_instances_cases(void **state) {
        static const struct {
                const char *inner; /* inside <DescribeAutoScalingInstancesResult> */
                int r;
                size_t n;
        } cases[] = {
                { "<AutoScalingInstances/>", 0, 0 },
                { "", 0, 0 },
                { "<AutoScalingInstances><member><AutoScalingGroupName>g</AutoScalingGroupName>"
                  "<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus>"
                  "</member></AutoScalingInstances>",
                  -EBADMSG, 0 },
                { "<AutoScalingInstances><member><InstanceId>i-1</InstanceId>"
                  "<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus>"
                  "</member></AutoScalingInstances>",
                  -EBADMSG, 0 },
                { "<AutoScalingInstances><member><InstanceId>i-1</InstanceId>"
                  "<AutoScalingGroupName>g</AutoScalingGroupName><HealthStatus>Healthy</"
                  "HealthStatus>"
                  "</member></AutoScalingInstances>",
                  -EBADMSG, 0 },
                { "<AutoScalingInstances><member><InstanceId>i-1</InstanceId>"
                  "<AutoScalingGroupName>g</AutoScalingGroupName><LifecycleState>X</LifecycleState>"
                  "<HealthStatus>Unhealthy</HealthStatus></member><member><InstanceId>i-2"
                  "</InstanceId><AutoScalingGroupName>g</AutoScalingGroupName><LifecycleState>Y"
                  "</LifecycleState><HealthStatus>UNHEALTHY</HealthStatus></member>"
                  "</AutoScalingInstances>",
                  0, 2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *doc = NULL;
                _cleanup_(xml_freep) XmlNode *root = NULL;
                AsgInstance *v = NULL;
                size_t n = 99;
                int r;

                assert_true(asprintf(&doc,
                                     "<DescribeAutoScalingInstancesResponse " NS ">"
                                     "<DescribeAutoScalingInstancesResult>%s"
                                     "</DescribeAutoScalingInstancesResult>" META
                                     "</DescribeAutoScalingInstancesResponse>",
                                     cases[i].inner) > 0);
                root = parse(doc, "DescribeAutoScalingInstances");
                r = asg_parse_instances(root, &v, &n);
                if (r != cases[i].r)
                        fail_msg("case %zu: r=%d", i, r);
                if (r == 0) {
                        assert_int_equal(n, cases[i].n);
                        for (size_t k = 0; k < n; k++)
                                assert_string_equal(v[k].health_status, "Unhealthy");
                        asg_instance_free_many(v, n);
                }
        }
        /* no Result element at all: not "absent from every group" */
        {
                static const char doc[] = "<DescribeAutoScalingInstancesResponse " NS ">" META
                                          "</DescribeAutoScalingInstancesResponse>";
                _cleanup_(xml_freep) XmlNode *root = parse(doc, "DescribeAutoScalingInstances");
                AsgInstance *v = NULL;
                size_t n = 0;
                assert_int_equal(asg_parse_instances(root, &v, &n), -EBADMSG);
                assert_int_equal(asg_parse_instances(NULL, &v, &n), -EBADMSG);
        }
}

/* ---- DescribeAutoScalingGroups ---- */

#define GROUP(name, desired, extra)                                                                \
        "<member><AutoScalingGroupName>" name "</AutoScalingGroupName><AutoScalingGroupARN>"       \
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:839d01d0:"                    \
        "autoScalingGroupName/" name "</AutoScalingGroupARN><LaunchTemplate><LaunchTemplateId>"    \
        "lt-0sim</LaunchTemplateId></LaunchTemplate><MinSize>1</MinSize><MaxSize>10</"             \
        "MaxSize>" desired                                                                         \
        "<DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>us-east-1a"              \
        "</member><member>us-east-1b</member></AvailabilityZones><HealthCheckType>EC2"             \
        "</HealthCheckType><HealthCheckGracePeriod>300</HealthCheckGracePeriod>" extra "</member>"

#define INSTANCES                                                                                  \
        "<Instances><member><InstanceId>i-a</InstanceId><AvailabilityZone>us-east-1a"              \
        "</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>Healthy"       \
        "</HealthStatus><LaunchTemplate><LaunchTemplateId>lt-1</LaunchTemplateId>"                 \
        "</LaunchTemplate><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member><member>"     \
        "<InstanceId>i-b</InstanceId><AvailabilityZone>us-east-1b</AvailabilityZone>"              \
        "<LifecycleState>Terminating:Wait</LifecycleState><HealthStatus>Unhealthy</HealthStatus>"  \
        "<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member></Instances>"

#define SUSPENDED_AND_TAGS                                                                         \
        "<SuspendedProcesses><member><ProcessName>ReplaceUnhealthy</ProcessName>"                  \
        "<SuspensionReason>User suspended at 2026-11-23T11:11:18Z</SuspensionReason></member>"     \
        "<member><ProcessName>AZRebalance</ProcessName></member></SuspendedProcesses>"             \
        "<Tags><member><ResourceId>web</ResourceId><ResourceType>auto-scaling-group"               \
        "</ResourceType><Key>drover:paused</Key><Value>true</Value><PropagateAtLaunch>false"       \
        "</PropagateAtLaunch></member><member><Key>empty</Key></member></Tags>"

static char *groups_doc(const char *members, const char *token) {
        char *doc = NULL;
        assert_true(asprintf(&doc,
                             "<DescribeAutoScalingGroupsResponse " NS ">"
                             "<DescribeAutoScalingGroupsResult><AutoScalingGroups>%s"
                             "</AutoScalingGroups>%s</DescribeAutoScalingGroupsResult>" META
                             "</DescribeAutoScalingGroupsResponse>",
                             members, token) > 0);
        return doc;
}

static void test_parse_group(void **state) {
        _cleanup_free_ char *doc =
                groups_doc(GROUP("other", "<DesiredCapacity>1</DesiredCapacity>", "")
                                   GROUP("web", "<DesiredCapacity>4</DesiredCapacity>",
                                         INSTANCES SUSPENDED_AND_TAGS),
                           "");
        _cleanup_(xml_freep) XmlNode *root = parse(doc, "DescribeAutoScalingGroups");
        _cleanup_(asg_group_freep) AsgGroup *g = NULL;
        _cleanup_free_ char *token = (char *) 1;

        assert_int_equal(asg_parse_group(root, "web", &g, &token), 0);
        assert_null(token);
        assert_string_equal(g->name, "web");
        assert_int_equal(g->min_size, 1);
        assert_int_equal(g->max_size, 10);
        assert_int_equal(g->desired_capacity, 4);
        assert_int_equal(g->health_check_grace_period, 300);
        assert_int_equal(g->n_instances, 2);
        assert_string_equal(g->instances[0].instance_id, "i-a");
        assert_string_equal(g->instances[0].group_name, "web");
        assert_string_equal(g->instances[1].lifecycle_state, "Terminating:Wait");
        assert_string_equal(g->instances[1].health_status, "Unhealthy");
        assert_int_equal(strv_length(g->suspended_processes), 2);
        assert_string_equal(g->suspended_processes[0], "ReplaceUnhealthy");
        assert_string_equal(g->suspended_processes[1], "AZRebalance");
        assert_int_equal(g->n_tags, 2);
        assert_string_equal(g->tags[0].key, "drover:paused");
        assert_string_equal(g->tags[0].value, "true");
        assert_string_equal(g->tags[1].value, "");
}

static void test_parse_group_retention(void **state) {
        static const struct {
                const char *extra;
                AsgRetention want;
        } cases[] = {
                { "", ASG_RETENTION_TERMINATE }, /* no policy: the default */
                { "<InstanceLifecyclePolicy><RetentionTriggers><TerminateHookAbandon>retain"
                  "</TerminateHookAbandon></RetentionTriggers></InstanceLifecyclePolicy>",
                  ASG_RETENTION_RETAIN },
                { "<InstanceLifecyclePolicy><RetentionTriggers><TerminateHookAbandon>Retain"
                  "</TerminateHookAbandon></RetentionTriggers></InstanceLifecyclePolicy>",
                  ASG_RETENTION_RETAIN },
                { "<InstanceLifecyclePolicy><RetentionTriggers><TerminateHookAbandon>terminate"
                  "</TerminateHookAbandon></RetentionTriggers></InstanceLifecyclePolicy>",
                  ASG_RETENTION_TERMINATE },
                { "<InstanceLifecyclePolicy><RetentionTriggers><TerminateHookAbandon>hold"
                  "</TerminateHookAbandon></RetentionTriggers></InstanceLifecyclePolicy>",
                  ASG_RETENTION_UNKNOWN },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *member = NULL, *doc = NULL;

                assert_true(asprintf(&member,
                                     GROUP("web", "<DesiredCapacity>1</DesiredCapacity>", "%s"),
                                     cases[i].extra) > 0);
                doc = groups_doc(member, "");
                _cleanup_(xml_freep) XmlNode *root = parse(doc, "DescribeAutoScalingGroups");
                _cleanup_(asg_group_freep) AsgGroup *g = NULL;
                assert_int_equal(asg_parse_group(root, "web", &g, NULL), 0);
                if (g->retention != cases[i].want)
                        fail_msg("case %zu: %s", i, asg_retention_to_string(g->retention));
        }
        assert_string_equal(asg_retention_to_string(ASG_RETENTION_RETAIN), "retain");
        assert_string_equal(asg_retention_to_string(_ASG_RETENTION_MAX), "unknown");
}

static void test_parse_group_cases(void **state) {
        static const struct {
                const char *members;
                const char *token;
                int r;
                const char *want_token;
        } cases[] = {
                { "", "", -ENOENT, NULL },
                { GROUP("other", "<DesiredCapacity>1</DesiredCapacity>", ""),
                  "<NextToken>abc</NextToken>", -ENOENT, "abc" },
                { GROUP("web", "<DesiredCapacity>0</DesiredCapacity>", ""),
                  "<NextToken>abc</NextToken>", 0, "abc" },
                /* the fleet guard needs DesiredCapacity: absent is a broken answer */
                { GROUP("web", "", ""), "", -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity>-1</DesiredCapacity>", ""), "", -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity>4x</DesiredCapacity>", ""), "", -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity>99999999999999999999</DesiredCapacity>", ""), "",
                  -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity> 4</DesiredCapacity>", ""), "", -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity>4</DesiredCapacity>",
                        "<Instances><member><InstanceId>i-a</InstanceId></member></Instances>"),
                  "", -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity>4</DesiredCapacity>",
                        "<SuspendedProcesses><member><SuspensionReason>x</SuspensionReason>"
                        "</member></SuspendedProcesses>"),
                  "", -EBADMSG, NULL },
                { GROUP("web", "<DesiredCapacity>4</DesiredCapacity>",
                        "<Tags><member><Value>x</Value></member></Tags>"),
                  "", -EBADMSG, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *doc = groups_doc(cases[i].members, cases[i].token);
                _cleanup_(xml_freep) XmlNode *root = parse(doc, "DescribeAutoScalingGroups");
                AsgGroup *g = NULL;
                _cleanup_free_ char *token = NULL;
                int r = asg_parse_group(root, "web", &g, &token);

                if (r != cases[i].r)
                        fail_msg("case %zu: r=%d", i, r);
                if (cases[i].want_token)
                        assert_string_equal(token, cases[i].want_token);
                asg_group_free(g);
        }
}

static void test_parse_group_hostile_strings(void **state) {
        _cleanup_free_ char *doc = groups_doc(
                GROUP("web", "<DesiredCapacity>2</DesiredCapacity>",
                      "<Tags><member><Key>k&#10;ey</Key><Value>v&#9;al\x7f[31m</Value></member>"
                      "</Tags>"),
                "");
        _cleanup_(xml_freep) XmlNode *root = parse(doc, "DescribeAutoScalingGroups");
        _cleanup_(asg_group_freep) AsgGroup *g = NULL;

        assert_int_equal(asg_parse_group(root, "web", &g, NULL), 0);
        assert_string_equal(g->tags[0].key, "k?ey");
        assert_string_equal(g->tags[0].value, "v?al?[31m");
}

static void test_hostile_documents(void **state) {
        static const char *const docs[] = {
                "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
                "<DescribeAutoScalingGroupsResponse>&lol2;</DescribeAutoScalingGroupsResponse>",
                "<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult>",
                "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>",
                "<OtherResponse/>",
                "",
                "\xff\xfe<a/>",
        };

        for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
                XmlNode *root = NULL;
                assert_true(query_parse_response(docs[i], strlen(docs[i]),
                                                 "DescribeAutoScalingGroups", &root) < 0);
                assert_null(root);
        }
}

/* ---- DescribeScalingActivities ---- */

#define ACT(id, desc, cause, start, status)                                                        \
        "<member><ActivityId>" id "</ActivityId><AutoScalingGroupName>web</AutoScalingGroupName>"  \
        "<Description>" desc "</Description><Cause>" cause "</Cause><StartTime>" start             \
        "</StartTime><EndTime>2026-11-23T11:20:00Z</EndTime><StatusCode>" status "</StatusCode>"   \
        "<Progress>100</Progress></member>"

static void test_parse_activities(void **state) {
        static const char doc[] =
                "<DescribeScalingActivitiesResponse " NS "><DescribeScalingActivitiesResult>"
                "<Activities>" ACT("a1", "Terminating EC2 instance: i-1",
                                   "At 2026-11-23T11:10:00Z an instance was "
                                   "taken out of service in response to a user health-check.",
                                   "2026-11-23T11:10:00.123Z",
                                   "Successful") ACT("a2", "Terminating EC2 instance: i-2",
                                                     "At 2026-11-23T11:05:00Z an instance was "
                                                     "taken out of service in response to an ELB "
                                                     "system health check failure.",
                                                     "2026-11-23T11:05:00Z", "InProgress")
                        ACT("a3", "Launching a new EC2 instance: i-3",
                            "At 2026-11-23T11:05:00Z an instance "
                            "was started in response to a difference between desired and actual "
                            "capacity",
                            "2026-11-23T11:05:00Z",
                            "Successful") ACT("a4", "Terminating EC2 instance: i-4",
                                              "At 2026-11-23T11:04:00Z a user request "
                                              "explicitly set group desired capacity changing the "
                                              "desired capacity from 3 to 2.",
                                              "2026-11-23T11:04:00Z", "Successful")
                                ACT("a5", "Terminating EC2 instance: i-5",
                                    "At 2026-11-23T10:00:00Z an instance was "
                                    "taken out of service in response to an EC2 health check "
                                    "indicating it has been "
                                    "terminated or stopped.",
                                    "2026-11-23T10:00:00Z",
                                    "Successful") "</Activities><NextToken>next-page</NextToken></"
                                                  "DescribeScalingActivitiesResult>" META
                                                  "</DescribeScalingActivitiesResponse>";
        _cleanup_(xml_freep) XmlNode *root = parse(doc, "DescribeScalingActivities");
        _cleanup_free_ char *token = NULL;
        AsgActivity *v = NULL;
        size_t n = 0;
        time_t t1105;

        assert_int_equal(asg_parse_activities(root, &v, &n, &token), 0);
        assert_int_equal(n, 5);
        assert_string_equal(token, "next-page");
        assert_string_equal(v[0].activity_id, "a1");
        assert_string_equal(v[1].status_code, "InProgress");
        assert_int_equal(credentials_parse_iso8601("2026-11-23T11:05:00Z", &t1105), 0);
        assert_int_equal(v[1].start_time, t1105);
        assert_int_equal(v[0].start_time, t1105 + 300);

        /* health replacements: a1, a2 (and a5 before since); not launches nor scale-ins */
        assert_int_equal(asg_count_health_replacements(v, n, t1105), 2);
        assert_int_equal(asg_count_health_replacements(v, n, 0), 3);
        assert_int_equal(asg_count_health_replacements(v, n, t1105 + 301), 0);
        assert_int_equal(asg_count_health_replacements(v, 0, 0), 0);
        asg_activity_free_many(v, n);
}

static void test_parse_activities_bad(void **state) {
        static const char *const inner[] = {
                "<Activities><member><ActivityId>a</ActivityId><StatusCode>Successful</StatusCode>"
                "</member></Activities>", /* no StartTime */
                "<Activities><member><ActivityId>a</ActivityId><StatusCode>Successful</StatusCode>"
                "<StartTime>yesterday</StartTime></member></Activities>",
                "<Activities><member><StatusCode>Successful</StatusCode><StartTime>"
                "2026-11-23T11:05:00Z</StartTime></member></Activities>",
        };

        for (size_t i = 0; i < ELEMENTSOF(inner); i++) {
                _cleanup_free_ char *doc = NULL;
                _cleanup_(xml_freep) XmlNode *root = NULL;
                AsgActivity *v = NULL;
                size_t n = 0;

                assert_true(asprintf(&doc,
                                     "<DescribeScalingActivitiesResponse><"
                                     "DescribeScalingActivitiesResult>"
                                     "%s</DescribeScalingActivitiesResult></"
                                     "DescribeScalingActivitiesResponse>",
                                     inner[i]) > 0);
                root = parse(doc, "DescribeScalingActivities");
                assert_int_equal(asg_parse_activities(root, &v, &n, NULL), -EBADMSG);
        }
}

/* ---- endpoints ---- */

static void test_endpoints(void **state) {
        static const struct {
                AwsService s;
                const char *region;
                bool fips;
                const char *override;
                const char *want; /* NULL: -EINVAL */
        } cases[] = {
                { AWS_SERVICE_AUTOSCALING, "us-east-1", false, "",
                  "https://autoscaling.us-east-1.amazonaws.com" },
                { AWS_SERVICE_EC2, "eu-west-3", false, NULL,
                  "https://ec2.eu-west-3.amazonaws.com" },
                { AWS_SERVICE_CLOUDWATCH, "ap-southeast-2", false, "",
                  "https://monitoring.ap-southeast-2.amazonaws.com" },
                { AWS_SERVICE_AUTOSCALING, "us-east-1", true, "",
                  "https://autoscaling-fips.us-east-1.amazonaws.com" },
                { AWS_SERVICE_EC2, "ca-central-1", true, "",
                  "https://ec2-fips.ca-central-1.amazonaws.com" },
                { AWS_SERVICE_CLOUDWATCH, "us-west-2", true, "",
                  "https://monitoring-fips.us-west-2.amazonaws.com" },
                /* aws-cn: its own DNS suffix, no FIPS */
                { AWS_SERVICE_EC2, "cn-north-1", false, "",
                  "https://ec2.cn-north-1.amazonaws.com.cn" },
                { AWS_SERVICE_CLOUDWATCH, "cn-northwest-1", false, "",
                  "https://monitoring.cn-northwest-1.amazonaws.com.cn" },
                { AWS_SERVICE_EC2, "cn-north-1", true, "", NULL },
                /* aws-us-gov: the standard endpoints are the FIPS ones */
                { AWS_SERVICE_AUTOSCALING, "us-gov-west-1", false, "",
                  "https://autoscaling.us-gov-west-1.amazonaws.com" },
                { AWS_SERVICE_AUTOSCALING, "us-gov-west-1", true, "",
                  "https://autoscaling.us-gov-west-1.amazonaws.com" },
                { AWS_SERVICE_EC2, "us-gov-east-1", true, "",
                  "https://ec2.us-gov-east-1.amazonaws.com" },
                /* overrides */
                { AWS_SERVICE_EC2, "us-east-1", false,
                  "https://vpce-123.ec2.us-east-1.vpce.amazonaws.com",
                  "https://vpce-123.ec2.us-east-1.vpce.amazonaws.com" },
                { AWS_SERVICE_EC2, "", false, "https://ec2.example.com:8443/",
                  "https://ec2.example.com:8443" },
                { AWS_SERVICE_EC2, "us-east-1", true, "http://127.0.0.1:8080",
                  "http://127.0.0.1:8080" },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://127.1.2.3", "http://127.1.2.3" },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://localhost:80/sim",
                  "http://localhost:80/sim" },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://[::1]:9000", "http://[::1]:9000" },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://[2001:db8::1]:443",
                  "https://[2001:db8::1]:443" },
                /* plain http only on loopback */
                { AWS_SERVICE_EC2, "us-east-1", false, "http://ec2.us-east-1.amazonaws.com", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://10.0.0.1", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://127.0.0.1.evil.com", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://localhost.evil.com", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://[::2]", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "http://256.0.0.1", NULL },
                /* malformed */
                { AWS_SERVICE_EC2, "us-east-1", false, "ftp://x", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://user@host", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://host/?q", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://host:/", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://host:8x", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://ho st", NULL },
                { AWS_SERVICE_EC2, "us-east-1", false, "https://host\r\nX: y", NULL },
                /* regions */
                { AWS_SERVICE_EC2, "", false, "", NULL },
                { AWS_SERVICE_EC2, NULL, false, NULL, NULL },
                { AWS_SERVICE_EC2, "US-EAST-1", false, "", NULL },
                { AWS_SERVICE_EC2, "us-east-1.evil.com/", false, "", NULL },
                { AWS_SERVICE_EC2, "useast1", false, "", NULL },
                { AWS_SERVICE_EC2, "us--east-1", false, "", NULL },
                { _AWS_SERVICE_MAX, "us-east-1", false, "", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *url = NULL;
                const char *why = NULL;
                int r = aws_endpoint(cases[i].s, cases[i].region, cases[i].fips, cases[i].override,
                                     &url, &why);

                if (cases[i].want) {
                        if (r != 0 || !streq(url, cases[i].want))
                                fail_msg("case %zu: r=%d url=%s why=%s", i, r, strempty(url),
                                         strempty(why));
                } else if (r != -EINVAL || !why || url)
                        fail_msg("case %zu: r=%d url=%s", i, r, strempty(url));
        }
        assert_string_equal(aws_partition("us-gov-west-1"), "aws-us-gov");
        assert_string_equal(aws_partition("cn-north-1"), "aws-cn");
        assert_string_equal(aws_partition("eu-west-1"), "aws");
        assert_string_equal(aws_service_to_string(AWS_SERVICE_CLOUDWATCH), "monitoring");
        assert_null(aws_service_to_string(_AWS_SERVICE_MAX));
}

static void test_cloudwatch_decisions(void **state) {
        assert_int_equal(cloudwatch_outcome(0), METRICS_SENT);
        assert_int_equal(cloudwatch_outcome(-EINVAL), METRICS_REJECTED);
        assert_int_equal(cloudwatch_outcome(-EAGAIN), METRICS_FAILED);
        assert_int_equal(cloudwatch_outcome(-EREMOTEIO), METRICS_FAILED);
        assert_int_equal(cloudwatch_outcome(-EACCES), METRICS_FAILED);
        assert_int_equal(cloudwatch_outcome(-ENOKEY), METRICS_FAILED);
        assert_int_equal(cloudwatch_outcome(-ECONNREFUSED), METRICS_FAILED);
        assert_false(cloudwatch_want_gzip(100));
        assert_true(cloudwatch_want_gzip(CLOUDWATCH_GZIP_MIN));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_instances),
                cmocka_unit_test(test_parse_instances_cases),
                cmocka_unit_test(test_parse_group),
                cmocka_unit_test(test_parse_group_cases),
                cmocka_unit_test(test_parse_group_retention),
                cmocka_unit_test(test_parse_group_hostile_strings),
                cmocka_unit_test(test_hostile_documents),
                cmocka_unit_test(test_parse_activities),
                cmocka_unit_test(test_parse_activities_bad),
                cmocka_unit_test(test_endpoints),
                cmocka_unit_test(test_cloudwatch_decisions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Test driver for tests/integration/test_aws.py: one AWS client (aws.c, credentials.c,
 * the typed calls, cloudwatch.c + metrics.c) in one process, driven by commands on stdin,
 * one JSON line out per command:
 *
 *   aws-call --region R --endpoint URL [--imds URL] [--buffer-max N] [--max-attempts N]
 *
 *   describe-instance ID | describe-group NAME | activities NAME SINCE
 *   set-health ID Healthy|Unhealthy | terminate-in-asg ID | ec2-terminate ID
 *   complete GROUP HOOK ID RESULT | heartbeat GROUP HOOK ID
 *   record N [START]    N samples of distinct values (START..), two minutes old
 *   flush               send batches until none is left or one fails
 *   parallel N ID       N describe-instance calls at once
 *   creds               source, expiration, clock offset
 *   sleep SEC           run the event loop (timers: credential refresh)
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "aws/autoscaling.h"
#include "aws/cloudwatch.h"
#include "base/util.h"

typedef struct Driver {
        Http *http;
        Aws *aws;
        Metrics *metrics;
        bool done;
        json_t *out;
} Driver;

static void put_str(json_t *o, const char *k, const char *v) {
        json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static json_t *error_json(int error) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_integer(error));
        put_str(o, "strerror", error < 0 ? strerror(-error) : "");
        return o;
}

static json_t *instance_json(const AsgInstance *i) {
        json_t *o = json_object();
        put_str(o, "instance_id", i->instance_id);
        put_str(o, "group", i->group_name);
        put_str(o, "lifecycle_state", i->lifecycle_state);
        put_str(o, "health", i->health_status);
        put_str(o, "az", i->availability_zone);
        json_object_set_new(o, "protected", json_boolean(i->protected_from_scale_in));
        return o;
}

static void on_instance(int error, const AsgInstance *found, void *userdata) {
        Driver *d = userdata;
        d->out = error_json(error);
        json_object_set_new(d->out, "instance", found ? instance_json(found) : json_null());
        d->done = true;
}

typedef struct Parallel {
        unsigned left, ok;
        bool done;
} Parallel;

static void on_parallel(int error, const AsgInstance *found, void *userdata) {
        Parallel *p = userdata;
        if (error == 0 && found)
                p->ok++;
        p->done = --p->left == 0;
}

/* n calls at once, before any credentials are loaded: they share one fetch. */
static json_t *parallel(Driver *d, long n, const char *id) {
        Parallel p = { .left = (unsigned) n };
        int r = 0;

        for (long i = 0; i < n && r >= 0; i++)
                r = asg_describe_instance(d->aws, id, on_parallel, &p, NULL);
        if (r >= 0 && n > 0)
                r = http_run_until(d->http, &p.done);
        json_t *o = error_json(r < 0 ? r : 0);
        json_object_set_new(o, "ok", json_integer(p.ok));
        return o;
}

static void on_group(int error, const AsgGroup *g, void *userdata) {
        Driver *d = userdata;
        json_t *inst = json_array(), *tags = json_object(), *susp = json_array();

        d->out = error_json(error);
        if (g) {
                put_str(d->out, "name", g->name);
                json_object_set_new(d->out, "desired", json_integer(g->desired_capacity));
                json_object_set_new(d->out, "min", json_integer(g->min_size));
                json_object_set_new(d->out, "max", json_integer(g->max_size));
                for (size_t i = 0; i < g->n_instances; i++)
                        json_array_append_new(inst, instance_json(&g->instances[i]));
                for (size_t i = 0; i < g->n_tags; i++)
                        json_object_set_new(tags, g->tags[i].key, json_string(g->tags[i].value));
                for (char **p = g->suspended_processes; p && *p; p++)
                        json_array_append_new(susp, json_string(*p));
        }
        json_object_set_new(d->out, "instances", inst);
        json_object_set_new(d->out, "tags", tags);
        json_object_set_new(d->out, "suspended", susp);
        d->done = true;
}

static void on_activities(int error, const AsgActivity *a, size_t n, void *userdata) {
        Driver *d = userdata;
        json_t *l = json_array();

        d->out = error_json(error);
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_object();
                put_str(o, "description", a[i].description);
                put_str(o, "cause", a[i].cause);
                put_str(o, "status", a[i].status_code);
                json_object_set_new(o, "start", json_integer(a[i].start_time));
                json_array_append_new(l, o);
        }
        json_object_set_new(d->out, "activities", l);
        json_object_set_new(d->out, "health_replacements",
                            json_integer(asg_count_health_replacements(a, n, 0)));
        d->done = true;
}

static void on_done(int error, const char *code, const char *message, void *userdata) {
        Driver *d = userdata;
        d->out = error_json(error);
        put_str(d->out, "code", code);
        put_str(d->out, "message", message);
        d->done = true;
}

static void on_sent(int error, MetricsOutcome o, const AwsResult *res, void *userdata) {
        Driver *d = userdata;
        d->out = error_json(error);
        json_object_set_new(d->out, "outcome", json_integer(o));
        json_object_set_new(d->out, "attempts", json_integer(res->attempts));
        d->done = true;
}

static int wait_done(Driver *d, int r) {
        if (r >= 0)
                r = http_run_until(d->http, &d->done);
        if (r < 0 && !d->out)
                d->out = error_json(r);
        return r;
}

static json_t *flush(Driver *d) {
        unsigned sent = 0, failed = 0, rejected = 0;
        json_t *o;

        for (;;) {
                MetricsBatch *b = NULL;
                int r = metrics_flush(d->metrics, (uint64_t) time(NULL) * 1000, false, &b);
                int outcome;

                if (r <= 0)
                        break;
                d->done = false;
                d->out = NULL;
                r = wait_done(d, cloudwatch_send(d->aws, d->metrics, b, on_sent, d, NULL));
                outcome = r < 0 || !d->out
                                  ? METRICS_FAILED
                                  : (int) json_integer_value(json_object_get(d->out, "outcome"));
                json_decref(d->out);
                d->out = NULL;
                if (outcome == METRICS_SENT)
                        sent++;
                else if (outcome == METRICS_REJECTED)
                        rejected++;
                else {
                        failed++;
                        break;
                }
        }
        o = json_object();
        json_object_set_new(o, "sent", json_integer(sent));
        json_object_set_new(o, "failed", json_integer(failed));
        json_object_set_new(o, "rejected", json_integer(rejected));
        json_object_set_new(o, "dropped", json_integer((json_int_t) metrics_dropped(d->metrics)));
        json_object_set_new(o, "buffered", json_integer((json_int_t) metrics_buffered(d->metrics)));
        return o;
}

static json_t *record(Driver *d, long n, long start) {
        uint64_t ts = ((uint64_t) time(NULL) - 120) * 1000;
        const MetricDimension dims[] = { { "AutoScalingGroupName", "drover-asg" },
                                         { "Check", "driver" } };
        long ok = 0;

        for (long i = 0; i < n; i++)
                if (metrics_record(d->metrics, "DriverValue", dims, ELEMENTSOF(dims),
                                   (double) (start + i), METRIC_UNIT_COUNT, ts) >= 0)
                        ok++;
        json_t *o = json_object();
        json_object_set_new(o, "recorded", json_integer(ok));
        json_object_set_new(o, "dropped", json_integer((json_int_t) metrics_dropped(d->metrics)));
        return o;
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        *(bool *) userdata = true;
        return 0;
}

static json_t *command(Driver *d, char *line) {
        char *argv[8] = {};
        int argc = 0, r = -EINVAL;

        for (char *tok = strtok(line, " \t\n"); tok && argc < 8; tok = strtok(NULL, " \t\n"))
                argv[argc++] = tok;
        if (argc == 0)
                return NULL;
        d->done = false;
        d->out = NULL;
#define IS(name, n) (streq(argv[0], name) && argc == (n) + 1)
        if (IS("describe-instance", 1))
                r = asg_describe_instance(d->aws, argv[1], on_instance, d, NULL);
        else if (IS("describe-group", 1))
                r = asg_describe_group(d->aws, argv[1], on_group, d, NULL);
        else if (IS("activities", 2))
                r = asg_describe_activities(d->aws, argv[1], atol(argv[2]), on_activities, d, NULL);
        else if (IS("set-health", 2))
                r = asg_set_instance_health(d->aws, argv[1], streq(argv[2], "Healthy"), false,
                                            on_done, d, NULL);
        else if (IS("terminate-in-asg", 1))
                r = asg_terminate_instance(d->aws, argv[1], false, on_done, d, NULL);
        else if (IS("ec2-terminate", 1))
                r = ec2_terminate_instance(d->aws, argv[1], on_done, d, NULL);
        else if (IS("complete", 4))
                r = asg_complete_lifecycle_action(d->aws, argv[1], argv[2], argv[3], argv[4],
                                                  on_done, d, NULL);
        else if (IS("heartbeat", 3))
                r = asg_record_heartbeat(d->aws, argv[1], argv[2], argv[3], on_done, d, NULL);
        else if (IS("record", 1) || IS("record", 2))
                return record(d, atol(argv[1]), argc > 2 ? atol(argv[2]) : 0);
        else if (IS("parallel", 2))
                return parallel(d, atol(argv[1]), argv[2]);
        else if (IS("flush", 0))
                return flush(d);
        else if (IS("creds", 0)) {
                json_t *o = json_object();
                put_str(o, "source", aws_credentials_source(d->aws));
                json_object_set_new(o, "expiration",
                                    json_integer(aws_credentials_expiration(d->aws)));
                json_object_set_new(o, "offset", json_integer(aws_clock_offset_sec(d->aws)));
                return o;
        } else if (IS("sleep", 1)) {
                _cleanup_(sd_event_source_unrefp) sd_event_source *s = NULL;
                r = sd_event_add_time_relative(http_get_event(d->http), &s, CLOCK_MONOTONIC,
                                               (uint64_t) (atof(argv[1]) * USEC_PER_SEC), 0,
                                               on_wake, &d->done);
                if (r >= 0)
                        r = http_run_until(d->http, &d->done);
                return error_json(r < 0 ? r : 0);
        } else
                return error_json(-EINVAL);
#undef IS
        wait_done(d, r);
        return d->out;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "region", required_argument, NULL, 'r' },
                { "endpoint", required_argument, NULL, 'e' },
                { "imds", required_argument, NULL, 'i' },
                { "buffer-max", required_argument, NULL, 'b' },
                { "max-attempts", required_argument, NULL, 'm' },
                {},
        };
        AwsConfig ac = { .region = (char *) "us-east-1",
                         .endpoint_autoscaling = (char *) "",
                         .endpoint_ec2 = (char *) "",
                         .endpoint_cloudwatch = (char *) "",
                         .ca_file = (char *) "",
                         .timeout_ms = 5000,
                         .max_attempts = 3 };
        ImdsConfig ic = { .endpoint = NULL, .token_ttl = 21600, .timeout_ms = 1000, .retries = 2 };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(imds_freep) Imds *imds = NULL;
        Driver d = {};
        size_t buffer_max = 10000;
        char line[1024];
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        ac.region = optarg;
                        break;
                case 'e':
                        ac.endpoint_autoscaling = ac.endpoint_ec2 = ac.endpoint_cloudwatch = optarg;
                        break;
                case 'i':
                        ic.endpoint = optarg;
                        break;
                case 'b':
                        buffer_max = (size_t) atol(optarg);
                        break;
                case 'm':
                        ac.max_attempts = (unsigned) atoi(optarg);
                        break;
                default:
                        return 2;
                }
        r = sd_event_new(&e);
        if (r >= 0)
                r = http_new(e, &d.http);
        if (r >= 0 && ic.endpoint)
                r = imds_new(d.http, &ic, &imds);
        if (r >= 0)
                r = aws_new(d.http, imds, &ac, ac.region, &d.aws);
        if (r >= 0)
                r = metrics_new("Drover", false, buffer_max, &d.metrics);
        if (r < 0) {
                fprintf(stderr, "setup failed: %s\n", strerror(-r));
                return 1;
        }
        while (fgets(line, sizeof(line), stdin)) {
                json_t *o = command(&d, line);
                if (!o)
                        continue;
                char *s = json_dumps(o, JSON_COMPACT);
                printf("%s\n", s ? s : "{}");
                fflush(stdout);
                free(s);
                json_decref(o);
        }
        d.aws = aws_free(d.aws);
        d.metrics = metrics_free(d.metrics);
        imds = imds_free(imds);
        d.http = http_free(d.http);
        return 0;
}

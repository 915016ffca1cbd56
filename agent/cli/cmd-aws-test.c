/* SPDX-License-Identifier: MIT */
/*
 * drover aws-test [-c FILE] [--instance-id ID]: resolves the region, the endpoints and
 * the credentials the daemon would use, makes one harmless signed call
 * (DescribeAutoScalingInstances for this instance) and says plainly what works.
 */
#include <getopt.h>
#include <stdio.h>

#include "aws/autoscaling.h"
#include "config/config.h"
#include "base/util.h"
#include "cli/verbs.h"

typedef struct Identity {
        bool done;
        int error;
        ImdsIdentity id;
        char message[256];
} Identity;

typedef struct Answer {
        bool done;
        int error;
        long status;
        unsigned attempts;
        char *code, *message;
        AsgInstance *instances;
        size_t n;
} Answer;

static void on_identity(Imds *m, const ImdsResult *res, void *userdata) {
        Identity *o = userdata;
        const char *field = NULL;

        o->done = true;
        o->error = res->error;
        if (res->error < 0) {
                snprintf(o->message, sizeof(o->message), "%s failed: %s%s%s", res->step,
                         strerror(-res->error), isempty(res->detail) ? "" : ": ",
                         strempty(res->detail));
                return;
        }
        o->error = imds_parse_identity(res->body, res->len, &o->id, &field);
        if (o->error < 0)
                snprintf(o->message, sizeof(o->message),
                         "the identity document is unusable (field %s)", field ?: "-");
}

static void on_answer(const AwsResult *res, void *userdata) {
        Answer *o = userdata;

        o->done = true;
        o->error = res->error;
        o->status = res->status;
        o->attempts = res->attempts;
        o->code = strdup(res->code);
        o->message = strdup(res->message);
        if (res->error == 0)
                o->error = asg_parse_instances(res->root, &o->instances, &o->n);
}

static const char *hint(int error) {
        switch (error) {
        case -EACCES:
                return "the credentials were refused or lack permission: see the IAM policy in "
                       "packaging/iam-policy.json";
        case -ENOKEY:
                return "no credentials: attach an instance profile (role) to the instance, or "
                       "set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY";
        case -EAGAIN:
                return "throttled even after retries: try again later";
        case -EREMOTEIO:
                return "the service answered with server errors";
        case -EBADMSG:
                return "the answer could not be understood: is the endpoint really AWS?";
        default:
                return "check the endpoint, the network path and aws.ca_file";
        }
}

static void print_expiry(time_t t) {
        char buf[32];
        struct tm tm;

        if (t > 0 && gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
                printf(" (expire %s)", buf);
}

/* The signed call and its verdict; returns whether it worked. */
static bool signed_call(Http *http, Aws *aws, const char *instance_id) {
        Answer o = {};
        QueryParams *p = query_params_new("DescribeAutoScalingInstances", "2011-01-01");
        bool ok = false;
        int r;

        r = p ? query_params_add(p, "InstanceIds.member.1", instance_id) : -ENOMEM;
        if (r >= 0)
                r = aws_call(aws, AWS_SERVICE_AUTOSCALING, TAKE_PTR(p), false, on_answer, &o, NULL);
        else
                query_params_free(p);
        if (r >= 0)
                r = http_run_until(http, &o.done);
        if (r < 0)
                o.error = r;
        printf("credentials:  %s", aws_credentials_source(aws));
        print_expiry(aws_credentials_expiration(aws));
        printf("\n");
        if (aws_clock_offset_sec(aws) != 0)
                printf("clock:        this host is %+lld s off AWS's clock (corrected)\n",
                       (long long) -aws_clock_offset_sec(aws));
        printf("signed call:  DescribeAutoScalingInstances %s: ", instance_id);
        if (o.error >= 0) {
                ok = true;
                if (o.n == 0)
                        printf("OK, not in any Auto Scaling group\n");
                else
                        printf("OK, in Auto Scaling group %s (%s, %s)\n", o.instances[0].group_name,
                               o.instances[0].lifecycle_state, o.instances[0].health_status);
        } else {
                printf("FAILED: %s", strerror(-o.error));
                if (o.status > 0)
                        printf(" (HTTP %ld%s%s)", o.status, isempty(o.code) ? "" : ", ",
                               strempty(o.code));
                if (o.attempts > 1)
                        printf(" after %u attempts", o.attempts);
                printf("\n              %s\n", isempty(o.message) ? hint(o.error) : o.message);
                if (!isempty(o.message))
                        printf("              %s\n", hint(o.error));
        }
        asg_instance_free_many(o.instances, o.n);
        free(o.code);
        free(o.message);
        return ok;
}

static int usage(FILE *f, int status) {
        fprintf(f, "Usage: drover aws-test [-c FILE] [--instance-id ID]\n\n"
                   "Resolves the region, endpoints and credentials drover would use, makes one\n"
                   "harmless signed call (DescribeAutoScalingInstances) and says what works.\n");
        return status;
}

int verb_aws_test(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "instance-id", required_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config_path = NULL, *instance_id = NULL, *region;
        _cleanup_(config_freep) Config *cfg = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(http_freep) Http *http = NULL;
        _cleanup_(imds_freep) Imds *imds = NULL;
        _cleanup_(aws_freep) Aws *aws = NULL;
        ImdsConfig ic = { .endpoint = (char *) IMDS_DEFAULT_ENDPOINT,
                          .token_ttl = 21600,
                          .timeout_ms = 1000,
                          .retries = 3 };
        AwsConfig ac = { .region = (char *) "",
                         .endpoint_autoscaling = (char *) "",
                         .endpoint_ec2 = (char *) "",
                         .endpoint_cloudwatch = (char *) "",
                         .ca_file = (char *) "",
                         .timeout_ms = 10000,
                         .max_attempts = 3 };
        Identity ident = {};
        const char *why = NULL;
        bool ok = true;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "c:i:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'i':
                        instance_id = optarg;
                        break;
                case 'h':
                        return usage(stdout, 0);
                default:
                        return usage(stderr, 2);
                }
        if (optind < argc)
                return usage(stderr, 2);
        if (config_load_print(config_path ?: drover_default_config(), 0, config_path == NULL,
                              stderr, &cfg) < 0)
                return 1;
        if (cfg) {
                ic = cfg->imds;
                ac = cfg->aws;
        }
        r = sd_event_new(&e);
        if (r >= 0)
                r = http_new(e, &http);
        if (r >= 0)
                r = imds_new(http, &ic, &imds);
        if (r < 0) {
                fprintf(stderr, "drover: cannot set up HTTP/IMDS: %s\n", strerror(-r));
                return 1;
        }

        r = imds_get(imds, IMDS_PATH_IDENTITY, on_identity, &ident, NULL);
        if (r >= 0)
                r = http_run_until(http, &ident.done);
        if (r < 0 && !ident.done) {
                ident.error = r;
                snprintf(ident.message, sizeof(ident.message), "%s", strerror(-r));
        }
        if (ident.error < 0)
                printf("IMDS:         %s: %s\n", imds_endpoint(imds), ident.message);
        else
                printf("IMDS:         %s: OK, instance %s in %s\n", imds_endpoint(imds),
                       ident.id.instance_id, ident.id.availability_zone);

        region = !isempty(ac.region) ? ac.region : ident.error >= 0 ? ident.id.region : NULL;
        instance_id = instance_id ?: ident.error >= 0 ? ident.id.instance_id : NULL;
        if (!region) {
                printf("region:       UNKNOWN: set aws.region, or make IMDS reachable\n");
                printf("result:       FAILED\n");
                return 1;
        }
        printf("region:       %s (%s, partition %s)\n", region,
               !isempty(ac.region) ? "from the configuration" : "from the identity document",
               aws_partition(region));
        for (AwsService s = 0; s < _AWS_SERVICE_MAX; s++) {
                _cleanup_free_ char *url = NULL;
                const char *o = s == AWS_SERVICE_AUTOSCALING ? ac.endpoint_autoscaling
                                : s == AWS_SERVICE_EC2       ? ac.endpoint_ec2
                                                             : ac.endpoint_cloudwatch;

                r = aws_endpoint(s, region, ac.fips, o, &url, &why);
                printf("endpoint:     %-12s %s%s\n", aws_service_to_string(s),
                       r < 0 ? "INVALID: " : url,
                       r < 0        ? why
                       : isempty(o) ? ""
                                    : " (configured)");
                ok = ok && r >= 0;
        }
        if (!ok) {
                printf("result:       FAILED\n");
                return 1;
        }
        r = aws_new(http, imds, &ac, region, &aws);
        if (r < 0) {
                fprintf(stderr, "drover: cannot set up the AWS client: %s\n", strerror(-r));
                return 1;
        }
        if (!instance_id) {
                printf("credentials:  %s (not tried)\n", aws_credentials_source(aws));
                printf("signed call:  SKIPPED: no instance id (IMDS failed; use --instance-id)\n");
                printf("result:       FAILED\n");
                return 1;
        }
        ok = signed_call(http, aws, instance_id);
        printf("result:       %s\n", ok ? "OK" : "FAILED");
        return ok ? 0 : 1;
}

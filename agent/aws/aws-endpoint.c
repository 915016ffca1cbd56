/* SPDX-License-Identifier: MIT */
/*
 * Endpoints: the partitions' hostname patterns (botocore's endpoints.json, reduced to
 * the three services drover calls) and the rules for configured overrides.
 */
#include <ctype.h>
#include <stdio.h>

#include "aws/aws-endpoint.h"
#include "base/util.h"

typedef struct Partition {
        const char *name;
        const char *prefix;   /* region prefix; "" matches every other region */
        const char *suffix;   /* DNS suffix */
        bool fips;            /* FIPS endpoints offered */
        bool fips_is_default; /* the standard endpoints are already FIPS (GovCloud) */
} Partition;

static const Partition partitions[] = {
        { "aws-us-gov", "us-gov-", "amazonaws.com", true, true },
        { "aws-cn", "cn-", "amazonaws.com.cn", false, false },
        { "aws", "", "amazonaws.com", true, false },
};

static const char *const service_names[_AWS_SERVICE_MAX] = {
        [AWS_SERVICE_AUTOSCALING] = "autoscaling",
        [AWS_SERVICE_EC2] = "ec2",
        [AWS_SERVICE_CLOUDWATCH] = "monitoring",
};

const char *aws_service_to_string(AwsService s) {
        return (unsigned) s < _AWS_SERVICE_MAX ? service_names[s] : NULL;
}

/* "us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-2": words, then a number. */
static bool region_valid(const char *r) {
        size_t n = strlen(r), dashes = 0;

        if (n < 4 || n > 32 || !islower((unsigned char) r[0]) || !isdigit((unsigned char) r[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (r[i] == '-') {
                        if (i == 0 || r[i - 1] == '-')
                                return false;
                        dashes++;
                } else if (!islower((unsigned char) r[i]) && !isdigit((unsigned char) r[i]))
                        return false;
        }
        return dashes >= 2;
}

static bool host_is_loopback(const char *host, size_t n) {
        unsigned a, b, c, d;
        char buf[64], tail;

        if (n == 0 || n >= sizeof(buf))
                return false;
        memcpy(buf, host, n);
        buf[n] = 0;
        if (streq(buf, "localhost") || streq(buf, "[::1]"))
                return true;
        return sscanf(buf, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
               c < 256 && d < 256;
}

/* scheme://host[:port][/path] with nothing odd in it. */
static int check_override(const char *url, const char **ret_why) {
        const char *h, *end, *port;
        bool https = strneq(url, "https://", 8);
        size_t n;

        if (!https && !strneq(url, "http://", 7)) {
                *ret_why = "endpoint must start with https:// (or http:// on loopback)";
                return -EINVAL;
        }
        h = url + (https ? 8 : 7);
        end = h + strcspn(h, "/");
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f ||
                    strchr("@?#\\", *p)) {
                        *ret_why = "endpoint must be scheme://host[:port][/path], without "
                                   "user info, query, fragment, spaces or control characters";
                        return -EINVAL;
                }
        /* The port is what follows the last ':' outside an IPv6 literal. */
        port = NULL;
        for (const char *p = end; p > h; p--)
                if (p[-1] == ']')
                        break;
                else if (p[-1] == ':') {
                        port = p - 1;
                        break;
                }
        n = (size_t) ((port ?: end) - h);
        if (n == 0 || (port && (port + 1 == end ||
                                strspn(port + 1, "0123456789") != (size_t) (end - port - 1)))) {
                *ret_why = "endpoint has no host, or a bad port";
                return -EINVAL;
        }
        if (!https && !host_is_loopback(h, n)) {
                *ret_why = "plain http:// is allowed only for loopback hosts (127.0.0.0/8, "
                           "[::1], localhost); use https://";
                return -EINVAL;
        }
        return 0;
}

int aws_endpoint(AwsService s, const char *region, bool fips, const char *override, char **ret,
                 const char **ret_why) {
        const Partition *p = NULL;
        const char *why = NULL;
        char *url;
        int r;

        if (!ret_why)
                ret_why = &why;
        if ((unsigned) s >= _AWS_SERVICE_MAX) {
                *ret_why = "unknown service";
                return -EINVAL;
        }
        if (!isempty(override)) {
                r = check_override(override, ret_why);
                if (r < 0)
                        return r;
                url = strdup(override);
                /* A trailing "/" would make every request path "//". */
                if (url && strlen(url) > 8 && url[strlen(url) - 1] == '/' &&
                    strchr(url + 8, '/') == url + strlen(url) - 1)
                        url[strlen(url) - 1] = 0;
                if (!url)
                        return -ENOMEM;
                *ret = url;
                return 0;
        }
        if (isempty(region) || !region_valid(region)) {
                *ret_why = "no valid region (like us-east-1) to build the endpoint from";
                return -EINVAL;
        }
        for (size_t i = 0; i < ELEMENTSOF(partitions) && !p; i++)
                if (strneq(region, partitions[i].prefix, strlen(partitions[i].prefix)))
                        p = &partitions[i];
        if (fips && !p->fips) {
                *ret_why = "the aws-cn partition offers no FIPS endpoints";
                return -EINVAL;
        }
        if (asprintf(&url, "https://%s%s.%s.%s", service_names[s],
                     fips && !p->fips_is_default ? "-fips" : "", region, p->suffix) < 0)
                return -ENOMEM;
        *ret = url;
        return 0;
}

/* "aws", "aws-cn", "aws-us-gov" for a region (the ARN partition). */
const char *aws_partition(const char *region) {
        for (size_t i = 0; i < ELEMENTSOF(partitions); i++)
                if (region && strneq(region, partitions[i].prefix, strlen(partitions[i].prefix)))
                        return partitions[i].name;
        return "aws";
}

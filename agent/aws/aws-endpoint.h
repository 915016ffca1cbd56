/* SPDX-License-Identifier: MIT */
#pragma once

/* The AWS services drover calls and where their endpoints are (pure, core library). */

#include <stdbool.h>

typedef enum AwsService {
        AWS_SERVICE_AUTOSCALING,
        AWS_SERVICE_EC2,
        AWS_SERVICE_CLOUDWATCH, /* signing name "monitoring" */
        _AWS_SERVICE_MAX,
} AwsService;

const char *aws_service_to_string(AwsService s); /* "autoscaling", "ec2", "monitoring" */
/* The ARN partition of a region: "aws", "aws-cn" or "aws-us-gov". */
const char *aws_partition(const char *region);

/*
 * Pure: the endpoint URL for a service in a region: the aws, aws-cn (*.amazonaws.com.cn)
 * and aws-us-gov partitions, FIPS variants when fips is set. override (from config) wins
 * when non-empty; a plain http:// override is accepted only for loopback hosts.
 * -EINVAL with a static reason in *ret_why otherwise.
 */
int aws_endpoint(AwsService s, const char *region, bool fips, const char *override, char **ret,
                 const char **ret_why);

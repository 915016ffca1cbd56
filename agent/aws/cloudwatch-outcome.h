/* SPDX-License-Identifier: MIT */
#pragma once

/* The pure half of cloudwatch.h: how a PutMetricData answer and a body size are read. */

#include <stdbool.h>
#include <stddef.h>

#include "aws/metrics.h"

/* Bodies from this size on are sent gzipped (CloudWatch accepts Content-Encoding: gzip). */
#define CLOUDWATCH_GZIP_MIN 2048U

/* Pure: what an AwsResult error means for the batch. Client errors (-EINVAL: validation)
 * are rejected for good; everything else (throttling, 5xx, network, credentials,
 * permissions that an operator may yet fix) is kept for a later attempt. */
MetricsOutcome cloudwatch_outcome(int error);

/* Pure: whether a body of this size is sent gzipped. */
bool cloudwatch_want_gzip(size_t body_len);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * CloudWatch PutMetricData: sends a MetricsBatch from metrics.h over aws_call (gzipped
 * when that is worth it) and tells the Metrics buffer how it went, so failed data stays
 * buffered for the next flush and rejected data is dropped and counted.
 */

#include "aws/aws.h"
#include "aws/cloudwatch-outcome.h"
#include "aws/metrics.h"

/* error: 0 or the AwsResult error; outcome: what was told to metrics_batch_done(). */
typedef void (*cloudwatch_done_cb)(int error, MetricsOutcome outcome, const AwsResult *res,
                                   void *userdata);

/*
 * Sends batch (taking ownership in all cases) and calls metrics_batch_done(m, id, ...)
 * when the call ends, then cb (may be NULL). m must outlive the call (cancel it before
 * freeing m). On a synchronous failure the batch is marked METRICS_FAILED at once, the
 * error returned and cb not called.
 */
int cloudwatch_send(Aws *a, Metrics *m, MetricsBatch *batch, cloudwatch_done_cb cb, void *userdata,
                    AwsCall **ret);

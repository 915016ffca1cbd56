/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * CloudWatch metrics: a bounded buffer of data points and the PutMetricData requests
 * that carry them. Pure: no I/O, no event loop, no logging, no clock reads — the daemon
 * records points, asks for batches when it wants to send, and says how each went.
 *
 * Samples of one metric (name + dimensions + unit) that fall into the same
 * storage-resolution period (the minute, or the second with high resolution) are merged
 * into one datum carrying Values/Counts arrays; a datum holds at most
 * METRICS_MAX_VALUES_PER_DATUM distinct values, more start another datum.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/query.h"
#include "base/macro.h"
#include "base/nagios.h"

/* The API's limits (PutMetricData, since 2022). */
#define METRICS_MAX_DATUMS_PER_REQUEST 1000
#define METRICS_MAX_VALUES_PER_DATUM 150
#define METRICS_MAX_DIMENSIONS 30
/* "1 MB" read conservatively as 10^6 bytes of uncompressed form-encoded body. */
#define METRICS_MAX_REQUEST_BYTES 1000000
/* Never more parameters in one request than query_params_add() accepts. */
#define METRICS_MAX_PARAMS_PER_REQUEST QUERY_MAX_PARAMS
#define METRICS_MAX_NAME 255 /* metric and dimension names, namespace */
#define METRICS_MAX_DIMENSION_VALUE 1024

typedef struct Metrics Metrics;

/* CloudWatch's StandardUnit, a closed set. */
typedef enum MetricUnit {
        METRIC_UNIT_NONE,
        METRIC_UNIT_SECONDS,
        METRIC_UNIT_MILLISECONDS,
        METRIC_UNIT_MICROSECONDS,
        METRIC_UNIT_BYTES,
        METRIC_UNIT_KILOBYTES,
        METRIC_UNIT_MEGABYTES,
        METRIC_UNIT_GIGABYTES,
        METRIC_UNIT_TERABYTES,
        METRIC_UNIT_BITS,
        METRIC_UNIT_KILOBITS,
        METRIC_UNIT_MEGABITS,
        METRIC_UNIT_GIGABITS,
        METRIC_UNIT_TERABITS,
        METRIC_UNIT_PERCENT,
        METRIC_UNIT_COUNT,
        METRIC_UNIT_BYTES_PER_SECOND,
        METRIC_UNIT_KILOBYTES_PER_SECOND,
        METRIC_UNIT_MEGABYTES_PER_SECOND,
        METRIC_UNIT_GIGABYTES_PER_SECOND,
        METRIC_UNIT_TERABYTES_PER_SECOND,
        METRIC_UNIT_BITS_PER_SECOND,
        METRIC_UNIT_KILOBITS_PER_SECOND,
        METRIC_UNIT_MEGABITS_PER_SECOND,
        METRIC_UNIT_GIGABITS_PER_SECOND,
        METRIC_UNIT_TERABITS_PER_SECOND,
        METRIC_UNIT_COUNT_PER_SECOND,
        _METRIC_UNIT_MAX,
} MetricUnit;

/* "Milliseconds", "Bytes/Second", ...; NULL for an out-of-range value. */
const char *metric_unit_name(MetricUnit u);

/*
 * Maps a Nagios perfdata UOM (s ms us % B KB MB GB TB c, or empty; byte units in any
 * case; also ns and KiB..TiB, which CloudWatch lacks and are scaled) to a CloudWatch
 * unit and the value in that unit. -ENOENT for a UOM it does not know (the caller may
 * then send the value unscaled with METRIC_UNIT_NONE).
 */
int metrics_unit_from_nagios(const char *uom, double value, MetricUnit *ret_unit,
                             double *ret_value);

/*
 * Makes a perfdata label a valid metric name: non-printable and non-ASCII bytes become
 * '_', a leading ':' becomes '_', cut to METRICS_MAX_NAME bytes. -EINVAL when nothing
 * but whitespace is left. *ret is malloc'd.
 */
int metrics_sanitize_name(const char *label, char **ret);

typedef struct MetricDimension {
        const char *name;
        const char *value;
} MetricDimension;

/*
 * namespace: 1..255 printable ASCII, not starting with ':' nor "AWS/". buffer_max: data
 * points kept at most (a data point is one distinct value of a datum; 0 means 1).
 */
int metrics_new(const char *namespace, bool high_resolution, size_t buffer_max, Metrics **ret);
Metrics *metrics_free(Metrics *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Metrics *, metrics_free)

/*
 * Records one sample at timestamp_ms (Unix epoch, milliseconds). -EINVAL for a bad name
 * or dimension (empty, too long, non-ASCII, leading ':', a repeated dimension name) or a
 * NaN/infinite value, -E2BIG for more than METRICS_MAX_DIMENSIONS dimensions, -ERANGE for
 * a magnitude CloudWatch rejects (> 1.174271e+108; tiny ones are sent as 0) or a time
 * past year 9999, -ENOBUFS for too many distinct metrics (about 8 MiB of names), -ENOMEM.
 * When the buffer is full the oldest data point not in flight is dropped and counted;
 * when every point is in flight, this sample is (returns -ENOBUFS, counted).
 */
int metrics_record(Metrics *m, const char *name, const MetricDimension *dims, size_t n_dims,
                   double value, MetricUnit unit, uint64_t timestamp_ms);

/* Samples dropped since metrics_new (buffer full, too old/far in the future, rejected). */
uint64_t metrics_dropped(const Metrics *m);
/* Data points (distinct value/count pairs) buffered, in flight included. */
size_t metrics_buffered(const Metrics *m);

/* ---- DESIGN.md's metric set ---- */

typedef struct MetricsIdentity {
        const char *asg;         /* NULL or "" outside an Auto Scaling group */
        const char *instance_id; /* NULL or "" when not known */
        bool per_instance;       /* metrics.per_instance */
} MetricsIdentity;

/* CheckStatus (0..3, None) and CheckDuration (Milliseconds); dimensions
 * AutoScalingGroupName, Check (+ InstanceId when per_instance). */
int metrics_record_check(Metrics *m, const MetricsIdentity *id, const char *check,
                         NagiosStatus status, double duration_ms, uint64_t timestamp_ms);

/* One perfdata value as metric <sanitized label>, with the per-check dimensions above
 * and the UOM mapped by metrics_unit_from_nagios() (None, unscaled, if unknown). */
int metrics_record_perfdata(Metrics *m, const MetricsIdentity *id, const char *check,
                            const char *label, double value, const char *uom,
                            uint64_t timestamp_ms);

typedef enum MetricsInstanceMetric {
        METRICS_INSTANCE_HEALTHY,      /* InstanceHealthy, 1/0, None */
        METRICS_REMEDIATION_ATTEMPTED, /* counters: Count */
        METRICS_REPLACEMENT_REQUESTED,
        METRICS_REPLACEMENT_DEFERRED,
        METRICS_LIFECYCLE_HOOK_RUN,
        METRICS_LIFECYCLE_RETAINED, /* 1 when the group retains this instance (Terminating:Retained) */
        METRICS_DROPPED,            /* MetricsDropped: samples this buffer lost */
        _METRICS_INSTANCE_METRIC_MAX,
} MetricsInstanceMetric;

const char *metrics_instance_metric_name(MetricsInstanceMetric which);

/* Records under {AutoScalingGroupName, InstanceId} and under {AutoScalingGroupName}
 * alone; outside a group under {InstanceId} only. */
int metrics_record_instance(Metrics *m, const MetricsIdentity *id, MetricsInstanceMetric which,
                            double value, uint64_t timestamp_ms);

/* ---- Batches ---- */

typedef struct MetricsBatch {
        uint64_t id;
        QueryParams *params; /* Action=PutMetricData, Version, Namespace, MetricData... */
        char *body;          /* params form-encoded, NUL-terminated */
        size_t body_len;     /* <= METRICS_MAX_REQUEST_BYTES */
        size_t n_datums;     /* <= METRICS_MAX_DATUMS_PER_REQUEST */
        uint64_t n_samples;
} MetricsBatch;

MetricsBatch *metrics_batch_free(MetricsBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsBatch *, metrics_batch_free)

/*
 * Takes the oldest buffered data not yet in flight, as much as one request can carry,
 * and marks it in flight. Unless final (the daemon is stopping), data of a period that
 * has not ended at now_ms stays, still collecting samples. Data older than CloudWatch
 * accepts (two weeks) or over two hours ahead of now_ms is dropped and counted first.
 * Returns 1 with *ret set, 0 when there is nothing to send (*ret untouched). Call again
 * until 0 to drain a backlog.
 */
int metrics_flush(Metrics *m, uint64_t now_ms, bool final, MetricsBatch **ret);

typedef enum MetricsOutcome {
        METRICS_SENT,     /* accepted: forget it */
        METRICS_FAILED,   /* not delivered (network, 5xx, throttled): retry it later */
        METRICS_REJECTED, /* a client error that a retry will not fix: drop and count */
} MetricsOutcome;

/* Tells how batch id went. Failed data stays where it was in the queue, so the next
 * flush sends it again, in the same order, once. -ENOENT for an unknown id. */
int metrics_batch_done(Metrics *m, uint64_t id, MetricsOutcome outcome);

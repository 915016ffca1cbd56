/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

#include "aws/metrics.h"

/* 2026-11-23T10:00:00Z */
#define T0 1795428000000ULL
#define MINUTE 60000ULL
#define HOUR (60 * MINUTE)

static const MetricsIdentity in_group = { .asg = "web-asg", .instance_id = "i-0abc" };

static Metrics *new_metrics(size_t buffer_max) {
        Metrics *m = NULL;

        assert_int_equal(metrics_new("Drover", false, buffer_max, &m), 0);
        return m;
}

static size_t count_substr(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = s; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* Flushes once; returns the batch (the caller frees it) or NULL if there was nothing. */
static MetricsBatch *flush(Metrics *m, uint64_t now) {
        MetricsBatch *b = NULL;
        int r = metrics_flush(m, now, true, &b);

        assert_true(r >= 0);
        assert_int_equal(r == 1, b != NULL);
        if (b) {
                assert_true(b->body_len <= METRICS_MAX_REQUEST_BYTES);
                assert_int_equal(strlen(b->body), b->body_len);
                assert_true(b->n_datums <= METRICS_MAX_DATUMS_PER_REQUEST);
        }
        return b;
}

static void test_unit_mapping(void **state) {
        static const struct {
                const char *uom;
                double in;
                int ret;
                const char *unit;
                double out;
        } cases[] = {
                { "", 5, 0, "None", 5 },
                { NULL, 5, 0, "None", 5 },
                { "s", 1.5, 0, "Seconds", 1.5 },
                { "ms", 12, 0, "Milliseconds", 12 },
                { "us", 7, 0, "Microseconds", 7 },
                { "ns", 2500, 0, "Microseconds", 2.5 },
                { "%", 99.5, 0, "Percent", 99.5 },
                { "B", 10, 0, "Bytes", 10 },
                { "KB", 3, 0, "Kilobytes", 3 },
                { "kb", 3, 0, "Kilobytes", 3 },
                { "MB", 4, 0, "Megabytes", 4 },
                { "GB", 5, 0, "Gigabytes", 5 },
                { "TB", 6, 0, "Terabytes", 6 },
                { "KiB", 2, 0, "Bytes", 2048 },
                { "MiB", 1, 0, "Bytes", 1048576 },
                { "c", 42, 0, "Count", 42 },
                { "C", 42, -ENOENT, NULL, 0 },
                { "MS", 1, -ENOENT, NULL, 0 },
                { "furlongs", 1, -ENOENT, NULL, 0 },
                { "%%", 1, -ENOENT, NULL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                MetricUnit u = _METRIC_UNIT_MAX;
                double v = -1;

                assert_int_equal(metrics_unit_from_nagios(cases[i].uom, cases[i].in, &u, &v),
                                 cases[i].ret);
                if (cases[i].ret < 0) {
                        assert_int_equal(u, _METRIC_UNIT_MAX); /* untouched */
                        continue;
                }
                assert_string_equal(metric_unit_name(u), cases[i].unit);
                assert_true(fabs(v - cases[i].out) < 1e-9);
        }
        assert_null(metric_unit_name(_METRIC_UNIT_MAX));
        assert_string_equal(metric_unit_name(METRIC_UNIT_COUNT_PER_SECOND), "Count/Second");
}

static void test_sanitize_name(void **state) {
        static const struct {
                const char *in;
                int ret;
                const char *out;
        } cases[] = {
                { "time", 0, "time" },          { "disk /var", 0, "disk /var" },
                { ":colon", 0, "_colon" },      { "caf\xc3\xa9", 0, "caf__" },
                { "tab\there", 0, "tab_here" }, { "", -EINVAL, NULL },
                { "   ", -EINVAL, NULL },       { NULL, -EINVAL, NULL },
        };
        char long_label[400];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = NULL;

                assert_int_equal(metrics_sanitize_name(cases[i].in, &s), cases[i].ret);
                if (cases[i].ret == 0)
                        assert_string_equal(s, cases[i].out);
                else
                        assert_null(s);
        }
        memset(long_label, 'x', sizeof(long_label) - 1);
        long_label[sizeof(long_label) - 1] = 0;
        _cleanup_free_ char *s = NULL;
        assert_int_equal(metrics_sanitize_name(long_label, &s), 0);
        assert_int_equal(strlen(s), METRICS_MAX_NAME);
}

static void test_namespace(void **state) {
        static const struct {
                const char *ns;
                int ret;
        } cases[] = {
                { "Drover", 0 },
                { "My/App", 0 },
                { "", -EINVAL },
                { NULL, -EINVAL },
                { "AWS/EC2", -EINVAL },
                { ":x", -EINVAL },
                { "caf\xc3\xa9", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(metrics_freep) Metrics *m = NULL;

                assert_int_equal(metrics_new(cases[i].ns, false, 10, &m), cases[i].ret);
                assert_int_equal(m != NULL, cases[i].ret == 0);
        }
}

static void test_record_validation(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(1000);
        MetricDimension dims[METRICS_MAX_DIMENSIONS + 1];
        char names[METRICS_MAX_DIMENSIONS + 1][8];
        char long_name[METRICS_MAX_NAME + 2], long_value[METRICS_MAX_DIMENSION_VALUE + 2];

        for (size_t i = 0; i < ELEMENTSOF(dims); i++) {
                snprintf(names[i], sizeof(names[i]), "d%zu", i);
                dims[i] = (MetricDimension){ names[i], "v" };
        }
        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        memset(long_value, 'v', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = 0;

        /* dimension count: 30 fine, 31 not */
        assert_int_equal(metrics_record(m, "M", dims, 30, 1, METRIC_UNIT_NONE, T0), 0);
        assert_int_equal(metrics_record(m, "M", dims, 31, 1, METRIC_UNIT_NONE, T0), -E2BIG);
        assert_int_equal(metrics_record(m, "M", NULL, 0, 1, METRIC_UNIT_NONE, T0), 0);

        /* name and value lengths at and past the limit */
        long_name[METRICS_MAX_NAME] = 0;
        assert_int_equal(metrics_record(m, long_name, NULL, 0, 1, METRIC_UNIT_NONE, T0), 0);
        long_name[METRICS_MAX_NAME] = 'n';
        assert_int_equal(metrics_record(m, long_name, NULL, 0, 1, METRIC_UNIT_NONE, T0), -EINVAL);
        long_value[METRICS_MAX_DIMENSION_VALUE] = 0;
        dims[0].value = long_value;
        assert_int_equal(metrics_record(m, "M", dims, 1, 1, METRIC_UNIT_NONE, T0), 0);
        long_value[METRICS_MAX_DIMENSION_VALUE] = 'v';
        assert_int_equal(metrics_record(m, "M", dims, 1, 1, METRIC_UNIT_NONE, T0), -EINVAL);

        static const struct {
                const char *name, *dname, *dvalue;
                double value;
                MetricUnit unit;
                int ret;
        } cases[] = {
                { "ok", "Check", "web", 1, METRIC_UNIT_COUNT, 0 },
                { "ok", "Check", ":leading colon is fine in values", 1, METRIC_UNIT_COUNT, 0 },
                { "", "Check", "web", 1, METRIC_UNIT_COUNT, -EINVAL },
                { " ", "Check", "web", 1, METRIC_UNIT_COUNT, -EINVAL },
                { ":x", "Check", "web", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "", "web", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", ":Check", "web", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "  ", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "caf\xc3\xa9", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "new\nline", 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", NULL, 1, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "web", NAN, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "web", INFINITY, METRIC_UNIT_COUNT, -EINVAL },
                { "ok", "Check", "web", 1e200, METRIC_UNIT_COUNT, -ERANGE },
                { "ok", "Check", "web", -1e200, METRIC_UNIT_COUNT, -ERANGE },
                { "ok", "Check", "web", 1e-200, METRIC_UNIT_COUNT, 0 },
                { "ok", "Check", "web", 1, _METRIC_UNIT_MAX, -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                MetricDimension d = { cases[i].dname, cases[i].dvalue };

                assert_int_equal(
                        metrics_record(m, cases[i].name, &d, 1, cases[i].value, cases[i].unit, T0),
                        cases[i].ret);
        }

        /* a repeated dimension name */
        MetricDimension dup[2] = { { "Check", "a" }, { "Check", "b" } };
        assert_int_equal(metrics_record(m, "M", dup, 2, 1, METRIC_UNIT_NONE, T0), -EINVAL);
        assert_int_equal(metrics_dropped(m), 0);
}

/* The exact body for a small case: aggregation, Counts, dimensions, encoding. */
static void test_encoded_body(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL;
        MetricDimension dims[] = { { "AutoScalingGroupName", "web asg" }, { "Check", "a/b" } };

        static const struct {
                const char *name;
                size_t n_dims;
                double value;
                MetricUnit unit;
                uint64_t t;
        } points[] = {
                { "CheckStatus", 2, 0, METRIC_UNIT_NONE, T0 + 1000 },
                { "CheckStatus", 2, 2, METRIC_UNIT_NONE, T0 + 2000 },
                { "CheckStatus", 2, 0, METRIC_UNIT_NONE, T0 + 59999 },
                { "Lat", 0, 0.1, METRIC_UNIT_MILLISECONDS, T0 + MINUTE },
                { "Lat", 0, -2.5e-7, METRIC_UNIT_MILLISECONDS, T0 + MINUTE },
        };

        for (size_t i = 0; i < ELEMENTSOF(points); i++)
                assert_int_equal(metrics_record(m, points[i].name, dims, points[i].n_dims,
                                                points[i].value, points[i].unit, points[i].t),
                                 0);
        assert_int_equal(metrics_buffered(m), 4);

        b = flush(m, T0 + 2 * MINUTE);
        assert_non_null(b);
        assert_string_equal(b->body,
                            "Action=PutMetricData&Version=2010-08-01&Namespace=Drover"
                            "&MetricData.member.1.MetricName=CheckStatus"
                            "&MetricData.member.1.Dimensions.member.1.Name=AutoScalingGroupName"
                            "&MetricData.member.1.Dimensions.member.1.Value=web%20asg"
                            "&MetricData.member.1.Dimensions.member.2.Name=Check"
                            "&MetricData.member.1.Dimensions.member.2.Value=a%2Fb"
                            "&MetricData.member.1.Timestamp=2026-11-23T10%3A00%3A00Z"
                            "&MetricData.member.1.Values.member.1=0"
                            "&MetricData.member.1.Values.member.2=2"
                            "&MetricData.member.1.Counts.member.1=2"
                            "&MetricData.member.1.Counts.member.2=1"
                            "&MetricData.member.1.Unit=None"
                            "&MetricData.member.1.StorageResolution=60"
                            "&MetricData.member.2.MetricName=Lat"
                            "&MetricData.member.2.Timestamp=2026-11-23T10%3A01%3A00Z"
                            "&MetricData.member.2.Values.member.1=0.1"
                            "&MetricData.member.2.Values.member.2=-2.5e-07"
                            "&MetricData.member.2.Unit=Milliseconds"
                            "&MetricData.member.2.StorageResolution=60");
        assert_int_equal(b->n_datums, 2);
        assert_int_equal(b->n_samples, 5);
        assert_int_equal(metrics_batch_done(m, b->id, METRICS_SENT), 0);
        assert_int_equal(metrics_buffered(m), 0);
        assert_null(flush(m, T0 + 2 * MINUTE));
}

static void test_aggregation(void **state) {
        static const struct {
                bool high_res;
                uint64_t step_ms;
                size_t samples;
                size_t distinct; /* values cycle through this many */
                size_t want_datums;
        } cases[] = {
                { false, 10000, 6, 1, 1 },   /* six samples in a minute, one value */
                { false, 10000, 6, 6, 1 },   /* six distinct values, one datum */
                { false, 10000, 12, 1, 2 },  /* two minutes */
                { true, 10000, 6, 1, 6 },    /* high resolution: one datum per second */
                { true, 100, 10, 1, 1 },     /* ten samples in one second */
                { false, 100, 151, 151, 2 }, /* 151 distinct values: 150 + 1 */
                { false, 100, 300, 150, 1 }, /* 150 distinct values twice: fits */
                { false, 10, 4500, 450, 3 }, /* 450 distinct: three full datums */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(metrics_freep) Metrics *m = NULL;
                _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL;
                char key[64];

                assert_int_equal(metrics_new("Drover", cases[i].high_res, 100000, &m), 0);
                for (size_t j = 0; j < cases[i].samples; j++)
                        assert_int_equal(metrics_record(m, "M", NULL, 0, j % cases[i].distinct,
                                                        METRIC_UNIT_COUNT,
                                                        T0 + j * cases[i].step_ms),
                                         0);
                b = flush(m, T0 + 10 * MINUTE);
                assert_non_null(b);
                assert_int_equal(b->n_datums, cases[i].want_datums);
                assert_int_equal(b->n_samples, cases[i].samples);
                assert_int_equal(count_substr(b->body, "StorageResolution="), cases[i].want_datums);
                assert_int_equal(count_substr(b->body, cases[i].high_res ? "StorageResolution=1&"
                                                                         : "StorageResolution=60"),
                                 cases[i].want_datums - (cases[i].high_res ? 1 : 0));
                /* never more than 150 values in a datum */
                assert_null(strstr(b->body, ".Values.member.151="));
                snprintf(key, sizeof(key), ".Values.member.%zu=", MIN(cases[i].distinct, 150));
                assert_non_null(strstr(b->body, key));
                /* the repeated values show up as counts, distinct-only ones need none */
                assert_int_equal(strstr(b->body, "Counts.member.1=") != NULL,
                                 cases[i].samples > cases[i].distinct &&
                                         !(cases[i].high_res && cases[i].step_ms >= 1000));
        }
}

static MetricsBatch *flush_open(Metrics *m, uint64_t now) {
        MetricsBatch *b = NULL;

        assert_true(metrics_flush(m, now, false, &b) >= 0);
        return b;
}

/* A minute still filling up is held back, so each minute goes out once as one datum. */
static void test_open_period_waits(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b1 = NULL, *b2 = NULL, *b3 = NULL;

        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0 + 10000), 0);
        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0 + 70000), 0);
        assert_null(flush_open(m, T0 + 59999));
        b1 = flush_open(m, T0 + 65000);
        assert_non_null(b1);
        assert_int_equal(b1->n_datums, 1);
        assert_non_null(strstr(b1->body, "Timestamp=2026-11-23T10%3A00%3A00Z&"));
        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0 + 80000), 0);
        assert_null(flush_open(m, T0 + 100000));
        b2 = flush_open(m, T0 + 2 * MINUTE);
        assert_non_null(b2);
        assert_int_equal(b2->n_datums, 1);
        assert_int_equal(b2->n_samples, 2);
        assert_non_null(strstr(b2->body, "Timestamp=2026-11-23T10%3A01%3A00Z&"));
        /* stopping: the open minute goes too */
        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0 + 130000), 0);
        assert_null(flush_open(m, T0 + 131000));
        b3 = flush(m, T0 + 131000);
        assert_non_null(b3);
        assert_int_equal(b3->n_samples, 1);
        /* timestamps an ISO 8601 date cannot carry */
        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, 253402300800000ULL),
                         -ERANGE);
}

/* Identical dimension sets merge; any difference keeps series apart. */
static void test_series_identity(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL;
        MetricDimension a[] = { { "X", "ab" }, { "Y", "c" } };
        MetricDimension b2[] = { { "X", "a" }, { "Y", "bc" } };
        MetricDimension c[] = { { "Y", "c" }, { "X", "ab" } };

        assert_int_equal(metrics_record(m, "M", a, 2, 1, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_record(m, "M", a, 2, 1, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_record(m, "M", b2, 2, 1, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_record(m, "M", c, 2, 1, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_record(m, "M", a, 2, 1, METRIC_UNIT_NONE, T0), 0);
        assert_int_equal(metrics_record(m, "M", a, 1, 1, METRIC_UNIT_COUNT, T0), 0);
        b = flush(m, T0);
        assert_non_null(b);
        assert_int_equal(b->n_datums, 5);
        assert_int_equal(b->n_samples, 6);
}

static void test_split_datums(void **state) {
        static const struct {
                size_t series;
                size_t want[3];
        } cases[] = {
                { 999, { 999, 0 } },
                { 1000, { 1000, 0 } },
                { 1001, { 1000, 1, 0 } },
                { 2500, { 1000, 1000, 500 } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(metrics_freep) Metrics *m = new_metrics(100000);
                char check[32];
                size_t k = 0;

                for (size_t j = 0; j < cases[i].series; j++) {
                        MetricDimension d = { "Check", check };

                        snprintf(check, sizeof(check), "c%zu", j);
                        assert_int_equal(
                                metrics_record(m, "CheckStatus", &d, 1, 0, METRIC_UNIT_NONE, T0),
                                0);
                }
                for (;; k++) {
                        _cleanup_(metrics_batch_freep) MetricsBatch *b = flush(m, T0);

                        if (!b)
                                break;
                        assert_true(k < ELEMENTSOF(cases[i].want));
                        assert_int_equal(b->n_datums, cases[i].want[k]);
                        /* in the order recorded */
                        snprintf(check, sizeof(check), "Value=c%zu&", k * 1000);
                        assert_non_null(strstr(b->body, check));
                }
                assert_true(k == ELEMENTSOF(cases[i].want) || cases[i].want[k] == 0);
                assert_int_equal(metrics_buffered(m), cases[i].series); /* all in flight */
        }
}

/* Datums made large with 30 long dimension values: requests stop just short of 1 MB. */
static void test_split_bytes(void **state) {
        _cleanup_(metrics_freep) Metrics *one = new_metrics(100);
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100000);
        _cleanup_(metrics_batch_freep) MetricsBatch *single = NULL;
        MetricDimension dims[METRICS_MAX_DIMENSIONS];
        char names[METRICS_MAX_DIMENSIONS][8], value[METRICS_MAX_DIMENSION_VALUE + 1];
        size_t head = strlen("Action=PutMetricData&Version=2010-08-01&Namespace=Drover");
        size_t datum_size, total = 0, n_batches = 0, n_datums = 35;

        /* '/' encodes to 3 bytes: about 90 KB per datum */
        memset(value, '/', sizeof(value) - 1);
        value[sizeof(value) - 1] = 0;
        for (size_t i = 0; i < ELEMENTSOF(dims); i++) {
                snprintf(names[i], sizeof(names[i]), "D%02zu", i);
                dims[i] = (MetricDimension){ names[i], value };
        }
        assert_int_equal(
                metrics_record(one, "Big", dims, ELEMENTSOF(dims), 0, METRIC_UNIT_NONE, T0), 0);
        single = flush(one, T0);
        datum_size = single->body_len - head;
        assert_true(datum_size > 90000);

        for (size_t j = 0; j < n_datums; j++)
                assert_int_equal(metrics_record(m, "Big", dims, ELEMENTSOF(dims), j,
                                                METRIC_UNIT_NONE, T0 + j * MINUTE),
                                 0);
        for (;;) {
                _cleanup_(metrics_batch_freep) MetricsBatch *b = flush(m, T0 + n_datums * MINUTE);

                if (!b)
                        break;
                total += b->n_datums;
                n_batches++;
                /* full: one more datum (index digits may add a few bytes) would not fit */
                if (total < n_datums)
                        assert_true(b->body_len + datum_size + 100 > METRICS_MAX_REQUEST_BYTES);
        }
        assert_int_equal(total, n_datums);
        size_t per_request = (METRICS_MAX_REQUEST_BYTES - head) / datum_size;
        assert_int_equal(n_batches, (n_datums + per_request - 1) / per_request);
}

static void test_overflow_drops_oldest(void **state) {
        static const struct {
                size_t buffer_max, samples;
                size_t want_buffered;
                uint64_t want_dropped;
        } cases[] = {
                { 5, 3, 3, 0 }, { 5, 5, 5, 0 }, { 5, 8, 5, 3 }, { 1, 4, 1, 3 }, { 0, 2, 1, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(metrics_freep) Metrics *m = new_metrics(cases[i].buffer_max);
                _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL;
                char want[64];

                for (size_t j = 0; j < cases[i].samples; j++)
                        assert_int_equal(metrics_record(m, "M", NULL, 0, j, METRIC_UNIT_COUNT,
                                                        T0 + j * MINUTE),
                                         0);
                assert_int_equal(metrics_buffered(m), cases[i].want_buffered);
                assert_int_equal(metrics_dropped(m), cases[i].want_dropped);
                b = flush(m, T0 + 10 * MINUTE);
                assert_int_equal(b->n_datums, cases[i].want_buffered);
                /* what is left are the newest, oldest first */
                snprintf(want, sizeof(want), "member.1.Values.member.1=%zu&",
                         (size_t) cases[i].want_dropped);
                assert_non_null(strstr(b->body, want));
        }

        /* a repeated value costs no space: only distinct values are data points */
        _cleanup_(metrics_freep) Metrics *m = new_metrics(2);
        for (int j = 0; j < 100; j++)
                assert_int_equal(metrics_record(m, "M", NULL, 0, j % 2, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_buffered(m), 2);
        assert_int_equal(metrics_dropped(m), 0);
        /* dropping a data point counts every sample it stood for */
        assert_int_equal(metrics_record(m, "M", NULL, 0, 7, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_dropped(m), 50);
}

/* A plugin inventing metric names cannot make drover hold more than a few MiB of them. */
static void test_series_memory_cap(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(1000000);
        MetricDimension dims[METRICS_MAX_DIMENSIONS];
        char names[METRICS_MAX_DIMENSIONS][8], value[METRICS_MAX_DIMENSION_VALUE + 1];
        char name[METRICS_MAX_NAME + 1];
        size_t accepted = 0, n = ELEMENTSOF(dims);
        int r = 0;

        memset(value, 'v', sizeof(value) - 1);
        value[sizeof(value) - 1] = 0;
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        for (size_t i = 0; i < ELEMENTSOF(dims); i++) {
                snprintf(names[i], sizeof(names[i]), "D%02zu", i);
                dims[i] = (MetricDimension){ names[i], value };
        }
        for (size_t j = 0; j < 10000 && r == 0; j++) {
                snprintf(name, sizeof(name), "label-%zu", j);
                r = metrics_record(m, name, dims, ELEMENTSOF(dims), 1, METRIC_UNIT_NONE, T0);
                if (r == 0)
                        accepted++;
        }
        assert_int_equal(r, -ENOBUFS);
        assert_true(accepted > 100 && accepted < 1000);
        assert_int_equal(metrics_dropped(m), 1);
        /* a known metric still records */
        assert_int_equal(metrics_record(m, "label-0", dims, n, 2, METRIC_UNIT_NONE, T0), 0);
        /* once sent, the names are forgotten and new ones fit again */
        assert_int_equal(metrics_record(m, "fresh", dims, n, 1, METRIC_UNIT_NONE, T0), -ENOBUFS);
        _cleanup_(metrics_batch_freep) MetricsBatch *b = flush(m, T0);
        assert_int_equal(metrics_batch_done(m, b->id, METRICS_SENT), 0);
        assert_int_equal(metrics_buffered(m), accepted + 1 - b->n_samples); /* counts are 1 */
        assert_int_equal(metrics_record(m, "fresh", dims, n, 1, METRIC_UNIT_NONE, T0), 0);
}

static void test_overflow_while_in_flight(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(2);
        _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL, *b2 = NULL;

        assert_int_equal(metrics_record(m, "M", NULL, 0, 1, METRIC_UNIT_COUNT, T0), 0);
        assert_int_equal(metrics_record(m, "M", NULL, 0, 2, METRIC_UNIT_COUNT, T0), 0);
        b = flush(m, T0);
        /* everything is in flight: the new sample is what gets dropped */
        assert_int_equal(metrics_record(m, "M", NULL, 0, 3, METRIC_UNIT_COUNT, T0), -ENOBUFS);
        assert_int_equal(metrics_dropped(m), 1);
        assert_int_equal(metrics_batch_done(m, b->id, METRICS_SENT), 0);
        assert_int_equal(metrics_record(m, "M", NULL, 0, 3, METRIC_UNIT_COUNT, T0), 0);
        b2 = flush(m, T0);
        assert_non_null(strstr(b2->body, "Values.member.1=3&"));
        assert_null(strstr(b2->body, "Values.member.2"));
}

static void test_failed_flush_retried(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b1 = NULL, *b2 = NULL, *b3 = NULL;
        MetricDimension a = { "Check", "a" }, b = { "Check", "b" }, c = { "Check", "c" };

        assert_int_equal(metrics_record(m, "S", &a, 1, 1, METRIC_UNIT_NONE, T0), 0);
        assert_int_equal(metrics_record(m, "S", &b, 1, 1, METRIC_UNIT_NONE, T0), 0);
        b1 = flush(m, T0);
        assert_int_equal(b1->n_datums, 2);

        /* new samples while b1 is in flight go into new datums, not into b1's */
        assert_int_equal(metrics_record(m, "S", &a, 1, 1, METRIC_UNIT_NONE, T0), 0);
        assert_int_equal(metrics_record(m, "S", &c, 1, 1, METRIC_UNIT_NONE, T0), 0);
        b2 = flush(m, T0);
        assert_int_equal(b2->n_datums, 2);
        assert_int_equal(b2->n_samples, 2);
        assert_non_null(strstr(b2->body, "member.1.Dimensions.member.1.Value=a&"));
        assert_non_null(strstr(b2->body, "member.2.Dimensions.member.1.Value=c&"));
        assert_null(flush(m, T0)); /* nothing left that is not in flight */

        assert_int_equal(metrics_batch_done(m, b1->id, METRICS_FAILED), 0);
        assert_int_equal(metrics_batch_done(m, b1->id, METRICS_FAILED), -ENOENT); /* told once */
        /* b1's data again, same order, same content, nothing of b2's */
        b3 = flush(m, T0 + MINUTE);
        assert_int_not_equal(b3->id, b1->id);
        assert_int_equal(b3->n_datums, 2);
        assert_string_equal(b3->body, b1->body);
        assert_int_equal(metrics_batch_done(m, b2->id, METRICS_SENT), 0);
        assert_int_equal(metrics_batch_done(m, b3->id, METRICS_SENT), 0);
        assert_int_equal(metrics_batch_done(m, b3->id, METRICS_SENT), -ENOENT);
        assert_int_equal(metrics_batch_done(m, 9999, METRICS_SENT), -ENOENT);
        assert_int_equal(metrics_buffered(m), 0);
        assert_int_equal(metrics_dropped(m), 0);
        assert_null(flush(m, T0 + MINUTE));
}

/* After a failure, samples of the same minute join the old datum: still sent once. */
static void test_failed_then_merged(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b1 = NULL, *b2 = NULL;

        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0), 0);
        b1 = flush(m, T0);
        assert_int_equal(metrics_batch_done(m, b1->id, METRICS_FAILED), 0);
        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0 + 5000), 0);
        assert_int_equal(metrics_record(m, "S", NULL, 0, 4, METRIC_UNIT_NONE, T0 + 6000), 0);
        b2 = flush(m, T0 + MINUTE);
        assert_int_equal(b2->n_datums, 1);
        assert_int_equal(b2->n_samples, 3);
        assert_non_null(strstr(b2->body, "Values.member.1=1&MetricData.member.1.Values.member.2=4"
                                         "&MetricData.member.1.Counts.member.1=2"
                                         "&MetricData.member.1.Counts.member.2=1&"));
}

static void test_rejected_and_stale(void **state) {
        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL, *b2 = NULL;
        uint64_t now = T0 + 15ULL * 24 * 3600 * 1000;

        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0), 0);
        assert_int_equal(metrics_record(m, "S", NULL, 0, 1, METRIC_UNIT_NONE, T0), 0);
        b = flush(m, T0);
        assert_int_equal(metrics_batch_done(m, b->id, METRICS_REJECTED), 0);
        assert_int_equal(metrics_dropped(m), 2);
        assert_int_equal(metrics_buffered(m), 0);

        /* two weeks old, or hours ahead of now: CloudWatch would refuse the whole request */
        assert_int_equal(metrics_record(m, "Old", NULL, 0, 1, METRIC_UNIT_NONE, T0), 0);
        assert_int_equal(metrics_record(m, "Future", NULL, 0, 1, METRIC_UNIT_NONE, now + 3 * HOUR),
                         0);
        assert_int_equal(metrics_record(m, "Fresh", NULL, 0, 1, METRIC_UNIT_NONE, now - HOUR), 0);
        b2 = flush(m, now);
        assert_int_equal(b2->n_datums, 1);
        assert_non_null(strstr(b2->body, "MetricName=Fresh&"));
        assert_int_equal(metrics_dropped(m), 4);
}

static void test_design_metric_set(void **state) {
        static const struct {
                MetricsIdentity id;
                const char *want_check_dims;
                size_t want_instance_datums;
                const char *want_instance_dims;
        } cases[] = {
                { { "web-asg", "i-0abc", false },
                  "Dimensions.member.1.Name=AutoScalingGroupName"
                  "&MetricData.member.1.Dimensions.member.1.Value=web-asg"
                  "&MetricData.member.1.Dimensions.member.2.Name=Check"
                  "&MetricData.member.1.Dimensions.member.2.Value=web&"
                  "MetricData.member.1.Timestamp",
                  2,
                  "member.1.Dimensions.member.2.Name=InstanceId" },
                { { "web-asg", "i-0abc", true },
                  "Dimensions.member.2.Value=web"
                  "&MetricData.member.1.Dimensions.member.3.Name=InstanceId"
                  "&MetricData.member.1.Dimensions.member.3.Value=i-0abc&",
                  2,
                  "member.1.Dimensions.member.2.Value=i-0abc&" },
                { { NULL, "i-0abc", true },
                  "member.1.Dimensions.member.1.Name=Check"
                  "&MetricData.member.1.Dimensions.member.1.Value=web"
                  "&MetricData.member.1.Dimensions.member.2.Name=InstanceId",
                  1,
                  "member.1.Dimensions.member.1.Name=InstanceId" },
                { { "", "i-0abc", false },
                  "member.1.Dimensions.member.1.Name=Check"
                  "&MetricData.member.1.Dimensions.member.1.Value=web"
                  "&MetricData.member.1.Timestamp",
                  1,
                  "member.1.Dimensions.member.1.Value=i-0abc&MetricData.member.1.Timestamp" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
                _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL, *bi = NULL;

                assert_int_equal(
                        metrics_record_check(m, &cases[i].id, "web", NAGIOS_CRITICAL, 12.5, T0), 0);
                b = flush(m, T0);
                assert_int_equal(b->n_datums, 2);
                assert_non_null(strstr(b->body, "member.1.MetricName=CheckStatus&"));
                assert_non_null(strstr(b->body, "member.1.Values.member.1=2&"));
                assert_non_null(strstr(b->body, "member.1.Unit=None&"));
                assert_non_null(strstr(b->body, "member.2.MetricName=CheckDuration&"));
                assert_non_null(strstr(b->body, "member.2.Values.member.1=12.5&"));
                assert_non_null(strstr(b->body, "member.2.Unit=Milliseconds&"));
                assert_non_null(strstr(b->body, cases[i].want_check_dims));

                assert_int_equal(metrics_record_instance(m, &cases[i].id,
                                                         METRICS_REPLACEMENT_REQUESTED, 1, T0),
                                 0);
                bi = flush(m, T0);
                assert_int_equal(bi->n_datums, cases[i].want_instance_datums);
                assert_non_null(strstr(bi->body, "member.1.MetricName=ReplacementRequested&"));
                assert_non_null(strstr(bi->body, "member.1.Unit=Count&"));
                assert_non_null(strstr(bi->body, cases[i].want_instance_dims));
                if (cases[i].want_instance_datums == 2)
                        assert_non_null(strstr(bi->body,
                                               "member.2.Dimensions.member.1.Value=web-asg"
                                               "&MetricData.member.2.Timestamp"));
        }

        _cleanup_(metrics_freep) Metrics *m = new_metrics(100);
        _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL;
        assert_int_equal(metrics_record_check(m, &in_group, "web", 4, 1, T0), -EINVAL);
        assert_int_equal(metrics_record_perfdata(m, &in_group, "web", ":time", 250, "ms", T0), 0);
        assert_int_equal(metrics_record_perfdata(m, &in_group, "web", "size", 2, "KiB", T0), 0);
        assert_int_equal(metrics_record_perfdata(m, &in_group, "web", "odd", 3, "parsecs", T0), 0);
        assert_int_equal(metrics_record_perfdata(m, &in_group, "web", "  ", 3, "", T0), -EINVAL);
        assert_int_equal(metrics_record_instance(m, &in_group, METRICS_INSTANCE_HEALTHY, 1, T0), 0);
        assert_int_equal(metrics_record_instance(m, &in_group, _METRICS_INSTANCE_METRIC_MAX, 1, T0),
                         -EINVAL);
        b = flush(m, T0);
        assert_int_equal(b->n_datums, 5);
        assert_non_null(strstr(b->body, "member.1.MetricName=_time&"));
        assert_non_null(strstr(b->body, "member.1.Dimensions.member.2.Value=web&"));
        assert_non_null(strstr(b->body, "member.1.Unit=Milliseconds&"));
        assert_non_null(strstr(b->body, "member.2.Values.member.1=2048&"));
        assert_non_null(strstr(b->body, "member.2.Unit=Bytes&"));
        assert_non_null(strstr(b->body, "member.3.Values.member.1=3&"));
        assert_non_null(strstr(b->body, "member.3.Unit=None&"));
        assert_non_null(strstr(b->body, "member.4.MetricName=InstanceHealthy&"));
        assert_non_null(strstr(b->body, "member.5.MetricName=InstanceHealthy&"));
        assert_string_equal(metrics_instance_metric_name(METRICS_LIFECYCLE_HOOK_RUN),
                            "LifecycleHookRun");
        assert_string_equal(metrics_instance_metric_name(METRICS_DROPPED), "MetricsDropped");
        assert_string_equal(metrics_instance_metric_name(METRICS_LIFECYCLE_RETAINED),
                            "LifecycleRetained");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_mapping),
                cmocka_unit_test(test_sanitize_name),
                cmocka_unit_test(test_namespace),
                cmocka_unit_test(test_record_validation),
                cmocka_unit_test(test_encoded_body),
                cmocka_unit_test(test_aggregation),
                cmocka_unit_test(test_open_period_waits),
                cmocka_unit_test(test_series_identity),
                cmocka_unit_test(test_split_datums),
                cmocka_unit_test(test_split_bytes),
                cmocka_unit_test(test_overflow_drops_oldest),
                cmocka_unit_test(test_series_memory_cap),
                cmocka_unit_test(test_overflow_while_in_flight),
                cmocka_unit_test(test_failed_flush_retried),
                cmocka_unit_test(test_failed_then_merged),
                cmocka_unit_test(test_rejected_and_stale),
                cmocka_unit_test(test_design_metric_set),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * PutMetricData for metrics.c's batches. The batch's QueryParams go to aws_call(); the
 * Metrics buffer learns the outcome by batch id, so nothing here keeps the data.
 */
#include "aws/cloudwatch.h"

typedef struct Send {
        Metrics *metrics;
        uint64_t id;
        cloudwatch_done_cb cb;
        void *userdata;
        bool finished;
} Send;

static void on_done(const AwsResult *res, void *userdata) {
        Send *s = userdata;
        MetricsOutcome o = cloudwatch_outcome(res->error);

        s->finished = true;
        (void) metrics_batch_done(s->metrics, s->id, o);
        if (s->cb)
                s->cb(res->error, o, res, s->userdata);
}

/* A cancelled send leaves its data to the next flush. */
static void send_free(void *userdata) {
        Send *s = userdata;

        if (!s->finished)
                (void) metrics_batch_done(s->metrics, s->id, METRICS_FAILED);
        free(s);
}

int cloudwatch_send(Aws *a, Metrics *m, MetricsBatch *batch, cloudwatch_done_cb cb, void *userdata,
                    AwsCall **ret) {
        _cleanup_(metrics_batch_freep) MetricsBatch *b = batch;
        Send *s;
        AwsCall *c;
        int r;

        if (!b)
                return -EINVAL;
        if (!a || !m || !b->params) {
                if (m)
                        (void) metrics_batch_done(m, b->id, METRICS_FAILED);
                return -EINVAL;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                (void) metrics_batch_done(m, b->id, METRICS_FAILED);
                return -ENOMEM;
        }
        *s = (Send){ .metrics = m, .id = b->id, .cb = cb, .userdata = userdata };
        r = aws_call(a, AWS_SERVICE_CLOUDWATCH, TAKE_PTR(b->params),
                     cloudwatch_want_gzip(b->body_len), on_done, s, &c);
        if (r < 0) {
                free(s);
                (void) metrics_batch_done(m, b->id, METRICS_FAILED);
                return r;
        }
        aws_call_set_destroy(c, send_free);
        if (ret)
                *ret = c;
        return 0;
}

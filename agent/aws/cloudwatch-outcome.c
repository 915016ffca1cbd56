/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "aws/cloudwatch-outcome.h"

MetricsOutcome cloudwatch_outcome(int error) {
        if (error >= 0)
                return METRICS_SENT;
        return error == -EINVAL ? METRICS_REJECTED : METRICS_FAILED;
}

bool cloudwatch_want_gzip(size_t body_len) {
        return body_len >= CLOUDWATCH_GZIP_MIN;
}

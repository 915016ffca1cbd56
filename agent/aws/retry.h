/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Retry decisions for AWS calls, as the SDKs' "standard" retry mode makes them: pure
 * functions of the outcome of an attempt, tested without a network.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef enum AwsRetryKind {
        AWS_RETRY_NONE,       /* success, or a client error: do not repeat */
        AWS_RETRY_TRANSIENT,  /* 5xx, timeouts, reset or refused connections */
        AWS_RETRY_THROTTLE,   /* throttling codes, HTTP 429 */
        AWS_RETRY_CLOCK_SKEW, /* learn the offset from the Date header, then retry once */
} AwsRetryKind;

typedef struct AwsOutcome {
        int error;           /* transport failure as negative errno, 0 if an answer came */
        long status;         /* HTTP status, 0 without an answer */
        const char *code;    /* AWS error code from the error document, or NULL */
        const char *message; /* its message, or NULL */
        time_t server_date;  /* the answer's Date header, -1 if absent or unparsable */
        time_t now;          /* local clock when the answer arrived */
} AwsOutcome;

/* Beyond this difference between the server's Date and ours, an auth error is skew. */
#define AWS_SKEW_THRESHOLD_SEC 240

AwsRetryKind aws_retry_classify(const AwsOutcome *o);
const char *aws_retry_kind_to_string(AwsRetryKind k);

/* The SDKs' standard mode: 3 attempts in all, full-jitter backoff from 1 s, cap 20 s. */
#define AWS_RETRY_MAX_ATTEMPTS 3U
#define AWS_RETRY_BASE_USEC (1000ULL * 1000ULL)
#define AWS_RETRY_CAP_USEC (20ULL * 1000ULL * 1000ULL)

/*
 * Whether to make attempt number attempts+1 (attempts made so far >= 1), and after how
 * long (unit: random in [0, 1)). A clock-skew retry is immediate and happens once:
 * skew_retried says whether it already did.
 */
bool aws_retry_next(AwsRetryKind kind, unsigned attempts, unsigned max_attempts, bool skew_retried,
                    double unit, uint64_t *ret_delay_usec);

/*
 * Parses an HTTP date: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), and the obsolete
 * RFC 850 and asctime forms RFC 7231 says recipients must accept. -EINVAL otherwise.
 */
int aws_parse_http_date(const char *s, time_t *ret);

/*
 * The offset to add to the local clock to match the server's, from a Date header value
 * and the local time the answer arrived. -EINVAL if the date does not parse.
 */
int aws_clock_offset(const char *date_header, time_t now, int64_t *ret_offset);

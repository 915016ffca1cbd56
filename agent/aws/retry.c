/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "aws/retry.h"
#include "base/macro.h"
#include "base/util.h"

/* The SDKs' throttling codes (botocore retries/standard.py, aws-sdk-go-v2 retry). */
static const char *const throttle_codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
};

/* Codes that only ever mean "your clock is off". */
static const char *const skew_codes[] = {
        "RequestTimeTooSkewed",
        "RequestExpired",
        "RequestInTheFuture",
};

/* Codes that mean skew when the message or the server's clock says so. */
static const char *const maybe_skew_codes[] = {
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
};

static const char *const skew_phrases[] = {
        "Signature expired",     "signature expired",   "skew", "Skew", "not yet current",
        "too far in the future", "request has expired",
};

/* Transient codes the SDKs retry whatever the status says. */
static const char *const transient_codes[] = {
        "RequestTimeout",  "RequestTimeoutException", "InternalError",
        "InternalFailure", "ServiceUnavailable",      "IDPCommunicationError",
};

static bool in(const char *s, const char *const *set, size_t n) {
        for (size_t i = 0; s && i < n; i++)
                if (streq(s, set[i]))
                        return true;
        return false;
}

static bool transient_errno(int error) {
        switch (error) {
        case -ETIMEDOUT:
        case -ECONNRESET:
        case -ECONNREFUSED:
        case -ECONNABORTED:
        case -EPIPE:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -ENETDOWN:
        case -EAGAIN:
        case -EBADMSG: /* a garbled or truncated answer */
                return true;
        default:
                return false;
        }
}

static bool looks_like_skew(const AwsOutcome *o) {
        for (size_t i = 0; o->message && i < ELEMENTSOF(skew_phrases); i++)
                if (strstr(o->message, skew_phrases[i]))
                        return true;
        if (o->server_date < 0 || o->now < 0)
                return false;
        return llabs((long long) o->server_date - (long long) o->now) > AWS_SKEW_THRESHOLD_SEC;
}

AwsRetryKind aws_retry_classify(const AwsOutcome *o) {
        if (o->error < 0)
                return transient_errno(o->error) ? AWS_RETRY_TRANSIENT : AWS_RETRY_NONE;
        if (o->status >= 200 && o->status < 300)
                return AWS_RETRY_NONE;
        if (in(o->code, skew_codes, ELEMENTSOF(skew_codes)))
                return AWS_RETRY_CLOCK_SKEW;
        if (in(o->code, maybe_skew_codes, ELEMENTSOF(maybe_skew_codes)) && looks_like_skew(o))
                return AWS_RETRY_CLOCK_SKEW;
        if (o->status == 429 || in(o->code, throttle_codes, ELEMENTSOF(throttle_codes)))
                return AWS_RETRY_THROTTLE;
        if (in(o->code, transient_codes, ELEMENTSOF(transient_codes)))
                return AWS_RETRY_TRANSIENT;
        if (o->status >= 500 && o->status <= 599 && o->status != 501 && o->status != 505)
                return AWS_RETRY_TRANSIENT;
        return AWS_RETRY_NONE;
}

const char *aws_retry_kind_to_string(AwsRetryKind k) {
        static const char *const names[] = {
                [AWS_RETRY_NONE] = "none",
                [AWS_RETRY_TRANSIENT] = "transient",
                [AWS_RETRY_THROTTLE] = "throttle",
                [AWS_RETRY_CLOCK_SKEW] = "clock-skew",
        };
        return (unsigned) k < ELEMENTSOF(names) ? names[k] : "?";
}

bool aws_retry_next(AwsRetryKind kind, unsigned attempts, unsigned max_attempts, bool skew_retried,
                    double unit, uint64_t *ret_delay_usec) {
        if (kind == AWS_RETRY_NONE)
                return false;
        if (kind == AWS_RETRY_CLOCK_SKEW) {
                /* The signature is wrong until the clock is fixed: one immediate retry. */
                if (skew_retried)
                        return false;
                *ret_delay_usec = 0;
                return true;
        }
        if (attempts >= max_attempts)
                return false;
        *ret_delay_usec = backoff_full_jitter_usec(attempts > 0 ? attempts - 1 : 0,
                                                   AWS_RETRY_BASE_USEC, AWS_RETRY_CAP_USEC, unit);
        return true;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const long_wdays[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday" };

/* Exactly n digits (a leading space allowed with pad, asctime's " 6"). */
static bool digits(const char **p, size_t n, bool pad, int *ret) {
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                char c = (*p)[i];
                if (c == ' ' && pad && i == 0 && n > 1)
                        continue;
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (c - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

static bool lit(const char **p, const char *s) {
        size_t n = strlen(s);

        if (strncmp(*p, s, n) != 0)
                return false;
        *p += n;
        return true;
}

static bool month(const char **p, int *ret) {
        for (int i = 0; i < 12; i++)
                if (strneq(*p, months[i], 3)) {
                        *p += 3;
                        *ret = i;
                        return true;
                }
        return false;
}

static bool wday(const char **p, const char *const *names) {
        for (int i = 0; i < 7; i++)
                if (lit(p, names[i]))
                        return true;
        return false;
}

static bool hms(const char **p, struct tm *tm) {
        return digits(p, 2, false, &tm->tm_hour) && lit(p, ":") &&
               digits(p, 2, false, &tm->tm_min) && lit(p, ":") && digits(p, 2, false, &tm->tm_sec);
}

int aws_parse_http_date(const char *s, time_t *ret) {
        struct tm tm = {}, check;
        const char *p = s;
        bool ok;
        time_t t;

        if (!s)
                return -EINVAL;
        if (strlen(s) == 29 && s[3] == ',') /* Sun, 06 Nov 1994 08:49:37 GMT */
                ok = wday(&p, wdays) && lit(&p, ", ") && digits(&p, 2, false, &tm.tm_mday) &&
                     lit(&p, " ") && month(&p, &tm.tm_mon) && lit(&p, " ") &&
                     digits(&p, 4, false, &tm.tm_year) && lit(&p, " ") && hms(&p, &tm) &&
                     lit(&p, " GMT");
        else if (strchr(s, '-')) { /* Sunday, 06-Nov-94 08:49:37 GMT */
                ok = wday(&p, long_wdays) && lit(&p, ", ") && digits(&p, 2, false, &tm.tm_mday) &&
                     lit(&p, "-") && month(&p, &tm.tm_mon) && lit(&p, "-") &&
                     digits(&p, 2, false, &tm.tm_year) && lit(&p, " ") && hms(&p, &tm) &&
                     lit(&p, " GMT");
                tm.tm_year += tm.tm_year < 70 ? 2000 : 1900;
        } else /* Sun Nov  6 08:49:37 1994 */
                ok = wday(&p, wdays) && lit(&p, " ") && month(&p, &tm.tm_mon) && lit(&p, " ") &&
                     digits(&p, 2, true, &tm.tm_mday) && lit(&p, " ") && hms(&p, &tm) &&
                     lit(&p, " ") && digits(&p, 4, false, &tm.tm_year);
        if (!ok || *p != 0 || tm.tm_year < 1970 || tm.tm_mday < 1 || tm.tm_hour > 23 ||
            tm.tm_min > 59 || tm.tm_sec > 60)
                return -EINVAL;
        tm.tm_year -= 1900;
        check = tm;
        t = timegm(&tm);
        /* timegm() normalises 31 Feb to 3 Mar; a date that moved was not a date. */
        if (t == (time_t) -1 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
                return -EINVAL;
        *ret = t;
        return 0;
}

int aws_clock_offset(const char *date_header, time_t now, int64_t *ret_offset) {
        time_t server;
        int r = aws_parse_http_date(date_header, &server);

        if (r < 0)
                return r;
        *ret_offset = (int64_t) server - (int64_t) now;
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/retry.h"
#include "base/macro.h"

#define NOW 1700000000

static void test_classify(void **state) {
        static const struct {
                int error;
                long status;
                const char *code, *message;
                time_t date;
                AwsRetryKind want;
        } cases[] = {
                { 0, 200, NULL, NULL, -1, AWS_RETRY_NONE },
                { 0, 500, "InternalFailure", NULL, -1, AWS_RETRY_TRANSIENT },
                { 0, 502, NULL, NULL, -1, AWS_RETRY_TRANSIENT },
                { 0, 503, "ServiceUnavailable", NULL, -1, AWS_RETRY_TRANSIENT },
                { 0, 504, NULL, NULL, -1, AWS_RETRY_TRANSIENT },
                { 0, 501, NULL, NULL, -1, AWS_RETRY_NONE },
                { 0, 429, NULL, NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "Throttling", "Rate exceeded", -1, AWS_RETRY_THROTTLE },
                { 0, 400, "ThrottlingException", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 503, "RequestLimitExceeded", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "TooManyRequestsException", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "ProvisionedThroughputExceededException", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "RequestThrottled", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 503, "SlowDown", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "PriorRequestNotComplete", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "EC2ThrottledException", NULL, -1, AWS_RETRY_THROTTLE },
                { 0, 400, "RequestTimeout", NULL, -1, AWS_RETRY_TRANSIENT },
                /* client errors are final */
                { 0, 400, "ValidationError", "bad", -1, AWS_RETRY_NONE },
                { 0, 400, "LimitExceeded", "quota", -1, AWS_RETRY_NONE },
                { 0, 403, "AccessDenied", NULL, -1, AWS_RETRY_NONE },
                { 0, 403, "InvalidClientTokenId", NULL, -1, AWS_RETRY_NONE },
                { 0, 400, "ExpiredToken", NULL, -1, AWS_RETRY_NONE },
                { 0, 404, NULL, NULL, -1, AWS_RETRY_NONE },
                /* clock skew */
                { 0, 403, "RequestTimeTooSkewed", NULL, -1, AWS_RETRY_CLOCK_SKEW },
                { 0, 400, "RequestExpired", "Request has expired.", -1, AWS_RETRY_CLOCK_SKEW },
                { 0, 400, "RequestInTheFuture", NULL, -1, AWS_RETRY_CLOCK_SKEW },
                { 0, 403, "SignatureDoesNotMatch",
                  "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z", -1,
                  AWS_RETRY_CLOCK_SKEW },
                { 0, 400, "InvalidSignatureException", "Signature not yet current: ...", -1,
                  AWS_RETRY_CLOCK_SKEW },
                { 0, 403, "SignatureDoesNotMatch",
                  "The request signature we calculated does not "
                  "match",
                  -1, AWS_RETRY_NONE },
                { 0, 403, "SignatureDoesNotMatch", "does not match", NOW + 600,
                  AWS_RETRY_CLOCK_SKEW },
                { 0, 401, "AuthFailure", "AWS was not able to validate", NOW - 3600,
                  AWS_RETRY_CLOCK_SKEW },
                { 0, 401, "AuthFailure", "AWS was not able to validate", NOW + 10, AWS_RETRY_NONE },
                { 0, 401, "AuthFailure", "AWS was not able to validate", -1, AWS_RETRY_NONE },
                /* transport */
                { -ETIMEDOUT, 0, NULL, NULL, -1, AWS_RETRY_TRANSIENT },
                { -ECONNRESET, 0, NULL, NULL, -1, AWS_RETRY_TRANSIENT },
                { -ECONNREFUSED, 0, NULL, NULL, -1, AWS_RETRY_TRANSIENT },
                { -EHOSTUNREACH, 0, NULL, NULL, -1, AWS_RETRY_TRANSIENT },
                { -EKEYREJECTED, 0, NULL, NULL, -1, AWS_RETRY_NONE }, /* bad TLS peer */
                { -EINVAL, 0, NULL, NULL, -1, AWS_RETRY_NONE },
                { -EFBIG, 0, NULL, NULL, -1, AWS_RETRY_NONE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AwsOutcome o = { cases[i].error,   cases[i].status, cases[i].code,
                                 cases[i].message, cases[i].date,   NOW };
                AwsRetryKind k = aws_retry_classify(&o);
                if (k != cases[i].want)
                        fail_msg("case %zu (%s): got %s, want %s", i, strempty(cases[i].code),
                                 aws_retry_kind_to_string(k),
                                 aws_retry_kind_to_string(cases[i].want));
        }
}

static void test_next(void **state) {
        uint64_t d = 42;

        assert_false(aws_retry_next(AWS_RETRY_NONE, 1, 3, false, 0.5, &d));
        assert_true(aws_retry_next(AWS_RETRY_TRANSIENT, 1, 3, false, 0.5, &d));
        assert_int_equal(d, 500000); /* half of 1 s */
        assert_true(aws_retry_next(AWS_RETRY_THROTTLE, 2, 3, false, 0.5, &d));
        assert_int_equal(d, 1000000); /* half of 2 s */
        assert_false(aws_retry_next(AWS_RETRY_THROTTLE, 3, 3, false, 0.5, &d));
        assert_true(aws_retry_next(AWS_RETRY_THROTTLE, 20, 30, false, 0.999, &d));
        assert_true(d <= AWS_RETRY_CAP_USEC);
        /* skew: once, at once, even on the last attempt */
        assert_true(aws_retry_next(AWS_RETRY_CLOCK_SKEW, 3, 3, false, 0.5, &d));
        assert_int_equal(d, 0);
        assert_false(aws_retry_next(AWS_RETRY_CLOCK_SKEW, 1, 3, true, 0.5, &d));
}

static void test_http_date(void **state) {
        static const struct {
                const char *in;
                time_t want; /* -1: invalid */
        } cases[] = {
                { "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
                { "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
                { "Sun Nov  6 08:49:37 1994", 784111777 },
                { "Thu, 29 Feb 2024 23:59:59 GMT", 1709251199 },
                { "Mon, 30 Aug 2015 12:36:00 GMT", 1440938160 },
                { "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
                { "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
                { "Sun, 06 Nov 1994 08:49:37 GMT ", -1 },
                { "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
                { "Sun, 31 Feb 1994 08:49:37 GMT", -1 },
                { "Sun, 06 Foo 1994 08:49:37 GMT", -1 },
                { "Sun, 06 Nov 1994 24:49:37 GMT", -1 },
                { "Xyz, 06 Nov 1994 08:49:37 GMT", -1 },
                { "Sun, 06 Nov 19a4 08:49:37 GMT", -1 },
                { "", -1 },
                { "1994-11-06T08:49:37Z", -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                time_t t = 12345;
                int r = aws_parse_http_date(cases[i].in, &t);
                if (cases[i].want < 0) {
                        assert_int_equal(r, -EINVAL);
                        assert_int_equal(t, 12345);
                } else {
                        assert_int_equal(r, 0);
                        assert_int_equal(t, cases[i].want);
                }
        }
        assert_int_equal(aws_parse_http_date(NULL, &(time_t){ 0 }), -EINVAL);
}

static void test_clock_offset(void **state) {
        int64_t off = 7;

        assert_int_equal(aws_clock_offset("Mon, 30 Aug 2015 12:36:00 GMT", 1440938160 - 900, &off),
                         0);
        assert_int_equal(off, 900);
        assert_int_equal(aws_clock_offset("Mon, 30 Aug 2015 12:36:00 GMT", 1440938160 + 60, &off),
                         0);
        assert_int_equal(off, -60);
        assert_int_equal(aws_clock_offset("garbage", 0, &off), -EINVAL);
        assert_int_equal(off, -60);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_classify),
                cmocka_unit_test(test_next),
                cmocka_unit_test(test_http_date),
                cmocka_unit_test(test_clock_offset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

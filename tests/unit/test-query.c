/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <zlib.h>

#include "aws/query.h"

static const SigV4Credentials creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        "SESSIONTOKEN" };
#define T0 1440938160

static void test_encode(void **state) {
        static const struct {
                const char *key, *value, *want;
        } cases[] = {
                { "Plain", "abcXYZ019-_.~", "Plain=abcXYZ019-_.~" },
                { "Space", "a b", "Space=a%20b" },
                { "Plus", "a+b", "Plus=a%2Bb" },
                { "Reserved", "!*'();:@&=+$,/?#[]",
                  "Reserved=%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D" },
                { "Unicode", "caf\xc3\xa9 \xe6\x97\xa5", "Unicode=caf%C3%A9%20%E6%97%A5" },
                { "Empty", "", "Empty=" },
                { "Tags.member.1.Key", "drover:paused", "Tags.member.1.Key=drover%3Apaused" },
                { "Pct", "100%", "Pct=100%25" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(query_params_freep) QueryParams *p = query_params_new("Do", "2011-01-01");
                _cleanup_free_ char *body = NULL, *want = NULL;
                size_t len = 0;

                assert_non_null(p);
                assert_int_equal(query_params_add(p, cases[i].key, cases[i].value), 0);
                assert_int_equal(query_params_count(p), 3);
                assert_string_equal(query_params_action(p), "Do");
                assert_int_equal(query_params_encode(p, &body, &len), 0);
                assert_true(asprintf(&want, "Action=Do&Version=2011-01-01&%s", cases[i].want) > 0);
                assert_string_equal(body, want);
                assert_int_equal(len, strlen(want));
        }
}

static void test_params_limits(void **state) {
        _cleanup_(query_params_freep) QueryParams *p =
                query_params_new("PutMetricData", "2010-08-01");
        _cleanup_free_ char *big = malloc(QUERY_MAX_VALUE + 2);

        assert_non_null(p);
        assert_non_null(big);
        assert_int_equal(query_params_addf(p, "Value", "%d.%d", 1, 5), 0);
        assert_int_equal(query_params_add(p, "", "x"), -EINVAL);
        assert_int_equal(query_params_add(p, "k", NULL), -EINVAL);
        memset(big, 'x', QUERY_MAX_VALUE + 1);
        big[QUERY_MAX_VALUE + 1] = 0;
        assert_int_equal(query_params_add(p, "k", big), -E2BIG);
        while (query_params_count(p) < QUERY_MAX_PARAMS)
                assert_int_equal(query_params_add(p, "k", "v"), 0);
        assert_int_equal(query_params_add(p, "k", "v"), -E2BIG);
        assert_int_equal(query_params_count(p), QUERY_MAX_PARAMS);
}

static const char *header_value(char **lines, const char *name) {
        size_t n = strlen(name);

        for (char **l = lines; l && *l; l++)
                if (strncasecmp(*l, name, n) == 0 && (*l)[n] == ':')
                        return *l + n + 2;
        return NULL;
}

static char *gunzip(const void *in, size_t len) {
        z_stream z = {};
        char *out = calloc(1, 65536);

        assert_non_null(out);
        assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
        z.next_in = (Bytef *) in;
        z.avail_in = (uInt) len;
        z.next_out = (Bytef *) out;
        z.avail_out = 65535;
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        inflateEnd(&z);
        return out;
}

static void test_build(void **state) {
        for (int gzip = 0; gzip <= 1; gzip++) {
                _cleanup_(query_params_freep) QueryParams *p =
                        query_params_new("DescribeAutoScalingGroups", "2011-01-01");
                _cleanup_(query_signed_freep) QuerySigned *q = NULL;
                _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
                _cleanup_free_ char *form = NULL, *plain = NULL;
                QueryTarget t = { "http://127.0.0.1:8080/base", "us-east-1", "autoscaling", gzip };
                SigV4Header h[3] = {
                        { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
                        { "Host", "127.0.0.1:8080" },
                        { "Content-Encoding", "gzip" },
                };

                assert_int_equal(query_params_add(p, "AutoScalingGroupNames.member.1", "web"), 0);
                assert_int_equal(query_params_encode(p, &form, NULL), 0);
                assert_int_equal(query_build(p, &t, &creds, T0, &q), 0);
                assert_string_equal(q->url, "http://127.0.0.1:8080/base");
                assert_string_equal(header_value(q->headers, "Host"), "127.0.0.1:8080");
                assert_string_equal(header_value(q->headers, "Content-Type"),
                                    "application/x-www-form-urlencoded; charset=utf-8");
                assert_string_equal(header_value(q->headers, "X-Amz-Date"), "20150830T123600Z");
                assert_string_equal(header_value(q->headers, "X-Amz-Security-Token"),
                                    "SESSIONTOKEN");
                assert_string_equal(header_value(q->headers, "Authorization"), q->authorization);
                if (gzip) {
                        assert_string_equal(header_value(q->headers, "Content-Encoding"), "gzip");
                        plain = gunzip(q->body, q->body_len);
                        assert_string_equal(plain, form);
                        assert_non_null(strstr(q->authorization,
                                               "SignedHeaders=content-encoding;content-type;host;"
                                               "x-amz-date;x-amz-security-token,"));
                } else {
                        assert_null(header_value(q->headers, "Content-Encoding"));
                        assert_int_equal(q->body_len, strlen(form));
                        assert_memory_equal(q->body, form, q->body_len);
                }
                /* The signature covers exactly the bytes sent (compressed when gzip). */
                assert_int_equal(sigv4_sign(&(SigV4Request){ .method = "POST",
                                                             .path = "/base",
                                                             .headers = h,
                                                             .n_headers = 2 + gzip,
                                                             .body = q->body,
                                                             .body_len = q->body_len },
                                            &creds, "us-east-1", "autoscaling", T0, 0, &s),
                                 0);
                assert_string_equal(sigv4_signed_authorization(s), q->authorization);
        }
}

static void test_build_bad_endpoints(void **state) {
        static const char *const bad[] = {
                NULL,
                "",
                "ftp://x",
                "https://",
                "https:///path",
                "https://user@host",
                "https://host?x=1",
                "https://host#f",
                "https://ho st",
                "autoscaling.amazonaws.com",
        };
        _cleanup_(query_params_freep) QueryParams *p = query_params_new("A", "1");

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                QuerySigned *q = NULL;
                QueryTarget t = { bad[i], "us-east-1", "ec2", false };
                assert_int_equal(query_build(p, &t, &creds, T0, &q), -EINVAL);
                assert_null(q);
        }
}

static void test_parse_error(void **state) {
        static const struct {
                const char *doc;
                int r;
                const char *type, *code, *message, *request_id;
        } cases[] = {
                { "<ErrorResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\">"
                  "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                  "</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
                  0, "Sender", "Throttling", "Rate exceeded", "r-1" },
                { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                  "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                  "</Error></Errors><RequestID>ec2-1</RequestID></Response>",
                  0, "", "RequestLimitExceeded", "Request limit exceeded.", "ec2-1" },
                /* moto and some AWS-compatible endpoints: Errors/Error under ErrorResponse */
                { "<ErrorResponse><Errors><Error><Type>Sender</Type><Code>ValidationError"
                  "</Code><Message>No active Lifecycle Action found</Message></Error></Errors>"
                  "<RequestId>m-1</RequestId></ErrorResponse>",
                  0, "Sender", "ValidationError", "No active Lifecycle Action found", "m-1" },
                { "<ErrorResponse><Error><Code>X</Code><Message>line1\nline2\tend&#13;</Message>"
                  "</Error></ErrorResponse>",
                  0, "", "X", "line1\\x0aline2\\x09end\\x0d", "" },
                { "<ErrorResponse><Error><Code>X</Code><Message>a\xe2\x80\xae"
                  "b\xc2\x9b[2J</Message>"
                  "</Error></ErrorResponse>",
                  0, "", "X", "a\\u{202e}b\\u{9b}[2J", "" },
                { "<ErrorResponse><Error><Message>no code</Message></Error></ErrorResponse>",
                  -ENOMSG },
                { "<DescribeAutoScalingGroupsResponse/>", -ENOMSG },
                { "<Response><Errors/></Response>", -ENOMSG },
                { "<ErrorResponse><Error><Code>X</Code>", -EBADMSG },
                { "<!DOCTYPE x [<!ENTITY a \"b\">]><ErrorResponse/>", -EBADMSG },
                { "Service Unavailable", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                QueryError e = {};
                assert_int_equal(query_parse_error(cases[i].doc, strlen(cases[i].doc), &e),
                                 cases[i].r);
                if (cases[i].r < 0) {
                        assert_null(e.code);
                        continue;
                }
                assert_string_equal(e.type, cases[i].type);
                assert_string_equal(e.code, cases[i].code);
                assert_string_equal(e.message, cases[i].message);
                assert_string_equal(e.request_id, cases[i].request_id);
                query_error_done(&e);
        }
}

static void test_error_detail(void **state) {
        static const struct {
                long status;
                const char *code, *message, *want;
        } cases[] = {
                { 0, "", "", "" }, /* no answer: the errno says it */
                { 400, "ValidationError", "No active Lifecycle Action found",
                  "HTTP 400: No active Lifecycle Action found" },
                { 400, "ValidationError", "", "HTTP 400" },
                { 500, "", "", "HTTP 500, not an AWS error document" },
                { 502, NULL, NULL, "HTTP 502, not an AWS error document" },
        };
        char buf[128];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                query_error_detail(cases[i].status, cases[i].code, cases[i].message, buf,
                                   sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        query_error_detail(500, "", "", buf, 8); /* cut, still terminated */
        assert_string_equal(buf, "HTTP 50");
}

static void test_parse_error_long_message(void **state) {
        char doc[8192];
        QueryError e = {};
        int n = snprintf(doc, sizeof(doc), "<ErrorResponse><Error><Code>C</Code><Message>");

        memset(doc + n, 'm', 4000);
        strcpy(doc + n + 4000, "</Message></Error></ErrorResponse>");
        assert_int_equal(query_parse_error(doc, strlen(doc), &e), 0);
        assert_int_equal(strlen(e.message), QUERY_ERROR_MAX_FIELD);
        query_error_done(&e);
}

static void test_parse_response(void **state) {
        static const char q[] = "<SetInstanceHealthResponse xmlns=\"x\"><ResponseMetadata>"
                                "<RequestId>rq</RequestId></ResponseMetadata>"
                                "</SetInstanceHealthResponse>";
        static const char ec2[] = "<TerminateInstancesResponse><requestId>e2</requestId>"
                                  "<instancesSet><item><instanceId>i-1</instanceId></item>"
                                  "</instancesSet></TerminateInstancesResponse>";
        XmlNode *root = NULL;

        assert_int_equal(query_parse_response(q, strlen(q), "SetInstanceHealth", &root), 0);
        assert_string_equal(query_response_request_id(root), "rq");
        root = xml_free(root);
        assert_int_equal(query_parse_response(ec2, strlen(ec2), "TerminateInstances", &root), 0);
        assert_string_equal(query_response_request_id(root), "e2");
        XML_FOREACH(item, xml_child(root, "instancesSet"), "item")
        assert_string_equal(xml_find_text(item, "instanceId"), "i-1");
        root = xml_free(root);
        assert_int_equal(query_parse_response(q, strlen(q), "SetInstance", &root), -EBADMSG);
        assert_int_equal(query_parse_response(q, strlen(q), "SetInstanceHealthX", &root), -EBADMSG);
        assert_int_equal(query_parse_response(q, 10, "SetInstanceHealth", &root), -EBADMSG);
        assert_int_equal(query_parse_response(q, strlen(q), "", &root), -EINVAL);
        assert_null(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_params_limits),
                cmocka_unit_test(test_build),
                cmocka_unit_test(test_build_bad_endpoints),
                cmocka_unit_test(test_parse_error),
                cmocka_unit_test(test_parse_error_long_message),
                cmocka_unit_test(test_error_detail),
                cmocka_unit_test(test_parse_response),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

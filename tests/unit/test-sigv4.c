/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/sigv4.h"

static const SigV4Credentials creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        NULL };
static const SigV4Header host_only[] = { { "Host", "example.amazonaws.com" } };
#define T0 1440938160 /* 20150830T123600Z */

/* Line |n| (0-based) of the canonical request. */
static char *creq_line(const SigV4Signed *s, int n) {
        const char *p = sigv4_signed_canonical_request(s);

        for (int i = 0; i < n && p; i++) {
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
        }
        assert_non_null(p);
        return strndup(p, strcspn(p, "\n"));
}

static void test_uri_encode(void **state) {
        static const struct {
                const char *in;
                bool keep_slash;
                const char *want;
        } cases[] = {
                { "", false, "" },
                { "AZaz09-._~", false, "AZaz09-._~" },
                { "a b", false, "a%20b" },
                { "/a/b", false, "%2Fa%2Fb" },
                { "/a/b", true, "/a/b" },
                { "+=&?#%", false, "%2B%3D%26%3F%23%25" },
                { "\xc3\xa4\xe1\x88\xb4", true, "%C3%A4%E1%88%B4" },
                { "\x01\x7f\xff", false, "%01%7F%FF" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                size_t len = 0;
                assert_int_equal(sigv4_uri_encode(cases[i].in, strlen(cases[i].in),
                                                  cases[i].keep_slash, &out, &len),
                                 0);
                assert_string_equal(out, cases[i].want);
                assert_int_equal(len, strlen(cases[i].want));
                assert_int_equal(sigv4_uri_encoded_len(cases[i].in, strlen(cases[i].in),
                                                       cases[i].keep_slash),
                                 len);
        }
}

static void test_derive_key(void **state) {
        /* The example from AWS's "Deriving the signing key" documentation. */
        uint8_t key[32];
        char hex[65];

        assert_int_equal(sigv4_derive_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                          "us-east-1", "iam", key),
                         0);
        for (size_t i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", key[i]);
        assert_string_equal(hex,
                            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
        assert_int_equal(sigv4_sha256_hex("", 0, hex), 0);
        assert_string_equal(hex,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_amz_date(void **state) {
        char buf[17];

        assert_int_equal(sigv4_format_amz_date(0, buf), 0);
        assert_string_equal(buf, "19700101T000000Z");
        assert_int_equal(sigv4_format_amz_date(T0, buf), 0);
        assert_string_equal(buf, "20150830T123600Z");
        assert_int_equal(sigv4_format_amz_date(951868799, buf), 0); /* leap year */
        assert_string_equal(buf, "20000229T235959Z");
}

static void test_paths(void **state) {
        static const struct {
                const char *service, *path, *want;
        } cases[] = {
                { "service", NULL, "/" },
                { "service", "", "/" },
                { "service", "//", "/" },
                { "service", "/a//b", "/a/b" },
                { "service", "/a/./b/../c", "/a/c" },
                { "service", "/../..", "/" },
                { "service", "/a/", "/a/" },
                { "service", "/a b/", "/a%20b/" },
                { "service", "/%20", "/%2520" }, /* already encoded: encoded again */
                { "service", "/$~+", "/%24~%2B" },
                { "service", "/\xc3\xa4", "/%C3%A4" },
                { "s3", "/a//b/../c", "/a//b/../c" },
                { "s3", "/a b", "/a%20b" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
                _cleanup_free_ char *line = NULL;
                assert_int_equal(sigv4_sign(&(SigV4Request){ .method = "GET",
                                                             .path = cases[i].path,
                                                             .headers = host_only,
                                                             .n_headers = 1 },
                                            &creds, "us-east-1", cases[i].service, T0, 0, &s),
                                 0);
                line = creq_line(s, 1);
                assert_string_equal(line, cases[i].want);
        }
}

static void test_queries(void **state) {
        static const SigV4Param p1[] = { { "b", "2" }, { "a", "1" }, { "a", "0" } };
        static const SigV4Param p2[] = { { "k y", "v+w" }, { "", "" }, { "\xe1\x88\xb4", "/" } };
        static const struct {
                const SigV4Param *params;
                size_t n;
                const char *raw, *want;
        } cases[] = {
                { p1, 3, "ignored=1", "a=0&a=1&b=2" },
                { p2, 3, NULL, "=&%E1%88%B4=%2F&k%20y=v%2Bw" },
                { NULL, 0, "b=%20x&a", "a=&b=%20x" },
                { NULL, 0, "x=a+b&&y=", "x=a%2Bb&y=" },
                { NULL, 0, "%zz=%4", "%25zz=%254" },
                { NULL, 0, "a=%2f%2F", "a=%2F%2F" },
                { NULL, 0, "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
                _cleanup_free_ char *line = NULL;
                assert_int_equal(sigv4_sign(&(SigV4Request){ .method = "GET",
                                                             .params = cases[i].params,
                                                             .n_params = cases[i].n,
                                                             .raw_query = cases[i].raw,
                                                             .headers = host_only,
                                                             .n_headers = 1 },
                                            &creds, "us-east-1", "service", T0, 0, &s),
                                 0);
                line = creq_line(s, 2);
                assert_string_equal(line, cases[i].want);
        }
}

static void test_headers(void **state) {
        static const SigV4Header h[] = {
                { "Host", "example.amazonaws.com" },
                { "My-Header", "  a \t b   c  " },
                { "my-header", "second" },
                { "User-Agent", "not signed" },
                { "Authorization", "stale" },
                { "X-Amz-Date", "stale" },
                { "X-Empty", "" },
        };
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
        const char *want = "GET\n/\n\nhost:example.amazonaws.com\nmy-header:a b c,second\n"
                           "x-amz-date:20150830T123600Z\nx-empty:\n\n"
                           "host;my-header;x-amz-date;x-empty\n"
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

        assert_int_equal(sigv4_sign(&(SigV4Request){ .method = "get",
                                                     .headers = h,
                                                     .n_headers = ELEMENTSOF(h) },
                                    &creds, "us-east-1", "service", T0, 0, &s),
                         0);
        assert_string_equal(sigv4_signed_canonical_request(s), want);
}

static void test_invalid(void **state) {
        static const SigV4Header bad_name[] = { { "Host", "h" }, { "Bad Name", "v" } };
        static const SigV4Header bad_value[] = { { "Host", "h" }, { "X", "a\r\nInjected: 1" } };
        static const SigV4Header nul_ctl[] = { { "Host", "h" }, { "X", "a\x01" } };
        static const SigV4Header no_host[] = { { "X", "y" } };
        static SigV4Header many[SIGV4_MAX_HEADERS + 1];
        static const struct {
                const char *method, *region, *service;
                const SigV4Header *h;
                size_t nh;
                int want;
        } cases[] = {
                { "GET", "us-east-1", "svc", bad_name, 2, -EINVAL },
                { "GET", "us-east-1", "svc", bad_value, 2, -EINVAL },
                { "GET", "us-east-1", "svc", nul_ctl, 2, -EINVAL },
                { "GET", "us-east-1", "svc", no_host, 1, -EINVAL },
                { "", "us-east-1", "svc", host_only, 1, -EINVAL },
                { "G T", "us-east-1", "svc", host_only, 1, -EINVAL },
                { "GET", "us/east", "svc", host_only, 1, -EINVAL },
                { "GET", "", "svc", host_only, 1, -EINVAL },
                { "GET", "us-east-1", "s c", host_only, 1, -EINVAL },
                { "GET", "us-east-1", "svc", many, ELEMENTSOF(many), -E2BIG },
        };

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = (SigV4Header){ "Host", "h" };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SigV4Signed *s = NULL;
                assert_int_equal(sigv4_sign(&(SigV4Request){ .method = cases[i].method,
                                                             .headers = cases[i].h,
                                                             .n_headers = cases[i].nh },
                                            &creds, cases[i].region, cases[i].service, T0, 0, &s),
                                 cases[i].want);
                assert_null(s);
        }
}

static void test_flags_and_headers(void **state) {
        SigV4Credentials c = creds;
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL, *u = NULL;
        const char *name, *value;

        c.session_token = "TOKEN";
        assert_int_equal(sigv4_sign(&(SigV4Request){ .method = "PUT",
                                                     .headers = host_only,
                                                     .n_headers = 1,
                                                     .body = "x",
                                                     .body_len = 1 },
                                    &c, "eu-west-1", "s3", T0, SIGV4_ADD_CONTENT_SHA256, &s),
                         0);
        assert_non_null(strstr(sigv4_signed_authorization(s),
                               "SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                               "x-amz-security-token, Signature="));
        assert_string_equal(sigv4_signed_payload_hash(s),
                            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
        static const char *const want_names[] = { "X-Amz-Date", "X-Amz-Security-Token",
                                                  "x-amz-content-sha256", "Authorization" };
        for (size_t i = 0; i < 4; i++) {
                assert_true(sigv4_signed_header(s, i, &name, &value));
                assert_string_equal(name, want_names[i]);
        }
        assert_false(sigv4_signed_header(s, 4, &name, &value));

        /* A token added after signing is sent but not signed. */
        assert_int_equal(
                sigv4_sign(&(SigV4Request){ .method = "GET", .headers = host_only, .n_headers = 1 },
                           &c, "us-east-1", "service", T0, SIGV4_UNSIGNED_SESSION_TOKEN, &u),
                0);
        assert_string_equal(sigv4_signed_signature(u),
                            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        assert_true(sigv4_signed_header(u, 1, &name, &value));
        assert_string_equal(name, "X-Amz-Security-Token");
        assert_string_equal(value, "TOKEN");
}

static void test_caller_payload_hash(void **state) {
        static const SigV4Header h[] = { { "Host", "h" },
                                         { "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD" } };
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;

        assert_int_equal(sigv4_sign(&(SigV4Request){ .method = "PUT",
                                                     .headers = h,
                                                     .n_headers = 2,
                                                     .body = "data",
                                                     .body_len = 4 },
                                    &creds, "us-east-1", "s3", T0, 0, &s),
                         0);
        assert_string_equal(sigv4_signed_payload_hash(s), "UNSIGNED-PAYLOAD");
        assert_non_null(strstr(sigv4_signed_canonical_request(s), "\nUNSIGNED-PAYLOAD"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uri_encode),
                cmocka_unit_test(test_derive_key),
                cmocka_unit_test(test_amz_date),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_queries),
                cmocka_unit_test(test_headers),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_flags_and_headers),
                cmocka_unit_test(test_caller_payload_hash),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

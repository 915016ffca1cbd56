/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/credentials.h"
#include "base/util.h"

static void test_refresh_at(void **state) {
        static const struct {
                time_t now, expiration;
                double unit;
                time_t want;
        } cases[] = {
                /* the normal case: 15 min ahead, spread over 5 min, so done by 10 min ahead */
                { 1000, 1000 + 6 * 3600, 0.0, 1000 + 6 * 3600 - 900 },
                { 1000, 1000 + 6 * 3600, 0.5, 1000 + 6 * 3600 - 750 },
                { 1000, 1000 + 6 * 3600, 0.999, 1000 + 6 * 3600 - 601 },
                { 0, 3600, 0.0, 2700 },
                { 0, 901, 0.0, 1 },
                { 0, 3600, 1.0, 2700 }, /* out-of-range unit: no jitter */
                { 0, 3600, -0.5, 2700 },
                /* expiring within the window: at half the remaining life */
                { 0, 900, 0.7, 450 },
                { 100, 700, 0.0, 400 },
                { 0, 8, 0.3, 4 },
                { 0, 1, 0.0, 1 },
                /* already expired: at once */
                { 50, 50, 0.5, 50 },
                { 50, 10, 0.5, 50 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                time_t got =
                        credentials_refresh_at(cases[i].now, cases[i].expiration, cases[i].unit);
                if (got != cases[i].want)
                        fail_msg("case %zu: got %lld, want %lld", i, (long long) got,
                                 (long long) cases[i].want);
        }
}

static void test_refresh_at_properties(void **state) {
        for (time_t left = -10; left < 8 * 3600; left += 7)
                for (double u = 0; u < 1; u += 0.125) {
                        time_t t = credentials_refresh_at(1000, 1000 + left, u);
                        assert_true(t >= 1000);
                        if (left > 0)
                                assert_true(t <= 1000 + left);
                        if (left > CREDENTIALS_REFRESH_AHEAD_SEC) {
                                assert_true(t >= 1000 + left - CREDENTIALS_REFRESH_AHEAD_SEC);
                                assert_true(t <= 1000 + left - 600); /* done by 10 min ahead */
                        }
                }
}

static void test_retry_delay(void **state) {
        static const struct {
                unsigned failures;
                time_t now, expiration;
                double unit;
                uint64_t want;
        } cases[] = {
                { 1, 0, 3600, 0.5, 1 }, /* 2 s * 0.5 */
                { 1, 0, 3600, 0.0, 1 }, /* never 0: no busy loop */
                { 3, 0, 3600, 0.5, 4 }, /* 8 s * 0.5 */
                { 4, 0, 3600, 0.99, 15 },
                { 20, 0, 3600, 0.5, 30 }, /* capped at 60 s */
                { 20, 0, 3600, 0.999, 59 },
                /* old credentials about to expire: try again before they do */
                { 20, 0, 20, 0.999, 10 },
                { 20, 0, 2, 0.999, 1 },
                /* none left: the cap alone */
                { 20, 100, 50, 0.5, 30 },
                { 0, 0, 3600, 0.5, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t got = credentials_retry_delay_sec(cases[i].failures, cases[i].now,
                                                           cases[i].expiration, cases[i].unit);
                if (got != cases[i].want)
                        fail_msg("case %zu: got %llu, want %llu", i, (unsigned long long) got,
                                 (unsigned long long) cases[i].want);
        }
}

static void test_iso8601(void **state) {
        static const struct {
                const char *s;
                int r;
                time_t want;
        } cases[] = {
                { "2026-11-23T17:07:53Z", 0, 1795453673 },
                { "2026-11-23T17:07:53.123Z", 0, 1795453673 },
                { "2026-11-23T17:07:53+00:00", 0, 1795453673 },
                { "1970-01-01T00:00:00Z", 0, 0 },
                { "2026-11-23T17:07:53", -EINVAL, 0 },
                { "2026-11-23T17:07:53+01:00", -EINVAL, 0 },
                { "2026-11-23T17:07:53.Z", -EINVAL, 0 },
                { "2026-11-23 17:07:53Z", -EINVAL, 0 },
                { "2026-13-23T17:07:53Z", -EINVAL, 0 },
                { "1969-12-31T23:59:59Z", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "2026-11-23T17:07:53Zjunk", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                time_t t = -1;
                int r = credentials_parse_iso8601(cases[i].s, &t);
                if (r != cases[i].r || (r == 0 && t != cases[i].want))
                        fail_msg("case %zu (%s): r=%d t=%lld", i, cases[i].s, r, (long long) t);
        }
        assert_int_equal(credentials_parse_iso8601(NULL, &(time_t){ 0 }), -EINVAL);
}

#define GOOD_DOC(extra)                                                                            \
        "{ \"Code\" : \"Success\", \"LastUpdated\" : \"2026-11-23T11:00:00Z\", "                   \
        "\"Type\" : \"AWS-HMAC\", \"AccessKeyId\" : \"ASIAEXAMPLEEXAMPLE01\", "                    \
        "\"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\", "                     \
        "\"Token\" : \"IQoJb3JpZ2luX2VjEXAMPLE+/=\", \"Expiration\" : "                            \
        "\"2026-11-23T17:07:53Z\"" extra " }"

static void test_parse_imds_good(void **state) {
        CredentialsKeys k = {};
        const char *field = "x";
        static const char doc[] = GOOD_DOC("");

        assert_int_equal(credentials_parse_imds(doc, strlen(doc), &k, &field), 0);
        assert_null(field);
        assert_string_equal(k.access_key_id, "ASIAEXAMPLEEXAMPLE01");
        assert_string_equal(k.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_string_equal(k.session_token, "IQoJb3JpZ2luX2VjEXAMPLE+/=");
        assert_int_equal(k.expiration, 1795453673);
        credentials_keys_done(&k);
        assert_null(k.access_key_id);
        assert_null(k.secret_access_key);
        assert_null(k.session_token);
        assert_int_equal(k.expiration, 0);
}

static void test_parse_imds_hostile(void **state) {
        static const struct {
                const char *doc;
                int r;
                const char *field;
        } cases[] = {
                { "", -EBADMSG, NULL },
                { "[]", -EBADMSG, NULL },
                { "{", -EBADMSG, NULL },
                { "null", -EBADMSG, NULL },
                { "{ \"Code\": \"Failure\", \"Message\": \"no role\" }", -EBADMSG, "Code" },
                { "{ \"Code\": 1 }", -EBADMSG, "Code" },
                { "{ \"AccessKeyId\": \"A\" }", -EBADMSG, "SecretAccessKey" },
                { "{ \"SecretAccessKey\": \"s\", \"Token\": \"t\", \"Expiration\": "
                  "\"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, "AccessKeyId" },
                { "{ \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"Expiration\": "
                  "\"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, "Token" },
                { "{ \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"Token\": \"t\" }",
                  -EBADMSG, "Expiration" },
                { "{ \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", "
                  "\"Expiration\": \"tomorrow\" }",
                  -EBADMSG, "Expiration" },
                { "{ \"AccessKeyId\": 5, \"SecretAccessKey\": \"s\", \"Token\": \"t\", "
                  "\"Expiration\": \"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, "AccessKeyId" },
                { "{ \"AccessKeyId\": \"A\\nB\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", "
                  "\"Expiration\": \"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, "AccessKeyId" },
                { "{ \"AccessKeyId\": \"A\\u0000B\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", "
                  "\"Expiration\": \"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, NULL /* jansson refuses NUL */ },
                { "{ \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s p\", \"Token\": \"t\", "
                  "\"Expiration\": \"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, "SecretAccessKey" },
                { "{ \"AccessKeyId\": \"\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", "
                  "\"Expiration\": \"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, "AccessKeyId" },
                { "{ \"AccessKeyId\": \"A\", \"AccessKeyId\": \"B\", \"SecretAccessKey\": \"s\", "
                  "\"Token\": \"t\", \"Expiration\": \"2026-11-23T17:07:53Z\" }",
                  -EBADMSG, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CredentialsKeys k = {};
                const char *field = NULL;
                int r = credentials_parse_imds(cases[i].doc, strlen(cases[i].doc), &k, &field);

                if (r != cases[i].r)
                        fail_msg("case %zu: r=%d", i, r);
                if (cases[i].field && (!field || !streq(field, cases[i].field)))
                        fail_msg("case %zu: field %s", i, field ?: "(null)");
                assert_null(k.access_key_id);
        }
}

static void test_parse_imds_caps(void **state) {
        _cleanup_free_ char *big = malloc(IMDS_MAX_RESPONSE + 2), *doc = NULL;
        CredentialsKeys k = {};
        const char *field = NULL;

        assert_non_null(big);
        memset(big, ' ', IMDS_MAX_RESPONSE + 1);
        big[IMDS_MAX_RESPONSE + 1] = 0;
        assert_int_equal(credentials_parse_imds(big, IMDS_MAX_RESPONSE + 1, &k, NULL), -EFBIG);

        /* a token one byte over its cap */
        memset(big, 'T', CREDENTIALS_MAX_TOKEN + 1);
        big[CREDENTIALS_MAX_TOKEN + 1] = 0;
        assert_true(asprintf(&doc,
                             "{ \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", "
                             "\"Token\": \"%s\", \"Expiration\": \"2026-11-23T17:07:53Z\" }",
                             big) > 0);
        assert_int_equal(credentials_parse_imds(doc, strlen(doc), &k, &field), -EBADMSG);
        assert_string_equal(field, "Token");
        free(doc);
        big[CREDENTIALS_MAX_TOKEN] = 0;
        assert_true(asprintf(&doc,
                             "{ \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", "
                             "\"Token\": \"%s\", \"Expiration\": \"2026-11-23T17:07:53Z\" }",
                             big) > 0);
        assert_int_equal(credentials_parse_imds(doc, strlen(doc), &k, &field), 0);
        credentials_keys_done(&k);
}

static void test_parse_role(void **state) {
        static const struct {
                const char *body;
                int r;
                const char *want;
        } cases[] = {
                { "drover-role\n", 0, "drover-role" },
                { "drover-role", 0, "drover-role" },
                { "a+b=c,d.e@f_g-h\r\nsecond\n", 0, "a+b=c,d.e@f_g-h" },
                { "", -EBADMSG, NULL },
                { "\n", -EBADMSG, NULL },
                { "bad role", -EBADMSG, NULL },
                { "../../etc", -EBADMSG, NULL },
                { "a/b", -EBADMSG, NULL },
                { "0123456789012345678901234567890123456789012345678901234567890123", 0,
                  "0123456789012345678901234567890123456789012345678901234567890123" },
                { "01234567890123456789012345678901234567890123456789012345678901234", -EBADMSG,
                  NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *role = NULL;
                int r = credentials_parse_role(cases[i].body, strlen(cases[i].body), &role);
                if (r != cases[i].r)
                        fail_msg("case %zu: r=%d", i, r);
                if (r == 0)
                        assert_string_equal(role, cases[i].want);
        }
}

static const char *fake_env[][2] = { { NULL, NULL }, { NULL, NULL }, { NULL, NULL } };

static char *fake_getenv(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fake_env); i++)
                if (fake_env[i][0] && streq(fake_env[i][0], name))
                        return (char *) fake_env[i][1];
        return NULL;
}

static void set_env(const char *id, const char *secret, const char *token) {
        fake_env[0][0] = "AWS_ACCESS_KEY_ID";
        fake_env[0][1] = id;
        fake_env[1][0] = "AWS_SECRET_ACCESS_KEY";
        fake_env[1][1] = secret;
        fake_env[2][0] = "AWS_SESSION_TOKEN";
        fake_env[2][1] = token;
}

static void never(int error, const char *message, void *userdata) {
        fail_msg("callback called");
}

static void test_environment(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Credentials *c = NULL;
        const SigV4Credentials *k;

        assert_int_equal(sd_event_new(&e), 0);

        set_env("AKIAENV", "envsecret", "envtoken");
        assert_int_equal(credentials_new(e, NULL, fake_getenv, &c), 0);
        assert_string_equal(credentials_source(c), "environment");
        k = credentials_current(c, time(NULL) + 10 * 365 * 86400); /* they do not expire */
        assert_non_null(k);
        assert_string_equal(k->access_key_id, "AKIAENV");
        assert_string_equal(k->secret_access_key, "envsecret");
        assert_string_equal(k->session_token, "envtoken");
        assert_int_equal(credentials_expiration(c), 0);
        credentials_invalidate(c); /* the environment's are not forgotten */
        assert_non_null(credentials_current(c, 0));
        c = credentials_free(c);

        set_env("AKIAENV", "envsecret", "");
        assert_int_equal(credentials_new(e, NULL, fake_getenv, &c), 0);
        assert_null(credentials_current(c, 0)->session_token);
        c = credentials_free(c);

        /* half a pair is no pair; without IMDS there is nothing to wait for */
        set_env("AKIAENV", NULL, NULL);
        assert_int_equal(credentials_new(e, NULL, fake_getenv, &c), 0);
        assert_string_equal(credentials_source(c), "none");
        assert_null(credentials_current(c, 0));
        assert_int_equal(credentials_wait(c, never, NULL, NULL), -ENOKEY);
        c = credentials_free(c);
        assert_null(credentials_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_refresh_at),
                cmocka_unit_test(test_refresh_at_properties),
                cmocka_unit_test(test_retry_delay),
                cmocka_unit_test(test_iso8601),
                cmocka_unit_test(test_parse_imds_good),
                cmocka_unit_test(test_parse_imds_hostile),
                cmocka_unit_test(test_parse_imds_caps),
                cmocka_unit_test(test_parse_role),
                cmocka_unit_test(test_environment),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * imds: the pure parts (path rules, token timing, parsers with hostile input) and the
 * client's token/retry behaviour against a scripted IMDS on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "config/config.h"
#include "imds/http.h"
#include "imds/imds.h"
#include "loopback-server.h"
#include "base/util.h"

static void test_normalize_path(void **state) {
        static const struct {
                const char *in, *want; /* want NULL: -EINVAL */
        } cases[] = {
                { "meta-data/instance-id", "/latest/meta-data/instance-id" },
                { "/latest/meta-data/instance-id", "/latest/meta-data/instance-id" },
                { "latest/meta-data/", "/latest/meta-data/" },
                { "//latest/dynamic/instance-identity/document",
                  "/latest/dynamic/instance-identity/document" },
                { "latest", "/latest/" },
                { "", "/latest/" },
                { "meta-data/tags/instance/Name", "/latest/meta-data/tags/instance/Name" },
                { "meta-data/../api/token", NULL },
                { "meta-data/..", NULL },
                { "meta-data/./x", NULL },
                { "meta-data//x", NULL },
                { "meta-data/x?y=1", NULL },
                { "meta-data/x#y", NULL },
                { "meta-data/%2e%2e", NULL },
                { "meta-data/a b", NULL },
                { "meta-data/a\r\nHost: evil", NULL },
                { "meta-data/\xc3\xa9", NULL },
        };
        char buf[IMDS_MAX_PATH], big[2 * IMDS_MAX_PATH];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = imds_normalize_path(cases[i].in, buf, sizeof(buf));
                if (!cases[i].want)
                        assert_int_equal(r, -EINVAL);
                else {
                        assert_int_equal(r, 0);
                        assert_string_equal(buf, cases[i].want);
                }
        }
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_int_equal(imds_normalize_path(big, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(imds_normalize_path(NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_token_timing(void **state) {
        static const struct {
                unsigned ttl;
                uint64_t refresh_after_msec;
        } cases[] = {
                { 21600, 18360000 }, /* 85% */
                { 400, 340000 },     /* 85% = the last minute */
                { 120, 60000 },      /* a minute before expiry */
                { 100, 50000 },      /* half the TTL */
                { 2, 1000 },         { 1, 500 },
        };
        const uint64_t t0 = 1000 * USEC_PER_SEC;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t after = imds_token_refresh_after_usec(cases[i].ttl);
                assert_int_equal(after, cases[i].refresh_after_msec * USEC_PER_MSEC);
                assert_true(imds_token_fresh(t0, cases[i].ttl, t0));
                assert_true(imds_token_fresh(t0, cases[i].ttl, t0 + after - 1));
                assert_false(imds_token_fresh(t0, cases[i].ttl, t0 + after));
                assert_false(imds_token_fresh(t0, cases[i].ttl, t0 + cases[i].ttl * USEC_PER_SEC));
        }
        assert_false(imds_token_fresh(t0, 21600, t0 - 1)); /* a clock that went back */
}

#define DOC(id, region, az, type, ami, account)                                                    \
        "{\"accountId\":\"" account "\",\"architecture\":\"x86_64\",\"availabilityZone\":\"" az    \
        "\",\"billingProducts\":null,\"imageId\":\"" ami "\",\"instanceId\":\"" id                 \
        "\",\"instanceType\":\"" type "\",\"pendingTime\":\"2026-11-23T10:00:00Z\","               \
        "\"privateIp\":\"10.0.0.5\",\"region\":\"" region "\",\"version\":\"2017-09-30\"}"
#define GOOD(...)                                                                                  \
        DOC("i-0123456789abcdef0", "us-east-1", "us-east-1a", "t3.micro", "ami-0abcdef1234567890", \
            "123456789012")

static void test_identity_good(void **state) {
        static const char *docs[] = {
                GOOD(),
                DOC("i-01234567", "eu-west-2", "eu-west-2c", "m5.metal", "ami-01234567",
                    "000000000000"),
                DOC("i-0123456789abcdef0", "us-west-2", "us-west-2-lax-1a", "u-6tb1.112xlarge",
                    "ami-0abcdef1234567890", "123456789012"),
        };
        ImdsIdentity id;

        for (size_t i = 0; i < ELEMENTSOF(docs); i++)
                assert_int_equal(imds_parse_identity(docs[i], strlen(docs[i]), &id, NULL), 0);
        assert_int_equal(imds_parse_identity(docs[0], strlen(docs[0]), &id, NULL), 0);
        assert_string_equal(id.instance_id, "i-0123456789abcdef0");
        assert_string_equal(id.region, "us-east-1");
        assert_string_equal(id.availability_zone, "us-east-1a");
        assert_string_equal(id.instance_type, "t3.micro");
        assert_string_equal(id.image_id, "ami-0abcdef1234567890");
        assert_string_equal(id.account_id, "123456789012");
}

static void test_identity_bad(void **state) {
        static const struct {
                const char *doc;
                const char *field;
        } cases[] = {
                { "", "(document)" },
                { "not json", "(document)" },
                { "[]", "(document)" },
                { "\"i-0123456789abcdef0\"", "(document)" },
                { "{\"instanceId\":\"i-0123456789abcdef0\"", "(document)" },
                { "{}", "instanceId" },
                { "{\"instanceId\":42}", "instanceId" },
                { DOC("i-0123456789ABCDEF0", "us-east-1", "us-east-1a", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "instanceId" },
                { DOC("i-0123456", "us-east-1", "us-east-1a", "t3.micro", "ami-0abcdef1234567890",
                      "123456789012"),
                  "instanceId" },
                { DOC("i-0123456789abcdef012", "us-east-1", "us-east-1a", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "instanceId" },
                { DOC("i-0123456789abcdef0\\u0000x", "us-east-1", "us-east-1a", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "(document)" }, /* jansson refuses NUL */
                { DOC("i-0123456789abcdef0", "us-east-1/../x", "us-east-1a", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "region" },
                { DOC("i-0123456789abcdef0", "evil.example.com", "evil.example.coma", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "region" },
                { DOC("i-0123456789abcdef0", "", "a", "t3.micro", "ami-0abcdef1234567890",
                      "123456789012"),
                  "region" },
                { DOC("i-0123456789abcdef0", "us-east-1", "eu-west-1a", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "availabilityZone" },
                { DOC("i-0123456789abcdef0", "us-east-1", "us-east-1", "t3.micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "availabilityZone" },
                { DOC("i-0123456789abcdef0", "us-east-1", "us-east-1a", "t3micro",
                      "ami-0abcdef1234567890", "123456789012"),
                  "instanceType" },
                { DOC("i-0123456789abcdef0", "us-east-1", "us-east-1a", "t3.micro.x",
                      "ami-0abcdef1234567890", "123456789012"),
                  "instanceType" },
                { DOC("i-0123456789abcdef0", "us-east-1", "us-east-1a", "t3.micro",
                      "i-0abcdef1234567890", "123456789012"),
                  "imageId" },
                { DOC("i-0123456789abcdef0", "us-east-1", "us-east-1a", "t3.micro",
                      "ami-0abcdef1234567890", "12345678901"),
                  "accountId" },
                { DOC("i-0123456789abcdef0", "us-east-1", "us-east-1a", "t3.micro",
                      "ami-0abcdef1234567890", "12345678901x"),
                  "accountId" },
                /* Duplicate keys: which one would win is not ours to guess. */
                { "{\"instanceId\":\"i-0123456789abcdef0\",\"instanceId\":\"i-0123456789abcdef1\"}",
                  "(document)" },
        };
        ImdsIdentity id;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *field = NULL;
                assert_int_equal(
                        imds_parse_identity(cases[i].doc, strlen(cases[i].doc), &id, &field),
                        -EBADMSG);
                assert_non_null(field);
                if (!streq(field, cases[i].field))
                        fail_msg("case %zu: %s, want %s", i, field, cases[i].field);
        }
}

static void test_identity_hostile_sizes(void **state) {
        _cleanup_free_ char *big = malloc(IMDS_IDENTITY_MAX + 2), *deep = NULL;
        const char *good = GOOD();
        ImdsIdentity id;
        size_t n = 5000;

        assert_non_null(big);
        memset(big, ' ', IMDS_IDENTITY_MAX + 1);
        memcpy(big, good, strlen(good));
        assert_int_equal(imds_parse_identity(big, IMDS_IDENTITY_MAX + 1, &id, NULL), -EFBIG);
        assert_int_equal(imds_parse_identity(big, IMDS_IDENTITY_MAX, &id, NULL), 0);
        /* Deep nesting must not blow the stack. */
        deep = malloc(2 * n + 1);
        assert_non_null(deep);
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        assert_int_equal(imds_parse_identity(deep, 2 * n, &id, NULL), -EBADMSG);
        /* A length shorter than the text: only len bytes count. */
        assert_int_equal(imds_parse_identity(good, strlen(good) - 1, &id, NULL), -EBADMSG);
}

static void test_life_cycle(void **state) {
        static const struct {
                const char *in;
                int r;
                ImdsLifeCycle want;
        } cases[] = {
                { "on-demand", 0, IMDS_LIFE_CYCLE_ON_DEMAND },
                { "spot", 0, IMDS_LIFE_CYCLE_SPOT },
                { "spot\n", 0, IMDS_LIFE_CYCLE_SPOT },
                { "scheduled", 0, IMDS_LIFE_CYCLE_SCHEDULED },
                { "Spot", -EBADMSG, 0 },
                { "", -EBADMSG, 0 },
                { "spotty", -EBADMSG, 0 },
                { "sp", -EBADMSG, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ImdsLifeCycle l = _IMDS_LIFE_CYCLE_MAX;
                assert_int_equal(imds_parse_life_cycle(cases[i].in, strlen(cases[i].in), &l),
                                 cases[i].r);
                if (cases[i].r == 0)
                        assert_int_equal(l, cases[i].want);
        }
        assert_string_equal(imds_life_cycle_to_string(IMDS_LIFE_CYCLE_SPOT), "spot");
        assert_null(imds_life_cycle_to_string(_IMDS_LIFE_CYCLE_MAX));
}

static void test_tag_keys(void **state) {
        static const struct {
                const char *in;
                int r;
                size_t n;
        } cases[] = {
                { "Name\naws:autoscaling:groupName\ndrover:paused", 0, 3 },
                { "Name\n", 0, 1 },
                { "Name\r\nEnv\r\n", 0, 2 },
                { "", 0, 0 },
                { "a+b-c=d.e,f_g:h@i", 0, 1 },
                { "Name\n\nEnv", -EBADMSG, 0 },
                { "has space", -EBADMSG, 0 },
                { "has/slash", -EBADMSG, 0 },
                { "_index", -EBADMSG, 0 },
                { "..", -EBADMSG, 0 },
                { "caf\xc3\xa9", -EBADMSG, 0 },
        };
        char many[IMDS_MAX_TAGS * 8 + 16] = "";

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **keys = NULL;
                assert_int_equal(imds_parse_tag_keys(cases[i].in, strlen(cases[i].in), &keys),
                                 cases[i].r);
                if (cases[i].r == 0)
                        assert_int_equal(strv_length(keys), cases[i].n);
        }
        {
                _cleanup_strv_free_ char **keys = NULL;
                assert_int_equal(imds_parse_tag_keys("A\0B", 3, &keys), -EBADMSG);
                assert_int_equal(imds_parse_tag_keys(cases[0].in, strlen(cases[0].in), &keys), 0);
                assert_string_equal(keys[1], "aws:autoscaling:groupName");
        }
        for (unsigned i = 0; i <= IMDS_MAX_TAGS; i++)
                snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%u\n", i);
        assert_int_equal(imds_parse_tag_keys(many, strlen(many), &(char **){ NULL }), -E2BIG);
}

static void test_tag_value(void **state) {
        char long_value[300];

        assert_true(imds_tag_value_valid("web-1", 5));
        assert_true(imds_tag_value_valid("", 0));
        assert_true(imds_tag_value_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x84", 14));
        assert_false(imds_tag_value_valid("a\nb", 3));
        assert_false(imds_tag_value_valid("a\0b", 3));
        assert_false(imds_tag_value_valid("\xc0\xaf", 2));     /* overlong '/' */
        assert_false(imds_tag_value_valid("\xed\xa0\x80", 3)); /* surrogate */
        assert_false(imds_tag_value_valid("\xc3", 1));         /* truncated */
        assert_false(imds_tag_value_valid("\xff", 1));
        memset(long_value, 'x', sizeof(long_value));
        assert_true(imds_tag_value_valid(long_value, 256));
        assert_false(imds_tag_value_valid(long_value, 257));
}

/* ---- the client against a scripted IMDS ---- */

typedef struct Script {
        unsigned puts, gets, gets_with_token, gets_without_token;
        int put_status;     /* 0 = 200 with a token */
        unsigned fail_gets; /* this many GETs answer get_status first */
        int get_status;
        bool always_401;
        unsigned grant_ttl; /* 0 = what was asked for */
        unsigned tokens_issued;
        char answer[512];
} Script;

static const char *script_respond(Server *srv, const char *req) {
        Script *s = srv->userdata;
        char token[32];

        if (strneq(req, "PUT /latest/api/token ", 22)) {
                s->puts++;
                assert_non_null(
                        strcasestr(req, "\r\nX-aws-ec2-metadata-token-ttl-seconds: 300\r\n"));
                if (s->put_status) {
                        snprintf(s->answer, sizeof(s->answer),
                                 "HTTP/1.1 %d Nope\r\nContent-Length: 0\r\n\r\n", s->put_status);
                        return s->answer;
                }
                snprintf(token, sizeof(token), "token-%u", ++s->tokens_issued);
                snprintf(s->answer, sizeof(s->answer),
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                         "X-aws-ec2-metadata-token-ttl-seconds: %u\r\n\r\n%s",
                         strlen(token), s->grant_ttl ? s->grant_ttl : 300, token);
                return s->answer;
        }
        assert_true(strneq(req, "GET /latest/meta-data/instance-id ", 34));
        s->gets++;
        if (strcasestr(req, "\r\nX-aws-ec2-metadata-token: token-"))
                s->gets_with_token++;
        else
                s->gets_without_token++;
        if (s->always_401 || (s->fail_gets > 0 && s->fail_gets--)) {
                snprintf(s->answer, sizeof(s->answer),
                         "HTTP/1.1 %d Failed\r\nContent-Length: 0\r\n\r\n",
                         s->always_401 ? 401 : s->get_status);
                return s->answer;
        }
        return "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\ni-0123456789abcdef0";
}

typedef struct Client {
        sd_event *event;
        Http *http;
        Server srv;
        Script script;
        char endpoint[64];
} Client;

static int client_setup(void **state) {
        Client *c = calloc(1, sizeof(*c));

        assert_int_equal(sd_event_new(&c->event), 0);
        assert_int_equal(http_new(c->event, &c->http), 0);
        c->srv.respond = script_respond;
        c->srv.userdata = &c->script;
        server_start(c->event, &c->srv);
        snprintf(c->endpoint, sizeof(c->endpoint), "http://127.0.0.1:%u/", c->srv.port);
        *state = c;
        return 0;
}

static int client_teardown(void **state) {
        Client *c = *state;

        http_free(c->http);
        server_stop(&c->srv);
        sd_event_unref(c->event);
        free(c);
        return 0;
}

typedef struct Got {
        bool done;
        int error;
        char body[64];
        char step[64];
        long status;
        unsigned attempts;
} Got;

static void on_got(Imds *m, const ImdsResult *res, void *userdata) {
        Got *g = userdata;

        g->done = true;
        g->error = res->error;
        g->status = res->status;
        g->attempts = res->attempts;
        snprintf(g->body, sizeof(g->body), "%s", res->body);
        snprintf(g->step, sizeof(g->step), "%s", res->step);
}

static Imds *client_imds(Client *c, unsigned retries, bool allow_v1) {
        ImdsConfig cfg = { .endpoint = c->endpoint,
                           .token_ttl = 300,
                           .timeout_ms = 2000,
                           .retries = retries,
                           .allow_v1 = allow_v1 };
        Imds *m = NULL;

        assert_int_equal(imds_new(c->http, &cfg, &m), 0);
        /* The trailing slash goes: paths start with one. */
        assert_true(strneq(imds_endpoint(m), c->endpoint, strlen(imds_endpoint(m))));
        assert_int_not_equal(imds_endpoint(m)[strlen(imds_endpoint(m)) - 1], '/');
        return m;
}

static Got get_one(Client *c, Imds *m) {
        Got g = {};

        assert_int_equal(imds_get(m, "meta-data/instance-id", on_got, &g, NULL), 0);
        assert_int_equal(http_run_until(c->http, &g.done), 0);
        return g;
}

static void test_client_shares_token(void **state) {
        Client *c = *state;
        Imds *m;
        Got a = {}, b = {}, d;

        c->endpoint[strlen(c->endpoint) - 1] = 0; /* no trailing slash this time */
        m = client_imds(c, 0, false);
        assert_int_equal(imds_get(m, "meta-data/instance-id", on_got, &a, NULL), 0);
        assert_int_equal(imds_get(m, "/latest/meta-data/instance-id", on_got, &b, NULL), 0);
        assert_int_equal(http_run_until(c->http, &a.done), 0);
        assert_int_equal(http_run_until(c->http, &b.done), 0);
        assert_int_equal(a.error, 0);
        assert_string_equal(a.body, "i-0123456789abcdef0");
        assert_string_equal(b.body, "i-0123456789abcdef0");
        d = get_one(c, m);
        assert_int_equal(d.error, 0);
        assert_int_equal(c->script.puts, 1); /* one token for all three */
        assert_int_equal(c->script.gets_with_token, 3);
        imds_free(m);
}

static void test_client_granted_ttl(void **state) {
        Client *c = *state;
        Imds *m = client_imds(c, 0, false);

        /* IMDS grants 2 s of the 300 asked for: the token is replaced after 1 s. */
        c->script.grant_ttl = 2;
        assert_int_equal(get_one(c, m).error, 0);
        assert_int_equal(get_one(c, m).error, 0);
        assert_int_equal(c->script.puts, 1);
        usleep(1100 * 1000);
        assert_int_equal(get_one(c, m).error, 0);
        assert_int_equal(c->script.puts, 2);
        assert_int_equal(c->script.gets, 3);
        imds_free(m);
}

static void test_client_retoken_once(void **state) {
        Client *c = *state;
        Imds *m = client_imds(c, 3, false);
        Got g;

        c->script.fail_gets = 1;
        c->script.get_status = 401;
        g = get_one(c, m);
        assert_int_equal(g.error, 0);
        assert_int_equal(c->script.puts, 2);
        c->script.always_401 = true;
        g = get_one(c, m);
        assert_int_equal(g.error, -EACCES);
        assert_int_equal(g.status, 401);
        assert_string_equal(g.step, "GET /latest/meta-data/instance-id");
        assert_int_equal(c->script.puts, 3); /* one more token, not a loop */
        imds_free(m);
}

static void test_client_v1(void **state) {
        Client *c = *state;
        Imds *m = client_imds(c, 3, false);
        Got g;

        c->script.put_status = 405;
        g = get_one(c, m);
        assert_int_equal(g.error, -EPROTONOSUPPORT);
        assert_string_equal(g.step, "token request");
        assert_int_equal(c->script.gets, 0);
        assert_int_equal(c->script.puts, 1); /* not retried */
        imds_free(m);
        m = client_imds(c, 3, true);
        g = get_one(c, m);
        assert_int_equal(g.error, 0);
        assert_int_equal(c->script.gets_without_token, 1);
        imds_free(m);
}

static void test_client_retries(void **state) {
        Client *c = *state;
        Imds *m = client_imds(c, 3, false);
        Got g;

        c->script.fail_gets = 2;
        c->script.get_status = 503;
        g = get_one(c, m);
        assert_int_equal(g.error, 0);
        assert_int_equal(g.attempts, 3);
        c->script.fail_gets = 10;
        c->script.get_status = 429;
        g = get_one(c, m);
        assert_int_equal(g.error, -EBUSY);
        assert_int_equal(g.attempts, 4); /* first + 3 retries */
        c->script.fail_gets = 1;
        c->script.get_status = 404;
        g = get_one(c, m);
        assert_int_equal(g.error, -ENOENT);
        assert_int_equal(g.attempts, 1);
        c->script.fail_gets = 0;
        c->script.put_status = 500;
        imds_free(m);
        m = client_imds(c, 1, false);
        g = get_one(c, m);
        assert_int_equal(g.error, -EREMOTEIO);
        assert_string_equal(g.step, "token request");
        imds_free(m);
}

static void test_client_cancel_and_bad_input(void **state) {
        Client *c = *state;
        Imds *m = client_imds(c, 3, false);
        ImdsConfig bad = { .endpoint = (char *) "file:///etc", .token_ttl = 300, .timeout_ms = 1 };
        ImdsCall *call;
        Got a = {}, b = {};

        assert_int_equal(imds_get(m, "meta-data/../x", on_got, &a, NULL), -EINVAL);
        assert_int_equal(imds_get(m, "meta-data/instance-id", on_got, &a, &call), 0);
        assert_int_equal(imds_get(m, "meta-data/instance-id", on_got, &b, NULL), 0);
        imds_call_cancel(call);
        assert_int_equal(http_run_until(c->http, &b.done), 0);
        assert_false(a.done);
        assert_int_equal(b.error, 0);
        /* Freeing with calls in flight drops them quietly. */
        assert_int_equal(imds_get(m, "meta-data/instance-id", on_got, &a, NULL), 0);
        imds_free(m);
        assert_int_equal(imds_new(c->http, &bad, &m), -EINVAL);
        bad.endpoint = c->endpoint;
        bad.token_ttl = 21601;
        assert_int_equal(imds_new(c->http, &bad, &m), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_normalize_path),
                cmocka_unit_test(test_token_timing),
                cmocka_unit_test(test_identity_good),
                cmocka_unit_test(test_identity_bad),
                cmocka_unit_test(test_identity_hostile_sizes),
                cmocka_unit_test(test_life_cycle),
                cmocka_unit_test(test_tag_keys),
                cmocka_unit_test(test_tag_value),
                cmocka_unit_test_setup_teardown(test_client_shares_token, client_setup,
                                                client_teardown),
                cmocka_unit_test_setup_teardown(test_client_granted_ttl, client_setup,
                                                client_teardown),
                cmocka_unit_test_setup_teardown(test_client_retoken_once, client_setup,
                                                client_teardown),
                cmocka_unit_test_setup_teardown(test_client_v1, client_setup, client_teardown),
                cmocka_unit_test_setup_teardown(test_client_retries, client_setup, client_teardown),
                cmocka_unit_test_setup_teardown(test_client_cancel_and_bad_input, client_setup,
                                                client_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * http.c: the pure retry decision and error mapping, and real transfers against a tiny
 * HTTP server on loopback that runs in the same sd-event loop as the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include <curl/curl.h>

#include "imds/http.h"
#include "loopback-server.h"
#include "base/util.h"

/* ---- pure parts ---- */

static void test_retryable(void **state) {
        static const struct {
                int error;
                long status;
                bool want;
        } cases[] = {
                { 0, 200, false },
                { 0, 404, false },
                { 0, 401, false },
                { 0, 429, true },
                { 0, 500, true },
                { 0, 503, true },
                { 0, 501, false },
                { 0, 505, false },
                { 0, 599, true },
                { -ETIMEDOUT, 0, true },
                { -ECONNREFUSED, 0, true },
                { -ECONNRESET, 0, true },
                { -EPIPE, 0, true },
                { -EBADMSG, 0, true },
                { -EFBIG, 0, false },
                { -EINVAL, 0, false },
                { -ENOMEM, 0, false },
                { -EKEYREJECTED, 0, false },
                { -EPROTONOSUPPORT, 0, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(http_is_retryable(cases[i].error, cases[i].status), cases[i].want);
}

static void test_retry_next(void **state) {
        HttpRetryPolicy p = { .retries = 3, .base_usec = 100000, .cap_usec = 1000000 };
        static const struct {
                unsigned attempts;
                int error;
                long status;
                double unit;
                bool want;
                uint64_t delay;
        } cases[] = {
                { 1, -ETIMEDOUT, 0, 0.5, true, 50000 },
                { 2, 0, 503, 0.5, true, 100000 },
                { 3, 0, 429, 0.5, true, 200000 },
                { 4, 0, 429, 0.5, false, 0 }, /* retries used up */
                { 1, 0, 404, 0.5, false, 0 }, /* not retryable */
                { 1, -EFBIG, 0, 0.5, false, 0 },
                { 0, -ETIMEDOUT, 0, 0.5, false, 0 },
                { 3, -ECONNRESET, 0, 0.999, true, 399600 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t d = 12345;
                bool r = http_retry_next(&p, cases[i].attempts, cases[i].error, cases[i].status,
                                         cases[i].unit, &d);
                assert_int_equal(r, cases[i].want);
                assert_int_equal(d, r ? cases[i].delay : 12345); /* written only on true */
        }
        p.retries = 0;
        assert_false(http_retry_next(&p, 1, -ETIMEDOUT, 0, 0.5, &(uint64_t){ 0 }));
        /* Never beyond the cap, whatever the attempt count. */
        p = (HttpRetryPolicy){ .retries = 100, .base_usec = 100000, .cap_usec = 1000000 };
        for (unsigned a = 1; a < 100; a++) {
                uint64_t d;
                assert_true(http_retry_next(&p, a, 0, 500, 0.99, &d));
                assert_true(d < 1000000);
        }
}

static void test_errno_from_curl(void **state) {
        assert_int_equal(http_errno_from_curl(CURLE_OK, 0), 0);
        assert_int_equal(http_errno_from_curl(CURLE_OPERATION_TIMEDOUT, 0), -ETIMEDOUT);
        assert_int_equal(http_errno_from_curl(CURLE_COULDNT_CONNECT, 0), -ECONNREFUSED);
        assert_int_equal(http_errno_from_curl(CURLE_COULDNT_CONNECT, ENETUNREACH), -ENETUNREACH);
        assert_int_equal(http_errno_from_curl(CURLE_GOT_NOTHING, 0), -ECONNRESET);
        assert_int_equal(http_errno_from_curl(CURLE_RECV_ERROR, 0), -ECONNRESET);
        assert_int_equal(http_errno_from_curl(CURLE_PARTIAL_FILE, 0), -EPIPE);
        assert_int_equal(http_errno_from_curl(CURLE_WEIRD_SERVER_REPLY, 0), -EBADMSG);
        assert_int_equal(http_errno_from_curl(CURLE_FILESIZE_EXCEEDED, 0), -EFBIG);
        assert_int_equal(http_errno_from_curl(CURLE_UNSUPPORTED_PROTOCOL, 0), -EPROTONOSUPPORT);
        assert_int_equal(http_errno_from_curl(CURLE_PEER_FAILED_VERIFICATION, 0), -EKEYREJECTED);
        assert_int_equal(http_errno_from_curl(CURLE_LDAP_CANNOT_BIND, 0), -EIO);
}

static void test_response_header(void **state) {
        char *h[] = { "Content-Type: text/plain", "date:   Mon, 23 Nov 2026 10:00:00 GMT",
                      "X-Empty:", NULL };
        HttpResponse r = { .headers = h };

        assert_string_equal(http_response_header(&r, "Date"), "Mon, 23 Nov 2026 10:00:00 GMT");
        assert_string_equal(http_response_header(&r, "content-type"), "text/plain");
        assert_string_equal(http_response_header(&r, "X-Empty"), "");
        assert_null(http_response_header(&r, "Content"));
        assert_null(http_response_header(&r, "Missing"));
}

/* ---- real transfers ---- */

typedef struct Fixture {
        sd_event *event;
        Http *http;
        Server srv;
        char url[64];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_new(f->event, &f->http), 0);
        server_start(f->event, &f->srv);
        snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/path", f->srv.port);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        http_free(f->http);
        server_stop(&f->srv);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

typedef struct Result {
        bool done;
        int error;
        long status;
        char body[256];
        size_t body_len;
        time_t date;
        char ttl[32];
} Result;

static void on_done(HttpCall *call, const HttpResponse *r, void *userdata) {
        Result *res = userdata;
        const char *ttl = http_response_header(r, "X-Ttl");

        res->done = true;
        res->error = r->error;
        res->status = r->status;
        res->body_len = r->body_len;
        res->date = r->date;
        snprintf(res->body, sizeof(res->body), "%s", r->body);
        snprintf(res->ttl, sizeof(res->ttl), "%s", ttl ? ttl : "(none)");
}

static Result fetch(Fixture *f, const HttpRequest *req) {
        Result res = {};

        assert_int_equal(http_request(f->http, req, on_done, &res, NULL), 0);
        assert_int_equal(http_pending(f->http), 1);
        assert_int_equal(http_run_until(f->http, &res.done), 0);
        assert_int_equal(http_pending(f->http), 0);
        return res;
}

static void test_get_and_reuse(void **state) {
        Fixture *f = *state;
        char *headers[] = { "X-aws-ec2-metadata-token: abc", NULL };
        HttpRequest req = {
                .url = f->url, .headers = headers, .timeout_ms = 5000, .no_proxy = true
        };
        Result r;

        f->srv.response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Ttl: 60\r\n"
                          "Date: Mon, 23 Nov 2026 10:00:00 GMT\r\n\r\nhello";
        setenv("http_proxy", "http://127.0.0.1:1", 1); /* would fail if it were used */
        r = fetch(f, &req);
        unsetenv("http_proxy");
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello");
        assert_int_equal(r.body_len, 5);
        assert_string_equal(r.ttl, "60");
        assert_int_equal(r.date, 1795428000);
        assert_true(strneq(f->srv.request, "GET /path HTTP/1.1\r\n", 20));
        assert_non_null(strstr(f->srv.request, "\r\nX-aws-ec2-metadata-token: abc\r\n"));
        /* curl's "call me in 0 ms" must not wait for sd-event's default 250 ms slack
         * (which would make these take a second or more). */
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        for (int i = 0; i < 5; i++) {
                r = fetch(f, &req);
                assert_int_equal(r.status, 200);
        }
        assert_true(now_usec(CLOCK_MONOTONIC) - t0 < 500 * USEC_PER_MSEC);
        assert_int_equal(f->srv.requests, 6);
        assert_int_equal(f->srv.accepts, 1); /* the connection was reused */
}

static void test_put_with_body(void **state) {
        Fixture *f = *state;
        HttpRequest req = { .method = "PUT", .url = f->url, .body = "a=1&b=2", .body_len = 7 };
        Result r;

        f->srv.response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        r = fetch(f, &req);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 404);
        assert_int_equal(r.date, -1);
        assert_true(strneq(f->srv.request, "PUT /path HTTP/1.1\r\n", 20));
        assert_non_null(strstr(f->srv.request, "\r\n\r\na=1&b=2"));
        assert_null(strstr(f->srv.request, "Expect:"));
}

static void test_response_cap(void **state) {
        Fixture *f = *state;
        HttpRequest req = { .url = f->url, .max_response = 4 };
        Result r;

        f->srv.response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        r = fetch(f, &req);
        assert_int_equal(r.error, -EFBIG);
        /* Without a length, the cap is enforced while reading. */
        f->srv.response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
        r = fetch(f, &req);
        assert_int_equal(r.error, -EFBIG);
        req.max_response = 6;
        r = fetch(f, &req);
        assert_int_equal(r.error, 0);
        assert_string_equal(r.body, "abcdef");
}

static void test_timeout(void **state) {
        Fixture *f = *state;
        HttpRequest req = { .url = f->url, .timeout_ms = 200 };
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        Result r;

        f->srv.response = NULL;
        r = fetch(f, &req);
        assert_int_equal(r.error, -ETIMEDOUT);
        assert_int_equal(r.status, 0);
        assert_true(now_usec(CLOCK_MONOTONIC) - t0 < 3 * USEC_PER_SEC);
}

static void test_refused_and_bad_requests(void **state) {
        Fixture *f = *state;
        int fd;
        uint16_t port = listen_loopback(&fd);
        char url[64];
        HttpRequest req = { .url = url, .timeout_ms = 2000 };
        Result r;

        safe_close(fd); /* nobody listens there any more */
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
        r = fetch(f, &req);
        assert_int_equal(r.error, -ECONNREFUSED);
        req.url = "file:///etc/passwd";
        r = fetch(f, &req);
        assert_int_equal(r.error, -EPROTONOSUPPORT);
        req.url = "";
        assert_int_equal(http_request(f->http, &req, on_done, &r, NULL), -EINVAL);
        req.url = f->url;
        req.method = "get me";
        assert_int_equal(http_request(f->http, &req, on_done, &r, NULL), -EINVAL);
}

static void test_cancel(void **state) {
        Fixture *f = *state;
        HttpRequest req = { .url = f->url, .timeout_ms = 5000 };
        Result a = {}, b = {};
        HttpCall *ca;

        f->srv.response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert_int_equal(http_request(f->http, &req, on_done, &a, &ca), 0);
        assert_int_equal(http_request(f->http, &req, on_done, &b, NULL), 0);
        assert_int_equal(http_pending(f->http), 2);
        http_call_cancel(ca);
        assert_int_equal(http_pending(f->http), 1);
        assert_int_equal(http_run_until(f->http, &b.done), 0);
        assert_false(a.done);
        assert_string_equal(b.body, "ok");
        /* Pending calls are dropped quietly with the Http. */
        assert_int_equal(http_request(f->http, &req, on_done, &a, NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_retryable),
                cmocka_unit_test(test_retry_next),
                cmocka_unit_test(test_errno_from_curl),
                cmocka_unit_test(test_response_header),
                cmocka_unit_test_setup_teardown(test_get_and_reuse, setup, teardown),
                cmocka_unit_test_setup_teardown(test_put_with_body, setup, teardown),
                cmocka_unit_test_setup_teardown(test_response_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_and_bad_requests, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

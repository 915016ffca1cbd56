/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "daemon/status.h"
#include "base/util.h"

static void test_parse_request(void **state) {
        static const struct {
                const char *in;
                int want;
                const char *name;
        } cases[] = {
                { "status\n", 0, "" },
                { "status", 0, "" },
                { "status\r\n", 0, "" },
                { "", -EBADMSG },
                { "\n", -EBADMSG },
                { "statusx\n", -EBADMSG },
                { "stat", -EBADMSG },
                { "status\nstatus\n", -EBADMSG },
                { "STATUS\n", -EBADMSG },
                { "status web\n", 0, "web" },
                { "status web-1.api_x\n", 0, "web-1.api_x" },
                { "status \n", -EBADMSG },
                { "status  web\n", -EBADMSG },
                { "status web x\n", -EBADMSG },
                { "status w\teb\n", -EBADMSG },
                { "status w\xc3\xa9"
                  "b\n",
                  -EBADMSG },
                { "status "
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                  -EBADMSG }, /* 128 bytes: one too many */
        };
        StatusRequest req;
        char name[STATUS_NAME_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(status_parse_request(cases[i].in, strlen(cases[i].in), &req, name),
                                 cases[i].want);
                if (cases[i].want == 0)
                        assert_string_equal(name, cases[i].name);
        }
        /* Embedded NUL must not be read as the end of the request. */
        assert_int_equal(status_parse_request("status\0x", 8, &req, name), -EBADMSG);
        assert_int_equal(status_parse_request("status w\0b", 10, &req, name), -EBADMSG);
}

static void test_output_fit(void **state) {
        static const struct {
                const char *in;
                size_t max, want;
        } cases[] = {
                { "", 10, 0 },
                { "hello", 10, 5 },
                { "hello", 3, 3 },
                { "a\"b", 3, 2 }, /* the quote escapes to two */
                { "a\"b", 4, 3 },
                { "\x01\x02", 6, 1 }, /* \u0001 */
                { "\x01\x02", 11, 1 },
                { "\x01\x02", 12, 2 },
                { "\x7f", 5, 0 },
                { "x\xc3\xa9"
                  "y",
                  2, 1 }, /* never half of the e-acute */
                { "x\xc3\xa9"
                  "y",
                  3, 3 },
                { "\xe2\x82\xac\xe2\x82\xac", 5, 3 },
                { "\xf0\x9f\x98\x80", 3, 0 },
                { "\xf0\x9f\x98\x80", 4, 4 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(status_output_fit(cases[i].in, strlen(cases[i].in), cases[i].max),
                                 cases[i].want);
}

static void test_peer_allowed(void **state) {
        gid_t groups[] = { 10, 4 };

        assert_true(status_peer_allowed(0, 0, NULL, 0, 0, (gid_t) -1));
        assert_true(status_peer_allowed(1000, 1000, NULL, 0, 1000, (gid_t) -1));
        assert_false(status_peer_allowed(1000, 1000, NULL, 0, 0, (gid_t) -1));
        assert_true(status_peer_allowed(1000, 4, NULL, 0, 0, 4));
        assert_true(status_peer_allowed(1000, 1000, groups, 2, 0, 4));
        assert_false(status_peer_allowed(1000, 1000, groups, 2, 0, 27));
}

static json_t *render(const char *wide, void *userdata) {
        json_t *o = json_pack("{s:s,s:i}", "hello", "world", "n", *(int *) userdata);

        if (wide)
                json_object_set_new(o, "wide", json_string(wide));

        /* "status huge": a render past the cap is refused with a plain error. */
        if (wide && streq(wide, "huge")) {
                char *big = malloc(STATUS_REPLY_MAX + 1);
                memset(big, 'x', STATUS_REPLY_MAX);
                big[STATUS_REPLY_MAX] = 0;
                json_object_set_new(o, "big", json_string(big));
                free(big);
        }
        return o;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        *(int *) userdata = si->si_code == CLD_EXITED ? si->si_status : 100;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* A real round trip: the server in this process's loop, the client in a child. */
/* What a client makes of what it read: a refusal is -EACCES whatever shape it came in. */
static void test_parse_reply(void **state) {
        static const struct {
                const char *in;
                int r;
        } cases[] = {
                { "{\"version\":\"1\",\"checks\":[]}", 0 },
                { "", -EACCES },
                { "{\"error\":\"access denied\",\"message\":\"needs root\"}", -EACCES },
                { "{\"error\":\"busy\",\"message\":\"try again\"}", -EBUSY },
                { "{\"error\":\"unknown request\"}", 0 },
                { "{\"error\":7}", 0 },
                { "[1,2]", -EBADMSG },
                { "\"access denied\"", -EBADMSG },
                { "{\"version\":", -EBADMSG },
                { "\x1b[2J", -EBADMSG },
        };
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *doc = NULL;
                int r = status_parse_reply(cases[i].in, strlen(cases[i].in), &doc);

                assert_int_equal(r, cases[i].r);
                if (r == 0)
                        assert_true(json_is_object(doc));
                else
                        assert_null(doc);
                json_decref(doc);
        }
}

static void test_round_trip(void **state) {
        _cleanup_(status_server_freep) StatusServer *server = NULL;
        char dir[] = "/tmp/drover-status-XXXXXX", path[128];
        sd_event *e = NULL;
        int n = 42, child_status = -1;
        sigset_t mask;
        pid_t pid;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/drover.sock", dir);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(status_server_new(e, path, (gid_t) -1, render, &n, &server), 0);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                json_t *doc = NULL, *w = NULL, *h = NULL;
                int r = status_query(path, NULL, 2000, &doc);
                if (r < 0 || !json_is_string(json_object_get(doc, "hello")) ||
                    json_integer_value(json_object_get(doc, "n")) != 42 ||
                    json_object_get(doc, "wide"))
                        _exit(1);
                if (status_query(path, "web", 2000, &w) < 0 ||
                    !streq(json_string_value(json_object_get(w, "wide")), "web"))
                        _exit(2);
                if (status_query(path, "huge", 2000, &h) < 0 ||
                    !streq(json_string_value(json_object_get(h, "error")),
                           "status reply too large"))
                        _exit(3);
                _exit(0);
        }
        assert_int_equal(sd_event_add_child(e, NULL, pid, WEXITED, on_child, &child_status), 0);
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(child_status, 0);
        server = status_server_free(server);
        sd_event_unref(e);
        /* With the server gone, a client is told plainly that nobody is there. */
        json_t *doc = NULL;
        int r = status_query(path, NULL, 500, &doc);
        assert_true(r == -ENOENT || r == -ECONNREFUSED);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_request), cmocka_unit_test(test_output_fit),
                cmocka_unit_test(test_peer_allowed),  cmocka_unit_test(test_parse_reply),
                cmocka_unit_test(test_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

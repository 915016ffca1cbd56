/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/state.h"
#include "base/util.h"

#define I1 "i-0123456789abcdef0"
#define B1 "11111111-2222-3333-4444-555555555555"
#define B2 "99999999-2222-3333-4444-555555555555"

static State sample(void) {
        State s = { .requested = true,
                    .action = REPLACE_SET_UNHEALTHY,
                    .requested_at = 1700000000 };
        StateRemediation *r;

        strcpy(s.instance_id, I1);
        strcpy(s.boot_id, B1);
        assert_int_equal(state_remediation(&s, "web", &r), 0);
        state_remediation_add(r, 1700000100);
        state_remediation_add(r, 1700000200);
        strcpy(s.lifecycle.event, "terminate");
        strcpy(s.lifecycle.key, "drain@1700000300");
        strcpy(s.lifecycle.hooks_done[s.lifecycle.n_hooks_done++], "10-deregister");
        return s;
}

static void test_round_trip(void **state) {
        _cleanup_(state_done) State s = sample(), t = {};
        _cleanup_free_ char *text = NULL;

        assert_int_equal(state_format(&s, &text), 0);
        assert_int_equal(state_parse(text, strlen(text), I1, B1, &t), 0);
        assert_string_equal(t.instance_id, I1);
        assert_true(t.requested);
        assert_int_equal(t.action, REPLACE_SET_UNHEALTHY);
        assert_int_equal(t.requested_at, 1700000000);
        assert_false(t.confirmed);
        assert_int_equal(t.n_remediation, 1);
        assert_string_equal(t.remediation[0].name, "web");
        assert_int_equal(t.remediation[0].n_attempts, 2);
        assert_int_equal(t.remediation[0].attempts[1], 1700000200);
        assert_string_equal(t.lifecycle.event, "terminate");
        assert_string_equal(t.lifecycle.hooks_done[0], "10-deregister");
}

static void test_other_instance_is_ignored(void **state) {
        _cleanup_(state_done) State s = sample(), t = {};
        _cleanup_free_ char *text = NULL;

        assert_int_equal(state_format(&s, &text), 0);
        /* A state file baked into an AMI belongs to the instance the image was made on. */
        assert_int_equal(state_parse(text, strlen(text), "i-0fedcba9876543210", B1, &t), 0);
        assert_false(t.requested);
        assert_int_equal(t.n_remediation, 0);
        assert_string_equal(t.lifecycle.event, "");
}

static void test_other_boot_keeps_only_the_request(void **state) {
        _cleanup_(state_done) State s = sample(), t = {};
        _cleanup_free_ char *text = NULL;

        assert_int_equal(state_format(&s, &text), 0);
        assert_int_equal(state_parse(text, strlen(text), I1, B2, &t), 0);
        assert_true(t.requested);
        assert_int_equal(t.n_remediation, 0);
        assert_string_equal(t.lifecycle.event, "");
        assert_string_equal(t.boot_id, B2);
}

static void test_malformed(void **state) {
        static const char *const bad[] = {
                "",
                "[]",
                "{",
                "{\"instance_id\":1,\"boot_id\":\"" B1 "\"}",
                "{\"instance_id\":\"" I1 "\"}",
                "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1 "\",\"replacement\":7}",
                "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1
                "\",\"replacement\":{\"action\":\"explode\",\"requested_at\":1}}",
                "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1
                "\",\"replacement\":{\"action\":\"none\"}}",
                "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1
                "\",\"remediation\":[{\"check\":\"web\",\"attempts\":[-1]}]}",
                "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1
                "\",\"remediation\":[{\"attempts\":[]}]}",
                "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1
                "\",\"lifecycle\":{\"event\":\"x\"}}",
                "{\"instance_id\":\"" I1 "\",\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1 "\"}",
                "{\"instance_id\":\"i-0123456789abcdef0123456789\",\"boot_id\":\"" B1 "\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                State t = {};
                assert_int_equal(state_parse(bad[i], strlen(bad[i]), I1, B1, &t), -EBADMSG);
        }
}

static void test_too_big(void **state) {
        size_t n = STATE_MAX_BYTES + 1;
        _cleanup_free_ char *big = malloc(n);
        State t = {};

        memset(big, ' ', n);
        assert_int_equal(state_parse(big, n, I1, B1, &t), -EFBIG);
}

static void test_attempts_are_capped(void **state) {
        StateRemediation r = {};

        for (time_t t = 0; t < STATE_MAX_ATTEMPTS + 5; t++)
                state_remediation_add(&r, t);
        assert_int_equal(r.n_attempts, STATE_MAX_ATTEMPTS);
        assert_int_equal(r.attempts[0], 5);
        assert_int_equal(r.attempts[STATE_MAX_ATTEMPTS - 1], STATE_MAX_ATTEMPTS + 4);
}

static void test_save_and_load(void **state) {
        char dir[] = "/tmp/drover-state-XXXXXX", path[64];
        _cleanup_(state_done) State s = sample(), t = {}, u = {};
        char boot[37];

        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_load(dir, I1, B1, &t), 0); /* none yet: empty, keyed */
        assert_false(t.requested);
        assert_string_equal(t.instance_id, I1);
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load(dir, I1, B1, &u), 0);
        assert_true(u.requested);
        snprintf(path, sizeof(path), "%s/state.json", dir);
        unlink(path);
        rmdir(dir);
        assert_int_equal(state_boot_id(boot), 0);
        assert_int_equal(strlen(boot), 36);
}

/* A FIFO at the path: refused at once (not a hang), and the next save replaces it. */
static void test_fifo_at_the_path(void **state) {
        char dir[] = "/tmp/drover-state-XXXXXX", path[64];
        _cleanup_(state_done) State s = sample(), t = {}, u = {};

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/state.json", dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        alarm(5);
        assert_int_equal(state_load(dir, I1, B1, &t), -EBADFD);
        alarm(0);
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load(dir, I1, B1, &u), 0);
        assert_true(u.requested);
        unlink(path);
        rmdir(dir);
}

static void test_handled_survives_a_reboot_and_is_bounded(void **state) {
        _cleanup_(state_done) State s = sample(), t = {};
        _cleanup_free_ char *text = NULL;
        char key[32];

        assert_int_equal(state_handled_add(&s, "rebalance", B1, 10), 0);
        assert_int_equal(state_handled_add(&s, "scheduled-event@instance-event-0abc", B1, 11), 0);
        assert_int_equal(state_handled_add(&s, "bad key", B1, 12), -EINVAL);
        assert_int_equal(state_handled_add(&s, "terminate", "not-a-boot-id", 12), -EINVAL);
        assert_int_equal(state_format(&s, &text), 0);
        /* Another boot: the remediation history goes, what was handled stays. */
        assert_int_equal(state_parse(text, strlen(text), I1, B2, &t), 0);
        assert_int_equal(t.n_handled, 2);
        assert_string_equal(t.handled[1].key, "scheduled-event@instance-event-0abc");
        assert_string_equal(t.handled[0].boot_id, B1);
        assert_int_equal(t.handled[1].at, 11);
        assert_non_null(state_handled_find(&t, "rebalance"));
        assert_true(state_handled_remove(&t, "rebalance"));
        assert_false(state_handled_remove(&t, "rebalance"));
        assert_null(state_handled_find(&t, "rebalance"));

        /* Adding again moves it to the newest place; past the bound the oldest go. */
        for (unsigned i = 0; i < STATE_MAX_HANDLED + 3; i++) {
                snprintf(key, sizeof(key), "scheduled-event@e%u", i);
                assert_int_equal(state_handled_add(&t, key, B2, i), 0);
        }
        assert_int_equal(t.n_handled, STATE_MAX_HANDLED);
        assert_int_equal(t.handled_dropped, 4);
        assert_string_equal(t.handled[0].key, "scheduled-event@e3");
        assert_int_equal(state_handled_add(&t, "scheduled-event@e3", B2, 99), 0);
        assert_string_equal(t.handled[STATE_MAX_HANDLED - 1].key, "scheduled-event@e3");
        assert_int_equal(t.handled_dropped, 4);
}

static void test_handled_entries_are_validated(void **state) {
#define DOC(h) "{\"instance_id\":\"" I1 "\",\"boot_id\":\"" B1 "\"," h "}"
        static const char *const bad[] = {
                DOC("\"handled\":{}"),
                DOC("\"handled\":[7]"),
                DOC("\"handled\":[{\"key\":\"a b\",\"boot_id\":\"\",\"at\":1}]"),
                DOC("\"handled\":[{\"key\":\"\",\"boot_id\":\"\",\"at\":1}]"),
                DOC("\"handled\":[{\"key\":\"a\",\"boot_id\":\"x\",\"at\":1}]"),
                DOC("\"handled\":[{\"key\":\"a\",\"boot_id\":\"\",\"at\":-1}]"),
                DOC("\"handled\":[{\"key\":\"a\",\"boot_id\":\"\"}]"),
                DOC("\"handled\":[{\"key\":\"a\",\"boot_id\":\"\",\"at\":1},"
                    "{\"key\":\"a\",\"boot_id\":\"\",\"at\":2}]"),
                DOC("\"handled_dropped\":-3"),
                DOC("\"handled_dropped\":\"many\""),
        };
        static const char good[] =
                DOC("\"handled\":[{\"key\":\"terminate\",\"boot_id\":\"\",\"at\":1}],"
                    "\"handled_dropped\":2");
#undef DOC
        _cleanup_(state_done) State t = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                State u = {};
                if (state_parse(bad[i], strlen(bad[i]), I1, B1, &u) != -EBADMSG)
                        fail_msg("bad case %zu accepted", i);
                state_done(&u);
        }
        assert_int_equal(state_parse(good, strlen(good), I1, B1, &t), 0);
        assert_int_equal(t.n_handled, 1);
        assert_int_equal(t.handled_dropped, 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_other_instance_is_ignored),
                cmocka_unit_test(test_other_boot_keeps_only_the_request),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_too_big),
                cmocka_unit_test(test_attempts_are_capped),
                cmocka_unit_test(test_save_and_load),
                cmocka_unit_test(test_fifo_at_the_path),
                cmocka_unit_test(test_handled_survives_a_reboot_and_is_bounded),
                cmocka_unit_test(test_handled_entries_are_validated),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * hooks_run() when the loop cannot take the deferred finish (sd_event_add_defer wrapped to
 * fail): it used to call the done callback from inside hooks_run(), free the run and hand
 * the freed pointer back. Now it returns the error, calls nothing, hands back nothing.
 * A shell module's test: links the whole library (COMPONENT_LIBS).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks/hooks.h"

static bool fail_defer;

int __real_sd_event_add_defer(sd_event *e, sd_event_source **s, sd_event_handler_t cb,
                              void *userdata);
int __wrap_sd_event_add_defer(sd_event *e, sd_event_source **s, sd_event_handler_t cb,
                              void *userdata);
int __wrap_sd_event_add_defer(sd_event *e, sd_event_source **s, sd_event_handler_t cb,
                              void *userdata) {
        return fail_defer ? -ENOMEM : __real_sd_event_add_defer(e, s, cb, userdata);
}

static unsigned done_calls;

static void on_step(const char *name, bool ok, const PluginResult *res, void *userdata) {
}

static void on_done(unsigned ran, unsigned failed, void *userdata) {
        done_calls++;
}

static void test_defer_failure(void **state) {
        char dir[] = "/tmp/drover-hooks-XXXXXX";
        HooksConfig cfg = { .timeout = 5 };
        sd_event *e = NULL;
        HookRun *run = NULL;
        char *env[] = { NULL };
        int r;
        (void) state;

        assert_non_null(mkdtemp(dir));
        cfg.dir = dir;
        assert_int_equal(sd_event_new(&e), 0);
        /* An empty event directory: nothing to spawn, straight to the finish. */
        fail_defer = true;
        r = hooks_run(e, &cfg, "unhealthy", env, NULL, 0, on_step, on_done, NULL, &run);
        assert_int_equal(r, -ENOMEM);
        assert_null(run);
        assert_int_equal(done_calls, 0);
        /* And when the loop takes it: called once, from the loop. */
        fail_defer = false;
        r = hooks_run(e, &cfg, "unhealthy", env, NULL, 0, on_step, on_done, NULL, &run);
        assert_int_equal(r, 0);
        assert_non_null(run);
        assert_int_equal(done_calls, 0);
        assert_true(sd_event_run(e, 1000000) > 0);
        assert_int_equal(done_calls, 1);
        sd_event_unref(e);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defer_failure),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

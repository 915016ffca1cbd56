/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/util.h"

/* --wrap=fsync: counts the fsyncs of directories (the rename made durable). */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static unsigned dir_fsyncs;

int __wrap_fsync(int fd) {
        struct stat st;

        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
                dir_fsyncs++;
        return __real_fsync(fd);
}

static void test_backoff(void **state) {
        static const struct {
                unsigned attempt;
                double unit;
                uint64_t want;
        } cases[] = {
                { 0, 0.0, 0 },
                { 0, 0.5, 50000 },
                { 1, 0.5, 100000 },
                { 3, 0.5, 400000 },
                { 10, 0.5, 1000000 },
                { 200, 0.999, 1998000 },
                { 5, 1.0, 0 /* out of range: treated as 0 */ },
                { 2, -1.0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(
                        backoff_full_jitter_usec(cases[i].attempt, 100000, 2000000, cases[i].unit),
                        cases[i].want);
}

static void test_random_unit_range(void **state) {
        for (int i = 0; i < 1000; i++) {
                double u = random_unit();
                assert_true(u >= 0.0 && u < 1.0);
        }
}

static void test_read_file_capped(void **state) {
        char path[] = "/tmp/drover-test-XXXXXX";
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "hello world", 11), 11);
        close(fd);
        assert_int_equal(read_file_capped(path, 11, &s, &len), 0);
        assert_string_equal(s, "hello world");
        assert_int_equal(len, 11);
        assert_int_equal(read_file_capped(path, 10, &s, &len), -EFBIG);
        assert_int_equal(read_file_capped("/nonexistent/x", 10, &s, &len), -ENOENT);
        unlink(path);
}

/* A FIFO (or a device) where a file should be must not block the daemon in open(). */
static void test_read_file_capped_refuses_non_regular(void **state) {
        char dir[] = "/tmp/drover-test-XXXXXX", fifo[64];
        _cleanup_free_ char *s = NULL;
        size_t len = 0;

        assert_non_null(mkdtemp(dir));
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        alarm(5); /* today's code would hang here: fail instead */
        assert_int_equal(read_file_capped(fifo, 100, &s, &len), -EBADFD);
        assert_int_equal(read_file_capped(dir, 100, &s, &len), -EISDIR);
        assert_int_equal(read_file_capped("/dev/null", 100, &s, &len), -EBADFD);
        alarm(0);
        assert_null(s);
        unlink(fifo);
        rmdir(dir);
}

static void test_write_file_atomic(void **state) {
        char dir[] = "/tmp/drover-test-XXXXXX", path[64];
        _cleanup_free_ char *s = NULL;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/state", dir);
        dir_fsyncs = 0;
        assert_int_equal(write_file_atomic(path, "one", 3, 0600), 0);
        assert_int_equal(dir_fsyncs, 1); /* the rename survives a power loss */
        assert_int_equal(write_file_atomic(path, "two!", 4, 0600), 0);
        assert_int_equal(dir_fsyncs, 2);
        assert_int_equal(read_file_capped(path, 100, &s, NULL), 0);
        assert_string_equal(s, "two!");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        unlink(path);
        rmdir(dir);
}

static void test_strv(void **state) {
        char *src[] = { "a", "bb", "", NULL };
        _cleanup_strv_free_ char **c = strv_copy(src);

        assert_int_equal(strv_length(c), 3);
        assert_string_equal(c[1], "bb");
        assert_int_equal(strv_length(NULL), 0);
}

static void test_dirs_from_environment(void **state) {
        setenv("STATE_DIRECTORY", "/tmp/s1:/tmp/s2", 1);
        assert_string_equal(drover_state_dir(), "/tmp/s1");
        unsetenv("STATE_DIRECTORY");
        assert_string_equal(drover_state_dir(), LOCALSTATEDIR "/lib/drover");
        setenv("RUNTIME_DIRECTORY", "/tmp/r", 1);
        assert_string_equal(drover_runtime_dir(), "/tmp/r");
        unsetenv("RUNTIME_DIRECTORY");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_random_unit_range),
                cmocka_unit_test(test_read_file_capped),
                cmocka_unit_test(test_read_file_capped_refuses_non_regular),
                cmocka_unit_test(test_write_file_atomic),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_dirs_from_environment),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

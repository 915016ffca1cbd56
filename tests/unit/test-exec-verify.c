/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/exec-verify.h"
#include "base/util.h"

#define OTHER_UID 4242 /* no such user needed: the kernel takes any number */

static void test_rule(void **state) {
        static const struct {
                ExecVerifyKind kind;
                uid_t owner;
                mode_t mode;
                const char *want; /* NULL = trusted */
        } cases[] = {
                { EXEC_VERIFY_DIR, 0, S_IFDIR | 0755, NULL },
                { EXEC_VERIFY_DIR, 0, S_IFDIR | 0700, NULL },
                { EXEC_VERIFY_DIR, 0, S_IFDIR | 0775, "is writable by group or others" },
                { EXEC_VERIFY_DIR, 0, S_IFDIR | 0757, "is writable by group or others" },
                { EXEC_VERIFY_DIR, 0, S_IFDIR | 01777, NULL }, /* /tmp */
                { EXEC_VERIFY_DIR, OTHER_UID, S_IFDIR | 01777, "is not owned by root" },
                { EXEC_VERIFY_DIR, OTHER_UID, S_IFDIR | 0755, "is not owned by root" },
                { EXEC_VERIFY_DIR, 0, S_IFREG | 0755, "is not a directory" },
                { EXEC_VERIFY_LINK, 0, S_IFLNK | 0777, NULL },
                { EXEC_VERIFY_LINK, OTHER_UID, S_IFLNK | 0777, "is not owned by root" },
                { EXEC_VERIFY_FILE, 0, S_IFREG | 0755, NULL },
                { EXEC_VERIFY_FILE, 0, S_IFREG | 0700, NULL },
                { EXEC_VERIFY_FILE, 0, S_IFREG | 0775, "is writable by group or others" },
                { EXEC_VERIFY_FILE, 0, S_IFREG | 0757, "is writable by group or others" },
                { EXEC_VERIFY_FILE, 0, S_IFREG | 01777, "is writable by group or others" },
                { EXEC_VERIFY_FILE, 0, S_IFREG | 0644, "is not executable" },
                { EXEC_VERIFY_FILE, OTHER_UID, S_IFREG | 0755, "is not owned by root" },
                { EXEC_VERIFY_FILE, 0, S_IFDIR | 0755, "is not a regular file" },
                { EXEC_VERIFY_FILE, 0, S_IFIFO | 0755, "is not a regular file" },
                /* drover not running as root trusts its own files too */
                { EXEC_VERIFY_FILE, 1000, S_IFREG | 0755, NULL },
                { EXEC_VERIFY_DIR, 1000, S_IFDIR | 0755, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *got =
                        exec_verify_rule(cases[i].kind, cases[i].owner, cases[i].mode, 1000);
                if (!cases[i].want)
                        assert_null(got);
                else
                        assert_string_equal(got, cases[i].want);
        }
}

static void test_shebang(void **state) {
        static const struct {
                const char *text;
                int want;
                const char *interp, *arg;
        } cases[] = {
                { "\x7f"
                  "ELF",
                  0, NULL, NULL },
                { "#", 0, NULL, NULL },
                { "#!/bin/sh\necho", 1, "/bin/sh", NULL },
                { "#! /bin/sh -e \n", 1, "/bin/sh", "-e" },
                { "#!/usr/bin/env python3 -u\n", 1, "/usr/bin/env", "python3 -u" },
                { "#!\t/bin/bash\t\n", 1, "/bin/bash", NULL },
                { "#!/bin/sh", 1, "/bin/sh", NULL }, /* short file, no newline */
                { "#!sh\n", -ENOEXEC, NULL, NULL },  /* relative: resolved from the cwd */
                { "#!\n", -ENOEXEC, NULL, NULL },
                { "#!   \n", -ENOEXEC, NULL, NULL },
        };
        char interp[EXEC_VERIFY_SHEBANG_MAX], arg[EXEC_VERIFY_SHEBANG_MAX], longer[400];
        bool has_arg;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = exec_verify_shebang(cases[i].text, strlen(cases[i].text), interp, arg,
                                            &has_arg);
                assert_int_equal(r, cases[i].want);
                if (r != 1)
                        continue;
                assert_string_equal(interp, cases[i].interp);
                assert_int_equal(has_arg, cases[i].arg != NULL);
                if (cases[i].arg)
                        assert_string_equal(arg, cases[i].arg);
        }
        /* No newline within the kernel's buffer: the kernel would cut the line. */
        memset(longer, 'a', sizeof(longer));
        memcpy(longer, "#!/", 3);
        assert_int_equal(exec_verify_shebang(longer, sizeof(longer), interp, arg, &has_arg),
                         -ENOEXEC);
}

typedef struct Tree {
        char root[64];
} Tree;

static char *at(const Tree *t, const char *rel) {
        static char buf[4][PATH_MAX];
        static int k;
        char *b = buf[k++ % 4];

        snprintf(b, PATH_MAX, "%s/%s", t->root, rel);
        return b;
}

static void mkfile(const Tree *t, const char *rel, mode_t mode, uid_t uid) {
        int fd = open(at(t, rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
        close(fd);
        assert_int_equal(chmod(at(t, rel), mode), 0);
        assert_int_equal(chown(at(t, rel), uid, 0), 0);
}

static void mkdir_as(const Tree *t, const char *rel, mode_t mode, uid_t uid) {
        assert_int_equal(mkdir(at(t, rel), 0700), 0);
        assert_int_equal(chmod(at(t, rel), mode), 0);
        assert_int_equal(chown(at(t, rel), uid, 0), 0);
}

static void link_as(const Tree *t, const char *rel, const char *target, uid_t uid) {
        assert_int_equal(symlink(target, at(t, rel)), 0);
        assert_int_equal(lchown(at(t, rel), uid, 0), 0);
}

static int tree_setup(void **state) {
        Tree *t = calloc(1, sizeof(Tree));

        /* The tests create files of another owner: they need root (as the suite runs). */
        if (!t || geteuid() != 0)
                return -1;
        snprintf(t->root, sizeof(t->root), "/tmp/test-exec-verify-XXXXXX");
        if (!mkdtemp(t->root))
                return -1;
        *state = t;
        return 0;
}

static int tree_teardown(void **state) {
        Tree *t = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
        (void) !system(cmd);
        free(t);
        return 0;
}

static void test_walk(void **state) {
        Tree *t = *state;
        static const struct {
                const char *rel; /* "" = an absolute path given in abs */
                const char *abs;
                int want;
                const char *why_part;
        } cases[] = {
                { "good/plugin", NULL, 0, NULL },
                { "good//./plugin", NULL, 0, NULL },
                { "good/groupw", NULL, -EPERM, "good/groupw is writable by group or others" },
                { "good/theirs", NULL, -EPERM, "good/theirs is not owned by root (uid 4242)" },
                { "good/noexec", NULL, -EACCES, "is not executable" },
                { "good/missing", NULL, -ENOENT, "good/missing No such file" },
                { "userdir/plugin", NULL, -EPERM, "/userdir is not owned by root (uid 4242)" },
                { "openw/plugin", NULL, -EPERM, "/openw is writable by group or others" },
                { "sticky/plugin", NULL, 0, NULL },
                { "sticky/theirs", NULL, -EPERM, "sticky/theirs is not owned by root" },
                { "good/link", NULL, 0, NULL },
                { "good/rellink", NULL, 0, NULL },
                { "good/dirlink/plugin", NULL, 0, NULL },
                { "good/theirlink", NULL, -EPERM, "good/theirlink is not owned by root (uid" },
                { "good/into-user", NULL, -EPERM, "/userdir is not owned by root" },
                { "good/loop", NULL, -ELOOP, "more than 40 symlinks" },
                { "good", NULL, -EACCES, "is not a regular file" },
                { "", "/bin/sh", 0, NULL }, /* Debian: /bin -> usr/bin */
                { "", "relative/path", -EINVAL, "is not an absolute path" },
        };

        mkdir_as(t, "good", 0755, 0);
        mkfile(t, "good/plugin", 0755, 0);
        mkfile(t, "good/groupw", 0775, 0);
        mkfile(t, "good/theirs", 0755, OTHER_UID);
        mkfile(t, "good/noexec", 0644, 0);
        mkdir_as(t, "userdir", 0755, OTHER_UID);
        mkfile(t, "userdir/plugin", 0755, 0);
        mkdir_as(t, "openw", 0777, 0);
        mkfile(t, "openw/plugin", 0755, 0);
        mkdir_as(t, "sticky", 01777, 0);
        mkfile(t, "sticky/plugin", 0755, 0);
        mkfile(t, "sticky/theirs", 0755, OTHER_UID);
        link_as(t, "good/link", at(t, "good/plugin"), 0);
        link_as(t, "good/rellink", "../good/./plugin", 0);
        link_as(t, "good/dirlink", ".", 0);
        link_as(t, "good/theirlink", "plugin", OTHER_UID);
        link_as(t, "good/into-user", "../userdir/plugin", 0);
        link_as(t, "good/loop", "loop", 0);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char why[EXEC_VERIFY_WHY_MAX];
                int fd = exec_verify_open(*cases[i].rel ? at(t, cases[i].rel) : cases[i].abs, why);

                if (cases[i].want == 0) {
                        if (fd < 0)
                                fail_msg("%s: %s", cases[i].rel, why);
                        close(fd);
                        continue;
                }
                assert_int_equal(fd, cases[i].want);
                if (!strstr(why, cases[i].why_part))
                        fail_msg("%s: '%s' lacks '%s'", cases[i].rel, why, cases[i].why_part);
        }
}

static void test_target(void **state) {
        Tree *t = *state;
        char why[EXEC_VERIFY_WHY_MAX];
        ExecTarget x;
        int fd;

        mkdir_as(t, "s", 0755, 0);
        mkfile(t, "s/script", 0755, 0);
        assert_int_equal(exec_verify_target(at(t, "s/script"), &x, why), 0);
        assert_true(x.script);
        assert_string_equal(x.interp, "/bin/sh");
        assert_false(x.has_arg);
        close(x.fd);

        /* The interpreter is verified like the script: one in a user's directory is not run. */
        mkdir_as(t, "u", 0755, OTHER_UID);
        mkfile(t, "u/sh", 0755, 0);
        fd = open(at(t, "s/bad"), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
        assert_true(fd >= 0);
        dprintf(fd, "#!%s\n", at(t, "u/sh"));
        close(fd);
        assert_int_equal(exec_verify_target(at(t, "s/bad"), &x, why), -EPERM);
        assert_non_null(strstr(why, "interpreter of"));
        assert_non_null(strstr(why, "/u is not owned by root"));

        /* A binary is run as itself. */
        assert_int_equal(exec_verify_target("/bin/true", &x, why), 0);
        assert_false(x.script);
        close(x.fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rule),
                cmocka_unit_test(test_shebang),
                cmocka_unit_test_setup_teardown(test_walk, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_target, tree_setup, tree_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "checks/spawn.h"
#include "base/util.h"

#define CHILD_STACK_SIZE (64 * 1024)
#define CHILD_EXIT_EXEC_FAILED 127
#define FD_SCAN_MAX 65536 /* kernels without close_range's CLOEXEC flag (< 5.11) */

typedef struct Child {
        const SpawnSpec *spec;
        volatile int err; /* written by the child, read after it has exec'd or exited */
} Child;

/*
 * Raw system calls through syscall(3), which is a bare trap: its only side effect is
 * errno, which lands in the suspended parent thread's slot and is read right away.
 */
#define RAW(...) syscall(__VA_ARGS__)

__attribute__((no_sanitize("address", "undefined"))) static int child_fail(Child *c) {
        c->err = errno > 0 ? errno : EIO;
        (void) RAW(SYS_exit_group, CHILD_EXIT_EXEC_FAILED);
        return CHILD_EXIT_EXEC_FAILED;
}

__attribute__((no_sanitize("address", "undefined"))) static int child_main(void *arg) {
        Child *c = arg;
        const SpawnSpec *s = c->spec;
        /* All-zero is SIG_DFL, no flags, empty mask in every architecture's layout. */
        uint64_t dfl[4] = { 0, 0, 0, 0 }, empty = 0;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) RAW(SYS_rt_sigaction, sig, dfl, NULL, (size_t) (_NSIG / 8));
        if (RAW(SYS_setsid) < 0)
                return child_fail(c);
        /* Both are >= 3, so dup3 cannot clobber one with the other. */
        if (RAW(SYS_dup3, s->stdin_fd, STDIN_FILENO, 0) < 0 ||
            RAW(SYS_dup3, s->stdout_fd, STDOUT_FILENO, 0) < 0 ||
            RAW(SYS_dup3, s->stdout_fd, STDERR_FILENO, 0) < 0)
                return child_fail(c);
        /* Close-on-exec rather than closed: exec_fd must live until execveat. */
        if (RAW(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                for (int fd = 3; fd < FD_SCAN_MAX; fd++)
                        (void) RAW(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
        if (s->run_as && s->run_as->drop &&
            (RAW(SYS_setgroups, s->run_as->n_groups, s->run_as->groups) < 0 ||
             RAW(SYS_setresgid, s->run_as->gid, s->run_as->gid, s->run_as->gid) < 0 ||
             RAW(SYS_setresuid, s->run_as->uid, s->run_as->uid, s->run_as->uid) < 0))
                return child_fail(c);
        if (RAW(SYS_chdir, "/") < 0)
                return child_fail(c);
        (void) RAW(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty));
        (void) RAW(SYS_execveat, s->exec_fd, "", s->argv, s->env, AT_EMPTY_PATH);
        return child_fail(c);
}

int spawn_start(const SpawnSpec *s, pid_t *ret_pid, int *ret_pidfd, int *ret_exec_errno) {
        Child c = { .spec = s };
        sigset_t all, old;
        void *stack;
        int pidfd = -1, r;
        pid_t pid = -1;

        if (s->stdin_fd < 3 || s->stdout_fd < 3 || s->exec_fd < 0)
                return -EBADF;
        stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return negative_errno();
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &old);
        if (r == 0) {
                pid = clone(child_main, (char *) stack + CHILD_STACK_SIZE,
                            CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &c, &pidfd);
                r = pid < 0 ? negative_errno() : 0;
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        (void) munmap(stack, CHILD_STACK_SIZE);
        if (r < 0)
                return r;
        /* A clone that ignored CLONE_PIDFD (valgrind turns this into a fork). */
        if (pidfd < 0)
                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = negative_errno();
                /* Without a pidfd it cannot be followed: stop it (a zombie until drover
                 * exits, rather than a blocking wait in the loop). */
                (void) kill(pid, SIGKILL);
                return r;
        }
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        *ret_exec_errno = c.err;
        return 0;
}

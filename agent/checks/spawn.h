/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Starts one child that copies nothing: clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) on a
 * small mmap'd stack. The parent is suspended until the child has exec'd or failed, so
 * nothing of drover's address space is duplicated (fork() copied every mapping, some
 * 235 of them with libcurl's libraries, on every check run).
 *
 * The child shares drover's memory, so it makes raw system calls only: no glibc
 * wrappers that take locks or touch per-thread state another thread may hold (libcurl's
 * resolver thread can be running). All signals are blocked in the parent around the
 * clone, so no handler of drover's can run on the child's stack; the child resets every
 * disposition (SIGPIPE too, and glibc's reserved real-time signals), starts a new
 * session (its own process group, no terminal), puts devnull on stdin and the capture
 * fd on stdout and stderr, marks every other fd close-on-exec, drops to run_as
 * (setgroups, setresgid, setresuid), chdir("/"), empties its signal mask, and executes
 * the verified descriptor with execveat(fd, "", AT_EMPTY_PATH). An exec error is
 * written to shared memory, not a pipe.
 */

#include <sys/types.h>

#include "config/config.h"

typedef struct SpawnSpec {
        int exec_fd;         /* what was verified: execveat(exec_fd, "", AT_EMPTY_PATH) */
        char *const *argv;   /* argv[0] is what the program sees as its name */
        char *const *env;    /* the complete environment */
        int stdin_fd;        /* >= 3 */
        int stdout_fd;       /* >= 3; also stderr */
        const RunAs *run_as; /* NULL or !drop: keep drover's credentials */
} SpawnSpec;

/*
 * Starts the child. On success (0): *ret_pid, *ret_pidfd (close-on-exec, the caller's)
 * and *ret_exec_errno: 0 when the program runs, > 0 when the child could not get there
 * (the child has then exited with 127). Negative errno when no child was made.
 */
int spawn_start(const SpawnSpec *s, pid_t *ret_pid, int *ret_pidfd, int *ret_exec_errno);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Verifies a program drover is about to run as root, and hands back what was verified.
 *
 * The path is walked from '/' one component at a time (openat O_PATH|O_NOFOLLOW), so
 * what is checked is exactly what the kernel would resolve, and nothing is cached: each
 * run walks again (an upgraded plugin is picked up, no descriptor is kept).
 *
 *  - every directory: owned by a trusted owner (root, or drover's own uid when it does
 *    not run as root), not writable by group or others, unless it has the sticky bit
 *    (/tmp): then others can add entries but cannot rename or remove ours, and the next
 *    component, which must pass on its own, is what counts;
 *  - a symlink: followed only when it is owned by a trusted owner (its directory has
 *    passed already); its target is walked the same way, from '/' when absolute, from
 *    the link's directory when relative (merged /usr: /bin -> usr/bin works); at most 40;
 *  - the file: a regular file, trusted owner, not writable by group or others, with an
 *    execute bit.
 *
 * A script ("#!") is run by its interpreter, which is verified the same way; the kernel
 * would otherwise re-resolve the interpreter by name.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/macro.h"

#define EXEC_VERIFY_WHY_MAX 512
#define EXEC_VERIFY_SHEBANG_MAX 256 /* the kernel's BINPRM_BUF_SIZE */

typedef enum ExecVerifyKind {
        EXEC_VERIFY_DIR,
        EXEC_VERIFY_LINK,
        EXEC_VERIFY_FILE,
} ExecVerifyKind;

/*
 * Pure: why an object of this kind, owner and mode (st_mode, type bits included) may not
 * be trusted, or NULL. trusted_uid: the second accepted owner (root always is).
 */
const char *exec_verify_rule(ExecVerifyKind kind, uid_t owner, mode_t mode, uid_t trusted_uid);

/*
 * Walks path (absolute) as described above. On success returns a close-on-exec
 * descriptor of the file opened O_RDONLY (usable with execveat AT_EMPTY_PATH and to
 * read its first line); on refusal -EPERM (a question of trust), -EACCES (the file is
 * not a regular executable file), -ENOENT, -ELOOP, ... with a message for people in why
 * ("directory /opt/x is writable by group or others").
 */
int exec_verify_open(const char *path, char why[static EXEC_VERIFY_WHY_MAX]);

/*
 * Pure: parses a "#!" line like the kernel. Returns 0 when buf is not a script, 1 with
 * the interpreter (and its one optional argument, NULL if none) copied into interp/arg,
 * -ENOEXEC when the line is malformed (no newline within EXEC_VERIFY_SHEBANG_MAX, no
 * interpreter, interpreter not absolute).
 */
int exec_verify_shebang(const char *buf, size_t n, char interp[static EXEC_VERIFY_SHEBANG_MAX],
                        char arg[static EXEC_VERIFY_SHEBANG_MAX], bool *ret_has_arg);

/* What to exec for a verified program: fd of the binary (the interpreter for a script). */
typedef struct ExecTarget {
        int fd;      /* execveat(fd, "", AT_EMPTY_PATH) */
        bool script; /* argv is interp [arg] path args... */
        char interp[EXEC_VERIFY_SHEBANG_MAX];
        char arg[EXEC_VERIFY_SHEBANG_MAX];
        bool has_arg;
} ExecTarget;

/*
 * Verifies path and, for a script, its interpreter (which must not be a script itself).
 * ret->fd is owned by the caller. < 0 with why filled on refusal; -ENOENT with
 * "interpreter" in why when the #! line names a missing interpreter.
 */
int exec_verify_target(const char *path, ExecTarget *ret, char why[static EXEC_VERIFY_WHY_MAX]);

/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/exec-verify.h"
#include "base/util.h"

#define LINKS_MAX 40

const char *exec_verify_rule(ExecVerifyKind kind, uid_t owner, mode_t mode, uid_t trusted_uid) {
        bool owner_ok = owner == 0 || owner == trusted_uid;
        bool writable = mode & (S_IWGRP | S_IWOTH);

        switch (kind) {
        case EXEC_VERIFY_DIR:
                if (!S_ISDIR(mode))
                        return "is not a directory";
                if (!owner_ok)
                        return "is not owned by root";
                /* Sticky (/tmp): others may add names but not rename or remove ours, and
                 * the next component is judged on its own. */
                if (writable && !(mode & S_ISVTX))
                        return "is writable by group or others";
                return NULL;
        case EXEC_VERIFY_LINK:
                /* A symlink's own mode is always 0777 and means nothing. */
                return owner_ok ? NULL : "is not owned by root";
        case EXEC_VERIFY_FILE:
                if (!S_ISREG(mode))
                        return "is not a regular file";
                if (!owner_ok)
                        return "is not owned by root";
                if (writable)
                        return "is writable by group or others";
                if (!(mode & 0111))
                        return "is not executable";
                return NULL;
        }
        return "cannot be judged";
}

typedef struct Walk {
        int dir;             /* the verified directory we are in */
        char pos[PATH_MAX];  /* its path, for messages ("" is "/") */
        char rest[PATH_MAX]; /* the path being resolved */
        size_t off;          /* what is left of it starts here */
        unsigned links;
        uid_t trusted;
        char *why;
} Walk;

static int refuse(Walk *w, int r, const char *name, const char *fmt, ...) _printf_(4, 5);
static int refuse(Walk *w, int r, const char *name, const char *fmt, ...) {
        char m[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(m, sizeof(m), fmt, ap);
        va_end(ap);
        snprintf(w->why, EXEC_VERIFY_WHY_MAX, "%s %s", name, m);
        return r;
}

static int judge(Walk *w, ExecVerifyKind kind, const struct stat *st, const char *name) {
        static const char *const kinds[] = { "directory", "symlink", "file" };
        const char *why = exec_verify_rule(kind, st->st_uid, st->st_mode, w->trusted);
        char what[PATH_MAX + NAME_MAX + 16];
        /* Not a question of trust: the configured thing is simply not a program. */
        int r = kind == EXEC_VERIFY_FILE && why && !strstr(why, "owned") && !strstr(why, "writ")
                        ? -EACCES
                        : -EPERM;

        if (!why)
                return 0;
        snprintf(what, sizeof(what), "%s %s", kinds[kind], name);
        if (st->st_uid != 0 && st->st_uid != w->trusted && strstr(why, "owned"))
                return refuse(w, r, what, "%s (uid %u)", why, (unsigned) st->st_uid);
        return refuse(w, r, what, "%s", why);
}

static int walk_enter(Walk *w, int fd, const char *pos) {
        size_t n = strlen(pos);

        safe_close(w->dir);
        w->dir = fd;
        if (n >= sizeof(w->pos))
                return refuse(w, -ENAMETOOLONG, "the path", "is too long");
        memcpy(w->pos, pos, n + 1);
        return 0;
}

static int walk_root(Walk *w) {
        struct stat st;
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return negative_errno();
        }
        (void) walk_enter(w, fd, "");
        return judge(w, EXEC_VERIFY_DIR, &st, "directory /");
}

/* Replaces the link just met by its target, ahead of what was left after it. */
static int walk_link(Walk *w, int fd, const char *name, const char *after) {
        char target[PATH_MAX], next[PATH_MAX];
        ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

        if (n < 0)
                return refuse(w, negative_errno(), name, "cannot be read: %m");
        target[n] = 0;
        if (++w->links > LINKS_MAX)
                return refuse(w, -ELOOP, name, "starts a chain of more than %d symlinks",
                              LINKS_MAX);
        if ((size_t) snprintf(next, sizeof(next), "%s%s%s", target, *after ? "/" : "", after) >=
            sizeof(next))
                return refuse(w, -ENAMETOOLONG, name, "leads to a path too long");
        memcpy(w->rest, next, sizeof(next));
        w->off = 0;
        return target[0] == '/' ? walk_root(w) : 0;
}

/* The last component, verified, reopened for reading; the same inode or nothing. */
static int walk_file(Walk *w, const struct stat *st, const char *comp, const char *name) {
        _cleanup_close_ int fd = -1;
        struct stat again;
        int r = judge(w, EXEC_VERIFY_FILE, st, name);

        if (r < 0)
                return r;
        fd = openat(w->dir, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return refuse(w, negative_errno(), name, "cannot be opened: %m");
        if (fstat(fd, &again) < 0)
                return negative_errno();
        if (again.st_dev != st->st_dev || again.st_ino != st->st_ino)
                return refuse(w, -EPERM, name, "was replaced while it was checked");
        return TAKE_FD(fd);
}

static int walk_step(Walk *w) {
        char *p = w->rest + w->off + strspn(w->rest + w->off, "/"), comp[NAME_MAX + 1],
             name[PATH_MAX + NAME_MAX + 2];
        size_t len = strcspn(p, "/");
        const char *after = p + len + strspn(p + len, "/");
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (len == 0)
                return refuse(w, -EISDIR, *w->pos ? w->pos : "/", "is a directory");
        if (len > NAME_MAX)
                return refuse(w, -ENAMETOOLONG, "a component", "is too long");
        memcpy(comp, p, len);
        comp[len] = 0;
        w->off = (size_t) (after - w->rest);
        snprintf(name, sizeof(name), "%s/%s", w->pos, comp);
        if (streq(comp, "."))
                return *after ? 0 : refuse(w, -EISDIR, name, "is a directory");
        fd = openat(w->dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return refuse(w, negative_errno(), name, "%m");
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISLNK(st.st_mode)) {
                r = judge(w, EXEC_VERIFY_LINK, &st, name);
                return r < 0 ? r : walk_link(w, fd, name, after);
        }
        if (!*after)
                return walk_file(w, &st, comp, name);
        r = judge(w, EXEC_VERIFY_DIR, &st, name);
        if (r < 0)
                return r;
        if (streq(comp, "..")) {
                /* The parent of a verified directory: an ancestor verified before. */
                char *slash = strrchr(w->pos, '/');
                snprintf(name, sizeof(name), "%.*s", slash ? (int) (slash - w->pos) : 0, w->pos);
        }
        return walk_enter(w, TAKE_FD(fd), name);
}

int exec_verify_open(const char *path, char why[static EXEC_VERIFY_WHY_MAX]) {
        Walk w = { .dir = -1, .trusted = geteuid(), .why = why };
        int r;

        why[0] = 0;
        if (!path || path[0] != '/')
                return refuse(&w, -EINVAL, path ? path : "(null)", "is not an absolute path");
        if (strlen(path) >= sizeof(w.rest))
                return refuse(&w, -ENAMETOOLONG, "the path", "is too long");
        snprintf(w.rest, sizeof(w.rest), "%s", path);
        r = walk_root(&w);
        while (r == 0)
                r = walk_step(&w);
        safe_close(w.dir);
        return r;
}

int exec_verify_shebang(const char *buf, size_t n, char interp[static EXEC_VERIFY_SHEBANG_MAX],
                        char arg[static EXEC_VERIFY_SHEBANG_MAX], bool *ret_has_arg) {
        const char *end, *p, *q;

        if (n < 2 || buf[0] != '#' || buf[1] != '!')
                return 0;
        n = MIN(n, (size_t) EXEC_VERIFY_SHEBANG_MAX);
        end = memchr(buf, '\n', n);
        if (!end) {
                /* Like the kernel: a short file may end its only line without a newline. */
                if (n == EXEC_VERIFY_SHEBANG_MAX || memchr(buf, 0, n))
                        return -ENOEXEC;
                end = buf + n;
        }
        for (p = buf + 2; p < end && (*p == ' ' || *p == '\t'); p++)
                ;
        for (q = p; q < end && *q != ' ' && *q != '\t' && *q != 0; q++)
                ;
        if (q == p || *p != '/')
                return -ENOEXEC;
        memcpy(interp, p, (size_t) (q - p));
        interp[q - p] = 0;
        for (p = q; p < end && (*p == ' ' || *p == '\t'); p++)
                ;
        for (q = end; q > p && (q[-1] == ' ' || q[-1] == '\t'); q--)
                ;
        if (memchr(p, 0, (size_t) (q - p)))
                return -ENOEXEC;
        memcpy(arg, p, (size_t) (q - p));
        arg[q - p] = 0;
        *ret_has_arg = q > p;
        return 1;
}

int exec_verify_target(const char *path, ExecTarget *ret, char why[static EXEC_VERIFY_WHY_MAX]) {
        _cleanup_close_ int fd = -1, ifd = -1;
        char head[EXEC_VERIFY_SHEBANG_MAX];
        ssize_t n;
        int r;

        *ret = (ExecTarget){ .fd = -1 };
        fd = exec_verify_open(path, why);
        if (fd < 0)
                return fd;
        n = pread(fd, head, sizeof(head), 0);
        if (n < 0) {
                snprintf(why, EXEC_VERIFY_WHY_MAX, "%s cannot be read: %m", path);
                return negative_errno();
        }
        r = exec_verify_shebang(head, (size_t) n, ret->interp, ret->arg, &ret->has_arg);
        if (r < 0) {
                snprintf(why, EXEC_VERIFY_WHY_MAX,
                         "%s has a #! line drover does not run (it must name an absolute path "
                         "and end within %d bytes)",
                         path, EXEC_VERIFY_SHEBANG_MAX);
                return r;
        }
        if (r == 0) {
                ret->fd = TAKE_FD(fd);
                return 0;
        }
        ifd = exec_verify_open(ret->interp, why);
        if (ifd == -ENOENT) {
                snprintf(why, EXEC_VERIFY_WHY_MAX, "interpreter %s of %.200s not found",
                         ret->interp, path);
                return -ENOENT;
        }
        if (ifd < 0) {
                char inner[EXEC_VERIFY_WHY_MAX];
                memcpy(inner, why, sizeof(inner));
                snprintf(why, EXEC_VERIFY_WHY_MAX, "interpreter of %.150s: %.300s", path, inner);
                return ifd;
        }
        if (pread(ifd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!') {
                snprintf(why, EXEC_VERIFY_WHY_MAX, "interpreter %s of %s is itself a script",
                         ret->interp, path);
                return -ENOEXEC;
        }
        ret->script = true;
        ret->fd = TAKE_FD(ifd);
        return 0;
}

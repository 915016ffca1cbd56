/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>

#include "base/util.h"

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t random_u64(void) {
        uint64_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = now_usec(CLOCK_MONOTONIC) * 6364136223846793005ULL + (uint64_t) getpid();
        return v;
}

double random_unit(void) {
        return (double) (random_u64() >> 11) / (double) (1ULL << 53);
}

uint64_t backoff_full_jitter_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec,
                                  double unit) {
        uint64_t ceiling = base_usec;

        for (unsigned i = 0; i < attempt && ceiling < cap_usec; i++)
                ceiling = ceiling > UINT64_MAX / 2 ? UINT64_MAX : ceiling * 2;
        ceiling = MIN(ceiling, cap_usec);
        if (unit < 0 || unit >= 1)
                unit = 0;
        return (uint64_t) ((double) ceiling * unit);
}

int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        struct stat st;

        /* O_NONBLOCK: a FIFO put where a file should be must not stop us in open(). What
         * is not a regular file is refused before a single read. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, max + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -1;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                dir[1] = '\0';
        else
                *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *p = data;
        int r;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                p += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0 || rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        /* The rename lives in the directory: without this a power loss can bring the
         * old file back (or none), losing what was just recorded. */
        return fsync_parent_dir(path);
fail:
        (void) unlink(tmp);
        return r;
}

int file_check_trusted(const char *path, const char **ret_why) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (geteuid() != 0)
                return 0;
        if (st.st_uid != 0) {
                *ret_why = "not owned by root";
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                *ret_why = "writable by group or others";
                return -EPERM;
        }
        return 0;
}

void strv_free(char **l) {
        for (char **p = l; p && *p; p++)
                free(*p);
        free(l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        _cleanup_strv_free_ char **c = calloc(n + 1, sizeof(char *));

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i])))
                        return NULL;
        return TAKE_PTR(c);
}

/* systemd joins several directories with ':'; ours is the first. */
static const char *first_dir(const char *env, const char *fallback, char buf[static PATH_MAX]) {
        const char *e = getenv(env);

        if (isempty(e))
                return fallback;
        snprintf(buf, PATH_MAX, "%.*s", (int) strcspn(e, ":"), e);
        return buf;
}

const char *drover_state_dir(void) {
        static char buf[PATH_MAX];

        return first_dir("STATE_DIRECTORY", LOCALSTATEDIR "/lib/drover", buf);
}

const char *drover_runtime_dir(void) {
        static char buf[PATH_MAX];

        return first_dir("RUNTIME_DIRECTORY", RUNSTATEDIR "/drover", buf);
}

const char *drover_default_config(void) {
        return SYSCONFDIR "/drover/drover.conf";
}

void secure_wipe(void *p, size_t n) {
        if (p)
                explicit_bzero(p, n);
}

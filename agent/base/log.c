/* SPDX-License-Identifier: MIT */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "base/log.h"

/* The two pieces of process-wide state logging needs (CONVENTIONS.md rule 5). */
static int max_level = LOG_INFO;
static enum { SINK_TERMINAL, SINK_PREFIXED, SINK_JOURNAL } sink = SINK_TERMINAL;

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_open(void) {
        const char *lvl = getenv("DROVER_LOG_LEVEL");

        if (stderr_is_journal())
                sink = SINK_JOURNAL;
        else if (isatty(STDERR_FILENO))
                sink = SINK_TERMINAL;
        else
                sink = SINK_PREFIXED;
        if (lvl && lvl[0] >= '0' && lvl[0] <= '7' && !lvl[1])
                max_level = lvl[0] - '0';
        else if (lvl && streq(lvl, "debug"))
                max_level = LOG_DEBUG;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

static void log_to_journal(int level, const char *const *fields, const char *msg) {
        struct iovec iov[32];
        char prio[16], *m = NULL;
        size_t n = 0;

        snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return;
        iov[n++] = (struct iovec){ m, strlen(m) };
        iov[n++] = (struct iovec){ prio, strlen(prio) };
        iov[n++] = (struct iovec){ (char *) "SYSLOG_IDENTIFIER=drover", 24 };
        for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec){ (char *) fields[i], strlen(fields[i]) };
        (void) sd_journal_sendv(iov, (int) n);
        free(m);
}

void log_fieldsv(int level, const char *const *fields, const char *fmt, va_list ap) {
        char buf[2048];
        int saved = errno;

        if (level > max_level)
                return;
        errno = saved;
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        if (sink == SINK_JOURNAL)
                log_to_journal(level, fields, buf);
        else if (sink == SINK_PREFIXED)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "%s\n", buf);
        errno = saved;
}

void log_fields(int level, const char *const *fields, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_fieldsv(level, fields, fmt, ap);
        va_end(ap);
}

int log_errno(int level, int err, const char *fmt, ...) {
        va_list ap;

        err = err < 0 ? -err : err;
        errno = err;
        va_start(ap, fmt);
        log_fieldsv(level, NULL, fmt, ap);
        va_end(ap);
        return -err;
}

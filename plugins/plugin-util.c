/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "plugin-util.h"

int plugin_parse_double(const char *s, double *ret) {
        char *end = NULL;
        double v;

        if (isempty(s) || isspace((unsigned char) s[0]))
                return -EINVAL;
        /* strtod would take "inf", "nan" and hex floats; a threshold is a decimal. */
        for (const char *p = s; *p; p++)
                if (!strchr("0123456789+-.eE", *p))
                        return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || !end || *end != '\0' || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

int plugin_parse_state(const char *s, NagiosStatus *ret) {
        for (NagiosStatus i = NAGIOS_OK; i < _NAGIOS_STATUS_MAX; i++)
                if (s && strcasecmp(s, nagios_status_name(i)) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

int plugin_range_parse(const char *s, PluginRange *ret) {
        PluginRange r = { .set = true };
        char buf[64];
        char *colon, *start, *end;

        if (isempty(s) || strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(r.text, s);
        strcpy(buf, s);
        start = buf;
        if (*start == '@') {
                r.inside = true;
                start++;
        }
        colon = strchr(start, ':');
        if (colon) {
                *colon = '\0';
                end = colon + 1;
                if (streq(start, "~"))
                        r.start_inf = true;
                else if (*start == '\0')
                        r.start = 0;
                else if (plugin_parse_double(start, &r.start) < 0)
                        return -EINVAL;
        } else {
                end = start;
                r.start = 0;
        }
        if (*end == '\0') {
                if (!colon) /* "" or "@" */
                        return -EINVAL;
                r.end_inf = true;
        } else if (plugin_parse_double(end, &r.end) < 0)
                return -EINVAL;
        if (!r.start_inf && !r.end_inf && r.start > r.end)
                return -EINVAL;
        *ret = r;
        return 0;
}

bool plugin_range_alert(const PluginRange *r, double v) {
        bool in;

        if (!r || !r->set)
                return false;
        in = (r->start_inf || v >= r->start) && (r->end_inf || v <= r->end);
        return r->inside ? in : !in;
}

NagiosStatus plugin_thresholds(const PluginRange *warn, const PluginRange *crit, double v) {
        if (plugin_range_alert(crit, v))
                return NAGIOS_CRITICAL;
        if (plugin_range_alert(warn, v))
                return NAGIOS_WARNING;
        return NAGIOS_OK;
}

static void appendv(char *buf, size_t size, const char *fmt, va_list ap) _printf_(3, 0);
static void appendv(char *buf, size_t size, const char *fmt, va_list ap) {
        size_t len = strnlen(buf, size);

        if (len + 1 >= size)
                return;
        (void) vsnprintf(buf + len, size - len, fmt, ap);
}

static void append(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void append(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        appendv(buf, size, fmt, ap);
        va_end(ap);
}

void plugin_msg(PluginOutput *o, const char *sep, const char *fmt, ...) {
        va_list ap;

        if (o->msg[0] && sep)
                append(o->msg, sizeof(o->msg), "%s", sep);
        va_start(ap, fmt);
        appendv(o->msg, sizeof(o->msg), fmt, ap);
        va_end(ap);
}

void plugin_format_number(char *buf, size_t n, double v) {
        size_t len;

        if (!isfinite(v)) {
                snprintf(buf, n, "U");
                return;
        }
        if (v == floor(v) && fabs(v) < 1e15) {
                snprintf(buf, n, "%.0f", v);
                return;
        }
        snprintf(buf, n, "%.6f", v);
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '0')
                buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
                buf[--len] = '\0';
}

void plugin_perf(PluginOutput *o, const char *label, double value, const char *uom,
                 const PluginRange *warn, const PluginRange *crit, const char *min,
                 const char *max) {
        char num[64];

        plugin_format_number(num, sizeof(num), value);
        append(o->perf, sizeof(o->perf), "%s'%s'=%s%s;%s;%s;%s;%s", o->perf[0] ? " " : "", label,
               num, strempty(uom), warn && warn->set ? warn->text : "",
               crit && crit->set ? crit->text : "", strempty(min), strempty(max));
}

int plugin_format_line(char *buf, size_t n, const char *name, NagiosStatus s, const char *msg,
                       const char *perf) {
        return snprintf(buf, n, "%s %s - %s%s%s", name, nagios_status_name(s), strempty(msg),
                        isempty(perf) ? "" : " | ", strempty(perf));
}

int plugin_finish(const char *name, NagiosStatus s, const PluginOutput *o) {
        char line[PLUGIN_MSG_MAX + PLUGIN_PERF_MAX + 64];

        (void) plugin_format_line(line, sizeof(line), name, s, o->msg, o->perf);
        printf("%s\n", line);
        (void) fflush(stdout);
        return (int) s;
}

void plugin_die(const char *name, NagiosStatus s, const char *fmt, ...) {
        PluginOutput o = {};
        va_list ap;

        va_start(ap, fmt);
        appendv(o.msg, sizeof(o.msg), fmt, ap);
        va_end(ap);
        plugin_sanitize(o.msg);
        exit(plugin_finish(name, s, &o));
}

void plugin_sanitize(char *s) {
        for (; s && *s; s++)
                if (*s == '|')
                        *s = '/';
                else if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        *s = ' ';
}

int plugin_parse_timeout(const char *s, unsigned *ret_seconds, NagiosStatus *ret_state) {
        NagiosStatus state = NAGIOS_CRITICAL;
        char buf[32], *colon, *end = NULL;
        unsigned long v;

        if (isempty(s) || strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        colon = strchr(buf, ':');
        if (colon) {
                *colon = '\0';
                if (plugin_parse_state(colon + 1, &state) < 0)
                        return -EINVAL;
        }
        if (!isdigit((unsigned char) buf[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(buf, &end, 10);
        if (errno != 0 || *end != '\0' || v == 0 || v > 86400)
                return -EINVAL;
        *ret_seconds = (unsigned) v;
        *ret_state = state;
        return 0;
}

/* The alarm handler may only write(2) and _exit(2): the line is formatted when armed. */
static char timeout_line[256];
static NagiosStatus timeout_state = NAGIOS_CRITICAL;

static void on_alarm(int sig) {
        ssize_t r = write(STDOUT_FILENO, timeout_line, strlen(timeout_line));
        (void) r;
        _exit((int) timeout_state);
}

void plugin_arm_timeout(const char *name, unsigned seconds, NagiosStatus state) {
        struct sigaction sa = { .sa_handler = on_alarm };
        char msg[64];

        snprintf(msg, sizeof(msg), "timed out after %u s", seconds);
        (void) plugin_format_line(timeout_line, sizeof(timeout_line) - 1, name, state, msg, NULL);
        strcat(timeout_line, "\n");
        timeout_state = state;
        (void) sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGALRM, &sa, NULL);
        (void) alarm(seconds);
}

int plugin_read_file(const char *path, size_t max, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
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
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int plugin_write_file_atomic(const char *path, const char *data, size_t len) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                data += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0 || rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

int plugin_state_dir(const char *opt, char **ret) {
        const char *env = getenv("STATE_DIRECTORY");
        char *s;

        if (!isempty(opt))
                s = strdup(opt);
        else if (!isempty(env)) {
                /* systemd passes a colon-separated list; the first is ours. */
                size_t n = strcspn(env, ":");
                if (asprintf(&s, "%.*s/plugins", (int) n, env) < 0)
                        s = NULL;
        } else
                s = strdup(LOCALSTATEDIR "/lib/drover/plugins");
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void plugin_print_version(const char *prog) {
        printf("%s (drover %s)\n", prog, PACKAGE_VERSION);
}

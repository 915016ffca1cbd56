/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdint.h>

#include "checks/nagios-output.h"
#include "base/text.h"

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *strndup_trim(const char *s, size_t n) {
        while (n > 0 && is_space(*s))
                s++, n--;
        while (n > 0 && is_space(s[n - 1]))
                n--;
        return strndup(s, n);
}

/* Drops '\r' before line ends and trailing blank space (plugins written on Windows). */
static char *long_output_clean(const char *s, size_t n) {
        char *out = strndup_trim(s, n), *w = out;

        if (!out)
                return NULL;
        for (const char *r = out; *r; r++)
                if (!(*r == '\r' && (r[1] == '\n' || r[1] == '\0')))
                        *w++ = *r;
        *w = '\0';
        /* What white space is left inside lines (tabs, a lone CR) is shown, not obeyed. */
        w = text_escape_untrusted(out, strlen(out), TEXT_ESCAPE_KEEP_NEWLINE);
        free(out);
        return w;
}

/* The message is one line: every control character left in it is escaped. */
static char *message_clean(const char *s, size_t n) {
        _cleanup_free_ char *t = strndup_trim(s, n);

        return t ? text_escape_untrusted(t, strlen(t), 0) : NULL;
}

/*
 * A decimal number as the guidelines allow ([-0-9.], plus an exponent that some plugins
 * print), all of s[0..n). No hex, inf or nan: strtod alone would accept them.
 */
static bool parse_number(const char *s, size_t n, double *ret) {
        char buf[64];
        size_t i = 0, digits = 0;
        double v;
        char *end;

        if (n == 0 || n >= sizeof(buf))
                return false;
        if (s[i] == '-' || s[i] == '+')
                i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                digits++;
        if (i < n && s[i] == '.')
                for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                        digits++;
        if (digits == 0)
                return false;
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1, exp_digits = 0;

                if (j < n && (s[j] == '-' || s[j] == '+'))
                        j++;
                for (; j < n && s[j] >= '0' && s[j] <= '9'; j++)
                        exp_digits++;
                if (exp_digits == 0)
                        return false;
                i = j;
        }
        if (i != n)
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        v = strtod(buf, &end);
        if (*end != '\0' || !isfinite(v))
                return false;
        *ret = v;
        return true;
}

/* Length of the leading number-looking part of s[0..n) (for value + UOM). */
static size_t number_prefix_len(const char *s, size_t n) {
        size_t i = 0;

        while (i < n &&
               ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '+' ||
                ((s[i] == 'e' || s[i] == 'E') && i > 0 && i + 1 < n &&
                 ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '-' || s[i + 1] == '+'))))
                i++;
        return i;
}

bool nagios_uom_known(const char *uom) {
        static const char *const known[] = { "",   "s",  "ms", "us", "%", "B",
                                             "KB", "MB", "GB", "TB", "c" };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(uom, known[i]))
                        return true;
        return false;
}

static bool strpbrk_n(const char *s, size_t n, const char *set) {
        for (size_t i = 0; i < n; i++)
                if (strchr(set, s[i]))
                        return true;
        return false;
}

static void perfdata_done(NagiosPerfdata *p) {
        free(p->label);
        free(p->uom);
        free(p->warn);
        free(p->crit);
}

/* min/max: a number, optionally followed by the value's own UOM; anything else absent. */
static void parse_limit(const char *s, size_t n, const char *uom, bool *has, double *v) {
        size_t u = strlen(uom);

        *has = parse_number(s, n, v);
        if (!*has && u > 0 && n > u && memcmp(s + n - u, uom, u) == 0)
                *has = parse_number(s, n - u, v);
}

static char *field_dup(const char *s, size_t n) {
        return n == 0 ? NULL : strndup(s, n);
}

/* The part after '=': value[UOM];[warn];[crit];[min];[max]. 0 ok, -EINVAL malformed. */
static int parse_data(const char *s, size_t n, NagiosPerfdata *p) {
        const char *f[5] = {};
        size_t fl[5] = {}, k = 0;
        size_t num;

        for (size_t i = 0, start = 0; i <= n && k < ELEMENTSOF(f); i++)
                if (i == n || s[i] == ';') {
                        f[k] = s + start;
                        fl[k++] = i - start;
                        start = i + 1;
                }
        if (fl[0] == 1 && f[0][0] == 'U') {
                p->has_value = false;
                p->uom = strdup("");
        } else {
                num = number_prefix_len(f[0], fl[0]);
                if (!parse_number(f[0], num, &p->value))
                        return -EINVAL;
                /* A UOM has no digits: "0x10" is not 0 of unit "x10". */
                if (fl[0] - num > 16 || strpbrk_n(f[0] + num, fl[0] - num, "0123456789.+-"))
                        return -EINVAL;
                p->has_value = true;
                p->uom = strndup(f[0] + num, fl[0] - num);
        }
        if (!p->uom)
                return -ENOMEM;
        if ((fl[1] > 0 && !(p->warn = field_dup(f[1], fl[1]))) ||
            (fl[2] > 0 && !(p->crit = field_dup(f[2], fl[2]))))
                return -ENOMEM;
        if (k > 3)
                parse_limit(f[3], fl[3], p->uom, &p->has_min, &p->min);
        if (k > 4)
                parse_limit(f[4], fl[4], p->uom, &p->has_max, &p->max);
        return 0;
}

/* Reads a label at *s; on success *s points at the '='. */
static int parse_label(const char **s, char **ret) {
        const char *p = *s;
        _cleanup_free_ char *label = NULL;
        size_t n = 0;

        if (*p == '\'') {
                label = malloc(NAGIOS_LABEL_MAX + 1);
                if (!label)
                        return -ENOMEM;
                for (p++;; p++) {
                        /* Control white space is the one thing the text may still
                         * hold (see nagios_output_parse): no label has any. */
                        if (*p == '\0' || (is_space(*p) && *p != ' '))
                                return *s = p, -EINVAL;
                        if (*p == '\'') {
                                if (p[1] != '\'')
                                        break;
                                p++; /* '' is an escaped quote */
                        }
                        if (n == NAGIOS_LABEL_MAX)
                                return -EINVAL;
                        label[n++] = *p;
                }
                label[n] = '\0';
                p++;
        } else {
                while (*p && *p != '=' && !is_space(*p))
                        p++;
                n = (size_t) (p - *s);
                if (n > NAGIOS_LABEL_MAX)
                        return *s = p, -EINVAL;
                label = strndup(*s, n);
                if (!label)
                        return -ENOMEM;
        }
        *s = p;
        if (*p != '=' || n == 0)
                return -EINVAL;
        *ret = TAKE_PTR(label);
        return 0;
}

static int perfdata_parse_all(const char *s, NagiosOutput *o) {
        while (*s && o->n_perfdata < NAGIOS_PERFDATA_MAX) {
                NagiosPerfdata p = {};
                const char *data;
                int r;

                while (is_space(*s))
                        s++;
                if (!*s)
                        break;
                r = parse_label(&s, &p.label);
                if (r == 0) {
                        data = ++s;
                        while (*s && !is_space(*s))
                                s++;
                        r = parse_data(data, (size_t) (s - data), &p);
                }
                if (r == -ENOMEM) {
                        perfdata_done(&p);
                        return r;
                }
                if (r < 0) {
                        /* Malformed: skip to the next whitespace-separated item. */
                        perfdata_done(&p);
                        while (*s && !is_space(*s))
                                s++;
                        continue;
                }
                if (o->n_perfdata == o->n_allocated) {
                        size_t n = MAX(o->n_allocated * 2, (size_t) 8);
                        NagiosPerfdata *a = reallocarray(o->perfdata, n, sizeof(*a));

                        if (!a) {
                                perfdata_done(&p);
                                return -ENOMEM;
                        }
                        o->perfdata = a;
                        o->n_allocated = n;
                }
                o->perfdata[o->n_perfdata++] = p;
        }
        return 0;
}

static int output_new(NagiosOutput **ret) {
        NagiosOutput *o = calloc(1, sizeof(*o));

        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

int nagios_output_parse(const char *buf, size_t len, NagiosOutput **ret) {
        _cleanup_(nagios_output_freep) NagiosOutput *o = NULL;
        _cleanup_free_ char *text = NULL;
        char *nl, *pipe, *rest;
        int r;

        /* Everything unsafe to show is escaped now, but the white space the parser splits
         * on; the message and long output escape what is left of it once split. Perfdata
         * items hold no white space, so they are safe as they are. */
        text = text_escape_untrusted(buf, MIN(len, (size_t) NAGIOS_OUTPUT_MAX),
                                     TEXT_ESCAPE_KEEP_SPACE);
        if (!text)
                return -ENOMEM;
        r = output_new(&o);
        if (r < 0)
                return r;

        nl = strchr(text, '\n');
        rest = nl ? nl + 1 : text + strlen(text);
        if (nl)
                *nl = '\0';
        pipe = strchr(text, '|');
        if (pipe)
                *pipe = '\0';
        o->message = message_clean(text, strlen(text));
        if (!o->message)
                return -ENOMEM;
        if (pipe) {
                r = perfdata_parse_all(pipe + 1, o);
                if (r < 0)
                        return r;
        }

        pipe = strchr(rest, '|');
        o->long_output = long_output_clean(rest, pipe ? (size_t) (pipe - rest) : strlen(rest));
        if (!o->long_output)
                return -ENOMEM;
        if (pipe) {
                r = perfdata_parse_all(pipe + 1, o);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int nagios_output_new_message(const char *message, NagiosOutput **ret) {
        _cleanup_(nagios_output_freep) NagiosOutput *o = NULL;
        int r = output_new(&o);

        if (r < 0)
                return r;
        o->message = strdup(message);
        o->long_output = strdup("");
        if (!o->message || !o->long_output)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int nagios_output_set_message(NagiosOutput *o, const char *message) {
        char *m = strdup(message);

        if (!m)
                return -ENOMEM;
        free(o->message);
        o->message = m;
        return 0;
}

NagiosOutput *nagios_output_free(NagiosOutput *o) {
        if (!o)
                return NULL;
        for (size_t i = 0; i < o->n_perfdata; i++)
                perfdata_done(&o->perfdata[i]);
        free(o->perfdata);
        free(o->message);
        free(o->long_output);
        return mfree(o);
}

/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/metric-name.h"
#include "metrics/statsd-format.h"

#define ADDRESS_MAX 64
/* A line: name, value, type and tags, twice for a negative gauge: bounded by a
 * datagram, so a buffer of two is always enough to find out it is too long. */
#define GROUP_MAX (2 * STATSD_DATAGRAM_MAX)

struct StatsdPacker {
        char prefix[STATSD_PREFIX_MAX + 1];
        StatsdTags tags;
        char *datagrams[STATSD_MAX_DATAGRAMS]; /* allocated on first use, kept on clear */
        size_t lens[STATSD_MAX_DATAGRAMS];
        size_t n; /* datagrams in use */
};

static int parse_port(const char *s, in_port_t *ret) {
        unsigned long v;
        char *end;

        if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        v = strtoul(s, &end, 10);
        if (v < 1 || v > 65535)
                return -EINVAL;
        *ret = htons((in_port_t) v);
        return 0;
}

int statsd_address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = {};
        char host[ADDRESS_MAX + 1];
        const char *colon, *port;
        size_t hlen;
        socklen_t len;
        in_port_t p;

        if (!s || strlen(s) > ADDRESS_MAX)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                hlen = (size_t) (close - s - 1);
                memcpy(host, s + 1, hlen);
                port = close + 2;
        } else {
                colon = strrchr(s, ':');
                if (!colon || memchr(s, ':', (size_t) (colon - s)))
                        return -EINVAL; /* a bare IPv6 address needs its brackets */
                hlen = (size_t) (colon - s);
                memcpy(host, s, hlen);
                port = colon + 1;
        }
        host[hlen] = '\0';
        if (parse_port(port, &p) < 0)
                return -EINVAL;
        if (s[0] == '[') {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
                if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
                        return -EINVAL;
                a->sin6_family = AF_INET6;
                a->sin6_port = p;
                len = sizeof(*a);
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *) &ss;
                if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                        return -EINVAL;
                a->sin_family = AF_INET;
                a->sin_port = p;
                len = sizeof(*a);
        }
        if (ret)
                *ret = ss;
        if (ret_len)
                *ret_len = len;
        return 0;
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

bool statsd_prefix_valid(const char *prefix) {
        bool part_empty = true;

        if (!prefix || strlen(prefix) > STATSD_PREFIX_MAX)
                return false;
        if (!*prefix)
                return true;
        for (const char *c = prefix; *c; c++) {
                if (*c == '.') {
                        if (part_empty)
                                return false;
                        part_empty = true;
                } else if (is_name_char(*c))
                        part_empty = false;
                else
                        return false;
        }
        return !part_empty;
}

size_t statsd_tag_value(const char *in, char *buf, size_t size) {
        size_t n = 0;

        if (size == 0)
                return 0;
        for (const char *c = in ? in : ""; *c && n + 1 < size; c++)
                buf[n++] = is_name_char(*c) || strchr(".:/-", *c) ? *c : '_';
        buf[n] = '\0';
        return n;
}

int statsd_format_value(double v, char *buf, size_t size) {
        int n = 0;

        if (!isfinite(v))
                return -EINVAL;
        if (v == 0)
                v = 0; /* no "-0": a sign is a delta */
        /* The shortest form that reads back as the same double. */
        for (int prec = 1; prec <= 17; prec++) {
                n = snprintf(buf, size, "%.*g", prec, v);
                if (n < 0 || (size_t) n >= size)
                        return -ENOBUFS;
                if (strtod(buf, NULL) == v)
                        break;
        }
        return n;
}

int statsd_packer_new(const char *prefix, StatsdTags tags, StatsdPacker **ret) {
        StatsdPacker *p;

        if (!statsd_prefix_valid(prefix) || tags < 0 || tags >= _STATSD_TAGS_MAX)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        strcpy(p->prefix, prefix);
        p->tags = tags;
        *ret = p;
        return 0;
}

StatsdPacker *statsd_packer_free(StatsdPacker *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < STATSD_MAX_DATAGRAMS; i++)
                free(p->datagrams[i]);
        free(p);
        return NULL;
}

/* Appends "." and the sanitised part to buf at *n; false when it does not fit or the
 * part sanitises to nothing. */
static bool append_part(char *buf, size_t size, size_t *n, const char *part) {
        char clean[STATSD_PART_MAX + 1];
        int r = metric_name_sanitize(part, clean, sizeof(clean));

        if (r < 0 || *n + 1 + (size_t) r >= size)
                return false;
        *n += (size_t) snprintf(buf + *n, size - *n, "%s%s", *n ? "." : "", clean);
        return true;
}

/* "<prefix>.<first part>[.<check>].<other parts>" */
static int build_name(const StatsdPacker *p, const char *check, const char *name, char *buf,
                      size_t size) {
        char part[STATSD_DATAGRAM_MAX];
        size_t n = 0;
        bool first = true;

        buf[0] = '\0';
        if (*p->prefix)
                n = (size_t) snprintf(buf, size, "%s", p->prefix);
        for (const char *s = name; *s || first;) {
                size_t len = strcspn(s, ".");
                if (len >= sizeof(part))
                        return -E2BIG;
                memcpy(part, s, len);
                part[len] = '\0';
                if (!append_part(buf, size, &n, part))
                        return -EINVAL;
                if (first && check && p->tags == STATSD_TAGS_NONE &&
                    !append_part(buf, size, &n, check))
                        return -EINVAL;
                first = false;
                s += len;
                if (*s == '.')
                        s++;
                else
                        break;
        }
        return (int) n;
}

static void add_tag(char *buf, size_t size, size_t *n, const char *key, const char *value) {
        char v[STATSD_TAG_VALUE_MAX + 1];

        if (!statsd_tag_value(value, v, sizeof(v)) || *n >= size)
                return;
        *n += (size_t) snprintf(buf + *n, size - *n, "%s%s:%s", *n ? "," : "|#", key, v);
}

static void build_tags(const StatsdPacker *p, const StatsdIdentity *id, const char *check,
                       char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        if (p->tags != STATSD_TAGS_DOGSTATSD)
                return;
        if (check)
                add_tag(buf, size, &n, "check", check);
        if (id && id->asg)
                add_tag(buf, size, &n, "autoscaling_group", id->asg);
        if (id && id->per_instance && id->instance_id)
                add_tag(buf, size, &n, "instance_id", id->instance_id);
}

/* Puts one group of lines into the last datagram, or a new one: never split. */
static int pack(StatsdPacker *p, const char *text, size_t len) {
        if (len > STATSD_DATAGRAM_MAX)
                return -E2BIG;
        if (p->n > 0 && p->lens[p->n - 1] + 1 + len <= STATSD_DATAGRAM_MAX) {
                char *d = p->datagrams[p->n - 1];
                d[p->lens[p->n - 1]] = '\n';
                memcpy(d + p->lens[p->n - 1] + 1, text, len);
                p->lens[p->n - 1] += 1 + len;
                return 0;
        }
        if (p->n == STATSD_MAX_DATAGRAMS)
                return -ENOBUFS;
        if (!p->datagrams[p->n] && !(p->datagrams[p->n] = malloc(STATSD_DATAGRAM_MAX)))
                return -ENOMEM;
        memcpy(p->datagrams[p->n], text, len);
        p->lens[p->n++] = len;
        return 0;
}

static const char *const type_codes[_STATSD_TYPE_MAX] = {
        [STATSD_GAUGE] = "g",
        [STATSD_TIMER] = "ms",
        [STATSD_COUNTER] = "c",
};

int statsd_packer_add(StatsdPacker *p, const StatsdIdentity *id, const char *check,
                      const char *name, double value, StatsdType type) {
        char mname[STATSD_DATAGRAM_MAX], tags[STATSD_DATAGRAM_MAX], num[64], group[GROUP_MAX];
        int r, n;

        if (!p || !name || type < 0 || type >= _STATSD_TYPE_MAX)
                return -EINVAL;
        r = build_name(p, check, name, mname, sizeof(mname));
        if (r < 0)
                return r;
        r = statsd_format_value(value, num, sizeof(num));
        if (r < 0)
                return r;
        build_tags(p, id, check, tags, sizeof(tags));
        if (type == STATSD_GAUGE && num[0] == '-')
                n = snprintf(group, sizeof(group), "%s:0|g%s\n%s:%s|g%s", mname, tags, mname, num,
                             tags);
        else
                n = snprintf(group, sizeof(group), "%s:%s|%s%s", mname, num, type_codes[type],
                             tags);
        if (n < 0 || (size_t) n >= sizeof(group))
                return -E2BIG;
        return pack(p, group, (size_t) n);
}

int statsd_packer_add_check(StatsdPacker *p, const StatsdIdentity *id, const char *check,
                            int status, double duration_ms) {
        int r = statsd_packer_add(p, id, check, "check.status", status, STATSD_GAUGE);

        if (r < 0)
                return r;
        return statsd_packer_add(p, id, check, "check.duration", duration_ms, STATSD_TIMER);
}

int statsd_packer_add_perfdata(StatsdPacker *p, const StatsdIdentity *id, const char *check,
                               const char *label, double value) {
        char clean[STATSD_PART_MAX + 1], name[STATSD_PART_MAX + 32];
        int r = metric_name_sanitize(label, clean, sizeof(clean));

        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "check.perfdata.%s", clean);
        return statsd_packer_add(p, id, check, name, value, STATSD_GAUGE);
}

size_t statsd_packer_n_datagrams(const StatsdPacker *p) {
        return p ? p->n : 0;
}

const char *statsd_packer_datagram(const StatsdPacker *p, size_t i, size_t *ret_len) {
        if (!p || i >= p->n)
                return NULL;
        if (ret_len)
                *ret_len = p->lens[i];
        return p->datagrams[i];
}

void statsd_packer_clear(StatsdPacker *p) {
        if (p)
                p->n = 0;
}

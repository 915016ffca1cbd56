/* SPDX-License-Identifier: MIT */
/* Validation of string values: URLs, names, paths. Pure except for user/group lookups. */
#include <arpa/inet.h>
#include <errno.h>
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "config/config-schema.h"
#include "base/netaddr.h"

/* scheme://host[:port][/] with nothing else; trailing '/' removed in place. */
static int parse_endpoint(char *url, bool *ret_https, bool *ret_loopback) {
        char host[256];
        const char *p;
        size_t n;
        bool https, loopback = false;

        if (strneq(url, "http://", 7))
                https = false, p = url + 7;
        else if (strneq(url, "https://", 8))
                https = true, p = url + 8;
        else
                return -EINVAL;
        if (*p == '[') {
                struct in6_addr a6;
                n = strcspn(p + 1, "]");
                if (p[1 + n] != ']' || n == 0 || n >= sizeof(host))
                        return -EINVAL;
                memcpy(host, p + 1, n);
                host[n] = 0;
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return -EINVAL;
                loopback = IN6_IS_ADDR_LOOPBACK(&a6);
                p += n + 2;
        } else {
                struct in_addr a4;
                n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
                if (n == 0 || n >= sizeof(host))
                        return -EINVAL;
                memcpy(host, p, n);
                host[n] = 0;
                if (strcasecmp(host, "localhost") == 0)
                        loopback = true;
                else if (inet_pton(AF_INET, host, &a4) == 1)
                        loopback = (ntohl(a4.s_addr) >> 24) == 127;
                p += n;
        }
        if (*p == ':') {
                char *end;
                unsigned long port;
                if (!isdigit((unsigned char) p[1]))
                        return -EINVAL;
                port = strtoul(p + 1, &end, 10);
                if (port < 1 || port > 65535 || end - p > 6)
                        return -EINVAL;
                p = end;
        }
        if (streq(p, "/"))
                url[p - url] = 0;
        else if (*p)
                return -EINVAL;
        *ret_https = https;
        *ret_loopback = loopback;
        return 0;
}

static bool name_exists(KeyCheck kc, const char *name) {
        char buf[16384];
        int r;

        if (kc == KC_USER) {
                struct passwd pw, *res = NULL;
                r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
                return r == ERANGE || res;
        }
        struct group gr, *res = NULL;
        r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
        return r == ERANGE || res;
}

static bool chars_in(const char *s, const char *extra) {
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr(extra, *s))
                        return false;
        return true;
}

const char *config_check_string(KeyCheck kc, char *v, char *buf, size_t bufsz) {
        bool https, loopback;

        switch (kc) {
        case KC_NONE:
                return NULL;
        case KC_IMDS_URL:
                if (parse_endpoint(v, &https, &loopback) < 0)
                        return "must be a URL like http://169.254.169.254 or "
                               "http://[fd00:ec2::254] "
                               "(host and optional port, no path)";
                return https ? "must use http:// (IMDS is plain HTTP on a link-local address)"
                             : NULL;
        case KC_AWS_URL:
                if (!*v)
                        return NULL;
                if (parse_endpoint(v, &https, &loopback) < 0)
                        return "must be a URL like https://ec2.us-east-1.amazonaws.com "
                               "(host and optional port, no path), or \"\"";
                if (!https && !loopback)
                        return "may use plain http:// only on loopback (127.0.0.0/8, ::1, "
                               "localhost); use https://";
                return NULL;
        case KC_REGION:
                if (*v && (strlen(v) > 32 || !islower((unsigned char) v[0]) || !chars_in(v, "-") ||
                           strpbrk(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
                        return "must be an AWS region name like us-east-1, or \"\"";
                return NULL;
        case KC_USER:
        case KC_GROUP:
                if (!*v)
                        return NULL;
                if (strlen(v) > 64 || !chars_in(v, "._-$"))
                        return kc == KC_USER ? "is not a valid user name"
                                             : "is not a valid group name";
                if (!name_exists(kc, v)) {
                        snprintf(buf, bufsz, "names %s '%s' that does not exist",
                                 kc == KC_USER ? "a user" : "a group", v);
                        return buf;
                }
                return NULL;
        case KC_ABS_PATH:
                return v[0] == '/' ? NULL : "must be an absolute path";
        case KC_READABLE_FILE:
                if (!*v)
                        return NULL;
                if (v[0] != '/')
                        return "must be an absolute path, or \"\"";
                if (access(v, R_OK) < 0) {
                        snprintf(buf, bufsz, "cannot read %s: %s", v, strerror(errno));
                        return buf;
                }
                return NULL;
        case KC_NAMESPACE:
                if (!*v || strlen(v) > 255 || !chars_in(v, ".-_/#: "))
                        return "must be 1 to 255 characters of letters, digits and . - _ / # : "
                               "space";
                return strneq(v, "AWS/", 4) ? "must not start with AWS/ (reserved for AWS)" : NULL;
        case KC_HOOK_NAME:
                if (*v && (strlen(v) > 255 || !chars_in(v, "-_/")))
                        return "must be a lifecycle hook name (letters, digits, - _ /), or \"\"";
                return NULL;
        case KC_UNIT:
                if (*v && (strlen(v) > 255 || !chars_in(v, ":_.\\@-") || v[0] == '.' ||
                           !strchr(v, '.') || v[strlen(v) - 1] == '.'))
                        return "must be a systemd unit name like nginx.service, or \"\"";
                return NULL;
        case KC_ARGV:
                return v[0] == '/' ? NULL : "must start with an absolute path to the program";
        case KC_STATSD_ADDR:
                /* Numeric only: a name would need DNS, and nothing in the loop may wait. */
                return statsd_address_parse(v, NULL, NULL) < 0
                               ? "must be a numeric address and port like 127.0.0.1:8125 or "
                                 "[::1]:8125 (no host names)"
                               : NULL;
        case KC_STATSD_PREFIX:
                return statsd_prefix_valid(v) ? NULL
                                              : "must be \"\" or dot-separated names of letters, "
                                                "digits and _ (like \"drover\" or \"prod.web\"), "
                                                "at most 128 characters";
        case KC_LISTEN: {
                struct sockaddr_storage ss;
                socklen_t len;
                return netaddr_parse_listen(v, &ss, &len) < 0
                               ? "must be a numeric address and port like \"0.0.0.0:8053\" or "
                                 "\"[::]:8053\" (no host names; port 1-65535)"
                               : NULL;
        }
        case KC_CIDR: {
                NetPrefix p;
                return netaddr_parse_prefix(v, &p) < 0
                               ? "must be a network like \"10.0.0.0/8\" or \"2001:db8::/32\", or "
                                 "one address, with no bits set past the prefix length"
                               : NULL;
        }
        }
        return NULL;
}

static bool ident_char(char c) {
        return isalnum((unsigned char) c) || c == '_' || c == '-' || c == '*' || c == '.';
}

/* Skips a string, a comment or a newline at p; NULL if p starts none of them. */
static const char *skip_non_code(const char *p, int *line) {
        if (*p == '\n') {
                (*line)++;
                return p + 1;
        }
        if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                        if (*p == '\\' && p[1])
                                p++;
                        if (*p == '\n')
                                (*line)++;
                }
                return *p ? p + 1 : p;
        }
        if (*p == '#' || (p[0] == '/' && p[1] == '/'))
                return strchrnul(p, '\n');
        if (p[0] == '/' && p[1] == '*') {
                for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                        if (*p == '\n')
                                (*line)++;
                return *p ? p + 2 : p;
        }
        return NULL;
}

/* The number token at p (libconfig's grammar); true if it is an integer that wraps. */
static bool integer_wraps(const char *p, const char **ret_end) {
        const char *q = p + (*p == '-' || *p == '+');
        bool hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X'), is_long;
        unsigned long long u = 0;
        long long v = 0;
        char *end;

        errno = 0;
        if (hex) {
                u = strtoull(q + 2, &end, 16);
                if (*p != '0') /* a sign before hex: not libconfig's; leave it to the parser */
                        return *ret_end = end, false;
        } else {
                v = strtoll(p, &end, 10);
                if (*end == '.' || *end == 'e' || *end == 'E') { /* a float */
                        (void) strtod(p, &end);
                        return *ret_end = end, false;
                }
        }
        is_long = *end == 'L';
        *ret_end = end + (end[0] == 'L') + (end[0] == 'L' && end[1] == 'L');
        if (errno == ERANGE)
                return true;
        if (hex)
                return u > (is_long ? (unsigned long long) INT64_MAX : 0x7fffffffULL);
        return !is_long && (v < INT32_MIN || v > INT32_MAX);
}

const char *config_find_wrapped_integer(const char *p, int *line, const char **ret_start,
                                        size_t *ret_len) {
        const char *prev = NULL;

        while (*p) {
                const char *next = skip_non_code(p, line), *end;
                bool number_start = isdigit((unsigned char) *p) ||
                                    ((*p == '-' || *p == '+') && isdigit((unsigned char) p[1]));

                if (next) {
                        prev = NULL;
                        p = next;
                        continue;
                }
                if (!number_start || (prev && ident_char(*prev))) {
                        prev = p++;
                        continue;
                }
                if (integer_wraps(p, &end)) {
                        *ret_start = p;
                        *ret_len = (size_t) (end - p);
                        return end;
                }
                prev = end - 1;
                p = end;
        }
        return NULL;
}

int config_resolve_credentials(const char *user, const char *group, uid_t *ret_uid,
                               gid_t *ret_gid) {
        char buf[16384];
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;
        gid_t gid;

        if (isempty(user)) {
                *ret_uid = (uid_t) -1;
                *ret_gid = (gid_t) -1;
                return 0;
        }
        if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwr) != 0 || !pwr)
                return -ESRCH;
        gid = pw.pw_gid;
        if (!isempty(group)) {
                if (getgrnam_r(group, &gr, buf, sizeof(buf), &grr) != 0 || !grr)
                        return -ENXIO;
                gid = gr.gr_gid;
        }
        *ret_uid = pw.pw_uid;
        *ret_gid = gid;
        return 0;
}

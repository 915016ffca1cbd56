/* SPDX-License-Identifier: MIT */
/* Numeric addresses, prefixes and the allow-list match. Pure: no I/O, no logging. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/macro.h"
#include "base/netaddr.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Decimal 0..max, digits only, no sign or leading zero (but "0"), at most 5 digits. */
static int parse_small_uint(const char *s, unsigned max, unsigned *ret) {
        unsigned v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static bool host_bits_clear(const uint8_t *a, unsigned bits, unsigned total) {
        for (unsigned b = bits; b < total; b++)
                if (a[b / 8] & (0x80 >> (b % 8)))
                        return false;
        return true;
}

int netaddr_parse_prefix(const char *s, NetPrefix *ret) {
        char buf[NETADDR_TEXT_MAX + 1], *slash;
        NetPrefix p = {};
        unsigned total;

        if (!s || strlen(s) > NETADDR_TEXT_MAX)
                return -EINVAL;
        strcpy(buf, s);
        slash = strchr(buf, '/');
        if (slash)
                *slash++ = 0;
        if (inet_pton(AF_INET, buf, p.addr) == 1) {
                p.family = AF_INET;
                total = 32;
        } else if (inet_pton(AF_INET6, buf, p.addr) == 1) {
                p.family = AF_INET6;
                total = 128;
        } else
                return -EINVAL;
        p.bits = total;
        if (slash && parse_small_uint(slash, total, &p.bits) < 0)
                return -EINVAL;
        if (!host_bits_clear(p.addr, p.bits, total))
                return -EINVAL;
        /* ::ffff:10.0.0.0/104 is 10.0.0.0/8; a shorter one spans more than IPv4-mapped
         * space and stays an IPv6 prefix. */
        if (p.family == AF_INET6 && p.bits >= 96 && memcmp(p.addr, v4_mapped, 12) == 0) {
                memmove(p.addr, p.addr + 12, 4);
                memset(p.addr + 4, 0, 12);
                p.family = AF_INET;
                p.bits -= 96;
        }
        *ret = p;
        return 0;
}

/* The source as (family, 4 or 16 bytes), mapped IPv6 turned into IPv4. */
static int source_of(const struct sockaddr *sa, socklen_t len, uint8_t addr[16]) {
        if (!sa)
                return -EINVAL;
        if (sa->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in)) {
                memcpy(addr, &((const struct sockaddr_in *) sa)->sin_addr, 4);
                return AF_INET;
        }
        if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6)) {
                const uint8_t *a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
                if (memcmp(a, v4_mapped, 12) == 0) {
                        memcpy(addr, a + 12, 4);
                        return AF_INET;
                }
                memcpy(addr, a, 16);
                return AF_INET6;
        }
        return -EAFNOSUPPORT;
}

static bool prefix_covers(const NetPrefix *p, int family, const uint8_t *a) {
        unsigned full = p->bits / 8, rest = p->bits % 8;

        if (p->family != family)
                return false;
        if (memcmp(p->addr, a, full) != 0)
                return false;
        return rest == 0 || ((p->addr[full] ^ a[full]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

bool netaddr_prefix_match(const NetPrefix *p, const struct sockaddr *sa, socklen_t len) {
        uint8_t a[16];
        int family = source_of(sa, len, a);

        return family > 0 && prefix_covers(p, family, a);
}

bool netaddr_allowed(const NetPrefix *prefixes, size_t n, const struct sockaddr *sa,
                     socklen_t len) {
        static const NetPrefix loopback[] = {
                { .family = AF_INET, .addr = { 127 }, .bits = 8 },
                { .family = AF_INET6, .addr = { [15] = 1 }, .bits = 128 },
        };
        uint8_t a[16];
        int family = source_of(sa, len, a);

        if (family < 0)
                return false;
        if (n == 0) {
                prefixes = loopback;
                n = ELEMENTSOF(loopback);
        }
        for (size_t i = 0; i < n; i++)
                if (prefix_covers(&prefixes[i], family, a))
                        return true;
        return false;
}

int netaddr_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char buf[NETADDR_TEXT_MAX + 1], *host, *port;
        struct sockaddr_storage ss = {};
        unsigned p;

        if (!s || strlen(s) > NETADDR_TEXT_MAX)
                return -EINVAL;
        strcpy(buf, s);
        if (buf[0] == '[') {
                char *close = strchr(buf, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                *close = 0;
                host = buf + 1;
                port = close + 2;
        } else {
                char *colon = strrchr(buf, ':');
                if (!colon || strchr(buf, ':') != colon) /* a bare IPv6 needs brackets */
                        return -EINVAL;
                *colon = 0;
                host = buf;
                port = colon + 1;
        }
        if (parse_small_uint(port, 65535, &p) < 0 || p == 0)
                return -EINVAL;
        if (buf[0] != '[' &&
            inet_pton(AF_INET, host, &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) p);
                *ret_len = sizeof(*in);
        } else if (buf[0] == '[' &&
                   inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) p);
                *ret_len = sizeof(*in6);
        } else
                return -EINVAL;
        *ret = ss;
        return 0;
}

const char *netaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size) {
        uint8_t a[16];
        int family = source_of(sa, len, a);

        if (family < 0 || !inet_ntop(family, a, buf, (socklen_t) size))
                snprintf(buf, size, "?");
        return buf;
}

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Numeric network addresses for the health endpoint (pure, never logs): the listen
 * entries "ADDR:PORT" / "[V6]:PORT" and the source allow-list "NET/BITS". Names are not
 * resolved: a config that means an address says it, and a listener never waits on DNS.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an
 * IPv4 client) is the IPv4 address: both the prefixes and the sources are normalised
 * before they are compared, so "10.0.0.0/8" admits 10.1.2.3 however it arrived, and
 * "::/0" means every IPv6 source, not every source.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_TEXT_MAX 64 /* longer input is not an address: -EINVAL, never parsed */

typedef struct NetPrefix {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        unsigned bits; /* 0..32 or 0..128 */
} NetPrefix;

/*
 * "10.0.0.0/8", "2001:db8::/32", or one address ("192.0.2.7" is /32, "::1" /128). Host
 * bits set past the prefix ("10.0.0.1/8") are refused: an allow-list typo must not
 * widen silently. -EINVAL on anything else.
 */
int netaddr_parse_prefix(const char *s, NetPrefix *ret);

/* Whether the source address sa (AF_INET or AF_INET6) is inside p. */
bool netaddr_prefix_match(const NetPrefix *p, const struct sockaddr *sa, socklen_t len);

/* Whether sa is in any of the n prefixes; with n == 0 whether it is loopback
 * (127.0.0.0/8 or ::1). */
bool netaddr_allowed(const NetPrefix *prefixes, size_t n, const struct sockaddr *sa, socklen_t len);

/*
 * "0.0.0.0:8053", "127.0.0.1:8053", "[::]:8053", "[::1]:8053": a numeric address and a
 * port 1..65535. Writes the socket address and its length. -EINVAL otherwise.
 */
int netaddr_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* "a.b.c.d" or "v6" of a source, mapped addresses shown as IPv4, into buf (>= 46). */
const char *netaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

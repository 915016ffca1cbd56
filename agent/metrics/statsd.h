/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The statsd sink: a connected, non-blocking UDP socket and a packer. Sending never
 * waits: a datagram the kernel will not take at once (a full socket buffer, nobody
 * listening) is dropped and counted. No logging; the daemon reads the counters.
 */

#include <stdint.h>

#include "base/macro.h"
#include "metrics/statsd-format.h"

typedef struct Statsd Statsd;

/* address as statsd_address_parse() takes it, prefix as statsd_prefix_valid(): -EINVAL
 * otherwise; socket errors as negative errno. No name lookup, no packet sent. */
int statsd_new(const char *address, const char *prefix, StatsdTags tags, Statsd **ret);
Statsd *statsd_free(Statsd *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Statsd *, statsd_free)

/* Where samples go before statsd_flush() sends them (owned by s). */
StatsdPacker *statsd_packer(Statsd *s);

/* Sends every packed datagram (MSG_DONTWAIT) and clears the packer. Returns the number
 * of datagrams dropped by this call. */
unsigned statsd_flush(Statsd *s);

/* Counts a sample the packer refused (too long, buffer full) as dropped. */
void statsd_count_dropped(Statsd *s);

/* The address it sends to, as given to statsd_new(). */
const char *statsd_address(const Statsd *s);
uint64_t statsd_sent(const Statsd *s);    /* datagrams the kernel took */
uint64_t statsd_dropped(const Statsd *s); /* datagrams (and refused samples) lost */

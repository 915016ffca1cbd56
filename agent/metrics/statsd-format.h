/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * statsd lines and the datagrams that carry them. Pure: no sockets, no clock, no
 * logging — the sender (statsd.c) adds samples, then sends what statsd_packer_datagram()
 * hands it and clears.
 *
 * Names: "<prefix>.check.<check>.status" with statsd_tags = "none" (the check is part of
 * the name), "<prefix>.check.status|#check:<check>,autoscaling_group:<asg>" with
 * "dogstatsd". Every name part goes through metric_name_sanitize().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/macro.h"

/* The usual statsd payload limit: 1500-byte Ethernet MTU less IPv6 and UDP headers
 * (and room for a tunnel), so a datagram is never fragmented. */
#define STATSD_DATAGRAM_MAX 1432
/* Datagrams one packer holds before it refuses more (-ENOBUFS): one check's samples
 * are sent right away, so this is only reached by a check with hundreds of labels. */
#define STATSD_MAX_DATAGRAMS 64
#define STATSD_PREFIX_MAX 128
#define STATSD_PART_MAX 128 /* one sanitised name part (check, label) */
#define STATSD_TAG_VALUE_MAX 200

typedef enum StatsdTags {
        STATSD_TAGS_NONE,
        STATSD_TAGS_DOGSTATSD,
        _STATSD_TAGS_MAX,
} StatsdTags;

typedef enum StatsdType {
        STATSD_GAUGE,   /* g */
        STATSD_TIMER,   /* ms */
        STATSD_COUNTER, /* c */
        _STATSD_TYPE_MAX,
} StatsdType;

/*
 * A numeric address only, so that no DNS lookup ever happens: "127.0.0.1:8125",
 * "[::1]:8125" (port 1..65535 required). -EINVAL otherwise. ret/ret_len may be NULL.
 */
int statsd_address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* "" or dot-separated parts of [A-Za-z0-9_], each not empty, at most STATSD_PREFIX_MAX
 * bytes in all. */
bool statsd_prefix_valid(const char *prefix);

/* A dogstatsd tag value: bytes other than [A-Za-z0-9_.:/-] become '_', cut to size-1
 * bytes. Returns the length (0 for an empty input: the caller leaves the tag out). */
size_t statsd_tag_value(const char *in, char *buf, size_t size);

/*
 * Shortest decimal that reads back as v ("-5", "0.25", "1e+20"). -EINVAL for NaN or
 * infinity. Returns the length.
 */
int statsd_format_value(double v, char *buf, size_t size);

typedef struct StatsdPacker StatsdPacker;

typedef struct StatsdIdentity {
        const char *asg;         /* NULL or "" when not known or outside a group */
        const char *instance_id; /* NULL or "" when not known */
        bool per_instance;       /* metrics.per_instance: tag the instance id too */
} StatsdIdentity;

/* prefix must pass statsd_prefix_valid() (-EINVAL otherwise). */
int statsd_packer_new(const char *prefix, StatsdTags tags, StatsdPacker **ret);
StatsdPacker *statsd_packer_free(StatsdPacker *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatsdPacker *, statsd_packer_free)

/*
 * One sample. name: a dotted name below the prefix ("check.status", "instance.healthy");
 * check: NULL for instance-level metrics, else part of the name (tags "none") or the
 * "check" tag. A negative gauge is two lines in the same datagram, "x:0|g" then
 * "x:-5|g": a signed gauge alone is a delta in statsd. -EINVAL for a name that sanitises
 * to nothing or a non-finite value, -E2BIG for a line longer than a datagram, -ENOBUFS
 * when STATSD_MAX_DATAGRAMS are full. Nothing is added on error.
 */
int statsd_packer_add(StatsdPacker *p, const StatsdIdentity *id, const char *check,
                      const char *name, double value, StatsdType type);

/* DESIGN.md's per-check set: check.status (gauge 0..3), check.duration (timer, ms). */
int statsd_packer_add_check(StatsdPacker *p, const StatsdIdentity *id, const char *check,
                            int status, double duration_ms);
/* A perfdata value as gauge check.perfdata.<sanitised label>, as the plugin printed it. */
int statsd_packer_add_perfdata(StatsdPacker *p, const StatsdIdentity *id, const char *check,
                               const char *label, double value);

/* Datagrams ready: every one not empty, at most STATSD_DATAGRAM_MAX bytes, lines
 * separated by '\n'. */
size_t statsd_packer_n_datagrams(const StatsdPacker *p);
const char *statsd_packer_datagram(const StatsdPacker *p, size_t i, size_t *ret_len);
void statsd_packer_clear(StatsdPacker *p);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Names for metric systems that allow fewer characters than CloudWatch (statsd,
 * Prometheus). Not for logs or status: untrusted text shown to people goes through the
 * log-safe escaping instead, which keeps it readable; this one keeps it parseable.
 */

#include <stddef.h>

/*
 * Writes to buf (size bytes) a name of only [A-Za-z0-9_], the first character not a
 * digit: every run of other bytes ('_' included) becomes one '_' ("disk /var" ->
 * "disk_var"), a leading or trailing run is dropped, and a leading digit gets a '_'
 * before it. Truncated at a character, to at most size-1 bytes. Returns the length, or
 * -EINVAL when nothing is left (an empty or all-punctuation name: the caller skips the
 * metric) or buf is too small to hold one character.
 */
int metric_name_sanitize(const char *in, char *buf, size_t size);

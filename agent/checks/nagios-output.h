/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Parser for what a Nagios plugin prints (Nagios plugin development guidelines):
 *
 *   MESSAGE | PERFDATA
 *   LONG OUTPUT LINE
 *   LONG OUTPUT LINE | PERFDATA
 *   PERFDATA
 *
 * The first line is the message (text before its first '|', perfdata after it). Later
 * lines are long output until the first '|' in them; everything after that '|' — the
 * rest of that line and all following lines — is perfdata. A perfdata item is
 * 'label'=value[UOM];[warn];[crit];[min];[max], items separated by whitespace.
 *
 * Pure and safe for hostile input: control characters, NUL bytes, invalid UTF-8, C1 and
 * bidi code points are escaped (text_escape_untrusted(), base/text.h; long output keeps
 * its '\n'), so message, long output and perfdata are safe to log and show as they are;
 * input beyond NAGIOS_OUTPUT_MAX is ignored, at most NAGIOS_PERFDATA_MAX items are kept,
 * malformed items are skipped (the rest are kept).
 *
 * The result is plain data (like Config): callers read its fields directly.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

#define NAGIOS_OUTPUT_MAX (1024 * 1024)
#define NAGIOS_PERFDATA_MAX 256
#define NAGIOS_LABEL_MAX 200 /* bytes; CloudWatch metric names allow 255 */

typedef struct NagiosPerfdata {
        char *label;    /* unquoted, '' turned into ' */
        bool has_value; /* false for "U" (unknown value) */
        double value;
        char *uom;  /* as written, "" if none; see nagios_uom_known() */
        char *warn; /* range as written, NULL if absent or empty */
        char *crit;
        bool has_min, has_max;
        double min, max;
} NagiosPerfdata;

typedef struct NagiosOutput {
        char *message;     /* first line, trimmed; never NULL, may be "" */
        char *long_output; /* later text lines joined by '\n'; never NULL, may be "" */
        NagiosPerfdata *perfdata;
        size_t n_perfdata;
        size_t n_allocated; /* private */
} NagiosOutput;

/* Parses len bytes of buf (need not be NUL-terminated). -ENOMEM is the only error. */
int nagios_output_parse(const char *buf, size_t len, NagiosOutput **ret);

/* An output with just a message (drover's own, e.g. "plugin timed out after 5 s"). */
int nagios_output_new_message(const char *message, NagiosOutput **ret);

/* Replaces the message (keeps long output and perfdata). */
int nagios_output_set_message(NagiosOutput *o, const char *message);

NagiosOutput *nagios_output_free(NagiosOutput *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(NagiosOutput *, nagios_output_free)

/* True for the guidelines' UOMs: s ms us % B KB MB GB TB c (and "" = a plain number). */
bool nagios_uom_known(const char *uom);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The small helper every shipped plugin shares: Nagios ranges and thresholds, the one
 * status line with perfdata, the -t alarm, and a few file helpers. Plugins stand alone
 * (they do not link libdrover), so this file depends on libc only.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"
#include "base/nagios.h"

#define PLUGIN_MSG_MAX 1024
#define PLUGIN_PERF_MAX 2048

/*
 * A Nagios range, "[@][start:][end]" with "~" for minus infinity: alert when the value
 * is outside [start, end] (inclusive), or inside it with "@". "10" is 0:10, "10:" is
 * 10:infinity. text keeps the range as written, for perfdata.
 */
typedef struct PluginRange {
        double start, end;
        bool start_inf, end_inf, inside, set;
        char text[64];
} PluginRange;

/* 0, or -EINVAL for syntax errors, start > end, or text longer than 63 bytes. */
int plugin_range_parse(const char *s, PluginRange *ret);
/* An unset range never alerts. */
bool plugin_range_alert(const PluginRange *r, double v);
/* CRITICAL if crit alerts, else WARNING if warn alerts, else OK. */
NagiosStatus plugin_thresholds(const PluginRange *warn, const PluginRange *crit, double v);

/* The message and perfdata of one status line, truncated rather than overflowed. */
typedef struct PluginOutput {
        char msg[PLUGIN_MSG_MAX];
        char perf[PLUGIN_PERF_MAX];
} PluginOutput;

/* Appends to msg, with sep before it unless msg is empty. */
void plugin_msg(PluginOutput *o, const char *sep, const char *fmt, ...) _printf_(3, 4);
/* Appends 'label'=value[uom];warn;crit;min;max. NULL ranges/min/max are left empty. */
void plugin_perf(PluginOutput *o, const char *label, double value, const char *uom,
                 const PluginRange *warn, const PluginRange *crit, const char *min,
                 const char *max);
/* Perfdata numbers: integers without a fraction, others with up to 6 decimals. */
void plugin_format_number(char *buf, size_t n, double v);
/* "NAME STATE - msg | perf" (no " | " when perf is empty); returns bytes as snprintf. */
int plugin_format_line(char *buf, size_t n, const char *name, NagiosStatus s, const char *msg,
                       const char *perf);
/* Prints the line on stdout and returns s as the exit code. */
int plugin_finish(const char *name, NagiosStatus s, const PluginOutput *o);
/* Prints "NAME STATE - message" and exits with s; for usage errors and setup failures. */
_Noreturn void plugin_die(const char *name, NagiosStatus s, const char *fmt, ...) _printf_(3, 4);

/* Text that goes into the message: '|' would start perfdata, control chars break lines. */
void plugin_sanitize(char *s);

/* "-t SECONDS[:STATE]" as monitoring-plugins has it; STATE defaults to CRITICAL. */
int plugin_parse_timeout(const char *s, unsigned *ret_seconds, NagiosStatus *ret_state);
/* Arms SIGALRM: after seconds, prints "NAME STATE - timed out after N s" and _exit()s. */
void plugin_arm_timeout(const char *name, unsigned seconds, NagiosStatus state);

/* Finite decimal number, nothing trailing. */
int plugin_parse_double(const char *s, double *ret);
int plugin_parse_state(const char *s, NagiosStatus *ret); /* ok|warning|critical|unknown */

/* Reads a whole file of at most max bytes, NUL-terminated; -EFBIG if longer. */
int plugin_read_file(const char *path, size_t max, char **ret);
/* Temporary file beside path, fsync, rename. */
int plugin_write_file_atomic(const char *path, const char *data, size_t len);

/* -s DIR if given, else $STATE_DIRECTORY/plugins, else LOCALSTATEDIR/lib/drover/plugins. */
int plugin_state_dir(const char *opt, char **ret);

/* "check_foo (drover X.Y.Z)" on stdout. */
void plugin_print_version(const char *prog);

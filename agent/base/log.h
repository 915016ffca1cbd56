/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "base/macro.h"

/*
 * Logging. Under journald (stderr connected to the journal, as systemd tells us through
 * $JOURNAL_STREAM) messages go to the journal with structured fields; otherwise to
 * stderr, with "<N>" syslog priority prefixes when stderr is not a terminal.
 *
 * Library-like modules (parsers, policy, sigv4) never log: they return errors and the
 * caller that makes the decision logs once.
 */

void log_open(void);
void log_set_max_level(int level);
int log_get_max_level(void);

/* fields: NULL or a NULL-terminated list of "KEY=value" journal fields. */
void log_fieldsv(int level, const char *const *fields, const char *fmt, va_list ap) _printf_(3, 0);
void log_fields(int level, const char *const *fields, const char *fmt, ...) _printf_(3, 4);

/* Logs with errno set to |err| (so %m works) and returns -|err|. */
int log_errno(int level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_fields(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_fields(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...) log_fields(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) log_fields(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...) log_fields(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning_errno(err, ...) log_errno(LOG_WARNING, (err), __VA_ARGS__)
#define log_error_errno(err, ...) log_errno(LOG_ERR, (err), __VA_ARGS__)

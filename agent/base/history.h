/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A short memory of what a module did, for `drover status`: the last HISTORY_MAX lines,
 * each stamped with ISO 8601 UTC, oldest first. Embedded by value; no allocation.
 */

#include <stddef.h>
#include <time.h>

#include "base/macro.h"

#define HISTORY_MAX 16
#define HISTORY_LINE 192

typedef struct History {
        char lines[HISTORY_MAX][HISTORY_LINE];
        size_t n;
} History;

/* Appends "2026-01-02T03:04:05Z text" for time t, dropping the oldest line when full. */
void history_add(History *h, time_t t, const char *fmt, ...) _printf_(3, 4);

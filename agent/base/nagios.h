/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* The Nagios plugin API's four states, in exit-code order. */
typedef enum NagiosStatus {
        NAGIOS_OK = 0,
        NAGIOS_WARNING = 1,
        NAGIOS_CRITICAL = 2,
        NAGIOS_UNKNOWN = 3,
        _NAGIOS_STATUS_MAX,
} NagiosStatus;

static inline const char *nagios_status_name(NagiosStatus s) {
        static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
        return (unsigned) s < _NAGIOS_STATUS_MAX ? names[s] : "UNKNOWN";
}

/* "Worst" per DESIGN.md: CRITICAL > UNKNOWN > WARNING > OK. */
static inline int nagios_status_severity(NagiosStatus s) {
        static const int rank[] = { 0, 1, 3, 2 };
        return (unsigned) s < _NAGIOS_STATUS_MAX ? rank[s] : 2;
}

static inline NagiosStatus nagios_status_worst(NagiosStatus a, NagiosStatus b) {
        return nagios_status_severity(a) >= nagios_status_severity(b) ? a : b;
}

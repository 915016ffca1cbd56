/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A check's state machine, pure: results go in (with the time), the hard state comes out.
 * CRITICAL counts as a failure, OK and WARNING as a success, UNKNOWN as neither (the
 * counters hold: a broken plugin must not flip an instance either way). `fall`
 * consecutive failures make the check FAILED, `rise` consecutive successes PASSING. A
 * check starts PENDING (no verdict yet) and needs the full count either way: a freshly
 * started agent must not call an instance broken on one bad result.
 *
 * "Soft" means the latest results point away from the hard state but have not reached
 * the count yet (Nagios' soft state); from PENDING any result is soft until confirmed.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/macro.h"
#include "base/nagios.h"
#include "checks/nagios-output.h"

typedef enum CheckState {
        CHECK_STATE_PENDING,
        CHECK_STATE_PASSING,
        CHECK_STATE_FAILED,
        _CHECK_STATE_MAX,
} CheckState;

const char *check_state_to_string(CheckState s); /* "pending", "passing", "failed" */

typedef enum CheckOutcome {
        CHECK_OUTCOME_SUCCESS,
        CHECK_OUTCOME_FAILURE,
        CHECK_OUTCOME_NEITHER,
} CheckOutcome;

/* OK, WARNING -> success; CRITICAL -> failure; UNKNOWN (and anything else) -> neither. */
CheckOutcome check_outcome(NagiosStatus s);

/* The counting core, as plain data for table tests and for carrying over a reload. */
typedef struct CheckCounters {
        CheckState state;
        unsigned successes; /* consecutive */
        unsigned failures;  /* consecutive */
} CheckCounters;

/* Applies one result; returns true if the hard state changed. rise/fall 0 act as 1. */
bool check_counters_apply(CheckCounters *c, NagiosStatus s, unsigned rise, unsigned fall);

typedef struct Check Check;

Check *check_new(const char *name, unsigned rise, unsigned fall);
Check *check_free(Check *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Check *, check_free)

/* New thresholds (reload); the counters and state are kept and re-evaluated next result. */
void check_set_thresholds(Check *c, unsigned rise, unsigned fall);

/*
 * Records a result at now_usec (any clock, the caller's). output is copied (NULL = "").
 * Returns 1 if the hard state changed, 0 if not, -ENOMEM (nothing changed then).
 */
int check_record(Check *c, NagiosStatus status, const char *output, uint64_t duration_usec,
                 uint64_t now_usec);

const char *check_name(const Check *c);
CheckState check_state(const Check *c); /* hard */
bool check_is_soft(const Check *c);
bool check_has_result(const Check *c);
NagiosStatus check_last_status(const Check *c); /* UNKNOWN before any result */
const char *check_last_output(const Check *c);  /* "" before any result */
uint64_t check_last_duration(const Check *c);
uint64_t check_last_run(const Check *c);    /* 0 before any result */
uint64_t check_last_change(const Check *c); /* hard state change; 0 = never */
CheckCounters check_counters(const Check *c);
/* Results recorded with status s since the check was made. */
uint64_t check_results(const Check *c, NagiosStatus s);

/* The last result's perfdata with a value (for /metrics and status), copied. */
typedef struct CheckPerfdata {
        char *label;
        double value; /* as the plugin wrote it, in uom */
        char *uom;    /* "" if none */
} CheckPerfdata;
int check_set_perfdata(Check *c, const NagiosPerfdata *p, size_t n); /* 0 or -ENOMEM */
const CheckPerfdata *check_last_perfdata(const Check *c, size_t *ret_n);

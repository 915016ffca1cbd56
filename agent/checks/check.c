/* SPDX-License-Identifier: MIT */
#include <limits.h>

#include "checks/check.h"

struct Check {
        char *name;
        unsigned rise, fall;
        CheckCounters counters;
        bool has_result;
        NagiosStatus last_status;
        char *last_output;
        uint64_t last_duration, last_run, last_change;
        uint64_t results[_NAGIOS_STATUS_MAX];
        CheckPerfdata *perfdata; /* the last result's, with values */
        size_t n_perfdata;
};

static void perfdata_free(CheckPerfdata *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].label);
                free(p[i].uom);
        }
        free(p);
}

const char *check_state_to_string(CheckState s) {
        static const char *const names[] = { "pending", "passing", "failed" };

        return (unsigned) s < _CHECK_STATE_MAX ? names[s] : "pending";
}

CheckOutcome check_outcome(NagiosStatus s) {
        static const CheckOutcome table[] = {
                [NAGIOS_OK] = CHECK_OUTCOME_SUCCESS,
                [NAGIOS_WARNING] = CHECK_OUTCOME_SUCCESS,
                [NAGIOS_CRITICAL] = CHECK_OUTCOME_FAILURE,
                [NAGIOS_UNKNOWN] = CHECK_OUTCOME_NEITHER,
        };

        return (unsigned) s < ELEMENTSOF(table) ? table[s] : CHECK_OUTCOME_NEITHER;
}

static unsigned saturating_inc(unsigned n) {
        return n == UINT_MAX ? n : n + 1;
}

bool check_counters_apply(CheckCounters *c, NagiosStatus s, unsigned rise, unsigned fall) {
        CheckState old = c->state;

        switch (check_outcome(s)) {
        case CHECK_OUTCOME_SUCCESS:
                c->successes = saturating_inc(c->successes);
                c->failures = 0;
                if (c->successes >= MAX(rise, 1u))
                        c->state = CHECK_STATE_PASSING;
                break;
        case CHECK_OUTCOME_FAILURE:
                c->failures = saturating_inc(c->failures);
                c->successes = 0;
                if (c->failures >= MAX(fall, 1u))
                        c->state = CHECK_STATE_FAILED;
                break;
        case CHECK_OUTCOME_NEITHER:
                break;
        }
        return c->state != old;
}

Check *check_new(const char *name, unsigned rise, unsigned fall) {
        Check *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->name = strdup(name);
        c->last_output = strdup("");
        if (!c->name || !c->last_output)
                return check_free(c);
        c->rise = rise;
        c->fall = fall;
        c->last_status = NAGIOS_UNKNOWN;
        return c;
}

Check *check_free(Check *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->last_output);
        perfdata_free(c->perfdata, c->n_perfdata);
        return mfree(c);
}

void check_set_thresholds(Check *c, unsigned rise, unsigned fall) {
        c->rise = rise;
        c->fall = fall;
}

int check_record(Check *c, NagiosStatus status, const char *output, uint64_t duration_usec,
                 uint64_t now_usec) {
        char *o = strdup(strempty(output));
        bool changed;

        if (!o)
                return -ENOMEM;
        free(c->last_output);
        c->last_output = o;
        changed = check_counters_apply(&c->counters, status, c->rise, c->fall);
        c->has_result = true;
        c->results[(unsigned) status < _NAGIOS_STATUS_MAX ? status : NAGIOS_UNKNOWN]++;
        c->last_status = status;
        c->last_duration = duration_usec;
        c->last_run = now_usec;
        if (changed)
                c->last_change = now_usec;
        return changed;
}

int check_set_perfdata(Check *c, const NagiosPerfdata *p, size_t n) {
        CheckPerfdata *copy = calloc(n ?: 1, sizeof(*copy));
        size_t k = 0;

        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!p[i].has_value)
                        continue;
                copy[k] = (CheckPerfdata){ .label = strdup(strempty(p[i].label)),
                                           .value = p[i].value,
                                           .uom = strdup(strempty(p[i].uom)) };
                if (!copy[k].label || !copy[k].uom) {
                        perfdata_free(copy, k + 1);
                        return -ENOMEM;
                }
                k++;
        }
        perfdata_free(c->perfdata, c->n_perfdata);
        c->perfdata = copy;
        c->n_perfdata = k;
        return 0;
}

const CheckPerfdata *check_last_perfdata(const Check *c, size_t *ret_n) {
        *ret_n = c->n_perfdata;
        return c->perfdata;
}

uint64_t check_results(const Check *c, NagiosStatus s) {
        return (unsigned) s < _NAGIOS_STATUS_MAX ? c->results[s] : 0;
}

bool check_is_soft(const Check *c) {
        if (!c->has_result)
                return false;
        switch (c->counters.state) {
        case CHECK_STATE_PASSING:
                return c->counters.failures > 0;
        case CHECK_STATE_FAILED:
                return c->counters.successes > 0;
        default:
                return c->counters.successes > 0 || c->counters.failures > 0;
        }
}

const char *check_name(const Check *c) {
        return c->name;
}

CheckState check_state(const Check *c) {
        return c->counters.state;
}

bool check_has_result(const Check *c) {
        return c->has_result;
}

NagiosStatus check_last_status(const Check *c) {
        return c->last_status;
}

const char *check_last_output(const Check *c) {
        return c->last_output;
}

uint64_t check_last_duration(const Check *c) {
        return c->last_duration;
}

uint64_t check_last_run(const Check *c) {
        return c->last_run;
}

uint64_t check_last_change(const Check *c) {
        return c->last_change;
}

CheckCounters check_counters(const Check *c) {
        return c->counters;
}

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's checks: one timer per check on CLOCK_BOOTTIME, runs through the shared
 * Runner (concurrency limit), results fed to each check's state machine. First runs are
 * spread at random over one interval so a fleet booted together does not fire in step;
 * a check still running when it is due again is not started twice. A plugin that did not
 * die of SIGKILL ("stuck": D state on a hung mount) has given its check the timeout
 * state at timeout + kill_grace; while it is not reaped the check gets the timeout state
 * again each interval and no second process is started.
 *
 * A reload hands in the new Config: checks whose definition is unchanged keep their
 * state (and their timer), changed or new ones start afresh, removed ones are cancelled.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "checks/check.h"
#include "config/config.h"
#include "checks/plugin.h"
#include "checks/runner.h"

typedef struct Monitor Monitor;

/*
 * A result for check i (index into the current config's checks). changed: the hard
 * state changed. result is borrowed for the call.
 */
typedef void (*monitor_result_t)(Monitor *m, size_t i, const PluginResult *result, bool changed,
                                 void *userdata);

int monitor_new(sd_event *e, Runner *runner, monitor_result_t cb, void *userdata, Monitor **ret);
/* Cancels every run (killing the plugins' process groups). */
Monitor *monitor_free(Monitor *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Monitor *, monitor_free)

/* Switches to c (which must outlive the next apply or free) and (re)starts timers. */
int monitor_apply_config(Monitor *m, const Config *c);

size_t monitor_n_checks(const Monitor *m);
const CheckConfig *monitor_check_config(const Monitor *m, size_t i);
const Check *monitor_check(const Monitor *m, size_t i);
bool monitor_check_running(const Monitor *m, size_t i);
/* CLOCK_REALTIME usec of the SIGKILL check i's plugin did not die of; 0 if none. */
uint64_t monitor_check_stuck_since(const Monitor *m, size_t i);
/* Index of the check with this name, or -ENOENT. */
int monitor_find(const Monitor *m, const char *name);

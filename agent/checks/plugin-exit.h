/* SPDX-License-Identifier: MIT */
#pragma once

/* The pure half of plugin.h: what a plugin's end means, the Nagios way. */

#include <stdbool.h>

#include "base/nagios.h"

/* Status from a plugin's wait status and timeout, with drover's message when broken. */
typedef struct PluginExit {
        bool timed_out;
        bool exited;    /* else killed by signal */
        int code;       /* exit code or signal number */
        int exec_errno; /* > 0: exec failed in the child */
} PluginExit;

/*
 * Pure: the Nagios status a plugin's end means and drover's message for it (malloc'd,
 * NULL when the plugin's own output stands). timeout is for the message only.
 */
int plugin_exit_status(const PluginExit *x, const char *path, double timeout,
                       NagiosStatus timeout_state, NagiosStatus *ret_status, char **ret_message);

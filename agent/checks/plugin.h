/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Runs one Nagios plugin on an sd-event loop. What runs is verified first, every run
 * (base/exec-verify.h: the whole path from '/', owners and modes); a refused program
 * is an UNKNOWN result with the reason. It is started without copying drover
 * (checks/spawn.h) from the verified descriptor, in its own session with a
 * clean environment, /dev/null stdin, stdout+stderr captured through one pipe up to
 * max_output, every other fd closed, optionally as another user; a timeout sends SIGTERM
 * to the whole group and SIGKILL after kill_grace. When the plugin itself exits, whatever
 * it left behind in its process group is killed and the pipe closed, so a grandchild
 * holding the pipe cannot keep us waiting. (A grandchild that calls setsid() leaves the
 * group; only a cgroup could catch it.)
 *
 * A process that does not die on SIGKILL (D state on a hung EBS or NFS mount) does not
 * hold the result back: at timeout + kill_grace the timeout result is delivered with
 * unreaped set, and the process is reaped from the loop whenever it exits. Nothing here
 * waits for a child without WNOHANG.
 *
 * The caller's process must have SIGCHLD blocked (sd_event_add_child requires it);
 * plugin_spawn blocks it in the calling thread if it is not.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "checks/nagios-output.h"
#include "checks/plugin-exit.h"
#include "base/nagios.h"
#include "config/config.h"

/* What to run. Not retained: plugin_spawn copies what it needs. */
typedef struct PluginSpec {
        char *const *argv;   /* argv[0] absolute path; with shell, argv[0] is the script */
        bool shell;          /* run argv[0] with /bin/sh -c */
        const char *user;    /* NULL/"" = do not change user (also when not root) */
        const char *group;   /* NULL/"" = the user's primary group */
        const RunAs *run_as; /* resolved user/group (NULL = keep); user/group name it */
        double timeout;      /* seconds, > 0 */
        double kill_grace;   /* seconds between SIGTERM and SIGKILL */
        size_t max_output;   /* bytes kept of stdout+stderr */
        NagiosStatus timeout_state;
        char *const *env; /* NULL, or extra "KEY=value" entries (hooks' DROVER_*);
                                       * they override the clean PATH/LANG defaults */
} PluginSpec;

/* Fills a spec that points into cc (valid as long as cc is). */
struct CheckConfig;
void plugin_spec_from_check(const struct CheckConfig *cc, PluginSpec *ret);

typedef struct PluginResult {
        NagiosStatus status;
        NagiosOutput *output; /* parsed; drover's own message for a broken plugin */
        char *raw;            /* captured bytes (up to max_output), NUL-terminated */
        size_t raw_len;
        bool truncated; /* the plugin wrote more than max_output */
        bool timed_out;
        bool unreaped; /* killed at timeout + kill_grace but not gone yet (see plugin_done_t) */
        bool refused;  /* not run: its path failed the checks (output says why) */
        bool broken;   /* did not run or did not follow the API: UNKNOWN */
        int exit_code; /* -1 unless it exited */
        int signal;    /* 0 unless killed by a signal */
        uint64_t duration_usec; /* monotonic, spawn to exit */
} PluginResult;

PluginResult *plugin_result_free(PluginResult *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PluginResult *, plugin_result_free)

typedef struct Plugin Plugin;

/*
 * Called once per plugin from the event loop with the result, which the callee now owns.
 * result->output is NULL only if memory ran out. The callee may plugin_free(p) from
 * inside the callback (a process still running is then reaped by the loop when it
 * exits). If result->unreaped and p is kept, the callback runs once more, with result
 * NULL, when the process has finally been reaped.
 */
typedef void (*plugin_done_t)(Plugin *p, PluginResult *result, void *userdata);

/*
 * Starts the plugin. Problems of the plugin itself (missing, not executable, cannot
 * exec, unknown user) are not errors here: they are delivered as an UNKNOWN result
 * through the callback, like every result (never from inside plugin_spawn).
 * Returns negative errno only for drover's own failures (memory, pipes, fork).
 */
int plugin_spawn(sd_event *e, const PluginSpec *spec, plugin_done_t done, void *userdata,
                 Plugin **ret);

/*
 * Kills the plugin's process group if it still runs; no callback. Never waits: a process
 * not gone at once is left to the loop, which reaps it when it exits. NULL ok.
 */
Plugin *plugin_free(Plugin *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plugin *, plugin_free)

/* The pid of the running plugin (its process group id), 0 before/after. */
pid_t plugin_pid(const Plugin *p);

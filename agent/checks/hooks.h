/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * hooks.d/<event>/: executables run one at a time in name order, each with a timeout
 * (killed with its process group when it passes: a failure), exit 0 = success, with the
 * plugin runner's hygiene (own process group, clean environment plus the DROVER_*
 * variables, /dev/null stdin, configured user). Each hook's whole path is verified when
 * it is about to run (base/exec-verify.h: hooks.d and hooks.d/<event>/ included); one
 * refused is not run and counts as failed, its result UNKNOWN with the reason and
 * `refused` set: a hook that cannot be trusted must not be silently skipped.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "checks/plugin.h"

typedef struct HookRun HookRun;

/* After each hook: its file name and result (borrowed). ok: exit 0 in time. */
typedef void (*hooks_step_t)(const char *name, bool ok, const PluginResult *result, void *userdata);
/* When all are done: how many ran, how many failed. The HookRun is freed after. */
typedef void (*hooks_done_t)(unsigned ran, unsigned failed, void *userdata);

/*
 * Starts running dir/event/. env: extra "KEY=value" strings (copied). skip: names of
 * hooks already finished (a resumed run), or NULL. timeout overrides cfg->timeout when
 * > 0 (a lifecycle deadline may leave less time). Callbacks run from the loop only.
 */
int hooks_run(sd_event *e, const HooksConfig *cfg, const char *event, char *const *env,
              char *const *skip, double timeout, hooks_step_t step, hooks_done_t done,
              void *userdata, HookRun **ret);
/* Kills a running hook's process group; no more callbacks. NULL ok. */
void hooks_cancel(HookRun *h);

/* Pure: the hook names in dir/event/ in run order (malloc'd strv; empty if no dir). */
int hooks_list(const char *dir, const char *event, char ***ret);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Runs plugins with a concurrency limit (plugins.concurrency): a FIFO queue, at most N
 * running at once, one callback per result. `drover check` and the daemon share it.
 */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "checks/plugin.h"

typedef struct Runner Runner;

/*
 * A result, owned by the callee (result->output is NULL only if memory ran out). Called
 * from the event loop, never from inside runner_submit. The callee may submit and cancel
 * jobs, and may free the runner. When result->unreaped (the plugin did not die on
 * SIGKILL), the job stays known (runner_cancel works) and the callback runs once more
 * with result NULL when the process has been reaped. A stuck job holds a concurrency
 * slot only up to a small cap (1, and never the last slot).
 */
typedef void (*runner_done_t)(Runner *r, uint64_t id, PluginResult *result, void *userdata);

int runner_new(sd_event *e, unsigned concurrency, Runner **ret);

/* Kills every running plugin's process group (and reaps it), drops the queue; no callbacks. */
Runner *runner_free(Runner *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Runner *, runner_free)

/*
 * Queues a run of spec (copied). *ret_id (optional) names the job for runner_cancel.
 * A plugin that cannot be started (fork fails) is reported as an UNKNOWN result.
 */
int runner_submit(Runner *r, const PluginSpec *spec, runner_done_t done, void *userdata,
                  uint64_t *ret_id);

/* Drops a queued job or kills a running one; no callback. -ENOENT if not known (done). */
int runner_cancel(Runner *r, uint64_t id);
void runner_cancel_all(Runner *r);

void runner_set_concurrency(Runner *r, unsigned concurrency);
size_t runner_n_running(const Runner *r);
size_t runner_n_queued(const Runner *r);
size_t runner_n_stuck(const Runner *r); /* SIGKILL sent, not reaped yet */

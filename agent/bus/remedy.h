/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Carries out local remediation: restarting a systemd unit over D-Bus. The manager's
 * answer is only "job queued"; the restart's outcome comes later as the JobRemoved
 * signal for that job, and that is what the callback reports.
 *
 * The system bus is found the way sd-bus finds it ($DBUS_SYSTEM_BUS_ADDRESS, which the
 * tests point at a private bus with a stand-in manager).
 */

#include <systemd/sd-event.h>

#include "base/macro.h"

typedef struct Remedy Remedy;
typedef struct RemedyJob RemedyJob;

/*
 * result: 0 when the job finished "done"; -EIO when it finished with another result
 * (job_result says which: "failed", "timeout", "dependency", "canceled"...); other
 * negative errno when the call itself failed (job_result NULL).
 */
typedef void (*remedy_done_t)(int result, const char *job_result, void *userdata);

int remedy_new(sd_event *e, Remedy **ret);
Remedy *remedy_free(Remedy *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Remedy *, remedy_free)

/*
 * RestartUnit(unit, "replace"), then waits up to timeout_usec for the job to finish.
 * The callback runs exactly once, from the event loop, unless the job is cancelled
 * with remedy_job_cancel() (or the Remedy freed) first.
 */
int remedy_restart_unit(Remedy *r, const char *unit, uint64_t timeout_usec, remedy_done_t cb,
                        void *userdata, RemedyJob **ret);
/* StartUnit(unit, "replace") (drover-terminate.target, ...), the same way. */
int remedy_start_unit(Remedy *r, const char *unit, uint64_t timeout_usec, remedy_done_t cb,
                      void *userdata, RemedyJob **ret);
void remedy_job_cancel(RemedyJob *j);

/* SPDX-License-Identifier: MIT */
#include <systemd/sd-bus.h>

#include "bus/remedy.h"
#include "base/list.h"
#include "base/util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

struct Remedy {
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *job_removed;
        LIST_HEAD(RemedyJob, jobs);
};

struct RemedyJob {
        Remedy *remedy;
        LIST_FIELDS(RemedyJob, jobs);
        char *unit;
        char *job_path; /* set once the manager queued it */
        sd_bus_slot *call;
        sd_event_source *timer;
        remedy_done_t cb;
        void *userdata;
};

static void job_free(RemedyJob *j) {
        LIST_REMOVE(jobs, j->remedy->jobs, j);
        sd_bus_slot_unref(j->call);
        sd_event_source_disable_unref(j->timer);
        free(j->unit);
        free(j->job_path);
        free(j);
}

static void job_finish(RemedyJob *j, int result, const char *job_result) {
        remedy_done_t cb = j->cb;
        void *userdata = j->userdata;

        job_free(j);
        cb(result, job_result, userdata);
}

void remedy_job_cancel(RemedyJob *j) {
        if (j)
                job_free(j);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Remedy *r = userdata;
        const char *path, *unit, *result;
        RemedyJob *j;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        LIST_FOREACH(jobs, j, r->jobs)
        if (j->job_path && streq(j->job_path, path)) {
                job_finish(j, streq(result, "done") ? 0 : -EIO, result);
                break;
        }
        return 0;
}

static int on_restart_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        RemedyJob *j = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *path;

        j->call = sd_bus_slot_unref(j->call);
        if (e) {
                job_finish(j, -sd_bus_error_get_errno(e) ?: -EIO, NULL);
                return 0;
        }
        if (sd_bus_message_read(m, "o", &path) < 0 || !(j->job_path = strdup(path)))
                job_finish(j, -EBADMSG, NULL);
        return 0;
}

static int on_job_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        job_finish(userdata, -ETIMEDOUT, NULL);
        return 0;
}

static void drop_bus(Remedy *r) {
        r->job_removed = sd_bus_slot_unref(r->job_removed);
        if (r->bus) {
                (void) sd_bus_detach_event(r->bus);
                r->bus = sd_bus_flush_close_unref(r->bus);
        }
}

/* The connection is gone: every job on it but keep ends as a failed call. */
static void reset_bus(Remedy *r, RemedyJob *keep) {
        RemedyJob *j, *next;

        drop_bus(r);
        LIST_FOREACH_SAFE(jobs, j, next, r->jobs)
        if (j != keep)
                job_finish(j, -ECONNRESET, NULL);
}

static bool connection_gone(int k) {
        return k == -ENOTCONN || k == -ECONNRESET || k == -EPIPE;
}

/*
 * Connects on first use, so a host without a system bus only fails remediation; and
 * again after the bus went away (dbus restarted), which sd-bus never does by itself.
 * Jobs queued on the old connection cannot hear their JobRemoved any more: they end
 * now, as failed calls, rather than at their timeout.
 */
static int remedy_connect(Remedy *r) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int k;

        if (r->bus && sd_bus_is_open(r->bus) > 0)
                return 0;
        if (r->bus)
                reset_bus(r, NULL);
        k = sd_bus_open_system(&bus);
        if (k < 0)
                return k;
        k = sd_bus_match_signal_async(bus, &r->job_removed, SD_DEST, SD_PATH, SD_MANAGER,
                                      "JobRemoved", on_job_removed, NULL, r);
        if (k < 0)
                return k;
        /* Without Subscribe the manager may not send job signals to us. */
        k = sd_bus_call_method_async(bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL,
                                     NULL, NULL);
        if (k < 0)
                return k;
        k = sd_bus_attach_event(bus, r->event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0)
                return k;
        r->bus = TAKE_PTR(bus);
        return 0;
}

int remedy_new(sd_event *e, Remedy **ret) {
        Remedy *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(e);
        *ret = r;
        return 0;
}

Remedy *remedy_free(Remedy *r) {
        if (!r)
                return NULL;
        while (r->jobs)
                job_free(r->jobs);
        drop_bus(r);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

static int unit_job(Remedy *r, const char *method, const char *unit, uint64_t timeout_usec,
                    remedy_done_t cb, void *userdata, RemedyJob **ret) {
        RemedyJob *j;
        int k;

        k = remedy_connect(r);
        if (k < 0)
                return k;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->remedy = r;
        j->cb = cb;
        j->userdata = userdata;
        LIST_PREPEND(jobs, r->jobs, j);
        if (!(j->unit = strdup(unit))) {
                job_free(j);
                return -ENOMEM;
        }
        k = sd_bus_call_method_async(r->bus, &j->call, SD_DEST, SD_PATH, SD_MANAGER, method,
                                     on_restart_reply, j, "ss", unit, "replace");
        if (connection_gone(k)) {
                /* The bus went away and the loop has not noticed yet: once more, anew. */
                reset_bus(r, j);
                k = remedy_connect(r);
                if (k >= 0)
                        k = sd_bus_call_method_async(r->bus, &j->call, SD_DEST, SD_PATH, SD_MANAGER,
                                                     method, on_restart_reply, j, "ss", unit,
                                                     "replace");
        }
        if (k >= 0)
                k = sd_event_add_time_relative(r->event, &j->timer, CLOCK_MONOTONIC, timeout_usec,
                                               USEC_PER_SEC, on_job_timeout, j);
        if (k < 0) {
                job_free(j);
                return k;
        }
        if (ret)
                *ret = j;
        return 0;
}

int remedy_restart_unit(Remedy *r, const char *unit, uint64_t timeout_usec, remedy_done_t cb,
                        void *userdata, RemedyJob **ret) {
        return unit_job(r, "RestartUnit", unit, timeout_usec, cb, userdata, ret);
}

int remedy_start_unit(Remedy *r, const char *unit, uint64_t timeout_usec, remedy_done_t cb,
                      void *userdata, RemedyJob **ret) {
        return unit_job(r, "StartUnit", unit, timeout_usec, cb, userdata, ret);
}

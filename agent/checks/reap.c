/* SPDX-License-Identifier: MIT */
#include <sys/wait.h>

#include "checks/reap.h"
#include "base/util.h"

#define P_PIDFD_ ((idtype_t) 3) /* glibc 2.36 does not name P_PIDFD */

uint64_t reap_backoff(uint64_t d) {
        return MIN(MAX(d, (uint64_t) 1) * 4, (uint64_t) REAP_POLL_MAX_USEC);
}

bool reap_pidfd(int pidfd) {
        siginfo_t si = {};
        int r = waitid(P_PIDFD_, (id_t) pidfd, &si, WEXITED | WNOHANG);

        /* ECHILD: reaped already (sd-event does after a child callback); EBADF: no
         * descriptor to follow it by. */
        return r < 0 ? errno == ECHILD || errno == EBADF : si.si_pid != 0;
}

typedef struct Orphan {
        int pidfd;
        uint64_t delay;
} Orphan;

static void orphan_destroy(void *userdata) {
        Orphan *o = userdata;

        safe_close(o->pidfd);
        free(o);
}

static int on_orphan_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Orphan *o = userdata;

        if (reap_pidfd(o->pidfd)) {
                (void) sd_event_source_set_floating(s, false); /* the loop's ref: freed */
                return 0;
        }
        o->delay = reap_backoff(o->delay);
        (void) sd_event_source_set_time_relative(s, o->delay);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int reap_in_background(sd_event *e, int pidfd) {
        Orphan *o = malloc(sizeof(Orphan));
        sd_event_source *s = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        *o = (Orphan){ .pidfd = pidfd, .delay = REAP_POLL_FIRST_USEC };
        r = sd_event_add_time_relative(e, &s, CLOCK_MONOTONIC, o->delay, USEC_PER_MSEC,
                                       on_orphan_poll, o);
        if (r < 0) {
                free(o);
                return r;
        }
        /* Owned by the loop from here: freed when reaped or when the loop goes. */
        (void) sd_event_source_set_destroy_callback(s, orphan_destroy);
        (void) sd_event_source_set_floating(s, true);
        sd_event_source_unref(s);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* The /health, /live and /ready decisions and the drain delay. Pure. */
#include <stdio.h>
#include <string.h>

#include "base/macro.h"
#include "health/health.h"

/* "what: a, b, c" into buf; names that do not fit become one "...". */
static void append_name(char *buf, size_t size, const char *what, const char *name) {
        size_t used = strlen(buf);
        size_t need = (used ? 2 : strlen(what) + 2) + strlen(name);

        if (used >= 3 && streq(buf + used - 3, "..."))
                return;
        if (used + need + 4 > size) { /* keep room for the "..." */
                snprintf(buf + used, size - used, "%s", used ? ", ..." : "...");
                return;
        }
        snprintf(buf + used, size - used, used ? ", %s" : "%s: %s", used ? name : what, name);
}

void health_decide(const HealthInput *in, HealthVerdict *ret) {
        HealthVerdict v = { .live = true, .ready = true };

        for (size_t i = 0; i < in->n_checks; i++) {
                const HealthCheckInput *c = &in->checks[i];
                if (c->role == CHECK_ROLE_LIVENESS && c->state == HEALTH_CHECK_FAILED) {
                        v.live = false;
                        append_name(v.live_reason, sizeof(v.live_reason), "liveness check failed",
                                    c->name);
                } else if (c->role == CHECK_ROLE_READINESS && c->state != HEALTH_CHECK_PASSING) {
                        v.ready = false;
                        append_name(v.ready_reason, sizeof(v.ready_reason),
                                    "readiness check not passing", c->name);
                }
        }
        if (v.live)
                snprintf(v.live_reason, sizeof(v.live_reason), "OK");
        if (v.ready)
                snprintf(v.ready_reason, sizeof(v.ready_reason), "OK");
        v.serving = v.live && v.ready && !in->draining;
        /* The most lasting reason first: a drain does not end, a failed check may. */
        if (in->draining)
                snprintf(v.reason, sizeof(v.reason), "draining: %s", in->draining);
        else
                snprintf(v.reason, sizeof(v.reason), "%s",
                         !v.live ? v.live_reason : v.ready_reason);
        *ret = v;
}

uint64_t health_drain_delay_usec(double drain_delay, time_t deadline, time_t now) {
        double d = drain_delay > 0 ? drain_delay : 0;

        if (deadline > 0) {
                double left = deadline > now ? (double) (deadline - now) / 2 : 0;
                d = MIN(d, left);
        }
        return (uint64_t) (d * USEC_PER_SEC);
}

bool health_check_type_has_elb(const char *type) {
        const char *p = type;

        while (p && *p) {
                size_t n = strcspn(p, ", ");
                if (n == 3 && strneq(p, "ELB", 3))
                        return true;
                p += n;
                p += strspn(p, ", ");
        }
        return false;
}

bool health_lifecycle_drains(LifecycleEvent event, bool replace) {
        return event == LIFECYCLE_EVENT_TERMINATE || event == LIFECYCLE_EVENT_SPOT ||
               (replace && event != LIFECYCLE_EVENT_LAUNCH && event != LIFECYCLE_EVENT_NONE);
}

#define FD_RESERVE_BASE 64 /* journal, status socket, IMDS/AWS connections, state files */
#define FD_PER_PLUGIN 4    /* stdout/stderr pipe ends, pidfd, /dev/null */

unsigned health_connection_limit(unsigned long nofile, unsigned concurrency) {
        unsigned long reserve = FD_RESERVE_BASE + (unsigned long) concurrency * FD_PER_PLUGIN;

        if (nofile <= reserve)
                return 0;
        return (unsigned) MIN((unsigned long) HEALTH_MAX_CONNECTIONS, nofile - reserve);
}

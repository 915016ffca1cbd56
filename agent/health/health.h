/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The health endpoint's decisions (pure, never logs): whether this instance should take
 * traffic, and how long a drain waits. The daemon's HTTP shell (daemon/httpd.c) only
 * answers with them.
 *
 * "Serving" is: no liveness check failed (being remediated or not: either way the
 * service is broken now), every readiness check passing, and not draining. Dependency
 * checks never count: a shared outage marking every instance down would empty the pool
 * behind a load balancer and turn a partial outage into a total one.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "lifecycle/lifecycle.h"

#define HEALTH_REASON_MAX 256

typedef enum HealthCheckState {
        HEALTH_CHECK_PENDING, /* no hard state yet */
        HEALTH_CHECK_PASSING,
        HEALTH_CHECK_FAILED,
} HealthCheckState;

typedef struct HealthCheckInput {
        const char *name;
        CheckRole role;
        HealthCheckState state;
} HealthCheckInput;

typedef struct HealthInput {
        const HealthCheckInput *checks;
        size_t n_checks;
        const char *draining; /* why ("terminate"), NULL when not draining */
} HealthInput;

typedef struct HealthVerdict {
        bool live;    /* no liveness check failed (pending ones do not count, as in the verdict) */
        bool ready;   /* every readiness check passing (true if there is none) */
        bool serving; /* live && ready && not draining: /health's 200 */
        /* One line each, no newline: "OK", "liveness check failed: web, api", ... */
        char live_reason[HEALTH_REASON_MAX];
        char ready_reason[HEALTH_REASON_MAX];
        char reason[HEALTH_REASON_MAX];
} HealthVerdict;

void health_decide(const HealthInput *in, HealthVerdict *ret);

/*
 * How long to wait between /health turning 503 and the drain hooks: drain_delay
 * seconds, but never more than half of what is left before deadline (Unix seconds, 0
 * when the event has none), so the hooks keep the other half. 0 when the deadline has
 * passed.
 */
uint64_t health_drain_delay_usec(double drain_delay, time_t deadline, time_t now);

/* Whether a group's HealthCheckType ("EC2", "ELB", "EC2,ELB", "ELB,EBS") includes ELB:
 * then the load balancer's health check, fed by /health, replaces instances. */
bool health_check_type_has_elb(const char *type);

/* Whether a lifecycle event takes the instance out of service, so traffic must drain
 * first: a termination, a spot interruption, and any event replace_on replaces for. A
 * launch, or a rebalance or scheduled event that is only reported, does not. */
bool health_lifecycle_drains(LifecycleEvent event, bool replace);

#define HEALTH_MAX_CONNECTIONS 256 /* HTTP connections in total, at most */

/*
 * The total HTTP connection cap: HEALTH_MAX_CONNECTIONS, but below the soft descriptor
 * limit nofile with room left for the rest of drover (plugin and hook pipes for
 * concurrency plugins at once, IMDS and AWS connections, the status socket, the
 * journal). 0 when nofile leaves no room at all.
 */
unsigned health_connection_limit(unsigned long nofile, unsigned concurrency);

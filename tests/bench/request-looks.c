/* SPDX-License-Identifier: MIT */
/*
 * How many times an instance held back by the fleet guard asks the group in 30 minutes,
 * by the real request machine (heal/request.c, linked from libdrover-core.a) at the
 * default settings (confirm_interval 60 s, hold_backoff_max 900 s, jitter 5 s), over
 * many trials with real random draws; next to the fixed re-look every confirm_interval
 * that drover made before. Prints a RESULTS.md section (tests/bench/run splices it in).
 *   request-looks [TRIALS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "heal/request.h"

#define MINUTES 30
#define DESCRIBES_PER_LOOK 3 /* DescribeAutoScalingInstances, -Groups, ScalingActivities */

static int cmp(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return (x > y) - (x < y);
}

static unsigned one_trial(void) {
        const PolicyDecision guard = { .action = POLICY_ACTION_WAIT,
                                       .reason = POLICY_REASON_FLEET_GUARD };
        const RequestView view = { POLICY_MEMBERSHIP_IN_GROUP, POLICY_LIFECYCLE_IN_SERVICE, true };
        RequestMemory m = { .held = _POLICY_REASON_MAX };
        uint64_t now = USEC_PER_SEC, end = now + MINUTES * 60 * USEC_PER_SEC;
        unsigned looks = 0;
        RequestActions a;
        RequestEvent ev = REQUEST_EV_EVALUATE;

        for (;;) {
                RequestInput in = { .verdict = POLICY_VERDICT_UNHEALTHY,
                                    .can_ask = true,
                                    .decision = &guard,
                                    .view = &view,
                                    .confirm_interval = 60 * USEC_PER_SEC,
                                    .hold_cap = 900 * USEC_PER_SEC,
                                    .jitter = (uint64_t) (random_unit() * 5 * USEC_PER_SEC),
                                    .unit = random_unit() };

                request_step(&m, ev, &in, now, &a);
                if (a.what & REQUEST_DO_LOOK) {
                        looks++;
                        ev = REQUEST_EV_VIEW; /* the group answers at once */
                        continue;
                }
                if (!(a.what & REQUEST_DO_ARM) || a.at >= end)
                        return looks;
                now = a.at;
                ev = REQUEST_EV_TIMER;
        }
}

int main(int argc, char *argv[]) {
        unsigned trials = argc > 1 ? (unsigned) atoi(argv[1]) : 10000, *looks;
        unsigned before = MINUTES; /* one look per confirm_interval, fixed */
        double sum = 0;

        looks = calloc(trials ?: 1, sizeof(*looks));
        if (!looks || trials == 0)
                return 1;
        for (unsigned i = 0; i < trials; i++) {
                looks[i] = one_trial();
                sum += looks[i];
        }
        qsort(looks, trials, sizeof(*looks), cmp);
        printf("## 6. Looks while held back: 30 minutes behind the fleet guard\n\n"
               "The request machine itself (heal/request.c, `tests/bench/request-looks %u`),\n"
               "at the defaults (confirm_interval 60 s, hold_backoff_max 900 s): how often an\n"
               "instance held back by the fleet guard asks the group in 30 minutes, over %u\n"
               "trials with real random draws. Each look is %d Describe calls.\n\n"
               "| | looks in 30 min | Describe calls | at 10,000 held instances, calls/s |\n"
               "| --- | --- | --- | --- |\n"
               "| before (fixed re-look every confirm_interval) | %u | %u | %.1f |\n"
               "| now, mean | %.1f | %.1f | %.1f |\n"
               "| now, p99 | %u | %u | |\n"
               "| now, max | %u | %u | |\n\n"
               "The integration test `test_request.py::test_fleet_guard_looks_back_off` shows\n"
               "the same backoff end to end against tests/sim, with the clocks scaled down.\n"
               "A healthy instance asks the group twice at start (DescribeAutoScalingInstances,\n"
               "DescribeAutoScalingGroups) and then never while healthy\n"
               "(`test_request.py::test_quiet_while_healthy_*`); with the group's tag in\n"
               "IMDS it never asks again, without it once a jittered hour: at 10,000 healthy\n"
               "instances, 0 and about 2.8 calls/s.\n",
               trials, trials, DESCRIBES_PER_LOOK, before, before * DESCRIBES_PER_LOOK,
               10000.0 * before * DESCRIBES_PER_LOOK / (MINUTES * 60), sum / trials,
               DESCRIBES_PER_LOOK * sum / trials,
               10000.0 * DESCRIBES_PER_LOOK * (sum / trials) / (MINUTES * 60),
               looks[(size_t) floor(0.99 * (trials - 1))],
               DESCRIBES_PER_LOOK * looks[(size_t) floor(0.99 * (trials - 1))], looks[trials - 1],
               DESCRIBES_PER_LOOK * looks[trials - 1]);
        free(looks);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* Test driver: restarts one unit through remedy.c and prints the outcome. */
#include <stdio.h>

#include "bus/remedy.h"
#include "base/util.h"

static void on_done(int result, const char *job_result, void *userdata) {
        sd_event *e = userdata;

        printf("result=%d job_result=%s\n", result, job_result ? job_result : "-");
        sd_event_exit(e, 0);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(remedy_freep) Remedy *r = NULL;
        int k;

        if (argc != 3) {
                fprintf(stderr, "usage: %s UNIT TIMEOUT_SEC\n", argv[0]);
                return 2;
        }
        if (sd_event_new(&e) < 0 || remedy_new(e, &r) < 0)
                return 1;
        k = remedy_restart_unit(r, argv[1], (uint64_t) atoi(argv[2]) * USEC_PER_SEC, on_done, e,
                                NULL);
        if (k < 0) {
                printf("result=%d job_result=-\n", k);
                return 1;
        }
        k = sd_event_loop(e);
        return k < 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Test driver: restarts one unit through remedy.c COUNT times on the same Remedy (one
 * connection, as the daemon keeps it) and prints each outcome. Between two restarts it
 * runs the loop for a moment, then waits for a line on stdin, so a test can restart the
 * bus in between.
 */
#include <stdio.h>

#include "base/util.h"
#include "bus/remedy.h"

static void on_done(int result, const char *job_result, void *userdata) {
        bool *done = userdata;

        printf("result=%d job_result=%s\n", result, job_result ? job_result : "-");
        fflush(stdout);
        *done = true;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(remedy_freep) Remedy *r = NULL;
        int count = argc > 3 ? atoi(argv[3]) : 1;
        char line[16];
        int k, failed = 0;

        if (argc < 3 || argc > 4 || count < 1) {
                fprintf(stderr, "usage: %s UNIT TIMEOUT_SEC [COUNT]\n", argv[0]);
                return 2;
        }
        if (sd_event_new(&e) < 0 || remedy_new(e, &r) < 0)
                return 1;
        for (int i = 0; i < count; i++) {
                bool done = false;

                if (i > 0) {
                        /* Let the loop see what happened to the bus, as the daemon's would. */
                        for (int t = 0; t < 5; t++)
                                (void) sd_event_run(e, 100 * USEC_PER_MSEC);
                        if (!fgets(line, sizeof(line), stdin))
                                return 1;
                }
                k = remedy_restart_unit(r, argv[1], (uint64_t) atoi(argv[2]) * USEC_PER_SEC,
                                        on_done, &done, NULL);
                if (k < 0) {
                        printf("result=%d job_result=-\n", k);
                        fflush(stdout);
                        failed = 1;
                        continue;
                }
                while (!done)
                        if (sd_event_run(e, UINT64_MAX) < 0)
                                return 1;
        }
        return failed;
}

/* SPDX-License-Identifier: MIT */
/* `drover run [-c FILE]`: the daemon, in the foreground (systemd Type=notify). */
#include <getopt.h>
#include <stdio.h>

#include "daemon/daemon.h"
#include "base/util.h"
#include "cli/verbs.h"

int verb_run(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *path = drover_default_config();
        int opt;

        while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        path = optarg;
                        break;
                case 'h':
                        printf("Usage: drover run [-c FILE]\n\n"
                               "Runs the agent in the foreground (systemd Type=notify).\n"
                               "SIGHUP reloads the configuration; SIGTERM stops.\n");
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "drover run: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        return daemon_run(path);
}

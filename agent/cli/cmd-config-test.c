/* SPDX-License-Identifier: MIT */
/* `drover config-test [-c FILE]`: validate the configuration the way an image build must. */
#include <getopt.h>
#include <stdio.h>

#include "config/config.h"
#include "base/util.h"
#include "cli/verbs.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: drover config-test [-c FILE]\n\n"
                "Checks FILE (default %s) and the conf.d/*.conf beside it.\n"
                "Prints \"configuration OK\", or every problem as FILE:LINE: message.\n"
                "Exit status: 0 valid, 1 invalid, 2 usage error.\n",
                drover_default_config());
}

int verb_config_test(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(config_freep) Config *c = NULL;
        const char *path = drover_default_config();
        /* An image build must catch what a running agent would only report later. */
        unsigned flags = CONFIG_LOAD_CHECK_EXECUTABLES;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        path = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "drover config-test: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (geteuid() == 0)
                flags |= CONFIG_LOAD_REQUIRE_TRUSTED;

        r = config_load_print(path, flags, false, stderr, &c);
        if (r < 0)
                return 1;
        /* The answer asked for, so stdout; problems go to stderr. */
        printf("configuration OK\n");
        return 0;
}

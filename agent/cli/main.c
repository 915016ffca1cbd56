/* SPDX-License-Identifier: MIT */
/* drover: subcommand dispatch only. */
#include <stdio.h>

#include "base/log.h"
#include "base/secmem.h"
#include "cli/verbs.h"

static const struct verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *usage;
} verbs[] = {
        { "run", verb_run,
          "run [-c FILE]                   run the agent (foreground, systemd Type=notify)" },
        { "status", verb_status,
          "status [--json] [--check] [--wide NAME]\n"
          "                                  ask the running agent for its state" },
        { "version", verb_version, "version                         print the version" },
        { "check", verb_check,
          "check [-c FILE] [--json] [NAME...]\n"
          "                                  run the checks once" },
        { "config-test", verb_config_test,
          "config-test [-c FILE]           validate the configuration" },
        { "metadata", verb_metadata,
          "metadata [-c FILE] [PATH]       print an IMDS path (default: the identity document)" },
        { "aws-test", verb_aws_test,
          "aws-test [-c FILE]              check region, endpoints, credentials with one signed "
          "call" },
};

static int help(FILE *f) {
        fprintf(f, "Usage: drover COMMAND [OPTIONS]\n\n"
                   "A self-healing node agent for EC2 instances in Auto Scaling groups.\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %s\n", verbs[i].usage);
        fprintf(f, "\nSee drover(8) and drover.conf(5).\n");
        return 0;
}

int verb_version(int argc, char *argv[]) {
        if (argc > 1 && (streq(argv[1], "--help") || streq(argv[1], "-h")) && argc == 2) {
                printf("Usage: drover version\n\nPrints drover and its version.\n");
                return 0;
        }
        if (argc > 1) {
                fprintf(stderr, "drover version: unexpected argument '%s' (it takes none)\n",
                        argv[1]);
                return 2;
        }
        printf("drover %s\n", PACKAGE_VERSION);
        return 0;
}

int main(int argc, char *argv[]) {
        /* Before jansson or OpenSSL allocate anything: what they free is wiped. */
        int r = secmem_install();

        log_open();
        if (r < 0) /* OpenSSL allocated first (a preloaded library?): jansson still wipes */
                log_warning("OpenSSL's memory will not be wiped when freed: it was in use "
                            "before drover started");
        if (argc < 2)
                return help(stderr), 2;
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help"))
                return help(stdout);
        if (streq(argv[1], "--version"))
                return verb_version(argc - 1, argv + 1);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1);
        fprintf(stderr, "drover: unknown command '%s' (see 'drover --help')\n", argv[1]);
        return 2;
}

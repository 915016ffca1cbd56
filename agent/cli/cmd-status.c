/* SPDX-License-Identifier: MIT */
/* `drover status [--json] [--check] [--wide NAME]`: ask the running daemon for its state. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daemon/status.h"
#include "base/util.h"
#include "cli/status-text.h"
#include "cli/verbs.h"

static void usage(FILE *f) {
        fprintf(f, "Usage: drover status [--json] [--check] [--wide NAME]\n\n"
                   "Asks the running daemon for its state: the headline (what the instance is\n"
                   "and why), the checks, remediation, replacement, group, lifecycle, brakes.\n\n"
                   "  --json       the whole document (schema in drover(8))\n"
                   "  --check      print the headline only and exit like a Nagios plugin:\n"
                   "               0 healthy, 1 held back, remediating or degraded,\n"
                   "               2 unhealthy, 3 no daemon or unknown\n"
                   "  --wide NAME  the full output of check NAME\n\n"
                   "Exit status: 0, or 3 if no daemon answers (2 on a usage error; 3 with "
                   "--check).\n");
}

/* `status --check` is a Nagios plugin: a typo must read UNKNOWN, never CRITICAL. */
static bool wants_check(int argc, char *argv[]) {
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "--check"))
                        return true;
        return false;
}

static int query(const char *wide, json_t **ret) {
        char path[4096];
        int r;

        snprintf(path, sizeof(path), "%s/drover.sock", drover_runtime_dir());
        r = status_query(path, wide, 5000, ret);
        if (r == -EACCES)
                fprintf(stderr,
                        "drover status: %s refused the request: run as root or as a member of "
                        "status.group\n",
                        path);
        else if (r == -EBUSY)
                fprintf(stderr,
                        "drover status: the daemon at %s is busy with other status clients, "
                        "try again\n",
                        path);
        else if (r == -EFBIG)
                fprintf(stderr, "drover status: the daemon's reply passed %u bytes\n",
                        STATUS_CLIENT_REPLY_MAX);
        else if (r < 0)
                fprintf(stderr, "drover status: no daemon answers at %s: %s\n", path, strerror(-r));
        return r;
}

static int print_wide(json_t *doc, const char *name) {
        json_t *c;
        size_t i;

        if (status_text_print_wide(stdout, doc, name) >= 0)
                return 0;
        fprintf(stderr, "drover status: no such check: %s (checks:", name);
        json_array_foreach(json_object_get(doc, "checks"), i, c)
                fprintf(stderr, " %s", json_string_value(json_object_get(c, "name")));
        fprintf(stderr, "%s)\n", json_array_size(json_object_get(doc, "checks")) ? "" : " none");
        return 2;
}

int verb_status(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "check", no_argument, NULL, 'k' },
                { "wide", required_argument, NULL, 'w' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool json = false, check = wants_check(argc, argv);
        const char *wide = NULL;
        int usage_exit = check ? 3 : 2, opt, r;
        StatusClass k;
        json_t *doc = NULL;
        char head[640];

        while ((opt = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
                switch (opt) {
                case 'j':
                        json = true;
                        break;
                case 'k':
                        break;
                case 'w':
                        wide = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return usage_exit;
                }
        if (optind < argc) {
                fprintf(stderr, "drover status: unexpected argument '%s'\n", argv[optind]);
                return usage_exit;
        }
        if (wide && (check || strlen(wide) >= STATUS_NAME_MAX)) {
                fprintf(stderr, "drover status: %s\n",
                        check ? "--wide and --check do not go together" : "check name too long");
                return usage_exit;
        }
        r = query(wide, &doc);
        if (r < 0) {
                if (check)
                        printf("DROVER UNKNOWN: no daemon answers\n");
                return 3;
        }
        if (json) {
                json_dumpf(doc, stdout, JSON_INDENT(2));
                putchar('\n');
                k = status_text_headline(doc, time(NULL), head, sizeof(head));
        } else if (wide)
                k = print_wide(doc, wide) != 0 ? STATUS_CLASS_UNKNOWN : STATUS_CLASS_OK;
        else if (check) {
                k = status_text_headline(doc, time(NULL), head, sizeof(head));
                printf("DROVER %s\n", head);
        } else
                k = status_text_print(stdout, doc, time(NULL), cli_use_colour());
        json_decref(doc);
        if (wide && k != STATUS_CLASS_OK)
                return 2;
        return check ? (int) k : 0;
}

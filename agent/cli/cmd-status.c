/* SPDX-License-Identifier: MIT */
/* `drover status [--json]`: ask the running daemon for its state. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "daemon/status.h"
#include "base/util.h"
#include "cli/verbs.h"

static const char *str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : "-";
}

/* The health endpoint's answer, and the ELB warning where it applies. */
static void print_http(json_t *http) {
        json_t *warning = json_object_get(http, "elb_warning");

        if (!json_is_true(json_object_get(http, "enabled")))
                return;
        printf("http:     /health %s: %s\n",
               json_is_true(json_object_get(http, "serving")) ? "200" : "503", str(http, "reason"));
        if (json_is_string(warning))
                printf("warning:  %s\n", json_string_value(warning));
}

static void print_human(json_t *doc) {
        json_t *inst = json_object_get(doc, "instance"), *heal = json_object_get(doc, "heal");
        json_t *group = json_object_get(heal, "group"), *checks = json_object_get(doc, "checks");
        json_t *decision = json_object_get(heal, "decision"), *repl, *c, *h;
        size_t i;

        printf("drover %s, pid %d, up %.0f s\n", str(doc, "version"),
               (int) json_integer_value(json_object_get(doc, "pid")),
               json_real_value(json_object_get(doc, "uptime_s")));
        if (json_is_true(json_object_get(inst, "known")))
                printf("instance: %s (%s, %s, %s)\n", str(inst, "instance_id"),
                       str(inst, "image_id"), str(inst, "instance_type"),
                       str(inst, "availability_zone"));
        else
                printf("instance: unknown (IMDS: %s)\n", str(inst, "error"));
        printf("summary:  %s\n", str(doc, "summary"));
        printf("verdict:  %s; decision: %s (%s) %s\n", str(heal, "verdict"),
               str(decision, "action"), str(decision, "reason"), str(decision, "message"));
        if (json_object_get(group, "group"))
                printf("group:    %s, %s/%s, desired %d, %d health replacements in the last hour\n",
                       str(group, "group"), str(group, "lifecycle_state"),
                       str(group, "health_status"),
                       (int) json_integer_value(json_object_get(group, "desired")),
                       (int) json_integer_value(
                               json_object_get(group, "health_replacements_last_hour")));
        else
                printf("group:    %s%s%s\n", str(group, "membership"),
                       json_object_get(group, "error") ? ": " : "",
                       json_object_get(group, "error") ? str(group, "error") : "");
        print_http(json_object_get(doc, "http"));
        if (json_object_get(json_object_get(doc, "config"), "reload_error") &&
            !json_is_null(json_object_get(json_object_get(doc, "config"), "reload_error")))
                printf("reload:   failed: %s\n",
                       str(json_object_get(doc, "config"), "reload_error"));
        printf("\n%-20s %-11s %-8s %-9s %8s  %s\n", "CHECK", "ROLE", "STATE", "STATUS", "MS",
               "OUTPUT");
        json_array_foreach(checks, i, c)
                printf("%-20s %-11s %-8s %-9s %8lld  %.60s\n", str(c, "name"), str(c, "role"),
                       str(c, "state"), str(c, "status_name"),
                       (long long) json_integer_value(json_object_get(c, "duration_ms")),
                       str(c, "output"));
        repl = json_object_get(heal, "replacement");
        if (repl)
                printf("\nreplacement: %s requested at %lld, %s\n", str(repl, "action"),
                       (long long) json_integer_value(json_object_get(repl, "requested_at")),
                       json_is_true(json_object_get(repl, "confirmed")) ? "confirmed by the group"
                                                                        : "not confirmed yet");
        if (json_array_size(json_object_get(heal, "history")) > 0) {
                printf("\nhistory:\n");
                json_array_foreach(json_object_get(heal, "history"), i, h)
                        printf("  %s\n", json_string_value(h));
        }
}

int verb_status(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        char path[4096];
        bool json = false;
        json_t *doc = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
                switch (opt) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("Usage: drover status [--json]\n\n"
                               "Asks the running daemon for its state. Exit status 3 if none "
                               "runs.\n");
                        return 0;
                default:
                        return 2;
                }
        snprintf(path, sizeof(path), "%s/drover.sock", drover_runtime_dir());
        r = status_query(path, 5000, &doc);
        if (r < 0) {
                if (r == -EACCES)
                        fprintf(stderr,
                                "drover status: %s refused the request: run as root or "
                                "as a member of status.group\n",
                                path);
                else
                        fprintf(stderr, "drover status: no daemon answers at %s: %s\n", path,
                                strerror(-r));
                return 3;
        }
        if (json) {
                json_dumpf(doc, stdout, JSON_INDENT(2));
                putchar('\n');
        } else
                print_human(doc);
        json_decref(doc);
        return 0;
}

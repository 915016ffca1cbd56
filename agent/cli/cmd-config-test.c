/* SPDX-License-Identifier: MIT */
/* `drover config-test [-c FILE]`: validate the configuration the way an image build must. */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>

#include "base/exec-verify.h"
#include "checks/hooks.h"
#include "config/config.h"
#include "base/util.h"
#include "cli/verbs.h"

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* The hooks of one event directory, walked as they will be when they run. */
static int check_event_hooks(const char *dir, const char *event) {
        _cleanup_strv_free_ char **names = NULL;
        int bad = 0;

        if (hooks_list(dir, event, &names) < 0)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i++) {
                char path[PATH_MAX], why[EXEC_VERIFY_WHY_MAX];
                ExecTarget t;

                snprintf(path, sizeof(path), "%s/%s/%s", dir, event, names[i]);
                if (exec_verify_target(path, &t, why) >= 0) {
                        safe_close(t.fd);
                        continue;
                }
                fprintf(stderr, "%s: refusing to run this hook: %s\n", path, why);
                bad++;
        }
        return bad;
}

/* Every hooks.d/<event>/ (any event: one drover learns later is checked too). */
static int check_hooks(const Config *c) {
        _cleanup_(closedirp) DIR *d = opendir(c->hooks.dir);
        struct dirent *de;
        int bad = 0, r;

        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                r = check_event_hooks(c->hooks.dir, de->d_name);
                if (r < 0)
                        return r;
                bad += r;
        }
        return bad;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: drover config-test [-c FILE]\n\n"
                "Checks FILE (default %s) and the conf.d/*.conf beside it,\n"
                "every program a check runs and every hook in hooks.dir.\n"
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
        if (check_hooks(c) != 0)
                return 1;
        /* The answer asked for, so stdout; problems go to stderr. */
        printf("configuration OK\n");
        return 0;
}

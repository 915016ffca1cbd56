/* SPDX-License-Identifier: MIT */
/*
 * drover metadata [-c FILE] [--endpoint URL] [--allow-v1] [--repeat N --interval SEC] [PATH]:
 * an IMDS GET with the agent's client. --repeat runs the same client several times in one
 * process, which shows (and lets tests check) the token cache at work.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>

#include "config/config.h"
#include "imds/http.h"
#include "imds/imds.h"
#include "base/util.h"
#include "cli/verbs.h"

typedef struct Outcome {
        bool done;
        int error;
        char *body;
        size_t len;
        char *message;
} Outcome;

static const char *reason(int error) {
        switch (error) {
        case -ENOENT:
                return "not found";
        case -EACCES:
                return "access denied";
        case -EPROTONOSUPPORT:
                return "IMDSv2 not offered";
        case -EREMOTEIO:
                return "server error";
        case -EBUSY:
                return "throttled";
        case -EFBIG:
                return "response too large";
        default:
                return NULL;
        }
}

static void on_done(Imds *m, const ImdsResult *res, void *userdata) {
        Outcome *o = userdata;
        char why[128], status[32] = "", attempts[48] = "";

        o->done = true;
        o->error = res->error;
        if (res->error == 0) {
                o->body = malloc(res->len + 1);
                if (!o->body) {
                        o->error = -ENOMEM;
                        return;
                }
                memcpy(o->body, res->body, res->len + 1);
                o->len = res->len;
                return;
        }
        if (reason(res->error))
                snprintf(why, sizeof(why), "%s", reason(res->error));
        else {
                snprintf(why, sizeof(why), "%s", strerror(-res->error));
                why[0] = (char) tolower((unsigned char) why[0]); /* mid-sentence */
        }
        if (res->status > 0)
                snprintf(status, sizeof(status), " (HTTP %ld)", res->status);
        if (res->attempts > 1)
                snprintf(attempts, sizeof(attempts), ", after %u attempts", res->attempts);
        if (asprintf(&o->message, "IMDS at %s: %s failed: %s%s%s%s%s", imds_endpoint(m), res->step,
                     why, status, attempts, isempty(res->detail) ? "" : ": ",
                     strempty(res->detail)) < 0)
                o->message = NULL;
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        *(bool *) userdata = true;
        return 0;
}

static int sleep_in_loop(Http *http, double seconds) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *s = NULL;
        bool woke = false;
        uint64_t now;
        int r;

        r = sd_event_now(http_get_event(http), CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(http_get_event(http), &s, CLOCK_MONOTONIC,
                                      now + (uint64_t) (seconds * USEC_PER_SEC), 0, on_wake, &woke);
        return r < 0 ? r : http_run_until(http, &woke);
}

/* One GET; prints the body, or the error on stderr. Returns the exit status. */
static int get_and_print(Http *http, Imds *imds, const char *path) {
        Outcome o = {};
        int r;

        r = imds_get(imds, path, on_done, &o, NULL);
        if (r == -EINVAL) {
                fprintf(stderr, "drover: invalid IMDS path '%s'\n", path);
                return 2;
        }
        if (r >= 0)
                r = http_run_until(http, &o.done);
        if (r < 0) {
                fprintf(stderr, "drover: IMDS at %s: %s\n", imds_endpoint(imds), strerror(-r));
                return 1;
        }
        if (o.error < 0) {
                fprintf(stderr, "drover: %s\n", o.message ?: strerror(-o.error));
                free(o.message);
                return 1;
        }
        fwrite(o.body, 1, o.len, stdout);
        if (o.len > 0 && o.body[o.len - 1] != '\n')
                putchar('\n');
        free(o.body);
        return fflush(stdout) == 0 ? 0 : 1;
}

static int usage(FILE *f, int status) {
        fprintf(f, "Usage: drover metadata [-c FILE] [--endpoint URL] [--allow-v1]\n"
                   "                       [--repeat N [--interval SEC]] [PATH]\n\n"
                   "GET an IMDS path with drover's IMDSv2 client and print the answer.\n"
                   "PATH: meta-data/instance-id, /latest/meta-data/..., default the instance\n"
                   "identity document.\n");
        return status;
}

int verb_metadata(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "endpoint", required_argument, NULL, 'E' },
                { "allow-v1", no_argument, NULL, '1' },
                { "repeat", required_argument, NULL, 'R' },
                { "interval", required_argument, NULL, 'I' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config_path = NULL, *endpoint = NULL, *path = IMDS_PATH_IDENTITY;
        bool allow_v1 = false;
        unsigned long repeat = 1;
        double interval = 1.0;
        char *end;
        _cleanup_(config_freep) Config *cfg = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(http_freep) Http *http = NULL;
        _cleanup_(imds_freep) Imds *imds = NULL;
        ImdsConfig ic = {
                .endpoint = (char *) IMDS_DEFAULT_ENDPOINT,
                .token_ttl = 21600,
                .timeout_ms = 1000,
                .retries = 3,
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'E':
                        endpoint = optarg;
                        break;
                case '1':
                        allow_v1 = true;
                        break;
                case 'R':
                        errno = 0;
                        repeat = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || repeat < 1 || repeat > 1000000) {
                                fprintf(stderr, "drover: --repeat wants 1..1000000\n");
                                return 2;
                        }
                        break;
                case 'I':
                        interval = strtod(optarg, &end);
                        if (*end || end == optarg || !(interval >= 0 && interval <= 86400)) {
                                fprintf(stderr, "drover: --interval wants 0..86400 seconds\n");
                                return 2;
                        }
                        break;
                case 'h':
                        return usage(stdout, 0);
                default:
                        return usage(stderr, 2);
                }
        if (argc - optind > 1)
                return usage(stderr, 2);
        if (optind < argc)
                path = argv[optind];

        r = config_load_print(config_path ?: drover_default_config(), 0, config_path == NULL,
                              stderr, &cfg);
        if (r < 0)
                return 1;
        if (cfg)
                ic = cfg->imds;
        if (endpoint)
                ic.endpoint = (char *) endpoint;
        if (allow_v1)
                ic.allow_v1 = true;

        r = sd_event_new(&e);
        if (r >= 0)
                r = http_new(e, &http);
        if (r < 0) {
                fprintf(stderr, "drover: cannot set up the event loop: %s\n", strerror(-r));
                return 1;
        }
        r = imds_new(http, &ic, &imds);
        if (r < 0) {
                fprintf(stderr, "drover: invalid IMDS settings (endpoint '%s'): %s\n", ic.endpoint,
                        strerror(-r));
                return 1;
        }
        for (unsigned long i = 0; i < repeat; i++) {
                if (i > 0 && (r = sleep_in_loop(http, interval)) < 0) {
                        fprintf(stderr, "drover: event loop failed: %s\n", strerror(-r));
                        return 1;
                }
                r = get_and_print(http, imds, path);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* `drover check [-c FILE] [--json] [NAME...]`: run the configured checks once. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "base/nagios.h"
#include "checks/runner.h"
#include "base/util.h"
#include "cli/status-text.h"
#include "cli/verbs.h"

typedef struct Run Run;

typedef struct Item {
        Run *run;
        const CheckConfig *cc;
        PluginResult *result;
} Item;

struct Run {
        sd_event *event;
        Runner *runner;
        Item *items;
        size_t n_items, n_pending;
        bool interrupted;
        bool rows;   /* text mode: print each row as its check finishes */
        bool colour; /* a terminal, and no NO_COLOR */
        int width;   /* of the NAME column */
};

static void print_row(const Run *run, const Item *item);

static void on_result(Runner *r, uint64_t id, PluginResult *result, void *userdata) {
        Item *item = userdata;

        if (!result)
                return; /* a stuck plugin reaped after its result: nothing to report */
        item->result = result;
        /* The slowest check must not hide the others: print each as it ends. */
        if (item->run->rows && result && result->output)
                print_row(item->run, item);
        if (--item->run->n_pending == 0)
                (void) sd_event_exit(item->run->event, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Run *run = userdata;

        /* Kill every plugin's process group before leaving: no orphans. */
        runner_cancel_all(run->runner);
        run->interrupted = true;
        return sd_event_exit(run->event, 0);
}

static int run_checks(Run *run, unsigned concurrency) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return negative_errno();
        r = sd_event_new(&e);
        if (r < 0)
                return r;
        run->event = e;
        if ((r = sd_event_add_signal(e, NULL, SIGINT, on_signal, run)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, run)) < 0)
                return r;
        r = runner_new(e, concurrency, &run->runner);
        if (r < 0)
                return r;
        for (size_t i = 0; i < run->n_items; i++) {
                PluginSpec spec;

                run->items[i].run = run;
                plugin_spec_from_check(run->items[i].cc, &spec);
                r = runner_submit(run->runner, &spec, on_result, &run->items[i], NULL);
                if (r < 0)
                        return r;
                run->n_pending++;
        }
        r = run->n_pending > 0 ? sd_event_loop(e) : 0;
        /* Before the loop goes: the runner holds sources on it. */
        run->runner = runner_free(run->runner);
        run->event = NULL;
        return r;
}

/* The full text a plugin printed, minus perfdata: message, then long output. */
static char *result_text(const NagiosOutput *o) {
        char *s = NULL;

        if (isempty(o->long_output))
                return strdup(o->message);
        return asprintf(&s, "%s\n%s", o->message, o->long_output) < 0 ? NULL : s;
}

/* Integral values print as integers (12, not 12.0); null when absent. */
static json_t *json_number_or_null(bool has, double v) {
        if (!has)
                return json_null();
        if (v == floor(v) && fabs(v) < 9007199254740992.0)
                return json_integer((json_int_t) v);
        return json_real(v);
}

static json_t *perfdata_json(const NagiosOutput *o) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < o->n_perfdata; i++) {
                const NagiosPerfdata *p = &o->perfdata[i];
                json_t *item =
                        json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "label", p->label, "value",
                                  json_number_or_null(p->has_value, p->value), "uom", p->uom,
                                  "warn", p->warn ? json_string(p->warn) : json_null(), "crit",
                                  p->crit ? json_string(p->crit) : json_null(), "min",
                                  json_number_or_null(p->has_min, p->min), "max",
                                  json_number_or_null(p->has_max, p->max));

                if (!item || json_array_append_new(a, item) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static int print_json(const Run *run, NagiosStatus worst) {
        json_auto_t *checks = json_array(), *root = NULL;
        _cleanup_free_ char *dump = NULL;

        for (size_t i = 0; checks && i < run->n_items; i++) {
                const PluginResult *res = run->items[i].result;
                _cleanup_free_ char *text = result_text(res->output);
                json_t *c;

                if (!text)
                        return -ENOMEM;
                c = json_pack("{s:s, s:i, s:s, s:s, s:o, s:I}", "name", run->items[i].cc->name,
                              "status", (int) res->status, "state", nagios_status_name(res->status),
                              "output", text, "perfdata", perfdata_json(res->output), "duration_ms",
                              (json_int_t) (res->duration_usec / USEC_PER_MSEC));
                if (!c || json_array_append_new(checks, c) < 0)
                        return -ENOMEM;
        }
        root = json_pack("{s:O, s:i}", "checks", checks, "worst", (int) worst);
        /* 15 significant digits: 0.1 prints as 0.1, not 0.10000000000000001. */
        dump = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        if (!dump)
                return -ENOMEM;
        printf("%s\n", dump);
        return 0;
}

/* One line per check: control characters from a plugin must not garble the terminal. */
static void print_sanitized(const char *s) {
        for (; *s; s++)
                putchar((unsigned char) *s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static void print_header(Run *run) {
        run->width = 4;
        for (size_t i = 0; i < run->n_items; i++)
                run->width = MAX(run->width, (int) strlen(run->items[i].cc->name));
        printf("%-*s  %-8s  %9s  %s\n", run->width, "NAME", "STATE", "DURATION", "OUTPUT");
        fflush(stdout);
}

static void print_row(const Run *run, const Item *item) {
        static const char *const colours[] = { "\033[32m", "\033[33m", "\033[31m", "\033[35m" };
        const PluginResult *res = item->result;
        char dur[32];

        snprintf(dur, sizeof(dur), "%" PRIu64 " ms",
                 (uint64_t) (res->duration_usec / USEC_PER_MSEC));
        printf("%-*s  %s%-8s%s  %9s  ", run->width, item->cc->name,
               run->colour && (unsigned) res->status < 4 ? colours[res->status] : "",
               nagios_status_name(res->status), run->colour ? "\033[0m" : "", dur);
        print_sanitized(res->output->message);
        if (res->truncated)
                printf(" [output truncated]");
        putchar('\n');
        fflush(stdout);
}

static void help(void) {
        printf("Usage: drover check [-c FILE] [--json] [NAME...]\n\n"
               "Runs the configured checks (or the named ones) once, in parallel, and\n"
               "exits with the worst status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).\n\n"
               "  -c, --config FILE   read FILE and its conf.d/ instead of %s\n"
               "      --json          print one JSON object\n"
               "  -h, --help          show this help\n",
               drover_default_config());
}

/* The named checks, in the order given (each once), or all of them. */
static int select_checks(const Config *cfg, char **names, size_t n_names, Run *run) {
        size_t n = n_names > 0 ? n_names : cfg->n_checks;

        run->items = calloc(MAX(n, (size_t) 1), sizeof(Item));
        if (!run->items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const CheckConfig *cc =
                        n_names > 0 ? config_find_check(cfg, names[i]) : &cfg->checks[i];
                bool dup = false;

                if (!cc) {
                        fprintf(stderr, "drover check: no such check: %s (checks:", names[i]);
                        for (size_t k = 0; k < cfg->n_checks; k++)
                                fprintf(stderr, " %s", cfg->checks[k].name);
                        fprintf(stderr, "%s)\n", cfg->n_checks ? "" : " none configured");
                        return -ENOENT;
                }
                for (size_t j = 0; j < run->n_items; j++)
                        dup = dup || run->items[j].cc == cc;
                if (!dup)
                        run->items[run->n_items++].cc = cc;
        }
        return 0;
}

static void run_done(Run *run) {
        runner_free(run->runner);
        for (size_t i = 0; i < run->n_items; i++)
                plugin_result_free(run->items[i].result);
        free(run->items);
}

int verb_check(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(config_freep) Config *cfg = NULL;
        _cleanup_(run_done) Run run = {};
        const char *path = drover_default_config();
        NagiosStatus worst = NAGIOS_OK;
        bool json = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        path = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        /* A Nagios check: a usage error is UNKNOWN, never CRITICAL. */
                        fprintf(stderr, "Try 'drover check --help'.\n");
                        return NAGIOS_UNKNOWN;
                }
        if (config_load_print(path, geteuid() == 0 ? CONFIG_LOAD_REQUIRE_TRUSTED : 0, false, stderr,
                              &cfg) < 0)
                return NAGIOS_UNKNOWN;
        r = select_checks(cfg, argv + optind, (size_t) (argc - optind), &run);
        if (r < 0)
                return NAGIOS_UNKNOWN;

        run.rows = !json && run.n_items > 0;
        run.colour = run.rows && cli_use_colour();
        if (run.rows)
                print_header(&run);
        r = run_checks(&run, cfg->plugins.concurrency);
        if (r < 0) {
                fprintf(stderr, "drover check: %s\n", strerror(-r));
                return NAGIOS_UNKNOWN;
        }
        if (run.interrupted) {
                fprintf(stderr, "drover check: interrupted, plugins stopped\n");
                return NAGIOS_UNKNOWN;
        }
        for (size_t i = 0; i < run.n_items; i++) {
                if (!run.items[i].result || !run.items[i].result->output) {
                        fprintf(stderr, "drover check: out of memory\n");
                        return NAGIOS_UNKNOWN;
                }
                worst = nagios_status_worst(worst, run.items[i].result->status);
        }
        if (json)
                r = print_json(&run, worst);
        else if (run.n_items == 0)
                fprintf(stderr, "drover check: no checks configured in %s\n", path);
        if (r < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "drover check: cannot write the result\n");
                return NAGIOS_UNKNOWN;
        }
        return worst;
}

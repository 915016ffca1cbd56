/* SPDX-License-Identifier: MIT */
/*
 * check_clock: is the system clock synchronised, and is the kernel's estimate of its
 * error within bounds? Reads adjtimex(2) with modes = 0 (read-only, allowed under
 * ProtectClock=), so it works the same with chrony, timesyncd or ntpd: each of them
 * clears STA_UNSYNC and sets esterror/maxerror when it disciplines the clock.
 */
#include <getopt.h>
#include <stdio.h>
#include <sys/timex.h>

#include "plugin-util.h"

#define NAME "CLOCK"

typedef struct ClockReading {
        int state;   /* adjtimex return: TIME_OK ... TIME_ERROR */
        long status; /* STA_* bits */
        long esterror_us;
        long maxerror_us;
} ClockReading;

typedef struct Options {
        PluginRange warn, crit;
        const char *timex_file;
        unsigned timeout;
        NagiosStatus timeout_state;
} Options;

static int read_kernel(ClockReading *ret) {
        struct timex tx = { .modes = 0 };
        int state = adjtimex(&tx);

        if (state < 0)
                return negative_errno();
        *ret = (ClockReading){ .state = state,
                               .status = tx.status,
                               .esterror_us = tx.esterror,
                               .maxerror_us = tx.maxerror };
        return 0;
}

/* Test fixture: "state=N status=N esterror=N maxerror=N", whitespace separated. */
static int read_fixture(const char *path, ClockReading *ret) {
        _cleanup_free_ char *text = NULL;
        ClockReading c = { .state = -1, .status = -1, .esterror_us = -1, .maxerror_us = -1 };
        char *save = NULL;
        int r;

        r = plugin_read_file(path, 4096, &text);
        if (r < 0)
                return r;
        for (char *tok = strtok_r(text, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save)) {
                char *eq = strchr(tok, '='), *end = NULL;
                long v;

                if (!eq)
                        return -EINVAL;
                *eq = '\0';
                errno = 0;
                v = strtol(eq + 1, &end, 0);
                if (errno || !end || *end || end == eq + 1 || v < 0)
                        return -EINVAL;
                if (streq(tok, "state"))
                        c.state = (int) MIN(v, 100L);
                else if (streq(tok, "status"))
                        c.status = v;
                else if (streq(tok, "esterror"))
                        c.esterror_us = v;
                else if (streq(tok, "maxerror"))
                        c.maxerror_us = v;
                else
                        return -EINVAL;
        }
        if (c.state < 0 || c.status < 0 || c.esterror_us < 0 || c.maxerror_us < 0)
                return -EINVAL;
        *ret = c;
        return 0;
}

/* Pure: the verdict on one reading. */
static NagiosStatus clock_evaluate(const ClockReading *c, const Options *o, PluginOutput *out) {
        double est = (double) c->esterror_us / 1e6, max = (double) c->maxerror_us / 1e6;
        bool unsync = c->state == TIME_ERROR || (c->status & STA_UNSYNC);
        NagiosStatus s;
        char num[32];

        plugin_format_number(num, sizeof(num), est);
        if (unsync) {
                s = NAGIOS_CRITICAL;
                plugin_msg(out, NULL, "clock not synchronised (%s), estimated error %ss",
                           c->status & STA_UNSYNC ? "STA_UNSYNC" : "TIME_ERROR", num);
        } else {
                s = plugin_thresholds(&o->warn, &o->crit, est);
                plugin_msg(out, NULL, "clock synchronised, estimated error %ss", num);
                if (s != NAGIOS_OK)
                        plugin_msg(out, NULL, ", outside %s range %s",
                                   s == NAGIOS_CRITICAL ? "critical" : "warning",
                                   s == NAGIOS_CRITICAL ? o->crit.text : o->warn.text);
        }
        plugin_perf(out, "esterror", est, "s", &o->warn, &o->crit, "0", NULL);
        plugin_perf(out, "maxerror", max, "s", NULL, NULL, "0", NULL);
        plugin_perf(out, "synchronised", unsync ? 0 : 1, NULL, NULL, NULL, "0", "1");
        return s;
}

static void help(void) {
        printf("check_clock - is the system clock synchronised (adjtimex), and how good is it?\n\n"
               "Usage: check_clock [-w RANGE] [-c RANGE] [-t SECONDS[:STATE]]\n\n"
               "  -w, --warning RANGE   estimated error in seconds (default 0.1)\n"
               "  -c, --critical RANGE  estimated error in seconds (default 1)\n"
               "  -t, --timeout SEC[:STATE]  give up after SEC seconds (default 10:CRITICAL)\n"
               "  -h, --help            this text\n"
               "  -V, --version         print the version\n"
               "      --timex FILE      (testing) read \"state=N status=N esterror=US\n"
               "                        maxerror=US\" from FILE instead of adjtimex(2)\n\n"
               "CRITICAL when the kernel reports TIME_ERROR or STA_UNSYNC (no time daemon has\n"
               "synchronised the clock), otherwise the estimated error against -w/-c.\n"
               "RANGE is a Nagios range ([@][start:][end], ~ for minus infinity).\n");
}

static void parse_args(int argc, char *argv[], Options *o) {
        static const struct option longopts[] = { { "warning", required_argument, NULL, 'w' },
                                                  { "critical", required_argument, NULL, 'c' },
                                                  { "timeout", required_argument, NULL, 't' },
                                                  { "help", no_argument, NULL, 'h' },
                                                  { "version", no_argument, NULL, 'V' },
                                                  { "timex", required_argument, NULL, 'X' },
                                                  {} };
        int c;

        (void) plugin_range_parse("0.1", &o->warn);
        (void) plugin_range_parse("1", &o->crit);
        o->timeout = 10;
        o->timeout_state = NAGIOS_CRITICAL;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "w:c:t:hV", longopts, NULL)) >= 0)
                switch (c) {
                case 'w':
                        if (plugin_range_parse(optarg, &o->warn) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -w range '%s'", optarg);
                        break;
                case 'c':
                        if (plugin_range_parse(optarg, &o->crit) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -c range '%s'", optarg);
                        break;
                case 't':
                        if (plugin_parse_timeout(optarg, &o->timeout, &o->timeout_state) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -t '%s'", optarg);
                        break;
                case 'X':
                        o->timex_file = optarg;
                        break;
                case 'h':
                        help();
                        exit(NAGIOS_OK);
                case 'V':
                        plugin_print_version("check_clock");
                        exit(NAGIOS_OK);
                default:
                        plugin_die(NAME, NAGIOS_UNKNOWN, "invalid option '%s' (see --help)",
                                   argv[optind - 1]);
                }
        if (optind < argc)
                plugin_die(NAME, NAGIOS_UNKNOWN, "unexpected argument '%s' (see --help)",
                           argv[optind]);
}

int main(int argc, char *argv[]) {
        Options o = {};
        PluginOutput out = {};
        ClockReading c;
        int r;

        parse_args(argc, argv, &o);
        plugin_arm_timeout(NAME, o.timeout, o.timeout_state);
        r = o.timex_file ? read_fixture(o.timex_file, &c) : read_kernel(&c);
        if (r < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "cannot read clock state%s%s: %s",
                           o.timex_file ? " from " : "", strempty(o.timex_file), strerror(-r));
        return plugin_finish(NAME, clock_evaluate(&c, &o, &out), &out);
}

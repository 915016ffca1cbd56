/* SPDX-License-Identifier: MIT */
/*
 * check_systemd_unit: a support process that crashed or crash-loops (Restart= keeps it
 * "active" most of the time, so ActiveState alone does not see the loop), or any failed
 * unit at all. Asks systemd over D-Bus (the system bus; $DBUS_SYSTEM_BUS_ADDRESS is
 * honoured). Restart history is a small file per unit: NRestarts samples over a window.
 */
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "plugin-util.h"

#define NAME "SYSTEMD_UNIT"
#define HISTORY_MAX 512
#define EXCLUDE_MAX 32

static const char bus_dest[] = "org.freedesktop.systemd1";
static const char bus_path[] = "/org/freedesktop/systemd1";
static const char bus_manager[] = "org.freedesktop.systemd1.Manager";

typedef struct Options {
        const char *unit, *state_dir;
        const char *exclude[EXCLUDE_MAX];
        size_t n_exclude;
        bool failed_mode, warn_given, crit_given;
        PluginRange warn, crit;
        uint64_t window;
        unsigned timeout;
        NagiosStatus timeout_state;
} Options;

typedef struct Sample {
        uint64_t t;
        uint32_t n;
} Sample;

/* Pure: the state of a unit, by ActiveState. */
static NagiosStatus unit_state_status(const char *active) {
        static const struct {
                const char *state;
                NagiosStatus status;
        } table[] = {
                { "active", NAGIOS_OK },           { "reloading", NAGIOS_OK },
                { "activating", NAGIOS_WARNING },  { "deactivating", NAGIOS_WARNING },
                { "inactive", NAGIOS_CRITICAL },   { "failed", NAGIOS_CRITICAL },
                { "maintenance", NAGIOS_WARNING }, { "refreshing", NAGIOS_OK },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(active, table[i].state))
                        return table[i].status;
        return NAGIOS_UNKNOWN;
}

/* Pure: parses "T N" lines; malformed lines are skipped (a torn file loses history only). */
static size_t history_parse(const char *text, Sample *s, size_t max) {
        size_t n = 0;

        for (const char *p = text; p && *p && n < max;) {
                unsigned long long t, v;
                if (sscanf(p, "%llu %llu", &t, &v) == 2 && v <= UINT32_MAX)
                        s[n++] = (Sample){ .t = t, .n = (uint32_t) v };
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return n;
}

/*
 * Pure: restarts within [now - window, now], from the samples plus the current
 * counter. A counter that went down was reset (a manual restart or a reboot): what
 * it shows after the reset are new restarts.
 */
static uint64_t history_restarts(const Sample *s, size_t n, uint64_t now, uint64_t window,
                                 uint32_t current) {
        uint64_t total = 0;
        bool have = false;
        uint32_t prev = 0;

        for (size_t i = 0; i <= n; i++) {
                uint32_t v = i < n ? s[i].n : current;
                if (i < n && (s[i].t + window < now || s[i].t > now))
                        continue;
                if (have)
                        total += v >= prev ? v - prev : v;
                prev = v;
                have = true;
        }
        return total;
}

static int history_update(const Options *o, uint64_t now, uint32_t current, uint64_t *ret) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *out = NULL;
        Sample *s;
        size_t n, len = 0, first = 0;
        int r;

        r = plugin_state_dir(o->state_dir, &dir);
        if (r < 0)
                return r;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        if (asprintf(&path, "%s/systemd-unit-%s.history", dir, o->unit) < 0)
                return -ENOMEM;
        s = calloc(HISTORY_MAX + 1, sizeof(Sample));
        if (!s)
                return -ENOMEM;
        r = plugin_read_file(path, 64 * 1024, &text);
        n = r >= 0 ? history_parse(text, s, HISTORY_MAX) : 0;
        *ret = history_restarts(s, n, now, o->window, current);
        s[n++] = (Sample){ .t = now, .n = current };
        out = malloc(n * 48 + 1);
        if (!out) {
                free(s);
                return -ENOMEM;
        }
        out[0] = '\0';
        if (n > HISTORY_MAX)
                first = n - HISTORY_MAX;
        for (size_t i = first; i < n; i++)
                if (s[i].t + o->window >= now && s[i].t <= now)
                        len += (size_t) sprintf(out + len, "%" PRIu64 " %" PRIu32 "\n", s[i].t,
                                                s[i].n);
        free(s);
        return plugin_write_file_atomic(path, out, len);
}

static void bus_die(const char *what, const sd_bus_error *e, int r) {
        plugin_die(NAME, NAGIOS_UNKNOWN, "%s: %s", what,
                   e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
}

static NagiosStatus check_unit(sd_bus *bus, const Options *o, PluginOutput *out) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *load = NULL, *active = NULL, *sub = NULL;
        const char *path;
        uint32_t nrestarts = 0;
        bool have_restarts = false;
        NagiosStatus s;
        int r;

        r = sd_bus_call_method(bus, bus_dest, bus_path, bus_manager, "LoadUnit", &e, &reply, "s",
                               o->unit);
        if (r < 0)
                bus_die("LoadUnit", &e, r);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                bus_die("LoadUnit reply", NULL, r);
        if (sd_bus_get_property_string(bus, bus_dest, path, "org.freedesktop.systemd1.Unit",
                                       "LoadState", &e, &load) < 0 ||
            sd_bus_get_property_string(bus, bus_dest, path, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &e, &active) < 0 ||
            sd_bus_get_property_string(bus, bus_dest, path, "org.freedesktop.systemd1.Unit",
                                       "SubState", &e, &sub) < 0)
                bus_die("reading unit properties", &e, -EIO);
        /* NRestarts exists for services since systemd 235; other units never restart. */
        sd_bus_error_free(&e);
        if (fnmatch("*.service", o->unit, 0) == 0 &&
            sd_bus_get_property_trivial(bus, bus_dest, path, "org.freedesktop.systemd1.Service",
                                        "NRestarts", &e, 'u', &nrestarts) >= 0)
                have_restarts = true;

        if (streq(load, "not-found")) {
                plugin_msg(out, NULL, "%s not found", o->unit);
                return NAGIOS_CRITICAL;
        }
        s = unit_state_status(active);
        plugin_msg(out, NULL, "%s %s (%s)", o->unit, active, sub);
        if (have_restarts && o->window > 0) {
                uint64_t restarts = 0;
                r = history_update(o, (uint64_t) time(NULL), nrestarts, &restarts);
                if (r < 0) {
                        plugin_msg(out, ", ", "cannot keep restart history: %s", strerror(-r));
                        return nagios_status_worst(s, NAGIOS_UNKNOWN);
                }
                NagiosStatus t = plugin_thresholds(&o->warn, &o->crit, (double) restarts);
                plugin_msg(out, ", ", "%" PRIu64 " restarts in %" PRIu64 "s", restarts, o->window);
                if (t != NAGIOS_OK)
                        plugin_msg(out, NULL, " (flapping)");
                s = nagios_status_worst(s, t);
                plugin_perf(out, "restarts", (double) restarts, NULL, &o->warn, &o->crit, "0",
                            NULL);
        }
        if (have_restarts)
                plugin_perf(out, "nrestarts", nrestarts, "c", NULL, NULL, "0", NULL);
        return s;
}

static bool excluded(const Options *o, const char *unit) {
        for (size_t i = 0; i < o->n_exclude; i++)
                if (fnmatch(o->exclude[i], unit, 0) == 0)
                        return true;
        return false;
}

static NagiosStatus check_failed(sd_bus *bus, const Options *o, PluginOutput *out) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char names[PLUGIN_MSG_MAX] = "";
        const char *name, *active;
        unsigned failed = 0;
        NagiosStatus s;
        int r;

        r = sd_bus_call_method(bus, bus_dest, bus_path, bus_manager, "ListUnitsFiltered", &e,
                               &reply, "as", 1, "failed");
        if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                sd_bus_error_free(&e); /* systemd < 230 */
                r = sd_bus_call_method(bus, bus_dest, bus_path, bus_manager, "ListUnits", &e,
                                       &reply, NULL);
        }
        if (r < 0)
                bus_die("ListUnits", &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                bus_die("ListUnits reply", NULL, r);
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL,
                                        NULL, NULL, NULL, NULL, NULL)) > 0) {
                if (!streq(active, "failed") || excluded(o, name))
                        continue;
                size_t len = strlen(names);
                snprintf(names + len, sizeof(names) - len, "%s%s", failed ? ", " : "", name);
                failed++;
        }
        if (r < 0)
                bus_die("ListUnits reply", NULL, r);
        s = plugin_thresholds(&o->warn, &o->crit, failed);
        plugin_msg(out, NULL, "%u failed unit%s%s%s", failed, failed == 1 ? "" : "s",
                   failed ? ": " : "", names);
        plugin_perf(out, "failed", failed, NULL, &o->warn, &o->crit, "0", NULL);
        return s;
}

static void help(void) {
        printf("check_systemd_unit - is a unit active and not flapping, or are no units failed?\n\n"
               "Usage: check_systemd_unit -u UNIT [-w RANGE] [-c RANGE] [-W SECONDS] [-s DIR]\n"
               "       check_systemd_unit --failed [-x GLOB]... [-w RANGE] [-c RANGE]\n\n"
               "  -u, --unit UNIT       the unit: active/reloading is OK, activating or\n"
               "                        deactivating WARNING, inactive/failed/not found CRITICAL\n"
               "  -w, --warning RANGE   restarts within the window (default 1), or with\n"
               "                        --failed the number of failed units (default none)\n"
               "  -c, --critical RANGE  restarts within the window (default 3), or with\n"
               "                        --failed the number of failed units (default 0)\n"
               "  -W, --window SECONDS  flapping window (default 3600; 0 turns history off)\n"
               "  -s, --state-dir DIR   restart history (default $STATE_DIRECTORY/plugins or\n"
               "                        " LOCALSTATEDIR "/lib/drover/plugins)\n"
               "  -f, --failed          \"no failed units\" mode\n"
               "  -x, --exclude GLOB    with --failed: ignore units matching GLOB (repeatable)\n"
               "  -t, --timeout SEC[:STATE]  give up after SEC seconds (default 10:CRITICAL)\n"
               "  -h, --help / -V, --version\n\n"
               "Talks to systemd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS if set). Restarts\n"
               "are counted from the service's NRestarts property, sampled at every run.\n");
}

static void parse_args(int argc, char *argv[], Options *o) {
        static const struct option longopts[] = { { "unit", required_argument, NULL, 'u' },
                                                  { "failed", no_argument, NULL, 'f' },
                                                  { "exclude", required_argument, NULL, 'x' },
                                                  { "warning", required_argument, NULL, 'w' },
                                                  { "critical", required_argument, NULL, 'c' },
                                                  { "window", required_argument, NULL, 'W' },
                                                  { "state-dir", required_argument, NULL, 's' },
                                                  { "timeout", required_argument, NULL, 't' },
                                                  { "help", no_argument, NULL, 'h' },
                                                  { "version", no_argument, NULL, 'V' },
                                                  {} };
        double d;
        int c;

        o->window = 3600;
        o->timeout = 10;
        o->timeout_state = NAGIOS_CRITICAL;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "u:fx:w:c:W:s:t:hV", longopts, NULL)) >= 0)
                switch (c) {
                case 'u':
                        /* It names a file in the state directory: no path tricks. */
                        if (strlen(optarg) > 255 || optarg[0] == '.' || strchr(optarg, '/'))
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid unit name");
                        o->unit = optarg;
                        break;
                case 'f':
                        o->failed_mode = true;
                        break;
                case 'x':
                        if (o->n_exclude >= EXCLUDE_MAX)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "too many -x (max %d)",
                                           EXCLUDE_MAX);
                        o->exclude[o->n_exclude++] = optarg;
                        break;
                case 'w':
                        if (plugin_range_parse(optarg, &o->warn) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -w range '%s'", optarg);
                        o->warn_given = true;
                        break;
                case 'c':
                        if (plugin_range_parse(optarg, &o->crit) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -c range '%s'", optarg);
                        o->crit_given = true;
                        break;
                case 'W':
                        if (plugin_parse_double(optarg, &d) < 0 || d < 0 || d > 366 * 86400.0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -W '%s'", optarg);
                        o->window = (uint64_t) d;
                        break;
                case 's':
                        o->state_dir = optarg;
                        break;
                case 't':
                        if (plugin_parse_timeout(optarg, &o->timeout, &o->timeout_state) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -t '%s'", optarg);
                        break;
                case 'h':
                        help();
                        exit(NAGIOS_OK);
                case 'V':
                        plugin_print_version("check_systemd_unit");
                        exit(NAGIOS_OK);
                default:
                        plugin_die(NAME, NAGIOS_UNKNOWN, "invalid option '%s' (see --help)",
                                   argv[optind - 1]);
                }
        if (optind < argc)
                plugin_die(NAME, NAGIOS_UNKNOWN, "unexpected argument '%s' (see --help)",
                           argv[optind]);
        if (!!o->unit == o->failed_mode)
                plugin_die(NAME, NAGIOS_UNKNOWN, "give either -u UNIT or --failed (see --help)");
        if (!o->warn_given && !o->failed_mode)
                (void) plugin_range_parse("1", &o->warn);
        if (!o->crit_given)
                (void) plugin_range_parse(o->failed_mode ? "0" : "3", &o->crit);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Options o = {};
        PluginOutput out = {};
        NagiosStatus s;
        int r;

        parse_args(argc, argv, &o);
        plugin_arm_timeout(NAME, o.timeout, o.timeout_state);
        r = sd_bus_open_system(&bus);
        if (r < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "cannot connect to the system bus: %s",
                           strerror(-r));
        s = o.failed_mode ? check_failed(bus, &o, &out) : check_unit(bus, &o, &out);
        plugin_sanitize(out.msg);
        return plugin_finish(NAME, s, &out);
}

/* SPDX-License-Identifier: MIT */
/*
 * check_kernel: the kernel telling us the node is going bad (OOM kills, hung tasks,
 * I/O and filesystem errors, read-only remounts, machine checks), from the journal's
 * kernel messages since boot, or since the last run when a cursor file is given.
 *
 * The default patterns cover old and new message formats on purpose: Linux 5.1 changed
 * "Out of memory: Kill process" to "Killed process" (and added the "oom-kill:" summary
 * line), which blinded node-problem-detector's old pattern; 5.16 moved block I/O errors
 * from "blk_update_request: I/O error, dev" to "I/O error, dev".
 */
#include <ctype.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include "plugin-util.h"

#define NAME "KERNEL"
#define CLASS_MAX 32
#define PATTERN_MAX 16
#define FILE_MAX 16
#define MESSAGE_MAX 2048
#define ENTRIES_MAX 1000000

typedef struct Class {
        char name[32];
        NagiosStatus severity; /* OK: counted but never alerts */
        regex_t re[PATTERN_MAX];
        size_t n_re;
        unsigned long count;
        char last[MESSAGE_MAX];
} Class;

typedef struct Options {
        const char *files[FILE_MAX + 1];
        size_t n_files;
        const char *directory, *state, *boot;
        bool no_defaults;
        Class classes[CLASS_MAX];
        size_t n_classes;
        unsigned timeout;
        NagiosStatus timeout_state;
} Options;

static const struct {
        const char *name;
        NagiosStatus severity;
        const char *patterns[4];
} default_classes[] = {
        { "oom",
          NAGIOS_WARNING,
          { "Out of memory: Kill(ed)? process",
            "oom-kill:", "Memory cgroup out of memory: Kill(ed)? process" } },
        { "hung_task", NAGIOS_WARNING, { "task .* blocked for more than [0-9]+ seconds" } },
        { "io_error",
          NAGIOS_CRITICAL,
          { "blk_update_request: I/O error", "I/O error, dev ", "Buffer I/O error on dev" } },
        { "fs_error", NAGIOS_CRITICAL, { "EXT4-fs error", "XFS .* Corruption", "BTRFS error" } },
        { "ro_remount", NAGIOS_CRITICAL, { "Remounting filesystem read-only" } },
        { "mce", NAGIOS_CRITICAL, { "Machine check events logged", "mce: \\[Hardware Error\\]" } },
};

static Class *class_get(Options *o, const char *name, size_t len) {
        Class *c;

        if (len == 0 || len >= sizeof(c->name))
                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid class name '%.*s'", (int) MIN(len, 64u),
                           name);
        for (size_t i = 0; i < len; i++)
                if (!islower((unsigned char) name[i]) && !isdigit((unsigned char) name[i]) &&
                    name[i] != '_')
                        plugin_die(NAME, NAGIOS_UNKNOWN, "invalid class name '%.*s' (a-z, 0-9, _)",
                                   (int) len, name);
        for (size_t i = 0; i < o->n_classes; i++)
                if (strlen(o->classes[i].name) == len && strneq(o->classes[i].name, name, len))
                        return &o->classes[i];
        if (o->n_classes >= CLASS_MAX)
                plugin_die(NAME, NAGIOS_UNKNOWN, "too many classes (max %d)", CLASS_MAX);
        c = &o->classes[o->n_classes++];
        memcpy(c->name, name, len);
        c->severity = NAGIOS_CRITICAL;
        return c;
}

static void class_add_pattern(Class *c, const char *re) {
        char err[128];
        int r;

        if (c->n_re >= PATTERN_MAX)
                plugin_die(NAME, NAGIOS_UNKNOWN, "too many patterns for %s (max %d)", c->name,
                           PATTERN_MAX);
        r = regcomp(&c->re[c->n_re], re, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                (void) regerror(r, &c->re[c->n_re], err, sizeof(err));
                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid pattern for %s: %s", c->name, err);
        }
        c->n_re++;
}

/* Pure: counts one message into every class it matches. */
static void classify(Options *o, const char *msg) {
        for (size_t i = 0; i < o->n_classes; i++) {
                Class *c = &o->classes[i];
                for (size_t k = 0; k < c->n_re; k++)
                        if (regexec(&c->re[k], msg, 0, NULL, 0) == 0) {
                                c->count++;
                                snprintf(c->last, sizeof(c->last), "%s", msg);
                                break;
                        }
        }
}

static int journal_open(const Options *o, sd_journal **ret) {
        char match[64];
        sd_id128_t boot;
        int r;

        if (o->n_files > 0)
                r = sd_journal_open_files(ret, (const char **) o->files, 0);
        else if (o->directory)
                r = sd_journal_open_directory(ret, o->directory, 0);
        else
                r = sd_journal_open(ret, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        (void) sd_journal_set_data_threshold(*ret, MESSAGE_MAX);
        r = sd_journal_add_match(*ret, "_TRANSPORT=kernel", 0);
        if (r < 0 || (o->boot && streq(o->boot, "all")))
                return r;
        if (o->boot)
                r = sd_id128_from_string(o->boot, &boot);
        else
                r = sd_id128_get_boot(&boot);
        if (r < 0)
                return r;
        snprintf(match, sizeof(match), "_BOOT_ID=" SD_ID128_FORMAT_STR, SD_ID128_FORMAT_VAL(boot));
        return sd_journal_add_match(*ret, match, 0);
}

/* Reads the new kernel messages; the cursor of the last one read goes to *cursor. */
static int journal_scan(sd_journal *j, Options *o, char **cursor, unsigned long *ret_seen) {
        unsigned long seen = 0;
        bool first = true;
        int r;

        if (*cursor && sd_journal_seek_cursor(j, *cursor) >= 0) {
                /* Seeking lands on the entry we saw last time, if it still exists. */
        } else {
                *cursor = mfree(*cursor);
                (void) sd_journal_seek_head(j);
        }
        while ((r = sd_journal_next(j)) > 0 && seen < ENTRIES_MAX) {
                char msg[MESSAGE_MAX];
                const void *d;
                size_t len;

                if (first && *cursor && sd_journal_test_cursor(j, *cursor) > 0) {
                        first = false;
                        continue;
                }
                first = false;
                seen++;
                if (sd_journal_get_data(j, "MESSAGE", &d, &len) >= 0 && len >= 8) {
                        len = MIN(len - 8, sizeof(msg) - 1);
                        memcpy(msg, (const char *) d + 8, len);
                        msg[len] = '\0';
                        classify(o, msg);
                }
                char *c = NULL;
                if (sd_journal_get_cursor(j, &c) >= 0) {
                        free(*cursor);
                        *cursor = c;
                }
        }
        *ret_seen = seen;
        return r < 0 ? r : 0;
}

static NagiosStatus report(const Options *o, unsigned long seen, PluginOutput *out) {
        static const PluginRange alert_any = { .end = 0, .set = true, .text = "0" };
        const Class *worst = NULL;
        NagiosStatus s = NAGIOS_OK;

        for (size_t i = 0; i < o->n_classes; i++) {
                const Class *c = &o->classes[i];
                bool alert = c->count > 0 && c->severity != NAGIOS_OK;
                if (alert) {
                        plugin_msg(out, ", ", "%s: %lu", c->name, c->count);
                        if (!worst || nagios_status_severity(c->severity) >
                                              nagios_status_severity(worst->severity))
                                worst = c;
                        s = nagios_status_worst(s, c->severity);
                }
                plugin_perf(out, c->name, (double) c->count, NULL,
                            c->severity == NAGIOS_WARNING ? &alert_any : NULL,
                            c->severity == NAGIOS_CRITICAL ? &alert_any : NULL, "0", NULL);
        }
        if (worst)
                plugin_msg(out, NULL, "; last %s: %.200s", worst->name, worst->last);
        else
                plugin_msg(out, NULL, "no kernel problems in %lu messages since %s", seen,
                           o->state ? "the last run" : "boot");
        plugin_sanitize(out->msg);
        return s;
}

static void help(void) {
        printf("check_kernel - kernel messages that say the node is going bad\n\n"
               "Usage: check_kernel [-s CURSOR-FILE] [-b BOOT-ID|all] [-e CLASS=REGEX]...\n"
               "                    [-S CLASS=STATE]... [-E] [-f JOURNAL-FILE]... [-D DIR]\n\n"
               "  -s, --state FILE      keep a journal cursor in FILE: report only messages\n"
               "                        since the last run (default: everything since boot)\n"
               "  -b, --boot ID|all     the boot to read (default: the current boot)\n"
               "  -e, --pattern CLASS=REGEX  add a POSIX extended regex to CLASS (a new\n"
               "                        class is CRITICAL unless -S says otherwise)\n"
               "  -S, --severity CLASS=STATE  ok (count only), warning or critical\n"
               "  -E, --no-default-patterns   start without the default classes\n"
               "  -f, --journal-file FILE  read FILE instead of the system journal (repeatable)\n"
               "  -D, --directory DIR   read the journal files in DIR\n"
               "  -t, --timeout SEC[:STATE]  give up after SEC seconds (default 30:CRITICAL)\n"
               "  -h, --help / -V, --version\n\n"
               "Default classes (severity): oom (warning), hung_task (warning), io_error,\n"
               "fs_error, ro_remount, mce (critical). Reading the system journal needs\n"
               "membership in the systemd-journal (or adm) group.\n");
}

static void parse_args(int argc, char *argv[], Options *o) {
        static const struct option longopts[] = { { "state", required_argument, NULL, 's' },
                                                  { "boot", required_argument, NULL, 'b' },
                                                  { "pattern", required_argument, NULL, 'e' },
                                                  { "severity", required_argument, NULL, 'S' },
                                                  { "no-default-patterns", no_argument, NULL, 'E' },
                                                  { "journal-file", required_argument, NULL, 'f' },
                                                  { "directory", required_argument, NULL, 'D' },
                                                  { "timeout", required_argument, NULL, 't' },
                                                  { "help", no_argument, NULL, 'h' },
                                                  { "version", no_argument, NULL, 'V' },
                                                  {} };
        const char *patterns[CLASS_MAX * PATTERN_MAX], *severities[CLASS_MAX * 2];
        size_t n_patterns = 0, n_severities = 0;
        int c;

        o->timeout = 30;
        o->timeout_state = NAGIOS_CRITICAL;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "s:b:e:S:Ef:D:t:hV", longopts, NULL)) >= 0)
                switch (c) {
                case 's':
                        o->state = optarg;
                        break;
                case 'b':
                        o->boot = optarg;
                        break;
                case 'e':
                        if (n_patterns >= ELEMENTSOF(patterns))
                                plugin_die(NAME, NAGIOS_UNKNOWN, "too many -e");
                        patterns[n_patterns++] = optarg;
                        break;
                case 'S':
                        if (n_severities >= ELEMENTSOF(severities))
                                plugin_die(NAME, NAGIOS_UNKNOWN, "too many -S");
                        severities[n_severities++] = optarg;
                        break;
                case 'E':
                        o->no_defaults = true;
                        break;
                case 'f':
                        if (o->n_files >= FILE_MAX)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "too many -f (max %d)", FILE_MAX);
                        o->files[o->n_files++] = optarg;
                        break;
                case 'D':
                        o->directory = optarg;
                        break;
                case 't':
                        if (plugin_parse_timeout(optarg, &o->timeout, &o->timeout_state) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -t '%s'", optarg);
                        break;
                case 'h':
                        help();
                        exit(NAGIOS_OK);
                case 'V':
                        plugin_print_version("check_kernel");
                        exit(NAGIOS_OK);
                default:
                        plugin_die(NAME, NAGIOS_UNKNOWN, "invalid option '%s' (see --help)",
                                   argv[optind - 1]);
                }
        if (optind < argc)
                plugin_die(NAME, NAGIOS_UNKNOWN, "unexpected argument '%s' (see --help)",
                           argv[optind]);
        if (o->boot && !streq(o->boot, "all") && sd_id128_from_string(o->boot, &(sd_id128_t){}) < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid boot id '%s'", o->boot);
        for (size_t i = 0; !o->no_defaults && i < ELEMENTSOF(default_classes); i++) {
                Class *k = class_get(o, default_classes[i].name, strlen(default_classes[i].name));
                k->severity = default_classes[i].severity;
                for (size_t p = 0;
                     p < ELEMENTSOF(default_classes[i].patterns) && default_classes[i].patterns[p];
                     p++)
                        class_add_pattern(k, default_classes[i].patterns[p]);
        }
        for (size_t i = 0; i < n_patterns; i++) {
                const char *eq = strchr(patterns[i], '=');
                if (!eq || !eq[1])
                        plugin_die(NAME, NAGIOS_UNKNOWN, "-e wants CLASS=REGEX, not '%s'",
                                   patterns[i]);
                class_add_pattern(class_get(o, patterns[i], (size_t) (eq - patterns[i])), eq + 1);
        }
        for (size_t i = 0; i < n_severities; i++) {
                const char *eq = strchr(severities[i], '=');
                NagiosStatus st;
                if (!eq || plugin_parse_state(eq + 1, &st) < 0 || st == NAGIOS_UNKNOWN)
                        plugin_die(NAME, NAGIOS_UNKNOWN,
                                   "-S wants CLASS=ok, warning or critical, not '%s'",
                                   severities[i]);
                class_get(o, severities[i], (size_t) (eq - severities[i]))->severity = st;
        }
        if (o->n_classes == 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "no patterns (-E without -e)");
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *cursor = NULL, *old = NULL;
        Options o = {};
        PluginOutput out = {};
        unsigned long seen = 0;
        NagiosStatus s;
        int r;

        parse_args(argc, argv, &o);
        plugin_arm_timeout(NAME, o.timeout, o.timeout_state);
        if (o.state) {
                r = plugin_read_file(o.state, 4096, &cursor);
                if (r < 0 && r != -ENOENT)
                        plugin_die(NAME, NAGIOS_UNKNOWN, "cannot read %s: %s", o.state,
                                   strerror(-r));
                if (cursor)
                        cursor[strcspn(cursor, "\n")] = '\0';
                old = cursor ? strdup(cursor) : NULL;
        }
        r = journal_open(&o, &j);
        if (r < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "cannot open the journal: %s", strerror(-r));
        /* Without access (not in group systemd-journal) the journal just looks empty. */
        uint64_t bytes = 0;
        if (sd_journal_get_usage(j, &bytes) >= 0 && bytes == 0)
                plugin_die(NAME, NAGIOS_UNKNOWN,
                           "no readable journal files (is the journal "
                           "persistent, and may this user read it?)");
        r = journal_scan(j, &o, &cursor, &seen);
        if (r < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "cannot read the journal: %s", strerror(-r));
        r = 0;
        if (o.state && cursor && (!old || !streq(old, cursor)))
                r = plugin_write_file_atomic(o.state, cursor, strlen(cursor));
        s = report(&o, seen, &out);
        if (r < 0) {
                /* What was found still counts; the next run will report it again. */
                plugin_msg(&out, "; ", "cannot save the cursor to %s: %s", o.state, strerror(-r));
                s = nagios_status_worst(s, NAGIOS_UNKNOWN);
        }
        for (size_t i = 0; i < o.n_classes; i++)
                for (size_t k = 0; k < o.classes[i].n_re; k++)
                        regfree(&o.classes[i].re[k]);
        return plugin_finish(NAME, s, &out);
}

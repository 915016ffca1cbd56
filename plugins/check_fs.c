/* SPDX-License-Identifier: MIT */
/*
 * check_fs: the ways a node's filesystem goes bad without anyone unmounting it: the
 * kernel remounted it read-only after an error, the volume never mounted (the data
 * landed on the root filesystem), writes hang (a lost EBS volume), or it is full.
 * The write probe runs in a forked child so a hung filesystem gives CRITICAL within
 * -T seconds instead of hanging the plugin (a child in D state may outlive us).
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>

#include "mountinfo.h"
#include "plugin-util.h"

#define NAME "FS"
#define MOUNTINFO_MAX (4u << 20)

typedef struct Options {
        const char *path, *mountinfo, *probe_dir, *statvfs_file;
        PluginRange warn, crit, iwarn, icrit;
        bool mounted, no_probe;
        double probe_timeout, probe_delay;
        unsigned timeout;
        NagiosStatus timeout_state;
} Options;

/* Test fixture for statvfs: "bsize=N blocks=N bfree=N bavail=N files=N ffree=N favail=N". */
static int read_statvfs_fixture(const char *path, struct statvfs *ret) {
        static const char *const keys[] = { "bsize", "blocks", "bfree", "bavail",
                                            "files", "ffree",  "favail" };
        unsigned long long v[ELEMENTSOF(keys)] = {};
        _cleanup_free_ char *text = NULL;
        char *save = NULL;
        int r = plugin_read_file(path, 4096, &text);

        if (r < 0)
                return r;
        for (char *t = strtok_r(text, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
                char *eq = strchr(t, '='), *end = NULL;
                size_t i;

                if (!eq)
                        return -EINVAL;
                *eq = '\0';
                for (i = 0; i < ELEMENTSOF(keys) && !streq(keys[i], t); i++)
                        ;
                errno = 0;
                if (i == ELEMENTSOF(keys) || eq[1] == '-')
                        return -EINVAL;
                v[i] = strtoull(eq + 1, &end, 10);
                if (errno || end == eq + 1 || *end)
                        return -EINVAL;
        }
        *ret = (struct statvfs){ .f_frsize = v[0],
                                 .f_bsize = v[0],
                                 .f_blocks = v[1],
                                 .f_bfree = v[2],
                                 .f_bavail = v[3],
                                 .f_files = v[4],
                                 .f_ffree = v[5],
                                 .f_favail = v[6] };
        return 0;
}

typedef enum ProbeStep {
        PROBE_CREATE,
        PROBE_WRITE,
        PROBE_FSYNC,
        PROBE_UNLINK,
        _PROBE_MAX
} ProbeStep;
static const char *const probe_step_name[] = { "create", "write", "fsync", "remove" };

static _Noreturn void probe_child(int pipefd, const Options *o) {
        char path[PATH_MAX], block[4096];
        int fd, step = PROBE_CREATE, err = 0;

        memset(block, 'd', sizeof(block));
        snprintf(path, sizeof(path), "%s/.drover-probe.%d", o->probe_dir, (int) getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                err = errno;
        if (!err && (step = PROBE_WRITE, write(fd, block, sizeof(block)) != sizeof(block)))
                err = errno ? errno : EIO;
        if (!err && o->probe_delay > 0) {
                struct timespec ts = { (time_t) o->probe_delay,
                                       (long) ((o->probe_delay - (double) (time_t) o->probe_delay) *
                                               1e9) };
                (void) nanosleep(&ts, NULL);
        }
        if (!err && (step = PROBE_FSYNC, fsync(fd) < 0))
                err = errno;
        if (fd >= 0)
                (void) close(fd);
        if (fd >= 0 && unlink(path) < 0 && !err) {
                step = PROBE_UNLINK;
                err = errno;
        }
        if (err) {
                int msg[2] = { step, err };
                ssize_t w = write(pipefd, msg, sizeof(msg));
                (void) w;
        }
        _exit(err ? 1 : 0);
}

/* Runs the probe; *ret_secs is how long it took. The status is the verdict. */
static NagiosStatus probe_run(const Options *o, double *ret_secs, PluginOutput *out) {
        struct timespec t0, t1;
        int p[2], msg[2] = { 0, 0 }, status = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0) {
                plugin_msg(out, ", ", "probe: pipe: %s", strerror(errno));
                return NAGIOS_UNKNOWN;
        }
        (void) clock_gettime(CLOCK_MONOTONIC, &t0);
        pid = fork();
        if (pid < 0) {
                plugin_msg(out, ", ", "probe: fork: %s", strerror(errno));
                (void) close(p[0]);
                (void) close(p[1]);
                return NAGIOS_UNKNOWN;
        }
        if (pid == 0) {
                (void) close(p[0]);
                probe_child(p[1], o);
        }
        (void) close(p[1]);
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                double secs;

                (void) clock_gettime(CLOCK_MONOTONIC, &t1);
                secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
                *ret_secs = secs;
                if (w == pid)
                        break;
                if (secs >= o->probe_timeout) {
                        (void) kill(pid, SIGKILL);
                        (void) close(p[0]);
                        plugin_msg(out, ", ", "write probe in %s did not finish within %gs",
                                   o->probe_dir, o->probe_timeout);
                        return NAGIOS_CRITICAL;
                }
                (void) nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
        }
        if (read(p[0], msg, sizeof(msg)) != sizeof(msg) &&
            !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                msg[0] = -1;
        (void) close(p[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return NAGIOS_OK;
        if (msg[0] < 0 || msg[0] >= _PROBE_MAX) {
                plugin_msg(out, ", ", "write probe in %s died", o->probe_dir);
                return NAGIOS_CRITICAL;
        }
        plugin_msg(out, ", ", "write probe in %s failed to %s: %s", o->probe_dir,
                   probe_step_name[msg[0]], strerror(msg[1]));
        /* Permissions or a missing directory are the check's setup, not the disk's health. */
        return msg[1] == EACCES || msg[1] == EPERM || msg[1] == ENOENT || msg[1] == ENOTDIR
                       ? NAGIOS_UNKNOWN
                       : NAGIOS_CRITICAL;
}

static NagiosStatus check_space(const Options *o, PluginOutput *out) {
        struct statvfs sv;
        NagiosStatus s = NAGIOS_OK;
        char num[32];
        int r;

        r = o->statvfs_file             ? read_statvfs_fixture(o->statvfs_file, &sv)
            : statvfs(o->path, &sv) < 0 ? negative_errno()
                                        : 0;
        if (r < 0) {
                plugin_msg(out, ", ", "statvfs %s: %s", o->path, strerror(-r));
                return NAGIOS_UNKNOWN;
        }
        /* As df(1): the share of what an unprivileged user may still use. */
        unsigned long long used = sv.f_blocks - MIN(sv.f_bfree, sv.f_blocks);
        if (used + sv.f_bavail > 0) {
                double pct = 100.0 * (double) sv.f_bavail / (double) (used + sv.f_bavail);
                pct = (double) (long long) (pct * 100 + 0.5) / 100;
                NagiosStatus t = plugin_thresholds(&o->warn, &o->crit, pct);
                plugin_format_number(num, sizeof(num), pct);
                plugin_msg(out, ", ", "%s%% space free", num);
                plugin_perf(out, "space_free", pct, "%", &o->warn, &o->crit, "0", "100");
                plugin_perf(out, "bytes_free", (double) sv.f_bavail * (double) sv.f_frsize, "B",
                            NULL, NULL, "0", NULL);
                s = nagios_status_worst(s, t);
        }
        if (sv.f_files > 0) { /* btrfs and others have no fixed inode table */
                double pct = 100.0 * (double) sv.f_favail / (double) sv.f_files;
                pct = (double) (long long) (pct * 100 + 0.5) / 100;
                NagiosStatus t = plugin_thresholds(&o->iwarn, &o->icrit, pct);
                plugin_format_number(num, sizeof(num), pct);
                plugin_msg(out, ", ", "%s%% inodes free", num);
                plugin_perf(out, "inodes_free", pct, "%", &o->iwarn, &o->icrit, "0", "100");
                s = nagios_status_worst(s, t);
        }
        return s;
}

static void help(void) {
        printf("check_fs - is a filesystem mounted read-write, writable in time, and not full?\n\n"
               "Usage: check_fs -p PATH [-w PCT] [-c PCT] [-W PCT] [-K PCT] [-T SEC] [-m]\n\n"
               "  -p, --path PATH        the filesystem holding PATH (required)\n"
               "  -m, --mounted          CRITICAL unless PATH itself is a mount point\n"
               "  -w, --warning RANGE    space free, percent (default 10: below 10%% warns)\n"
               "  -c, --critical RANGE   space free, percent (default 5)\n"
               "  -W, --iwarning RANGE   inodes free, percent (default 10)\n"
               "  -K, --icritical RANGE  inodes free, percent (default 5)\n"
               "  -d, --probe-dir DIR    where the probe file is written (default PATH)\n"
               "  -T, --probe-timeout S  CRITICAL if create+write+fsync+remove takes longer\n"
               "                         (default 5 seconds)\n"
               "  -n, --no-probe         skip the write probe\n"
               "  -t, --timeout SEC[:STATE]  give up after SEC seconds (default 30:CRITICAL)\n"
               "  -h, --help / -V, --version\n"
               "      --mountinfo FILE   read the mount table from FILE (testing)\n"
               "      --statvfs FILE     (testing) read \"bsize=N blocks=N bfree=N bavail=N\n"
               "                         files=N ffree=N favail=N\" instead of statvfs(3)\n"
               "      --probe-delay S    (testing) sleep S seconds in the probe before fsync\n\n"
               "A bare number N for -w/-c/-W/-K means \"alert when less than N%% is free\" (the\n"
               "Nagios range N:); any other Nagios range ([@][start:][end]) is used as is.\n"
               "A permission error in the probe is UNKNOWN (set -d to a directory the plugin's\n"
               "user may write); EROFS, EIO, ENOSPC and a timeout are CRITICAL.\n");
}

/* A bare number is a "free below N%" threshold, i.e. the range "N:". */
static void parse_free_range(const char *opt, const char *arg, PluginRange *ret) {
        char buf[64];
        double d;

        if (plugin_parse_double(arg, &d) == 0 && strlen(arg) < sizeof(buf) - 1) {
                snprintf(buf, sizeof(buf), "%s:", arg);
                arg = buf;
        }
        if (plugin_range_parse(arg, ret) < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid %s range '%s'", opt, arg);
}

static void parse_args(int argc, char *argv[], Options *o) {
        static const struct option longopts[] = { { "path", required_argument, NULL, 'p' },
                                                  { "mounted", no_argument, NULL, 'm' },
                                                  { "warning", required_argument, NULL, 'w' },
                                                  { "critical", required_argument, NULL, 'c' },
                                                  { "iwarning", required_argument, NULL, 'W' },
                                                  { "icritical", required_argument, NULL, 'K' },
                                                  { "probe-dir", required_argument, NULL, 'd' },
                                                  { "probe-timeout", required_argument, NULL, 'T' },
                                                  { "no-probe", no_argument, NULL, 'n' },
                                                  { "timeout", required_argument, NULL, 't' },
                                                  { "help", no_argument, NULL, 'h' },
                                                  { "version", no_argument, NULL, 'V' },
                                                  { "mountinfo", required_argument, NULL, 'M' },
                                                  { "statvfs", required_argument, NULL, 'S' },
                                                  { "probe-delay", required_argument, NULL, 'D' },
                                                  {} };
        int c;

        parse_free_range("-w", "10", &o->warn);
        parse_free_range("-c", "5", &o->crit);
        parse_free_range("-W", "10", &o->iwarn);
        parse_free_range("-K", "5", &o->icrit);
        o->probe_timeout = 5;
        o->timeout = 30;
        o->timeout_state = NAGIOS_CRITICAL;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "p:mw:c:W:K:d:T:nt:hV", longopts, NULL)) >= 0)
                switch (c) {
                case 'p':
                        o->path = optarg;
                        break;
                case 'm':
                        o->mounted = true;
                        break;
                case 'w':
                        parse_free_range("-w", optarg, &o->warn);
                        break;
                case 'c':
                        parse_free_range("-c", optarg, &o->crit);
                        break;
                case 'W':
                        parse_free_range("-W", optarg, &o->iwarn);
                        break;
                case 'K':
                        parse_free_range("-K", optarg, &o->icrit);
                        break;
                case 'd':
                        o->probe_dir = optarg;
                        break;
                case 'T':
                        if (plugin_parse_double(optarg, &o->probe_timeout) < 0 ||
                            o->probe_timeout <= 0 || o->probe_timeout > 3600)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -T '%s'", optarg);
                        break;
                case 'n':
                        o->no_probe = true;
                        break;
                case 't':
                        if (plugin_parse_timeout(optarg, &o->timeout, &o->timeout_state) < 0)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid -t '%s'", optarg);
                        break;
                case 'M':
                        o->mountinfo = optarg;
                        break;
                case 'S':
                        o->statvfs_file = optarg;
                        break;
                case 'D':
                        if (plugin_parse_double(optarg, &o->probe_delay) < 0 ||
                            o->probe_delay < 0 || o->probe_delay > 3600)
                                plugin_die(NAME, NAGIOS_UNKNOWN, "invalid --probe-delay '%s'",
                                           optarg);
                        break;
                case 'h':
                        help();
                        exit(NAGIOS_OK);
                case 'V':
                        plugin_print_version("check_fs");
                        exit(NAGIOS_OK);
                default:
                        plugin_die(NAME, NAGIOS_UNKNOWN, "invalid option '%s' (see --help)",
                                   argv[optind - 1]);
                }
        if (optind < argc)
                plugin_die(NAME, NAGIOS_UNKNOWN, "unexpected argument '%s' (see --help)",
                           argv[optind]);
        if (!o->path)
                plugin_die(NAME, NAGIOS_UNKNOWN, "-p PATH is required (see --help)");
        if (!o->probe_dir)
                o->probe_dir = o->path;
}

int main(int argc, char *argv[]) {
        Options o = {};
        PluginOutput problems = {}, out = {};
        _cleanup_free_ char *table = NULL;
        char canon[PATH_MAX];
        const char *path;
        MountEntry m;
        NagiosStatus s = NAGIOS_OK, t;
        double probe_secs = 0;
        int r;

        parse_args(argc, argv, &o);
        plugin_arm_timeout(NAME, o.timeout, o.timeout_state);
        path = o.mountinfo || !realpath(o.path, canon) ? o.path : canon;
        r = plugin_read_file(o.mountinfo ?: "/proc/self/mountinfo", MOUNTINFO_MAX, &table);
        if (r >= 0)
                r = mountinfo_find(table, path, &m);
        if (r < 0)
                plugin_die(NAME, NAGIOS_UNKNOWN, "cannot find the mount of %s in %s: %s", path,
                           o.mountinfo ?: "/proc/self/mountinfo", strerror(-r));
        if (o.mounted && !streq(m.mountpoint, path)) {
                s = NAGIOS_CRITICAL;
                plugin_msg(&problems, ", ", "%s is not a mount point (it is on %s)", path,
                           m.mountpoint);
        }
        if (m.ro) {
                s = NAGIOS_CRITICAL;
                plugin_msg(&problems, ", ", "%s is mounted read-only", m.mountpoint);
        } else if (!o.no_probe) {
                t = probe_run(&o, &probe_secs, &problems);
                s = nagios_status_worst(s, t);
        }
        t = check_space(&o, &out);
        s = nagios_status_worst(s, t);
        if (!m.ro && !o.no_probe) {
                char lim[32];
                plugin_format_number(lim, sizeof(lim), o.probe_timeout);
                PluginRange crit = { .set = true };
                snprintf(crit.text, sizeof(crit.text), "%s", lim);
                plugin_perf(&out, "probe_time",
                            (double) (long long) (probe_secs * 1000 + 0.5) / 1000, "s", NULL, &crit,
                            "0", NULL);
        }
        if (problems.msg[0])
                plugin_msg(&problems, NULL, "; ");
        else
                plugin_msg(&problems, NULL, "%s (%s) %s%s; ", m.mountpoint, m.fstype,
                           m.ro ? "ro" : "rw", o.no_probe ? "" : ", write probe ok");
        plugin_msg(&problems, NULL, "%s", out.msg);
        memcpy(problems.perf, out.perf, sizeof(out.perf));
        plugin_sanitize(problems.msg);
        return plugin_finish(NAME, s, &problems);
}

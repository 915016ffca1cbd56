/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "config/config.h"
#include "checks/plugin.h"
#include "base/util.h"

/* A clean environment: a spartan PATH and a UTF-8 locale, nothing of ours. */
static char *const plugin_environ[] = {
        (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        (char *) "LANG=C.UTF-8",
        NULL,
};

#define CHILD_EXIT_EXEC_FAILED 127
#define PLUGIN_OUTPUT_MAX (64 * 1024 * 1024)
#define READ_CHUNK 16384
#define READS_PER_DISPATCH 16 /* a flooding plugin must not starve the loop */

typedef struct Credentials {
        bool drop;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        int n_groups;
} Credentials;

struct Plugin {
        sd_event *event;
        plugin_done_t done;
        void *userdata;

        char *path; /* what is exec'd, for messages */
        char **argv;
        double timeout;
        double kill_grace;
        size_t max_output;
        NagiosStatus timeout_state;

        pid_t pid;
        int fd;
        sd_event_source *io, *child, *timer, *defer;
        char *buf;
        size_t len;
        bool truncated;
        PluginExit exit;
        uint64_t start_usec, duration_usec;

        char *early_message; /* the plugin cannot run at all */
        char **env;
        PluginResult *result; /* allocated up front: a result is always delivered */
};

static uint64_t sec_to_usec(double s) {
        if (!(s > 0))
                return 1;
        if (s > 1e9)
                s = 1e9;
        return MAX((uint64_t) (s * USEC_PER_SEC), (uint64_t) 1);
}

void plugin_spec_from_check(const CheckConfig *cc, PluginSpec *ret) {
        *ret = (PluginSpec){
                .argv = cc->command,
                .shell = cc->shell,
                .user = cc->user,
                .group = cc->group,
                .timeout = cc->timeout,
                .kill_grace = cc->kill_grace,
                .max_output = cc->max_output,
                .timeout_state = cc->timeout_state,
        };
}

PluginResult *plugin_result_free(PluginResult *r) {
        if (!r)
                return NULL;
        nagios_output_free(r->output);
        free(r->raw);
        return mfree(r);
}

pid_t plugin_pid(const Plugin *p) {
        return p ? p->pid : 0;
}

static void plugin_stop_watching(Plugin *p) {
        p->io = sd_event_source_disable_unref(p->io);
        p->child = sd_event_source_disable_unref(p->child);
        p->timer = sd_event_source_disable_unref(p->timer);
        p->defer = sd_event_source_disable_unref(p->defer);
        p->fd = safe_close(p->fd);
}

/* Kills what is left of the group and reaps the plugin (a zombie by now, or soon). */
static void plugin_kill_and_reap(Plugin *p) {
        if (p->pid <= 0)
                return;
        (void) kill(-p->pid, SIGKILL);
        (void) kill(p->pid, SIGKILL); /* in case it left its group */
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        p->pid = 0;
}

Plugin *plugin_free(Plugin *p) {
        if (!p)
                return NULL;
        plugin_stop_watching(p);
        plugin_kill_and_reap(p);
        sd_event_unref(p->event);
        free(p->path);
        strv_free(p->argv);
        free(p->buf);
        free(p->early_message);
        plugin_result_free(p->result);
        strv_free(p->env);
        return mfree(p);
}

/* Fills the result allocated at spawn time; < 0 only when memory ran out. */
static int result_build(Plugin *p, PluginResult *res) {
        _cleanup_free_ char *message = NULL;
        NagiosStatus status = NAGIOS_UNKNOWN;
        int r;

        p->buf[p->len] = '\0';
        res->raw = TAKE_PTR(p->buf);
        res->raw_len = p->len;
        res->truncated = p->truncated;
        res->timed_out = p->exit.timed_out;
        res->exit_code = p->exit.exited && !p->early_message ? p->exit.code : -1;
        res->signal = p->exit.exited || p->early_message ? 0 : p->exit.code;
        res->duration_usec = p->duration_usec;
        res->status = NAGIOS_UNKNOWN;
        res->broken = true;

        if (p->early_message)
                return nagios_output_new_message(p->early_message, &res->output);
        r = plugin_exit_status(&p->exit, p->path, p->timeout, p->timeout_state, &status, &message);
        if (r < 0)
                return r;
        res->status = status;
        res->broken = r > 0 && !p->exit.timed_out;
        if (r > 0 && (p->exit.timed_out || p->exit.exec_errno > 0))
                return nagios_output_new_message(message, &res->output);
        r = nagios_output_parse(res->raw, res->raw_len, &res->output);
        if (r >= 0 && message) {
                _cleanup_free_ char *m = NULL;

                /* Keep what the plugin said: it often explains the odd exit. */
                if (!isempty(res->output->message) &&
                    asprintf(&m, "%s: %s", message, res->output->message) < 0)
                        return -ENOMEM;
                r = nagios_output_set_message(res->output, m ? m : message);
        }
        return r;
}

/* Ends the run and hands the result over; p may be freed by the callback. */
static void plugin_finish(Plugin *p) {
        PluginResult *res = TAKE_PTR(p->result);

        plugin_stop_watching(p);
        plugin_kill_and_reap(p);
        if (result_build(p, res) < 0) {
                /* Out of memory: the plugin cannot be judged. */
                res->status = NAGIOS_UNKNOWN;
                res->broken = true;
                res->output = nagios_output_free(res->output);
                (void) nagios_output_new_message("out of memory", &res->output);
        }
        p->done(p, res, p->userdata);
}

/* Reads what is available; false at EOF or on error. */
static bool plugin_read(Plugin *p, unsigned max_reads) {
        char scratch[READ_CHUNK];

        for (unsigned i = 0; i < max_reads; i++) {
                size_t room = p->max_output - p->len;
                char *dst = room > 0 ? p->buf + p->len : scratch;
                ssize_t n =
                        read(p->fd, dst, room > 0 ? MIN(room, sizeof(scratch)) : sizeof(scratch));

                if (n < 0)
                        return errno == EAGAIN || errno == EINTR;
                if (n == 0)
                        return false;
                if (room > 0)
                        p->len += (size_t) n;
                else
                        p->truncated = true; /* excess read and dropped */
        }
        return true;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Plugin *p = userdata;

        if (!plugin_read(p, READS_PER_DISPATCH)) {
                /* EOF: the plugin may still run (closed stdout early); the timer covers it. */
                p->io = sd_event_source_disable_unref(p->io);
                p->fd = safe_close(p->fd);
        }
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Plugin *p = userdata;

        p->duration_usec = now_usec(CLOCK_MONOTONIC) - p->start_usec;
        p->exit.exited = si->si_code == CLD_EXITED;
        p->exit.code = si->si_status;
        /* What it wrote before exiting is in the pipe; anything later is a leftover's. */
        if (p->fd >= 0)
                (void) plugin_read(p, 64);
        plugin_finish(p);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Plugin *p = userdata;

        if (!p->exit.timed_out) {
                p->exit.timed_out = true;
                (void) kill(-p->pid, SIGTERM);
                (void) sd_event_source_set_time_relative(s, sec_to_usec(p->kill_grace));
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        } else
                (void) kill(-p->pid, SIGKILL);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        plugin_finish(userdata);
        return 0;
}

static void credentials_done(Credentials *c) {
        free(c->groups);
}

/* Looked up in the parent: the child must only make syscalls between fork and exec. */
static int credentials_resolve(const char *user, const char *group, Credentials *c,
                               char **ret_message) {
        struct passwd *pw;
        struct group *gr;
        int n = 0;

        *c = (Credentials){};
        if (isempty(user) || geteuid() != 0)
                return 0;
        errno = 0;
        pw = getpwnam(user);
        if (!pw)
                return asprintf(ret_message, "cannot run plugin: unknown user '%s'", user) < 0
                               ? -ENOMEM
                               : -ENOENT;
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
        if (!isempty(group)) {
                gr = getgrnam(group);
                if (!gr)
                        return asprintf(ret_message, "cannot run plugin: unknown group '%s'",
                                        group) < 0
                                       ? -ENOMEM
                                       : -ENOENT;
                c->gid = gr->gr_gid;
        }
        (void) getgrouplist(user, c->gid, NULL, &n);
        n = MAX(MIN(n, 65536), 1);
        c->groups = calloc((size_t) n, sizeof(gid_t));
        if (!c->groups)
                return -ENOMEM;
        if (getgrouplist(user, c->gid, c->groups, &n) < 0) {
                c->groups[0] = c->gid;
                n = 1;
        }
        c->n_groups = n;
        c->drop = true;
        return 0;
}

/* Checked before forking so the common mistakes get a clear message. */
static int plugin_check_file(const char *path, char **ret_message) {
        struct stat st;
        int r;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT)
                        r = asprintf(ret_message, "plugin not found: %s", path);
                else
                        r = asprintf(ret_message, "cannot access plugin %s: %s", path,
                                     strerror(errno));
        } else if (!S_ISREG(st.st_mode))
                r = asprintf(ret_message, "plugin is not a regular file: %s", path);
        else if (!(st.st_mode & 0111))
                r = asprintf(ret_message, "plugin is not executable: %s", path);
        else
                return 0;
        return r < 0 ? -ENOMEM : -EINVAL;
}

__attribute__((noreturn)) static void child_exec(const Plugin *p, int out_w, int err_w, int devnull,
                                                 const Credentials *c) {
        /* All-zero is SIG_DFL with no flags in every architecture's kernel layout. */
        uint64_t kernel_sigaction_dfl[8] = {};
        sigset_t ss;
        int e;

        /* Raw syscall: glibc refuses its reserved real-time signals, which may have
         * been inherited as ignored and must not be passed on. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, kernel_sigaction_dfl, NULL,
                                       (size_t) (_NSIG / 8));
        sigemptyset(&ss);
        if (sigprocmask(SIG_SETMASK, &ss, NULL) < 0 || setpgid(0, 0) < 0)
                goto fail;
        /* All three are >= 3 (see fd_above_stdio), so dup2 cannot clobber one another. */
        if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
            dup2(out_w, STDERR_FILENO) < 0)
                goto fail;
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
                long max = MIN(sysconf(_SC_OPEN_MAX), 65536L);

                for (int fd = 3; fd < max; fd++)
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        if (c->drop &&
            (setgroups((size_t) c->n_groups, c->groups) < 0 ||
             setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0))
                goto fail;
        if (chdir("/") < 0)
                goto fail;
        execve(p->path, p->argv, p->env);
fail:
        e = errno;
        (void) !write(err_w, &e, sizeof(e));
        _exit(CHILD_EXIT_EXEC_FAILED);
}

/* Moves fd to >= 3 (close-on-exec) so that a process started without stdio is safe. */
static int fd_above_stdio(int fd) {
        int n;

        if (fd < 0 || fd > 2)
                return fd;
        n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        safe_close(fd);
        return n < 0 ? negative_errno() : n;
}

static bool env_has_key(char *const *env, const char *entry) {
        size_t n = strcspn(entry, "=");

        for (; env && *env; env++)
                if (strneq(*env, entry, n) && (*env)[n] == '=')
                        return true;
        return false;
}

/* The caller's extra entries, then the clean defaults they do not override. */
static char **plugin_environment(char *const *extra) {
        size_t n = strv_length(extra), k = 0;
        _cleanup_strv_free_ char **env = calloc(n + ELEMENTSOF(plugin_environ), sizeof(char *));

        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (strchr(extra[i], '=') && !(env[k++] = strdup(extra[i])))
                        return NULL;
        for (char *const *d = plugin_environ; *d; d++)
                if (!env_has_key(env, *d) && !(env[k++] = strdup(*d)))
                        return NULL;
        return TAKE_PTR(env);
}

static int plugin_copy_spec(Plugin *p, const PluginSpec *spec) {
        size_t n = strv_length(spec->argv);

        if (n == 0)
                return -EINVAL;
        if (spec->shell) {
                /* sh -c SCRIPT sh ARGS...: further argv entries become $1... */
                p->argv = calloc(n + 4, sizeof(char *));
                if (!p->argv)
                        return -ENOMEM;
                p->argv[0] = strdup("/bin/sh");
                p->argv[1] = strdup("-c");
                p->argv[2] = strdup(spec->argv[0]);
                p->argv[3] = strdup("sh");
                for (size_t i = 1; i < n; i++)
                        if (!(p->argv[i + 3] = strdup(spec->argv[i])))
                                return -ENOMEM;
                if (!p->argv[0] || !p->argv[1] || !p->argv[2] || !p->argv[3])
                        return -ENOMEM;
        } else if (!(p->argv = strv_copy(spec->argv)))
                return -ENOMEM;
        p->path = strdup(p->argv[0]);
        p->max_output = MIN(spec->max_output, (size_t) PLUGIN_OUTPUT_MAX);
        p->buf = malloc(p->max_output + 1);
        p->result = calloc(1, sizeof(PluginResult));
        p->env = plugin_environment(spec->env);
        if (!p->path || !p->buf || !p->result || !p->env)
                return -ENOMEM;
        p->timeout = spec->timeout;
        p->kill_grace = spec->kill_grace;
        p->timeout_state = spec->timeout_state;
        return 0;
}

static int block_sigchld(void) {
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return negative_errno();
        return 0;
}

/* fork + exec; on return the child runs (or failed to exec: p->exit.exec_errno). */
static int plugin_fork(Plugin *p, const Credentials *c) {
        _cleanup_close_ int devnull = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        int pipes[2], e = 0;
        ssize_t n;

        devnull = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (devnull < 0)
                return negative_errno();
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return negative_errno();
        out_r = pipes[0], out_w = fd_above_stdio(pipes[1]);
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return negative_errno();
        err_r = pipes[0], err_w = fd_above_stdio(pipes[1]);
        if (out_w < 0 || err_w < 0 || fcntl(out_r, F_SETFL, O_NONBLOCK) < 0)
                return -EMFILE;

        p->start_usec = now_usec(CLOCK_MONOTONIC);
        p->pid = fork();
        if (p->pid < 0) {
                p->pid = 0;
                return negative_errno();
        }
        if (p->pid == 0)
                child_exec(p, out_w, err_w, devnull, c);

        /* Also here, so the group exists before we might signal it (no race with the child). */
        (void) setpgid(p->pid, p->pid);
        err_w = safe_close(err_w);
        out_w = safe_close(out_w);
        /* Only syscalls run between fork and exec, so this read returns at once. */
        do
                n = read(err_r, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof(e))
                p->exit.exec_errno = e > 0 ? e : EIO;
        p->fd = TAKE_FD(out_r);
        return 0;
}

int plugin_spawn(sd_event *e, const PluginSpec *spec, plugin_done_t done, void *userdata,
                 Plugin **ret) {
        _cleanup_(plugin_freep) Plugin *p = NULL;
        _cleanup_(credentials_done) Credentials c = {};
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        p->event = sd_event_ref(e);
        p->done = done;
        p->userdata = userdata;
        r = plugin_copy_spec(p, spec);
        if (r < 0)
                return r;

        r = spec->shell ? 0 : plugin_check_file(p->path, &p->early_message);
        if (r >= 0)
                r = credentials_resolve(spec->user, spec->group, &c, &p->early_message);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = sd_event_add_defer(e, &p->defer, on_defer, p);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(p);
                return 0;
        }

        r = block_sigchld();
        if (r < 0)
                return r;
        r = plugin_fork(p, &c);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &p->io, p->fd, EPOLLIN, on_io, p);
        if (r >= 0) /* read the pipe before handling the exit */
                r = sd_event_source_set_priority(p->io, SD_EVENT_PRIORITY_NORMAL - 1);
        if (r >= 0)
                r = sd_event_add_child(e, &p->child, p->pid, WEXITED, on_child, p);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC,
                                               sec_to_usec(p->timeout), USEC_PER_MSEC, on_timer, p);
        if (r < 0)
                return r; /* plugin_free kills and reaps the child */
        *ret = TAKE_PTR(p);
        return 0;
}

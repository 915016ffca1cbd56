/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "config/config.h"
#include "base/exec-verify.h"
#include "checks/plugin.h"
#include "checks/reap.h"
#include "checks/spawn.h"
#include "base/util.h"

/* A clean environment: a spartan PATH and a UTF-8 locale, nothing of ours. */
static char *const plugin_environ[] = {
        (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        (char *) "LANG=C.UTF-8",
        NULL,
};

#define PLUGIN_OUTPUT_MAX (64 * 1024 * 1024)
#define READ_CHUNK 16384
#define READS_PER_DISPATCH 16 /* a flooding plugin must not starve the loop */

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
        int pidfd;
        int fd;
        sd_event_source *io, *child, *timer, *defer;
        sd_event_source *reap; /* polls a process that outlived its result */
        uint64_t reap_delay;
        bool killed;    /* SIGKILL sent */
        bool delivered; /* the result went out while the process was not reaped yet */
        RunAs run_as;
        char *buf;
        size_t len;
        bool truncated;
        PluginExit exit;
        uint64_t start_usec, duration_usec;

        char *early_message; /* the plugin cannot run at all */
        bool refused;        /* ... because its path failed the checks */
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
                .run_as = &cc->run_as,
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
        p->timer = sd_event_source_disable_unref(p->timer);
        p->defer = sd_event_source_disable_unref(p->defer);
        p->fd = safe_close(p->fd);
}

/* Non-blocking: true when the process is gone (reaped now or before). */
static bool plugin_reap(Plugin *p) {
        if (p->pid <= 0)
                return true;
        if (!reap_pidfd(p->pidfd))
                return false;
        p->pid = 0;
        p->child = sd_event_source_disable_unref(p->child);
        p->pidfd = safe_close(p->pidfd);
        return true;
}

static void plugin_kill(Plugin *p) {
        if (p->pid <= 0)
                return;
        (void) kill(-p->pid, SIGKILL);
        (void) kill(p->pid, SIGKILL); /* in case it left its group */
        p->killed = true;
}

/* The Plugin goes; the loop keeps polling its process until it can be reaped. */
static void plugin_hand_to_loop(Plugin *p) {
        if (reap_in_background(p->event, p->pidfd) >= 0) {
                p->pidfd = -1;
                p->pid = 0;
        }
        /* else out of memory: a zombie until drover exits */
}

Plugin *plugin_free(Plugin *p) {
        if (!p)
                return NULL;
        plugin_stop_watching(p);
        plugin_kill(p);
        if (!plugin_reap(p))
                plugin_hand_to_loop(p);
        p->child = sd_event_source_disable_unref(p->child);
        p->reap = sd_event_source_disable_unref(p->reap);
        safe_close(p->pidfd);
        sd_event_unref(p->event);
        free(p->path);
        strv_free(p->argv);
        free(p->buf);
        free(p->early_message);
        plugin_result_free(p->result);
        strv_free(p->env);
        run_as_done(&p->run_as);
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
        res->unreaped = p->pid > 0;
        res->refused = p->refused;
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

static int on_reap_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Plugin *p = userdata;

        if (plugin_reap(p)) {
                /* The process that would not die is gone at last. */
                p->reap = sd_event_source_disable_unref(p->reap);
                p->done(p, NULL, p->userdata);
                return 0;
        }
        p->reap_delay = reap_backoff(p->reap_delay);
        (void) sd_event_source_set_time_relative(s, p->reap_delay);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* Ends the run and hands the result over; p may be freed by the callback. */
static void plugin_finish(Plugin *p) {
        PluginResult *res = TAKE_PTR(p->result);

        plugin_stop_watching(p);
        plugin_kill(p);
        (void) plugin_reap(p);
        if (result_build(p, res) < 0) {
                /* Out of memory: the plugin cannot be judged. */
                res->status = NAGIOS_UNKNOWN;
                res->broken = true;
                res->output = nagios_output_free(res->output);
                (void) nagios_output_new_message("out of memory", &res->output);
        }
        p->delivered = true;
        if (p->pid > 0) {
                /* Stop watching the pidfd (see REAP_POLL_*), poll instead. */
                p->child = sd_event_source_disable_unref(p->child);
                p->reap_delay = REAP_POLL_FIRST_USEC;
                if (sd_event_add_time_relative(p->event, &p->reap, CLOCK_MONOTONIC, p->reap_delay,
                                               USEC_PER_MSEC, on_reap_poll, p) < 0)
                        res->unreaped = false; /* cannot follow it: freed, the loop polls */
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
                return 0;
        }
        /* timeout + kill_grace: the result is due now, whether or not the process dies
         * (one in D state on a hung mount never does). plugin_finish polls for it and
         * tells the caller again, with a NULL result, once it has been reaped. */
        p->duration_usec = now_usec(CLOCK_MONOTONIC) - p->start_usec;
        plugin_kill(p);
        if (p->fd >= 0)
                (void) plugin_read(p, 64);
        plugin_finish(p);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        plugin_finish(userdata);
        return 0;
}

/* Verifies what runs and builds the argv the kernel would have built for a script. */
static int plugin_prepare_exec(Plugin *p, ExecTarget *t) {
        char why[EXEC_VERIFY_WHY_MAX];
        size_t n = strv_length(p->argv), k = 0;
        char **argv;
        int r, m = 0;

        r = exec_verify_target(p->argv[0], t, why);
        if (r == -ENOMEM)
                return r;
        /* The messages of before for what is no question of trust. */
        if (r == -ENOENT && strstr(why, "interpreter"))
                m = asprintf(&p->early_message, "cannot exec %s: %s", p->argv[0], strerror(ENOENT));
        else if (r == -ENOENT)
                m = asprintf(&p->early_message, "plugin not found: %s", p->argv[0]);
        else if (r == -EACCES)
                m = asprintf(&p->early_message, "plugin %s: %s",
                             strstr(why, "executable") ? "is not executable"
                                                       : "is not a regular file",
                             p->argv[0]);
        if (r == -ENOENT || r == -EACCES)
                return m < 0 ? -ENOMEM : r;
        p->refused = r < 0;
        if (r < 0)
                return asprintf(&p->early_message, "refusing to run %s: %s", p->argv[0], why) < 0
                               ? -ENOMEM
                               : r;
        if (!t->script)
                return 0;
        /* interp [arg] path args...: $0 is the verified path (scripts find their files by
         * it); the interpreter opens it by name again, which only root could exploit as
         * every directory on the way is root's. */
        argv = calloc(n + 3, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        argv[k++] = strdup(t->interp);
        if (t->has_arg)
                argv[k++] = strdup(t->arg);
        for (size_t i = 0; i < n; i++)
                argv[k++] = p->argv[i];
        for (size_t i = 0; i < k - n; i++)
                if (!argv[i]) {
                        for (size_t j = 0; j < k - n; j++)
                                free(argv[j]);
                        free(argv);
                        return -ENOMEM;
                }
        free(p->argv);
        p->argv = argv;
        return 0;
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
        if (spec->run_as && run_as_copy(spec->run_as, &p->run_as) < 0)
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

/* Starts the verified program; on return it runs (or could not exec: exit.exec_errno). */
static int plugin_start(Plugin *p, const ExecTarget *t) {
        _cleanup_close_ int devnull = -1, out_r = -1, out_w = -1;
        int pipes[2], e = 0, r;
        SpawnSpec s;

        devnull = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (devnull < 0)
                return negative_errno();
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return negative_errno();
        out_r = pipes[0], out_w = fd_above_stdio(pipes[1]);
        if (out_w < 0 || fcntl(out_r, F_SETFL, O_NONBLOCK) < 0)
                return -EMFILE;
        s = (SpawnSpec){
                .exec_fd = t->fd,
                .argv = p->argv,
                .env = p->env,
                .stdin_fd = devnull,
                .stdout_fd = out_w,
                .run_as = &p->run_as,
        };
        p->start_usec = now_usec(CLOCK_MONOTONIC);
        r = spawn_start(&s, &p->pid, &p->pidfd, &e);
        if (r < 0)
                return r;
        if (e > 0)
                p->exit.exec_errno = e;
        p->fd = TAKE_FD(out_r);
        return 0;
}

int plugin_spawn(sd_event *e, const PluginSpec *spec, plugin_done_t done, void *userdata,
                 Plugin **ret) {
        _cleanup_(plugin_freep) Plugin *p = NULL;
        ExecTarget t = { .fd = -1 };
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->fd = p->pidfd = -1;
        p->event = sd_event_ref(e);
        p->done = done;
        p->userdata = userdata;
        r = plugin_copy_spec(p, spec);
        if (r < 0)
                return r;

        if (p->run_as.unknown)
                r = asprintf(&p->early_message,
                             "cannot run plugin: unknown user '%s' or group '%s'",
                             strempty(spec->user), strempty(spec->group)) < 0
                            ? -ENOMEM
                            : -ENOENT;
        else
                r = plugin_prepare_exec(p, &t);
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
        if (r >= 0)
                r = plugin_start(p, &t);
        safe_close(t.fd);
        if (r < 0)
                return r;
        r = sd_event_add_child_pidfd(e, &p->child, p->pidfd, WEXITED, on_child, p);
        if (r < 0)
                return r; /* plugin_free kills the child and the loop reaps it */
        r = sd_event_add_io(e, &p->io, p->fd, EPOLLIN, on_io, p);
        if (r >= 0) /* read the pipe before handling the exit */
                r = sd_event_source_set_priority(p->io, SD_EVENT_PRIORITY_NORMAL - 1);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC,
                                               sec_to_usec(p->timeout), USEC_PER_MSEC, on_timer, p);
        if (r < 0)
                return r; /* plugin_free kills the child and the loop reaps it */
        *ret = TAKE_PTR(p);
        return 0;
}

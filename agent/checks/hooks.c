/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <stdio.h>

#include "checks/hooks.h"
#include "base/util.h"

#define HOOKS_MAX 256
#define HOOK_MAX_OUTPUT (64U * 1024U)
#define HOOK_KILL_GRACE 5.0

struct HookRun {
        sd_event *event;
        char *user, *group; /* copies: a reload may free the config while hooks run */
        RunAs run_as;
        char *dir; /* dir/event */
        char **names;
        size_t next;
        char **env;
        double timeout;
        unsigned ran, failed;
        Plugin *plugin;
        sd_event_source *defer;
        hooks_step_t step;
        hooks_done_t done;
        void *userdata;
};

static int name_filter(const struct dirent *d) {
        /* Like run-parts: skip hidden files and editor/package leftovers. */
        size_t n = strlen(d->d_name);

        if (d->d_name[0] == '.' || n == 0 || d->d_name[n - 1] == '~')
                return 0;
        for (const char *const *s = (const char *const[]){ ".dpkg-old", ".dpkg-new", ".dpkg-dist",
                                                           ".rpmnew", ".rpmsave", ".swp", NULL };
             *s; s++)
                if (n > strlen(*s) && streq(d->d_name + n - strlen(*s), *s))
                        return 0;
        return 1;
}

int hooks_list(const char *dir, const char *event, char ***ret) {
        _cleanup_free_ char *path = NULL;
        struct dirent **list = NULL;
        char **names;
        int n;

        if (asprintf(&path, "%s/%s", dir, event) < 0)
                return -ENOMEM;
        n = scandir(path, &list, name_filter, alphasort);
        if (n < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return negative_errno();
                n = 0;
        }
        names = calloc((size_t) MIN(n, HOOKS_MAX) + 1, sizeof(char *));
        for (int i = 0; i < n; i++) {
                if (names && i < HOOKS_MAX && !(names[i] = strdup(list[i]->d_name))) {
                        strv_free(names);
                        names = NULL;
                }
                free(list[i]);
        }
        free(list);
        if (!names)
                return -ENOMEM;
        *ret = names;
        return 0;
}

static void hook_run_free(HookRun *h) {
        plugin_free(h->plugin);
        sd_event_source_disable_unref(h->defer);
        sd_event_unref(h->event);
        strv_free(h->names);
        strv_free(h->env);
        free(h->dir);
        free(h->user);
        free(h->group);
        run_as_done(&h->run_as);
        free(h);
}

void hooks_cancel(HookRun *h) {
        if (h)
                hook_run_free(h);
}

static int run_next(HookRun *h);
static int on_finish(sd_event_source *s, void *userdata);

static void on_hook_done(Plugin *p, PluginResult *res, void *userdata) {
        HookRun *h = userdata;
        bool ok = res->exit_code == 0 && !res->timed_out;

        h->plugin = plugin_free(h->plugin);
        h->ran++;
        h->failed += !ok;
        h->step(h->names[h->next - 1], ok, res, h->userdata);
        plugin_result_free(res);
        if (run_next(h) < 0)
                on_finish(NULL, h); /* in the loop already: finish now */
}

static int on_finish(sd_event_source *s, void *userdata) {
        HookRun *h = userdata;
        hooks_done_t done = h->done;
        unsigned ran = h->ran, failed = h->failed;
        void *ud = h->userdata;

        hook_run_free(h);
        done(ran, failed, ud);
        return 0;
}

/* Starts the next hook, or schedules the finish. -ENOMEM when even that failed: then
 * nothing is called and h is the caller's to deal with. */
static int run_next(HookRun *h) {
        while (h->names[h->next]) {
                const char *name = h->names[h->next++];
                _cleanup_free_ char *path = NULL;
                char *argv[2] = { NULL, NULL };
                PluginSpec spec = {
                        .argv = argv,
                        .user = h->user,
                        .group = h->group,
                        .run_as = &h->run_as,
                        .timeout = h->timeout,
                        .kill_grace = HOOK_KILL_GRACE,
                        .max_output = HOOK_MAX_OUTPUT,
                        .timeout_state = NAGIOS_CRITICAL,
                        .env = h->env,
                };

                if (asprintf(&path, "%s/%s", h->dir, name) < 0) {
                        h->failed++;
                        continue;
                }
                /* plugin_spawn verifies the whole path, hooks.d/<event>/ included, and
                 * reports a refusal as a result with the reason. */
                argv[0] = path;
                if (plugin_spawn(h->event, &spec, on_hook_done, h, &h->plugin) >= 0)
                        return 0;
                h->ran++;
                h->failed++;
                h->step(name, false, NULL, h->userdata);
        }
        /* Finish from the loop, never from inside hooks_run(). */
        return sd_event_add_defer(h->event, &h->defer, on_finish, h) < 0 ? -ENOMEM : 0;
}

int hooks_run(sd_event *e, const HooksConfig *cfg, const char *event, char *const *env,
              char *const *skip, double timeout, hooks_step_t step, hooks_done_t done,
              void *userdata, HookRun **ret) {
        HookRun *h = calloc(1, sizeof(*h));
        char **all = NULL;
        size_t k = 0;
        int r;

        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(e);
        h->timeout = timeout > 0 ? timeout : cfg->timeout;
        h->step = step;
        h->done = done;
        h->userdata = userdata;
        r = hooks_list(cfg->dir, event, &all);
        if (r >= 0 && (asprintf(&h->dir, "%s/%s", cfg->dir, event) < 0 ||
                       !(h->env = strv_copy(env)) || !(h->user = strdup(strempty(cfg->user))) ||
                       !(h->group = strdup(strempty(cfg->group))) ||
                       run_as_copy(&cfg->run_as, &h->run_as) < 0))
                r = -ENOMEM;
        if (r < 0) {
                strv_free(all);
                hook_run_free(h);
                return r;
        }
        /* A resumed run leaves out what already finished. */
        for (size_t i = 0; all[i]; i++) {
                bool done_before = false;
                for (size_t j = 0; skip && skip[j]; j++)
                        done_before = done_before || streq(skip[j], all[i]);
                if (done_before)
                        free(all[i]);
                else
                        all[k++] = all[i];
        }
        all[k] = NULL;
        h->names = all;
        r = run_next(h);
        if (r < 0) {
                /* Nothing was called back: the caller sees the error, and no freed run. */
                hook_run_free(h);
                return r;
        }
        if (ret)
                *ret = h;
        return 0;
}

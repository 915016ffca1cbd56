/* SPDX-License-Identifier: MIT */
/* The small public helpers of config.h: freeing, lookups, comparison, names, messages. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <strings.h>

#include "config/config.h"
#include "base/util.h"

static void check_done(CheckConfig *k) {
        free(k->name);
        strv_free(k->command);
        free(k->user);
        free(k->group);
        run_as_done(&k->run_as);
        free(k->remediate.restart_unit);
        strv_free(k->remediate.exec);
        free(k->file);
}

void config_free(Config *c) {
        if (!c)
                return;
        free(c->path);
        free(c->imds.endpoint);
        free(c->aws.region);
        free(c->aws.endpoint_autoscaling);
        free(c->aws.endpoint_ec2);
        free(c->aws.endpoint_cloudwatch);
        free(c->aws.ca_file);
        free(c->plugins.user);
        free(c->plugins.group);
        free(c->metrics.namespace);
        strv_free(c->metrics.sinks);
        free(c->metrics.statsd);
        free(c->metrics.statsd_prefix);
        free(c->hooks.dir);
        free(c->hooks.terminate_hook_name);
        free(c->hooks.launch_hook_name);
        free(c->hooks.user);
        free(c->hooks.group);
        run_as_done(&c->hooks.run_as);
        strv_free(c->hooks.replace_on);
        strv_free(c->http.listen);
        strv_free(c->http.allow);
        free(c->status.group);
        for (size_t i = 0; i < c->n_checks; i++)
                check_done(&c->checks[i]);
        free(c->checks);
        free(c);
}

bool config_metrics_sink(const Config *c, const char *sink) {
        if (!c || !c->metrics.enabled)
                return false;
        for (char **s = c->metrics.sinks; s && *s; s++)
                if (strcasecmp(*s, sink) == 0)
                        return true;
        return false;
}

const CheckConfig *config_find_check(const Config *c, const char *name) {
        for (size_t i = 0; c && name && i < c->n_checks; i++)
                if (streq(c->checks[i].name, name))
                        return &c->checks[i];
        return NULL;
}

static bool strv_equal(char *const *a, char *const *b) {
        size_t i;

        for (i = 0; a[i] && b[i]; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return !a[i] && !b[i];
}

bool check_config_keeps_state(const CheckConfig *a, const CheckConfig *b) {
        return streq(a->name, b->name) && a->role == b->role &&
               strv_equal(a->command, b->command) && a->shell == b->shell &&
               a->timeout_state == b->timeout_state;
}

const char *check_role_to_string(CheckRole r) {
        static const char *const names[_CHECK_ROLE_MAX] = {
                [CHECK_ROLE_LIVENESS] = "liveness",
                [CHECK_ROLE_READINESS] = "readiness",
                [CHECK_ROLE_DEPENDENCY] = "dependency",
        };
        return (unsigned) r < _CHECK_ROLE_MAX ? names[r] : NULL;
}

const char *replace_action_to_string(ReplaceAction a) {
        static const char *const names[_REPLACE_ACTION_MAX] = {
                [REPLACE_SET_UNHEALTHY] = "set-unhealthy",
                [REPLACE_TERMINATE_IN_ASG] = "terminate-in-asg",
                [REPLACE_TERMINATE] = "terminate",
                [REPLACE_NONE] = "none",
        };
        return (unsigned) a < _REPLACE_ACTION_MAX ? names[a] : NULL;
}

char *config_error_format(const ConfigError *e) {
        char *s = NULL;
        int r;

        if (e->file && e->line > 0)
                r = asprintf(&s, "%s:%d: %s", e->file, e->line, e->message);
        else if (e->file)
                r = asprintf(&s, "%s: %s", e->file, e->message);
        else
                r = asprintf(&s, "%s", e->message);
        return r < 0 ? NULL : s;
}

void config_errors_clear(ConfigErrors *errors) {
        if (!errors)
                return;
        for (size_t i = 0; i < errors->n; i++) {
                free(errors->items[i].file);
                free(errors->items[i].message);
        }
        free(errors->items);
        *errors = (ConfigErrors){};
}

int config_load_print(const char *path, unsigned flags, bool optional, FILE *f, Config **ret) {
        ConfigErrors errors = {};
        int r;

        if (optional && access(path, F_OK) < 0 && errno == ENOENT) {
                *ret = NULL;
                return 0;
        }
        r = config_load(path, flags, ret, &errors);
        for (size_t i = 0; i < errors.n; i++) {
                _cleanup_free_ char *line = config_error_format(&errors.items[i]);
                fprintf(f, "%s\n", line ? line : errors.items[i].message);
        }
        if (r < 0 && errors.n == 0)
                fprintf(f, "%s: %s\n", path, strerror(-r));
        config_errors_clear(&errors);
        return r;
}

#define RUN_AS_GROUPS_MAX 65536

int run_as_resolve(const char *user, const char *group, RunAs *ret) {
        char buf[16384];
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        RunAs r = {};
        int n = 0;

        if (isempty(user) || geteuid() != 0) {
                *ret = r;
                return 0;
        }
        if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwr) != 0 || !pwr) {
                *ret = (RunAs){ .unknown = true };
                return 0;
        }
        r.uid = pw.pw_uid;
        r.gid = pw.pw_gid;
        if (!isempty(group)) {
                if (getgrnam_r(group, &gr, buf, sizeof(buf), &grr) != 0 || !grr) {
                        *ret = (RunAs){ .unknown = true };
                        return 0;
                }
                r.gid = gr.gr_gid;
        }
        (void) getgrouplist(user, r.gid, NULL, &n);
        n = MAX(MIN(n, RUN_AS_GROUPS_MAX), 1);
        groups = calloc((size_t) n, sizeof(gid_t));
        if (!groups)
                return -ENOMEM;
        if (getgrouplist(user, r.gid, groups, &n) < 0) {
                groups[0] = r.gid;
                n = 1;
        }
        r.drop = true;
        r.groups = TAKE_PTR(groups);
        r.n_groups = (size_t) n;
        *ret = r;
        return 0;
}

int run_as_copy(const RunAs *from, RunAs *ret) {
        RunAs r = *from;

        if (from->n_groups > 0) {
                r.groups = calloc(from->n_groups, sizeof(gid_t));
                if (!r.groups)
                        return -ENOMEM;
                memcpy(r.groups, from->groups, from->n_groups * sizeof(gid_t));
        }
        *ret = r;
        return 0;
}

void run_as_done(RunAs *r) {
        if (r)
                r->groups = mfree(r->groups);
}

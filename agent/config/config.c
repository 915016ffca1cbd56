/* SPDX-License-Identifier: MIT */
/*
 * Loading: read the main file and the *.conf files of conf.d/, parse each with libconfig,
 * walk them in order merging sections key by key (a key set twice is an error naming both places),
 * append every file's checks, then build each check on top of the plugin defaults. Every
 * problem is collected; nothing stops at the first. Never logs.
 */
#include <dirent.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config/config-scan.h"
#include "config/config-schema.h"
#include "config/config.h"
#include "base/exec-verify.h"
#include "base/util.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_DROPINS_MAX 256
#define CONFIG_CHECKS_MAX 1024
#define CONFIG_ERRORS_MAX 100

typedef struct Source {
        char *file;
        config_t cfg;
        bool inited;
        bool parsed;
} Source;

typedef struct Seen {
        const char *file; /* NULL: not set yet */
        int line;
} Seen;

typedef struct CheckSrc {
        const config_setting_t *s;
        const char *file;
        int index; /* 1-based within its file's list, for checks without a usable name */
} CheckSrc;

typedef struct Loader {
        unsigned flags;
        ConfigErrors *errors;
        size_t first_error;
        bool failed;
        bool oom;
        Config *c;
        Seen *seen; /* one per global key */
        CheckSrc *checks;
        size_t n_checks;
        Source *sources;
        size_t n_sources;
        bool all_parsed; /* every source parsed: what was not set is known */
} Loader;

static void add_error(Loader *l, const char *file, int line, const char *fmt, ...) _printf_(4, 5);
static void add_error(Loader *l, const char *file, int line, const char *fmt, ...) {
        ConfigErrors *e = l->errors;
        ConfigError *items;
        _cleanup_free_ char *msg = NULL, *f = NULL;
        va_list ap;
        int r;

        l->failed = true;
        if (e->n - l->first_error > CONFIG_ERRORS_MAX)
                return;
        if (e->n - l->first_error == CONFIG_ERRORS_MAX) {
                file = NULL, line = 0;
                msg = strdup("too many errors, giving up");
        } else {
                va_start(ap, fmt);
                r = vasprintf(&msg, fmt, ap);
                va_end(ap);
                if (r < 0)
                        msg = NULL;
        }
        if (!msg || (file && !(f = strdup(file))))
                goto oom;
        items = realloc(e->items, (e->n + 1) * sizeof(ConfigError));
        if (!items)
                goto oom;
        e->items = items;
        e->items[e->n++] = (ConfigError){
                .file = TAKE_PTR(f),
                .line = line,
                .message = TAKE_PTR(msg),
        };
        return;
oom:
        l->oom = true;
}

static int line_of(const config_setting_t *s) {
        return (int) config_setting_source_line(s);
}

static size_t source_index(const Loader *l, const char *file) {
        for (size_t i = 0; file && i < l->n_sources; i++)
                if (streq(l->sources[i].file, file))
                        return i;
        return SIZE_MAX;
}

/* Errors in file order, then by line: walking order is not reading order. Stable. */
static void sort_errors(Loader *l) {
        size_t n = l->errors->n - l->first_error;
        ConfigError *v;

        if (n < 2)
                return;
        v = l->errors->items + l->first_error;

        for (size_t i = 1; i < n; i++) {
                ConfigError x = v[i];
                size_t xi = source_index(l, x.file), j = i;
                while (j > 0) {
                        size_t pi = source_index(l, v[j - 1].file);
                        if (pi < xi || (pi == xi && v[j - 1].line <= x.line))
                                break;
                        v[j] = v[j - 1];
                        j--;
                }
                v[j] = x;
        }
}

static void unknown_key(Loader *l, const KeyDef *t, size_t n, const char *file, int line,
                        const char *label, const char *path) {
        const char *hint = config_key_suggest(t, n, path);

        if (hint)
                add_error(l, file, line, "%sunknown key '%s' (did you mean '%s'?)", label, path,
                          hint);
        else
                add_error(l, file, line, "%sunknown key '%s'", label, path);
}

static void collect_checks(Loader *l, const config_setting_t *s, const char *file) {
        int t = config_setting_type(s), n = config_setting_length(s);

        if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && n == 0)) {
                add_error(
                        l, file, line_of(s),
                        "checks must be a list ( { name = ...; command = [ ... ]; }, ... ), not %s",
                        config_type_name(t));
                return;
        }
        for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
                CheckSrc *v;
                if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                        add_error(l, file, line_of(e),
                                  "check #%d must be a group { name = ...; command = [ ... ]; }, "
                                  "not %s",
                                  i + 1, config_type_name(config_setting_type(e)));
                        continue;
                }
                if (l->n_checks >= CONFIG_CHECKS_MAX) {
                        add_error(l, file, line_of(e), "more than %d checks", CONFIG_CHECKS_MAX);
                        return;
                }
                v = realloc(l->checks, (l->n_checks + 1) * sizeof(CheckSrc));
                if (!v) {
                        l->oom = true;
                        return;
                }
                l->checks = v;
                l->checks[l->n_checks++] = (CheckSrc){ .s = e, .file = file, .index = i + 1 };
        }
}

/*
 * Walks group g (keys relative to prefix), applying each value to base. seen (one slot
 * per key of t) finds keys set twice. label prefixes messages for checks.
 */
static void walk(Loader *l, const config_setting_t *g, const char *prefix, const char *file,
                 const KeyDef *t, size_t n, void *base, Seen *seen, const char *label) {
        for (int i = 0; i < config_setting_length(g); i++) {
                const config_setting_t *s = config_setting_get_elem(g, (unsigned) i);
                const char *name = config_setting_name(s);
                _cleanup_free_ char *path = NULL, *full = NULL, *msg = NULL;
                const KeyDef *def;
                Seen *was;
                int r;

                if (!name)
                        continue;
                if (t == config_global_keys && !*prefix && streq(name, "checks")) {
                        collect_checks(l, s, file);
                        continue;
                }
                if (asprintf(&path, "%s%s%s", prefix, *prefix ? "." : "", name) < 0 ||
                    asprintf(&full, "%s%s", label, path) < 0) {
                        l->oom = true;
                        return;
                }
                def = config_key_find(t, n, path);
                if (!def) {
                        unknown_key(l, t, n, file, line_of(s), label, path);
                        continue;
                }
                if (def->kind == KEY_SECTION && config_setting_type(s) == CONFIG_TYPE_GROUP) {
                        walk(l, s, path, file, t, n, base, seen, label);
                        continue;
                }
                was = &seen[def - t];
                if (was->file && def->kind != KEY_SECTION) {
                        add_error(l, file, line_of(s), "%s already set at %s:%d", full, was->file,
                                  was->line);
                        continue;
                }
                *was = (Seen){ .file = file, .line = line_of(s) };
                r = config_key_apply(def, s, base, full, &msg);
                if (r == -ENOMEM)
                        l->oom = true;
                else if (r < 0)
                        add_error(l, file, line_of(s), "%s", msg);
        }
}

static bool has_include(const char *text, int *ret_line) {
        int line = 1;

        for (const char *p = text; *p; line++) {
                p += strspn(p, " \t");
                if (strneq(p, "@include", 8)) {
                        *ret_line = line;
                        return true;
                }
                p = strchrnul(p, '\n');
                if (*p)
                        p++;
        }
        return false;
}

/* Parses text as source src; syntax errors are reported, not fatal to the others. */
/* Reports every integer libconfig would wrap; true if there was one. */
static bool has_wrapped_integers(Loader *l, const Source *src, const char *text) {
        const char *p = text, *lit;
        size_t len;
        int line = 1;
        bool found = false;

        while ((p = config_find_wrapped_integer(p, &line, &lit, &len))) {
                add_error(l, src->file, line,
                          "%.*s is out of range: an integer must lie between -2147483648 and "
                          "2147483647 (hex up to 0x7FFFFFFF) unless it ends in L",
                          (int) MIN(len, (size_t) 64), lit);
                found = true;
        }
        return found;
}

static void source_parse(Loader *l, Source *src, const char *text) {
        int line;

        config_init(&src->cfg);
        src->inited = true;
        if (has_include(text, &line)) {
                add_error(l, src->file, line,
                          "@include is not supported: put extra files in conf.d/ beside the "
                          "main file");
                return;
        }
        /* Parsed anyway, such a value would be silently wrong (0 for 4294967296). */
        if (has_wrapped_integers(l, src, text))
                return;
        if (config_read_string(&src->cfg, text) != CONFIG_TRUE) {
                const char *why = strempty(config_error_text(&src->cfg));
                /* libconfig does not say which: the line it gives is the second one. */
                ConfigScanResult scan;

                if (streq(why, "duplicate setting name"))
                        why = "duplicate setting name: this key or group is already set above in "
                              "the same file (merge them)";
                /* libconfig 1.5 says only "syntax error": our own scanner says which. */
                if (streq(why, "syntax error") && config_scan(text, strlen(text), &scan) > 0)
                        add_error(l, src->file, scan.line, "syntax error: %s", scan.message);
                else
                        add_error(l, src->file, config_error_line(&src->cfg), "%s", why);
                return;
        }
        src->parsed = true;
}

static char **strv_new(const char *a, const char *b) {
        char **l = calloc(3, sizeof(char *));

        if (!l)
                return NULL;
        if ((a && !(l[0] = strdup(a))) || (b && !(l[1] = strdup(b))))
                return strv_free(l), NULL;
        return l;
}

static int config_set_defaults(Config *c, const char *path) {
        c->imds = (ImdsConfig){ .endpoint = strdup("http://169.254.169.254"),
                                .token_ttl = 21600,
                                .timeout_ms = 1000,
                                .retries = 3 };
        c->aws = (AwsConfig){ .region = strdup(""),
                              .endpoint_autoscaling = strdup(""),
                              .endpoint_ec2 = strdup(""),
                              .endpoint_cloudwatch = strdup(""),
                              .ca_file = strdup(""),
                              .timeout_ms = 10000,
                              .max_attempts = 3 };
        c->plugins = (PluginDefaults){ .user = strdup("drover"),
                                       .group = strdup("drover"),
                                       .timeout = 10,
                                       .kill_grace = 2,
                                       .max_output = 65536,
                                       .concurrency = 4,
                                       .timeout_state = NAGIOS_CRITICAL };
        c->policy = (PolicyConfig){ .grace_period = 300,
                                    .action = REPLACE_SET_UNHEALTHY,
                                    .max_unhealthy = { true, 10 },
                                    .max_replacements_per_hour = { true, 25 },
                                    .jitter = 5,
                                    .standalone_action = REPLACE_NONE,
                                    .confirm_interval = 60,
                                    .hold_backoff_max = 900 };
        c->metrics = (MetricsConfig){ .enabled = true,
                                      .namespace = strdup("Drover"),
                                      .interval = 60,
                                      .buffer_max = 10000,
                                      .sinks = strv_new("cloudwatch", NULL),
                                      .statsd = strdup("127.0.0.1:8125"),
                                      .statsd_prefix = strdup("drover"),
                                      .statsd_tags = STATSD_TAGS_NONE };
        c->hooks = (HooksConfig){ .dir = strdup(SYSCONFDIR "/drover/hooks.d"),
                                  .timeout = 300,
                                  .heartbeat_interval = 60,
                                  .terminate_hook_name = strdup(""),
                                  .launch_hook_name = strdup(""),
                                  .poll_interval = 5,
                                  .launch_timeout = 600,
                                  .replace_on = strv_new("instance-retirement", "instance-stop") };
        c->status.group = strdup("");
        c->http = (HttpConfig){ .listen = strv_new(NULL, NULL), .allow = strv_new(NULL, NULL) };
        c->path = strdup(path);
        if (!c->imds.endpoint || !c->aws.region || !c->aws.endpoint_autoscaling ||
            !c->aws.endpoint_ec2 || !c->aws.endpoint_cloudwatch || !c->aws.ca_file ||
            !c->plugins.user || !c->plugins.group || !c->metrics.namespace || !c->metrics.sinks ||
            !c->metrics.statsd || !c->metrics.statsd_prefix || !c->hooks.dir ||
            !c->hooks.terminate_hook_name || !c->hooks.launch_hook_name || !c->hooks.replace_on ||
            !c->status.group || !c->http.listen || !c->http.allow || !c->path)
                return -ENOMEM;
        return 0;
}

static int check_set_defaults(CheckConfig *k, const PluginDefaults *p, const char *file, int line) {
        *k = (CheckConfig){
                .name = strdup(""),
                .role = CHECK_ROLE_LIVENESS,
                .command = strv_new(NULL, NULL),
                .interval = 30,
                .timeout = p->timeout,
                .kill_grace = p->kill_grace,
                .fall = 3,
                .rise = 2,
                .user = strdup(p->user),
                .group = strdup(p->group),
                .max_output = p->max_output,
                .timeout_state = p->timeout_state,
                .remediate = { .restart_unit = strdup(""),
                               .exec = strv_new(NULL, NULL),
                               .attempts = 2,
                               .window = 3600,
                               .backoff = 30,
                               .delay = 10 },
                .file = strdup(file),
                .line = line,
        };
        if (!k->name || !k->command || !k->user || !k->group || !k->remediate.restart_unit ||
            !k->remediate.exec || !k->file)
                return -ENOMEM;
        return 0;
}

static bool check_name_valid(const char *s) {
        size_t n = strlen(s);

        return n >= 1 && n <= 64 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_.-") == n;
}

/*
 * A program a check runs: present and executable (config-test), trusted (as root): its
 * whole path walked as it will be before every run (base/exec-verify.h).
 */
static void check_program(Loader *l, const char *file, int line, const char *label,
                          const char *path) {
        char why[EXEC_VERIFY_WHY_MAX];
        ExecTarget t;
        int r;

        if (!(l->flags & (CONFIG_LOAD_CHECK_EXECUTABLES | CONFIG_LOAD_REQUIRE_TRUSTED)))
                return;
        r = exec_verify_target(path, &t, why);
        if (r >= 0) {
                safe_close(t.fd);
                return;
        }
        if (r == -ENOMEM)
                l->oom = true;
        else if (r == -EPERM && (l->flags & CONFIG_LOAD_REQUIRE_TRUSTED))
                add_error(l, file, line, "%srefusing to run %s: %s", label, path, why);
        else if (r == -EPERM || !(l->flags & CONFIG_LOAD_CHECK_EXECUTABLES))
                return; /* not root: ownership is not judged; missing: reported when run */
        else if (r == -ENOENT && !strstr(why, "interpreter"))
                add_error(l, file, line, "%scannot run %s: %s", label, path, strerror(ENOENT));
        else if (r == -EACCES)
                add_error(l, file, line, "%s%s %s", label, path,
                          strstr(why, "executable") ? "is not executable"
                                                    : "is not a regular file");
        else
                add_error(l, file, line, "%scannot run %s: %s", label, path, why);
}

/* Stands for a user taken from plugins.user, which was checked there already. */
static const Seen inherited = { .file = "", .line = 0 };

/* Where path was set; with or_inherited, an unset key counts as inherited. */
static const Seen *seen_key(const Seen *seen, const KeyDef *t, size_t n, const char *path,
                            bool or_inherited) {
        const Seen *s = &seen[config_key_find(t, n, path) - t];

        return s->file || !or_inherited ? s : &inherited;
}

/*
 * user/group of plugins, hooks or a check, resolved to ids (the same rules for a default
 * as for a value written out). what: "plugins." or "check 'a': ", for messages.
 */
/* Validation only: the credentials to run with are resolve_run_as()'s. */
static void resolve_user(Loader *l, const char *what, const char *user, const char *group,
                         const Seen *user_seen, const Seen *group_seen) {
        uid_t uid;
        gid_t gid;
        int r;

        if (isempty(user)) {
                /* A default group goes with the default user; one written out means a user
                 * was meant to run with it. */
                if (!isempty(group) && group_seen->file && group_seen != &inherited)
                        add_error(l, group_seen->file, group_seen->line,
                                  "%sgroup = \"%s\" has no effect without a user: set a user "
                                  "too, or remove the group",
                                  what, group);
                return;
        }
        r = config_resolve_credentials(user, group, &uid, &gid);
        /* Values written out were reported where they stand (config_check_string); a
         * default, or a source that did not parse, is reported here or not at all. */
        if (r == 0 || !l->all_parsed)
                return;
        if (r == -ESRCH && !user_seen->file)
                add_error(l, l->c->path, 0,
                          "%suser is \"%s\" by default, and no such user exists: create it (the "
                          "packages do) or set %suser = \"\" to run as drover's own user",
                          what, user, what);
        else if (r == -ENXIO && !group_seen->file)
                add_error(l, l->c->path, 0,
                          "%sgroup is \"%s\" by default, and no such group exists: create it "
                          "(the packages do) or set %sgroup = \"\" for the user's own group",
                          what, group, what);
}

static void check_validate(Loader *l, const CheckSrc *src, CheckConfig *k, const char *label) {
        const config_setting_t *name = config_setting_get_member(src->s, "name");
        const config_setting_t *cmd = config_setting_get_member(src->s, "command");
        const config_setting_t *rem = config_setting_get_member(src->s, "remediate");
        int line = line_of(src->s);

        if (!name)
                add_error(l, src->file, line, "%sname is missing", label);
        else if (config_setting_type(name) == CONFIG_TYPE_STRING && !check_name_valid(k->name))
                add_error(l, src->file, line_of(name),
                          "%sname must be 1 to 64 letters, digits, '_', '.' or '-'", label);
        if (!cmd)
                add_error(l, src->file, line, "%scommand is missing", label);
        else if (k->command[0]) {
                int cl = line_of(cmd);
                if (k->shell && k->command[1])
                        add_error(l, src->file, cl,
                                  "%swith shell = true, command must be one string (run with "
                                  "/bin/sh -c)",
                                  label);
                else if (!k->shell && config_setting_type(cmd) == CONFIG_TYPE_STRING)
                        add_error(
                                l, src->file, cl,
                                "%scommand must be an array [ \"/path/to/plugin\", \"arg\", ... ] "
                                "(or set shell = true to run a shell command line)",
                                label);
                else if (!k->shell && k->command[0][0] != '/')
                        add_error(l, src->file, cl,
                                  "%scommand must start with an absolute path to the program, "
                                  "not \"%s\"",
                                  label, k->command[0]);
                else if (!k->shell)
                        check_program(l, src->file, cl, label, k->command[0]);
                else if (isempty(k->command[0]))
                        add_error(l, src->file, cl, "%scommand must not be empty", label);
        }
        if (rem) {
                k->has_remediation = !isempty(k->remediate.restart_unit) || k->remediate.exec[0];
                if (config_setting_type(rem) == CONFIG_TYPE_GROUP &&
                    !config_setting_get_member(rem, "restart_unit") &&
                    !config_setting_get_member(rem, "exec"))
                        add_error(l, src->file, line_of(rem),
                                  "%sremediate needs restart_unit or exec", label);
                if (k->has_remediation && k->role == CHECK_ROLE_DEPENDENCY)
                        add_error(l, src->file, line_of(rem),
                                  "%sremediate is not allowed on a dependency check "
                                  "(a dependency is something this instance cannot fix)",
                                  label);
                if (k->remediate.exec[0] && k->remediate.exec[0][0] == '/')
                        check_program(l, src->file, line_of(config_setting_get_member(rem, "exec")),
                                      label, k->remediate.exec[0]);
        }
}

/* Resolved once here: plugins start without NSS lookups. */
static void resolve_run_as(Loader *l, const char *user, const char *group, RunAs *ret) {
        if (run_as_resolve(user, group, ret) < 0)
                l->oom = true;
}

static void build_check(Loader *l, const CheckSrc *src, CheckConfig *k) {
        const config_setting_t *n = config_setting_get_member(src->s, "name");
        const char *name = n ? config_setting_get_string(n) : NULL;
        _cleanup_free_ char *label = NULL;
        _cleanup_free_ Seen *seen = calloc(config_n_check_keys, sizeof(Seen));

        if (!seen || check_set_defaults(k, &l->c->plugins, src->file, line_of(src->s)) < 0) {
                l->oom = true;
                return;
        }
        if ((name && check_name_valid(name) ? asprintf(&label, "check '%s': ", name)
                                            : asprintf(&label, "check #%d: ", src->index)) < 0) {
                l->oom = true;
                return;
        }
        walk(l, src->s, "", src->file, config_check_keys, config_n_check_keys, k, seen, label);
        check_validate(l, src, k, label);
        resolve_user(l, label, k->user, k->group,
                     seen_key(seen, config_check_keys, config_n_check_keys, "user", true),
                     seen_key(seen, config_check_keys, config_n_check_keys, "group", true));
        resolve_run_as(l, k->user, k->group, &k->run_as);
        for (CheckConfig *o = l->c->checks; o < k; o++)
                if (streq(o->name, k->name) && *k->name)
                        add_error(l, src->file, line_of(src->s),
                                  "check '%s' is already defined at %s:%d", k->name, o->file,
                                  o->line);
}

static void sources_free(Source *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (v[i].inited)
                        config_destroy(&v[i].cfg);
                free(v[i].file);
        }
        free(v);
}

/* Merges parsed sources into a Config; every problem lands in errors. */
static int load_sources(Loader *l, const char *path, Config **ret) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));
        _cleanup_free_ Seen *seen = calloc(config_n_global_keys, sizeof(Seen));

        if (!c || !seen || config_set_defaults(c, path) < 0)
                return -ENOMEM;
        l->c = c;
        l->seen = seen;
        l->all_parsed = true;
        for (size_t i = 0; i < l->n_sources; i++)
                l->all_parsed = l->all_parsed && l->sources[i].parsed;
        for (size_t i = 0; i < l->n_sources; i++)
                if (l->sources[i].parsed)
                        walk(l, config_root_setting(&l->sources[i].cfg), "", l->sources[i].file,
                             config_global_keys, config_n_global_keys, c, seen, "");
        if (l->oom)
                return -ENOMEM;
        /* Hooks run as the plugin user unless told otherwise, wherever that was set. */
        if (!seen[config_key_find(config_global_keys, config_n_global_keys, "hooks.user") -
                  config_global_keys]
                     .file) {
                free(c->hooks.user);
                c->hooks.user = strdup(c->plugins.user);
        }
        if (!seen[config_key_find(config_global_keys, config_n_global_keys, "hooks.group") -
                  config_global_keys]
                     .file) {
                free(c->hooks.group);
                c->hooks.group = strdup(c->plugins.group);
        }
        if (!c->hooks.user || !c->hooks.group)
                return -ENOMEM;
        resolve_user(
                l, "plugins.", c->plugins.user, c->plugins.group,
                seen_key(seen, config_global_keys, config_n_global_keys, "plugins.user", false),
                seen_key(seen, config_global_keys, config_n_global_keys, "plugins.group", false));
        resolve_user(l, "hooks.", c->hooks.user, c->hooks.group,
                     seen_key(seen, config_global_keys, config_n_global_keys, "hooks.user", true),
                     seen_key(seen, config_global_keys, config_n_global_keys, "hooks.group", true));
        resolve_run_as(l, c->hooks.user, c->hooks.group, &c->hooks.run_as);
        c->checks = calloc(l->n_checks ? l->n_checks : 1, sizeof(CheckConfig));
        if (!c->checks)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_checks && !l->oom; i++) {
                build_check(l, &l->checks[i], &c->checks[i]);
                c->n_checks = i + 1;
        }
        if (l->oom)
                return -ENOMEM;
        sort_errors(l);
        if (l->failed)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

static void loader_done(Loader *l) {
        sources_free(l->sources, l->n_sources);
        free(l->checks);
}

static int source_add(Loader *l, const char *file, const char *text) {
        Source *v = realloc(l->sources, (l->n_sources + 1) * sizeof(Source));

        if (!v)
                return -ENOMEM;
        l->sources = v;
        v[l->n_sources] = (Source){ .file = strdup(file) };
        if (!v[l->n_sources].file)
                return -ENOMEM;
        source_parse(l, &v[l->n_sources++], text);
        return 0;
}

int config_load_string(const char *text, const char *name, unsigned flags, Config **ret,
                       ConfigErrors *errors) {
        Loader l = { .flags = flags, .errors = errors, .first_error = errors->n };
        int r;

        r = source_add(&l, name, text);
        if (r >= 0)
                r = load_sources(&l, name, ret);
        loader_done(&l);
        return r;
}

static void check_trusted(Loader *l, const char *path) {
        const char *why = NULL;

        if ((l->flags & CONFIG_LOAD_REQUIRE_TRUSTED) && file_check_trusted(path, &why) == -EPERM)
                add_error(l, path, 0, "refusing to use it: %s", why);
}

/* Reads one file into the loader; a file that cannot be read is reported. */
static int read_source(Loader *l, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = read_file_capped(path, CONFIG_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                add_error(l, path, 0, "larger than %d bytes", CONFIG_FILE_MAX);
        else if (r == -EBADFD)
                add_error(l, path, 0, "not a regular file");
        else if (r < 0)
                add_error(l, path, 0, "cannot read: %s", strerror(-r));
        if (r < 0)
                return r;
        check_trusted(l, path);
        if (strlen(text) != len) {
                add_error(l, path, 0, "contains a NUL byte: not a text file");
                return 0;
        }
        return source_add(l, path, text);
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static int dropin_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The *.conf files of dir in name order; a missing dir is none. */
static int list_dropins(Loader *l, const char *dir, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *de;

        if (!names)
                return -ENOMEM;
        d = opendir(dir);
        if (!d && errno != ENOENT)
                add_error(l, dir, 0, "cannot read directory: %s", strerror(errno));
        while (d && (de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char **v;
                if (de->d_name[0] == '.' || len < 6 || !streq(de->d_name + len - 5, ".conf"))
                        continue;
                if (n >= CONFIG_DROPINS_MAX) {
                        add_error(l, dir, 0, "more than %d drop-ins", CONFIG_DROPINS_MAX);
                        break;
                }
                v = realloc(names, (n + 2) * sizeof(char *));
                if (!v)
                        return -ENOMEM;
                names = v;
                if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
                        return names[n] = NULL, -ENOMEM;
                names[++n] = NULL;
        }
        if (d)
                check_trusted(l, dir);
        qsort(names, n, sizeof(char *), dropin_compare);
        *ret = TAKE_PTR(names);
        return 0;
}

int config_load(const char *path, unsigned flags, Config **ret, ConfigErrors *errors) {
        Loader l = { .flags = flags, .errors = errors, .first_error = errors->n };
        _cleanup_free_ char *dir = NULL;
        _cleanup_strv_free_ char **dropins = NULL;
        const char *slash = strrchr(path, '/');
        int r;

        r = read_source(&l, path);
        if (r < 0 && r != -ENOMEM) {
                loader_done(&l);
                return r;
        }
        if (r >= 0) {
                if (slash)
                        r = asprintf(&dir, "%.*s/conf.d", (int) (slash - path), path);
                else
                        r = asprintf(&dir, "conf.d");
                r = r < 0 ? -ENOMEM : list_dropins(&l, dir, &dropins);
        }
        for (char **p = dropins; r >= 0 && p && *p; p++) {
                struct stat st;
                if (stat(*p, &st) == 0 && !S_ISREG(st.st_mode))
                        add_error(&l, *p, 0, "not a regular file");
                else
                        r = read_source(&l, *p) == -ENOMEM ? -ENOMEM : 0;
        }
        if (r >= 0)
                r = load_sources(&l, path, ret);
        loader_done(&l);
        return r;
}

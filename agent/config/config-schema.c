/* SPDX-License-Identifier: MIT */
/* The key tables and the typing/validation of one value. Never logs. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "config/config-schema.h"
#include "base/util.h"

static const EnumName replace_actions[] = {
        { "set-unhealthy", REPLACE_SET_UNHEALTHY },
        { "terminate-in-asg", REPLACE_TERMINATE_IN_ASG },
        { "terminate", REPLACE_TERMINATE },
        { "none", REPLACE_NONE },
        {},
};
static const EnumName standalone_actions[] = {
        { "none", REPLACE_NONE },
        { "terminate", REPLACE_TERMINATE },
        {},
};
static const EnumName nagios_states[] = {
        { "ok", NAGIOS_OK },
        { "warning", NAGIOS_WARNING },
        { "critical", NAGIOS_CRITICAL },
        { "unknown", NAGIOS_UNKNOWN },
        {},
};
static const EnumName roles[] = {
        { "liveness", CHECK_ROLE_LIVENESS },
        { "readiness", CHECK_ROLE_READINESS },
        { "dependency", CHECK_ROLE_DEPENDENCY },
        {},
};
static const EnumName on_failure[] = {
        { "continue", 0 },
        { "abandon", 1 },
        {},
};
static const EnumName metrics_sinks[] = {
        { "cloudwatch", 0 },
        { "statsd", 0 },
        {},
};
static const EnumName statsd_tags[] = {
        { "none", STATSD_TAGS_NONE },
        { "dogstatsd", STATSD_TAGS_DOGSTATSD },
        {},
};
static const EnumName replace_on_events[] = {
        { "rebalance", 0 },
        { "instance-retirement", 0 },
        { "instance-stop", 0 },
        { "system-reboot", 0 },
        { "system-maintenance", 0 },
        { "instance-reboot", 0 },
        {},
};

_Static_assert(sizeof(ReplaceAction) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(CheckRole) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(NagiosStatus) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(StatsdTags) == sizeof(int), "enums are stored as int");

#define C(f) offsetof(Config, f)
#define SECTION(p)                                                                                 \
        { p, KEY_SECTION, 0, 0, 0, NULL, KC_NONE }
#define STR(p, f, chk)                                                                             \
        { p, KEY_STRING, C(f), 0, 0, NULL, chk }
#define BOOL(p, f)                                                                                 \
        { p, KEY_BOOL, C(f), 0, 0, NULL, KC_NONE }
#define UINT(p, f, lo, hi)                                                                         \
        { p, KEY_UINT, C(f), lo, hi, NULL, KC_NONE }
#define SIZE(p, f, lo, hi)                                                                         \
        { p, KEY_SIZE, C(f), lo, hi, NULL, KC_NONE }
#define DUR(p, f, lo, hi)                                                                          \
        { p, KEY_DURATION, C(f), lo, hi, NULL, KC_NONE }
#define ENUM(p, f, t)                                                                              \
        { p, KEY_ENUM, C(f), 0, 0, t, KC_NONE }

const KeyDef config_global_keys[] = {
        SECTION("imds"),
        STR("imds.endpoint", imds.endpoint, KC_IMDS_URL),
        UINT("imds.token_ttl", imds.token_ttl, 1, 21600),
        UINT("imds.timeout_ms", imds.timeout_ms, 1, 60000),
        UINT("imds.retries", imds.retries, 0, 10),
        BOOL("imds.allow_v1", imds.allow_v1),

        SECTION("aws"),
        STR("aws.region", aws.region, KC_REGION),
        SECTION("aws.endpoints"),
        STR("aws.endpoints.autoscaling", aws.endpoint_autoscaling, KC_AWS_URL),
        STR("aws.endpoints.ec2", aws.endpoint_ec2, KC_AWS_URL),
        STR("aws.endpoints.cloudwatch", aws.endpoint_cloudwatch, KC_AWS_URL),
        STR("aws.ca_file", aws.ca_file, KC_READABLE_FILE),
        BOOL("aws.fips", aws.fips),
        UINT("aws.timeout_ms", aws.timeout_ms, 100, 300000),
        UINT("aws.max_attempts", aws.max_attempts, 1, 10),

        SECTION("plugins"),
        STR("plugins.user", plugins.user, KC_USER),
        STR("plugins.group", plugins.group, KC_GROUP),
        DUR("plugins.timeout", plugins.timeout, 0.1, 3600),
        DUR("plugins.kill_grace", plugins.kill_grace, 0, 60),
        SIZE("plugins.max_output", plugins.max_output, 256, 16777216),
        UINT("plugins.concurrency", plugins.concurrency, 1, 64),
        ENUM("plugins.timeout_state", plugins.timeout_state, nagios_states),

        SECTION("policy"),
        DUR("policy.grace_period", policy.grace_period, 0, 86400),
        ENUM("policy.action", policy.action, replace_actions),
        BOOL("policy.dry_run", policy.dry_run),
        { "policy.max_unhealthy", KEY_BUDGET, C(policy.max_unhealthy), 0, 100000, NULL, KC_NONE },
        { "policy.max_replacements_per_hour", KEY_BUDGET, C(policy.max_replacements_per_hour), 0,
          100000, NULL, KC_NONE },
        DUR("policy.jitter", policy.jitter, 0, 3600),
        ENUM("policy.standalone_action", policy.standalone_action, standalone_actions),
        DUR("policy.confirm_interval", policy.confirm_interval, 1, 3600),
        DUR("policy.hold_backoff_max", policy.hold_backoff_max, 1, 86400),

        SECTION("metrics"),
        BOOL("metrics.enabled", metrics.enabled),
        STR("metrics.namespace", metrics.namespace, KC_NAMESPACE),
        DUR("metrics.interval", metrics.interval, 1, 3600),
        BOOL("metrics.high_resolution", metrics.high_resolution),
        BOOL("metrics.per_instance", metrics.per_instance),
        SIZE("metrics.buffer_max", metrics.buffer_max, 1, 1000000),
        { "metrics.sinks", KEY_STRV, C(metrics.sinks), 0, 0, metrics_sinks, KC_NONE },
        STR("metrics.statsd", metrics.statsd, KC_STATSD_ADDR),
        STR("metrics.statsd_prefix", metrics.statsd_prefix, KC_STATSD_PREFIX),
        ENUM("metrics.statsd_tags", metrics.statsd_tags, statsd_tags),

        SECTION("hooks"),
        STR("hooks.dir", hooks.dir, KC_ABS_PATH),
        DUR("hooks.timeout", hooks.timeout, 1, 7200),
        DUR("hooks.heartbeat_interval", hooks.heartbeat_interval, 1, 7200),
        SECTION("hooks.lifecycle_hook_names"),
        STR("hooks.lifecycle_hook_names.terminate", hooks.terminate_hook_name, KC_HOOK_NAME),
        STR("hooks.lifecycle_hook_names.launch", hooks.launch_hook_name, KC_HOOK_NAME),
        { "hooks.on_failure", KEY_ENUM_BOOL, C(hooks.abandon_on_failure), 0, 0, on_failure,
          KC_NONE },
        STR("hooks.user", hooks.user, KC_USER),
        STR("hooks.group", hooks.group, KC_GROUP),
        DUR("hooks.poll_interval", hooks.poll_interval, 0.5, 300),
        DUR("hooks.launch_timeout", hooks.launch_timeout, 1, 86400),
        { "hooks.replace_on", KEY_STRV, C(hooks.replace_on), 0, 0, replace_on_events, KC_NONE },

        SECTION("http"),
        { "http.listen", KEY_STRV, C(http.listen), 0, 0, NULL, KC_LISTEN },
        { "http.allow", KEY_STRV, C(http.allow), 0, 0, NULL, KC_CIDR },
        DUR("http.drain_delay", http.drain_delay, 0, 3600),

        SECTION("status"),
        STR("status.group", status.group, KC_GROUP),

        /* The loader collects the list itself; the row is here for "did you mean". */
        SECTION("checks"),
};
const size_t config_n_global_keys = ELEMENTSOF(config_global_keys);

#undef C
#define C(f) offsetof(CheckConfig, f)

const KeyDef config_check_keys[] = {
        STR("name", name, KC_NONE),
        ENUM("role", role, roles),
        { "command", KEY_COMMAND, C(command), 0, 0, NULL, KC_NONE },
        BOOL("shell", shell),
        DUR("interval", interval, 1, 86400),
        DUR("timeout", timeout, 0.1, 3600),
        DUR("kill_grace", kill_grace, 0, 60),
        UINT("fall", fall, 1, 100),
        UINT("rise", rise, 1, 100),
        STR("user", user, KC_USER),
        STR("group", group, KC_GROUP),
        SIZE("max_output", max_output, 256, 16777216),
        ENUM("timeout_state", timeout_state, nagios_states),
        SECTION("remediate"),
        STR("remediate.restart_unit", remediate.restart_unit, KC_UNIT),
        { "remediate.exec", KEY_STRV, C(remediate.exec), 0, 0, NULL, KC_ARGV },
        UINT("remediate.attempts", remediate.attempts, 0, CONFIG_MAX_REMEDY_ATTEMPTS),
        DUR("remediate.window", remediate.window, 1, 604800),
        DUR("remediate.backoff", remediate.backoff, 0, 86400),
        DUR("remediate.delay", remediate.delay, 0, 3600),
        DUR("remediate.settle", remediate.settle, 0, 86400),
};
const size_t config_n_check_keys = ELEMENTSOF(config_check_keys);

const KeyDef *config_key_find(const KeyDef *table, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (streq(table[i].path, path))
                        return &table[i];
        return NULL;
}

/* Levenshtein distance, capped: names are short and a suggestion is only for typos. */
static unsigned edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[65];

        if (la > 64 || lb > 64)
                return 99;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];
                row[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + (a[i - 1] != b[j - 1]);
                        best = MIN(best, up + 1);
                        best = MIN(best, row[j - 1] + 1);
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

const char *config_key_suggest(const KeyDef *table, size_t n, const char *path) {
        const char *dot = strrchr(path, '.');
        size_t plen = dot ? (size_t) (dot - path) + 1 : 0;
        const char *best = NULL;
        unsigned best_d = 3;

        for (size_t i = 0; i < n; i++) {
                const char *k = table[i].path;
                if (strlen(k) <= plen || !strneq(k, path, plen) || strchr(k + plen, '.'))
                        continue;
                unsigned d = edit_distance(path + plen, k + plen);
                if (d < best_d) {
                        best_d = d;
                        best = k + plen;
                }
        }
        return best;
}

const char *config_type_name(int type) {
        switch (type) {
        case CONFIG_TYPE_GROUP:
                return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a decimal number";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        default:
                return "nothing";
        }
}

bool config_string_printable(const char *s, bool allow_newlines) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < 0x20 && !(allow_newlines && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
                        return false;
        return true;
}

static bool is_integer(const config_setting_t *s) {
        int t = config_setting_type(s);
        return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static int fail(char **ret_msg, const char *fmt, ...) _printf_(2, 3);
static int fail(char **ret_msg, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret_msg, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : -EINVAL;
}

static const char *enum_choices(const EnumName *t, char *buf, size_t bufsz) {
        size_t used = 0;

        buf[0] = 0;
        for (; t->name && used < bufsz; t++)
                used += (size_t) snprintf(buf + used, bufsz - used, "%s%s", used ? ", " : "",
                                          t->name);
        return buf;
}

static const EnumName *enum_lookup(const EnumName *t, const char *v) {
        for (; t->name; t++)
                if (strcasecmp(t->name, v) == 0)
                        return t;
        return NULL;
}

static int apply_string(const KeyDef *def, const char *v, char **field, const char *label,
                        char **ret_msg) {
        char buf[512];
        _cleanup_free_ char *copy = NULL;
        const char *why;

        if (strlen(v) > CONFIG_STRING_MAX)
                return fail(ret_msg, "%s is longer than %d characters", label, CONFIG_STRING_MAX);
        if (!config_string_printable(v, false))
                return fail(ret_msg, "%s contains control characters", label);
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        why = config_check_string(def->check, copy, buf, sizeof(buf));
        if (why)
                return fail(ret_msg, "%s %s, not \"%s\"", label, why, v);
        free(*field);
        *field = TAKE_PTR(copy);
        return 0;
}

static int apply_budget(const KeyDef *def, const config_setting_t *s, Budget *b, const char *label,
                        char **ret_msg) {
        const char *v;
        char *end;
        unsigned long n;

        if (is_integer(s)) {
                long long i = config_setting_get_int64(s);
                if (i < 0 || i > (long long) def->max)
                        return fail(ret_msg, "%s must be a count between 0 and %.0f, not %lld",
                                    label, def->max, i);
                *b = (Budget){ .percent = false, .value = (unsigned) i };
                return 0;
        }
        v = config_setting_get_string(s);
        if (!v || !isdigit((unsigned char) v[0]) || strlen(v) > 8)
                goto bad;
        n = strtoul(v, &end, 10);
        if (streq(end, "%")) {
                if (n < 1 || n > 100)
                        return fail(ret_msg,
                                    "%s must be between 1%% and 100%% (or the count 0 to never "
                                    "replace), not \"%s\"",
                                    label, v);
                *b = (Budget){ .percent = true, .value = (unsigned) n };
                return 0;
        }
        if (*end || n > (unsigned long) def->max)
                goto bad;
        *b = (Budget){ .percent = false, .value = (unsigned) n };
        return 0;
bad:
        if (v)
                return fail(ret_msg,
                            "%s must be a count like 2 or a percentage like \"10%%\", not \"%s\"",
                            label, v);
        return fail(ret_msg, "%s must be a count like 2 or a percentage like \"10%%\", not %s",
                    label, config_type_name(config_setting_type(s)));
}

static int apply_strv(const KeyDef *def, const config_setting_t *s, char ***field,
                      const char *label, char **ret_msg) {
        int t = config_setting_type(s), n = config_setting_length(s);
        _cleanup_strv_free_ char **l = NULL;
        char buf[512];

        if (def->kind == KEY_COMMAND && t == CONFIG_TYPE_STRING) {
                const char *v = config_setting_get_string(s);
                if (strlen(v) > CONFIG_STRING_MAX || !config_string_printable(v, true))
                        return fail(ret_msg, "%s is too long or contains control characters",
                                    label);
                l = calloc(2, sizeof(char *));
                if (!l || !(l[0] = strdup(v)))
                        return -ENOMEM;
                goto done;
        }
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
                return fail(ret_msg, "%s must be an array of strings like [ \"a\", \"b\" ], not %s",
                            label, config_type_name(t));
        if (n > CONFIG_ARRAY_MAX)
                return fail(ret_msg, "%s has more than %d elements", label, CONFIG_ARRAY_MAX);
        if (n == 0 && def->kind == KEY_COMMAND)
                return fail(ret_msg, "%s must not be empty", label);
        l = calloc((size_t) n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
                const char *v = config_setting_get_string(e);
                if (!v)
                        return fail(ret_msg, "%s must contain only strings, element %d is %s",
                                    label, i + 1, config_type_name(config_setting_type(e)));
                if (strlen(v) > CONFIG_STRING_MAX || !config_string_printable(v, false))
                        return fail(ret_msg,
                                    "%s: element %d is too long or contains control "
                                    "characters",
                                    label, i + 1);
                if (def->names && !enum_lookup(def->names, v))
                        return fail(ret_msg, "%s: \"%s\" is not one of %s", label, v,
                                    enum_choices(def->names, buf, sizeof(buf)));
                if (def->names)
                        for (int j = 0; j < i; j++)
                                if (strcasecmp(l[j], v) == 0)
                                        return fail(ret_msg, "%s lists \"%s\" twice", label, v);
                if (i == 0 && def->check == KC_ARGV && v[0] != '/')
                        return fail(ret_msg,
                                    "%s must start with an absolute path to the program, "
                                    "not \"%s\"",
                                    label, v);
                if (!(l[i] = strdup(v)))
                        return -ENOMEM;
                if (def->check != KC_NONE && def->check != KC_ARGV) {
                        const char *why = config_check_string(def->check, l[i], buf, sizeof(buf));
                        if (why)
                                return fail(ret_msg, "%s: element %d %s, not \"%s\"", label, i + 1,
                                            why, v);
                }
        }
done:
        strv_free(*field);
        *field = TAKE_PTR(l);
        return 0;
}

int config_key_apply(const KeyDef *def, const config_setting_t *s, void *base, const char *label,
                     char **ret_msg) {
        char *field = (char *) base + def->offset, buf[512];
        int t = config_setting_type(s);
        const EnumName *e;
        long long i;
        double d;

        switch (def->kind) {
        case KEY_SECTION:
                return fail(ret_msg, "%s must be a group { ... }, not %s", label,
                            config_type_name(t));
        case KEY_STRING:
                if (t != CONFIG_TYPE_STRING)
                        return fail(ret_msg, "%s must be a string, not %s", label,
                                    config_type_name(t));
                return apply_string(def, config_setting_get_string(s), (char **) field, label,
                                    ret_msg);
        case KEY_BOOL:
                if (t != CONFIG_TYPE_BOOL)
                        return fail(ret_msg, "%s must be true or false, not %s", label,
                                    config_type_name(t));
                *(bool *) field = config_setting_get_bool(s);
                return 0;
        case KEY_UINT:
        case KEY_SIZE:
                if (!is_integer(s))
                        return fail(ret_msg, "%s must be an integer, not %s", label,
                                    config_type_name(t));
                i = config_setting_get_int64(s);
                if (i < (long long) def->min || i > (long long) def->max)
                        return fail(ret_msg, "%s must be between %.0f and %.0f, not %lld", label,
                                    def->min, def->max, i);
                if (def->kind == KEY_UINT)
                        *(unsigned *) field = (unsigned) i;
                else
                        *(size_t *) field = (size_t) i;
                return 0;
        case KEY_DURATION:
                if (is_integer(s))
                        d = (double) config_setting_get_int64(s);
                else if (t == CONFIG_TYPE_FLOAT)
                        d = config_setting_get_float(s);
                else
                        return fail(ret_msg, "%s must be a number of seconds, not %s", label,
                                    config_type_name(t));
                if (!(d >= def->min && d <= def->max))
                        return fail(ret_msg, "%s must be between %g and %g seconds, not %g", label,
                                    def->min, def->max, d);
                *(double *) field = d;
                return 0;
        case KEY_ENUM:
        case KEY_ENUM_BOOL:
                if (t != CONFIG_TYPE_STRING)
                        return fail(ret_msg, "%s must be one of %s; not %s", label,
                                    enum_choices(def->names, buf, sizeof(buf)),
                                    config_type_name(t));
                e = enum_lookup(def->names, config_setting_get_string(s));
                if (!e)
                        return fail(ret_msg, "%s must be one of %s; not \"%s\"", label,
                                    enum_choices(def->names, buf, sizeof(buf)),
                                    config_setting_get_string(s));
                if (def->kind == KEY_ENUM)
                        *(int *) field = e->value;
                else
                        *(bool *) field = e->value != 0;
                return 0;
        case KEY_BUDGET:
                return apply_budget(def, s, (Budget *) field, label, ret_msg);
        case KEY_STRV:
        case KEY_COMMAND:
                return apply_strv(def, s, (char ***) field, label, ret_msg);
        }
        return -EINVAL;
}

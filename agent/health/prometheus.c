/* SPDX-License-Identifier: MIT */
/* The Prometheus text format from the status document. Pure. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/macro.h"
#include "base/metric-name.h"
#include "health/prometheus.h"

typedef struct Out {
        FILE *f;
        char common[1024]; /* group="..",instance_id=".." */
} Out;

/* value * mul / div: a division for the sub-units, so 9 ms is exactly 9 / 1000 s, the
 * value a reader computes from the status document's milliseconds. */
static const struct {
        const char *uom;
        double mul, div;
        const char *label;
} units[] = {
        { "s", 1, 1, "seconds" },
        { "ms", 1, 1e3, "seconds" },
        { "us", 1, 1e6, "seconds" },
        { "%", 1, 1, "percent" },
        { "B", 1, 1, "bytes" },
        { "KB", 1024.0, 1, "bytes" },
        { "MB", 1048576.0, 1, "bytes" },
        { "GB", 1073741824.0, 1, "bytes" },
        { "TB", 1099511627776.0, 1, "bytes" },
        { "c", 1, 1, "counter" },
        { "", 1, 1, "" },
};

double prometheus_base_value(const char *uom, double value, char *label, size_t size) {
        const char *u = strempty(uom);
        size_t n = strlen(u);
        bool bytes = n >= 1 && n <= 2 && (u[n - 1] == 'b' || u[n - 1] == 'B');

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                /* Byte units in any case ("kB", "Kb" seen in the wild); the others exact. */
                if (bytes ? strcasecmp(units[i].uom, u) == 0 : streq(units[i].uom, u)) {
                        snprintf(label, size, "%s", units[i].label);
                        return value * units[i].mul / units[i].div;
                }
        if (metric_name_sanitize(u, label, size) < 0)
                snprintf(label, size, "unknown");
        return value;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p) {
        size_t n = p[0] < 0x80             ? 1
                   : (p[0] & 0xe0) == 0xc0 ? 2
                   : (p[0] & 0xf0) == 0xe0 ? 3
                   : (p[0] & 0xf8) == 0xf0 ? 4
                                           : 0;

        if (n == 2 && p[0] < 0xc2)
                return 0; /* overlong */
        for (size_t i = 1; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

/* A label value: \ " and newline escaped, other controls and broken UTF-8 as '?'. */
static void put_value(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) strempty(s);

        while (*p) {
                size_t n = utf8_len(p);
                if (*p == '\\' || *p == '"')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (n == 0 || *p < 0x20 || *p == 0x7f)
                        fputc('?', f);
                else
                        fwrite(p, 1, n, f);
                p += n ? n : 1;
        }
}

static void put_label(FILE *f, const char *name, const char *value) {
        fprintf(f, ",%s=\"", name);
        put_value(f, value);
        fputc('"', f);
}

/* The shortest of %.15g..%.17g that reads back as the same double: 0.009, not
 * 0.0089999999999999993. */
static void put_number(FILE *f, double v) {
        char buf[40];

        for (int digits = 15; digits <= 17; digits++) {
                snprintf(buf, sizeof(buf), "%.*g", digits, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        fputs(buf, f);
}

static void family(Out *o, const char *name, const char *type, const char *help) {
        fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{common[,k=v...]} value; labels is NULL-terminated pairs. */
static void sample(Out *o, const char *name, const char *const *labels, double v) {
        fprintf(o->f, "%s{%s", name, o->common);
        for (size_t i = 0; labels && labels[i]; i += 2)
                put_label(o->f, labels[i], labels[i + 1]);
        fputs("} ", o->f);
        put_number(o->f, v);
        fputc('\n', o->f);
}

static const char *str_of(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static void bool_family(Out *o, const json_t *http, const char *key, const char *name,
                        const char *help) {
        json_t *v = json_object_get(http, key);

        if (!json_is_boolean(v))
                return;
        family(o, name, "gauge", help);
        sample(o, name, NULL, json_is_true(v));
}

static void checks_number(Out *o, const json_t *checks, const char *name, const char *type,
                          const char *help, const char *key, double divisor) {
        size_t i;
        json_t *c;
        bool first = true;

        json_array_foreach(checks, i, c) {
                json_t *v = json_object_get(c, key);
                const char *labels[] = { "check", str_of(c, "name"), "role", str_of(c, "role"),
                                         NULL };
                double d = json_is_string(v) ? streq(json_string_value(v), "passing")
                                             : json_number_value(v) / divisor;
                if (!v || json_is_null(v) || !labels[1])
                        continue;
                if (first)
                        family(o, name, type, help);
                first = false;
                sample(o, name, labels, d);
        }
}

static void check_results(Out *o, const json_t *checks) {
        static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
        bool first = true;
        size_t i;
        json_t *c;

        json_array_foreach(checks, i, c) {
                json_t *res = json_object_get(c, "results");
                for (size_t k = 0; json_is_object(res) && k < ELEMENTSOF(names); k++) {
                        const char *labels[] = { "check",  str_of(c, "name"),
                                                 "role",   str_of(c, "role"),
                                                 "status", names[k],
                                                 NULL };
                        json_t *v = json_object_get(res, names[k]);
                        if (!json_is_integer(v) || !labels[1])
                                continue;
                        if (first)
                                family(o, "drover_check_results_total", "counter",
                                       "Check results by Nagios status since drover started.");
                        first = false;
                        sample(o, "drover_check_results_total", labels,
                               (double) json_integer_value(v));
                }
        }
}

/* Whether perfdata entry k of the array repeats an earlier (label, uom). */
static bool perfdata_seen(const json_t *pd, size_t k, const char *label, const char *uom) {
        for (size_t j = 0; j < k; j++) {
                const json_t *e = json_array_get(pd, j);
                char a[64], b[64];
                if (!streq(strempty(str_of(e, "label")), label))
                        continue;
                (void) prometheus_base_value(str_of(e, "uom"), 0, a, sizeof(a));
                (void) prometheus_base_value(uom, 0, b, sizeof(b));
                if (streq(a, b))
                        return true;
        }
        return false;
}

static void perfdata(Out *o, const json_t *checks) {
        bool first = true;
        size_t i, k;
        json_t *c, *e;

        json_array_foreach(checks, i, c) {
                json_t *pd = json_object_get(c, "perfdata");
                json_array_foreach(pd, k, e) {
                        const char *label = str_of(e, "label"), *uom = str_of(e, "uom");
                        json_t *v = json_object_get(e, "value");
                        char unit[64];
                        double base = prometheus_base_value(uom, json_number_value(v), unit,
                                                            sizeof(unit));
                        const char *labels[] = {
                                "check", str_of(c, "name"), "label", label, "uom", unit, NULL
                        };
                        /* Duplicate series are invalid: the first of a (label, unit) wins. */
                        if (!json_is_number(v) || !label || !labels[1] ||
                            perfdata_seen(pd, k, label, uom))
                                continue;
                        if (first)
                                family(o, "drover_perfdata", "gauge",
                                       "Last perfdata value of each check, in base units.");
                        first = false;
                        sample(o, "drover_perfdata", labels, base);
                }
        }
}

static void counter(Out *o, const json_t *obj, const char *key, const char *name,
                    const char *help) {
        json_t *v = json_object_get(obj, key);

        if (!json_is_integer(v))
                return;
        family(o, name, "counter", help);
        sample(o, name, NULL, (double) json_integer_value(v));
}

static void common_labels(Out *o, const json_t *status) {
        FILE *f = fmemopen(o->common, sizeof(o->common) - 1, "w");
        const char *id = str_of(json_object_get(status, "instance"), "instance_id");

        if (!f)
                return;
        fputs("group=\"", f);
        put_value(f, str_of(status, "group"));
        fputs("\",instance_id=\"", f);
        put_value(f, id);
        fputc('"', f);
        fclose(f);
}

static void render(Out *o, const json_t *status) {
        const json_t *checks = json_object_get(status, "checks");
        const json_t *http = json_object_get(status, "http");
        const json_t *counters = json_object_get(status, "counters");
        const char *verdict = str_of(json_object_get(status, "heal"), "verdict");
        const char *version[] = { "version", str_of(status, "version"), NULL };

        family(o, "drover_info", "gauge", "drover's version, group and instance.");
        sample(o, "drover_info", version, 1);
        bool_family(o, http, "serving", "drover_health_serving",
                    "1 when GET /health answers 200: live, ready and not draining.");
        bool_family(o, http, "live", "drover_health_live", "1 when no liveness check failed.");
        bool_family(o, http, "ready", "drover_health_ready",
                    "1 when every readiness check passes.");
        bool_family(o, http, "draining", "drover_draining",
                    "1 once a termination or replacement drains this instance.");
        if (verdict && !streq(verdict, "unknown")) {
                family(o, "drover_instance_healthy", "gauge",
                       "1 unless the verdict is unhealthy (as the InstanceHealthy metric).");
                sample(o, "drover_instance_healthy", NULL, !streq(verdict, "unhealthy"));
        }
        checks_number(o, checks, "drover_check_status", "gauge",
                      "Last Nagios status of each check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                      "status", 1);
        checks_number(o, checks, "drover_check_passing", "gauge",
                      "1 when the check's hard state is passing (after rise/fall).", "state", 1);
        checks_number(o, checks, "drover_check_duration_seconds", "gauge",
                      "How long the last run of each check took.", "duration_ms", 1000);
        check_results(o, checks);
        perfdata(o, checks);
        counter(o, counters, "remediation_attempted", "drover_remediations_attempted_total",
                "Local remediations (restart, exec) attempted.");
        counter(o, counters, "replacement_requested", "drover_replacements_requested_total",
                "Replacements of this instance asked of the group.");
        counter(o, counters, "replacement_deferred", "drover_replacements_deferred_total",
                "Replacements held back by the fleet guard or a brake.");
        counter(o, counters, "lifecycle_hook_run", "drover_lifecycle_hooks_run_total",
                "hooks.d programs run for lifecycle events.");
        counter(o, json_object_get(status, "metrics"), "dropped", "drover_metrics_dropped_total",
                "CloudWatch samples dropped from a full buffer.");
        if (json_is_number(json_object_get(status, "uptime_s"))) {
                family(o, "drover_uptime_seconds", "gauge", "Seconds since drover started.");
                sample(o, "drover_uptime_seconds", NULL,
                       json_number_value(json_object_get(status, "uptime_s")));
        }
}

int prometheus_render(const json_t *status, char **ret, size_t *ret_len) {
        Out o = {};
        char *buf = NULL;
        size_t len = 0;

        o.f = open_memstream(&buf, &len);
        if (!o.f)
                return -ENOMEM;
        common_labels(&o, status);
        render(&o, status);
        if (fclose(o.f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* The daemon's state as one JSON document, for `drover status` and the tests. */
#include <jansson.h>

#include "checks/check.h"
#include "heal/heal.h"
#include "lifecycle/lifecycle.h"
#include "daemon/manager.h"
#include "checks/monitor.h"
#include "heal/policy.h"
#include "checks/runner.h"
#include "daemon/status.h"
#include "base/util.h"

/* The last perfdata with values and the results so far, for /metrics. */
static void check_extra_json(json_t *o, const Check *c) {
        size_t n;
        const CheckPerfdata *p = check_last_perfdata(c, &n);
        json_t *pd = json_array();

        for (size_t i = 0; pd && i < n; i++)
                json_array_append_new(pd, json_pack("{s:s,s:f,s:s}", "label", p[i].label, "value",
                                                    p[i].value, "uom", p[i].uom));
        json_object_set_new(o, "perfdata", pd ? pd : json_null());
        json_object_set_new(o, "results",
                            json_pack("{s:I,s:I,s:I,s:I}", "OK",
                                      (json_int_t) check_results(c, NAGIOS_OK), "WARNING",
                                      (json_int_t) check_results(c, NAGIOS_WARNING), "CRITICAL",
                                      (json_int_t) check_results(c, NAGIOS_CRITICAL), "UNKNOWN",
                                      (json_int_t) check_results(c, NAGIOS_UNKNOWN)));
}

/* The check's output, cut to what the reply's bound allows for it (status.h). */
static json_t *output_json(const char *out, bool wide, bool *ret_cut) {
        size_t len = strlen(out),
               fit = status_output_fit(out, len, wide ? STATUS_WIDE_OUTPUT_MAX : STATUS_OUTPUT_MAX);

        *ret_cut = fit < len;
        return json_stringn(out, fit);
}

static json_t *check_json(Manager *m, size_t i, uint64_t now, const char *wide) {
        const CheckConfig *cc = monitor_check_config(m->monitor, i);
        const Check *c = monitor_check(m->monitor, i);
        CheckCounters k = check_counters(c);
        uint64_t last = check_last_run(c);
        uint64_t stuck = monitor_check_stuck_since(m->monitor, i);
        const char *out = check_last_output(c);
        bool cut = false;
        json_t *o = output_json(out, wide && streq(wide, cc->name), &cut);

        json_t *d =
                json_pack("{s:s,s:s,s:s,s:b,s:i,s:s,s:o,s:b,s:I,s:I,s:o,s:i,s:i,s:b,s:o}", "name",
                          cc->name, "role", check_role_to_string(cc->role), "state",
                          check_state_to_string(check_state(c)), "soft", check_is_soft(c), "status",
                          (int) check_last_status(c), "status_name",
                          nagios_status_name(check_last_status(c)), "output", o, "output_truncated",
                          cut, "output_bytes", (json_int_t) strlen(out), "duration_ms",
                          (json_int_t) (check_last_duration(c) / USEC_PER_MSEC), "last_run_s_ago",
                          last ? json_real((double) (now - last) / USEC_PER_SEC) : json_null(),
                          "successes", (int) k.successes, "failures", (int) k.failures, "running",
                          monitor_check_running(m->monitor, i), "unkillable_since",
                          stuck ? json_integer((json_int_t) (stuck / USEC_PER_SEC)) : json_null());
        if (d)
                check_extra_json(d, c);
        return d;
}

static json_t *instance_json(Manager *m) {
        if (!m->have_identity)
                return json_pack("{s:b,s:s,s:s}", "known", false, "imds",
                                 !m->imds_error        ? "not-asked"
                                 : m->identity_invalid ? "invalid-document"
                                                       : "unreachable",
                                 "error",
                                 m->imds_error
                                         ? (m->imds_why[0] ? m->imds_why : strerror(m->imds_error))
                                         : "not asked yet");
        return json_pack("{s:b,s:s,s:s,s:s,s:s,s:s}", "known", true, "instance_id",
                         m->identity.instance_id, "region", m->identity.region, "availability_zone",
                         m->identity.availability_zone, "instance_type", m->identity.instance_type,
                         "image_id", m->identity.image_id);
}

json_t *manager_render_status(const char *wide, void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        size_t n = monitor_n_checks(m->monitor);
        json_t *checks = json_array(), *doc;

        for (size_t i = 0; checks && i < n; i++)
                json_array_append_new(checks, check_json(m, i, now, wide));
        doc = json_pack(
                "{s:s,s:i,s:f,s:o,s:{s:s,s:s?},s:o,s:I,s:o}", "version", PACKAGE_VERSION, "pid",
                (int) getpid(), "uptime_s", (double) (now - m->started_usec) / USEC_PER_SEC,
                "instance", instance_json(m), "config", "path", m->config_path, "reload_error",
                m->reload_error, "checks", checks, "grace_left_s",
                (json_int_t) (policy_grace_left_usec(&m->config->policy, now) / USEC_PER_SEC),
                "heal", heal_status_json(m->heal));
        if (!doc)
                return json_pack("{s:s}", "error", "out of memory");
        json_object_set_new(doc, "schema", json_integer(STATUS_SCHEMA));
        json_object_set_new(doc, "time",
                            json_integer((json_int_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC)));
        json_object_set_new(doc, "summary", json_string(m->status_line));
        json_object_set_new(doc, "group",
                            heal_group_name(m->heal) ? json_string(heal_group_name(m->heal))
                                                     : json_null());
        json_object_set_new(doc, "http", manager_http_status_json(m));
        json_object_set_new(doc, "counters",
                            json_pack("{s:I,s:I,s:I,s:I}", "remediation_attempted",
                                      (json_int_t) m->totals[METRICS_REMEDIATION_ATTEMPTED],
                                      "replacement_requested",
                                      (json_int_t) m->totals[METRICS_REPLACEMENT_REQUESTED],
                                      "replacement_deferred",
                                      (json_int_t) m->totals[METRICS_REPLACEMENT_DEFERRED],
                                      "lifecycle_hook_run",
                                      (json_int_t) m->totals[METRICS_LIFECYCLE_HOOK_RUN]));
        if (m->lifecycle)
                json_object_set_new(doc, "lifecycle", lifecycle_status_json(m->lifecycle));
        json_object_set_new(doc, "plugins",
                            json_pack("{s:i,s:i}", "running", (int) runner_n_running(m->runner),
                                      "queued", (int) runner_n_queued(m->runner)));
        if (m->metrics)
                json_object_set_new(doc, "metrics",
                                    json_pack("{s:i,s:I}", "buffered",
                                              (int) metrics_buffered(m->metrics), "dropped",
                                              (json_int_t) metrics_dropped(m->metrics)));
        if (m->statsd)
                json_object_set_new(doc, "statsd",
                                    json_pack("{s:s,s:I,s:I}", "address", statsd_address(m->statsd),
                                              "sent", (json_int_t) statsd_sent(m->statsd),
                                              "dropped", (json_int_t) statsd_dropped(m->statsd)));
        if (m->aws)
                json_object_set_new(doc, "aws",
                                    json_pack("{s:s,s:s,s:I}", "region", aws_region(m->aws),
                                              "credentials", aws_credentials_source(m->aws),
                                              "clock_offset_s",
                                              (json_int_t) aws_clock_offset_sec(m->aws)));
        return doc;
}

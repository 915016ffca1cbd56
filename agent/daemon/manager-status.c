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
#include "base/util.h"

static json_t *check_json(Manager *m, size_t i, uint64_t now) {
        const CheckConfig *cc = monitor_check_config(m->monitor, i);
        const Check *c = monitor_check(m->monitor, i);
        CheckCounters k = check_counters(c);
        uint64_t last = check_last_run(c);
        uint64_t stuck = monitor_check_stuck_since(m->monitor, i);

        return json_pack("{s:s,s:s,s:s,s:b,s:i,s:s,s:s,s:I,s:o,s:i,s:i,s:b,s:o}", "name", cc->name,
                         "role", check_role_to_string(cc->role), "state",
                         check_state_to_string(check_state(c)), "soft", check_is_soft(c), "status",
                         (int) check_last_status(c), "status_name",
                         nagios_status_name(check_last_status(c)), "output", check_last_output(c),
                         "duration_ms", (json_int_t) (check_last_duration(c) / USEC_PER_MSEC),
                         "last_run_s_ago",
                         last ? json_real((double) (now - last) / USEC_PER_SEC) : json_null(),
                         "successes", (int) k.successes, "failures", (int) k.failures, "running",
                         monitor_check_running(m->monitor, i), "unkillable_since",
                         stuck ? json_integer((json_int_t) (stuck / USEC_PER_SEC)) : json_null());
}

static json_t *instance_json(Manager *m) {
        if (!m->have_identity)
                return json_pack("{s:b,s:s}", "known", false, "error",
                                 m->imds_error ? strerror(m->imds_error) : "not asked yet");
        return json_pack("{s:b,s:s,s:s,s:s,s:s,s:s}", "known", true, "instance_id",
                         m->identity.instance_id, "region", m->identity.region, "availability_zone",
                         m->identity.availability_zone, "instance_type", m->identity.instance_type,
                         "image_id", m->identity.image_id);
}

json_t *manager_render_status(void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_usec(CLOCK_BOOTTIME);
        size_t n = monitor_n_checks(m->monitor);
        json_t *checks = json_array(), *doc;

        for (size_t i = 0; checks && i < n; i++)
                json_array_append_new(checks, check_json(m, i, now));
        doc = json_pack(
                "{s:s,s:i,s:f,s:o,s:{s:s,s:s?},s:o,s:I,s:o}", "version", PACKAGE_VERSION, "pid",
                (int) getpid(), "uptime_s", (double) (now - m->started_usec) / USEC_PER_SEC,
                "instance", instance_json(m), "config", "path", m->config_path, "reload_error",
                m->reload_error, "checks", checks, "grace_left_s",
                (json_int_t) (policy_grace_left_usec(&m->config->policy, now) / USEC_PER_SEC),
                "heal", heal_status_json(m->heal));
        if (!doc)
                return json_pack("{s:s}", "error", "out of memory");
        json_object_set_new(doc, "summary", json_string(m->status_line));
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
        if (m->aws)
                json_object_set_new(doc, "aws",
                                    json_pack("{s:s,s:s,s:I}", "region", aws_region(m->aws),
                                              "credentials", aws_credentials_source(m->aws),
                                              "clock_offset_s",
                                              (json_int_t) aws_clock_offset_sec(m->aws)));
        return doc;
}

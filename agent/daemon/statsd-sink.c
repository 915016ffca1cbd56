/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the statsd sink: what each event becomes in statsd, sent at once
 * (statsd aggregates; drover does not buffer for it). The socket never blocks, so a
 * missing or slow collector costs a counter, never a loop iteration.
 */
#include "base/log.h"
#include "checks/plugin.h"
#include "daemon/manager.h"
#include "heal/heal.h"
#include "metrics/statsd.h"

/* The instance-level set under its statsd names: gauges for state, counters for events. */
static const struct {
        const char *name;
        StatsdType type;
} instance_metrics[_METRICS_INSTANCE_METRIC_MAX] = {
        [METRICS_INSTANCE_HEALTHY] = { "instance.healthy", STATSD_GAUGE },
        [METRICS_REMEDIATION_ATTEMPTED] = { "remediation.attempted", STATSD_COUNTER },
        [METRICS_REPLACEMENT_REQUESTED] = { "replacement.requested", STATSD_COUNTER },
        [METRICS_REPLACEMENT_DEFERRED] = { "replacement.deferred", STATSD_COUNTER },
        [METRICS_LIFECYCLE_HOOK_RUN] = { "lifecycle_hook.run", STATSD_COUNTER },
        [METRICS_DROPPED] = { "metrics.dropped", STATSD_COUNTER },
};

int manager_statsd_start(Manager *m) {
        const MetricsConfig *mc = &m->config->metrics;

        if (!config_metrics_sink(m->config, "statsd"))
                return 0;
        return statsd_new(mc->statsd, mc->statsd_prefix, mc->statsd_tags, &m->statsd);
}

static StatsdIdentity statsd_identity(Manager *m) {
        return (StatsdIdentity){
                .asg = heal_group_name(m->heal),
                .instance_id = m->have_identity ? m->identity.instance_id : NULL,
                .per_instance = m->config->metrics.per_instance,
        };
}

static void flush(Manager *m, unsigned refused) {
        uint64_t before = statsd_dropped(m->statsd);

        for (; refused > 0; refused--)
                statsd_count_dropped(m->statsd);
        (void) statsd_flush(m->statsd);
        if (before == 0 && statsd_dropped(m->statsd) > 0)
                log_notice("statsd: dropping metrics sent to %s (nobody listening, or the "
                           "socket buffer is full); counting them in drover status",
                           statsd_address(m->statsd));
}

void manager_statsd_check(Manager *m, const char *check, const PluginResult *res) {
        StatsdIdentity id = statsd_identity(m);
        StatsdPacker *p = statsd_packer(m->statsd);
        unsigned refused = 0;

        if (!m->statsd)
                return;
        refused += statsd_packer_add_check(p, &id, check, res->status,
                                           (double) res->duration_usec / USEC_PER_MSEC) < 0;
        for (size_t k = 0; res->output && k < res->output->n_perfdata; k++) {
                const NagiosPerfdata *pd = &res->output->perfdata[k];
                if (pd->has_value)
                        refused +=
                                statsd_packer_add_perfdata(p, &id, check, pd->label, pd->value) < 0;
        }
        flush(m, refused);
}

void manager_statsd_instance(Manager *m, MetricsInstanceMetric which, double value) {
        StatsdIdentity id = statsd_identity(m);

        if (!m->statsd || which < 0 || which >= _METRICS_INSTANCE_METRIC_MAX)
                return;
        flush(m,
              statsd_packer_add(statsd_packer(m->statsd), &id, NULL, instance_metrics[which].name,
                                value, instance_metrics[which].type) < 0);
}

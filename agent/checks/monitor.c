/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "checks/monitor.h"
#include "base/util.h"

typedef struct Slot {
        Monitor *monitor;
        const CheckConfig *cfg;
        Check *check;
        sd_event_source *timer;
        uint64_t job;          /* runner job id while running */
        bool running;          /* also while a stuck plugin is not reaped */
        uint64_t started_usec; /* CLOCK_BOOTTIME */
        uint64_t stuck_since;  /* CLOCK_REALTIME of the SIGKILL it did not die of; 0 = not */
} Slot;

struct Monitor {
        sd_event *event;
        Runner *runner;
        monitor_result_t cb;
        void *userdata;
        const Config *config;
        Slot **slots; /* pointers, so callbacks keep their Slot across a reload */
        size_t n_slots;
};

static uint64_t secs_to_usec(double s) {
        return s <= 0 ? 0 : (uint64_t) (s * (double) USEC_PER_SEC);
}

static void slot_free(Slot *s) {
        if (!s)
                return;
        if (s->running)
                (void) runner_cancel(s->monitor->runner, s->job);
        sd_event_source_disable_unref(s->timer);
        check_free(s->check);
        free(s);
}

static int slot_arm(Slot *s, uint64_t at_usec);

static void slot_deliver(Slot *s, const PluginResult *result, uint64_t now) {
        Monitor *m = s->monitor;
        const char *msg = result->output ? result->output->message : "";
        size_t i;
        int changed;

        changed = check_record(s->check, result->status, msg, result->duration_usec, now);
        if (changed >= 0)
                (void) check_set_perfdata(s->check,
                                          result->output ? result->output->perfdata : NULL,
                                          result->output ? result->output->n_perfdata : 0);
        /* Next run one interval after this one started, or at once if that has passed. */
        (void) slot_arm(s, MAX(now, s->started_usec + secs_to_usec(s->cfg->interval)));
        for (i = 0; i < m->n_slots && m->slots[i] != s; i++)
                ;
        if (i < m->n_slots)
                m->cb(m, i, result, changed > 0, m->userdata);
}

static void on_result(Runner *r, uint64_t id, PluginResult *result, void *userdata) {
        Slot *s = userdata;

        if (!result) {
                /* The stuck process is gone at last: the next due run starts it again. */
                s->running = false;
                s->stuck_since = 0;
                return;
        }
        if (result->unreaped)
                s->stuck_since = now_usec(CLOCK_REALTIME);
        else
                s->running = false;
        slot_deliver(s, result, now_usec(CLOCK_BOOTTIME));
        plugin_result_free(result);
}

/* Each interval while stuck: the timeout state again, and no second process. */
static void slot_still_stuck(Slot *s) {
        PluginResult res = { .status = s->cfg->timeout_state,
                             .timed_out = true,
                             .unreaped = true,
                             .exit_code = -1 };
        char msg[160];

        snprintf(msg, sizeof(msg),
                 "plugin did not die of SIGKILL %.0f s ago (uninterruptible, a hung mount?); "
                 "not started again until it is gone",
                 (double) (now_usec(CLOCK_REALTIME) - s->stuck_since) / USEC_PER_SEC);
        (void) nagios_output_new_message(msg, &res.output);
        s->started_usec = now_usec(CLOCK_BOOTTIME);
        slot_deliver(s, &res, s->started_usec);
        nagios_output_free(res.output);
}

static int on_due(sd_event_source *src, uint64_t usec, void *userdata) {
        Slot *s = userdata;
        PluginSpec spec;
        int r;

        if (s->stuck_since) {
                slot_still_stuck(s);
                return 0;
        }
        if (s->running)
                return 0;
        plugin_spec_from_check(s->cfg, &spec);
        s->started_usec = now_usec(CLOCK_BOOTTIME);
        r = runner_submit(s->monitor->runner, &spec, on_result, s, &s->job);
        if (r < 0) /* out of memory: try again next interval rather than give up */
                return slot_arm(s, s->started_usec + secs_to_usec(s->cfg->interval)), 0;
        s->running = true;
        return 0;
}

static int slot_arm(Slot *s, uint64_t at_usec) {
        if (s->timer) {
                int r = sd_event_source_set_time(s->timer, at_usec);
                if (r < 0)
                        return r;
                return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        }
        /* 10 ms accuracy: checks need no more, and coalesced wakeups cost less. */
        return sd_event_add_time(s->monitor->event, &s->timer, CLOCK_BOOTTIME, at_usec,
                                 10 * USEC_PER_MSEC, on_due, s);
}

static Slot *slot_new(Monitor *m, const CheckConfig *cfg) {
        Slot *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->monitor = m;
        s->cfg = cfg;
        s->check = check_new(cfg->name, cfg->rise, cfg->fall);
        if (!s->check ||
            slot_arm(s, now_usec(CLOCK_BOOTTIME) +
                                (uint64_t) (random_unit() * (double) secs_to_usec(cfg->interval))) <
                    0) {
                slot_free(s);
                return NULL;
        }
        return s;
}

int monitor_new(sd_event *e, Runner *runner, monitor_result_t cb, void *userdata, Monitor **ret) {
        Monitor *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->runner = runner;
        m->cb = cb;
        m->userdata = userdata;
        *ret = m;
        return 0;
}

Monitor *monitor_free(Monitor *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_slots; i++)
                slot_free(m->slots[i]);
        free(m->slots);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

/* Index of the old slot whose state cc keeps (check_config_keeps_state()), or -1. The
 * name is part of it and unique, so at most one matches. */
static ssize_t find_same(const Monitor *m, const CheckConfig *cc) {
        for (size_t j = 0; j < m->n_slots; j++)
                if (check_config_keeps_state(m->slots[j]->cfg, cc))
                        return (ssize_t) j;
        return -1;
}

int monitor_apply_config(Monitor *m, const Config *c) {
        _cleanup_free_ Slot **slots = calloc(c->n_checks ?: 1, sizeof(Slot *));

        if (!slots)
                return -ENOMEM;
        /* First everything that can fail, so a failure leaves the old set running. */
        for (size_t i = 0; i < c->n_checks; i++)
                if (find_same(m, &c->checks[i]) < 0 && !(slots[i] = slot_new(m, &c->checks[i]))) {
                        for (size_t k = 0; k < i; k++)
                                slot_free(slots[k]);
                        return -ENOMEM;
                }
        for (size_t i = 0; i < c->n_checks; i++) {
                ssize_t j = slots[i] ? -1 : find_same(m, &c->checks[i]);

                if (j >= 0) {
                        slots[i] = m->slots[j];
                        slots[i]->cfg = &c->checks[i];
                        check_set_thresholds(slots[i]->check, c->checks[i].rise, c->checks[i].fall);
                        m->slots[j] = m->slots[--m->n_slots];
                }
        }
        for (size_t j = 0; j < m->n_slots; j++)
                slot_free(m->slots[j]);
        free(m->slots);
        m->slots = TAKE_PTR(slots);
        m->n_slots = c->n_checks;
        m->config = c;
        return 0;
}

size_t monitor_n_checks(const Monitor *m) {
        return m->n_slots;
}

const CheckConfig *monitor_check_config(const Monitor *m, size_t i) {
        return i < m->n_slots ? m->slots[i]->cfg : NULL;
}

const Check *monitor_check(const Monitor *m, size_t i) {
        return i < m->n_slots ? m->slots[i]->check : NULL;
}

bool monitor_check_running(const Monitor *m, size_t i) {
        return i < m->n_slots && m->slots[i]->running;
}

uint64_t monitor_check_stuck_since(const Monitor *m, size_t i) {
        return i < m->n_slots ? m->slots[i]->stuck_since : 0;
}

int monitor_find(const Monitor *m, const char *name) {
        for (size_t i = 0; i < m->n_slots; i++)
                if (streq(m->slots[i]->cfg->name, name))
                        return (int) i;
        return -ENOENT;
}

/* SPDX-License-Identifier: MIT */
/*
 * The pure half of lifecycle handling: parsers for the IMDS notices, the planner that
 * says which event to handle and how, and helpers on the persisted record. IMDS answers
 * are trusted more than the network but less than our code: whatever they hold ends up
 * in a hook's environment and an API call, so every field is checked.
 */
#include <jansson.h>
#include <stdio.h>

#include "lifecycle/lifecycle.h"
#include "base/util.h"

static const char *const event_names[_LIFECYCLE_EVENT_MAX] = {
        [LIFECYCLE_EVENT_NONE] = "none",
        [LIFECYCLE_EVENT_REBALANCE] = "rebalance",
        [LIFECYCLE_EVENT_SCHEDULED] = "scheduled-event",
        [LIFECYCLE_EVENT_LAUNCH] = "launch",
        [LIFECYCLE_EVENT_TERMINATE] = "terminate",
        [LIFECYCLE_EVENT_SPOT] = "spot-interruption",
};

const char *lifecycle_event_to_string(LifecycleEvent e) {
        return e >= 0 && e < _LIFECYCLE_EVENT_MAX ? event_names[e] : "none";
}

LifecycleEvent lifecycle_event_from_string(const char *s) {
        for (LifecycleEvent e = LIFECYCLE_EVENT_REBALANCE; s && e < _LIFECYCLE_EVENT_MAX; e++)
                if (streq(s, event_names[e]))
                        return e;
        return LIFECYCLE_EVENT_NONE;
}

static const char *const target_names[_LIFECYCLE_TARGET_MAX] = {
        [LIFECYCLE_TARGET_UNKNOWN] = "unknown",      [LIFECYCLE_TARGET_ABSENT] = "none",
        [LIFECYCLE_TARGET_IN_SERVICE] = "InService", [LIFECYCLE_TARGET_TERMINATED] = "Terminated",
        [LIFECYCLE_TARGET_OTHER] = "other",
};

const char *lifecycle_target_to_string(LifecycleTarget t) {
        return t >= 0 && t < _LIFECYCLE_TARGET_MAX ? target_names[t] : "unknown";
}

static bool chars_ok(const char *s, size_t n, const char *extra) {
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(extra, c)) ||
                    c == 0)
                        return false;
        }
        return true;
}

int lifecycle_parse_target(const char *body, size_t len, LifecycleTarget *ret) {
        if (len > 0 && body[len - 1] == '\n')
                len--;
        if (len == 0 || len > 64 || !chars_ok(body, len, ":"))
                return -EBADMSG;
        if (len == 9 && strneq(body, "InService", 9))
                *ret = LIFECYCLE_TARGET_IN_SERVICE;
        else if (len == 10 && strneq(body, "Terminated", 10))
                *ret = LIFECYCLE_TARGET_TERMINATED;
        else
                *ret = LIFECYCLE_TARGET_OTHER;
        return 0;
}

/* ---- times ---- */

static int parse_uint(const char **p, unsigned digits_min, unsigned digits_max, int *ret) {
        unsigned n = 0;
        int v = 0;

        while (n < digits_max && **p >= '0' && **p <= '9') {
                v = v * 10 + (**p - '0');
                (*p)++;
                n++;
        }
        if (n < digits_min)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int expect(const char **p, char c) {
        if (**p != c)
                return -EINVAL;
        (*p)++;
        return 0;
}

static int finish_time(struct tm *tm, time_t *ret) {
        struct tm check;
        time_t t;

        if (tm->tm_year < 70 || tm->tm_year > 1100 || tm->tm_mon < 0 || tm->tm_mon > 11 ||
            tm->tm_mday < 1 || tm->tm_mday > 31 || tm->tm_hour > 23 || tm->tm_min > 59 ||
            tm->tm_sec > 60)
                return -EINVAL;
        check = *tm;
        t = timegm(tm);
        /* timegm() normalises 31 Feb to 3 Mar; a date that moved was not a date. */
        if (t == (time_t) -1 || tm->tm_mday != check.tm_mday || tm->tm_mon != check.tm_mon)
                return -EINVAL;
        *ret = t;
        return 0;
}

static int parse_iso(const char *p, time_t *ret) {
        struct tm tm = {};

        if (parse_uint(&p, 4, 4, &tm.tm_year) < 0 || expect(&p, '-') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_mon) < 0 || expect(&p, '-') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_mday) < 0 || expect(&p, 'T') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_hour) < 0 || expect(&p, ':') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_min) < 0 || expect(&p, ':') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_sec) < 0)
                return -EINVAL;
        if (*p == '.') {
                int frac;
                p++;
                if (parse_uint(&p, 1, 9, &frac) < 0)
                        return -EINVAL;
        }
        if (!streq(p, "Z") && !streq(p, "+00:00"))
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return finish_time(&tm, ret);
}

static int parse_gmt(const char *p, time_t *ret) {
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        struct tm tm = {};
        const char *m;

        if (parse_uint(&p, 1, 2, &tm.tm_mday) < 0 || expect(&p, ' ') < 0 || strlen(p) < 3)
                return -EINVAL;
        for (m = months; *m; m += 3)
                if (strneq(p, m, 3))
                        break;
        if (!*m)
                return -EINVAL;
        tm.tm_mon = (int) (m - months) / 3;
        p += 3;
        if (expect(&p, ' ') < 0 || parse_uint(&p, 4, 4, &tm.tm_year) < 0 || expect(&p, ' ') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_hour) < 0 || expect(&p, ':') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_min) < 0 || expect(&p, ':') < 0 ||
            parse_uint(&p, 2, 2, &tm.tm_sec) < 0 || !streq(p, " GMT"))
                return -EINVAL;
        tm.tm_year -= 1900;
        return finish_time(&tm, ret);
}

int lifecycle_parse_time(const char *s, time_t *ret) {
        if (!s || strlen(s) > 40)
                return -EINVAL;
        if (parse_iso(s, ret) >= 0 || parse_gmt(s, ret) >= 0)
                return 0;
        return -EINVAL;
}

/* ---- notices ---- */

static json_t *load_json(const char *text, size_t len, size_t max) {
        json_error_t err;

        if (len > max)
                return NULL;
        /* Duplicate keys could make two readers see two notices: refuse them. */
        return json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
}

/* A string member that is valid UTF-8 without NULs and shorter than size. */
static const char *member(json_t *o, const char *key, size_t size) {
        json_t *v = json_object_get(o, key);

        if (!json_is_string(v) || json_string_length(v) >= size ||
            strlen(json_string_value(v)) != json_string_length(v))
                return NULL;
        return json_string_value(v);
}

int lifecycle_parse_spot(const char *json, size_t len, LifecycleSpot *ret) {
        json_auto_t *o = load_json(json, len, LIFECYCLE_NOTICE_MAX);
        const char *action, *when;
        LifecycleSpot s = {};

        if (!json_is_object(o) || !(action = member(o, "action", sizeof(s.action))) ||
            !(when = member(o, "time", 64)))
                return -EBADMSG;
        if (!streq(action, "terminate") && !streq(action, "stop") && !streq(action, "hibernate"))
                return -EBADMSG;
        if (lifecycle_parse_time(when, &s.time) < 0)
                return -EBADMSG;
        strcpy(s.action, action);
        *ret = s;
        return 0;
}

int lifecycle_parse_rebalance(const char *json, size_t len, time_t *ret_notice) {
        json_auto_t *o = load_json(json, len, LIFECYCLE_NOTICE_MAX);
        const char *when;
        time_t t;

        if (!json_is_object(o) || !(when = member(o, "noticeTime", 64)) ||
            lifecycle_parse_time(when, &t) < 0)
                return -EBADMSG;
        *ret_notice = t;
        return 0;
}

static int parse_one_scheduled(json_t *e, LifecycleScheduled *ret) {
        const char *code = member(e, "Code", sizeof(ret->code)),
                   *id = member(e, "EventId", sizeof(ret->id)), *nb = member(e, "NotBefore", 64),
                   *state = member(e, "State", 32), *na = member(e, "NotAfter", 64);
        LifecycleScheduled s = {};

        if (!json_is_object(e) || !code || !id || !nb || !*code || !*id ||
            !chars_ok(code, strlen(code), "-") || !chars_ok(id, strlen(id), "-") ||
            lifecycle_parse_time(nb, &s.not_before) < 0)
                return -EBADMSG;
        if (json_object_get(e, "NotAfter") && (!na || lifecycle_parse_time(na, &s.not_after) < 0))
                return -EBADMSG;
        /* AWS shows "active", "completed" and "canceled"; a missing State is active. */
        if (!state || streq(state, "active"))
                s.state = LIFECYCLE_SCHEDULED_ACTIVE;
        else if (streq(state, "completed"))
                s.state = LIFECYCLE_SCHEDULED_COMPLETED;
        else if (streq(state, "canceled") || streq(state, "cancelled"))
                s.state = LIFECYCLE_SCHEDULED_CANCELED;
        else
                return -EBADMSG;
        strcpy(s.code, code);
        strcpy(s.id, id);
        *ret = s;
        return 0;
}

int lifecycle_parse_scheduled(const char *json, size_t len, LifecycleScheduled *ret, size_t max,
                              size_t *ret_n) {
        json_auto_t *a = load_json(json, len, LIFECYCLE_SCHEDULED_MAX);
        size_t n = 0, i;
        json_t *e;

        if (!json_is_array(a))
                return -EBADMSG;
        json_array_foreach(a, i, e) {
                if (n >= max)
                        break;
                if (parse_one_scheduled(e, &ret[n]) < 0)
                        return -EBADMSG;
                n++;
        }
        *ret_n = n;
        return 0;
}

/* ---- the record ---- */

static bool is_termination(const char *event) {
        return streq(event, "terminate") || streq(event, "spot-interruption");
}

void lifecycle_record_start(StateLifecycle *rec, LifecycleEvent event, const char *key) {
        _cleanup_free_ StateLifecycle *old = malloc(sizeof(*old));
        bool carry;

        if (old)
                *old = *rec;
        carry = old && is_termination(old->event) &&
                is_termination(lifecycle_event_to_string(event));
        *rec = (StateLifecycle){};
        snprintf(rec->event, sizeof(rec->event), "%s", lifecycle_event_to_string(event));
        snprintf(rec->key, sizeof(rec->key), "%s", key);
        /* Terminate hooks run once per instance, however the end was announced. */
        for (size_t i = 0; carry && i < old->n_hooks_done; i++) {
                const char *h = old->hooks_done[i];
                if (strneq(h, "terminate/", 10) || strneq(h, "!terminate/", 11))
                        strcpy(rec->hooks_done[rec->n_hooks_done++], h);
        }
}

int lifecycle_record_add(StateLifecycle *rec, const char *dir, const char *name, bool ok) {
        int n;

        if (rec->n_hooks_done >= STATE_MAX_HOOKS)
                return -E2BIG;
        n = snprintf(rec->hooks_done[rec->n_hooks_done], sizeof(rec->hooks_done[0]), "%s%s/%s",
                     ok ? "" : "!", dir, name);
        if (n < 0 || (size_t) n >= sizeof(rec->hooks_done[0])) {
                rec->hooks_done[rec->n_hooks_done][0] = 0;
                return -E2BIG;
        }
        rec->n_hooks_done++;
        return 0;
}

int lifecycle_record_find(const StateLifecycle *rec, const char *dir, const char *name) {
        size_t dl = strlen(dir);

        for (size_t i = 0; i < rec->n_hooks_done; i++) {
                const char *h = rec->hooks_done[i];
                bool failed = h[0] == '!';
                h += failed;
                if (strneq(h, dir, dl) && h[dl] == '/' && streq(h + dl + 1, name))
                        return failed ? 2 : 1;
        }
        return 0;
}

unsigned lifecycle_record_failed(const StateLifecycle *rec) {
        unsigned n = 0;

        for (size_t i = 0; i < rec->n_hooks_done; i++)
                n += rec->hooks_done[i][0] == '!';
        return n;
}

/* ---- the planner ---- */

static bool rearms_on_boot(const char *key) {
        return streq(key, LIFECYCLE_KEY_SPOT) || streq(key, LIFECYCLE_KEY_REBALANCE);
}

static bool key_handled(const LifecycleInput *in, const char *key) {
        if (in->record && in->record->completed && streq(in->record->key, key))
                return true;
        for (size_t i = 0; in->handled && i < in->n_handled; i++)
                if (streq(in->handled[i].key, key))
                        /* A stop and start is a new boot: a notice then is a new one. */
                        return !rearms_on_boot(key) ||
                               streq(in->handled[i].boot_id, strempty(in->boot_id));
        return false;
}

bool lifecycle_resumed(uint64_t prev_asleep_usec, uint64_t asleep_usec) {
        /* The two clocks differ by the time spent suspended only; a second of it is
         * more than any rounding between two readings. */
        return asleep_usec > prev_asleep_usec + 1000000;
}

static bool replace_wanted(const LifecycleInput *in, const char *what) {
        for (size_t i = 0; in->replace_on && in->replace_on[i]; i++)
                if (streq(in->replace_on[i], what))
                        return true;
        return false;
}

static bool record_is(const LifecycleInput *in, const char *event) {
        return in->record && streq(in->record->event, event);
}

static void plan_set(const LifecycleInput *in, LifecyclePlan *p, LifecycleEvent ev,
                     const char *key) {
        p->event = ev;
        snprintf(p->key, sizeof(p->key), "%s", key);
        p->resume = in->record && !in->record->completed && streq(in->record->key, key);
        p->dirs[0] = lifecycle_event_to_string(ev);
}

static bool plan_spot(const LifecycleInput *in, LifecyclePlan *p) {
        if (!in->have_spot || key_handled(in, LIFECYCLE_KEY_SPOT))
                return false;
        plan_set(in, p, LIFECYCLE_EVENT_SPOT, LIFECYCLE_KEY_SPOT);
        p->dirs[1] = "terminate";
        p->unit = "drover-terminate.target";
        /* A hibernation starts at once, whatever time the notice names. */
        p->deadline =
                streq(in->spot.action, "hibernate") ? MIN(in->spot.time, in->now) : in->spot.time;
        snprintf(p->spot_action, sizeof(p->spot_action), "%s", in->spot.action);
        return true;
}

bool lifecycle_state_retained(const char *gs) {
        static const char suffix[] = ":Retained";
        size_t n = gs ? strlen(gs) : 0;

        return n > sizeof(suffix) - 1 && streq(gs + n - (sizeof(suffix) - 1), suffix);
}

static bool plan_terminate(const LifecycleInput *in, LifecyclePlan *p) {
        const char *gs = in->group_state;
        bool waiting = gs && streq(gs, "Terminating:Wait");
        bool configured = !isempty(in->terminate_hook_name);

        /* Retained: the group keeps it for a person; the drain already ran or failed. */
        if (lifecycle_state_retained(gs))
                return false;

        if (in->target != LIFECYCLE_TARGET_TERMINATED && !(gs && strneq(gs, "Terminating", 11)))
                return false;
        if (key_handled(in, "terminate"))
                return false;
        /* After a spot interruption the hooks ran: only the group's action may be left. */
        if (record_is(in, "spot-interruption") && in->record->completed && !(configured && waiting))
                return false;
        plan_set(in, p, LIFECYCLE_EVENT_TERMINATE, "terminate");
        p->unit = "drover-terminate.target";
        p->complete = configured ? in->terminate_hook_name : NULL;
        p->unconfigured = !configured;
        return true;
}

static bool warmed_before(const LifecycleInput *in) {
        for (size_t i = 0; in->handled && i < in->n_handled; i++)
                if (strneq(in->handled[i].key, LIFECYCLE_KEY_WARM_PREFIX,
                           strlen(LIFECYCLE_KEY_WARM_PREFIX)))
                        return true;
        return false;
}

/*
 * A launch hook holds the instance in Pending:Wait, or in Warmed:Pending:Wait when it
 * enters a warm pool (Auto Scaling user guide, "Manage retained instances" lists the
 * states: Warmed:Pending, Warmed:Pending:Wait, Warmed:Pending:Proceed); an
 * instance that entered one runs the launch hooks again when it leaves for InService.
 * Readiness gates the leaving (and the plain) launch only: many applications do not
 * start at all while an instance is being put into the pool.
 */
static bool plan_launch(const LifecycleInput *in, LifecyclePlan *p) {
        const char *gs = in->group_state;
        bool entering = gs && streq(gs, "Warmed:Pending:Wait");
        const char *prefix = entering ? LIFECYCLE_KEY_WARM_PREFIX : "launch@";
        size_t pl = strlen(prefix);
        long long started = (long long) in->now;
        char key[128];

        if (!gs || (!entering && !streq(gs, "Pending:Wait")))
                return false;
        /* One launch per transition: the record's key, with the time it began, is it. */
        if (record_is(in, "launch") && strneq(in->record->key, prefix, pl) &&
            sscanf(in->record->key + pl, "%lld", &started) != 1)
                started = (long long) in->now;
        snprintf(key, sizeof(key), "%s%lld", prefix, started);
        if (key_handled(in, key))
                return false;
        plan_set(in, p, LIFECYCLE_EVENT_LAUNCH, key);
        p->unit = "drover-launch.target";
        p->complete = isempty(in->launch_hook_name) ? NULL : in->launch_hook_name;
        p->unconfigured = !p->complete;
        p->wait_ready = !entering;
        p->warm_pool = entering ? "entering" : warmed_before(in) ? "leaving" : "";
        p->deadline = (time_t) (started + (long long) in->launch_timeout);
        return true;
}

static bool plan_scheduled(const LifecycleInput *in, LifecyclePlan *p) {
        const LifecycleScheduled *best = NULL;
        char key[128];

        for (size_t i = 0; i < in->n_scheduled; i++) {
                const LifecycleScheduled *s = &in->scheduled[i];
                if (s->state != LIFECYCLE_SCHEDULED_ACTIVE)
                        continue;
                snprintf(key, sizeof(key), "scheduled-event@%s", s->id);
                if (!key_handled(in, key) && (!best || s->not_before < best->not_before))
                        best = s;
        }
        if (!best)
                return false;
        snprintf(key, sizeof(key), "scheduled-event@%s", best->id);
        plan_set(in, p, LIFECYCLE_EVENT_SCHEDULED, key);
        p->deadline = best->not_before;
        p->replace = replace_wanted(in, best->code);
        snprintf(p->event_code, sizeof(p->event_code), "%s", best->code);
        return true;
}

static bool plan_rebalance(const LifecycleInput *in, LifecyclePlan *p) {
        if (!in->have_rebalance || key_handled(in, LIFECYCLE_KEY_REBALANCE))
                return false;
        plan_set(in, p, LIFECYCLE_EVENT_REBALANCE, LIFECYCLE_KEY_REBALANCE);
        p->replace = replace_wanted(in, "rebalance");
        return true;
}

int lifecycle_plan(const LifecycleInput *in, LifecyclePlan *ret) {
        LifecyclePlan p = { .warm_pool = "" };

        if (!in || !ret)
                return -EINVAL;
        /* Most urgent first. */
        if (!plan_spot(in, &p) && !plan_terminate(in, &p) && !plan_launch(in, &p) &&
            !plan_scheduled(in, &p) && !plan_rebalance(in, &p))
                p.event = LIFECYCLE_EVENT_NONE;
        *ret = p;
        return 0;
}

LifecycleCompletion lifecycle_completion(LifecycleEvent event, const char *gs) {
        const char *wait_state, *before;

        if (event == LIFECYCLE_EVENT_LAUNCH && gs && strneq(gs, "Warmed:", 7))
                wait_state = "Warmed:Pending:Wait", before = "Warmed:Pending";
        else if (event == LIFECYCLE_EVENT_LAUNCH)
                wait_state = "Pending:Wait", before = "Pending";
        else if (event == LIFECYCLE_EVENT_TERMINATE)
                wait_state = "Terminating:Wait", before = "Terminating";
        else
                return LIFECYCLE_COMPLETE_GONE;
        if (!gs)
                return LIFECYCLE_COMPLETE_WAIT;
        if (streq(gs, wait_state))
                return LIFECYCLE_COMPLETE_NOW;
        if (streq(gs, before))
                return LIFECYCLE_COMPLETE_WAIT;
        /* IMDS may announce the termination before the group's answer shows it. */
        if (event == LIFECYCLE_EVENT_TERMINATE && streq(gs, "InService"))
                return LIFECYCLE_COMPLETE_WAIT;
        return LIFECYCLE_COMPLETE_GONE;
}

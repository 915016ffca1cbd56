/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Lifecycle events: Auto Scaling launch and termination hooks, spot interruptions,
 * rebalance recommendations and scheduled events. The watcher polls IMDS (and, only
 * while it matters, DescribeAutoScalingInstances), turns what it sees into hooks.d runs,
 * keeps the group waiting with heartbeats and completes the lifecycle action. Progress
 * is persisted in State.lifecycle so a restarted drover resumes instead of repeating.
 *
 * The parsers and the planner below are pure (no I/O, no clock): the watcher in
 * lifecycle.c is only the shell around them.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws/metrics.h"
#include "base/macro.h"
#include "state/state.h"

#define LIFECYCLE_IMDS_TARGET "/latest/meta-data/autoscaling/target-lifecycle-state"
#define LIFECYCLE_IMDS_SPOT "/latest/meta-data/spot/instance-action"
#define LIFECYCLE_IMDS_REBALANCE "/latest/meta-data/events/recommendations/rebalance"
#define LIFECYCLE_IMDS_SCHEDULED "/latest/meta-data/events/maintenance/scheduled"

#define LIFECYCLE_NOTICE_MAX 4096U /* spot / rebalance notices are ~60 bytes */
#define LIFECYCLE_SCHEDULED_MAX 65536U
#define LIFECYCLE_MAX_SCHEDULED 16U /* events kept from one answer */

/* In priority order, lowest first: a higher one pre-empts a lower one in progress. */
typedef enum LifecycleEvent {
        LIFECYCLE_EVENT_NONE,
        LIFECYCLE_EVENT_REBALANCE,
        LIFECYCLE_EVENT_SCHEDULED,
        LIFECYCLE_EVENT_LAUNCH,
        LIFECYCLE_EVENT_TERMINATE,
        LIFECYCLE_EVENT_SPOT,
        _LIFECYCLE_EVENT_MAX,
} LifecycleEvent;

/* "rebalance", "scheduled-event", "launch", "terminate", "spot-interruption": the
 * DROVER_EVENT value, the hooks.d directory and State.lifecycle.event. */
const char *lifecycle_event_to_string(LifecycleEvent e);
LifecycleEvent lifecycle_event_from_string(const char *s); /* NONE if unknown */

/* ---- parsers (pure, size-capped, hostile input yields -EBADMSG) ---- */

typedef enum LifecycleTarget {
        LIFECYCLE_TARGET_UNKNOWN, /* not asked yet, or IMDS failed */
        LIFECYCLE_TARGET_ABSENT,  /* 404: not in a group (or no transition yet) */
        LIFECYCLE_TARGET_IN_SERVICE,
        LIFECYCLE_TARGET_TERMINATED,
        LIFECYCLE_TARGET_OTHER, /* Standby, Detached, Warmed:*: nothing for us */
        _LIFECYCLE_TARGET_MAX,
} LifecycleTarget;

const char *lifecycle_target_to_string(LifecycleTarget t);
/* autoscaling/target-lifecycle-state; a trailing newline is allowed. */
int lifecycle_parse_target(const char *body, size_t len, LifecycleTarget *ret);

typedef struct LifecycleSpot {
        char action[16]; /* "terminate", "stop" or "hibernate" */
        time_t time;     /* when it happens, Unix seconds */
} LifecycleSpot;

/* spot/instance-action: {"action": "terminate", "time": "2017-09-18T08:22:00Z"}. */
int lifecycle_parse_spot(const char *json, size_t len, LifecycleSpot *ret);

/* events/recommendations/rebalance: {"noticeTime": "2020-10-27T08:22:00Z"}. */
int lifecycle_parse_rebalance(const char *json, size_t len, time_t *ret_notice);

typedef enum LifecycleScheduledState {
        LIFECYCLE_SCHEDULED_ACTIVE,
        LIFECYCLE_SCHEDULED_COMPLETED,
        LIFECYCLE_SCHEDULED_CANCELED,
} LifecycleScheduledState;

typedef struct LifecycleScheduled {
        char code[32]; /* instance-reboot, system-reboot, system-maintenance, ... */
        char id[64];   /* EventId: instance-event-[0-9a-f]+ */
        time_t not_before;
        time_t not_after; /* 0 when absent */
        LifecycleScheduledState state;
} LifecycleScheduled;

/*
 * events/maintenance/scheduled: a JSON array of {"Code", "EventId", "NotBefore",
 * "NotAfter", "State", "Description"}, times as "21 Jan 2019 09:00:43 GMT". Fills up to
 * max entries of ret (more are ignored); *ret_n is how many. "[]" gives 0.
 */
int lifecycle_parse_scheduled(const char *json, size_t len, LifecycleScheduled *ret, size_t max,
                              size_t *ret_n);

/* "2017-09-18T08:22:00Z" (with optional fractional seconds) and "21 Jan 2019 09:00:43
 * GMT": Unix seconds, -EINVAL if it is neither. */
int lifecycle_parse_time(const char *s, time_t *ret);

/* ---- the planner (pure) ---- */

typedef struct LifecycleInput {
        time_t now; /* Unix seconds */
        LifecycleTarget target;
        const char *group_state; /* DescribeAutoScalingInstances' LifecycleState,
                                           * NULL while unknown or outside a group */
        bool have_spot;
        LifecycleSpot spot;
        bool have_rebalance;
        time_t rebalance_notice;
        const LifecycleScheduled *scheduled;
        size_t n_scheduled;
        /* configuration */
        const char *terminate_hook_name; /* "" = none */
        const char *launch_hook_name;
        char *const *replace_on; /* "rebalance" and scheduled event codes */
        double launch_timeout;   /* seconds */
        /* memory */
        const StateLifecycle *record; /* the persisted record (may be empty) */
        const StateHandled *handled;  /* the persisted handled set (NULL ok) */
        size_t n_handled;
        const char *boot_id; /* this boot's id: a spot or rebalance key from another is stale */
} LifecycleInput;

typedef struct LifecyclePlan {
        LifecycleEvent event;  /* NONE: nothing to do */
        bool resume;           /* the record belongs to this event: go on with it */
        char key[128];         /* State.lifecycle.key */
        const char *dirs[3];   /* hooks.d directories in run order, NULL-terminated */
        const char *unit;      /* systemd target to start, or NULL */
        const char *complete;  /* lifecycle hook to complete, NULL for none */
        bool unconfigured;     /* a group transition with no hook name configured */
        bool wait_ready;       /* launch: readiness checks must pass first */
        bool replace;          /* replace_on asks for a replacement */
        time_t deadline;       /* when the window closes, 0 if unknown */
        char spot_action[16];  /* DROVER_SPOT_ACTION */
        char event_code[32];   /* DROVER_EVENT_CODE */
        const char *warm_pool; /* DROVER_WARM_POOL: "entering", "leaving" or "" */
} LifecyclePlan;

/*
 * The most urgent event that is present and not yet handled, and what it takes. An
 * event is handled when the record has its key and is completed, or when its key is in
 * handled. Keys name what a notice is, never its times (which AWS's own simulator moves
 * on every request): "spot-interruption" and "rebalance" (one each while the notice
 * stays; handled only in the boot that handled them, and the watcher forgets them when
 * the notice disappears or the instance resumes from hibernation), "scheduled-event@<id>"
 * (by EventId), "terminate" (once per instance), "launch@<start>". A spot interruption runs spot-interruption/ then terminate/; a termination
 * that follows a completed spot interruption only completes the action when the group
 * waits for it. Returns 0 (plan.event NONE when idle).
 */
int lifecycle_plan(const LifecycleInput *in, LifecyclePlan *ret);

typedef enum LifecycleCompletion {
        LIFECYCLE_COMPLETE_NOW,  /* the group waits in the hook's :Wait state */
        LIFECYCLE_COMPLETE_WAIT, /* not there yet (Pending, Terminating) or unknown */
        LIFECYCLE_COMPLETE_GONE, /* the action ended without us (timed out, done elsewhere) */
} LifecycleCompletion;

/* Whether CompleteLifecycleAction can be sent for event given the group's state. */
LifecycleCompletion lifecycle_completion(LifecycleEvent event, const char *group_state);

/* ---- the record (pure helpers on State.lifecycle) ---- */

/* Starts a record for a new event. Terminate hooks that already ran for this instance
 * (a spot interruption before a termination) stay done. */
void lifecycle_record_start(StateLifecycle *rec, LifecycleEvent event, const char *key);
/* Notes that dir/name finished (ok or failed). -E2BIG when the record is full or the
 * name too long: the hook then simply runs again after a restart. */
int lifecycle_record_add(StateLifecycle *rec, const char *dir, const char *name, bool ok);
/* 0 not run, 1 finished ok, 2 finished and failed. */
int lifecycle_record_find(const StateLifecycle *rec, const char *dir, const char *name);
/* How many hooks of the record failed. */
unsigned lifecycle_record_failed(const StateLifecycle *rec);

/* Whether a group LifecycleState is one where the group retains the instance after an
 * abandoned lifecycle action: Terminating:Retained, Warmed:Pending:Retained,
 * Warmed:Terminating:Retained (Auto Scaling user guide, "Manage retained instances",
 * docs.aws.amazon.com/autoscaling/ec2/userguide/manage-retained-instances.html). drover
 * reports it and never acts on it. NULL is false. */
bool lifecycle_state_retained(const char *group_state);

/* The keys of the notices that re-arm (see lifecycle_plan). */
#define LIFECYCLE_KEY_SPOT "spot-interruption"
#define LIFECYCLE_KEY_REBALANCE "rebalance"
/* A launch while entering a warm pool: "launch-warm@<start>" (a plain one "launch@"). */
#define LIFECYCLE_KEY_WARM_PREFIX "launch-warm@"

/*
 * Whether the machine slept between two readings of CLOCK_BOOTTIME - CLOCK_MONOTONIC
 * (the first counts a suspend or hibernation, the second does not): a resume from
 * hibernation keeps the boot id, this is how it shows.
 */
bool lifecycle_resumed(uint64_t prev_asleep_usec, uint64_t asleep_usec);

/* ---- the watcher ---- */

typedef struct Lifecycle Lifecycle;
/* Pointers only: this header is also the pure planner's, which needs none of them. */
typedef struct sd_event sd_event;
typedef struct Aws Aws;
typedef struct Imds Imds;
typedef struct ImdsIdentity ImdsIdentity;
typedef struct Monitor Monitor;
typedef struct Remedy Remedy;

/*
 * What the watcher gets from the daemon, which owns every part and keeps this struct
 * current (a reload swaps config): the watcher keeps a pointer, never a copy. The
 * callbacks are how it reaches healing without knowing it exists.
 */
typedef struct LifecycleContext {
        sd_event *event;
        const Config *config;
        Aws *aws; /* NULL until the region is known */
        Imds *imds;
        const ImdsIdentity *identity;
        Monitor *monitor;  /* read only: readiness checks gate a launch */
        Remedy *bus;       /* the daemon's one system-bus connection */
        StateStore *state; /* its progress lives in state->lifecycle */
        void (*metric)(MetricsInstanceMetric which, double value, void *userdata);
        void (*changed)(void *userdata); /* STATUS= may need saying again; may be NULL */
        /* The group this instance is in as last answered (heal's), or NULL. */
        const char *(*group_name)(void *userdata);
        /* A DescribeAutoScalingInstances answer about this instance (group NULL: proven
         * standalone), so healing need not ask the same. May be NULL. */
        void (*membership)(const char *group, const char *lifecycle_state, void *userdata);
        /* A job is starting (plan: what it is): when it takes the instance away, the
         * health endpoint turns 503 and this says how long to wait before the hooks
         * (0: at once). May be NULL. */
        uint64_t (*drain)(const LifecyclePlan *plan, void *userdata);
        /* hooks.replace_on: have healing treat the instance as unhealthy. */
        void (*request_replacement)(const char *why, void *userdata);
        void *userdata;
} LifecycleContext;

/* Starts polling; call once the identity (and so the persisted state) is known. */
Lifecycle *lifecycle_new(const LifecycleContext *ctx);
/* Cancels polls, calls and hooks (killing their process groups). NULL ok. */
Lifecycle *lifecycle_free(Lifecycle *l);
/* The target lifecycle state IMDS last gave; UNKNOWN for NULL. */
LifecycleTarget lifecycle_target(const Lifecycle *l);
/* One line for STATUS=: the event in progress ("terminate (hooks): 1/2 hooks done, 3
 * heartbeats, deadline in 40 s"), "" when idle. Valid until the next call. NULL ok. */
const char *lifecycle_summary(Lifecycle *l);
/* What it sees, what runs, what ran: for `drover status --json`. */
json_t *lifecycle_status_json(Lifecycle *l);

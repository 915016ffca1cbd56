/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Configuration: /etc/drover/drover.conf plus the *.conf in conf.d/ (libconfig), loaded once
 * into the plain structs below with every default filled in. No config_setting_t is
 * kept. A reload builds a new Config and the daemon swaps it in only when it is valid.
 *
 * Durations are seconds (double) unless the name ends in _ms. Strings are owned by the
 * Config and never NULL unless documented ("" for unset). String vectors (char **) are
 * NULL-terminated and never NULL (possibly empty).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/macro.h"
#include "base/nagios.h"
#include "metrics/statsd-format.h"

typedef enum CheckRole {
        CHECK_ROLE_LIVENESS,
        CHECK_ROLE_READINESS,
        CHECK_ROLE_DEPENDENCY,
        _CHECK_ROLE_MAX,
} CheckRole;

typedef enum ReplaceAction {
        REPLACE_SET_UNHEALTHY,    /* SetInstanceHealth Unhealthy */
        REPLACE_TERMINATE_IN_ASG, /* TerminateInstanceInAutoScalingGroup, keep capacity */
        REPLACE_TERMINATE,        /* ec2 TerminateInstances */
        REPLACE_NONE,             /* report only */
        _REPLACE_ACTION_MAX,
} ReplaceAction;

const char *check_role_to_string(CheckRole r);
const char *replace_action_to_string(ReplaceAction a);

/* max_unhealthy / max_replacements_per_hour: an integer count or "N%" of desired. */
/* remediate.attempts: the state file keeps this many attempt times per check. */
#define CONFIG_MAX_REMEDY_ATTEMPTS 32U

typedef struct Budget {
        bool percent;
        unsigned value;
} Budget;

typedef struct ImdsConfig {
        char *endpoint;      /* "http://169.254.169.254" */
        unsigned token_ttl;  /* 1..21600, 21600 */
        unsigned timeout_ms; /* per attempt, 1000 */
        unsigned retries;    /* 3 */
        bool allow_v1;       /* false */
} ImdsConfig;

typedef struct AwsConfig {
        char *region;               /* "" = from the identity document */
        char *endpoint_autoscaling; /* "" = the partition's default */
        char *endpoint_ec2;
        char *endpoint_cloudwatch;
        char *ca_file;         /* "" = system bundle */
        bool fips;             /* FIPS endpoints, false */
        unsigned timeout_ms;   /* per attempt, 10000 */
        unsigned max_attempts; /* the SDKs' standard mode: 3 */
} AwsConfig;

/*
 * A user and group resolved when the config is loaded, so that starting a plugin makes
 * no NSS lookup (no file reads or sockets in the event loop, nothing glibc-internal in
 * the child).
 */
typedef struct RunAs {
        bool drop;    /* change credentials: a user is set and drover runs as root */
        bool unknown; /* the user or group did not exist at load: nothing is run */
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary groups, the primary one included */
        size_t n_groups;
} RunAs;

typedef struct PluginDefaults {
        char *user;                 /* "drover"; "" = do not change user */
        char *group;                /* "drover" */
        double timeout;             /* 10 */
        double kill_grace;          /* 2: TERM, then KILL this much later */
        size_t max_output;          /* 65536 bytes of stdout+stderr */
        unsigned concurrency;       /* 4 plugins at once */
        NagiosStatus timeout_state; /* CRITICAL */
} PluginDefaults;

typedef struct Remediation {
        char *restart_unit; /* "" = none */
        char **exec;        /* argv; empty = none */
        unsigned attempts;  /* 2: attempts allowed within window */
        double window;      /* 3600: sliding window for attempts */
        double backoff;     /* 30: base of the exponential backoff between attempts */
        double delay;       /* 10: random delay before each attempt, 0..delay */
        double settle;      /* 0 = interval * fall: failures ignored after an attempt */
} Remediation;

typedef struct CheckConfig {
        char *name;
        CheckRole role;             /* liveness */
        char **command;             /* argv, non-empty; argv[0] absolute path */
        bool shell;                 /* run command[0] with /bin/sh -c */
        double interval;            /* 30 */
        double timeout;             /* plugins.timeout */
        double kill_grace;          /* plugins.kill_grace */
        unsigned fall;              /* 3 */
        unsigned rise;              /* 2 */
        char *user;                 /* plugins.user */
        char *group;                /* plugins.group */
        RunAs run_as;               /* user and group, resolved */
        size_t max_output;          /* plugins.max_output */
        NagiosStatus timeout_state; /* plugins.timeout_state */
        bool has_remediation;
        Remediation remediate;
        char *file; /* where it was defined, for messages */
        int line;
} CheckConfig;

typedef struct PolicyConfig {
        double grace_period;  /* 300 s after boot */
        ReplaceAction action; /* set-unhealthy */
        bool dry_run;
        Budget max_unhealthy;             /* 10% */
        Budget max_replacements_per_hour; /* 25% */
        double jitter;                    /* 5 */
        ReplaceAction standalone_action;  /* none | terminate */
        double confirm_interval; /* 60: ask the group again if it did not take the request */
        double hold_backoff_max; /* 900: held back, looks back off from confirm_interval to this */
} PolicyConfig;

typedef struct MetricsConfig {
        bool enabled;         /* true */
        char *namespace;      /* "Drover" */
        double interval;      /* 60 */
        bool high_resolution; /* false */
        bool per_instance;    /* false */
        size_t buffer_max;    /* 10000 data points kept while CloudWatch is away */

        /* Sinks: "cloudwatch" and/or "statsd" (enabled = false turns every one off). */
        char **sinks;
        char *statsd;           /* "127.0.0.1:8125", numeric only (no DNS) */
        char *statsd_prefix;    /* "drover" */
        StatsdTags statsd_tags; /* none | dogstatsd */
} MetricsConfig;

typedef struct HooksConfig {
        char *dir;                 /* "/etc/drover/hooks.d" */
        double timeout;            /* 300, per hook */
        double heartbeat_interval; /* 60 */
        char *terminate_hook_name; /* lifecycle_hook_names.terminate, "" = none */
        char *launch_hook_name;    /* lifecycle_hook_names.launch, "" = none */
        bool abandon_on_failure;   /* on_failure = "abandon" */
        char *user;                /* plugins.user unless set */
        char *group;
        RunAs run_as;          /* user and group, resolved */
        double poll_interval;  /* 5: IMDS lifecycle/spot/event polling */
        double launch_timeout; /* 600: readiness must pass within this */
        char **replace_on;     /* "rebalance", "instance-retirement", ... */
} HooksConfig;

typedef struct HttpConfig {
        char **listen;      /* "ADDR:PORT", "[V6]:PORT"; empty = no endpoint */
        char **allow;       /* source prefixes for /metrics and details; empty = loopback */
        double drain_delay; /* 0: seconds between /health turning 503 and the drain hooks */
} HttpConfig;

typedef struct StatusConfig {
        char *group; /* "" = root only; else this group may read */
} StatusConfig;

typedef struct Config {
        char *path; /* the main file */
        ImdsConfig imds;
        AwsConfig aws;
        PluginDefaults plugins;
        PolicyConfig policy;
        MetricsConfig metrics;
        HooksConfig hooks;
        StatusConfig status;
        HttpConfig http;
        CheckConfig *checks;
        size_t n_checks;
} Config;

typedef struct ConfigError {
        char *file; /* may be NULL when not tied to a file */
        int line;   /* 0 when unknown */
        char *message;
} ConfigError;

typedef struct ConfigErrors {
        ConfigError *items;
        size_t n;
} ConfigErrors;

enum {
        CONFIG_LOAD_CHECK_EXECUTABLES = 1 << 0, /* config-test: a missing plugin is an error */
        CONFIG_LOAD_REQUIRE_TRUSTED = 1 << 1,   /* as root: refuse files others could write */
};

/*
 * Loads path and the conf.d/ beside it. On error returns -EINVAL (or another negative
 * errno when the main file cannot be read at all) and appends every problem found to
 * *errors ("FILE:LINE: message" via config_error_format). *ret is written on success only.
 */
int config_load(const char *path, unsigned flags, Config **ret, ConfigErrors *errors);
void config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free)

/* Loads from a string (for tests and fuzzing); name is used in messages. No drop-ins. */
int config_load_string(const char *text, const char *name, unsigned flags, Config **ret,
                       ConfigErrors *errors);

/* Whether metrics go to sink ("cloudwatch", "statsd"): enabled and listed. */
bool config_metrics_sink(const Config *c, const char *sink);

const CheckConfig *config_find_check(const Config *c, const char *name);
/*
 * Whether a reload keeps the check's state (its counters, last result, hard state): the
 * same name, role, command and timeout_state, so its results still mean the same. A
 * changed command (a fix to a bad check) starts fresh; interval, timeout, rise/fall,
 * remediation and the rest apply to the running state.
 */
bool check_config_keeps_state(const CheckConfig *a, const CheckConfig *b);

/*
 * Resolves user (NULL/"" = keep drover's own) and group (NULL/"" = the user's primary
 * group) with the group database's supplementary groups. Not running as root, nothing
 * is changed (drop = false). No such user or group: unknown = true (a plugin is then
 * reported UNKNOWN, as the config may name a user created after drover started).
 */
int run_as_resolve(const char *user, const char *group, RunAs *ret);
int run_as_copy(const RunAs *from, RunAs *ret);
void run_as_done(RunAs *r);

char *config_error_format(const ConfigError *e); /* malloc'd "file:line: message" */
void config_errors_clear(ConfigErrors *errors);

/*
 * For the CLI verbs: config_load() that writes every problem to f, one
 * "FILE:LINE: message" line each. optional: a missing main file is no error, *ret is
 * then NULL (the built-in defaults).
 */
int config_load_print(const char *path, unsigned flags, bool optional, FILE *f, Config **ret);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * drover's small persistent memory: $STATE_DIRECTORY/state.json, written atomically.
 * It remembers what was already asked of AWS and local remediation attempts, so a
 * restarted drover neither forgets nor repeats. It is keyed by instance id and boot id:
 * a file baked into an AMI (another instance id) is ignored whole; after a reboot of the
 * same instance (another boot id) the remediation history is dropped but the
 * replacement record is kept (the group's answer decides whether it still stands).
 * The file is a memory, never the truth.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "base/macro.h"

#define STATE_MAX_BYTES (256U * 1024U)
#define STATE_MAX_CHECKS 256U
#define STATE_MAX_ATTEMPTS CONFIG_MAX_REMEDY_ATTEMPTS /* every attempt the config allows */
#define STATE_MAX_HOOKS 64U
#define STATE_MAX_HANDLED 32U

typedef struct StateRemediation {
        char name[65]; /* check name */
        size_t n_attempts;
        time_t attempts[STATE_MAX_ATTEMPTS]; /* Unix seconds, oldest first */
} StateRemediation;

typedef struct StateLifecycle {
        char event[64]; /* "" = none in progress; else e.g. "terminate" */
        char key[128];  /* identifies the notice (hook name + time, ...) */
        size_t n_hooks_done;
        char hooks_done[STATE_MAX_HOOKS][256]; /* hook file names that finished */
        bool completed;       /* done with: hooks ran, the action completed or given up */
        bool complete_failed; /* CompleteLifecycleAction was given up on */
} StateLifecycle;

/* A lifecycle notice whose hooks ran to the end (see lifecycle.h for the keys). Kept
 * across reboots of the same instance: the rule of each kind decides what re-arms it. */
typedef struct StateHandled {
        char key[128];    /* "terminate", "rebalance", "scheduled-event@<EventId>", ... */
        char boot_id[37]; /* the boot it was handled in */
        time_t at;        /* Unix seconds */
} StateHandled;

typedef struct State {
        char instance_id[20];
        char boot_id[37];
        /* Replacement requested of AWS. */
        bool requested;
        ReplaceAction action;
        time_t requested_at;
        bool confirmed;                /* the group showed the instance Unhealthy/Terminating */
        uint64_t decision;             /* heal/request.h: this instance's decisions so far */
        uint64_t hooks_ran;            /* the decision whose hooks.d/unhealthy/ ran */
        StateRemediation *remediation; /* malloc'd array */
        size_t n_remediation;
        StateLifecycle lifecycle;
        StateHandled handled[STATE_MAX_HANDLED]; /* oldest first */
        size_t n_handled;
        unsigned handled_dropped; /* entries pushed out by newer ones, ever */
} State;

/* Pure: parses a state document for (instance_id, boot_id), applying the keying rules
 * above. A document for another instance yields an empty State (return 0). -EBADMSG
 * for malformed input, -EFBIG past STATE_MAX_BYTES. */
int state_parse(const char *json, size_t len, const char *instance_id, const char *boot_id,
                State *ret);
/* Pure: serialises (malloc'd JSON text). */
int state_format(const State *s, char **ret);

/* Loads dir/state.json; a missing file is an empty State. */
int state_load(const char *dir, const char *instance_id, const char *boot_id, State *ret);
int state_save(const char *dir, const State *s);
void state_done(State *s);

/* The current boot id (/proc/sys/kernel/random/boot_id), 36 characters. */
int state_boot_id(char ret[static 37]);

/* The remediation record for a check, created if absent (-ENOMEM, -E2BIG). */
int state_remediation(State *s, const char *check, StateRemediation **ret);
/* Appends an attempt, dropping the oldest beyond STATE_MAX_ATTEMPTS. */
void state_remediation_add(StateRemediation *r, time_t t);

/*
 * The store: the one State of this instance and boot, owned by the daemon and handed to
 * heal and lifecycle, which each keep their part of it. Opening never fails for a bad
 * file: an unreadable one is an empty State, with the error in *ret_load_error (0 when
 * the file was fine or absent) for the caller to report. -ENOMEM only.
 */
typedef struct StateStore StateStore;
int state_store_open(const char *dir, const char *instance_id, StateStore **ret,
                     int *ret_load_error);
State *state_store_get(StateStore *s);
const char *state_store_dir(const StateStore *s);
/* Writes the file (atomically); the caller says what a failure means. */
int state_store_save(StateStore *s);
StateStore *state_store_free(StateStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StateStore *, state_store_free)
/* The handled entry with that key, or NULL. */
const StateHandled *state_handled_find(const State *s, const char *key);
/* Records key as handled now (moved to the newest place if present), dropping and
 * counting the oldest beyond STATE_MAX_HANDLED. -EINVAL for a key that would not load
 * back (too long, characters outside [A-Za-z0-9@._:-]). */
int state_handled_add(State *s, const char *key, const char *boot_id, time_t at);
/* Forgets key; true if it was there. */
bool state_handled_remove(State *s, const char *key);

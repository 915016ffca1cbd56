/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Replacement leases (policy.coordination = "dynamodb"): the pure decisions. A fleet has
 * `budget` slots, numbered 0..budget-1, each one DynamoDB item {fleet, slot, holder,
 * expires_at, version}. An agent may act only while it holds a slot. This module reads
 * one strongly consistent Query of the fleet's items and says what to write next; the
 * shell makes the conditional write and feeds the answer back. Linearizability comes
 * from DynamoDB's conditional writes, never from these decisions being run "at the same
 * time" by everyone.
 *
 * The rules (the fleet-scale issue; the shell that makes the writes is yet to come):
 *  - A slot is free when it has no item, or its expires_at < now. Free slots are tried in
 *    random order (so agents racing do not all go for slot 0).
 *  - A claim is a conditional write on the slot's version (or on its absence); a slot
 *    already held by this instance (an earlier write whose answer was lost) is ours.
 *  - Expiry is a condition on expires_at, never DynamoDB's TTL deletion.
 *  - The holder renews while it works, and right before the replacement call checks that
 *    its lease is still valid with a margin for clock skew; if not, it stops.
 *  - A slot held by someone else may be taken over before it expires only when the group
 *    shows its holder gone and the group back at desired capacity in service, or the
 *    holder InService and Healthy again (its request is over).
 *  - Slots at or above the budget are never claimed (a shrunken budget leaves them to
 *    expire).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LEASE_MAX_SLOTS 1000U
/* Valid at the call only with this much left: covers clock skew between instances. */
#define LEASE_SKEW_MARGIN_SEC 30

typedef struct LeaseItem {
        unsigned slot;
        char holder[20]; /* an instance id */
        time_t expires_at;
        uint64_t version;
} LeaseItem;

/* What the group says about a holder, for take-overs. */
typedef enum LeaseHolderState {
        LEASE_HOLDER_UNKNOWN, /* not in the answer, or not asked */
        LEASE_HOLDER_GONE,    /* not in the group any more (or Terminated) */
        LEASE_HOLDER_HEALTHY, /* InService and Healthy: its request is over */
        LEASE_HOLDER_BUSY,    /* anything else: still being replaced */
        _LEASE_HOLDER_STATE_MAX,
} LeaseHolderState;

typedef struct LeaseInput {
        const char *self;       /* this instance's id */
        unsigned budget;        /* slots 0..budget-1 exist */
        const LeaseItem *items; /* the fleet's items, any order, validated */
        size_t n_items;
        /* holder_state(i) for items[i]; NULL means UNKNOWN for all */
        const LeaseHolderState *holders;
        bool group_at_desired; /* the group is back at desired capacity, in service */
        time_t now;
        time_t ttl;  /* policy.lease_ttl */
        double unit; /* random in [0, 1): which free slot to try first */
} LeaseInput;

typedef enum LeaseVerb {
        LEASE_HOLD,     /* we hold `slot` already and it is valid: go on (renew if due) */
        LEASE_CLAIM,    /* write slot: condition absent (expect_absent) or version == expect */
        LEASE_TAKEOVER, /* the same write on a slot whose holder is done with it */
        LEASE_WAIT,     /* every slot is held: wait (a reason to hold back, like the guard) */
        _LEASE_VERB_MAX,
} LeaseVerb;

typedef struct LeasePlan {
        LeaseVerb verb;
        unsigned slot;
        bool expect_absent;    /* CLAIM/TAKEOVER: the item must not exist */
        uint64_t expect;       /* else: its version must be this */
        uint64_t next_version; /* what to write */
        time_t expires_at;     /* what to write: now + ttl */
        bool renew;            /* HOLD: less than half the ttl left, write again */
        unsigned held;         /* slots held by others (valid), for the message */
} LeasePlan;

/* -EINVAL for a budget over LEASE_MAX_SLOTS or a NULL self. */
int lease_plan(const LeaseInput *in, LeasePlan *ret);

/* Right before the replacement call: our lease on `slot` is still ours, valid with the
 * skew margin. */
bool lease_valid_for_call(const LeaseItem *item, const char *self, time_t now);

/*
 * A conditional write failed (ConditionalCheckFailedException, with ALL_OLD): whether the
 * old item shows the slot is ours after all (an earlier write whose answer was lost).
 * old NULL: the item did not exist (the condition was on a version).
 */
bool lease_claim_was_ours(const LeaseItem *old, const char *self, time_t now);

/* A Query answer's items, checked: slot numbers unique, holders instance ids, versions
 * not going backwards from what we saw (prev, prev_n: the last answer, may be NULL).
 * -EBADMSG naming the first bad item's slot in *ret_slot. */
int lease_items_check(const LeaseItem *items, size_t n, const LeaseItem *prev, size_t prev_n,
                      unsigned *ret_slot);

const char *lease_verb_to_string(LeaseVerb v);

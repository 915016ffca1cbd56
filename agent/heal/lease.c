/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "heal/lease.h"

static const LeaseItem *find_slot(const LeaseInput *in, unsigned slot, size_t *ret_i) {
        for (size_t i = 0; i < in->n_items; i++)
                if (in->items[i].slot == slot) {
                        *ret_i = i;
                        return &in->items[i];
                }
        return NULL;
}

static LeaseHolderState holder_state(const LeaseInput *in, size_t i) {
        return in->holders ? in->holders[i] : LEASE_HOLDER_UNKNOWN;
}

/* A held slot whose holder is done with it: gone and the group whole again, or back
 * InService and Healthy. Otherwise it waits for its expiry. */
static bool takeover_allowed(const LeaseInput *in, size_t i) {
        LeaseHolderState h = holder_state(in, i);

        return h == LEASE_HOLDER_HEALTHY || (h == LEASE_HOLDER_GONE && in->group_at_desired);
}

static void write_plan(const LeaseInput *in, LeaseVerb verb, unsigned slot, const LeaseItem *it,
                       LeasePlan *p) {
        p->verb = verb;
        p->slot = slot;
        p->expect_absent = !it;
        p->expect = it ? it->version : 0;
        p->next_version = it ? it->version + 1 : 1;
        p->expires_at = in->now + in->ttl;
}

int lease_plan(const LeaseInput *in, LeasePlan *ret) {
        LeasePlan p = { .verb = LEASE_WAIT };
        unsigned start, n_free = 0;

        if (!in->self || in->budget > LEASE_MAX_SLOTS || in->ttl <= 0)
                return -EINVAL;
        /* Ours already? Then we hold it (renewing past half its life). */
        for (size_t i = 0; i < in->n_items; i++) {
                const LeaseItem *it = &in->items[i];
                if (it->slot < in->budget && streq(it->holder, in->self) &&
                    it->expires_at >= in->now) {
                        p.verb = LEASE_HOLD;
                        p.slot = it->slot;
                        p.renew = it->expires_at - in->now < in->ttl / 2;
                        p.expect = it->version;
                        p.next_version = it->version + 1;
                        p.expires_at = in->now + in->ttl;
                        *ret = p;
                        return 0;
                }
        }
        for (unsigned s = 0; s < in->budget; s++) {
                size_t i;
                const LeaseItem *it = find_slot(in, s, &i);
                if (!it || it->expires_at < in->now)
                        n_free++;
                else
                        p.held++;
        }
        if (n_free > 0) {
                /* The k-th free slot, k drawn at random, so racing agents spread out. */
                unsigned k = (unsigned) (in->unit >= 0 && in->unit < 1 ? in->unit * n_free : 0);
                for (unsigned s = 0; s < in->budget; s++) {
                        size_t i;
                        const LeaseItem *it = find_slot(in, s, &i);
                        if (it && it->expires_at >= in->now)
                                continue;
                        if (k-- == 0) {
                                write_plan(in, LEASE_CLAIM, s, it, &p);
                                *ret = p;
                                return 0;
                        }
                }
        }
        /* All held: one whose holder is done with it may be taken over, from a random
         * starting point too. */
        start = in->budget > 0
                        ? (unsigned) (in->unit >= 0 && in->unit < 1 ? in->unit * in->budget : 0)
                        : 0;
        for (unsigned d = 0; d < in->budget; d++) {
                unsigned s = (start + d) % in->budget;
                size_t i;
                const LeaseItem *it = find_slot(in, s, &i);
                if (it && takeover_allowed(in, i)) {
                        write_plan(in, LEASE_TAKEOVER, s, it, &p);
                        *ret = p;
                        return 0;
                }
        }
        *ret = p;
        return 0;
}

bool lease_valid_for_call(const LeaseItem *item, const char *self, time_t now) {
        return item && self && streq(item->holder, self) &&
               item->expires_at - LEASE_SKEW_MARGIN_SEC > now;
}

bool lease_claim_was_ours(const LeaseItem *old, const char *self, time_t now) {
        return old && self && streq(old->holder, self) && old->expires_at >= now;
}

static bool instance_id_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 10 || n > 19 || !strneq(s, "i-", 2))
                return false;
        for (size_t i = 2; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int lease_items_check(const LeaseItem *items, size_t n, const LeaseItem *prev, size_t prev_n,
                      unsigned *ret_slot) {
        for (size_t i = 0; i < n; i++) {
                bool bad = items[i].slot >= LEASE_MAX_SLOTS ||
                           !instance_id_valid(items[i].holder) || items[i].expires_at < 0;
                for (size_t k = 0; !bad && k < i; k++)
                        bad = items[k].slot == items[i].slot;
                for (size_t k = 0; !bad && prev && k < prev_n; k++)
                        bad = prev[k].slot == items[i].slot && items[i].version < prev[k].version;
                if (bad) {
                        if (ret_slot)
                                *ret_slot = items[i].slot;
                        return -EBADMSG;
                }
        }
        return 0;
}

const char *lease_verb_to_string(LeaseVerb v) {
        static const char *const names[_LEASE_VERB_MAX] = {
                [LEASE_HOLD] = "hold",
                [LEASE_CLAIM] = "claim",
                [LEASE_TAKEOVER] = "takeover",
                [LEASE_WAIT] = "wait",
        };
        return (unsigned) v < _LEASE_VERB_MAX ? names[v] : NULL;
}

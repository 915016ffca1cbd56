/* SPDX-License-Identifier: MIT */
/* Lease decisions: the rules one by one, then many agents racing through a linearizable
 * store (conditional writes, as DynamoDB does them) never hold more than the budget. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "heal/lease.h"

#define NOW 1000000
#define TTL 1800

static LeaseItem item(unsigned slot, const char *holder, time_t expires, uint64_t version) {
        LeaseItem it = { .slot = slot, .expires_at = expires, .version = version };
        snprintf(it.holder, sizeof(it.holder), "%s", holder);
        return it;
}

static void test_rules(void **state) {
        LeaseItem items[3];
        LeaseHolderState holders[3];
        LeaseInput in = { .self = "i-0000000000000000a",
                          .budget = 2,
                          .items = items,
                          .now = NOW,
                          .ttl = TTL,
                          .unit = 0 };
        LeasePlan p;
        (void) state;

        /* Nothing written yet: claim slot 0 on absence. */
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_CLAIM);
        assert_true(p.expect_absent && p.slot == 0 && p.next_version == 1);
        assert_int_equal(p.expires_at, NOW + TTL);
        /* The unit picks among the free slots. */
        in.unit = 0.99;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.slot, 1);
        /* Slot 0 held, slot 1 expired: claim 1 on its version. */
        items[0] = item(0, "i-0000000000000000b", NOW + 10, 4);
        items[1] = item(1, "i-0000000000000000c", NOW - 1, 7);
        in.n_items = 2;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_CLAIM);
        assert_true(!p.expect_absent && p.slot == 1 && p.expect == 7 && p.next_version == 8);
        assert_int_equal(p.held, 1);
        /* Ours already (an answer that was lost): hold, renew past half-life. */
        items[1] = item(1, "i-0000000000000000a", NOW + TTL / 4, 8);
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_HOLD);
        assert_true(p.renew && p.slot == 1);
        items[1].expires_at = NOW + TTL;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_false(p.renew);
        /* All held by others: wait, unless a holder is done with its slot. */
        items[1] = item(1, "i-0000000000000000c", NOW + 100, 8);
        holders[0] = LEASE_HOLDER_BUSY;
        holders[1] = LEASE_HOLDER_GONE;
        in.holders = holders;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_WAIT); /* gone, but the group is not whole yet */
        in.group_at_desired = true;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_TAKEOVER);
        assert_true(p.slot == 1 && p.expect == 8);
        in.group_at_desired = false;
        holders[1] = LEASE_HOLDER_HEALTHY; /* its request is over */
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_TAKEOVER);
        /* Slots at or above the budget are never claimed, ours or not. */
        in.holders = NULL;
        items[2] = item(5, "i-0000000000000000a", NOW + TTL, 1);
        in.n_items = 3;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_WAIT);
        /* Budget 0: never. */
        in.budget = 0;
        assert_int_equal(lease_plan(&in, &p), 0);
        assert_int_equal(p.verb, LEASE_WAIT);
        in.budget = LEASE_MAX_SLOTS + 1;
        assert_int_equal(lease_plan(&in, &p), -EINVAL);
}

static void test_call_margin_and_lost_answers(void **state) {
        LeaseItem it = item(0, "i-0000000000000000a", NOW + LEASE_SKEW_MARGIN_SEC + 1, 1);
        (void) state;

        assert_true(lease_valid_for_call(&it, "i-0000000000000000a", NOW));
        it.expires_at = NOW + LEASE_SKEW_MARGIN_SEC; /* inside the margin: stop */
        assert_false(lease_valid_for_call(&it, "i-0000000000000000a", NOW));
        assert_false(lease_valid_for_call(&it, "i-0000000000000000b", NOW - 100));
        assert_false(lease_valid_for_call(NULL, "i-0000000000000000a", NOW));
        assert_true(lease_claim_was_ours(&it, "i-0000000000000000a", NOW));
        assert_false(lease_claim_was_ours(&it, "i-0000000000000000b", NOW));
        assert_false(lease_claim_was_ours(NULL, "i-0000000000000000a", NOW));
}

static void test_items_check(void **state) {
        LeaseItem ok[] = { item(0, "i-0123456789abcdef0", NOW, 3), item(1, "i-0aaaaaaaa", NOW, 1) };
        LeaseItem dup[] = { item(0, "i-0123456789abcdef0", NOW, 3),
                            item(0, "i-0aaaaaaaa", NOW, 1) };
        LeaseItem beyond[] = { item(LEASE_MAX_SLOTS, "i-0123456789abcdef0", NOW, 1) };
        LeaseItem garbage[] = { item(2, "not-an-instance", NOW, 1) };
        LeaseItem back[] = { item(0, "i-0123456789abcdef0", NOW, 2) };
        unsigned slot = 99;
        (void) state;

        assert_int_equal(lease_items_check(ok, 2, NULL, 0, &slot), 0);
        assert_int_equal(lease_items_check(dup, 2, NULL, 0, &slot), -EBADMSG);
        assert_int_equal(slot, 0);
        assert_int_equal(lease_items_check(beyond, 1, NULL, 0, &slot), -EBADMSG);
        assert_int_equal(lease_items_check(garbage, 1, NULL, 0, &slot), -EBADMSG);
        assert_int_equal(slot, 2);
        /* A version that goes backwards from what we saw. */
        assert_int_equal(lease_items_check(back, 1, ok, 2, &slot), -EBADMSG);
        assert_int_equal(lease_items_check(ok, 2, back, 1, &slot), 0);
        assert_string_equal(lease_verb_to_string(LEASE_TAKEOVER), "takeover");
}

/* ---- many agents, one linearizable store ------------------------------------------ */

#define AGENTS 100
#define BUDGET 10

/* Room for twice the budget: a planner that claimed past it would show in the count. */
#define ROOM (2 * BUDGET)

typedef struct Store {
        LeaseItem items[ROOM];
        bool present[ROOM];
} Store;

static size_t snapshot(const Store *s, LeaseItem *out) {
        size_t n = 0;

        for (unsigned k = 0; k < ROOM; k++)
                if (s->present[k])
                        out[n++] = s->items[k];
        return n;
}

/* The conditional write, atomically, as DynamoDB applies it. */
static bool conditional_write(Store *s, const LeasePlan *p, const char *self) {
        unsigned k = p->slot;

        if (k >= ROOM)
                return false;
        if (p->expect_absent ? s->present[k] : (!s->present[k] || s->items[k].version != p->expect))
                return false;
        s->present[k] = true;
        s->items[k] = item(k, self, p->expires_at, p->next_version);
        return true;
}

static void test_agents_racing_never_exceed_the_budget(void **state) {
        static Store store;
        LeaseItem seen[AGENTS][ROOM];
        size_t n_seen[AGENTS];
        char ids[AGENTS][20];
        bool holding[AGENTS] = {}, done[AGENTS] = {};
        unsigned served = 0;
        uint64_t rng = 42;
        time_t now = NOW;
        (void) state;

        for (int a = 0; a < AGENTS; a++)
                snprintf(ids[a], sizeof(ids[a]), "i-%017x", a + 1);
        /* Everyone reads first (the worst case: all decide on the same picture), then the
         * writes land in a random order; then rounds of read, decide, write, interleaved. */
        for (int a = 0; a < AGENTS; a++)
                n_seen[a] = snapshot(&store, seen[a]);
        for (int round = 0; round < 400 && served < AGENTS; round++) {
                for (int step = 0; step < AGENTS; step++) {
                        unsigned a;
                        LeasePlan p;
                        unsigned held = 0;

                        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                        a = (unsigned) (rng >> 33) % AGENTS;
                        if (done[a])
                                continue;
                        LeaseInput in = { .self = ids[a],
                                          .budget = BUDGET,
                                          .items = seen[a],
                                          .n_items = n_seen[a],
                                          .now = now,
                                          .ttl = TTL,
                                          .unit = (double) ((rng >> 11) & 0xffff) / 65536.0 };
                        assert_int_equal(lease_plan(&in, &p), 0);
                        if ((p.verb == LEASE_CLAIM || p.verb == LEASE_TAKEOVER) &&
                            conditional_write(&store, &p, ids[a]))
                                holding[a] = true;
                        /* Invariant: distinct valid holders never exceed the budget. */
                        for (int b = 0; b < AGENTS; b++)
                                if (holding[b])
                                        held++;
                        assert_true(held <= BUDGET);
                        n_seen[a] = snapshot(&store, seen[a]); /* its next read */
                }
                /* The holders finish: their instances are replaced and release. */
                for (int a = 0; a < AGENTS; a++)
                        if (holding[a]) {
                                for (unsigned k = 0; k < BUDGET; k++)
                                        if (store.present[k] &&
                                            streq(store.items[k].holder, ids[a]))
                                                store.items[k].expires_at = now - 1;
                                holding[a] = false;
                                done[a] = true;
                                served++;
                        }
                now += 60;
        }
        /* And once the reasons go, everyone got its turn, budget at a time. */
        assert_int_equal(served, AGENTS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_call_margin_and_lost_answers),
                cmocka_unit_test(test_items_check),
                cmocka_unit_test(test_agents_racing_never_exceed_the_budget),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/list.h"

typedef struct Item Item;
struct Item {
        int v;
        LIST_FIELDS(Item, items);
};

/* The list as digits, walked both ways: "312" forwards must read "213" backwards. */
static void expect(Item *head, const char *want) {
        char fwd[16] = "", back[16] = "";
        size_t n = 0, m = 0;
        Item *i, *last = NULL;

        LIST_FOREACH(items, i, head) {
                fwd[n++] = (char) ('0' + i->v);
                last = i;
        }
        for (i = last; i; i = i->items_prev)
                back[m++] = (char) ('0' + i->v);
        assert_string_equal(fwd, want);
        for (size_t k = 0; k < m; k++)
                assert_int_equal(back[k], want[m - 1 - k]);
        if (head)
                assert_null(head->items_prev);
}

static void test_list(void **state) {
        Item a = { 1 }, b = { 2 }, c = { 3 }, d = { 4 };
        LIST_HEAD(Item, head) = NULL;
        Item *i, *n;
        (void) state;

        expect(head, "");
        LIST_APPEND(items, head, &a);
        LIST_APPEND(items, head, &b);
        LIST_PREPEND(items, head, &c);
        expect(head, "312");
        LIST_REMOVE(items, head, &a); /* middle */
        expect(head, "32");
        LIST_APPEND(items, head, &d);
        LIST_REMOVE(items, head, &c); /* head */
        expect(head, "24");
        LIST_REMOVE(items, head, &d); /* tail */
        expect(head, "2");
        assert_null(d.items_next);
        assert_null(d.items_prev);
        LIST_PREPEND(items, head, &a);
        LIST_PREPEND(items, head, &c);
        /* Removing the current item while walking, the _SAFE way. */
        LIST_FOREACH_SAFE(items, i, n, head)
        if (i->v != 2)
                LIST_REMOVE(items, head, i);
        expect(head, "2");
        LIST_REMOVE(items, head, &b);
        expect(head, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

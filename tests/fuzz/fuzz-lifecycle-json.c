/* SPDX-License-Identifier: MIT */
/* libFuzzer: the IMDS lifecycle notices (spot, rebalance, scheduled events, target state)
 * and the times in them. Whatever a parser accepts must be what it promises. */
#include <stddef.h>
#include <stdint.h>

#include "lifecycle/lifecycle.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool plain(const char *s, size_t max) {
        size_t n = strnlen(s, max);

        if (n == 0 || n >= max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        LifecycleScheduled ev[LIFECYCLE_MAX_SCHEDULED];
        LifecycleTarget target;
        LifecycleSpot spot;
        char buf[64];
        size_t n = 0;
        time_t t;

        if (lifecycle_parse_spot(text, size, &spot) == 0 && !streq(spot.action, "terminate") &&
            !streq(spot.action, "stop") && !streq(spot.action, "hibernate"))
                __builtin_trap();
        (void) lifecycle_parse_rebalance(text, size, &t);
        if (lifecycle_parse_scheduled(text, size, ev, ELEMENTSOF(ev), &n) == 0) {
                if (n > ELEMENTSOF(ev))
                        __builtin_trap();
                for (size_t i = 0; i < n; i++)
                        if (!plain(ev[i].code, sizeof(ev[i].code)) ||
                            !plain(ev[i].id, sizeof(ev[i].id)))
                                __builtin_trap();
        }
        if (lifecycle_parse_target(text, size, &target) == 0 &&
            (target < LIFECYCLE_TARGET_IN_SERVICE || target >= _LIFECYCLE_TARGET_MAX))
                __builtin_trap();
        if (size < sizeof(buf)) {
                memcpy(buf, data, size);
                buf[size] = 0;
                (void) lifecycle_parse_time(buf, &t);
        }
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>

#include "base/metric-name.h"

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int metric_name_sanitize(const char *in, char *buf, size_t size) {
        size_t n = 0;
        bool gap = false;

        if (!in || !buf || size < 2)
                return -EINVAL;
        for (const char *p = in; *p; p++) {
                if (!is_alnum(*p)) {
                        gap = n > 0; /* a leading run is dropped, an inner one is one '_' */
                        continue;
                }
                /* What this character needs: a '_' for the gap or a leading digit, itself. */
                size_t need = 1 + (gap || (n == 0 && *p <= '9'));
                if (n + need > size - 1)
                        break;
                if (gap || (n == 0 && *p <= '9'))
                        buf[n++] = '_';
                buf[n++] = *p;
                gap = false;
        }
        buf[n] = '\0';
        return n > 0 ? (int) n : -EINVAL;
}

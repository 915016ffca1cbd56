/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/history.h"

void history_add(History *h, time_t t, const char *fmt, ...) {
        char stamp[32], text[HISTORY_LINE - sizeof(stamp)];
        struct tm tm;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        if (h->n == HISTORY_MAX)
                memmove(h->lines, h->lines[1], (HISTORY_MAX - 1) * sizeof(h->lines[0]));
        else
                h->n++;
        snprintf(h->lines[h->n - 1], sizeof(h->lines[0]), "%s %s", stamp, text);
}

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A second look at a file libconfig refused with a bare "syntax error": libconfig 1.5
 * names neither the token nor what was expected, and puts an unclosed brace on the
 * last line. This scanner reads the same grammar (settings, groups { }, lists ( ),
 * arrays [ ], scalars, the three comment styles) and says what is wrong, where, with a
 * hint. It is only consulted after libconfig failed, and says nothing when it finds
 * nothing: the caller then keeps libconfig's own line. Pure; hostile input is the
 * norm (any bytes, any length, any nesting).
 */

#include <stddef.h>

#define CONFIG_SCAN_MESSAGE_MAX 256

typedef struct ConfigScanResult {
        int line; /* 1-based */
        char message[CONFIG_SCAN_MESSAGE_MAX];
} ConfigScanResult;

/* 1 with the first problem found in *ret, 0 when the text reads as valid to it. */
int config_scan(const char *text, size_t len, ConfigScanResult *ret);

/* SPDX-License-Identifier: MIT */
/* The syntax pre-scanner (config/config-scan.c) on any bytes, any nesting. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config-scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ConfigScanResult res;

        if (config_scan((const char *) data, size, &res) > 0 &&
            (res.line < 1 || strnlen(res.message, sizeof(res.message)) == sizeof(res.message)))
                __builtin_trap(); /* a found problem always has a line and a message */
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "daemon/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        StatusRequest req;
        char name[STATUS_NAME_MAX];

        (void) status_parse_request((const char *) data, size, &req, name);
        return 0;
}

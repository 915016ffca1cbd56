/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        State s = {};

        if (state_parse((const char *) data, size, "i-0123456789abcdef0",
                        "11111111-2222-3333-4444-555555555555", &s) == 0) {
                char *text = NULL;
                if (state_format(&s, &text) == 0)
                        free(text);
                state_done(&s);
        }
        return 0;
}

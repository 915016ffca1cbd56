/* SPDX-License-Identifier: MIT */
/* libFuzzer: the IMDS answers drover parses (identity document, tag keys, life cycle). */
#include <stddef.h>
#include <stdint.h>

#include "imds/imds.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        const char *field = NULL;
        ImdsIdentity id;
        ImdsLifeCycle l;
        char **keys = NULL;

        if (imds_parse_identity(text, size, &id, &field) == 0) {
                /* What the parser accepts must be the plain strings it promises. */
                if (!strneq(id.instance_id, "i-", 2) || !strneq(id.image_id, "ami-", 4) ||
                    strlen(id.account_id) != 12 ||
                    !strneq(id.availability_zone, id.region, strlen(id.region)))
                        __builtin_trap();
        } else if (!field && size <= IMDS_IDENTITY_MAX)
                __builtin_trap();
        if (imds_parse_tag_keys(text, size, &keys) == 0) {
                if (strv_length(keys) > IMDS_MAX_TAGS)
                        __builtin_trap();
                strv_free(keys);
        }
        (void) imds_parse_life_cycle(text, size, &l);
        (void) imds_tag_value_valid(text, size);
        return 0;
}

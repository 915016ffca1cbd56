/* SPDX-License-Identifier: MIT */
/* libFuzzer target: both ends of the status socket. The daemon parses what any local
 * user writes to it; `drover status` parses what it reads back (status_parse_reply). */
#include <stddef.h>
#include <stdint.h>

#include "daemon/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        StatusRequest req;
        char name[STATUS_NAME_MAX];
        json_t *doc = NULL;
        int r;

        (void) status_parse_request((const char *) data, size, &req, name);
        r = status_parse_reply((const char *) data, size, &doc);
        if ((r == 0) != (doc != NULL) || (doc && !json_is_object(doc)))
                __builtin_trap();
        if (doc) {
                /* What the client prints walks the whole document: so does this. */
                char *again = json_dumps(doc, JSON_COMPACT);
                free(again);
        }
        json_decref(doc);
        return 0;
}

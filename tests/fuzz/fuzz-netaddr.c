/* SPDX-License-Identifier: MIT */
/* The http.allow and http.listen parsers, and the match, on arbitrary bytes. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char text[NETADDR_TEXT_MAX * 2];
        struct sockaddr_storage ss;
        socklen_t len;
        NetPrefix p;

        if (size >= sizeof(text))
                size = sizeof(text) - 1;
        memcpy(text, data, size);
        text[size] = 0;
        if (netaddr_parse_prefix(text, &p) == 0 && p.bits > (p.family == AF_INET ? 32U : 128U))
                __builtin_trap();
        if (netaddr_parse_listen(text, &ss, &len) == 0) {
                char buf[64];
                /* A listen address is also a source: it must match or not, never crash. */
                (void) netaddr_allowed(NULL, 0, (struct sockaddr *) &ss, len);
                (void) netaddr_format((struct sockaddr *) &ss, len, buf, sizeof(buf));
        }
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the statsd address and prefix parsers (config input), and the packer
 * fed with hostile check names and perfdata labels. Invariants: no datagram over the
 * limit, and no byte in a line that statsd would read as a separator.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/statsd-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_datagrams(const StatsdPacker *p) {
        for (size_t i = 0; i < statsd_packer_n_datagrams(p); i++) {
                size_t len;
                const char *d = statsd_packer_datagram(p, i, &len);
                if (len == 0 || len > STATSD_DATAGRAM_MAX || memchr(d, '\0', len) || d[0] == '\n' ||
                    d[len - 1] == '\n')
                        __builtin_trap();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(statsd_packer_freep) StatsdPacker *p = NULL;
        char *s = strndup((const char *) data, size), *label;
        double v;

        if (!s)
                return 0;
        (void) statsd_address_parse(s, NULL, NULL);
        (void) statsd_prefix_valid(s);
        if (statsd_packer_new("drover", size % 2 ? STATSD_TAGS_DOGSTATSD : STATSD_TAGS_NONE, &p) <
            0) {
                free(s);
                return 0;
        }
        /* "check\nlabel\n...": the first line names the check, the others are labels. */
        label = strchr(s, '\n');
        if (label)
                *label++ = '\0';
        v = size ? (double) (int8_t) data[0] : 0;
        (void) statsd_packer_add_check(
                p, &(StatsdIdentity){ .asg = s, .instance_id = s, .per_instance = true }, s, 2, v);
        for (char *l = label; l && *l;) {
                char *next = strchr(l, '\n');
                if (next)
                        *next++ = '\0';
                (void) statsd_packer_add_perfdata(p, NULL, s, l, v);
                l = next;
        }
        check_datagrams(p);
        free(s);
        return 0;
}

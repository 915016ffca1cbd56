/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics/statsd.h"

struct Statsd {
        int fd;
        char *address;
        StatsdPacker *packer;
        uint64_t sent, dropped;
};

int statsd_new(const char *address, const char *prefix, StatsdTags tags, Statsd **ret) {
        _cleanup_(statsd_freep) Statsd *s = NULL;
        struct sockaddr_storage ss;
        socklen_t len;
        int r;

        r = statsd_address_parse(address, &ss, &len);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->address = strdup(address);
        if (!s->address)
                return -ENOMEM;
        r = statsd_packer_new(prefix, tags, &s->packer);
        if (r < 0)
                return r;
        s->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
                return -errno;
        /* connect() on UDP only fixes the peer: no packet, no wait. */
        if (connect(s->fd, (struct sockaddr *) &ss, len) < 0)
                return -errno;
        *ret = TAKE_PTR(s);
        return 0;
}

Statsd *statsd_free(Statsd *s) {
        if (!s)
                return NULL;
        if (s->fd >= 0)
                (void) close(s->fd);
        statsd_packer_free(s->packer);
        free(s->address);
        free(s);
        return NULL;
}

StatsdPacker *statsd_packer(Statsd *s) {
        return s ? s->packer : NULL;
}

unsigned statsd_flush(Statsd *s) {
        unsigned dropped = 0;

        if (!s)
                return 0;
        for (size_t i = 0; i < statsd_packer_n_datagrams(s->packer); i++) {
                size_t len;
                const char *d = statsd_packer_datagram(s->packer, i, &len);
                ssize_t n = send(s->fd, d, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                /* EAGAIN, ECONNREFUSED (an ICMP from an earlier one), ENOBUFS: all the
                 * same to us, the loop does not wait for a metrics collector. */
                if (n == (ssize_t) len)
                        s->sent++;
                else
                        dropped++;
        }
        s->dropped += dropped;
        statsd_packer_clear(s->packer);
        return dropped;
}

void statsd_count_dropped(Statsd *s) {
        if (s)
                s->dropped++;
}

const char *statsd_address(const Statsd *s) {
        return s ? s->address : NULL;
}

uint64_t statsd_sent(const Statsd *s) {
        return s ? s->sent : 0;
}

uint64_t statsd_dropped(const Statsd *s) {
        return s ? s->dropped : 0;
}

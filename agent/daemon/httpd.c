/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd on sd-event. MHD_USE_EPOLL without a polling thread gives one epoll
 * descriptor per daemon that is readable when anything (the listener, any connection)
 * needs work; MHD_run() does that work without blocking and MHD_get_timeout() says when
 * MHD next needs to run on its own (idle timeouts). A sweep timer adds what MHD lacks: a
 * deadline on the whole request. It shuts an overdue socket down (not close: the
 * descriptor stays MHD's, so it cannot be reused under it), MHD sees end-of-file and
 * closes the connection itself.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "daemon/httpd.h"

#define LISTEN_BACKLOG 64

typedef struct Conn Conn;
struct Conn {
        Conn *prev, *next;
        int fd;
        uint64_t since; /* CLOCK_MONOTONIC: accept, or the last completed request */
        bool shut;
};

typedef struct Listener {
        Httpd *h;
        struct MHD_Daemon *d;
        sd_event_source *io, *timer;
} Listener;

struct Httpd {
        sd_event *event;
        Listener *listeners;
        size_t n_listeners;
        NetPrefix *allow;
        size_t n_allow;
        httpd_handler_t handler;
        void *userdata;
        Conn *conns;
        unsigned n_conns;
        sd_event_source *sweep;
};

static void listener_rearm(Listener *l) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(l->d, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(l->timer, (uint64_t) ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;

        (void) MHD_run(l->d);
        listener_rearm(l);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_io(NULL, -1, 0, userdata);
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        Httpd *h = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        for (Conn *c = h->conns; c; c = c->next)
                if (!c->shut && now - c->since > HTTPD_DEADLINE_USEC) {
                        (void) shutdown(c->fd, SHUT_RDWR);
                        c->shut = true;
                }
        /* Idle (no connection): no wakeups; the next accept arms it again. */
        (void) sd_event_source_set_time_relative(s, USEC_PER_SEC);
        (void) sd_event_source_set_enabled(s, h->conns ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
        return 0;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
        Httpd *h = cls;
        Conn *c = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *fd =
                        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
                c = calloc(1, sizeof(*c));
                if (!c) /* untracked: MHD's idle timeout still closes it */
                        return;
                c->fd = fd ? fd->connect_fd : -1;
                c->since = now_usec(CLOCK_MONOTONIC);
                c->next = h->conns;
                if (h->conns)
                        h->conns->prev = c;
                h->conns = c;
                h->n_conns++;
                *socket_context = c;
                if (sd_event_source_get_enabled(h->sweep, NULL) == 0) {
                        (void) sd_event_source_set_time_relative(h->sweep, USEC_PER_SEC);
                        (void) sd_event_source_set_enabled(h->sweep, SD_EVENT_ONESHOT);
                }
        } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && c) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        h->conns = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                h->n_conns--;
                free(c);
                *socket_context = NULL;
        }
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        const union MHD_ConnectionInfo *i =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        Conn *c = i ? i->socket_context : NULL;

        /* A keep-alive connection gets a fresh deadline for its next request. */
        if (c && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
                c->since = now_usec(CLOCK_MONOTONIC);
}

static bool source_allowed(Httpd *h, struct MHD_Connection *connection) {
        const union MHD_ConnectionInfo *i =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = i ? i->client_addr : NULL;
        socklen_t len;

        if (!sa)
                return false;
        len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        return netaddr_allowed(h->allow, h->n_allow, sa, len);
}

static enum MHD_Result queue(struct MHD_Connection *connection, unsigned status, const char *type,
                             char *body, size_t len, bool allow_header) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        enum MHD_Result ret;

        if (!r) {
                free(body);
                return MHD_NO; /* MHD closes the connection */
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (allow_header)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        ret = MHD_queue_response(connection, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result plain(struct MHD_Connection *connection, unsigned status, const char *text,
                             bool allow_header) {
        char *body = strdup(text);

        if (!body)
                return MHD_NO;
        return queue(connection, status, "text/plain; charset=utf-8", body, strlen(body),
                     allow_header);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
        Httpd *h = cls;
        HttpdRequest req = { .path = url };
        HttpdResponse res = {};
        int r;

        /* Answered on the first call, before any body: nothing a client sends is kept. */
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return plain(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", true);
        req.format = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "format");
        req.allowed = source_allowed(h, connection);
        r = h->handler(&req, &res, h->userdata);
        if (r < 0) {
                free(res.body);
                return plain(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", false);
        }
        return queue(connection, res.status, res.content_type, res.body, res.len, false);
}

static int listen_on(const char *entry, int *ret_fd) {
        struct sockaddr_storage ss;
        socklen_t len;
        int fd, one = 1;

        if (netaddr_parse_listen(entry, &ss, &len) < 0)
                return -EINVAL;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int listener_start(Httpd *h, Listener *l, const char *entry, unsigned limit) {
        const union MHD_DaemonInfo *info;
        int fd = -1, r;

        r = listen_on(entry, &fd);
        if (r < 0)
                return r;
        l->h = h;
        l->d = MHD_start_daemon(
                MHD_USE_EPOLL, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned) limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                (unsigned) MIN(limit, HTTPD_PER_SOURCE), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                (size_t) HTTPD_REQUEST_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned) HTTPD_IDLE_TIMEOUT_SEC, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                (unsigned) LISTEN_BACKLOG, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
        if (!l->d) {
                close(fd);
                return -EIO;
        }
        info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        if ((r = sd_event_add_io(h->event, &l->io, info->epoll_fd, EPOLLIN, on_io, l)) < 0 ||
            (r = sd_event_add_time_relative(h->event, &l->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                            on_timer, l)) < 0)
                return r;
        listener_rearm(l);
        return 0;
}

int httpd_set_allow(Httpd *h, const NetPrefix *allow, size_t n_allow) {
        NetPrefix *copy = NULL;

        if (n_allow > 0 && !(copy = calloc(n_allow, sizeof(*copy))))
                return -ENOMEM;
        if (n_allow > 0)
                memcpy(copy, allow, n_allow * sizeof(*copy));
        free(h->allow);
        h->allow = copy;
        h->n_allow = n_allow;
        return 0;
}

int httpd_new(sd_event *e, char *const *listen, const NetPrefix *allow, size_t n_allow,
              unsigned max_connections, httpd_handler_t handler, void *userdata, Httpd **ret,
              const char **ret_failed) {
        Httpd *h = calloc(1, sizeof(Httpd));
        size_t n = strv_length(listen);
        int r;

        *ret_failed = NULL;
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(e);
        h->handler = handler;
        h->userdata = userdata;
        if (n == 0 || max_connections < n) {
                httpd_free(h);
                return -EINVAL;
        }
        h->listeners = calloc(n, sizeof(Listener));
        r = h->listeners ? httpd_set_allow(h, allow, n_allow) : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++, h->n_listeners++)
                if ((r = listener_start(h, &h->listeners[i], listen[i],
                                        max_connections / (unsigned) n)) < 0)
                        *ret_failed = listen[i];
        if (r >= 0)
                r = sd_event_add_time_relative(e, &h->sweep, CLOCK_MONOTONIC, USEC_PER_SEC,
                                               USEC_PER_SEC / 10, on_sweep, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->sweep, SD_EVENT_OFF);
        if (r < 0) {
                httpd_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

Httpd *httpd_free(Httpd *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_listeners; i++) {
                Listener *l = &h->listeners[i];
                sd_event_source_disable_unref(l->io);
                sd_event_source_disable_unref(l->timer);
                if (l->d)
                        MHD_stop_daemon(l->d); /* closes its connections, notifying us */
        }
        sd_event_source_disable_unref(h->sweep);
        free(h->listeners);
        free(h->allow);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

unsigned httpd_n_connections(const Httpd *h) {
        return h ? h->n_conns : 0;
}

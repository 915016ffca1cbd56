/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A tiny HTTP/1.1 server on 127.0.0.1 for unit tests, served from the same sd-event loop
 * as the client under test. Include after cmocka.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <systemd/sd-event.h>

#include "base/macro.h"

typedef struct Conn {
        int fd;
        sd_event_source *src;
        char buf[8192];
        size_t len;
} Conn;

typedef struct Server Server;
struct Server {
        int fd;
        uint16_t port;
        sd_event_source *listen;
        unsigned accepts, requests;
        const char *response; /* raw HTTP; NULL = never answer */
        /* If set, picks the answer per request (NULL = never answer). */
        const char *(*respond)(struct Server *srv, const char *request);
        void *userdata;
        char request[8192]; /* the last request, head and body */
        Conn conns[16];     /* closed at teardown */
};

/* A complete request: head plus Content-Length bytes of body. */
static inline bool request_complete(const char *b, size_t len) {
        const char *end = strstr(b, "\r\n\r\n"), *cl;

        if (!end)
                return false;
        cl = strcasestr(b, "\r\nContent-Length:");
        return (size_t) (end + 4 - b) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0) <= len;
}

static inline int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Server *srv = userdata;
        Conn *c = NULL;
        ssize_t n;

        for (size_t i = 0; i < ELEMENTSOF(srv->conns); i++)
                if (srv->conns[i].src == s)
                        c = &srv->conns[i];
        assert_non_null(c);
        n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (n <= 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF), 0;
        c->len += (size_t) n;
        c->buf[c->len] = 0;
        if (!request_complete(c->buf, c->len))
                return 0;
        srv->requests++;
        snprintf(srv->request, sizeof(srv->request), "%s", c->buf);
        c->len = 0;
        const char *answer = srv->respond ? srv->respond(srv, srv->request) : srv->response;
        if (answer)
                assert_true(write(fd, answer, strlen(answer)) > 0);
        return 0;
}

static inline int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Server *srv = userdata;
        Conn *c;

        assert_true(srv->accepts < ELEMENTSOF(srv->conns));
        c = &srv->conns[srv->accepts++];
        c->fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        assert_true(c->fd >= 0);
        assert_int_equal(sd_event_add_io(sd_event_source_get_event(s), &c->src, c->fd, EPOLLIN,
                                         on_conn, srv),
                         0);
        return 0;
}

static inline uint16_t listen_loopback(int *ret_fd) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &l), 0);
        *ret_fd = fd;
        return ntohs(a.sin_port);
}

static inline void server_start(sd_event *e, Server *srv) {
        srv->port = listen_loopback(&srv->fd);
        assert_int_equal(sd_event_add_io(e, &srv->listen, srv->fd, EPOLLIN, on_accept, srv), 0);
}

static inline void server_stop(Server *srv) {
        for (size_t i = 0; i < srv->accepts; i++) {
                sd_event_source_disable_unref(srv->conns[i].src);
                safe_close(srv->conns[i].fd);
        }
        sd_event_source_disable_unref(srv->listen);
        safe_close(srv->fd);
}

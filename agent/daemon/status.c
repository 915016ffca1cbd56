/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon/status.h"
#include "base/list.h"
#include "base/util.h"

/* A status request is one short line; anything bigger is not a client of ours. */
#define REQUEST_MAX 256
#define CLIENTS_MAX 16
#define CLIENT_TIMEOUT_USEC (2 * USEC_PER_SEC)
/* How long a client waits for room in a full listen queue, per attempt (two attempts). */
#define CONNECT_WAIT_USEC (2 * USEC_PER_SEC)

/* What a peer we will not answer reads before the close. */
static const char refused_reply[] =
        "{\"error\":\"access denied\",\"message\":\"drover status needs root or membership "
        "of status.group\"}";
static const char busy_reply[] =
        "{\"error\":\"busy\",\"message\":\"too many status clients, try again\"}";

typedef struct Client Client;

struct StatusServer {
        sd_event *event;
        sd_event_source *listen_source;
        int fd;
        char *path;
        gid_t allowed_gid;
        status_render_t render;
        void *userdata;
        LIST_HEAD(Client, clients);
        unsigned n_clients;
};

struct Client {
        StatusServer *server;
        LIST_FIELDS(Client, clients);
        int fd;
        sd_event_source *io, *timer;
        char request[REQUEST_MAX];
        size_t request_len;
        char *reply;
        size_t reply_len, reply_sent;
};

int status_parse_request(const char *buf, size_t len, StatusRequest *ret,
                         char ret_name[static STATUS_NAME_MAX]) {
        size_t n = len, k = strlen("status");

        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        if (n < k || memcmp(buf, "status", k) != 0)
                return -EBADMSG;
        if (n == k) {
                *ret = STATUS_REQUEST_STATUS;
                ret_name[0] = 0;
                return 0;
        }
        if (buf[k] != ' ' || n - k - 1 == 0 || n - k - 1 >= STATUS_NAME_MAX)
                return -EBADMSG;
        for (size_t i = k + 1; i < n; i++)
                if (buf[i] <= ' ' || buf[i] >= 0x7f)
                        return -EBADMSG;
        memcpy(ret_name, buf + k + 1, n - k - 1);
        ret_name[n - k - 1] = 0;
        *ret = STATUS_REQUEST_STATUS;
        return 0;
}

static size_t escaped_size(unsigned char c) {
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
                return 2;
        return c < 0x20 || c == 0x7f ? 6 : 1; /* \u00XX */
}

size_t status_output_fit(const char *s, size_t len, size_t escaped_max) {
        size_t used = 0, fit = 0;

        for (size_t i = 0; i < len; i++) {
                used += escaped_size((unsigned char) s[i]);
                if (used > escaped_max)
                        break;
                /* Only a byte that ends a character may end the cut. */
                if (i + 1 == len || ((unsigned char) s[i + 1] & 0xc0) != 0x80)
                        fit = i + 1;
        }
        return fit;
}

bool status_peer_allowed(uid_t peer_uid, gid_t peer_gid, const gid_t *peer_groups, size_t n_groups,
                         uid_t self_uid, gid_t allowed_gid) {
        if (peer_uid == 0 || peer_uid == self_uid)
                return true;
        if (allowed_gid == (gid_t) -1)
                return false;
        if (peer_gid == allowed_gid)
                return true;
        for (size_t i = 0; i < n_groups; i++)
                if (peer_groups[i] == allowed_gid)
                        return true;
        return false;
}

static void client_free(Client *c) {
        StatusServer *s = c->server;

        LIST_REMOVE(clients, s->clients, c);
        s->n_clients--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        free(c->reply);
        free(c);
}

static bool client_allowed(StatusServer *s, int fd) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        gid_t groups[64];
        socklen_t glen = sizeof(groups);
        size_t n_groups = 0;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) >= 0)
                n_groups = glen / sizeof(gid_t);
        return status_peer_allowed(cred.uid, cred.gid, groups, n_groups, geteuid(), s->allowed_gid);
}

static int client_prepare_reply(Client *c, json_t *doc) {
        c->reply = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!c->reply)
                return -ENOMEM;
        c->reply_len = strlen(c->reply);
        if (c->reply_len > STATUS_REPLY_MAX) {
                /* The render keeps under the cap by design; should it not, say so
                 * rather than send what the client would refuse. */
                size_t n = c->reply_len;

                c->reply = mfree(c->reply);
                return client_prepare_reply(c, json_pack("{s:i,s:s,s:I}", "schema", STATUS_SCHEMA,
                                                         "error", "status reply too large", "bytes",
                                                         (json_int_t) n));
        }
        return 0;
}

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;
        StatusRequest req;
        char name[STATUS_NAME_MAX];

        if (!c->reply) {
                ssize_t n =
                        read(fd, c->request + c->request_len, sizeof(c->request) - c->request_len);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (n <= 0)
                        goto done;
                c->request_len += (size_t) n;
                if (!memchr(c->request, '\n', c->request_len) &&
                    c->request_len < sizeof(c->request))
                        return 0;
                if (status_parse_request(c->request, c->request_len, &req, name) < 0) {
                        if (client_prepare_reply(
                                    c, json_pack("{s:s}", "error", "unknown request")) < 0)
                                goto done;
                } else if (client_prepare_reply(c, c->server->render(name[0] ? name : NULL,
                                                                     c->server->userdata)) < 0)
                        goto done;
                if (sd_event_source_set_io_events(src, EPOLLOUT) < 0)
                        goto done;
                return 0;
        }
        for (;;) {
                /* MSG_NOSIGNAL: a client that left early is EPIPE here, not SIGPIPE. */
                ssize_t n = send(fd, c->reply + c->reply_sent, c->reply_len - c->reply_sent,
                                 MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (n <= 0)
                        goto done;
                c->reply_sent += (size_t) n;
                if (c->reply_sent == c->reply_len)
                        goto done;
        }
done:
        client_free(c);
        return 0;
}

static int on_client_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        client_free(userdata);
        return 0;
}

/*
 * Tells a peer we will not serve why, without waiting for it: the short text fits in an
 * empty socket buffer, and a peer that is gone or full just misses it. What it sent is
 * read first so the close does not turn into a reset that hides the text.
 */
static void client_turn_away(int fd, const char *text) {
        char sink[REQUEST_MAX];

        (void) !recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
        (void) !send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void) shutdown(fd, SHUT_WR);
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        StatusServer *s = userdata;
        _cleanup_close_ int cfd = -1;
        Client *c;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0; /* EAGAIN, or the client went away: nothing to do */
        if (!client_allowed(s, cfd)) {
                client_turn_away(cfd, refused_reply);
                return 0;
        }
        if (s->n_clients >= CLIENTS_MAX) {
                client_turn_away(cfd, busy_reply);
                return 0;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return 0;
        c->server = s;
        c->fd = TAKE_FD(cfd);
        LIST_PREPEND(clients, s->clients, c);
        s->n_clients++;
        if (sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_client_io, c) < 0 ||
            sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, CLIENT_TIMEOUT_USEC, 0,
                                       on_client_timeout, c) < 0)
                client_free(c);
        return 0;
}

static int make_listen_socket(const char *path, int *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        /* Everyone may connect; the peer-credential check decides who gets an answer. A
         * queue as long as the kernel allows: a local user's connect flood is then turned
         * away at accept() instead of filling the queue in front of root's client. */
        if (chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0)
                return negative_errno();
        *ret = TAKE_FD(fd);
        return 0;
}

int status_server_new(sd_event *e, const char *path, gid_t allowed_gid, status_render_t render,
                      void *userdata, StatusServer **ret) {
        _cleanup_(status_server_freep) StatusServer *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->event = sd_event_ref(e);
        s->allowed_gid = allowed_gid;
        s->render = render;
        s->userdata = userdata;
        if (!(s->path = strdup(path)))
                return -ENOMEM;
        r = make_listen_socket(path, &s->fd);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &s->listen_source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

StatusServer *status_server_free(StatusServer *s) {
        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        sd_event_source_disable_unref(s->listen_source);
        if (s->fd >= 0) {
                safe_close(s->fd);
                (void) unlink(s->path);
        }
        sd_event_unref(s->event);
        free(s->path);
        free(s);
        return NULL;
}

void status_server_set_allowed_gid(StatusServer *s, gid_t gid) {
        s->allowed_gid = gid;
}

/* Waits for fd to be ready for events, within the deadline (CLOCK_MONOTONIC usec). */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = fd, .events = events };
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r > 0)
                        return 0;
        }
}

/*
 * A blocking connect waits for room in a full listen queue for at most SO_SNDTIMEO
 * (AF_UNIX); it then fails with EAGAIN, and we try once more. The socket is made
 * non-blocking afterwards for the bounded reads.
 */
static int connect_bounded(int fd, const struct sockaddr_un *sa) {
        struct timeval tv = { .tv_sec = CONNECT_WAIT_USEC / USEC_PER_SEC,
                              .tv_usec = CONNECT_WAIT_USEC % USEC_PER_SEC };
        int r = -EAGAIN, flags;

        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        for (int attempt = 0; attempt < 2 && r == -EAGAIN; attempt++) {
                r = connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) < 0 ? negative_errno()
                                                                               : 0;
                if (r == -EINTR)
                        r = -EAGAIN;
        }
        if (r < 0)
                return r;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

int status_parse_reply(const char *buf, size_t len, json_t **ret) {
        json_error_t err;
        const char *e;
        json_t *doc;
        int r;

        if (len == 0)
                return -EACCES; /* older daemons close on refused peers without a word */
        doc = json_loadb(buf, len, 0, &err);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return -EBADMSG;
        }
        e = json_string_value(json_object_get(doc, "error"));
        r = !e ? 0 : streq(e, "access denied") ? -EACCES : streq(e, "busy") ? -EBUSY : 0;
        if (r < 0) {
                json_decref(doc);
                return r;
        }
        *ret = doc;
        return 0;
}

int status_query(const char *path, const char *wide, unsigned timeout_ms, json_t **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_ms * USEC_PER_MSEC;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        char req[16 + STATUS_NAME_MAX];
        size_t len = 0;
        int n_req, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        r = connect_bounded(fd, &sa);
        if (r < 0)
                return r;
        n_req = snprintf(req, sizeof(req), "status%s%s\n", wide ? " " : "", strempty(wide));
        if (n_req < 0 || (size_t) n_req >= sizeof(req))
                return -EINVAL;
        /* A daemon that refuses us may close before our request is written (EPIPE):
         * its reason is waiting to be read all the same. */
        if (send(fd, req, (size_t) n_req, MSG_NOSIGNAL) != n_req && errno != EPIPE)
                return negative_errno();
        if (!(buf = malloc(STATUS_CLIENT_REPLY_MAX + 1)))
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                n = read(fd, buf + len, STATUS_CLIENT_REPLY_MAX - len);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n < 0 && errno == ECONNRESET && len == 0)
                        return -EACCES; /* closed on us unread: refused */
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == STATUS_CLIENT_REPLY_MAX)
                        return -EFBIG;
        }
        return status_parse_reply(buf, len, ret);
}

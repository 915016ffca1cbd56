/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The status socket: $RUNTIME_DIRECTORY/drover.sock. A client connects, writes one
 * request line ("status"), and reads one JSON document until EOF. Access is limited
 * by peer credentials: root, the daemon's own uid, or members of a configured group.
 */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "base/macro.h"

typedef struct StatusServer StatusServer;

/* Renders the daemon's state; the server takes the reference. */
typedef json_t *(*status_render_t)(void *userdata);

/*
 * Listens on path (an existing socket file is replaced). allowed_gid: (gid_t) -1 for
 * none. The server lives until status_server_free().
 */
int status_server_new(sd_event *e, const char *path, gid_t allowed_gid, status_render_t render,
                      void *userdata, StatusServer **ret);
StatusServer *status_server_free(StatusServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusServer *, status_server_free)
void status_server_set_allowed_gid(StatusServer *s, gid_t gid);

/* Pure: the request in buf (no NUL needed). 0 with the verb in *ret ("status"), -EBADMSG. */
typedef enum StatusRequest { STATUS_REQUEST_STATUS } StatusRequest;
int status_parse_request(const char *buf, size_t len, StatusRequest *ret);

/* Pure: may a peer with these credentials ask? */
bool status_peer_allowed(uid_t peer_uid, gid_t peer_gid, const gid_t *peer_groups, size_t n_groups,
                         uid_t self_uid, gid_t allowed_gid);

/*
 * Pure: the reply a client read (len bytes, no NUL needed). 0 with the document (an
 * object) in *ret; -EACCES when the daemon refused us (or closed without a word),
 * -EBUSY when it had too many clients, -EBADMSG for anything else.
 */
int status_parse_reply(const char *buf, size_t len, json_t **ret);

/*
 * Client side: asks the daemon at path. Waits a bounded time for room in a full listen
 * queue and tries once more. -ENOENT/-ECONNREFUSED when none runs, and the errors of
 * status_parse_reply().
 */
int status_query(const char *path, unsigned timeout_ms, json_t **ret);

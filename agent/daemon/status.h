/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The status socket: $RUNTIME_DIRECTORY/drover.sock. A client connects, writes one
 * request line ("status", or "status NAME" for one check's full output), and reads one
 * JSON document until EOF. Access is limited by peer credentials: root, the daemon's
 * own uid, or members of a configured group.
 */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "base/macro.h"

/*
 * The reply's bounds, all here so that server and client agree. A check's output is
 * cut in the reply to STATUS_OUTPUT_MAX bytes once JSON-escaped (a control byte
 * escapes to six), STATUS_WIDE_OUTPUT_MAX for the one check a "status NAME" asks for;
 * with CONFIG_CHECKS_MAX (1024) checks that stays under STATUS_REPLY_MAX, which the
 * server enforces on the whole document, itself well under what the client reads.
 */
#define STATUS_OUTPUT_MAX 1024U
#define STATUS_WIDE_OUTPUT_MAX (512U * 1024)
#define STATUS_REPLY_MAX (2U * 1024 * 1024)
#define STATUS_CLIENT_REPLY_MAX (4U * 1024 * 1024)
#define STATUS_NAME_MAX 128U /* a check name in a request, NUL included */

/* The version of the reply's layout (`schema` in the document, drover(8)). */
#define STATUS_SCHEMA 1

typedef struct StatusServer StatusServer;

/*
 * Renders the daemon's state; the server takes the reference. wide: the check whose
 * full output is asked for, or NULL.
 */
typedef json_t *(*status_render_t)(const char *wide, void *userdata);

/*
 * Listens on path (an existing socket file is replaced). allowed_gid: (gid_t) -1 for
 * none. The server lives until status_server_free().
 */
int status_server_new(sd_event *e, const char *path, gid_t allowed_gid, status_render_t render,
                      void *userdata, StatusServer **ret);
StatusServer *status_server_free(StatusServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusServer *, status_server_free)
void status_server_set_allowed_gid(StatusServer *s, gid_t gid);

/*
 * Pure: the request in buf (no NUL needed): "status" or "status NAME" (NAME: printable
 * ASCII without spaces, shorter than STATUS_NAME_MAX). 0 with the verb in *ret and the
 * name, or "", in ret_name; -EBADMSG.
 */
typedef enum StatusRequest { STATUS_REQUEST_STATUS } StatusRequest;
int status_parse_request(const char *buf, size_t len, StatusRequest *ret,
                         char ret_name[static STATUS_NAME_MAX]);

/*
 * Pure: how many bytes of s (len bytes, valid UTF-8) fit in escaped_max bytes once
 * escaped as a JSON string, cut only between characters.
 */
size_t status_output_fit(const char *s, size_t len, size_t escaped_max);

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
 * Client side: asks the daemon at path (wide: a check name, or NULL). Waits a bounded
 * time for room in a full listen queue and tries once more. -ENOENT/-ECONNREFUSED when
 * none runs, -EFBIG past STATUS_CLIENT_REPLY_MAX, and the errors of status_parse_reply().
 */
int status_query(const char *path, const char *wide, unsigned timeout_ms, json_t **ret);

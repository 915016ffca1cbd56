/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The health endpoint's HTTP server: libmicrohttpd in its external-epoll mode, driven
 * by the daemon's sd-event loop (one IO source on MHD's epoll descriptor and one timer
 * per listen address; no threads). It parses nothing itself and decides nothing about
 * health: it takes hostile clients off the handler's hands (methods other than GET and
 * HEAD get 405, request size capped, connections capped in total and per source, a
 * deadline on every request so a slowloris cannot hold a slot by trickling bytes) and
 * hands each request to the handler with whether its source is in the allow-list.
 */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "base/netaddr.h"

#define HTTPD_PER_SOURCE 8                      /* connections from one address */
#define HTTPD_REQUEST_MAX 8192                  /* bytes of request line and headers */
#define HTTPD_IDLE_TIMEOUT_SEC 5                /* nothing received for this long: closed */
#define HTTPD_DEADLINE_USEC (10 * USEC_PER_SEC) /* from accept (or the last answer) */

typedef struct Httpd Httpd;

typedef struct HttpdRequest {
        const char *path;   /* without the query */
        const char *format; /* ?format=..., NULL if absent */
        bool allowed;       /* the source is in the allow-list (loopback when it is empty) */
} HttpdRequest;

typedef struct HttpdResponse {
        unsigned status;
        const char *content_type; /* static */
        char *body;               /* malloc'd, taken by the server */
        size_t len;
} HttpdResponse;

/* Fills *ret for a GET (HEAD is the same without the body). Returns 0, or a negative
 * errno for a 500. Must not block. */
typedef int (*httpd_handler_t)(const HttpdRequest *req, HttpdResponse *ret, void *userdata);

/*
 * Listens on every entry of listen ("ADDR:PORT", "[V6]:PORT"; at least one). allow
 * (n_allow prefixes, copied) decides HttpdRequest.allowed. max_connections is the total
 * cap, split over the addresses. Returns 0 or a negative errno (-EADDRINUSE, ...);
 * *ret_failed then names the entry that failed, when one did.
 */
int httpd_new(sd_event *e, char *const *listen, const NetPrefix *allow, size_t n_allow,
              unsigned max_connections, httpd_handler_t handler, void *userdata, Httpd **ret,
              const char **ret_failed);
/* Closes every connection and listener. NULL ok. */
Httpd *httpd_free(Httpd *h);
/* A reloaded allow-list (copied); -ENOMEM keeps the old one. */
int httpd_set_allow(Httpd *h, const NetPrefix *allow, size_t n_allow);
/* Open connections, for status. */
unsigned httpd_n_connections(const Httpd *h);

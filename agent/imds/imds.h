/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * IMDSv2 client on Http: a session token (PUT /latest/api/token) fetched once, shared by
 * concurrent requests, refreshed before it expires and re-fetched once on a 401; retries
 * with backoff and jitter on timeouts, dropped connections, 5xx and 429; no proxy, ever;
 * capped responses. IMDSv1 (no token) only when allow_v1 is set and the token endpoint
 * says it does not exist (403/404/405).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imds/http.h"
#include "imds/imds-parse.h"

typedef struct ImdsConfig ImdsConfig; /* config.h */
typedef struct Imds Imds;
typedef struct ImdsCall ImdsCall;

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
typedef struct ImdsResult {
        int error;        /* 0, or negative errno (below) */
        const char *body; /* on success: NUL-terminated, len bytes; else "" */
        size_t len;
        const char *step;   /* on failure: "token request" or "GET /latest/..." */
        long status;        /* last HTTP status seen (0 = none) */
        unsigned attempts;  /* attempts made by the failing step */
        const char *detail; /* libcurl's message or a hint; "" if none */
} ImdsResult;

/*
 * Errors: -ENOENT for 404 (normal for spot/lifecycle paths), -EACCES for 401 after a
 * fresh token or for 403, -EPROTONOSUPPORT when only IMDSv1 is offered and allow_v1 is
 * off, -EREMOTEIO for 5xx, -EBUSY for 429 (both after the retries), transport errors as
 * from http.h (-ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EFBIG...), -ECANCELED never
 * (cancelled calls get no callback).
 */
typedef void (*imds_done_cb)(Imds *m, const ImdsResult *res, void *userdata);

/* Copies what it needs from cfg. The Http must outlive the Imds. */
int imds_new(Http *http, const ImdsConfig *cfg, Imds **ret);
/* Cancels pending calls without calling their callbacks. Accepts NULL. */
Imds *imds_free(Imds *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Imds *, imds_free)

const char *imds_endpoint(const Imds *m);

/*
 * GET path: "/latest/meta-data/instance-id", "latest/...", or relative to /latest
 * ("meta-data/instance-id", "dynamic/instance-identity/document"). Returns -EINVAL for a
 * bad path, -ENOMEM etc. for a local failure; then the callback is never called. On
 * success the callback runs exactly once, from the event loop (never from within
 * imds_get), unless the call is cancelled. ret may be NULL; the call it points to is
 * valid until its callback returns or it is cancelled. Callbacks must not free the Imds.
 */
int imds_get(Imds *m, const char *path, imds_done_cb cb, void *userdata, ImdsCall **ret);
void imds_call_cancel(ImdsCall *c);

/* The retry schedule used for every IMDS step (retries from the config). */
HttpRetryPolicy imds_retry_policy(unsigned retries);

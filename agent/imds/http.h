/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * HTTP on a libcurl multi handle driven by sd-event: every transfer is non-blocking and
 * finishes in a callback from the loop. One Http per sd_event; the multi handle keeps the
 * connection cache, so consecutive calls to the same host reuse their connection.
 *
 * Only http:// and https:// are allowed, redirects are never followed, TLS peers are
 * always verified. Retrying is the caller's business; http_retry_next() is the shared,
 * pure decision.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "base/macro.h"

typedef struct Http Http;
typedef struct HttpCall HttpCall;

#define HTTP_DEFAULT_TIMEOUT_MS 30000U
#define HTTP_DEFAULT_MAX_RESPONSE (1024U * 1024U)
#define HTTP_MAX_RESPONSE_HEADERS 64U /* more fail the call with -EFBIG */
#define HTTP_MAX_RESPONSE_HEADER_BYTES 16384U

typedef struct HttpRequest {
        const char *method; /* NULL = "GET" */
        const char *url;
        char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
        const void *body;     /* copied; NULL with body_len 0 for none */
        size_t body_len;
        unsigned timeout_ms;         /* whole transfer; 0 = HTTP_DEFAULT_TIMEOUT_MS */
        unsigned connect_timeout_ms; /* 0 = timeout_ms */
        size_t max_response;         /* body bytes; 0 = HTTP_DEFAULT_MAX_RESPONSE */
        bool no_proxy;               /* ignore proxies whatever the environment says */
        const char *ca_file;         /* NULL or "" = the system bundle */
} HttpRequest;

typedef struct HttpResponse {
        int error;        /* 0, or the transport failure as negative errno */
        long status;      /* HTTP status; 0 when no response was received */
        const char *body; /* NUL-terminated (never NULL), body_len bytes */
        size_t body_len;
        time_t date;               /* the Date header, -1 when absent or unparsable */
        const char *error_message; /* libcurl's explanation, "" if none */
        char *const *headers;      /* the final response's header lines, "Name: value" */
} HttpResponse;

/*
 * Called once per call from the event loop with the outcome; resp and everything it
 * points to are valid only during the callback. The call is freed after the callback
 * returns. The callback may start new calls and cancel other calls, but must not free
 * the Http.
 */
typedef void (*http_done_cb)(HttpCall *call, const HttpResponse *resp, void *userdata);

/* Takes a reference on e. */
int http_new(sd_event *e, Http **ret);
/* Cancels pending calls (their callbacks are not called). Accepts NULL. */
Http *http_free(Http *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Http *, http_free)

sd_event *http_get_event(Http *h);

/*
 * Starts a call. -EINVAL for a bad request (no URL, odd method), -ENOMEM. On success the
 * callback will be called exactly once unless the call is cancelled. ret may be NULL;
 * the pointer written there is valid until the callback returns or the call is cancelled.
 */
int http_request(Http *h, const HttpRequest *req, http_done_cb cb, void *userdata, HttpCall **ret);
/* Aborts a call without calling its callback. Accepts NULL. */
void http_call_cancel(HttpCall *call);

/* Number of calls in flight. */
size_t http_pending(const Http *h);

/*
 * Runs the event loop until *done is true. For one-shot CLI commands; the daemon runs
 * its own loop. Returns 0, or a negative errno if the loop failed or was exited.
 */
int http_run_until(Http *h, const bool *done);

/* Maps a CURLcode (an int, so that callers need not include curl.h) to a negative errno. */
int http_errno_from_curl(int curl_code, int os_errno);

/* Value of header name (case-insensitive) in the response, or NULL. */
const char *http_response_header(const HttpResponse *resp, const char *name);

/* Transport failures and statuses worth repeating: timeouts, refused or reset
 * connections, garbled replies, 429 and 5xx (but not 501/505). */
bool http_is_retryable(int error, long status);

typedef struct HttpRetryPolicy {
        unsigned retries;   /* repetitions after the first attempt */
        uint64_t base_usec; /* backoff base (full jitter) */
        uint64_t cap_usec;  /* backoff cap */
} HttpRetryPolicy;

/*
 * Pure retry decision. attempts = attempts made so far (>= 1), error/status = the outcome
 * of the last one, unit = random number in [0, 1). Returns true and the delay before the
 * next attempt if it is worth another one.
 */
bool http_retry_next(const HttpRetryPolicy *p, unsigned attempts, int error, long status,
                     double unit, uint64_t *ret_delay_usec);

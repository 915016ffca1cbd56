/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * IMDSv2 client on Http: a session token (PUT /latest/api/token) fetched once, shared by
 * concurrent requests, refreshed before it expires and re-fetched once on a 401; retries
 * with backoff and jitter on timeouts, dropped connections, 5xx and 429; no proxy, ever;
 * capped responses. IMDSv1 (no token) only when allow_v1 is set and the token endpoint
 * says it does not exist (403/404/405).
 *
 * Plus pure parsers for what drover reads from IMDS.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imds/http.h"

typedef struct ImdsConfig ImdsConfig; /* config.h */
typedef struct Imds Imds;
typedef struct ImdsCall ImdsCall;

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_MAX_RESPONSE (64U * 1024U)
#define IMDS_MAX_PATH 512U

#define IMDS_PATH_IDENTITY "/latest/dynamic/instance-identity/document"
#define IMDS_PATH_LIFE_CYCLE "/latest/meta-data/instance-life-cycle"
#define IMDS_PATH_TAGS "/latest/meta-data/tags/instance"

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

/* Normalises a path as imds_get does; writes "/latest/..." into buf. -EINVAL if bad. */
int imds_normalize_path(const char *path, char *buf, size_t size);

/* Pure token timing: usec of the token's life after which a new one is fetched: 85% of
 * the TTL, but at the latest 60 s (or half the TTL, if shorter) before it expires. */
uint64_t imds_token_refresh_after_usec(unsigned ttl_sec);
/* Whether a token fetched at fetched_usec with ttl_sec is still good to use at now_usec. */
bool imds_token_fresh(uint64_t fetched_usec, unsigned ttl_sec, uint64_t now_usec);

/* The retry schedule used for every IMDS step (retries from the config). */
HttpRetryPolicy imds_retry_policy(unsigned retries);

/* ---- parsers (pure, size-capped, never trust the input) ---- */

#define IMDS_IDENTITY_MAX 16384U

typedef struct ImdsIdentity {
        char instance_id[20];       /* i-[0-9a-f]{8,17} */
        char region[33];            /* [a-z0-9-]{1,32} */
        char availability_zone[49]; /* region + [a-z0-9-]{1,16} */
        char instance_type[33];     /* family.size, [a-z0-9-.] */
        char image_id[22];          /* ami-[0-9a-f]{8,17} */
        char account_id[13];        /* 12 digits */
} ImdsIdentity;

/*
 * Parses the instance identity document. -EBADMSG for malformed JSON or a missing or
 * invalid field (*ret_field, if given, then names it: a static string), -EFBIG past
 * IMDS_IDENTITY_MAX. *ret written on success only.
 */
int imds_parse_identity(const char *json, size_t len, ImdsIdentity *ret, const char **ret_field);

typedef enum ImdsLifeCycle {
        IMDS_LIFE_CYCLE_ON_DEMAND,
        IMDS_LIFE_CYCLE_SPOT,
        IMDS_LIFE_CYCLE_SCHEDULED,
        _IMDS_LIFE_CYCLE_MAX,
} ImdsLifeCycle;

const char *imds_life_cycle_to_string(ImdsLifeCycle l);
/* meta-data/instance-life-cycle: "on-demand", "spot" or "scheduled". -EBADMSG otherwise. */
int imds_parse_life_cycle(const char *body, size_t len, ImdsLifeCycle *ret);

#define IMDS_MAX_TAGS 64U
/*
 * meta-data/tags/instance: one tag key per line. Keys are checked against the rules EC2
 * applies when tags are exposed in IMDS (letters, digits, + - = . , _ : @; not "." or
 * ".." or "_index"; 1..128 bytes). *ret is a malloc'd NULL-terminated vector.
 */
int imds_parse_tag_keys(const char *body, size_t len, char ***ret);
/* A tag value: at most 256 characters of UTF-8 text without control characters. */
bool imds_tag_value_valid(const char *body, size_t len);

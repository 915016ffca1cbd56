/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * AWS credentials: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN) first, else the instance role from IMDS, fetched lazily on first
 * use and refreshed by a timer ahead of their Expiration (with jitter), retried with
 * backoff while the old ones are still valid. Secrets are never logged by anyone and
 * are wiped from memory when dropped.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws/sigv4.h"
#include "imds/imds.h"
#include "base/macro.h"

typedef struct Credentials Credentials;
typedef struct CredentialsWaiter CredentialsWaiter;

/* Caps on what IMDS may hand us. */
#define CREDENTIALS_MAX_KEY_ID 128U
#define CREDENTIALS_MAX_SECRET 128U
#define CREDENTIALS_MAX_TOKEN 8192U
#define CREDENTIALS_MAX_ROLE 64U

/* Refresh window: start this far ahead of Expiration, spread over the next JITTER. */
#define CREDENTIALS_REFRESH_AHEAD_SEC (15 * 60)
#define CREDENTIALS_REFRESH_JITTER_SEC (5 * 60)
/* Backoff for a failed refresh (full jitter). */
#define CREDENTIALS_RETRY_BASE_SEC 2
#define CREDENTIALS_RETRY_CAP_SEC 60

/*
 * Environment credentials are read here (and take precedence). imds may be NULL (then
 * only the environment is used); it and e must outlive the Credentials (takes a
 * reference on e). getenv_fn NULL means getenv (tests pass their own).
 */
int credentials_new(sd_event *e, Imds *imds, char *(*getenv_fn)(const char *), Credentials **ret);
/* Cancels waiters (no callbacks) and the timer; wipes the secrets. Accepts NULL. */
Credentials *credentials_free(Credentials *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Credentials *, credentials_free)

/*
 * The credentials to sign with at wall-clock time now, or NULL when there are none yet
 * or they expired. The pointers stay valid until the next return to the event loop.
 */
const SigV4Credentials *credentials_current(const Credentials *c, time_t now);

/* "environment", "instance-role:NAME" or "none" (nothing loaded yet, or no source). */
const char *credentials_source(const Credentials *c);
/* Expiration of the instance role's credentials (0 for environment or none). */
time_t credentials_expiration(const Credentials *c);
/* When the next refresh is scheduled (wall clock), 0 if none. */
time_t credentials_next_refresh(const Credentials *c);

/*
 * Waits for a fetch from IMDS (starting one if none is running). cb runs once from the
 * event loop: error 0 when credentials_current() now has credentials, else negative
 * errno (-ENOKEY when there is no source at all) and a static-or-owned message (valid
 * during the callback) saying which step failed. ret may be NULL.
 */
typedef void (*credentials_cb)(int error, const char *message, void *userdata);
int credentials_wait(Credentials *c, credentials_cb cb, void *userdata, CredentialsWaiter **ret);
void credentials_waiter_cancel(CredentialsWaiter *w);

/* AWS said the credentials are bad or expired: forget role credentials (not the
 * environment's), so the next call fetches new ones. */
void credentials_invalidate(Credentials *c);

/* ---- pure ---- */

typedef struct CredentialsKeys {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* NULL without */
        time_t expiration;   /* 0 for none */
} CredentialsKeys;

/* Wipes and frees the strings; leaves *k zeroed. */
void credentials_keys_done(CredentialsKeys *k);

/*
 * Parses IMDS's security-credentials/ROLE JSON: Code (if present) must be "Success";
 * AccessKeyId, SecretAccessKey, Token and Expiration ("2026-01-02T03:04:05Z") are
 * required and capped, printable ASCII. -EBADMSG (with *ret_field naming the field,
 * static) otherwise, -EFBIG for a body over IMDS_MAX_RESPONSE.
 */
int credentials_parse_imds(const char *json, size_t len, CredentialsKeys *ret,
                           const char **ret_field);
/* The first line of the security-credentials/ listing: the role name. -EBADMSG if empty
 * or not a valid IAM role name ([A-Za-z0-9+=,.@_-], 1..64). */
int credentials_parse_role(const char *body, size_t len, char **ret);

/* ISO 8601 UTC ("2026-01-02T03:04:05Z", optional fraction). -EINVAL otherwise. */
int credentials_parse_iso8601(const char *s, time_t *ret);

/*
 * When to refresh credentials that expire at expiration, seen at now; unit in [0, 1).
 * Normally expiration - 15 min + unit * 5 min (so done by 10 min ahead, spread out);
 * for credentials expiring within 15 min (or less than the window ahead), at half the
 * remaining lifetime; at once if already expired.
 */
time_t credentials_refresh_at(time_t now, time_t expiration, double unit);

/*
 * After failures failed refreshes in a row (>= 1), seconds until the next try: full
 * jitter over CREDENTIALS_RETRY_BASE_SEC * 2^(failures-1), capped, at least 1 s; and,
 * while old credentials are valid, never later than half their remaining life.
 */
uint64_t credentials_retry_delay_sec(unsigned failures, time_t now, time_t expiration, double unit);

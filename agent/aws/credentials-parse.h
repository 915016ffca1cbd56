/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The pure half of credentials.h: parsing what IMDS hands over and the refresh timing.
 * In the core library (no event loop, no network).
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

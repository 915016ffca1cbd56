/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * AWS Signature Version 4, as a pure function of a request description, credentials,
 * region, service and time. No I/O, no logging, no clock: the caller passes |now|.
 * Conventions follow the published AWS SigV4 test suite (../shared/sigv4-suite) and
 * botocore's SigV4Auth where the suite is silent.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/macro.h"

typedef struct SigV4Header {
        const char *name;
        const char *value;
} SigV4Header;

typedef struct SigV4Param {
        const char *key; /* unencoded */
        const char *value;
} SigV4Param;

typedef struct SigV4Request {
        const char *method;
        /*
         * The path as it goes on the request line ("/a b/../c" is fine). Non-S3 services:
         * dot segments and empty segments are removed, then every byte outside
         * A-Za-z0-9-._~ and "/" is %XX-encoded (so an already %-encoded path is encoded a
         * second time, as AWS requires). S3: no normalisation. NULL or "" means "/".
         */
        const char *path;
        /* Unencoded query parameters; repeated keys allowed. */
        const SigV4Param *params;
        size_t n_params;
        /* Or a query string as on the wire ("a=1&b=%20"), used only when n_params == 0. */
        const char *raw_query;
        /* Must include Host. Authorization and X-Amz-Date given here are replaced. */
        const SigV4Header *headers;
        size_t n_headers;
        const void *body;
        size_t body_len;
} SigV4Request;

typedef struct SigV4Credentials {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token; /* NULL or "" when none */
} SigV4Credentials;

enum {
        /* Add and sign x-amz-content-sha256 (S3 wants it; others do not need it). */
        SIGV4_ADD_CONTENT_SHA256 = 1 << 0,
        /* Add X-Amz-Security-Token after signing, outside SignedHeaders. */
        SIGV4_UNSIGNED_SESSION_TOKEN = 1 << 1,
        /* Do not normalise the path (implied for service "s3"). */
        SIGV4_NO_PATH_NORMALIZE = 1 << 2,
};

/* Input caps: beyond these sigv4_sign() returns -E2BIG. */
#define SIGV4_MAX_HEADERS 256
#define SIGV4_MAX_PARAMS 20000
#define SIGV4_MAX_STRING (1024 * 1024)

typedef struct SigV4Signed SigV4Signed;

/*
 * Signs. -EINVAL for a malformed request (missing method/Host, a header name that is not
 * an HTTP token, CR/LF/NUL or other control bytes in a header value, bad time),
 * -E2BIG past the caps, -ENOMEM, -EIO if OpenSSL fails. *ret owns everything it returns.
 */
int sigv4_sign(const SigV4Request *req, const SigV4Credentials *creds, const char *region,
               const char *service, time_t now, unsigned flags, SigV4Signed **ret);
SigV4Signed *sigv4_signed_free(SigV4Signed *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SigV4Signed *, sigv4_signed_free)

const char *sigv4_signed_canonical_request(const SigV4Signed *s);
const char *sigv4_signed_string_to_sign(const SigV4Signed *s);
const char *sigv4_signed_signature(const SigV4Signed *s);     /* 64 hex digits */
const char *sigv4_signed_authorization(const SigV4Signed *s); /* the header's value */
const char *sigv4_signed_amz_date(const SigV4Signed *s);      /* 20150830T123600Z */
const char *sigv4_signed_payload_hash(const SigV4Signed *s);
/*
 * The headers the caller must add to the request, in this order: X-Amz-Date,
 * X-Amz-Security-Token (with a token), x-amz-content-sha256 (if asked), Authorization.
 * Returns false past the end.
 */
bool sigv4_signed_header(const SigV4Signed *s, size_t i, const char **ret_name,
                         const char **ret_value);

/* "20150830T123600Z" for |t|; buf must hold 17 bytes. -EINVAL if t is out of range. */
int sigv4_format_amz_date(time_t t, char buf[static 17]);

/* kSigning = HMAC chain over "AWS4"+secret, date (YYYYMMDD), region, service. */
int sigv4_derive_key(const char *secret, const char *date8, const char *region, const char *service,
                     uint8_t ret_key[static 32]);

/* Lower-case hex SHA-256 of data; buf holds 65 bytes. */
int sigv4_sha256_hex(const void *data, size_t len, char buf[static 65]);

/*
 * AWS's URI encoding: bytes outside A-Z a-z 0-9 - _ . ~ become %XX (upper-case hex);
 * with keep_slash, "/" is kept too. *ret is malloc'd and NUL-terminated.
 */
int sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char **ret, size_t *ret_len);
/* Bytes that sigv4_uri_encode() would produce, without producing them. */
size_t sigv4_uri_encoded_len(const char *s, size_t len, bool keep_slash);

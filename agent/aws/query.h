/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The AWS Query protocol: requests are form-encoded POST bodies
 * ("Action=...&Version=...&Key=Value..."), answers are XML.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/sigv4.h"
#include "aws/xml.h"
#include "base/macro.h"

typedef struct QueryParams QueryParams;

/* A parameter list that starts with Action and Version. */
QueryParams *query_params_new(const char *action, const char *version);
QueryParams *query_params_free(QueryParams *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(QueryParams *, query_params_free)

/* Appends a parameter (copied). -ENOMEM, or -E2BIG past a sane limit of parameters. */
int query_params_add(QueryParams *p, const char *key, const char *value);
int query_params_addf(QueryParams *p, const char *key, const char *fmt, ...) _printf_(3, 4);
size_t query_params_count(const QueryParams *p);
const char *query_params_action(const QueryParams *p);

/*
 * application/x-www-form-urlencoded body by AWS's rules: RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - _ . ~) kept, everything else %XX in upper-case hex over UTF-8 bytes,
 * parameters in insertion order. *ret is malloc'd, NUL-terminated.
 */
int query_params_encode(const QueryParams *p, char **ret, size_t *ret_len);

/* query_params_add() accepts this many parameters in all (Action and Version included). */
#define QUERY_MAX_PARAMS 65536U
/* Longest key or value accepted. */
#define QUERY_MAX_VALUE (256U * 1024U)

/* ---- Signed requests -------------------------------------------------------------- */

typedef struct QueryTarget {
        /* "https://autoscaling.us-east-1.amazonaws.com" or "http://127.0.0.1:8080/x"; no
         * user info, query or fragment. Which schemes are allowed where is the caller's. */
        const char *endpoint;
        const char *region;
        const char *service; /* signing name: "autoscaling", "ec2", "monitoring" */
        bool gzip;           /* Content-Encoding: gzip; the signature covers the gzip bytes */
} QueryTarget;

/* A POST ready for http_request(): url, "Name: value" header lines, body. */
typedef struct QuerySigned {
        char *url;
        char **headers; /* NULL-terminated */
        void *body;
        size_t body_len;
        char *authorization; /* the Authorization value, for tests */
} QuerySigned;

/*
 * Encodes p, optionally gzips it, and signs a POST to target at time now (the caller's
 * clock with any learned skew offset applied). -EINVAL for a bad endpoint or credentials,
 * -ENOMEM, or the signer's error.
 */
int query_build(const QueryParams *p, const QueryTarget *target, const SigV4Credentials *creds,
                time_t now, QuerySigned **ret);
QuerySigned *query_signed_free(QuerySigned *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(QuerySigned *, query_signed_free)

/* ---- Answers ---------------------------------------------------------------------- */

/*
 * An AWS error document, either shape:
 *   <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *   <ErrorResponse><Errors><Error>...</Error></Errors><RequestId/></ErrorResponse> (moto
 *   and some AWS-compatible endpoints)
 *   <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response> (EC2)
 * Strings are malloc'd, "" when absent, cut at QUERY_ERROR_MAX_FIELD bytes of input and
 * escaped by text_escape_untrusted() (base/text.h) so they are safe to log.
 */
typedef struct QueryError {
        char *type, *code, *message, *request_id;
} QueryError;
#define QUERY_ERROR_MAX_FIELD 1024U

/*
 * What a failed answer was, for a log line after the error code: "HTTP 400: <message>"
 * when it was an AWS error document (the code is the caller's to print), "HTTP 500, not
 * an AWS error document" when the body was something else, "" without an HTTP answer
 * (status 0: the transport error says it). Always NUL-terminated, cut to size.
 */
void query_error_detail(long status, const char *code, const char *message, char *buf, size_t size);

/* -EBADMSG if body is not well-formed XML, -ENOMSG if it is XML but not an error document. */
int query_parse_error(const char *body, size_t len, QueryError *ret);
void query_error_done(QueryError *e);

/*
 * Parses a successful answer to |action|: the root must be <ActionResponse>. *ret is the
 * root (owning the tree): Query answers hold <ActionResult> and <ResponseMetadata>, EC2's
 * hold their fields directly. -EBADMSG for malformed XML or another root, -E2BIG past the
 * XML caps.
 */
int query_parse_response(const char *body, size_t len, const char *action, XmlNode **ret);
/* The RequestId of an answer (ResponseMetadata/RequestId, or EC2's requestId), or NULL. */
const char *query_response_request_id(const XmlNode *root);

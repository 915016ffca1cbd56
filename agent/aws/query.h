/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The AWS Query protocol: requests are form-encoded POST bodies
 * ("Action=...&Version=...&Key=Value..."), answers are XML.
 */

#include <stddef.h>

#include "macro.h"

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

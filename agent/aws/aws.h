/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The AWS client: region and endpoints, credentials (credentials.h), SigV4-signed Query
 * calls on Http with the SDKs' standard retry mode and clock-skew correction. One Aws per
 * daemon; calls are asynchronous and finish in a callback from the event loop.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "aws/aws-endpoint.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "config/config.h"
#include "imds/http.h"
#include "imds/imds.h"
#include "base/macro.h"

typedef struct Aws Aws;
typedef struct AwsCall AwsCall;

/*
 * region: the configured region or the identity document's. imds may be NULL (then
 * only environment credentials are used). Takes no ownership of http, imds or cfg; cfg
 * must outlive the Aws (the daemon makes a new Aws on reload when aws{} changed).
 */
int aws_new(Http *http, Imds *imds, const AwsConfig *cfg, const char *region, Aws **ret);
Aws *aws_free(Aws *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Aws *, aws_free)

typedef struct AwsResult {
        int error;           /* 0 on success; else negative errno: -EACCES (auth/permission
                               * codes), -EAGAIN (throttled after the retries), -EREMOTEIO (5xx
                               * after the retries), -EBADMSG (unparsable answer), -ENOKEY (no
                               * credentials), transport errors from http.h */
        long status;         /* last HTTP status, 0 if none */
        const char *code;    /* AWS error code, "" if none */
        const char *message; /* AWS error message (sanitised), "" if none */
        const XmlNode *root; /* success: the parsed answer (the <ActionResponse> element) */
        unsigned attempts;
} AwsResult;

/* result and what it points to are valid during the callback only. */
typedef void (*aws_done_t)(const AwsResult *result, void *userdata);

/*
 * Sends a Query call; takes ownership of params in all cases. gzip: compress the body
 * (PutMetricData). The callback runs exactly once unless the call is cancelled.
 */
int aws_call(Aws *a, AwsService s, QueryParams *params, bool gzip, aws_done_t cb, void *userdata,
             AwsCall **ret);
void aws_call_cancel(AwsCall *c);

/*
 * Added for paginated calls: from inside c's callback, sends another request (the next
 * page) on the same AwsCall, so the handle the caller holds stays valid; the callback
 * runs again with its answer. Takes ownership of params. -EBUSY outside the callback.
 */
int aws_call_continue(AwsCall *c, QueryParams *params);
/* Added: destroy(userdata) runs when the call is freed: after its last callback, or on
 * aws_call_cancel() (for typed layers that own their userdata). */
void aws_call_set_destroy(AwsCall *c, void (*destroy)(void *userdata));

/* For `drover status` and `drover aws-test`: what the client currently knows. */
const char *aws_region(const Aws *a);
const char *aws_endpoint_url(const Aws *a, AwsService s);
const char *aws_credentials_source(const Aws *a); /* "environment", "instance-role:NAME", "none" */
int64_t aws_clock_offset_sec(const Aws *a);
/* Expiration of the instance role's credentials, 0 for none or the environment's. */
time_t aws_credentials_expiration(const Aws *a);

/* Added: the response cap (big groups' DescribeAutoScalingGroups pages). */
#define AWS_MAX_RESPONSE XML_MAX_BYTES

/* SPDX-License-Identifier: MIT */
/*
 * The AWS client: one signed Query call is an AwsCall that may wait for credentials,
 * then makes up to max_attempts HTTP attempts (plus one immediate retry after learning
 * the clock offset, and one after fetching fresh role credentials that AWS called
 * expired), deciding each time with the pure retry.c functions.
 */
#include <stdio.h>

#include "aws/aws.h"
#include "aws/credentials.h"
#include "aws/retry.h"
#include "base/list.h"
#include "base/util.h"

struct Aws {
        Http *http;
        const AwsConfig *cfg;
        char *region;
        char *endpoints[_AWS_SERVICE_MAX];
        Credentials *creds;
        int64_t clock_offset;
        LIST_HEAD(AwsCall, calls);
};

struct AwsCall {
        Aws *aws;
        AwsService service;
        QueryParams *params;
        char *action;
        bool gzip;
        aws_done_t cb;
        void *userdata;

        void (*destroy)(void *userdata);
        bool *freed; /* set while the callback runs: tells finish() we are gone */
        bool in_callback, restart;

        unsigned attempts;
        bool skew_retried, creds_retried;
        HttpCall *http_call;
        CredentialsWaiter *waiter;
        sd_event_source *timer;
        LIST_FIELDS(AwsCall, calls);
};

static const char *const auth_codes[] = {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "MissingAuthenticationToken",
        "IncompleteSignature",
        "RequestExpired",
        "InvalidAccessKeyId",
        "OptInRequired",
        "NotAuthorized",
};

static bool code_in(const char *code, const char *const *set, size_t n) {
        for (size_t i = 0; code && i < n; i++)
                if (streq(code, set[i]))
                        return true;
        return false;
}

int aws_new(Http *http, Imds *imds, const AwsConfig *cfg, const char *region, Aws **ret) {
        _cleanup_(aws_freep) Aws *a = NULL;
        const char *overrides[_AWS_SERVICE_MAX];
        int r;

        if (!http || !cfg || !ret)
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->http = http;
        a->cfg = cfg;
        a->region = strdup(strempty(region));
        if (!a->region)
                return -ENOMEM;
        overrides[AWS_SERVICE_AUTOSCALING] = cfg->endpoint_autoscaling;
        overrides[AWS_SERVICE_EC2] = cfg->endpoint_ec2;
        overrides[AWS_SERVICE_CLOUDWATCH] = cfg->endpoint_cloudwatch;
        for (AwsService s = 0; s < _AWS_SERVICE_MAX; s++) {
                r = aws_endpoint(s, region, cfg->fips, overrides[s], &a->endpoints[s], NULL);
                if (r < 0)
                        return r;
        }
        r = credentials_new(http_get_event(http), imds, NULL, &a->creds);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

static void call_free(AwsCall *c) {
        Aws *a = c->aws;

        if (c->freed)
                *c->freed = true;
        if (c->destroy)
                c->destroy(c->userdata);
        http_call_cancel(c->http_call);
        credentials_waiter_cancel(c->waiter);
        sd_event_source_disable_unref(c->timer);
        query_params_free(c->params);
        free(c->action);
        LIST_REMOVE(calls, a->calls, c);
        free(c);
}

void aws_call_cancel(AwsCall *c) {
        if (c)
                call_free(c);
}

Aws *aws_free(Aws *a) {
        if (!a)
                return NULL;
        while (a->calls)
                call_free(a->calls);
        credentials_free(a->creds);
        for (AwsService s = 0; s < _AWS_SERVICE_MAX; s++)
                free(a->endpoints[s]);
        free(a->region);
        return mfree(a);
}

const char *aws_region(const Aws *a) {
        return a->region;
}

const char *aws_endpoint_url(const Aws *a, AwsService s) {
        return (unsigned) s < _AWS_SERVICE_MAX ? a->endpoints[s] : NULL;
}

const char *aws_credentials_source(const Aws *a) {
        return credentials_source(a->creds);
}

time_t aws_credentials_expiration(const Aws *a) {
        return credentials_expiration(a->creds);
}

int64_t aws_clock_offset_sec(const Aws *a) {
        return a->clock_offset;
}

static time_t aws_now(const Aws *a) {
        return time(NULL) + (time_t) a->clock_offset;
}

/* Hands the result to the caller, then frees the call unless the callback continued it
 * (aws_call_continue) or already freed it (cancelling it, or freeing the Aws). */
static void finish(AwsCall *c, const AwsResult *res) {
        bool freed = false;

        c->freed = &freed;
        c->in_callback = true;
        c->restart = false;
        c->cb(res, c->userdata);
        if (freed)
                return;
        c->freed = NULL;
        c->in_callback = false;
        if (!c->restart)
                call_free(c);
}

void aws_call_set_destroy(AwsCall *c, void (*destroy)(void *userdata)) {
        c->destroy = destroy;
}

static void finish_error(AwsCall *c, int error, const char *code, const char *message) {
        finish(c, &(AwsResult){ .error = error,
                                .code = strempty(code),
                                .message = strempty(message),
                                .attempts = c->attempts });
}

static int attempt(AwsCall *c);

static void on_credentials(int error, const char *message, void *userdata) {
        AwsCall *c = userdata;
        int r;

        c->waiter = NULL;
        if (error < 0)
                return finish_error(c, -ENOKEY, "", message);
        r = attempt(c);
        if (r < 0)
                finish_error(c, r, "", "");
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        AwsCall *c = userdata;
        int r;

        c->timer = sd_event_source_disable_unref(c->timer);
        r = attempt(c);
        if (r < 0)
                finish_error(c, r, "", "");
        return 0;
}

static int retry_after(AwsCall *c, uint64_t delay_usec) {
        return sd_event_add_time_relative(http_get_event(c->aws->http), &c->timer, CLOCK_MONOTONIC,
                                          delay_usec, 0, on_timer, c);
}

/* The error a caller sees once the retries are over. */
static int final_error(const HttpResponse *resp, AwsRetryKind kind, const char *code,
                       bool parsed_ok) {
        if (resp->error < 0)
                return resp->error;
        if (resp->status == 401 || resp->status == 403 ||
            code_in(code, auth_codes, ELEMENTSOF(auth_codes)) || kind == AWS_RETRY_CLOCK_SKEW)
                return -EACCES;
        if (kind == AWS_RETRY_THROTTLE)
                return -EAGAIN;
        if (resp->status >= 500)
                return -EREMOTEIO;
        if (resp->status >= 400 && parsed_ok)
                return -EINVAL;
        return -EBADMSG;
}

static void on_http(HttpCall *hc, const HttpResponse *resp, void *userdata) {
        AwsCall *c = userdata;
        Aws *a = c->aws;
        _cleanup_(xml_freep) XmlNode *root = NULL;
        _cleanup_(query_error_done) QueryError qe = {};
        bool parsed_ok = false, ok = false;
        AwsRetryKind kind;
        uint64_t delay;
        time_t now = time(NULL);
        int r;

        c->http_call = NULL;
        if (resp->error == 0 && resp->status >= 200 && resp->status < 300) {
                r = query_parse_response(resp->body, resp->body_len, c->action, &root);
                ok = r >= 0;
        } else if (resp->error == 0)
                parsed_ok = query_parse_error(resp->body, resp->body_len, &qe) >= 0;

        if (ok) {
                finish(c, &(AwsResult){ .status = resp->status,
                                        .code = "",
                                        .message = "",
                                        .root = root,
                                        .attempts = c->attempts });
                return;
        }
        kind = aws_retry_classify(&(AwsOutcome){ .error = resp->error,
                                                 .status = resp->status,
                                                 .code = qe.code,
                                                 .message = qe.message,
                                                 .server_date = resp->date,
                                                 .now = now });
        /* A 2xx we cannot read was garbled on the way: worth another attempt. */
        if (resp->error == 0 && resp->status >= 200 && resp->status < 300)
                kind = AWS_RETRY_TRANSIENT;
        if (kind == AWS_RETRY_CLOCK_SKEW) {
                int64_t off;
                const char *date = http_response_header(resp, "Date");

                if (date && aws_clock_offset(date, now, &off) >= 0)
                        a->clock_offset = off;
                else
                        kind = AWS_RETRY_NONE; /* no way to learn the right time */
        }
        /* Role credentials AWS calls expired or unknown: fetch new ones, retry once. */
        if (kind == AWS_RETRY_NONE && !c->creds_retried &&
            strneq(credentials_source(a->creds), "instance-role:", 14) &&
            code_in(qe.code,
                    (const char *const[]){ "ExpiredToken", "InvalidClientTokenId",
                                           "ExpiredTokenException" },
                    3)) {
                c->creds_retried = true;
                credentials_invalidate(a->creds);
                r = attempt(c);
                if (r < 0)
                        finish_error(c, r, "", "");
                return;
        }
        if (aws_retry_next(kind, c->attempts, a->cfg->max_attempts ?: AWS_RETRY_MAX_ATTEMPTS,
                           c->skew_retried, random_unit(), &delay)) {
                if (kind == AWS_RETRY_CLOCK_SKEW)
                        c->skew_retried = true;
                r = retry_after(c, delay);
                if (r >= 0)
                        return;
        }
        finish(c, &(AwsResult){ .error = final_error(resp, kind, qe.code, parsed_ok),
                                .status = resp->status,
                                .code = strempty(qe.code),
                                .message = strempty(qe.message),
                                .attempts = c->attempts });
}

/* One attempt, or a wait for credentials first. */
static int attempt(AwsCall *c) {
        Aws *a = c->aws;
        _cleanup_(query_signed_freep) QuerySigned *q = NULL;
        const SigV4Credentials *creds = credentials_current(a->creds, aws_now(a));
        int r;

        if (!creds)
                return credentials_wait(a->creds, on_credentials, c, &c->waiter);
        r = query_build(c->params,
                        &(QueryTarget){ .endpoint = a->endpoints[c->service],
                                        .region = a->region,
                                        .service = aws_service_to_string(c->service),
                                        .gzip = c->gzip },
                        creds, aws_now(a), &q);
        if (r < 0)
                return r;
        c->attempts++;
        return http_request(a->http,
                            &(HttpRequest){
                                    .method = "POST",
                                    .url = q->url,
                                    .headers = q->headers,
                                    .body = q->body,
                                    .body_len = q->body_len,
                                    .timeout_ms = a->cfg->timeout_ms,
                                    .max_response = AWS_MAX_RESPONSE,
                                    .ca_file = a->cfg->ca_file,
                            },
                            on_http, c, &c->http_call);
}

int aws_call_continue(AwsCall *c, QueryParams *params) {
        _cleanup_(query_params_freep) QueryParams *p = params;
        char *action;
        int r;

        if (!c || !p)
                return -EINVAL;
        if (!c->in_callback || c->restart)
                return -EBUSY;
        action = strdup(strempty(query_params_action(p)));
        if (!action)
                return -ENOMEM;
        free(c->action);
        c->action = action;
        query_params_free(c->params);
        c->params = TAKE_PTR(p);
        c->attempts = 0;
        c->skew_retried = c->creds_retried = false;
        r = attempt(c);
        if (r >= 0)
                c->restart = true;
        return r;
}

int aws_call(Aws *a, AwsService s, QueryParams *params, bool gzip, aws_done_t cb, void *userdata,
             AwsCall **ret) {
        _cleanup_(query_params_freep) QueryParams *p = params;
        AwsCall *c;
        int r;

        if (!a || !p || !cb || (unsigned) s >= _AWS_SERVICE_MAX)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (AwsCall){ .aws = a, .service = s, .gzip = gzip, .cb = cb, .userdata = userdata };
        c->action = strdup(strempty(query_params_action(p)));
        c->params = TAKE_PTR(p);
        LIST_PREPEND(calls, a->calls, c);
        r = c->action ? attempt(c) : -ENOMEM;
        if (r < 0) {
                call_free(c);
                return r;
        }
        if (ret)
                *ret = c;
        return 0;
}

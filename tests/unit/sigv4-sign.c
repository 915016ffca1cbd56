/* SPDX-License-Identifier: MIT */
/*
 * Test driver for tests/integration/test_sigv4_botocore.py: reads one JSON request per
 * line on stdin, writes one JSON answer per line on stdout.
 * Signing (the default mode):
 *   in:  {"method","path","params":[[k,v]...],"query","headers":[[n,v]...],"body_hex",
 *         "akid","secret","token","region","service","time","content_sha256",
 *         "unsigned_token"}
 *   out: {"authorization","creq","sts","signature","amz_date","headers":[[n,v]...]}
 * "mode":"query" (query_build()):
 *   in:  {"action","version","params":[[k,v]...],"endpoint","region","service","gzip",
 *         "akid","secret","token","time"}
 *   out: {"url","headers":["Name: value"...],"body_hex","authorization"}
 * "mode":"answer" (query_parse_error() and aws_retry_classify()):
 *   in:  {"status","body","date","now"}
 *   out: {"code","message","request_id","kind","offset"}
 * Any failure: {"error": -errno}
 */
#include <jansson.h>
#include <stdio.h>

#include "aws/query.h"
#include "aws/retry.h"
#include "aws/sigv4.h"

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int unhex(const char *s, unsigned char **ret, size_t *ret_len) {
        size_t n = strlen(s);
        unsigned char *d;

        if (n % 2)
                return -EINVAL;
        d = malloc(n / 2 + 1);
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n / 2; i++) {
                int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                        free(d);
                        return -EINVAL;
                }
                d[i] = (unsigned char) (hi << 4 | lo);
        }
        *ret = d;
        *ret_len = n / 2;
        return 0;
}

/* [[a,b],...] into n pairs of string pointers (borrowed from the JSON). */
static int pairs(json_t *a, const char ***ret, size_t *ret_n) {
        size_t n = json_array_size(a);
        const char **p = calloc(2 * n + 1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(a, i);
                p[2 * i] = json_string_value(json_array_get(e, 0));
                p[2 * i + 1] = json_string_value(json_array_get(e, 1));
                if (!p[2 * i] || !p[2 * i + 1]) {
                        free(p);
                        return -EINVAL;
                }
        }
        *ret = p;
        *ret_n = n;
        return 0;
}

static json_t *sign_one(json_t *in) {
        _cleanup_free_ const char **hp = NULL, **pp = NULL;
        _cleanup_free_ SigV4Header *headers = NULL;
        _cleanup_free_ SigV4Param *params = NULL;
        _cleanup_free_ unsigned char *body = NULL;
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
        size_t nh = 0, np = 0, body_len = 0;
        const char *name, *value;
        unsigned flags = 0;
        json_t *out, *hdrs;
        int r;

        r = pairs(json_object_get(in, "headers"), &hp, &nh);
        if (r >= 0)
                r = pairs(json_object_get(in, "params"), &pp, &np);
        if (r >= 0)
                r = unhex(json_string_value(json_object_get(in, "body_hex")) ?: "", &body,
                          &body_len);
        headers = calloc(nh + 1, sizeof(*headers));
        params = calloc(np + 1, sizeof(*params));
        if (r >= 0 && (!headers || !params))
                r = -ENOMEM;
        if (r < 0)
                return json_pack("{s:i}", "error", r);
        for (size_t i = 0; i < nh; i++)
                headers[i] = (SigV4Header){ hp[2 * i], hp[2 * i + 1] };
        for (size_t i = 0; i < np; i++)
                params[i] = (SigV4Param){ pp[2 * i], pp[2 * i + 1] };
        if (json_is_true(json_object_get(in, "content_sha256")))
                flags |= SIGV4_ADD_CONTENT_SHA256;
        if (json_is_true(json_object_get(in, "unsigned_token")))
                flags |= SIGV4_UNSIGNED_SESSION_TOKEN;
        r = sigv4_sign(
                &(SigV4Request){
                        .method = json_string_value(json_object_get(in, "method")),
                        .path = json_string_value(json_object_get(in, "path")),
                        .params = params,
                        .n_params = np,
                        .raw_query = json_string_value(json_object_get(in, "query")),
                        .headers = headers,
                        .n_headers = nh,
                        .body = body,
                        .body_len = body_len,
                },
                &(SigV4Credentials){
                        .access_key_id = json_string_value(json_object_get(in, "akid")),
                        .secret_access_key = json_string_value(json_object_get(in, "secret")),
                        .session_token = json_string_value(json_object_get(in, "token")),
                },
                json_string_value(json_object_get(in, "region")),
                json_string_value(json_object_get(in, "service")),
                (time_t) json_integer_value(json_object_get(in, "time")), flags, &s);
        if (r < 0)
                return json_pack("{s:i}", "error", r);
        hdrs = json_array();
        for (size_t i = 0; sigv4_signed_header(s, i, &name, &value); i++)
                json_array_append_new(hdrs, json_pack("[ss]", name, value));
        out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "authorization", sigv4_signed_authorization(s),
                        "creq", sigv4_signed_canonical_request(s), "sts",
                        sigv4_signed_string_to_sign(s), "signature", sigv4_signed_signature(s),
                        "amz_date", sigv4_signed_amz_date(s), "headers", hdrs);
        return out;
}

#define STR(in, key) json_string_value(json_object_get((in), (key)))

static json_t *query_one(json_t *in) {
        _cleanup_(query_params_freep) QueryParams *p =
                query_params_new(STR(in, "action"), STR(in, "version"));
        _cleanup_(query_signed_freep) QuerySigned *q = NULL;
        json_t *params = json_object_get(in, "params"), *lines;
        _cleanup_free_ char *hex = NULL;
        int r = p ? 0 : -EINVAL;

        for (size_t i = 0; r >= 0 && i < json_array_size(params); i++) {
                json_t *e = json_array_get(params, i);
                r = query_params_add(p, json_string_value(json_array_get(e, 0)),
                                     json_string_value(json_array_get(e, 1)));
        }
        if (r >= 0)
                r = query_build(
                        p,
                        &(QueryTarget){ STR(in, "endpoint"), STR(in, "region"), STR(in, "service"),
                                        json_is_true(json_object_get(in, "gzip")) },
                        &(SigV4Credentials){ STR(in, "akid"), STR(in, "secret"), STR(in, "token") },
                        (time_t) json_integer_value(json_object_get(in, "time")), &q);
        if (r < 0)
                return json_pack("{s:i}", "error", r);
        hex = malloc(2 * q->body_len + 1);
        if (!hex)
                return json_pack("{s:i}", "error", -ENOMEM);
        for (size_t i = 0; i < q->body_len; i++)
                sprintf(hex + 2 * i, "%02x", ((const unsigned char *) q->body)[i]);
        hex[2 * q->body_len] = 0;
        lines = json_array();
        for (char **l = q->headers; *l; l++)
                json_array_append_new(lines, json_string(*l));
        return json_pack("{s:s,s:o,s:s,s:s}", "url", q->url, "headers", lines, "body_hex", hex,
                         "authorization", q->authorization);
}

static json_t *answer_one(json_t *in) {
        const char *body = STR(in, "body") ?: "";
        QueryError e = {};
        time_t date = -1, now = (time_t) json_integer_value(json_object_get(in, "now"));
        int64_t offset = 0;
        json_t *out;
        int r;

        r = query_parse_error(body, strlen(body), &e);
        if (r < 0)
                return json_pack("{s:i}", "error", r);
        if (aws_clock_offset(STR(in, "date"), now, &offset) >= 0)
                date = now + (time_t) offset;
        AwsOutcome o = { 0,      (long) json_integer_value(json_object_get(in, "status")),
                         e.code, e.message,
                         date,   now };
        out = json_pack("{s:s,s:s,s:s,s:s,s:I}", "code", e.code, "message", e.message, "request_id",
                        e.request_id, "kind", aws_retry_kind_to_string(aws_retry_classify(&o)),
                        "offset", (json_int_t) offset);
        query_error_done(&e);
        return out;
}

int main(void) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        while ((n = getline(&line, &cap, stdin)) > 0) {
                json_error_t err;
                json_t *in = json_loadb(line, (size_t) n, 0, &err), *out;
                char *dump;

                const char *mode = in ? STR(in, "mode") : NULL;
                if (!in)
                        out = json_pack("{s:i}", "error", -EBADMSG);
                else if (mode && streq(mode, "query"))
                        out = query_one(in);
                else if (mode && streq(mode, "answer"))
                        out = answer_one(in);
                else
                        out = sign_one(in);
                dump = json_dumps(out, JSON_COMPACT);
                if (!dump)
                        return 1;
                printf("%s\n", dump);
                free(dump);
                json_decref(out);
                json_decref(in);
                fflush(stdout);
        }
        return 0;
}

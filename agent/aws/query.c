/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <zlib.h>

#include "aws/query.h"
#include "base/text.h"
#include "base/util.h"

struct QueryParams {
        char **keys, **values;
        size_t n, cap;
};

QueryParams *query_params_new(const char *action, const char *version) {
        QueryParams *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        if (query_params_add(p, "Action", action) < 0 ||
            query_params_add(p, "Version", version) < 0)
                return query_params_free(p);
        return p;
}

QueryParams *query_params_free(QueryParams *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++) {
                free(p->keys[i]);
                free(p->values[i]);
        }
        free(p->keys);
        free(p->values);
        return mfree(p);
}

int query_params_add(QueryParams *p, const char *key, const char *value) {
        if (!p || isempty(key) || !value)
                return -EINVAL;
        if (p->n >= QUERY_MAX_PARAMS)
                return -E2BIG;
        if (strlen(key) > QUERY_MAX_VALUE || strlen(value) > QUERY_MAX_VALUE)
                return -E2BIG;
        if (p->n == p->cap) {
                size_t cap = MAX(p->cap * 2, 16U);
                char **k = reallocarray(p->keys, cap, sizeof(*k));
                if (!k)
                        return -ENOMEM;
                p->keys = k;
                char **v = reallocarray(p->values, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                p->values = v;
                p->cap = cap;
        }
        p->keys[p->n] = strdup(key);
        p->values[p->n] = strdup(value);
        if (!p->keys[p->n] || !p->values[p->n]) {
                free(p->keys[p->n]);
                free(p->values[p->n]);
                return -ENOMEM;
        }
        p->n++;
        return 0;
}

int query_params_addf(QueryParams *p, const char *key, const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&v, fmt, ap);
        va_end(ap);
        if (r < 0) {
                v = NULL;
                return -ENOMEM;
        }
        return query_params_add(p, key, v);
}

size_t query_params_count(const QueryParams *p) {
        return p ? p->n : 0;
}

const char *query_params_action(const QueryParams *p) {
        return p && p->n > 0 ? p->values[0] : NULL;
}

int query_params_encode(const QueryParams *p, char **ret, size_t *ret_len) {
        size_t len = 0, at = 0;
        char *out;

        if (!p)
                return -EINVAL;
        for (size_t i = 0; i < p->n; i++)
                len += (i > 0) + sigv4_uri_encoded_len(p->keys[i], strlen(p->keys[i]), false) + 1 +
                       sigv4_uri_encoded_len(p->values[i], strlen(p->values[i]), false);
        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                const char *kv[2] = { p->keys[i], p->values[i] };
                if (i > 0)
                        out[at++] = '&';
                for (size_t j = 0; j < 2; j++) {
                        _cleanup_free_ char *e = NULL;
                        size_t el = 0;
                        if (sigv4_uri_encode(kv[j], strlen(kv[j]), false, &e, &el) < 0) {
                                free(out);
                                return -ENOMEM;
                        }
                        memcpy(out + at, e, el);
                        at += el;
                        if (j == 0)
                                out[at++] = '=';
                }
        }
        out[at] = 0;
        *ret = out;
        if (ret_len)
                *ret_len = at;
        return 0;
}

/* gzip (not raw deflate, not zlib): what Content-Encoding: gzip means. */
static int gzip_compress(const void *in, size_t len, void **ret, size_t *ret_len) {
        z_stream z = {};
        size_t cap;
        uint8_t *out;
        int r;

        if (len > UINT32_MAX)
                return -E2BIG;
        if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        cap = deflateBound(&z, (uLong) len) + 32;
        out = malloc(cap);
        if (!out) {
                deflateEnd(&z);
                return -ENOMEM;
        }
        z.next_in = (Bytef *) in;
        z.avail_in = (uInt) len;
        z.next_out = out;
        z.avail_out = (uInt) cap;
        r = deflate(&z, Z_FINISH);
        *ret_len = z.total_out;
        deflateEnd(&z);
        if (r != Z_STREAM_END) {
                free(out);
                return -EIO;
        }
        *ret = out;
        return 0;
}

/* Splits "scheme://host[:port][/path]" into the Host header value and the path. */
static int parse_endpoint(const char *endpoint, char **ret_host, const char **ret_path) {
        const char *h, *slash;

        if (!endpoint)
                return -EINVAL;
        if (strneq(endpoint, "https://", 8))
                h = endpoint + 8;
        else if (strneq(endpoint, "http://", 7))
                h = endpoint + 7;
        else
                return -EINVAL;
        slash = strchr(h, '/');
        if (slash == h || h[0] == 0 || strpbrk(h, "@?# \t\r\n"))
                return -EINVAL;
        *ret_host = slash ? strndup(h, (size_t) (slash - h)) : strdup(h);
        if (!*ret_host)
                return -ENOMEM;
        *ret_path = slash ? slash : "/";
        return 0;
}

static int add_line(char **lines, size_t *n, const char *name, const char *value) {
        if (asprintf(&lines[*n], "%s: %s", name, value) < 0) {
                lines[*n] = NULL;
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

static int sign_into(QuerySigned *q, const char *host, const char *path, const QueryTarget *t,
                     const SigV4Credentials *creds, time_t now) {
        static const char form[] = "application/x-www-form-urlencoded; charset=utf-8";
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
        SigV4Header h[3] = { { "Content-Type", form }, { "Host", host } };
        size_t nh = 2, nl = 0;
        const char *name, *value;
        int r;

        if (t->gzip)
                h[nh++] = (SigV4Header){ "Content-Encoding", "gzip" };
        r = sigv4_sign(&(SigV4Request){ .method = "POST",
                                        .path = path,
                                        .headers = h,
                                        .n_headers = nh,
                                        .body = q->body,
                                        .body_len = q->body_len },
                       creds, t->region, t->service, now, 0, &s);
        if (r < 0)
                return r;
        q->headers = calloc(nh + 5, sizeof(char *));
        if (!q->headers)
                return -ENOMEM;
        for (size_t i = 0; i < nh; i++)
                if ((r = add_line(q->headers, &nl, h[i].name, h[i].value)) < 0)
                        return r;
        for (size_t i = 0; sigv4_signed_header(s, i, &name, &value); i++)
                if ((r = add_line(q->headers, &nl, name, value)) < 0)
                        return r;
        q->authorization = strdup(sigv4_signed_authorization(s));
        return q->authorization ? 0 : -ENOMEM;
}

int query_build(const QueryParams *p, const QueryTarget *target, const SigV4Credentials *creds,
                time_t now, QuerySigned **ret) {
        _cleanup_(query_signed_freep) QuerySigned *q = NULL;
        _cleanup_free_ char *host = NULL, *form = NULL;
        const char *path;
        size_t form_len = 0;
        int r;

        if (!p || !target || !creds)
                return -EINVAL;
        r = parse_endpoint(target->endpoint, &host, &path);
        if (r < 0)
                return r;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->url = strdup(target->endpoint);
        if (!q->url)
                return -ENOMEM;
        r = query_params_encode(p, &form, &form_len);
        if (r < 0)
                return r;
        if (target->gzip) {
                r = gzip_compress(form, form_len, &q->body, &q->body_len);
                if (r < 0)
                        return r;
        } else {
                q->body = TAKE_PTR(form);
                q->body_len = form_len;
        }
        r = sign_into(q, host, path, target, creds, now);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

QuerySigned *query_signed_free(QuerySigned *q) {
        if (!q)
                return NULL;
        free(q->url);
        for (char **l = q->headers; l && *l; l++) {
                /* The lines hold the session token and the signature. */
                secure_wipe(*l, strlen(*l));
                free(*l);
        }
        free(q->headers);
        free(q->body);
        free(q->authorization);
        return mfree(q);
}

/* Untrusted text made safe to log: bounded, then escaped (base/text.h). */
static char *sanitized(const char *s) {
        return text_escape_untrusted(s ? s : "", strnlen(s ? s : "", QUERY_ERROR_MAX_FIELD), 0);
}

void query_error_done(QueryError *e) {
        free(e->type);
        free(e->code);
        free(e->message);
        free(e->request_id);
        *e = (QueryError){};
}

int query_parse_error(const char *body, size_t len, QueryError *ret) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        QueryError e = {};
        XmlNode *err;
        const char *rid;
        int r;

        r = xml_parse(body, len, NULL, &root);
        if (r < 0)
                return r;
        if (streq(xml_name(root), "ErrorResponse")) {
                err = xml_child(root, "Error") ?: xml_find(root, "Errors/Error");
                rid = xml_find_text(root, "RequestId");
        } else if (streq(xml_name(root), "Response")) {
                err = xml_find(root, "Errors/Error");
                rid = xml_find_text(root, "RequestID");
        } else
                return -ENOMSG;
        if (!err || !xml_child(err, "Code"))
                return -ENOMSG;
        e.type = sanitized(xml_find_text(err, "Type"));
        e.code = sanitized(xml_find_text(err, "Code"));
        e.message = sanitized(xml_find_text(err, "Message"));
        e.request_id = sanitized(rid);
        if (!e.type || !e.code || !e.message || !e.request_id) {
                query_error_done(&e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

int query_parse_response(const char *body, size_t len, const char *action, XmlNode **ret) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *name;
        size_t al;
        int r;

        if (isempty(action))
                return -EINVAL;
        r = xml_parse(body, len, NULL, &root);
        if (r < 0)
                return r;
        name = xml_name(root);
        al = strlen(action);
        if (!strneq(name, action, al) || !streq(name + al, "Response"))
                return -EBADMSG;
        *ret = TAKE_PTR(root);
        return 0;
}

const char *query_response_request_id(const XmlNode *root) {
        const char *id = xml_find_text(root, "ResponseMetadata/RequestId");

        return id ? id : xml_find_text(root, "requestId");
}

void query_error_detail(long status, const char *code, const char *message, char *buf,
                        size_t size) {
        if (size == 0)
                return;
        if (status <= 0)
                buf[0] = 0;
        else if (isempty(code))
                snprintf(buf, size, "HTTP %ld, not an AWS error document", status);
        else if (isempty(message))
                snprintf(buf, size, "HTTP %ld", status);
        else
                snprintf(buf, size, "HTTP %ld: %s", status, message);
}

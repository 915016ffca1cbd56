/* SPDX-License-Identifier: MIT */
/* The canonical URI and query string of SigV4: encoding, normalisation, sorting. */
#include <openssl/crypto.h>

#include "aws/sigv4-internal.h"

static bool is_unreserved(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~';
}

static void buf_put_encoded(Buf *b, const char *s, size_t len, bool keep_slash) {
        static const char hex[] = "0123456789ABCDEF";

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (is_unreserved(c) || (keep_slash && c == '/'))
                        buf_putc(b, (char) c);
                else {
                        char e[3] = { '%', hex[c >> 4], hex[c & 15] };
                        buf_put(b, e, 3);
                }
        }
}

size_t sigv4_uri_encoded_len(const char *s, size_t len, bool keep_slash) {
        size_t n = 0;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                n += is_unreserved(c) || (keep_slash && c == '/') ? 1 : 3;
        }
        return n;
}

int sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char **ret, size_t *ret_len) {
        Buf b = {};

        buf_put(&b, "", 0);
        buf_put_encoded(&b, s, len, keep_slash);
        if (b.failed) {
                secmem_free(b.p);
                return -ENOMEM;
        }
        if (ret_len)
                *ret_len = b.len;
        *ret = b.p;
        return 0;
}

/*
 * Path normalisation as botocore does it (the suite agrees): RFC 3986 dot-segment
 * removal, and empty segments dropped, since AWS collapses "//".
 */
static void put_normalized_path(Buf *b, const char *path) {
        size_t len = strlen(path), n_out = 0;
        const char **seg = NULL;
        size_t *seglen = NULL;

        if (len == 0) {
                buf_putc(b, '/');
                return;
        }
        seg = calloc(len / 2 + 2, sizeof(*seg));
        seglen = calloc(len / 2 + 2, sizeof(*seglen));
        if (!seg || !seglen) {
                b->failed = true;
                goto out;
        }
        for (const char *p = path; p <= path + len;) {
                const char *e = memchr(p, '/', (size_t) (path + len - p));
                size_t n = e ? (size_t) (e - p) : (size_t) (path + len - p);
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (n_out > 0)
                                n_out--;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        seg[n_out] = p;
                        seglen[n_out++] = n;
                }
                p += n + 1;
        }
        if (path[0] == '/')
                buf_putc(b, '/');
        for (size_t i = 0; i < n_out; i++) {
                if (i > 0)
                        buf_putc(b, '/');
                buf_put_encoded(b, seg[i], seglen[i], false);
        }
        if (path[len - 1] == '/' && n_out > 0)
                buf_putc(b, '/');
out:
        secmem_free(seg);
        secmem_free(seglen);
}

void sigv4_put_canonical_uri(Buf *b, const char *path, bool normalize) {
        if (isempty(path))
                path = "/";
        if (normalize)
                put_normalized_path(b, path);
        else
                buf_put_encoded(b, path, strlen(path), true);
}

void sigv4_pairs_free(Pair *p, size_t n) {
        for (size_t i = 0; p && i < n; i++) {
                secmem_free(p[i].key);
                secmem_free(p[i].value);
        }
        secmem_free(p);
}

static int pair_cmp(const void *a, const void *b) {
        const Pair *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        if (c != 0)
                return c;
        c = strcmp(x->value, y->value);
        return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static int percent_decode(const char *s, size_t n, char **ret) {
        char *d = malloc(n + 1);
        size_t j = 0;

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;
                if (s[i] == '%' && i + 2 < n &&
                    (hi = OPENSSL_hexchar2int((unsigned char) s[i + 1])) >= 0 &&
                    (lo = OPENSSL_hexchar2int((unsigned char) s[i + 2])) >= 0) {
                        d[j++] = (char) (hi << 4 | lo);
                        i += 2;
                } else
                        d[j++] = s[i];
        }
        d[j] = 0;
        *ret = d;
        return 0;
}

static int encode_pair(Pair *p, const char *k, size_t kl, const char *v, size_t vl) {
        if (sigv4_uri_encode(k, kl, false, &p->key, NULL) < 0 ||
            sigv4_uri_encode(v, vl, false, &p->value, NULL) < 0)
                return -ENOMEM;
        return 0;
}

/* Splits a wire query string, decoding then re-encoding each part the AWS way. */
static int raw_query_pairs(const char *q, Pair **ret, size_t *ret_n) {
        size_t n = 0, max = 1, len = strlen(q);
        Pair *pairs;
        int r = 0;

        for (const char *c = q; *c; c++)
                max += *c == '&';
        if (max > SIGV4_MAX_PARAMS)
                return -E2BIG;
        pairs = calloc(max, sizeof(*pairs));
        if (!pairs)
                return -ENOMEM;
        for (const char *p = q; r >= 0 && p <= q + len;) {
                const char *e = memchr(p, '&', (size_t) (q + len - p));
                size_t sl = e ? (size_t) (e - p) : (size_t) (q + len - p);
                const char *eq = memchr(p, '=', sl);
                size_t kl = eq ? (size_t) (eq - p) : sl;
                _cleanup_secmem_ char *k = NULL, *v = NULL;

                if (sl > 0) {
                        r = percent_decode(p, kl, &k);
                        if (r >= 0)
                                r = percent_decode(eq ? eq + 1 : "", eq ? sl - kl - 1 : 0, &v);
                        if (r >= 0) {
                                pairs[n].order = n;
                                r = encode_pair(&pairs[n++], k, strlen(k), v, strlen(v));
                        }
                }
                p += sl + 1;
        }
        if (r < 0) {
                sigv4_pairs_free(pairs, n);
                return r;
        }
        *ret = pairs;
        *ret_n = n;
        return 0;
}

int sigv4_put_canonical_query(Buf *b, const SigV4Request *req) {
        Pair *pairs = NULL;
        size_t n = 0;
        int r = 0;

        if (req->n_params > 0) {
                if (req->n_params > SIGV4_MAX_PARAMS)
                        return -E2BIG;
                pairs = calloc(req->n_params, sizeof(*pairs));
                if (!pairs)
                        return -ENOMEM;
                for (; r >= 0 && n < req->n_params; n++) {
                        const SigV4Param *p = &req->params[n];
                        if (!p->key || !p->value)
                                r = -EINVAL;
                        else if (strlen(p->key) > SIGV4_MAX_STRING ||
                                 strlen(p->value) > SIGV4_MAX_STRING)
                                r = -E2BIG;
                        else
                                r = encode_pair(&pairs[n], p->key, strlen(p->key), p->value,
                                                strlen(p->value));
                        pairs[n].order = n;
                }
        } else if (!isempty(req->raw_query))
                r = raw_query_pairs(req->raw_query, &pairs, &n);
        if (r >= 0) {
                if (n > 0)
                        qsort(pairs, n, sizeof(*pairs), pair_cmp);
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                buf_putc(b, '&');
                        buf_puts(b, pairs[i].key);
                        buf_putc(b, '=');
                        buf_puts(b, pairs[i].value);
                }
        }
        sigv4_pairs_free(pairs, n);
        return r;
}

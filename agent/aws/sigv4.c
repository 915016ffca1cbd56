/* SPDX-License-Identifier: MIT */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4-internal.h"
#include "base/util.h"

struct SigV4Signed {
        char *canonical_request;
        char *string_to_sign;
        char *authorization;
        char *session_token;
        bool content_header;
        char amz_date[17];
        char signature[65];
        char payload_hash[65];
};

static void hex_encode(const uint8_t *d, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[d[i] >> 4];
                out[2 * i + 1] = hex[d[i] & 15];
        }
        out[2 * n] = 0;
}

int sigv4_sha256_hex(const void *data, size_t len, char buf[static 65]) {
        uint8_t md[32];
        size_t mdlen = 0;

        if (!EVP_Q_digest(NULL, "SHA256", NULL, data ? data : "", len, md, &mdlen) ||
            mdlen != sizeof(md))
                return -EIO;
        hex_encode(md, sizeof(md), buf);
        return 0;
}

static int hmac_sha256(const void *key, size_t keylen, const char *msg, uint8_t out[32]) {
        size_t outlen = 0;

        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, (const void *) msg,
                       strlen(msg), out, 32, &outlen) ||
            outlen != 32)
                return -EIO;
        return 0;
}

int sigv4_derive_key(const char *secret, const char *date8, const char *region, const char *service,
                     uint8_t ret_key[static 32]) {
        const char *chain[] = { date8, region, service, "aws4_request" };
        _cleanup_secmem_ char *k = NULL;
        uint8_t key[32];
        size_t n;
        int r = 0;

        if (!secret || !date8 || !region || !service)
                return -EINVAL;
        n = strlen(secret) + 4;
        k = malloc(n + 1);
        if (!k)
                return -ENOMEM;
        memcpy(k, "AWS4", 4);
        memcpy(k + 4, secret, n - 4 + 1);
        r = hmac_sha256(k, n, chain[0], key);
        for (size_t i = 1; r >= 0 && i < ELEMENTSOF(chain); i++)
                r = hmac_sha256(key, sizeof(key), chain[i], key);
        secure_wipe(k, n);
        if (r >= 0)
                memcpy(ret_key, key, sizeof(key));
        secure_wipe(key, sizeof(key));
        return r;
}

int sigv4_format_amz_date(time_t t, char buf[static 17]) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || tm.tm_year < 0 || tm.tm_year > 8099)
                return -EINVAL;
        if (strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
                return -EINVAL;
        return 0;
}

static int header_cmp(const void *a, const void *b) {
        const Pair *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        /* Values of a repeated header keep their order (the suite's value-order case). */
        return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static bool is_tchar(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool valid_header(const char *name, const char *value) {
        if (isempty(name) || !value)
                return false;
        for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                if (!is_tchar(*c))
                        return false;
        for (const unsigned char *c = (const unsigned char *) value; *c; c++)
                if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
                        return false;
        return true;
}

/* Trimall: no leading/trailing blanks, runs of blanks (space, tab) become one space. */
static char *trimall(const char *v) {
        char *out = malloc(strlen(v) + 1), *o = out;
        bool blank = false;

        if (!out)
                return NULL;
        for (const char *c = v; *c; c++) {
                if (*c == ' ' || *c == '\t')
                        blank = o != out;
                else {
                        if (blank)
                                *o++ = ' ';
                        blank = false;
                        *o++ = *c;
                }
        }
        *o = 0;
        return out;
}

static char *lowercase(const char *s) {
        char *l = strdup(s);

        for (char *c = l; c && *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char) (*c - 'A' + 'a');
        return l;
}

/* Never signed: proxies and clients rewrite them (botocore's list). */
static const char *const unsigned_headers[] = { "authorization", "expect", "user-agent",
                                                "x-amzn-trace-id", "x-amz-date" };

static bool header_replaced(const char *lname, const SigV4Credentials *creds) {
        for (size_t i = 0; i < ELEMENTSOF(unsigned_headers); i++)
                if (streq(lname, unsigned_headers[i]))
                        return true;
        return !isempty(creds->session_token) && streq(lname, "x-amz-security-token");
}

static int add_header(Pair *h, size_t *n, const char *lname, const char *value) {
        Pair *p = &h[*n];

        p->key = strdup(lname);
        p->value = trimall(value);
        p->order = *n;
        (*n)++;
        return p->key && p->value ? 0 : -ENOMEM;
}

/* Canonical headers + "\n" + signed headers; returns the signed-headers list in *ret. */
static int put_canonical_headers(Buf *b, const SigV4Request *req, const SigV4Credentials *creds,
                                 unsigned flags, const char *amz_date, char *payload_hash,
                                 char **ret_signed) {
        Pair *h = calloc(req->n_headers + 3, sizeof(*h));
        Buf sh = {};
        bool have_host = false, have_payload = false;
        size_t n = 0;
        int r = 0;

        if (!h)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < req->n_headers; i++) {
                _cleanup_secmem_ char *l = NULL;
                if (!valid_header(req->headers[i].name, req->headers[i].value)) {
                        r = -EINVAL;
                        break;
                }
                if (strlen(req->headers[i].value) > SIGV4_MAX_STRING) {
                        r = -E2BIG;
                        break;
                }
                l = lowercase(req->headers[i].name);
                if (!l)
                        r = -ENOMEM;
                else if (header_replaced(l, creds) ||
                         ((flags & SIGV4_ADD_CONTENT_SHA256) && streq(l, "x-amz-content-sha256")))
                        continue;
                else {
                        have_host = have_host || streq(l, "host");
                        r = add_header(h, &n, l, req->headers[i].value);
                        /* A caller-given payload hash (UNSIGNED-PAYLOAD...) is what is signed. */
                        /* The first one, as botocore reads it. */
                        if (r >= 0 && streq(l, "x-amz-content-sha256") && !have_payload) {
                                have_payload = true;
                                if (strlen(h[n - 1].value) > 64)
                                        r = -EINVAL;
                                else
                                        strcpy(payload_hash, h[n - 1].value);
                        }
                }
        }
        if (r >= 0 && !have_host)
                r = -EINVAL;
        if (r >= 0)
                r = add_header(h, &n, "x-amz-date", amz_date);
        if (r >= 0 && !isempty(creds->session_token) && !(flags & SIGV4_UNSIGNED_SESSION_TOKEN))
                r = add_header(h, &n, "x-amz-security-token", creds->session_token);
        if (r >= 0 && (flags & SIGV4_ADD_CONTENT_SHA256))
                r = add_header(h, &n, "x-amz-content-sha256", payload_hash);
        if (r >= 0) {
                qsort(h, n, sizeof(*h), header_cmp);
                for (size_t i = 0; i < n; i++) {
                        bool same = i > 0 && streq(h[i].key, h[i - 1].key);
                        if (same)
                                buf_putc(b, ',');
                        else {
                                if (i > 0) {
                                        buf_putc(b, '\n');
                                        buf_putc(&sh, ';');
                                }
                                buf_puts(b, h[i].key);
                                buf_putc(b, ':');
                                buf_puts(&sh, h[i].key);
                        }
                        buf_puts(b, h[i].value);
                }
                buf_puts(b, "\n\n");
                buf_puts(b, sh.p);
                r = b->failed || sh.failed ? -ENOMEM : 0;
        }
        sigv4_pairs_free(h, n);
        if (r < 0) {
                secmem_free(sh.p);
                return r;
        }
        *ret_signed = sh.p;
        return 0;
}

static int check_request(const SigV4Request *req, const SigV4Credentials *creds, const char *region,
                         const char *service) {
        if (!req || !creds || isempty(req->method) || isempty(creds->access_key_id) ||
            !creds->secret_access_key || isempty(region) || isempty(service) ||
            (req->n_headers > 0 && !req->headers) || (req->n_params > 0 && !req->params) ||
            (req->body_len > 0 && !req->body))
                return -EINVAL;
        if (req->n_headers > SIGV4_MAX_HEADERS || req->n_params > SIGV4_MAX_PARAMS)
                return -E2BIG;
        if (strlen(req->method) > 64 || strlen(region) > 64 || strlen(service) > 64 ||
            strlen(creds->access_key_id) > 256 || strlen(creds->secret_access_key) > 256)
                return -EINVAL;
        for (const char *c = req->method; *c; c++)
                if (!is_tchar((unsigned char) *c))
                        return -EINVAL;
        for (const char *c = region; *c; c++)
                if (*c == '/' || (unsigned char) *c <= ' ')
                        return -EINVAL;
        for (const char *c = service; *c; c++)
                if (*c == '/' || (unsigned char) *c <= ' ')
                        return -EINVAL;
        if ((req->path && strlen(req->path) > SIGV4_MAX_STRING) ||
            (req->raw_query && strlen(req->raw_query) > SIGV4_MAX_STRING) ||
            (creds->session_token && strlen(creds->session_token) > SIGV4_MAX_STRING))
                return -E2BIG;
        return 0;
}

static int canonical_request(const SigV4Request *req, const SigV4Credentials *creds,
                             const char *service, unsigned flags, SigV4Signed *s,
                             char **ret_signed_headers) {
        Buf b = {};
        int r;

        for (const char *c = req->method; *c; c++)
                buf_putc(&b, (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c));
        buf_putc(&b, '\n');
        /* S3 is the one service that does not normalise its paths. */
        sigv4_put_canonical_uri(&b, req->path,
                                !(flags & SIGV4_NO_PATH_NORMALIZE) && !streq(service, "s3"));
        buf_putc(&b, '\n');
        r = sigv4_put_canonical_query(&b, req);
        buf_putc(&b, '\n');
        if (r >= 0)
                r = put_canonical_headers(&b, req, creds, flags, s->amz_date, s->payload_hash,
                                          ret_signed_headers);
        buf_putc(&b, '\n');
        buf_puts(&b, s->payload_hash);
        if (r >= 0 && b.failed) {
                secmem_free(*ret_signed_headers);
                r = -ENOMEM;
        }
        if (r < 0) {
                secmem_free(b.p);
                return r;
        }
        s->canonical_request = b.p;
        return 0;
}

int sigv4_sign(const SigV4Request *req, const SigV4Credentials *creds, const char *region,
               const char *service, time_t now, unsigned flags, SigV4Signed **ret) {
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
        _cleanup_secmem_ char *signed_headers = NULL;
        char date8[9], creq_hash[65];
        uint8_t key[32], sig[32];
        size_t siglen = 0;
        int r;

        r = check_request(req, creds, region, service);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = sigv4_format_amz_date(now, s->amz_date);
        if (r < 0)
                return r;
        r = sigv4_sha256_hex(req->body, req->body_len, s->payload_hash);
        if (r < 0)
                return r;
        r = canonical_request(req, creds, service, flags, s, &signed_headers);
        if (r < 0)
                return r;
        r = sigv4_sha256_hex(s->canonical_request, strlen(s->canonical_request), creq_hash);
        if (r < 0)
                return r;
        memcpy(date8, s->amz_date, 8);
        date8[8] = 0;
        if (asprintf(&s->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                     s->amz_date, date8, region, service, creq_hash) < 0) {
                s->string_to_sign = NULL;
                return -ENOMEM;
        }
        r = sigv4_derive_key(creds->secret_access_key, date8, region, service, key);
        if (r < 0)
                return r;
        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key),
                       (const void *) s->string_to_sign, strlen(s->string_to_sign), sig,
                       sizeof(sig), &siglen) ||
            siglen != sizeof(sig))
                r = -EIO;
        secure_wipe(key, sizeof(key));
        if (r < 0)
                return r;
        hex_encode(sig, sizeof(sig), s->signature);
        if (asprintf(&s->authorization,
                     "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                     "Signature=%s",
                     creds->access_key_id, date8, region, service, signed_headers,
                     s->signature) < 0) {
                s->authorization = NULL;
                return -ENOMEM;
        }
        if (!isempty(creds->session_token)) {
                s->session_token = strdup(creds->session_token);
                if (!s->session_token)
                        return -ENOMEM;
        }
        s->content_header = flags & SIGV4_ADD_CONTENT_SHA256;
        *ret = TAKE_PTR(s);
        return 0;
}

SigV4Signed *sigv4_signed_free(SigV4Signed *s) {
        if (!s)
                return NULL;
        secmem_free(s->canonical_request);
        secmem_free(s->string_to_sign);
        secmem_free(s->authorization);
        if (s->session_token)
                secure_wipe(s->session_token, strlen(s->session_token));
        secmem_free(s->session_token);
        return mfree(s);
}

const char *sigv4_signed_canonical_request(const SigV4Signed *s) {
        return s->canonical_request;
}

const char *sigv4_signed_string_to_sign(const SigV4Signed *s) {
        return s->string_to_sign;
}

const char *sigv4_signed_signature(const SigV4Signed *s) {
        return s->signature;
}

const char *sigv4_signed_authorization(const SigV4Signed *s) {
        return s->authorization;
}

const char *sigv4_signed_amz_date(const SigV4Signed *s) {
        return s->amz_date;
}

const char *sigv4_signed_payload_hash(const SigV4Signed *s) {
        return s->payload_hash;
}

bool sigv4_signed_header(const SigV4Signed *s, size_t i, const char **ret_name,
                         const char **ret_value) {
        const char *names[4], *values[4];
        size_t n = 0;

        names[n] = "X-Amz-Date";
        values[n++] = s->amz_date;
        if (s->session_token) {
                names[n] = "X-Amz-Security-Token";
                values[n++] = s->session_token;
        }
        if (s->content_header) {
                names[n] = "x-amz-content-sha256";
                values[n++] = s->payload_hash;
        }
        names[n] = "Authorization";
        values[n++] = s->authorization;
        if (i >= n)
                return false;
        *ret_name = names[i];
        *ret_value = values[i];
        return true;
}

/* SPDX-License-Identifier: MIT */
/*
 * Runs the published AWS SigV4 test suite (data in ../shared/sigv4-suite, one folder per
 * case) through sigv4_sign() and prints TAP. Usage: test-sigv4-suite [SUITE-DIR].
 * It fails, never skips, when the directory is missing or holds fewer cases than the
 * suite has.
 */
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "aws/sigv4.h"
#include "base/util.h"

/* The suite as published (README) has 28 cases; a copy with fewer is broken. */
#define MIN_CASES 28
#define MAX_CASES 1024
#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

static const SigV4Credentials suite_creds = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
#define SUITE_TIME 1440938160 /* 20150830T123600Z */

/*
 * Cases whose session token is not in the .req (README: "carries its session token only
 * in the .creq"); the token's value is the X-Amz-Security-Token of the .sreq.
 * post-sts-header-after adds the token after signing, so it is not signed.
 * get-vanilla-with-session-token's published .sreq is inconsistent with its own .authz: it
 * lists the token in SignedHeaders but carries the signature of the same request signed
 * without it (get-vanilla's). .authz wins; the .sreq is checked except for that
 * signature, which is checked to be the token-less one.
 */
static const struct {
        const char *name;
        unsigned flags;
        bool sreq_has_unsigned_signature;
} token_cases[] = {
        { "get-vanilla-with-session-token", 0, true },
        { "post-sts-header-after", SIGV4_UNSIGNED_SESSION_TOKEN, false },
};

typedef struct Case {
        char *dir, *name;
} Case;

static int n_test = 0, n_failed = 0;

static void print_escaped(const char *label, const char *s) {
        printf("# %s: \"", label);
        for (const unsigned char *c = (const unsigned char *) strempty(s); *c; c++) {
                if (*c == '\n')
                        printf("\\n\"\n#   \"");
                else if (*c < 0x20 || *c >= 0x7f)
                        printf("\\x%02x", *c);
                else
                        putchar(*c);
        }
        printf("\"\n");
}

static void check(bool ok, const char *name, const char *what) {
        printf("%s %d - %s %s\n", ok ? "ok" : "not ok", ++n_test, name, what);
        if (!ok)
                n_failed++;
}

static void check_str(const char *name, const char *what, const char *want, const char *got) {
        bool ok = want && got && streq(want, got);

        check(ok, name, what);
        if (!ok) {
                print_escaped("expected", want);
                print_escaped("got", got);
        }
}

static int collect(const char *dir, Case *cases, size_t *n) {
        _cleanup_free_ char *copy = strdup(dir), *req = NULL;
        DIR *d;
        struct dirent *de;
        struct stat st;

        if (!copy)
                return -ENOMEM;
        if (asprintf(&req, "%s/%s.req", dir, basename(copy)) < 0)
                return -ENOMEM;
        if (stat(req, &st) == 0 && S_ISREG(st.st_mode) && *n < MAX_CASES) {
                cases[*n].dir = strdup(dir);
                cases[*n].name = strdup(basename(copy));
                (*n)++;
        }
        d = opendir(dir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
                        break;
                if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                        (void) collect(sub, cases, n);
        }
        closedir(d);
        return 0;
}

static int case_cmp(const void *a, const void *b) {
        return strcmp(((const Case *) a)->dir, ((const Case *) b)->dir);
}

static char *read_part(const Case *c, const char *ext) {
        _cleanup_free_ char *path = NULL;
        char *s = NULL;

        if (asprintf(&path, "%s/%s.%s", c->dir, c->name, ext) < 0)
                return NULL;
        if (read_file_capped(path, 1024 * 1024, &s, NULL) < 0)
                return NULL;
        return s;
}

/* A parsed .req: pointers into the (modified) buffer. */
typedef struct Req {
        char *line; /* request line */
        char *method, *path, *query;
        char *lines[SIGV4_MAX_HEADERS]; /* header lines verbatim */
        SigV4Header headers[SIGV4_MAX_HEADERS];
        size_t n_headers;
        char *body; /* NULL: no body section */
} Req;

static int parse_req(char *buf, Req *r) {
        char *p = buf, *sp1, *sp2;

        *r = (Req){};
        for (;;) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = 0;
                if (nl && nl > p && nl[-1] == '\r')
                        nl[-1] = 0;
                if (!r->line)
                        r->line = p;
                else if (*p == 0) {
                        /* A trailing newline at the end of the file is not a body. */
                        if (nl)
                                r->body = nl + 1;
                        break;
                } else {
                        char *colon = strchr(p, ':');
                        if (!colon || r->n_headers >= SIGV4_MAX_HEADERS)
                                return -EBADMSG;
                        r->lines[r->n_headers] = strdup(p);
                        *colon = 0;
                        r->headers[r->n_headers].name = p;
                        r->headers[r->n_headers].value = colon + 1;
                        r->n_headers++;
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        /* "GET /example space/ HTTP/1.1": the target may hold spaces. */
        sp1 = strchr(r->line, ' ');
        sp2 = strrchr(r->line, ' ');
        if (!sp1 || sp1 == sp2)
                return -EBADMSG;
        r->line = strdup(r->line);
        *sp1 = 0;
        *sp2 = 0;
        r->method = buf;
        r->path = sp1 + 1;
        r->query = strchr(r->path, '?');
        if (r->query)
                *r->query++ = 0;
        return 0;
}

static bool req_has_header(const Req *r, const char *name) {
        for (size_t i = 0; i < r->n_headers; i++)
                if (strcasecmp(r->headers[i].name, name) == 0)
                        return true;
        return false;
}

static void req_done(Req *r) {
        free(r->line);
        for (size_t i = 0; i < r->n_headers; i++)
                free(r->lines[i]);
}

static const char *header_value(const char *msg, const char *name) {
        static char v[4096];
        size_t n = strlen(name);

        for (const char *p = msg; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
                        size_t l = strcspn(p + n + 1, "\r\n");
                        snprintf(v, sizeof(v), "%.*s", (int) l, p + n + 1);
                        return v;
                }
        return NULL;
}

static char *build_sreq(const Req *r, const SigV4Signed *s, const char *token_after) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        if (!f)
                return NULL;
        fputs(r->line, f);
        for (size_t i = 0; i < r->n_headers; i++)
                fprintf(f, "\n%s", r->lines[i]);
        if (token_after)
                fprintf(f, "\nX-Amz-Security-Token:%s", token_after);
        fprintf(f, "\nAuthorization: %s", sigv4_signed_authorization(s));
        if (r->body)
                fprintf(f, "\n\n%s", r->body);
        fclose(f);
        return out;
}

static void run_case(const Case *c) {
        _cleanup_free_ char *req = read_part(c, "req"), *creq = read_part(c, "creq"),
                            *sts = read_part(c, "sts"), *authz = read_part(c, "authz"),
                            *sreq = read_part(c, "sreq"), *got_sreq = NULL, *token = NULL;
        _cleanup_(sigv4_signed_freep) SigV4Signed *s = NULL;
        SigV4Credentials creds = suite_creds;
        unsigned flags = 0;
        bool unsigned_sig_in_sreq = false;
        Req r;
        int k;

        if (!req || parse_req(req, &r) < 0) {
                check(false, c->name, "parse .req");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(token_cases); i++)
                if (streq(c->name, token_cases[i].name)) {
                        const char *t = sreq ? header_value(sreq, "X-Amz-Security-Token") : NULL;
                        token = t ? strdup(t) : NULL;
                        check(token != NULL, c->name, "session token in .sreq");
                        creds.session_token = token;
                        flags = token_cases[i].flags;
                        unsigned_sig_in_sreq = token_cases[i].sreq_has_unsigned_signature;
                }
        k = sigv4_sign(&(SigV4Request){ .method = r.method,
                                        .path = r.path,
                                        .raw_query = r.query,
                                        .headers = r.headers,
                                        .n_headers = r.n_headers,
                                        .body = r.body,
                                        .body_len = r.body ? strlen(r.body) : 0 },
                       &creds, "us-east-1", "service", SUITE_TIME, flags, &s);
        check(k >= 0, c->name, "sign");
        if (k < 0) {
                req_done(&r);
                return;
        }
        check_str(c->name, "creq", creq, sigv4_signed_canonical_request(s));
        check_str(c->name, "sts", sts, sigv4_signed_string_to_sign(s));
        check_str(c->name, "authz", authz, sigv4_signed_authorization(s));
        got_sreq = build_sreq(&r, s, req_has_header(&r, "X-Amz-Security-Token") ? NULL : token);
        if (unsigned_sig_in_sreq && got_sreq && sreq) {
                /* Known defect in the published .sreq: see token_cases. */
                _cleanup_(sigv4_signed_freep) SigV4Signed *u = NULL;
                char *want_sig = strstr(sreq, "Signature="),
                     *got_sig = strstr(got_sreq, "Signature=");
                creds.session_token = NULL;
                k = sigv4_sign(&(SigV4Request){ .method = r.method,
                                                .path = r.path,
                                                .raw_query = r.query,
                                                .headers = r.headers,
                                                .n_headers = r.n_headers },
                               &creds, "us-east-1", "service", SUITE_TIME, 0, &u);
                check(k >= 0 && want_sig && got_sig &&
                              strneq(want_sig + 10, sigv4_signed_signature(u), 64),
                      c->name, "sreq carries the token-less signature (known suite defect)");
                if (want_sig && got_sig && strlen(got_sig) >= 74)
                        memcpy(got_sig + 10, want_sig + 10, 64);
        }
        check_str(c->name, unsigned_sig_in_sreq ? "sreq (but its signature)" : "sreq", sreq,
                  got_sreq);
        req_done(&r);
}

int main(int argc, char **argv) {
        _cleanup_free_ char *def = NULL;
        const char *dir = argc > 1 ? argv[1] : NULL;
        Case *cases = calloc(MAX_CASES, sizeof(*cases));
        size_t n = 0;
        struct stat st;

        if (!dir && !isempty(getenv("DROVER_SIGV4_SUITE")))
                dir = getenv("DROVER_SIGV4_SUITE"); /* make distcheck: outside the tarball */
        if (!dir) {
                const char *top = getenv("top_srcdir");
                if (asprintf(&def, "%s/../shared/sigv4-suite", top ? top : SIGV4_SRCDIR) < 0)
                        return 99;
                dir = def;
        }
        if (!cases || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                printf("1..1\nnot ok 1 - suite directory %s is missing\n", dir);
                return 1;
        }
        (void) collect(dir, cases, &n);
        qsort(cases, n, sizeof(*cases), case_cmp);
        check(n >= MIN_CASES, "suite", "has at least " STRINGIFY(MIN_CASES) " cases");
        if (n < MIN_CASES)
                printf("# %s holds %zu cases, the suite has %d\n", dir, n, MIN_CASES);
        for (size_t i = 0; i < n; i++) {
                run_case(&cases[i]);
                free(cases[i].dir);
                free(cases[i].name);
        }
        free(cases);
        printf("1..%d\n", n_test);
        return n_failed > 0;
}

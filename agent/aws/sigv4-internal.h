/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by sigv4.c and sigv4-canonical.c only. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "base/macro.h"
#include "base/secmem.h"

/* A growing string; the first failure sticks so callers check once at the end. */
typedef struct Buf {
        char *p;
        size_t len, cap;
        bool failed;
} Buf;

static inline void buf_put(Buf *b, const char *s, size_t n) {
        if (b->failed)
                return;
        if (n > SIZE_MAX / 2 - b->len) {
                b->failed = true;
                return;
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 64);
                char *p = secmem_realloc(b->p, cap);
                if (!p) {
                        b->failed = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = 0;
}

static inline void buf_puts(Buf *b, const char *s) {
        buf_put(b, s, strlen(s));
}

static inline void buf_putc(Buf *b, char c) {
        buf_put(b, &c, 1);
}

typedef struct Pair {
        char *key, *value; /* both encoded (query) or lname + trimmed value (headers) */
        size_t order;
} Pair;

void sigv4_pairs_free(Pair *p, size_t n);
/* The canonical URI: normalised (unless S3), every byte outside unreserved and "/" encoded. */
void sigv4_put_canonical_uri(Buf *b, const char *path, bool normalize);
/* The canonical query string, from the parameters or the raw query. */
int sigv4_put_canonical_query(Buf *b, const SigV4Request *req);

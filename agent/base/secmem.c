/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/secmem.h"

void *secmem_malloc(size_t n) {
        return malloc(n);
}

void *secmem_calloc(size_t n, size_t size) {
        return calloc(n, size);
}

void secmem_free(void *p) {
        if (!p)
                return;
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
}

void *secmem_realloc(void *p, size_t n) {
        size_t have;
        void *q;

        if (!p)
                return malloc(n);
        have = malloc_usable_size(p);
        if (n <= have && n > 0)
                return p; /* fits: the slack is wiped with the rest on free */
        q = malloc(n ? n : 1);
        if (!q)
                return NULL;
        memcpy(q, p, MIN(have, n));
        secmem_free(p);
        return q;
}

char *secmem_strdup(const char *s) {
        size_t n = strlen(s) + 1;
        char *d = malloc(n);

        return d ? memcpy(d, s, n) : NULL;
}

static void *ossl_malloc(size_t n, const char *file, int line) {
        (void) file, (void) line;
        return secmem_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line) {
        (void) file, (void) line;
        return secmem_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line) {
        (void) file, (void) line;
        secmem_free(p);
}

int secmem_install(void) {
        json_set_alloc_funcs(secmem_malloc, secmem_free);
        return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) ? 0 : -EBUSY;
}

void secmem_dontdump(void *p, size_t n) {
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE), a, b;

        if (!p || n == 0)
                return;
        a = (uintptr_t) p & ~(page - 1);
        b = ((uintptr_t) p + n + page - 1) & ~(page - 1);
        (void) madvise((void *) a, b - a, MADV_DONTDUMP);
}

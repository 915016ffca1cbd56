/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Memory that may hold secrets is wiped when it is freed, not left for a heap scan or a
 * core file. The allocators below are the system's malloc with a free that first
 * overwrites the whole block (malloc_usable_size() bytes) and a realloc that never
 * leaves an unwiped copy behind. secmem_install() gives them to jansson (every parsed
 * credentials document) and OpenSSL (HMAC keys, TLS records); the HTTP client gives them
 * to libcurl (curl_global_init_mem: response buffers, header lists). drover's own
 * buffers that hold secrets use secmem_free() too.
 */

#include <stddef.h>

#include "base/macro.h"

void *secmem_malloc(size_t n);
void *secmem_calloc(size_t n, size_t size);
/* Moves to a new block when growing, wiping the old one; NULL (p untouched) on failure. */
void *secmem_realloc(void *p, size_t n);
char *secmem_strdup(const char *s);
/* Wipes the whole block, then frees it. NULL is fine. */
void secmem_free(void *p);

/*
 * Installs the allocators in jansson and OpenSSL. Call first thing in main(), before
 * either library allocates. -EBUSY if OpenSSL had allocated already.
 */
int secmem_install(void);

/*
 * Marks the pages of [p, p + n) as left out of core dumps (MADV_DONTDUMP), for buffers
 * that keep a secret for long. Best effort: the pages are shared with whatever else
 * lives there, which is left out too.
 */
void secmem_dontdump(void *p, size_t n);

static inline void secmem_freep(void *p) {
        secmem_free(*(void **) p);
}
#define _cleanup_secmem_ _cleanup_(secmem_freep)

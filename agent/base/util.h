/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "base/macro.h"

/* Clock readings in microseconds (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME). */
uint64_t now_usec(clockid_t clock);

/* Uniform random numbers from getrandom(2); not for secrets. */
uint64_t random_u64(void);
double random_unit(void); /* in [0, 1) */

/*
 * Exponential backoff with "full jitter" (the AWS SDKs' standard mode): a delay drawn
 * uniformly from [0, min(cap, base * 2^attempt)). Pure: the caller passes |unit| in
 * [0, 1), normally random_unit(). attempt counts from 0.
 */
uint64_t backoff_full_jitter_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec,
                                  double unit);

/*
 * Reads at most max bytes of a regular file, NUL-terminated. -EFBIG when the file is
 * longer; -EISDIR for a directory and -EBADFD for anything else that is not a regular
 * file (a FIFO, a device), both found without blocking.
 */
int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * Writes a file atomically: temporary file in the same directory, fsync, rename, then
 * fsync of the directory so the rename survives a power loss.
 */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * A file that makes drover execute something must be root-owned and not writable by
 * group or others when drover runs as root. Returns 0 if trusted, -EPERM with a reason
 * in *ret_why (static string) if not, other negative errno if it cannot be checked.
 */
int file_check_trusted(const char *path, const char **ret_why);

/* NULL-terminated string vectors. */
void strv_free(char **l);
size_t strv_length(char *const *l);
char **strv_copy(char *const *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* $STATE_DIRECTORY / $RUNTIME_DIRECTORY (first entry) or the compiled-in defaults. */
const char *drover_state_dir(void);
const char *drover_runtime_dir(void);
const char *drover_default_config(void);

/* Wipes secrets in a way the compiler may not elide. */
void secure_wipe(void *p, size_t n);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * AWS credentials: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN) first, else the instance role from IMDS, fetched lazily on first
 * use and refreshed by a timer ahead of their Expiration (with jitter), retried with
 * backoff while the old ones are still valid. Secrets are never logged by anyone and
 * are wiped from memory when dropped.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws/credentials-parse.h"
#include "aws/sigv4.h"
#include "imds/imds.h"
#include "base/macro.h"

typedef struct Credentials Credentials;
typedef struct CredentialsWaiter CredentialsWaiter;

/*
 * Environment credentials are read here (and take precedence). imds may be NULL (then
 * only the environment is used); it and e must outlive the Credentials (takes a
 * reference on e). getenv_fn NULL means getenv (tests pass their own).
 */
int credentials_new(sd_event *e, Imds *imds, char *(*getenv_fn)(const char *), Credentials **ret);
/* Cancels waiters (no callbacks) and the timer; wipes the secrets. Accepts NULL. */
Credentials *credentials_free(Credentials *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Credentials *, credentials_free)

/*
 * The credentials to sign with at wall-clock time now, or NULL when there are none yet
 * or they expired. The pointers stay valid until the next return to the event loop.
 */
const SigV4Credentials *credentials_current(const Credentials *c, time_t now);

/* "environment", "instance-role:NAME" or "none" (nothing loaded yet, or no source). */
const char *credentials_source(const Credentials *c);
/* Expiration of the instance role's credentials (0 for environment or none). */
time_t credentials_expiration(const Credentials *c);
/* When the next refresh is scheduled (wall clock), 0 if none. */
time_t credentials_next_refresh(const Credentials *c);

/*
 * Waits for a fetch from IMDS (starting one if none is running). cb runs once from the
 * event loop: error 0 when credentials_current() now has credentials, else negative
 * errno (-ENOKEY when there is no source at all) and a static-or-owned message (valid
 * during the callback) saying which step failed. ret may be NULL.
 */
typedef void (*credentials_cb)(int error, const char *message, void *userdata);
int credentials_wait(Credentials *c, credentials_cb cb, void *userdata, CredentialsWaiter **ret);
void credentials_waiter_cancel(CredentialsWaiter *w);

/* AWS said the credentials are bad or expired: forget role credentials (not the
 * environment's), so the next call fetches new ones. */
void credentials_invalidate(Credentials *c);

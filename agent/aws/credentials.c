/* SPDX-License-Identifier: MIT */
/*
 * Credentials: the environment, else the instance role from IMDS. Calls that find no
 * usable credentials wait for one shared fetch (a "round"); a timer refreshes role
 * credentials ahead of their expiration. Nothing here logs: the secrets must never reach
 * a log, and the callers say what failed.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>

#include "aws/credentials.h"
#include "base/list.h"
#include "base/secmem.h"
#include "base/util.h"

#define ROLES_PATH "meta-data/iam/security-credentials/"

struct CredentialsWaiter {
        Credentials *creds;
        credentials_cb cb;
        void *userdata;
        unsigned round;
        LIST_FIELDS(CredentialsWaiter, waiters);
};

struct Credentials {
        sd_event *event;
        Imds *imds;
        bool from_env;
        CredentialsKeys keys;
        SigV4Credentials view;
        char *role;
        char source[sizeof("instance-role:") + CREDENTIALS_MAX_ROLE];

        ImdsCall *call;
        unsigned round;    /* bumped per fetch; waiters join the running one */
        unsigned failures; /* failed fetches in a row */
        sd_event_source *timer;
        time_t next_refresh;
        char message[256];
        LIST_HEAD(CredentialsWaiter, waiters);
        bool *freed; /* set while notifying: a callback may free us */
};

/* ---- the provider --------------------------------------------------------------------- */

int credentials_new(sd_event *e, Imds *imds, char *(*getenv_fn)(const char *), Credentials **ret) {
        _cleanup_(credentials_freep) Credentials *c = NULL;
        const char *id, *secret, *token;

        if (!e || !ret)
                return -EINVAL;
        getenv_fn = getenv_fn ?: getenv;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(e);
        c->imds = imds;
        strcpy(c->source, "none");

        id = getenv_fn("AWS_ACCESS_KEY_ID");
        secret = getenv_fn("AWS_SECRET_ACCESS_KEY");
        token = getenv_fn("AWS_SESSION_TOKEN");
        if (!isempty(id) && !isempty(secret)) {
                c->keys.access_key_id = strdup(id);
                c->keys.secret_access_key = strdup(secret);
                c->keys.session_token = isempty(token) ? NULL : strdup(token);
                if (!c->keys.access_key_id || !c->keys.secret_access_key ||
                    (!isempty(token) && !c->keys.session_token))
                        return -ENOMEM;
                c->from_env = true;
                strcpy(c->source, "environment");
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static void waiter_unlink(CredentialsWaiter *w) {
        Credentials *c = w->creds;

        LIST_REMOVE(waiters, c->waiters, w);
        free(w);
}

void credentials_waiter_cancel(CredentialsWaiter *w) {
        if (w)
                waiter_unlink(w);
}

Credentials *credentials_free(Credentials *c) {
        if (!c)
                return NULL;
        if (c->freed)
                *c->freed = true;
        while (c->waiters)
                waiter_unlink(c->waiters);
        imds_call_cancel(c->call);
        sd_event_source_disable_unref(c->timer);
        credentials_keys_done(&c->keys);
        free(c->role);
        sd_event_unref(c->event);
        return mfree(c);
}

const SigV4Credentials *credentials_current(const Credentials *c, time_t now) {
        Credentials *m = (Credentials *) c;

        if (!c || !c->keys.access_key_id)
                return NULL;
        if (!c->from_env && now >= c->keys.expiration)
                return NULL;
        m->view = (SigV4Credentials){
                .access_key_id = c->keys.access_key_id,
                .secret_access_key = c->keys.secret_access_key,
                .session_token = c->keys.session_token,
        };
        return &m->view;
}

const char *credentials_source(const Credentials *c) {
        return c ? c->source : "none";
}

time_t credentials_expiration(const Credentials *c) {
        return c && !c->from_env ? c->keys.expiration : 0;
}

time_t credentials_next_refresh(const Credentials *c) {
        return c ? c->next_refresh : 0;
}

void credentials_invalidate(Credentials *c) {
        if (!c || c->from_env)
                return;
        credentials_keys_done(&c->keys);
}

static int fetch_start(Credentials *c);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Credentials *c = userdata;

        c->next_refresh = 0;
        (void) fetch_start(c);
        return 0;
}

static void schedule(Credentials *c, time_t at) {
        uint64_t usec = (uint64_t) MAX(at, 0) * USEC_PER_SEC;
        int r;

        if (c->timer)
                r = sd_event_source_set_time(c->timer, usec) < 0
                            ? -1
                            : sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
        else
                r = sd_event_add_time(c->event, &c->timer, CLOCK_REALTIME, usec, USEC_PER_SEC / 2,
                                      on_timer, c);
        /* Without a timer, the next call after expiry fetches lazily: degraded, not broken. */
        c->next_refresh = r >= 0 ? at : 0;
}

/* Calls the waiters of this round (callbacks may add or cancel waiters). */
static void notify(Credentials *c, unsigned round, int error) {
        bool freed = false;

        c->freed = &freed;
        for (;;) {
                CredentialsWaiter *w = c->waiters;
                credentials_cb cb;
                void *userdata;

                while (w && w->round != round)
                        w = w->waiters_next;
                if (!w)
                        break;
                cb = w->cb;
                userdata = w->userdata;
                waiter_unlink(w);
                cb(error, c->message, userdata);
                if (freed)
                        return;
        }
        c->freed = NULL;
}

static void fetch_done(Credentials *c, int error) {
        time_t now = time(NULL);

        c->call = NULL;
        if (error < 0) {
                c->failures++;
                /* Retry on our own only while the old ones still work (a refresh); with
                 * none, the next call asks again. */
                if (credentials_current(c, now))
                        schedule(c, now + (time_t) credentials_retry_delay_sec(c->failures, now,
                                                                               c->keys.expiration,
                                                                               random_unit()));
        } else {
                c->failures = 0;
                c->message[0] = 0;
                schedule(c, credentials_refresh_at(now, c->keys.expiration, random_unit()));
        }
        notify(c, c->round, error);
}

static void fail(Credentials *c, const char *step, const ImdsResult *res, int error) {
        char status[32] = "";

        if (res && res->status > 0)
                snprintf(status, sizeof(status), " (HTTP %ld)", res->status);
        snprintf(c->message, sizeof(c->message), "instance role credentials: %s failed: %s%s", step,
                 error == -ENOENT ? "no instance role attached" : strerror(-error), status);
        fetch_done(c, error);
}

static void on_keys(Imds *m, const ImdsResult *res, void *userdata) {
        Credentials *c = userdata;
        CredentialsKeys k = {};
        const char *field = NULL;
        int r;

        if (res->error < 0)
                return fail(c, "GET " ROLES_PATH "ROLE", res, res->error);
        r = credentials_parse_imds(res->body, res->len, &k, &field);
        if (r < 0) {
                snprintf(c->message, sizeof(c->message),
                         "instance role credentials: unusable answer from IMDS (field %s)",
                         field ?: "-");
                return fetch_done(c, r);
        }
        if (k.expiration <= time(NULL)) {
                credentials_keys_done(&k);
                snprintf(c->message, sizeof(c->message),
                         "instance role credentials: IMDS handed out expired credentials");
                return fetch_done(c, -EKEYEXPIRED);
        }
        credentials_keys_done(&c->keys);
        c->keys = k;
        snprintf(c->source, sizeof(c->source), "instance-role:%s", c->role);
        fetch_done(c, 0);
}

static void on_role(Imds *m, const ImdsResult *res, void *userdata) {
        Credentials *c = userdata;
        _cleanup_free_ char *path = NULL;
        char *role = NULL;
        int r;

        if (res->error < 0)
                return fail(c, "GET " ROLES_PATH, res, res->error);
        r = credentials_parse_role(res->body, res->len, &role);
        if (r < 0)
                return fail(c, "reading the role name from " ROLES_PATH, NULL, r);
        free(c->role);
        c->role = role;
        if (asprintf(&path, ROLES_PATH "%s", role) < 0)
                return fail(c, "GET " ROLES_PATH "ROLE", NULL, -ENOMEM);
        r = imds_get(c->imds, path, on_keys, c, &c->call);
        if (r < 0)
                fail(c, "GET " ROLES_PATH "ROLE", NULL, r);
}

static int fetch_start(Credentials *c) {
        int r;

        if (c->call)
                return 0;
        c->round++;
        r = imds_get(c->imds, ROLES_PATH, on_role, c, &c->call);
        if (r < 0) {
                c->call = NULL;
                return r;
        }
        return 0;
}

int credentials_wait(Credentials *c, credentials_cb cb, void *userdata, CredentialsWaiter **ret) {
        CredentialsWaiter *w;
        int r;

        if (!c || !cb)
                return -EINVAL;
        if (c->from_env || !c->imds)
                return -ENOKEY;
        r = fetch_start(c);
        if (r < 0)
                return r;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (CredentialsWaiter){ .creds = c, .cb = cb, .userdata = userdata, .round = c->round };
        LIST_PREPEND(waiters, c->waiters, w);
        if (ret)
                *ret = w;
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The IMDSv2 client. Every request needs a session token; requests that arrive while
 * there is none wait for one shared fetch (a "round"), then go out together.
 */
#include <stdio.h>

#include "config/config.h"
#include "imds/imds.h"
#include "base/list.h"
#include "base/secmem.h"
#include "base/util.h"

#define TOKEN_HEADER "X-aws-ec2-metadata-token"
#define TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define TOKEN_MAX 1024U
#define CONNECT_TIMEOUT_MS 500U

typedef enum TokenState {
        TOKEN_NONE,
        TOKEN_VALID,
        TOKEN_V1, /* IMDSv1 only, allowed by the config: no token */
} TokenState;

struct Imds {
        Http *http;
        char *endpoint;
        unsigned token_ttl, timeout_ms, retries;
        bool allow_v1;

        TokenState tstate;
        char *token;
        uint64_t token_fetched; /* CLOCK_BOOTTIME: the token's TTL runs while suspended */
        unsigned token_ttl_granted;
        unsigned token_gen; /* bumped per token, to re-fetch once per stale token */

        HttpCall *token_call;
        sd_event_source *token_retry;
        unsigned token_attempts;
        unsigned round; /* bumped per token fetch; waiting calls join one */
        LIST_HEAD(ImdsCall, calls);
        ImdsCall *starting; /* the call imds_get() is starting */
        int starting_error; /* its local failure, returned instead of called back */
};

struct ImdsCall {
        Imds *imds;
        char path[IMDS_MAX_PATH];
        char step[IMDS_MAX_PATH + 8];
        imds_done_cb cb;
        void *userdata;
        HttpCall *http_call;
        sd_event_source *retry;
        unsigned attempts;
        unsigned used_gen;
        unsigned round;
        bool waiting, retokened;
        LIST_FIELDS(ImdsCall, calls);
};

static void call_start(ImdsCall *c);

/* The token is a credential for IMDS: wipe it rather than leave it in freed memory. */
static void token_forget(Imds *m) {
        if (m->token)
                secure_wipe(m->token, strlen(m->token));
        m->token = mfree(m->token);
        m->tstate = TOKEN_NONE;
}

HttpRetryPolicy imds_retry_policy(unsigned retries) {
        return (HttpRetryPolicy){
                .retries = retries,
                .base_usec = 200 * USEC_PER_MSEC,
                .cap_usec = 2 * USEC_PER_SEC,
        };
}

static int error_from_status(long status) {
        switch (status) {
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 429:
                return -EBUSY;
        default:
                return status >= 500 && status <= 599 ? -EREMOTEIO : -EPROTO;
        }
}

static char *endpoint_url(const Imds *m, const char *path) {
        char *u;

        return asprintf(&u, "%s%s", m->endpoint, path) < 0 ? NULL : u;
}

static void call_unlink(ImdsCall *c) {
        Imds *m = c->imds;

        if (!m)
                return;
        LIST_REMOVE(calls, m->calls, c);
        c->imds = NULL;
}

static void call_free(ImdsCall *c) {
        call_unlink(c);
        http_call_cancel(c->http_call);
        sd_event_source_disable_unref(c->retry);
        free(c);
}

void imds_call_cancel(ImdsCall *c) {
        if (c)
                call_free(c);
}

/* Delivers the outcome and frees the call. */
static void call_finish(ImdsCall *c, int error, long status, const char *body, size_t len,
                        const char *step, const char *detail) {
        Imds *m = c->imds;
        ImdsResult res = {
                .error = error,
                .body = error < 0 || !body ? "" : body,
                .len = error < 0 || !body ? 0 : len,
                .step = error < 0 ? step : "",
                .status = status,
                .attempts = c->attempts,
                .detail = strempty(detail),
        };

        c->http_call = NULL; /* owned by http.c while its callback runs */
        if (m && m->starting == c) {
                m->starting_error = error < 0 ? error : -EIO;
                call_free(c);
                return;
        }
        call_unlink(c);
        c->cb(m, &res, c->userdata);
        call_free(c);
}

static int on_call_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        ImdsCall *c = userdata;

        c->retry = sd_event_source_disable_unref(c->retry);
        call_start(c);
        return 0;
}

static bool schedule_retry(Imds *m, sd_event_source **slot, unsigned attempts, int error,
                           long status, sd_event_time_handler_t handler, void *userdata) {
        HttpRetryPolicy p = imds_retry_policy(m->retries);
        uint64_t delay, now;

        if (!http_retry_next(&p, attempts, error, status, random_unit(), &delay))
                return false;
        if (sd_event_now(http_get_event(m->http), CLOCK_MONOTONIC, &now) < 0)
                return false;
        /* 1 ms accuracy: sd-event's default slack (250 ms) would dwarf short backoffs. */
        return sd_event_add_time(http_get_event(m->http), slot, CLOCK_MONOTONIC, now + delay,
                                 USEC_PER_MSEC, handler, userdata) >= 0;
}

static void on_get_done(HttpCall *hc, const HttpResponse *resp, void *userdata) {
        ImdsCall *c = userdata;
        Imds *m = c->imds;

        c->http_call = NULL;
        if (resp->error == 0 && resp->status == 200)
                return call_finish(c, 0, 200, resp->body, resp->body_len, NULL, NULL);
        if (resp->error == 0 && resp->status == 401 && !c->retokened) {
                /* Our token went stale (or IMDS now wants one): fetch a new one, once. */
                c->retokened = true;
                if (m->tstate == TOKEN_V1 || c->used_gen == m->token_gen)
                        token_forget(m);
                return call_start(c);
        }
        if (schedule_retry(m, &c->retry, c->attempts, resp->error, resp->status, on_call_retry, c))
                return;
        call_finish(c, resp->error < 0 ? resp->error : error_from_status(resp->status),
                    resp->status, NULL, 0, c->step, resp->error_message);
}

static void call_send(ImdsCall *c) {
        Imds *m = c->imds;
        _cleanup_free_ char *url = endpoint_url(m, c->path);
        _cleanup_secmem_ char *hdr = NULL; /* carries the token */
        char *headers[] = { NULL, NULL };
        HttpRequest req = {
                .method = "GET",
                .url = url,
                .headers = headers,
                .timeout_ms = m->timeout_ms,
                .connect_timeout_ms = MIN(m->timeout_ms, CONNECT_TIMEOUT_MS),
                .max_response = IMDS_MAX_RESPONSE,
                .no_proxy = true,
        };
        int r;

        if (m->tstate == TOKEN_VALID) {
                if (asprintf(&hdr, TOKEN_HEADER ": %s", m->token) < 0)
                        hdr = NULL;
                headers[0] = hdr;
        }
        c->attempts++;
        c->used_gen = m->token_gen;
        r = !url || (m->tstate == TOKEN_VALID && !hdr)
                    ? -ENOMEM
                    : http_request(m->http, &req, on_get_done, c, &c->http_call);
        if (r < 0)
                call_finish(c, r, 0, NULL, 0, c->step, "");
}

static ImdsCall *find_waiting(Imds *m, unsigned round) {
        ImdsCall *c;

        LIST_FOREACH(calls, c, m->calls)
        if (c->waiting && c->round == round)
                return c;
        return NULL;
}

/* Ends a token round: sends its waiting calls, or fails them. Callbacks may add calls;
 * those belong to a later round, so the scan stops. */
static void round_end(Imds *m, int error, long status, const char *detail) {
        unsigned round = m->round;
        ImdsCall *c;

        while ((c = find_waiting(m, round))) {
                c->waiting = false;
                if (error < 0) {
                        c->attempts = m->token_attempts; /* the step that failed */
                        call_finish(c, error, status, NULL, 0, "token request", detail);
                } else
                        call_send(c);
        }
}

static int on_token_retry(sd_event_source *s, uint64_t usec, void *userdata);
static void token_fetch(Imds *m);

static bool token_valid(const char *t, size_t len) {
        if (len == 0 || len > TOKEN_MAX || strlen(t) != len)
                return false;
        for (const char *p = t; *p; p++)
                if (*p <= ' ' || *p >= 0x7f)
                        return false;
        return true;
}

static void token_store(Imds *m, const HttpResponse *resp) {
        const char *ttl = http_response_header(resp, TOKEN_TTL_HEADER);
        char *end = NULL;
        unsigned long granted = ttl ? strtoul(ttl, &end, 10) : 0;

        token_forget(m);
        m->token = strdup(resp->body);
        secmem_dontdump(m->token, m->token ? strlen(m->token) : 0);
        m->tstate = m->token ? TOKEN_VALID : TOKEN_NONE;
        m->token_gen++;
        m->token_fetched = now_usec(CLOCK_BOOTTIME);
        /* IMDS may grant less than we asked for; never trust it to grant more. */
        m->token_ttl_granted =
                ttl && end != ttl && *end == 0 && granted > 0 && granted < m->token_ttl
                        ? (unsigned) granted
                        : m->token_ttl;
}

static void on_token_done(HttpCall *hc, const HttpResponse *resp, void *userdata) {
        Imds *m = userdata;
        int error = resp->error;

        m->token_call = NULL;
        if (error == 0 && resp->status == 200) {
                if (token_valid(resp->body, resp->body_len)) {
                        token_store(m, resp);
                        return round_end(m, m->token ? 0 : -ENOMEM, 200, NULL);
                }
                error = -EBADMSG;
        }
        if (error == 0 && (resp->status == 403 || resp->status == 404 || resp->status == 405)) {
                if (m->allow_v1) {
                        m->tstate = TOKEN_V1;
                        return round_end(m, 0, resp->status, NULL);
                }
                return round_end(m, -EPROTONOSUPPORT, resp->status,
                                 "IMDS offers no IMDSv2 token (IMDSv1 only?); IMDSv1 is "
                                 "used only with imds.allow_v1 = true");
        }
        if (schedule_retry(m, &m->token_retry, m->token_attempts, error, resp->status,
                           on_token_retry, m))
                return;
        round_end(m, error < 0 ? error : error_from_status(resp->status), resp->status,
                  error == -EBADMSG ? "IMDS returned an invalid token" : resp->error_message);
}

static int on_token_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Imds *m = userdata;

        m->token_retry = sd_event_source_disable_unref(m->token_retry);
        token_fetch(m);
        return 0;
}

static void token_fetch(Imds *m) {
        _cleanup_free_ char *url = endpoint_url(m, "/latest/api/token");
        char ttl[64];
        char *headers[] = { ttl, NULL };
        HttpRequest req = {
                .method = "PUT",
                .url = url,
                .headers = headers,
                .timeout_ms = m->timeout_ms,
                .connect_timeout_ms = MIN(m->timeout_ms, CONNECT_TIMEOUT_MS),
                .max_response = TOKEN_MAX,
                .no_proxy = true,
        };
        int r;

        snprintf(ttl, sizeof(ttl), TOKEN_TTL_HEADER ": %u", m->token_ttl);
        m->token_attempts++;
        r = url ? http_request(m->http, &req, on_token_done, m, &m->token_call) : -ENOMEM;
        if (r < 0)
                round_end(m, r, 0, "");
}

static void call_start(ImdsCall *c) {
        Imds *m = c->imds;

        if (m->tstate == TOKEN_VALID &&
            !imds_token_fresh(m->token_fetched, m->token_ttl_granted, now_usec(CLOCK_BOOTTIME)))
                token_forget(m);
        if (m->tstate != TOKEN_NONE)
                return call_send(c);
        if (!m->token_call && !m->token_retry) {
                m->round++;
                m->token_attempts = 0;
                c->waiting = true;
                c->round = m->round;
                return token_fetch(m);
        }
        c->waiting = true;
        c->round = m->round;
}

int imds_get(Imds *m, const char *path, imds_done_cb cb, void *userdata, ImdsCall **ret) {
        ImdsCall *c;
        int r;

        if (!cb)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = imds_normalize_path(path, c->path, sizeof(c->path));
        if (r < 0) {
                free(c);
                return r;
        }
        snprintf(c->step, sizeof(c->step), "GET %s", c->path);
        c->cb = cb;
        c->userdata = userdata;
        c->imds = m;
        LIST_PREPEND(calls, m->calls, c);
        /* A local failure while starting (no memory, say) is returned, not called back. */
        m->starting = c;
        m->starting_error = 0;
        call_start(c);
        m->starting = NULL;
        if (m->starting_error < 0)
                return m->starting_error;
        if (ret)
                *ret = c;
        return 0;
}

int imds_new(Http *http, const ImdsConfig *cfg, Imds **ret) {
        Imds *m;
        size_t n;

        if (!http || !cfg || isempty(cfg->endpoint) || cfg->token_ttl < 1 ||
            cfg->token_ttl > 21600 || cfg->timeout_ms == 0)
                return -EINVAL;
        if (!strneq(cfg->endpoint, "http://", 7) && !strneq(cfg->endpoint, "https://", 8))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->endpoint = strdup(cfg->endpoint);
        if (!m->endpoint)
                return free(m), -ENOMEM;
        n = strlen(m->endpoint);
        while (n > 0 && m->endpoint[n - 1] == '/')
                m->endpoint[--n] = 0;
        m->http = http;
        m->token_ttl = cfg->token_ttl;
        m->timeout_ms = cfg->timeout_ms;
        m->retries = cfg->retries;
        m->allow_v1 = cfg->allow_v1;
        *ret = m;
        return 0;
}

Imds *imds_free(Imds *m) {
        if (!m)
                return NULL;
        while (m->calls)
                call_free(m->calls);
        http_call_cancel(m->token_call);
        sd_event_source_disable_unref(m->token_retry);
        token_forget(m);
        free(m->endpoint);
        free(m);
        return NULL;
}

const char *imds_endpoint(const Imds *m) {
        return m->endpoint;
}

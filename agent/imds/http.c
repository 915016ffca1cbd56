/* SPDX-License-Identifier: MIT */
/*
 * libcurl's multi-socket API on sd-event, after systemd's src/import/curl-util.c: curl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it up
 * (CURLMOPT_TIMERFUNCTION); sd-event tells curl when that happens.
 */
#include <ctype.h>
#include <strings.h>

#include <curl/curl.h>

#include "imds/http.h"
#include "base/list.h"
#include "base/secmem.h"
#include "base/util.h"

struct Http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        LIST_HEAD(HttpCall, calls); /* for cancellation on free */
        size_t n_calls;
};

struct HttpCall {
        Http *http;
        CURL *easy;
        struct curl_slist *req_headers;
        http_done_cb cb;
        void *userdata;
        char *body;
        size_t body_len, body_alloc, max_response;
        bool too_big;
        char **resp_headers;
        size_t n_resp_headers, resp_header_bytes;
        char errbuf[CURL_ERROR_SIZE];
        LIST_FIELDS(HttpCall, calls);
};

static void headers_free_wiped(char **l) {
        for (char **p = l; p && *p; p++)
                secmem_free(*p);
        free(l);
}

static void call_free(HttpCall *c) {
        if (!c)
                return;
        if (c->easy) {
                if (c->http)
                        (void) curl_multi_remove_handle(c->http->multi, c->easy);
                curl_easy_cleanup(c->easy);
        }
        if (c->http) {
                LIST_REMOVE(calls, c->http->calls, c);
                c->http->n_calls--;
        }
        curl_slist_free_all(c->req_headers);
        headers_free_wiped(c->resp_headers);
        /* Bodies hold credentials documents and tokens: wiped, not just freed. */
        secmem_free(c->body);
        free(c);
}

int http_errno_from_curl(int code, int os_errno) {
        switch ((CURLcode) code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                /* The kernel's reason (unreachable, refused) is more precise than curl's. */
                return os_errno > 0 ? -os_errno : -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
                return -ECONNRESET;
        case CURLE_PARTIAL_FILE:
                return -EPIPE;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_BAD_CONTENT_ENCODING:
                return -EBADMSG;
        case CURLE_FILESIZE_EXCEEDED:
        case CURLE_WRITE_ERROR:
                return -EFBIG;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
                return -EKEYREJECTED;
        case CURLE_SSL_CONNECT_ERROR:
                return -ECONNABORTED;
        default:
                return -EIO;
        }
}

bool http_is_retryable(int error, long status) {
        switch (error) {
        case 0:
                return status == 429 ||
                       (status >= 500 && status <= 599 && status != 501 && status != 505);
        case -ETIMEDOUT:
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -ECONNABORTED:
        case -EPIPE:
        case -EBADMSG:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -EAGAIN:
                return true;
        default:
                return false;
        }
}

bool http_retry_next(const HttpRetryPolicy *p, unsigned attempts, int error, long status,
                     double unit, uint64_t *ret_delay_usec) {
        if (attempts == 0 || attempts > p->retries || !http_is_retryable(error, status))
                return false;
        *ret_delay_usec = backoff_full_jitter_usec(attempts - 1, p->base_usec, p->cap_usec, unit);
        return true;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userdata) {
        HttpCall *c = userdata;
        size_t len = size * n;

        if (len > c->max_response - c->body_len) {
                c->too_big = true;
                return 0; /* fails the transfer with CURLE_WRITE_ERROR */
        }
        if (c->body_len + len + 1 > c->body_alloc) {
                size_t a = MAX(c->body_alloc * 2, c->body_len + len + 1);
                char *b = secmem_realloc(c->body, MIN(a, c->max_response + 1));
                if (!b)
                        return 0;
                c->body = b;
                c->body_alloc = MIN(a, c->max_response + 1);
        }
        memcpy(c->body + c->body_len, data, len);
        c->body_len += len;
        c->body[c->body_len] = 0;
        return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *userdata) {
        HttpCall *c = userdata;
        size_t len = size * n, l = len;
        char **v;

        /* A new status line (after 100 Continue, say) starts a new set of headers. */
        if (len >= 5 && strneq(data, "HTTP/", 5)) {
                headers_free_wiped(c->resp_headers);
                c->resp_headers = NULL;
                c->n_resp_headers = c->resp_header_bytes = 0;
                return len;
        }
        while (l > 0 && (data[l - 1] == '\r' || data[l - 1] == '\n'))
                l--;
        if (l == 0)
                return len;
        c->resp_header_bytes += l;
        if (c->n_resp_headers >= HTTP_MAX_RESPONSE_HEADERS ||
            c->resp_header_bytes > HTTP_MAX_RESPONSE_HEADER_BYTES) {
                c->too_big = true;
                return 0;
        }
        v = realloc(c->resp_headers, (c->n_resp_headers + 2) * sizeof(char *));
        if (!v)
                return 0;
        c->resp_headers = v;
        if (!(v[c->n_resp_headers] = strndup(data, l)))
                return 0;
        v[++c->n_resp_headers] = NULL;
        return len;
}

const char *http_response_header(const HttpResponse *resp, const char *name) {
        size_t n = strlen(name);

        for (char *const *h = resp->headers; h && *h; h++)
                if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') {
                        const char *v = *h + n + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        return v;
                }
        return NULL;
}

static void call_finish(HttpCall *c, CURLcode code) {
        static char *const no_headers[] = { NULL };
        HttpResponse resp = {
                .body = c->body ? c->body : "",
                .body_len = c->body_len,
                .date = -1,
                .error_message = c->errbuf,
                .headers = c->resp_headers ? c->resp_headers : no_headers,
        };
        long os_errno = 0;
        const char *date;

        (void) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp.status);
        (void) curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &os_errno);
        resp.error = c->too_big ? -EFBIG : http_errno_from_curl(code, (int) os_errno);
        if (resp.error < 0 && !c->errbuf[0])
                snprintf(c->errbuf, sizeof(c->errbuf), "%s", curl_easy_strerror(code));
        date = http_response_header(&resp, "Date");
        if (date) {
                time_t t = curl_getdate(date, NULL);
                resp.date = t > 0 ? t : -1;
        }
        c->cb(c, &resp, c->userdata);
        call_free(c);
}

static void process_done(Http *h) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(h->multi, &left))) {
                HttpCall *c = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &c) != CURLE_OK ||
                    !c)
                        continue;
                call_finish(c, m->data.result);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Http *h = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(h->multi, fd, action, &running);
        process_done(h);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Http *h = userdata;
        int running;

        (void) curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        process_done(h);
        return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        Http *h = userdata;
        sd_event_source *s = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        sd_event_source_unref(s);
                        (void) curl_multi_assign(h->multi, fd, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (s) {
                if (sd_event_source_set_io_events(s, events) < 0)
                        return -1;
                return sd_event_source_set_enabled(s, SD_EVENT_ON) < 0 ? -1 : 0;
        }
        if (sd_event_add_io(h->event, &s, fd, events, on_io, h) < 0)
                return -1;
        (void) sd_event_source_set_description(s, "http-io");
        if (curl_multi_assign(h->multi, fd, s) != CURLM_OK) {
                sd_event_source_unref(s);
                return -1;
        }
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userdata) {
        Http *h = userdata;
        uint64_t now;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_now(h->event, CLOCK_MONOTONIC, &now) < 0)
                return -1;
        if (sd_event_source_set_time(h->timer, now + (uint64_t) timeout_ms * USEC_PER_MSEC) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int http_new(sd_event *e, Http **ret) {
        Http *h;
        int r;

        /* libcurl's own copies (response buffers, header lists with tokens and
         * signatures) are wiped when it frees them. */
        if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, secmem_malloc, secmem_free, secmem_realloc,
                                 secmem_strdup, secmem_calloc) != CURLE_OK)
                return -EIO;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(e);
        h->multi = curl_multi_init();
        if (!h->multi) {
                http_free(h);
                return -ENOMEM;
        }
        r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, h);
        if (r < 0) {
                http_free(h);
                return r;
        }
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(h->timer, "http-timer");
        /* sd-event's default slack is 250 ms; curl's "now" (0 ms) must mean now. */
        r = sd_event_source_set_time_accuracy(h->timer, 1);
        if (r < 0) {
                http_free(h);
                return r;
        }
        if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
                http_free(h);
                return -EIO;
        }
        *ret = h;
        return 0;
}

Http *http_free(Http *h) {
        if (!h)
                return NULL;
        while (h->calls)
                call_free(h->calls);
        /* Closing the cached connections calls socket_cb(REMOVE), which unrefs the io sources. */
        if (h->multi)
                curl_multi_cleanup(h->multi);
        sd_event_source_disable_unref(h->timer);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

sd_event *http_get_event(Http *h) {
        return h->event;
}

size_t http_pending(const Http *h) {
        return h->n_calls;
}

static bool method_valid(const char *m) {
        size_t n = strlen(m);

        if (n == 0 || n > 16)
                return false;
        for (const char *p = m; *p; p++)
                if (!isupper((unsigned char) *p))
                        return false;
        return true;
}

static int call_setup(HttpCall *c, const HttpRequest *req, const char *method) {
        CURL *e = c->easy;
        unsigned timeout = req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
        unsigned ctimeout =
                req->connect_timeout_ms ? MIN(req->connect_timeout_ms, timeout) : timeout;
        bool ok = true;

        for (char *const *hd = req->headers; hd && *hd; hd++) {
                struct curl_slist *l = curl_slist_append(c->req_headers, *hd);
                if (!l)
                        return -ENOMEM;
                c->req_headers = l;
        }
        /* No "Expect: 100-continue" round trip for our small bodies. */
        struct curl_slist *l = curl_slist_append(c->req_headers, "Expect:");
        if (!l)
                return -ENOMEM;
        c->req_headers = l;

#define SET(opt, val) ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK
        SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
        SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
        SET(CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_TIMEOUT_MS, (long) timeout);
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long) ctimeout);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (!isempty(req->ca_file))
                SET(CURLOPT_CAINFO, req->ca_file);
        if (req->no_proxy) {
                SET(CURLOPT_PROXY, "");
                SET(CURLOPT_NOPROXY, "*");
        }
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max_response);
        SET(CURLOPT_WRITEFUNCTION, write_cb);
        SET(CURLOPT_WRITEDATA, c);
        SET(CURLOPT_HEADERFUNCTION, header_cb);
        SET(CURLOPT_HEADERDATA, c);
        SET(CURLOPT_ERRORBUFFER, c->errbuf);
        SET(CURLOPT_PRIVATE, c);
        SET(CURLOPT_USERAGENT, "drover/" PACKAGE_VERSION);
        SET(CURLOPT_HTTPHEADER, c->req_headers);
        if (streq(method, "GET") && req->body_len == 0)
                SET(CURLOPT_HTTPGET, 1L);
        else {
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
                SET(CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *) req->body : "");
                if (!streq(method, "POST"))
                        SET(CURLOPT_CUSTOMREQUEST, method);
        }
#undef SET
        return ok ? 0 : -EINVAL;
}

int http_request(Http *h, const HttpRequest *req, http_done_cb cb, void *userdata, HttpCall **ret) {
        const char *method = req->method ? req->method : "GET";
        HttpCall *c;
        int r;

        if (isempty(req->url) || !method_valid(method) || !cb || (req->body_len && !req->body))
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->cb = cb;
        c->userdata = userdata;
        c->max_response = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
        c->easy = curl_easy_init();
        if (!c->easy) {
                call_free(c);
                return -ENOMEM;
        }
        r = call_setup(c, req, method);
        if (r < 0) {
                call_free(c);
                return r;
        }
        if (curl_multi_add_handle(h->multi, c->easy) != CURLM_OK) {
                call_free(c);
                return -EIO;
        }
        c->http = h;
        LIST_PREPEND(calls, h->calls, c);
        h->n_calls++;
        if (ret)
                *ret = c;
        return 0;
}

void http_call_cancel(HttpCall *call) {
        call_free(call);
}

int http_run_until(Http *h, const bool *done) {
        while (!*done) {
                int r = sd_event_get_state(h->event);
                if (r < 0)
                        return r;
                if (r == SD_EVENT_FINISHED)
                        return -ESHUTDOWN;
                r = sd_event_run(h->event, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

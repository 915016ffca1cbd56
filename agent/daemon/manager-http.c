/* SPDX-License-Identifier: MIT */
/*
 * The health endpoint's glue: what GET /health, /live, /ready and /metrics answer, from
 * the monitor's checks, the drain and the status document. The decisions are
 * health/health.c's, the text prometheus.c's, the HTTP daemon/httpd.c's. Nothing here
 * changes drover's state on a request: a client can only read.
 */
#include <sys/resource.h>

#include "aws/autoscaling.h"
#include "base/log.h"
#include "base/util.h"
#include "checks/check.h"
#include "checks/monitor.h"
#include "daemon/httpd.h"
#include "daemon/manager.h"
#include "health/health.h"
#include "health/prometheus.h"
#include "heal/heal.h"
#include "lifecycle/lifecycle.h"

#define ELB_RETRY_USEC (300 * USEC_PER_SEC)

static const char elb_text[] =
        "the group's HealthCheckType includes ELB: a 503 from /health makes the load "
        "balancer mark this instance unhealthy and the group replace it, without drover's "
        "grace period, fleet guard or brakes";

static void verdict(Manager *m, HealthVerdict *ret) {
        size_t n = monitor_n_checks(m->monitor);
        _cleanup_free_ HealthCheckInput *in = calloc(n ?: 1, sizeof(*in));

        if (!in) { /* cannot tell: not a reason to take traffic */
                *ret = (HealthVerdict){ .reason = "out of memory" };
                return;
        }
        for (size_t i = 0; i < n; i++) {
                CheckState s = check_state(monitor_check(m->monitor, i));
                in[i] = (HealthCheckInput){
                        .name = monitor_check_config(m->monitor, i)->name,
                        .role = monitor_check_config(m->monitor, i)->role,
                        .state = s == CHECK_STATE_PASSING  ? HEALTH_CHECK_PASSING
                                 : s == CHECK_STATE_FAILED ? HEALTH_CHECK_FAILED
                                                           : HEALTH_CHECK_PENDING,
                };
        }
        health_decide(&(HealthInput){ .checks = in, .n_checks = n, .draining = m->draining }, ret);
}

json_t *manager_http_status_json(Manager *m) {
        HealthVerdict v;

        verdict(m, &v);
        return json_pack(
                "{s:b,s:b,s:b,s:b,s:s,s:s,s:s,s:s?,s:o,s:o,s:i,s:s?}", "enabled", m->httpd != NULL,
                "serving", v.serving, "live", v.live, "ready", v.ready, "reason", v.reason,
                "live_reason", v.live_reason, "ready_reason", v.ready_reason, "drain_reason",
                m->draining, "draining", json_boolean(m->draining != NULL), "drain_since",
                m->draining ? json_integer((json_int_t) m->drain_since_unix) : json_null(),
                "connections", (int) httpd_n_connections(m->httpd), "elb_warning", m->elb_warning);
}

/* One line of text/plain. */
static int text(HttpdResponse *ret, unsigned status, const char *line) {
        char *body = NULL;
        int n = asprintf(&body, "%s\n", line);

        if (n < 0)
                return -ENOMEM;
        *ret = (HttpdResponse){ .status = status,
                                .content_type = "text/plain; charset=utf-8",
                                .body = body,
                                .len = (size_t) n };
        return 0;
}

static int json_answer(Manager *m, const HealthVerdict *v, HttpdResponse *ret, bool ok) {
        json_auto_t *doc = manager_http_status_json(m);
        char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

        if (!body)
                return -ENOMEM;
        *ret = (HttpdResponse){ .status = ok ? 200 : 503,
                                .content_type = "application/json",
                                .body = body,
                                .len = strlen(body) };
        return 0;
}

static int on_request(const HttpdRequest *req, HttpdResponse *ret, void *userdata) {
        Manager *m = userdata;
        HealthVerdict v;
        bool ok;
        const char *why;

        if (streq(req->path, "/metrics")) {
                json_auto_t *doc = NULL;
                int r;
                if (!req->allowed)
                        return text(ret, 403, "forbidden: source not in http.allow");
                doc = manager_render_status(NULL, m);
                r = prometheus_render(doc, &ret->body, &ret->len);
                ret->status = 200;
                ret->content_type = PROMETHEUS_CONTENT_TYPE;
                return r;
        }
        verdict(m, &v);
        if (streq(req->path, "/health"))
                ok = v.serving, why = v.reason;
        else if (streq(req->path, "/live"))
                ok = v.live, why = v.live_reason;
        else if (streq(req->path, "/ready"))
                ok = v.ready, why = v.ready_reason;
        else
                return text(ret, 404, "not found");
        if (req->format && streq(req->format, "json")) {
                if (!req->allowed)
                        return text(ret, 403, "forbidden: source not in http.allow");
                return json_answer(m, &v, ret, ok);
        }
        return text(ret, ok ? 200 : 503, why);
}

static int parse_allow(char *const *allow, NetPrefix **ret, size_t *ret_n) {
        size_t n = strv_length(allow);
        _cleanup_free_ NetPrefix *p = calloc(n ?: 1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (netaddr_parse_prefix(allow[i], &p[i]) < 0)
                        return -EINVAL; /* config validation already refused it */
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

int manager_http_start(Manager *m) {
        const HttpConfig *hc = &m->config->http;
        _cleanup_free_ NetPrefix *allow = NULL;
        const char *failed = NULL;
        struct rlimit rl = {};
        unsigned limit;
        size_t n;
        int r;

        if (strv_length(hc->listen) == 0)
                return 0;
        r = parse_allow(hc->allow, &allow, &n);
        if (r < 0)
                return log_error_errno(r, "http.allow: %m");
        (void) getrlimit(RLIMIT_NOFILE, &rl);
        limit = health_connection_limit(rl.rlim_cur, m->config->plugins.concurrency);
        if (limit < strv_length(hc->listen))
                return log_error("http: the descriptor limit (%lu) leaves no room for "
                                 "connections; raise LimitNOFILE=",
                                 (unsigned long) rl.rlim_cur),
                       -EMFILE;
        r = httpd_new(m->event, hc->listen, allow, n, limit, on_request, m, &m->httpd, &failed);
        if (r < 0)
                return log_error_errno(r, "http: cannot listen on %s: %m",
                                       failed ? failed : "the configured addresses");
        for (size_t i = 0; hc->listen[i]; i++)
                log_info("http: health endpoint on %s (at most %u connections, %u per source)",
                         hc->listen[i], limit, MIN(limit, HTTPD_PER_SOURCE));
        return 0;
}

void manager_http_stop(Manager *m) {
        aws_call_cancel(m->elb_call);
        m->elb_call = NULL;
        m->httpd = httpd_free(m->httpd);
        free(m->draining);
        free(m->elb_warning);
        m->draining = m->elb_warning = NULL;
}

void manager_http_reload(Manager *m, const Config *next) {
        _cleanup_free_ NetPrefix *allow = NULL;
        size_t n;
        bool same = strv_length(next->http.listen) == strv_length(m->config->http.listen);

        for (size_t i = 0; same && next->http.listen[i]; i++)
                same = streq(next->http.listen[i], m->config->http.listen[i]);
        if (!same)
                log_notice("http.listen changed: it takes effect when drover restarts");
        if (m->httpd && parse_allow(next->http.allow, &allow, &n) >= 0)
                (void) httpd_set_allow(m->httpd, allow, n);
}

static void on_group(int error, const AsgGroup *g, void *userdata) {
        Manager *m = userdata;

        m->elb_call = NULL;
        if (error < 0) {
                log_debug("DescribeAutoScalingGroups for HealthCheckType failed: %s",
                          strerror(-error));
                m->elb_next_ask = now_usec(CLOCK_BOOTTIME) + ELB_RETRY_USEC;
                return;
        }
        m->elb_next_ask = UINT64_MAX; /* answered: never again */
        if (!health_check_type_has_elb(g->health_check_type))
                return;
        m->elb_warning = strdup(elb_text);
        log_warning("http: %s (group %s, HealthCheckType %s)", elb_text, g->name,
                    g->health_check_type);
}

void manager_http_check_group(Manager *m) {
        const char *group = heal_group_name(m->heal);

        if (!m->httpd || !m->aws || isempty(group) || m->elb_call ||
            now_usec(CLOCK_BOOTTIME) < m->elb_next_ask || m->elb_next_ask == UINT64_MAX)
                return;
        if (asg_describe_group(m->aws, group, on_group, m, &m->elb_call) < 0)
                m->elb_next_ask = now_usec(CLOCK_BOOTTIME) + ELB_RETRY_USEC;
}

uint64_t manager_drain(Manager *m, const LifecyclePlan *p) {
        uint64_t now = now_usec(CLOCK_BOOTTIME), delay, done;
        char why[96];

        if (!health_lifecycle_drains(p->event, p->replace))
                return 0;
        snprintf(why, sizeof(why), "%s%s%s", lifecycle_event_to_string(p->event),
                 isempty(p->event_code) ? "" : " ", p->event_code);
        if (!m->draining) {
                m->draining = strdup(why);
                m->drain_since = now;
                m->drain_since_unix = time(NULL);
                if (m->httpd)
                        log_notice("http: draining for %s: /health answers 503 from now on", why);
        }
        if (!m->httpd)
                return 0;
        delay = health_drain_delay_usec(m->config->http.drain_delay, p->deadline, time(NULL));
        done = now - m->drain_since;
        delay = delay > done ? delay - done : 0;
        if (delay > 0)
                log_info("http: waiting %.1f s (http.drain_delay%s) before the %s hooks",
                         (double) delay / USEC_PER_SEC,
                         p->deadline > 0 ? ", capped by the deadline" : "",
                         lifecycle_event_to_string(p->event));
        return delay;
}

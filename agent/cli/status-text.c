/* SPDX-License-Identifier: MIT */
/*
 * `drover status` as text, read at 3 a.m.: the headline says what the instance is and
 * why, in the words of the situation table in drover(8); then one line per section.
 * Everything here reads the JSON document only, so the daemon's fields stay the one
 * truth and the text can be tested from fixtures.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/status-text.h"
#include "base/util.h"

#define OUTPUT_CHARS 48
#define NAME_CHARS 20
#define HISTORY_SHOWN 5

static const char *str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : "";
}

static long long num(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_real(v) ? (long long) json_real_value(v) : json_integer_value(v);
}

static bool is(json_t *o, const char *key, const char *want) {
        return streq(str(o, key), want);
}

void status_text_cut(const char *s, size_t max_chars, bool force_mark, char *buf, size_t size) {
        size_t o = 0, chars = 0, i = 0;
        bool cut = force_mark;

        if (size < 4) {
                if (size > 0)
                        buf[0] = 0;
                return;
        }
        for (; s[i]; i++) {
                unsigned char c = (unsigned char) s[i];
                bool starts = (c & 0xc0) != 0x80;

                if (starts && (chars == max_chars || o + 4 + 3 >= size)) {
                        cut = true;
                        break;
                }
                chars += starts;
                buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char) c;
        }
        /* Room for the mark: take whole characters back until "..." fits the width. */
        if (cut && max_chars >= 3)
                while (o > 0 && chars > max_chars - 3) {
                        while (o > 0 && ((unsigned char) buf[o - 1] & 0xc0) == 0x80)
                                o--;
                        o--;
                        chars--;
                }
        if (cut)
                memcpy(buf + o, "...", 3), o += 3;
        buf[o] = 0;
}

void status_text_span(double seconds, char *buf, size_t size) {
        long long s = seconds < 0 ? 0 : (long long) seconds;

        if (s < 60)
                snprintf(buf, size, "%lld s", s);
        else if (s < 3600)
                snprintf(buf, size, "%lld min", s / 60);
        else if (s < 86400)
                snprintf(buf, size, "%lld h %lld min", s / 3600, s % 3600 / 60);
        else
                snprintf(buf, size, "%lld d %lld h", s / 86400, s % 86400 / 3600);
}

void status_text_when(time_t then, time_t now, char *buf, size_t size) {
        struct tm tm;
        char iso[32] = "?", span[32];

        if (gmtime_r(&then, &tm))
                strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
        status_text_span((double) (then > now ? then - now : now - then), span, sizeof(span));
        snprintf(buf, size, "%s (%s%s%s)", iso, then > now ? "in " : "", span,
                 then > now ? "" : " ago");
}

/* The names of the checks of a role in a state, "web, api" (or "" for none). */
static void names_of(json_t *doc, const char *role, const char *state, char *buf, size_t size) {
        json_t *c;
        size_t i, o = 0;

        buf[0] = 0;
        json_array_foreach(json_object_get(doc, "checks"), i, c) {
                if (!is(c, "role", role) || !is(c, "state", state))
                        continue;
                int n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", str(c, "name"));
                if (n < 0 || (size_t) n >= size - o)
                        return;
                o += (size_t) n;
        }
}

static size_t count_of(json_t *doc, const char *role, const char *state) {
        json_t *c;
        size_t i, n = 0;

        json_array_foreach(json_object_get(doc, "checks"), i, c) n +=
                is(c, "role", role) && (!state || is(c, "state", state));
        return n;
}

/* The reasons that hold an unhealthy instance back (policy.h), as the headline says them. */
static const char *const held_back[] = {
        "grace-period",      "no-fresh-answer", "standalone-not-allowed",
        "process-suspended", "paused-tag",      "standby-or-detached",
        "not-in-service",    "storm-brake",     "fleet-guard",
        "action-none",       "dry-run",
};

static bool is_held_back(const char *reason) {
        for (size_t i = 0; i < ELEMENTSOF(held_back); i++)
                if (streq(reason, held_back[i]))
                        return true;
        return false;
}

static StatusClass headline_unhealthy(json_t *doc, time_t now, const char *failing, char *buf,
                                      size_t size) {
        json_t *heal = json_object_get(doc, "heal"), *dec = json_object_get(heal, "decision");
        json_t *repl = json_object_get(heal, "replacement"),
               *group = json_object_get(heal, "group");
        const char *reason = str(dec, "reason");
        char when[64] = "";

        if (repl)
                status_text_when((time_t) num(repl, "requested_at"), now, when, sizeof(when));
        if (streq(reason, "already-requested") && repl && is(group, "membership", "standalone")) {
                snprintf(buf, size,
                         "REPLACED: the group let go of this instance after drover's request "
                         "(%s, %s)",
                         str(repl, "action"), when);
                return STATUS_CLASS_CRITICAL;
        }
        if (streq(reason, "already-requested") && repl)
                snprintf(buf, size,
                         "UNHEALTHY: replacement confirmed by the group (%s, requested %s)",
                         str(repl, "action"), when);
        else if (streq(reason, "group-replacing"))
                snprintf(buf, size, "UNHEALTHY: being replaced: %s", str(dec, "message"));
        else if (repl && !json_is_true(json_object_get(repl, "confirmed")))
                snprintf(buf, size,
                         "UNHEALTHY: failing: %s; replacement requested (%s) %s, waiting for "
                         "the group to confirm",
                         failing, str(repl, "action"), when);
        else if (is_held_back(reason)) {
                snprintf(buf, size, "HELD BACK: unhealthy (failing: %s), not replaced: %s", failing,
                         str(dec, "message"));
                return STATUS_CLASS_WARNING;
        } else
                snprintf(buf, size, "UNHEALTHY: failing: %s; %s", failing, str(dec, "message"));
        return STATUS_CLASS_CRITICAL;
}

static StatusClass headline(json_t *doc, time_t now, char *buf, size_t size) {
        json_t *inst = json_object_get(doc, "instance"), *heal = json_object_get(doc, "heal");
        const char *verdict = str(heal, "verdict");
        char failing[256], deps[256];
        size_t live = count_of(doc, "liveness", NULL), pass = count_of(doc, "liveness", "passing");

        names_of(doc, "liveness", "failed", failing, sizeof(failing));
        if (!failing[0])
                snprintf(failing, sizeof(failing), "%s", str(heal, "failing"));
        names_of(doc, "dependency", "failed", deps, sizeof(deps));
        if (json_object_get(doc, "error")) {
                snprintf(buf, size, "UNKNOWN: the daemon answered: %s", str(doc, "error"));
                return STATUS_CLASS_UNKNOWN;
        }
        if (!json_is_true(json_object_get(inst, "known"))) {
                if (is(inst, "error", "not asked yet"))
                        snprintf(buf, size,
                                 "UNKNOWN: starting: asking IMDS which instance this is");
                else if (is(inst, "imds", "invalid-document"))
                        snprintf(buf, size,
                                 "UNKNOWN: IMDS answered, but %s: checks run and report, nothing "
                                 "is replaced",
                                 str(inst, "error"));
                else
                        snprintf(buf, size,
                                 "UNKNOWN: IMDS unreachable (%s): not on EC2, or its metadata "
                                 "service is down; checks run and report, nothing is replaced",
                                 str(inst, "error"));
                return STATUS_CLASS_UNKNOWN;
        }
        if (streq(verdict, "healthy")) {
                if (live == 0)
                        snprintf(buf, size, "HEALTHY: no liveness check configured");
                else if (pass < live)
                        snprintf(buf, size,
                                 "HEALTHY: %zu of %zu liveness checks passing, %zu not run yet",
                                 pass, live, live - pass);
                else
                        snprintf(buf, size, "HEALTHY: %zu of %zu liveness checks passing", pass,
                                 live);
                return STATUS_CLASS_OK;
        }
        if (streq(verdict, "degraded")) {
                snprintf(buf, size, "DEGRADED: dependency failing: %s; not a reason to replace",
                         deps[0] ? deps : "?");
                return STATUS_CLASS_WARNING;
        }
        if (streq(verdict, "remediating")) {
                snprintf(buf, size,
                         "REMEDIATING: failing: %s; repairing it here before any replacement",
                         failing[0] ? failing : "?");
                return STATUS_CLASS_WARNING;
        }
        if (streq(verdict, "unhealthy"))
                return headline_unhealthy(doc, now, failing[0] ? failing : "?", buf, size);
        snprintf(buf, size, "UNKNOWN: no verdict yet: waiting for the first check results");
        return STATUS_CLASS_UNKNOWN;
}

/* The text of AWS errors and config messages, made safe for a terminal and bounded. */
#define CLEAN_MAX 512
static const char *clean(const char *s, char buf[static CLEAN_MAX]) {
        status_text_cut(s, CLEAN_MAX, false, buf, CLEAN_MAX);
        return buf;
}

StatusClass status_text_headline(json_t *doc, time_t now, char *buf, size_t size) {
        StatusClass k = headline(doc, now, buf, size);

        /* Names and messages come from AWS and plugins: no control byte reaches a terminal. */
        for (char *p = buf; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        return k;
}

/* ---- the screen ------------------------------------------------------------------- */

static const char *const class_colour[] = {
        [STATUS_CLASS_OK] = "\033[32m",
        [STATUS_CLASS_WARNING] = "\033[33m",
        [STATUS_CLASS_CRITICAL] = "\033[31m",
        [STATUS_CLASS_UNKNOWN] = "\033[35m",
};
#define RESET "\033[0m"

static void print_check(FILE *f, json_t *c, bool colour) {
        char name[NAME_CHARS * 4 + 4], out[OUTPUT_CHARS * 4 + 4], last[80], shown[64];
        const char *state = str(c, "state");
        json_t *ago = json_object_get(c, "last_run_s_ago");
        bool run = json_is_number(ago);

        status_text_cut(str(c, "name"), NAME_CHARS, false, name, sizeof(name));
        status_text_cut(str(c, "output"), OUTPUT_CHARS,
                        json_is_true(json_object_get(c, "output_truncated")), out, sizeof(out));
        if (json_is_true(json_object_get(c, "running")) && !run)
                snprintf(last, sizeof(last), "running");
        else if (!run)
                snprintf(last, sizeof(last), "not run yet");
        else {
                status_text_span(json_number_value(ago), shown, sizeof(shown));
                snprintf(last, sizeof(last), "%s ago", shown);
        }
        snprintf(shown, sizeof(shown), "%s%-8s%s",
                 colour && streq(state, "failed")    ? class_colour[STATUS_CLASS_CRITICAL]
                 : colour && streq(state, "passing") ? class_colour[STATUS_CLASS_OK]
                                                     : "",
                 state, colour && !streq(state, "pending") ? RESET : "");
        fprintf(f, "  %-20s %-11s %s %-8s %-11s %s\n", name, str(c, "role"), shown,
                run ? str(c, "status_name") : "-", last, run ? out : "");
}

static void print_remediation(FILE *f, json_t *heal, time_t now) {
        json_t *r, *attempts;
        size_t i, shown = 0;
        char when[64];

        json_array_foreach(json_object_get(heal, "remediation"), i, r) {
                attempts = json_object_get(r, "attempts");
                if (json_array_size(attempts) == 0)
                        continue;
                status_text_when((time_t) json_integer_value(
                                         json_array_get(attempts, json_array_size(attempts) - 1)),
                                 now, when, sizeof(when));
                fprintf(f, "%s%s: %zu attempt%s in the window, last %s\n",
                        shown++ ? "             " : "remediation  ", str(r, "check"),
                        json_array_size(attempts), json_array_size(attempts) == 1 ? "" : "s", when);
        }
        if (!shown)
                fprintf(f, "remediation  none\n");
}

static void print_replacement(FILE *f, json_t *heal, time_t now) {
        json_t *repl = json_object_get(heal, "replacement");
        char when[64];

        if (!repl) {
                fprintf(f, "replacement  none requested\n");
                return;
        }
        status_text_when((time_t) num(repl, "requested_at"), now, when, sizeof(when));
        fprintf(f, "replacement  %s requested %s, %s\n", str(repl, "action"), when,
                json_is_true(json_object_get(repl, "confirmed")) ? "confirmed by the group"
                                                                 : "not confirmed yet");
}

static void print_group(FILE *f, json_t *doc) {
        char cb[CLEAN_MAX];
        json_t *heal = json_object_get(doc, "heal"), *g = json_object_get(heal, "group");
        json_t *repl = json_object_get(heal, "replacement"), *l = json_object_get(doc, "lifecycle");

        if (!json_is_true(json_object_get(json_object_get(doc, "instance"), "known")))
                fprintf(f, "group        not asked: the instance is not known yet\n");
        else if (is(g, "membership", "in-group"))
                fprintf(f,
                        "group        %s: this instance %s/%s; %lld instances, desired %lld; "
                        "%lld health replacements in the last hour%s%s\n",
                        str(g, "group"), str(g, "lifecycle_state"), str(g, "health_status"),
                        num(g, "instances"), num(g, "desired"),
                        num(g, "health_replacements_last_hour"),
                        *str(g, "error") ? "; last look failed: " : "", clean(str(g, "error"), cb));
        else if (is(g, "membership", "standalone") && repl &&
                 is(json_object_get(heal, "decision"), "reason", "already-requested"))
                fprintf(f, "group        none any more: the group let go of this instance after "
                           "the replacement request\n");
        else if (is(g, "membership", "standalone"))
                fprintf(f, "group        none: Auto Scaling says this instance is in no group\n");
        else if (*str(g, "error"))
                fprintf(f, "group        no answer: %s\n", clean(str(g, "error"), cb));
        else if (*str(l, "group"))
                /* The lifecycle watcher knows the group; the fleet view is another call. */
                fprintf(f,
                        "group        %s: this instance %s; the fleet not asked yet (drover "
                        "asks only when it must act)\n",
                        str(l, "group"), *str(l, "group_state") ? str(l, "group_state") : "?");
        else
                fprintf(f, "group        not asked yet (drover asks the group only when it "
                           "must act)\n");
}

static void print_lifecycle(FILE *f, json_t *doc, time_t now) {
        json_t *l = json_object_get(doc, "lifecycle"), *run, *rec, *s;
        char when[64];
        size_t i;

        if (!l) {
                fprintf(f, "lifecycle    not watched: the instance is not known yet\n");
                return;
        }
        fprintf(f, "lifecycle    target state %s", str(l, "target"));
        if ((run = json_object_get(l, "running")))
                fprintf(f, "; running %s hooks for %s (%s%s%s, %lld heartbeats)", str(run, "event"),
                        str(run, "key"), str(run, "phase"), *str(run, "hook") ? ": " : "",
                        str(run, "hook"), num(run, "heartbeats"));
        else
                fprintf(f, "; no hook running");
        fputc('\n', f);
        if ((s = json_object_get(l, "spot")) && json_is_object(s)) {
                status_text_when((time_t) num(s, "time"), now, when, sizeof(when));
                fprintf(f, "             spot interruption: %s at %s\n", str(s, "action"), when);
        }
        if (json_is_integer(json_object_get(l, "rebalance"))) {
                status_text_when((time_t) num(l, "rebalance"), now, when, sizeof(when));
                fprintf(f, "             rebalance recommended %s\n", when);
        }
        json_array_foreach(json_object_get(l, "scheduled"), i, s) {
                status_text_when((time_t) num(s, "not_before"), now, when, sizeof(when));
                fprintf(f, "             scheduled event %s (%s) not before %s\n", str(s, "code"),
                        str(s, "id"), when);
        }
        if ((rec = json_object_get(l, "record")))
                fprintf(f, "             last notice: %s (%s): %zu hooks done, %s%s\n",
                        str(rec, "event"), str(rec, "key"),
                        json_array_size(json_object_get(rec, "hooks_done")),
                        json_is_true(json_object_get(rec, "completed")) ? "completed"
                                                                        : "not completed",
                        num(rec, "failed") ? ", a hook failed" : "");
}

static void print_brakes(FILE *f, json_t *doc) {
        json_t *heal = json_object_get(doc, "heal"), *g = json_object_get(heal, "group");
        json_t *dec = json_object_get(heal, "decision"), *susp, *p;
        const char *reason = str(dec, "reason");
        char grace[32];
        size_t i, n = 0;

        if (num(doc, "grace_left_s") > 0) {
                status_text_span((double) num(doc, "grace_left_s"), grace, sizeof(grace));
                fprintf(f, "brakes       grace period: %s left, no replacement before it ends\n",
                        grace);
                n++;
        }
        susp = json_object_get(g, "suspended_processes");
        json_array_foreach(susp, i, p)
                fprintf(f, "%ssuspended on the group: %s\n",
                        n++ ? "             " : "brakes       ", json_string_value(p));
        if (streq(reason, "paused-tag") || streq(reason, "storm-brake") ||
            streq(reason, "fleet-guard") || streq(reason, "dry-run") ||
            streq(reason, "action-none") || streq(reason, "standalone-not-allowed"))
                fprintf(f, "%s%s\n", n++ ? "             " : "brakes       ", str(dec, "message"));
        if (n == 0)
                fprintf(f, "brakes       %s\n",
                        json_is_true(json_object_get(g, "answered"))
                                ? "none holding"
                                : "none known (the group was not asked)");
}

/* The request machine (heal.request), when it is doing something. */
static void print_request(FILE *f, json_t *heal) {
        json_t *r = json_object_get(heal, "request");
        char eb[CLEAN_MAX];
        long long next = num(r, "next_look_in_ms");

        if (!json_is_object(r) || streq(str(r, "phase"), "idle"))
                return;
        fprintf(f, "request      %s, decision %lld", str(r, "phase"), num(r, "decision"));
        if (next > 0)
                fprintf(f, ", next look in %lld s", (next + 999) / 1000);
        if (*str(r, "error"))
                fprintf(f, "; last error (%s): %s", str(r, "error_class"),
                        clean(str(r, "error"), eb));
        fputc('\n', f);
}

/* The health endpoint's answer, and the ELB warning where it applies. */
static void print_http(FILE *f, json_t *doc) {
        json_t *h = json_object_get(doc, "http"), *warning = json_object_get(h, "elb_warning");
        char rb[CLEAN_MAX];

        if (!json_is_true(json_object_get(h, "enabled")))
                return;
        fprintf(f, "http         /health %s: %s\n",
                json_is_true(json_object_get(h, "serving")) ? "200" : "503",
                clean(str(h, "reason"), rb));
        if (json_is_string(warning))
                fprintf(f, "warning      %s\n", clean(json_string_value(warning), rb));
}

static void print_config(FILE *f, json_t *doc) {
        char cb[CLEAN_MAX], pb[CLEAN_MAX];
        json_t *c = json_object_get(doc, "config");

        if (*str(c, "reload_error"))
                fprintf(f, "config       %s: reload FAILED, still running the previous one: %s\n",
                        clean(str(c, "path"), pb), clean(str(c, "reload_error"), cb));
        else
                fprintf(f, "config       %s\n", str(c, "path"));
}

StatusClass status_text_print(FILE *f, json_t *doc, time_t now, bool colour) {
        json_t *inst = json_object_get(doc, "instance"), *heal = json_object_get(doc, "heal"), *c;
        json_t *hist = json_object_get(heal, "history");
        char head[640], up[32], cb[CLEAN_MAX];
        StatusClass k = status_text_headline(doc, now, head, sizeof(head));
        char *colon = strchr(head, ':');
        size_t i, n;

        if (colour && colon)
                fprintf(f, "%s%.*s%s%s\n", class_colour[k], (int) (colon - head), head, RESET,
                        colon);
        else
                fprintf(f, "%s\n", head);
        if (json_object_get(doc, "error"))
                return k;
        status_text_span((double) num(doc, "uptime_s"), up, sizeof(up));
        if (json_is_true(json_object_get(inst, "known")))
                fprintf(f, "instance     %s (%s, %s, %s)\n", str(inst, "instance_id"),
                        str(inst, "image_id"), str(inst, "instance_type"),
                        str(inst, "availability_zone"));
        else
                fprintf(f, "instance     unknown: %s\n", str(inst, "error"));
        fprintf(f, "drover       %s, pid %lld, up %s\n\n", str(doc, "version"), num(doc, "pid"),
                up);
        fprintf(f, "  %-20s %-11s %-8s %-8s %-11s %s\n", "CHECK", "ROLE", "STATE", "STATUS",
                "LAST RUN", "OUTPUT");
        json_array_foreach(json_object_get(doc, "checks"), i, c) print_check(f, c, colour);
        if (json_array_size(json_object_get(doc, "checks")) == 0)
                fprintf(f, "  (no checks configured)\n");
        fputc('\n', f);
        print_remediation(f, heal, now);
        print_replacement(f, heal, now);
        print_request(f, heal);
        print_group(f, doc);
        print_lifecycle(f, doc, now);
        print_brakes(f, doc);
        print_http(f, doc);
        print_config(f, doc);
        n = json_array_size(hist);
        if (n > 0) {
                fprintf(f, "\nrecent:\n");
                for (i = n > HISTORY_SHOWN ? n - HISTORY_SHOWN : 0; i < n; i++)
                        fprintf(f, "  %s\n", clean(json_string_value(json_array_get(hist, i)), cb));
        }
        return k;
}

int status_text_print_wide(FILE *f, json_t *doc, const char *name) {
        json_t *c;
        size_t i;

        json_array_foreach(json_object_get(doc, "checks"), i, c) {
                const char *out = str(c, "output");

                if (!is(c, "name", name))
                        continue;
                fprintf(f, "%s: %s %s, %lld bytes of output%s\n", name, str(c, "state"),
                        str(c, "status_name"), num(c, "output_bytes"),
                        json_is_true(json_object_get(c, "output_truncated"))
                                ? " (cut to what the status reply carries)"
                                : "");
                for (; *out; out++)
                        fputc((unsigned char) *out < 0x20 && *out != '\n' && *out != '\t' ? '?'
                                                                                          : *out,
                              f);
                fputc('\n', f);
                return 0;
        }
        return -ENOENT;
}

bool cli_use_colour(void) {
        const char *term = getenv("TERM");

        return isatty(STDOUT_FILENO) && isempty(getenv("NO_COLOR")) &&
               !streq(strempty(term), "dumb");
}

/* SPDX-License-Identifier: MIT */
#include <jansson.h>
#include <stdio.h>

#include "state/state.h"
#include "base/util.h"

static const char *const action_names[_REPLACE_ACTION_MAX] = {
        [REPLACE_SET_UNHEALTHY] = "set-unhealthy",
        [REPLACE_TERMINATE_IN_ASG] = "terminate-in-asg",
        [REPLACE_TERMINATE] = "terminate",
        [REPLACE_NONE] = "none",
};

static bool copy_str(json_t *o, const char *key, char *buf, size_t size) {
        const char *v = json_string_value(json_object_get(o, key));

        if (!v || strlen(v) >= size)
                return false;
        strcpy(buf, v);
        return true;
}

static int parse_remediation(json_t *arr, State *s) {
        size_t i;
        json_t *item;

        if (!json_is_array(arr))
                return arr ? -EBADMSG : 0;
        if (json_array_size(arr) > STATE_MAX_CHECKS)
                return -EBADMSG;
        s->remediation = calloc(json_array_size(arr) ?: 1, sizeof(StateRemediation));
        if (!s->remediation)
                return -ENOMEM;
        json_array_foreach(arr, i, item) {
                StateRemediation *r = &s->remediation[s->n_remediation++];
                json_t *times = json_object_get(item, "attempts"), *t;
                size_t k;

                if (!copy_str(item, "check", r->name, sizeof(r->name)) || !json_is_array(times) ||
                    json_array_size(times) > STATE_MAX_ATTEMPTS)
                        return -EBADMSG;
                json_array_foreach(times, k, t) {
                        if (!json_is_integer(t) || json_integer_value(t) < 0)
                                return -EBADMSG;
                        r->attempts[r->n_attempts++] = (time_t) json_integer_value(t);
                }
        }
        return 0;
}

static int parse_lifecycle(json_t *o, StateLifecycle *l) {
        json_t *done = json_object_get(o, "hooks_done"), *h;
        size_t i;

        if (!o)
                return 0;
        if (!json_is_object(o) || !copy_str(o, "event", l->event, sizeof(l->event)) ||
            !copy_str(o, "key", l->key, sizeof(l->key)) || !json_is_array(done) ||
            json_array_size(done) > STATE_MAX_HOOKS)
                return -EBADMSG;
        l->completed = json_is_true(json_object_get(o, "completed"));
        l->complete_failed = json_is_true(json_object_get(o, "complete_failed"));
        json_array_foreach(done, i, h) {
                const char *v = json_string_value(h);
                if (!v || strlen(v) >= sizeof(l->hooks_done[0]))
                        return -EBADMSG;
                strcpy(l->hooks_done[l->n_hooks_done++], v);
        }
        return 0;
}

/* {"decision": N, "hooks_ran": M}: which decision's hooks.d/unhealthy/ already ran, so a
 * restart does not run them again. Kept across boots: it counts this instance's
 * decisions. Absent is zero. */
static int parse_decisions(json_t *o, State *s) {
        json_t *d, *h;

        if (!o)
                return 0;
        d = json_object_get(o, "decision");
        h = json_object_get(o, "hooks_ran");
        if (!json_is_object(o) || !json_is_integer(d) || !json_is_integer(h) ||
            json_integer_value(d) < 0 || json_integer_value(h) < 0 ||
            json_integer_value(h) > json_integer_value(d))
                return -EBADMSG;
        s->decision = (uint64_t) json_integer_value(d);
        s->hooks_ran = (uint64_t) json_integer_value(h);
        return 0;
}

static bool key_ok(const char *k) {
        size_t n = strlen(k);

        if (n == 0 || n >= sizeof(((StateHandled *) 0)->key))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
                      (k[i] >= '0' && k[i] <= '9') || strchr("@._:-", k[i])))
                        return false;
        return true;
}

static bool boot_ok(const char *b) {
        size_t n = strlen(b);

        if (n != 0 && n != 36)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f') || b[i] == '-'))
                        return false;
        return true;
}

/* Every entry is checked: a key from the file ends up in a comparison only, but a file
 * that holds nonsense is not trusted for the rest either. */
static int parse_handled(json_t *doc, State *s) {
        json_t *arr = json_object_get(doc, "handled"), *item,
               *dropped = json_object_get(doc, "handled_dropped");
        size_t i;

        if (dropped && (!json_is_integer(dropped) || json_integer_value(dropped) < 0 ||
                        json_integer_value(dropped) > UINT32_MAX))
                return -EBADMSG;
        s->handled_dropped = dropped ? (unsigned) json_integer_value(dropped) : 0;
        if (!arr)
                return 0;
        if (!json_is_array(arr) || json_array_size(arr) > STATE_MAX_HANDLED)
                return -EBADMSG;
        json_array_foreach(arr, i, item) {
                StateHandled *h = &s->handled[s->n_handled];
                json_t *at = json_object_get(item, "at");

                if (!json_is_object(item) || !copy_str(item, "key", h->key, sizeof(h->key)) ||
                    !copy_str(item, "boot_id", h->boot_id, sizeof(h->boot_id)) || !key_ok(h->key) ||
                    !boot_ok(h->boot_id) || !json_is_integer(at) || json_integer_value(at) < 0 ||
                    state_handled_find(s, h->key))
                        return -EBADMSG;
                h->at = (time_t) json_integer_value(at);
                s->n_handled++;
        }
        return 0;
}

int state_parse(const char *json, size_t len, const char *instance_id, const char *boot_id,
                State *ret) {
        _cleanup_(state_done) State s = {};
        json_t *doc, *repl;
        json_error_t err;
        int r = 0;

        if (len > STATE_MAX_BYTES)
                return -EFBIG;
        doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return -EBADMSG;
        }
        if (!copy_str(doc, "instance_id", s.instance_id, sizeof(s.instance_id)) ||
            !copy_str(doc, "boot_id", s.boot_id, sizeof(s.boot_id)))
                r = -EBADMSG;
        else if (!streq(s.instance_id, instance_id)) {
                /* Baked into an image on another instance: none of it is ours. */
                json_decref(doc);
                *ret = (State){};
                return 0;
        }
        repl = json_object_get(doc, "replacement");
        if (r == 0 && json_is_object(repl)) {
                const char *a = json_string_value(json_object_get(repl, "action"));
                json_t *at = json_object_get(repl, "requested_at");

                s.action = _REPLACE_ACTION_MAX;
                for (int i = 0; a && i < _REPLACE_ACTION_MAX; i++)
                        if (streq(a, action_names[i]))
                                s.action = i;
                if (s.action == _REPLACE_ACTION_MAX || !json_is_integer(at))
                        r = -EBADMSG;
                s.requested = true;
                s.requested_at = (time_t) json_integer_value(at);
                s.confirmed = json_is_true(json_object_get(repl, "confirmed"));
        } else if (r == 0 && repl)
                r = -EBADMSG;
        if (r == 0)
                r = parse_decisions(json_object_get(doc, "decisions"), &s);
        if (r == 0)
                r = parse_handled(doc, &s);
        if (r == 0 && streq(s.boot_id, boot_id)) {
                /* Times and running hooks belong to this boot only. */
                r = parse_remediation(json_object_get(doc, "remediation"), &s);
                if (r == 0)
                        r = parse_lifecycle(json_object_get(doc, "lifecycle"), &s.lifecycle);
        }
        json_decref(doc);
        if (r < 0)
                return r;
        snprintf(s.boot_id, sizeof(s.boot_id), "%s", boot_id);
        *ret = s;
        s = (State){};
        return 0;
}

int state_format(const State *s, char **ret) {
        json_t *doc = json_pack("{s:s,s:s}", "instance_id", s->instance_id, "boot_id", s->boot_id);
        json_t *rem = json_array();
        char *text;

        if (!doc || !rem)
                goto oom;
        if (s->requested &&
            json_object_set_new(doc, "replacement",
                                json_pack("{s:s,s:I,s:b}", "action", action_names[s->action],
                                          "requested_at", (json_int_t) s->requested_at, "confirmed",
                                          s->confirmed)) < 0)
                goto oom;
        if (s->decision > 0 &&
            json_object_set_new(doc, "decisions",
                                json_pack("{s:I,s:I}", "decision", (json_int_t) s->decision,
                                          "hooks_ran", (json_int_t) s->hooks_ran)) < 0)
                goto oom;
        for (size_t i = 0; i < s->n_remediation; i++) {
                json_t *times = json_array();
                for (size_t k = 0; times && k < s->remediation[i].n_attempts; k++)
                        json_array_append_new(times, json_integer(s->remediation[i].attempts[k]));
                if (json_array_append_new(rem,
                                          json_pack("{s:s,s:o}", "check", s->remediation[i].name,
                                                    "attempts", times)) < 0)
                        goto oom;
        }
        json_object_set_new(doc, "remediation", TAKE_PTR(rem));
        if (s->n_handled > 0 || s->handled_dropped > 0) {
                json_t *h = json_array();
                for (size_t i = 0; h && i < s->n_handled; i++)
                        json_array_append_new(h,
                                              json_pack("{s:s,s:s,s:I}", "key", s->handled[i].key,
                                                        "boot_id", s->handled[i].boot_id, "at",
                                                        (json_int_t) s->handled[i].at));
                if (json_object_set_new(doc, "handled", h) < 0 ||
                    json_object_set_new(doc, "handled_dropped", json_integer(s->handled_dropped)) <
                            0)
                        goto oom_doc;
        }
        if (!isempty(s->lifecycle.event)) {
                json_t *done = json_array();
                for (size_t i = 0; done && i < s->lifecycle.n_hooks_done; i++)
                        json_array_append_new(done, json_string(s->lifecycle.hooks_done[i]));
                if (json_object_set_new(doc, "lifecycle",
                                        json_pack("{s:s,s:s,s:o,s:b}", "event", s->lifecycle.event,
                                                  "key", s->lifecycle.key, "hooks_done", done,
                                                  "completed", s->lifecycle.completed)) < 0)
                        goto oom;
                if (s->lifecycle.complete_failed)
                        json_object_set_new(json_object_get(doc, "lifecycle"), "complete_failed",
                                            json_true());
        }
        text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(doc);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
oom:
        json_decref(rem);
oom_doc:
        json_decref(doc);
        return -ENOMEM;
}

int state_load(const char *dir, const char *instance_id, const char *boot_id, State *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        if (asprintf(&path, "%s/state.json", dir) < 0)
                return -ENOMEM;
        r = read_file_capped(path, STATE_MAX_BYTES, &text, &len);
        if (r == -ENOENT) {
                *ret = (State){};
                snprintf(ret->instance_id, sizeof(ret->instance_id), "%s", instance_id);
                snprintf(ret->boot_id, sizeof(ret->boot_id), "%s", boot_id);
                return 0;
        }
        if (r < 0)
                return r;
        r = state_parse(text, len, instance_id, boot_id, ret);
        if (r == 0 && isempty(ret->instance_id)) {
                snprintf(ret->instance_id, sizeof(ret->instance_id), "%s", instance_id);
                snprintf(ret->boot_id, sizeof(ret->boot_id), "%s", boot_id);
        }
        return r;
}

int state_save(const char *dir, const State *s) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        r = state_format(s, &text);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/state.json", dir) < 0)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0600);
}

void state_done(State *s) {
        free(s->remediation);
        s->remediation = NULL;
        s->n_remediation = 0;
}

int state_boot_id(char ret[static 37]) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_capped("/proc/sys/kernel/random/boot_id", 64, &text, NULL);

        if (r < 0)
                return r;
        if (strlen(text) < 36)
                return -EBADMSG;
        memcpy(ret, text, 36);
        ret[36] = 0;
        return 0;
}

int state_remediation(State *s, const char *check, StateRemediation **ret) {
        StateRemediation *n;

        for (size_t i = 0; i < s->n_remediation; i++)
                if (streq(s->remediation[i].name, check)) {
                        *ret = &s->remediation[i];
                        return 0;
                }
        if (s->n_remediation >= STATE_MAX_CHECKS || strlen(check) >= sizeof(n->name))
                return -E2BIG;
        n = realloc(s->remediation, (s->n_remediation + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->remediation = n;
        n = &s->remediation[s->n_remediation++];
        *n = (StateRemediation){};
        strcpy(n->name, check);
        *ret = n;
        return 0;
}

void state_remediation_add(StateRemediation *r, time_t t) {
        if (r->n_attempts == STATE_MAX_ATTEMPTS) {
                memmove(r->attempts, r->attempts + 1, (STATE_MAX_ATTEMPTS - 1) * sizeof(time_t));
                r->n_attempts--;
        }
        r->attempts[r->n_attempts++] = t;
}

/* ---- the store: one State, its file, shared by heal and lifecycle ------------------ */

struct StateStore {
        char *dir;
        State state;
};

int state_store_open(const char *dir, const char *instance_id, StateStore **ret,
                     int *ret_load_error) {
        StateStore *s;
        char boot[37] = "";
        int r;

        s = calloc(1, sizeof(*s));
        if (!s || !(s->dir = strdup(dir))) {
                free(s);
                return -ENOMEM;
        }
        (void) state_boot_id(boot);
        r = state_load(dir, instance_id, boot, &s->state);
        if (r < 0) {
                /* A memory, never the truth: start empty rather than not at all. */
                s->state = (State){};
                snprintf(s->state.instance_id, sizeof(s->state.instance_id), "%s", instance_id);
                snprintf(s->state.boot_id, sizeof(s->state.boot_id), "%s", boot);
        }
        *ret_load_error = MIN(r, 0);
        *ret = s;
        return 0;
}

State *state_store_get(StateStore *s) {
        return &s->state;
}

const char *state_store_dir(const StateStore *s) {
        return s->dir;
}

int state_store_save(StateStore *s) {
        return state_save(s->dir, &s->state);
}

StateStore *state_store_free(StateStore *s) {
        if (!s)
                return NULL;
        state_done(&s->state);
        free(s->dir);
        free(s);
        return NULL;
}

const StateHandled *state_handled_find(const State *s, const char *key) {
        for (size_t i = 0; i < s->n_handled; i++)
                if (streq(s->handled[i].key, key))
                        return &s->handled[i];
        return NULL;
}

bool state_handled_remove(State *s, const char *key) {
        for (size_t i = 0; i < s->n_handled; i++)
                if (streq(s->handled[i].key, key)) {
                        memmove(&s->handled[i], &s->handled[i + 1],
                                (s->n_handled - i - 1) * sizeof(s->handled[0]));
                        s->n_handled--;
                        return true;
                }
        return false;
}

int state_handled_add(State *s, const char *key, const char *boot_id, time_t at) {
        StateHandled *h;

        if (!key_ok(key) || !boot_ok(strempty(boot_id)))
                return -EINVAL;
        (void) state_handled_remove(s, key);
        if (s->n_handled == STATE_MAX_HANDLED) {
                memmove(&s->handled[0], &s->handled[1],
                        (STATE_MAX_HANDLED - 1) * sizeof(s->handled[0]));
                s->n_handled--;
                s->handled_dropped++;
        }
        h = &s->handled[s->n_handled++];
        *h = (StateHandled){ .at = at };
        strcpy(h->key, key);
        strcpy(h->boot_id, strempty(boot_id));
        return 0;
}

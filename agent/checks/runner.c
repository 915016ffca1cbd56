/* SPDX-License-Identifier: MIT */
#include "checks/runner.h"
#include "base/list.h"
#include "base/util.h"

/* Stuck processes (SIGKILL sent, not reaped) count against the concurrency limit up to
 * this many: a hung mount still slows the machine, but other checks keep running. */
#define RUNNER_STUCK_SLOTS_MAX 1

typedef struct Job Job;

struct Job {
        Runner *runner;
        uint64_t id;
        char **argv;
        char **env;
        char *user, *group;
        RunAs run_as;
        PluginResult *spare; /* for "cannot start": a result is always delivered */
        PluginSpec spec;     /* points into the copies above */
        runner_done_t done;
        void *userdata;
        Plugin *plugin;
        LIST_FIELDS(Job, jobs); /* in one of the runner's lists at a time */
};

typedef struct JobList {
        LIST_HEAD(Job, head);
        size_t n;
} JobList;

struct Runner {
        sd_event *event;
        sd_event_source *kick; /* starts queued jobs from the loop, never from a caller */
        unsigned concurrency;
        uint64_t next_id;
        JobList queued, running, stuck;
};

static void list_append(JobList *l, Job *j) {
        LIST_APPEND(jobs, l->head, j);
        l->n++;
}

static void list_remove(JobList *l, Job *j) {
        LIST_REMOVE(jobs, l->head, j);
        l->n--;
}

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        plugin_free(j->plugin);
        strv_free(j->argv);
        strv_free(j->env);
        plugin_result_free(j->spare);
        free(j->user);
        free(j->group);
        run_as_done(&j->run_as);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Job *, job_free)

static size_t slots_used(const Runner *r) {
        /* Never all of them: one slot at least stays for checks that can run. */
        size_t cap = MIN((size_t) RUNNER_STUCK_SLOTS_MAX, (size_t) r->concurrency - 1);

        return r->running.n + MIN(r->stuck.n, cap);
}

static void runner_kick(Runner *r) {
        if (r->queued.n > 0 && slots_used(r) < r->concurrency)
                (void) sd_event_source_set_enabled(r->kick, SD_EVENT_ONESHOT);
}

static void job_deliver(Job *j, PluginResult *res) {
        Runner *r = j->runner;
        runner_done_t done = j->done;
        void *userdata = j->userdata;
        uint64_t id = j->id;

        list_remove(&r->running, j);
        job_free(j);
        runner_kick(r);
        /* Last: the callee may free the runner. */
        done(r, id, res, userdata);
}

static void on_plugin_done(Plugin *p, PluginResult *res, void *userdata) {
        Job *j = userdata;
        Runner *r = j->runner;

        if (res && res->unreaped) {
                /* The result goes out now; the job waits, out of the slots, for the reap. */
                list_remove(&r->running, j);
                list_append(&r->stuck, j);
                runner_kick(r);
                j->done(r, j->id, res, j->userdata);
                return;
        }
        if (!res) {
                runner_done_t done = j->done;
                void *ud = j->userdata;
                uint64_t id = j->id;

                list_remove(&r->stuck, j);
                job_free(j);
                runner_kick(r);
                done(r, id, NULL, ud);
                return;
        }
        job_deliver(j, res);
}

/* fork failed and the like: still one result per job. */
static PluginResult *result_cannot_start(Job *j, int err) {
        PluginResult *res = TAKE_PTR(j->spare);
        char *m = NULL;

        res->status = NAGIOS_UNKNOWN;
        res->broken = true;
        res->exit_code = -1;
        if (asprintf(&m, "cannot start plugin: %s", strerror(-err)) >= 0)
                (void) nagios_output_new_message(m, &res->output);
        free(m);
        return res;
}

static int on_kick(sd_event_source *s, void *userdata) {
        Runner *r = userdata;

        while (r->queued.n > 0 && slots_used(r) < r->concurrency) {
                Job *j = r->queued.head;
                int k;

                list_remove(&r->queued, j);
                list_append(&r->running, j);
                k = plugin_spawn(r->event, &j->spec, on_plugin_done, j, &j->plugin);
                if (k < 0) {
                        job_deliver(j, result_cannot_start(j, k));
                        return 0; /* the callee may have freed r; job_deliver kicked again */
                }
        }
        return 0;
}

int runner_new(sd_event *e, unsigned concurrency, Runner **ret) {
        _cleanup_(runner_freep) Runner *r = calloc(1, sizeof(Runner));
        int k;

        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(e);
        r->concurrency = MAX(concurrency, 1u);
        r->next_id = 1;
        k = sd_event_add_defer(e, &r->kick, on_kick, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_enabled(r->kick, SD_EVENT_OFF);
        *ret = TAKE_PTR(r);
        return 0;
}

void runner_cancel_all(Runner *r) {
        Job *j;

        while ((j = r->queued.head)) {
                list_remove(&r->queued, j);
                job_free(j);
        }
        while ((j = r->running.head)) {
                list_remove(&r->running, j);
                job_free(j);
        }
        while ((j = r->stuck.head)) {
                list_remove(&r->stuck, j);
                job_free(j);
        }
}

Runner *runner_free(Runner *r) {
        if (!r)
                return NULL;
        runner_cancel_all(r);
        sd_event_source_disable_unref(r->kick);
        sd_event_unref(r->event);
        return mfree(r);
}

int runner_submit(Runner *r, const PluginSpec *spec, runner_done_t done, void *userdata,
                  uint64_t *ret_id) {
        _cleanup_(job_freep) Job *j = calloc(1, sizeof(Job));

        if (!j)
                return -ENOMEM;
        if (strv_length(spec->argv) == 0)
                return -EINVAL;
        j->argv = strv_copy(spec->argv);
        j->env = spec->env ? strv_copy(spec->env) : NULL;
        j->user = strdup(strempty(spec->user));
        j->group = strdup(strempty(spec->group));
        j->spare = calloc(1, sizeof(PluginResult));
        if (!j->argv || (spec->env && !j->env) || !j->user || !j->group || !j->spare)
                return -ENOMEM;
        j->spec = *spec;
        j->spec.argv = j->argv;
        j->spec.env = j->env;
        j->spec.user = j->user;
        j->spec.group = j->group;
        if (spec->run_as && run_as_copy(spec->run_as, &j->run_as) < 0)
                return -ENOMEM;
        j->spec.run_as = spec->run_as ? &j->run_as : NULL;
        j->runner = r;
        j->id = r->next_id++;
        j->done = done;
        j->userdata = userdata;
        if (ret_id)
                *ret_id = j->id;
        list_append(&r->queued, TAKE_PTR(j));
        runner_kick(r);
        return 0;
}

static Job *list_find(JobList *l, uint64_t id) {
        Job *j;

        LIST_FOREACH(jobs, j, l->head)
        if (j->id == id)
                return j;
        return NULL;
}

int runner_cancel(Runner *r, uint64_t id) {
        Job *j;

        if ((j = list_find(&r->queued, id)))
                list_remove(&r->queued, j);
        else if ((j = list_find(&r->running, id))) {
                list_remove(&r->running, j);
                runner_kick(r);
        } else if ((j = list_find(&r->stuck, id))) {
                list_remove(&r->stuck, j);
                runner_kick(r);
        } else
                return -ENOENT;
        job_free(j);
        return 0;
}

void runner_set_concurrency(Runner *r, unsigned concurrency) {
        r->concurrency = MAX(concurrency, 1u);
        runner_kick(r);
}

size_t runner_n_running(const Runner *r) {
        return r->running.n;
}

size_t runner_n_stuck(const Runner *r) {
        return r->stuck.n;
}

size_t runner_n_queued(const Runner *r) {
        return r->queued.n;
}

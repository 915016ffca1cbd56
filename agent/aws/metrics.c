/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "aws/metrics.h"

/*
 * Why Values/Counts and not StatisticValues: a statistic set loses the distribution, so
 * CloudWatch cannot compute percentiles (p90 of CheckDuration is what an SRE graphs), and
 * our metrics are few-valued (CheckStatus is 0..3, counters are 1), so value/count pairs
 * are as small as a statistic set for them. The cost is a split at 150 distinct values.
 */

/* CloudWatch rejects magnitudes outside this range (API reference, MetricDatum.Value). */
#define VALUE_MAX 1.174271e+108
#define VALUE_MIN 8.515920e-109
/* Data older than two weeks or more than two hours ahead is refused; keep a margin. */
#define MAX_AGE_MS ((14ULL * 24 * 3600 - 600) * 1000)
#define MAX_AHEAD_MS ((2ULL * 3600 - 300) * 1000)
/* Interned metric identities: a hostile plugin inventing labels must not eat memory. */
#define SERIES_BYTES_MAX (8U * 1024 * 1024)
#define YEAR_9999_END 253402300799ULL

typedef struct Series {
        uint64_t hash;
        unsigned n_refs;
        MetricUnit unit;
        size_t n_dims;
        size_t bytes;
        char *name;
        char **dim_names;
        char **dim_values;
} Series;

typedef struct Datum {
        Series *series;
        int64_t period; /* Unix seconds at the start of the storage-resolution period */
        uint64_t batch; /* the batch carrying it, 0 when not in flight */
        size_t n, cap;
        struct Point {
                double value;
                uint64_t count;
        } * points;
} Datum;

struct Metrics {
        char *namespace;
        unsigned resolution; /* 1 or 60 seconds */
        size_t buffer_max;
        Datum **queue; /* oldest first */
        size_t n_queue, cap_queue;
        Series **series;
        size_t n_series, cap_series, series_bytes;
        size_t n_points;
        uint64_t dropped;
        uint64_t last_batch;
};

static const char *const unit_names[_METRIC_UNIT_MAX] = {
        [METRIC_UNIT_NONE] = "None",
        [METRIC_UNIT_SECONDS] = "Seconds",
        [METRIC_UNIT_MILLISECONDS] = "Milliseconds",
        [METRIC_UNIT_MICROSECONDS] = "Microseconds",
        [METRIC_UNIT_BYTES] = "Bytes",
        [METRIC_UNIT_KILOBYTES] = "Kilobytes",
        [METRIC_UNIT_MEGABYTES] = "Megabytes",
        [METRIC_UNIT_GIGABYTES] = "Gigabytes",
        [METRIC_UNIT_TERABYTES] = "Terabytes",
        [METRIC_UNIT_BITS] = "Bits",
        [METRIC_UNIT_KILOBITS] = "Kilobits",
        [METRIC_UNIT_MEGABITS] = "Megabits",
        [METRIC_UNIT_GIGABITS] = "Gigabits",
        [METRIC_UNIT_TERABITS] = "Terabits",
        [METRIC_UNIT_PERCENT] = "Percent",
        [METRIC_UNIT_COUNT] = "Count",
        [METRIC_UNIT_BYTES_PER_SECOND] = "Bytes/Second",
        [METRIC_UNIT_KILOBYTES_PER_SECOND] = "Kilobytes/Second",
        [METRIC_UNIT_MEGABYTES_PER_SECOND] = "Megabytes/Second",
        [METRIC_UNIT_GIGABYTES_PER_SECOND] = "Gigabytes/Second",
        [METRIC_UNIT_TERABYTES_PER_SECOND] = "Terabytes/Second",
        [METRIC_UNIT_BITS_PER_SECOND] = "Bits/Second",
        [METRIC_UNIT_KILOBITS_PER_SECOND] = "Kilobits/Second",
        [METRIC_UNIT_MEGABITS_PER_SECOND] = "Megabits/Second",
        [METRIC_UNIT_GIGABITS_PER_SECOND] = "Gigabits/Second",
        [METRIC_UNIT_TERABITS_PER_SECOND] = "Terabits/Second",
        [METRIC_UNIT_COUNT_PER_SECOND] = "Count/Second",
};

const char *metric_unit_name(MetricUnit u) {
        return (unsigned) u < _METRIC_UNIT_MAX ? unit_names[u] : NULL;
}

/* Nagios plugin guidelines' UOMs, plus the few plugins use that CloudWatch lacks. */
static const struct {
        const char *uom;
        bool any_case;
        MetricUnit unit;
        double scale;
} nagios_uoms[] = {
        { "", false, METRIC_UNIT_NONE, 1 },
        { "s", false, METRIC_UNIT_SECONDS, 1 },
        { "ms", false, METRIC_UNIT_MILLISECONDS, 1 },
        { "us", false, METRIC_UNIT_MICROSECONDS, 1 },
        { "ns", false, METRIC_UNIT_MICROSECONDS, 1e-3 },
        { "%", false, METRIC_UNIT_PERCENT, 1 },
        { "B", true, METRIC_UNIT_BYTES, 1 },
        { "KB", true, METRIC_UNIT_KILOBYTES, 1 },
        { "MB", true, METRIC_UNIT_MEGABYTES, 1 },
        { "GB", true, METRIC_UNIT_GIGABYTES, 1 },
        { "TB", true, METRIC_UNIT_TERABYTES, 1 },
        { "KiB", true, METRIC_UNIT_BYTES, 1024.0 },
        { "MiB", true, METRIC_UNIT_BYTES, 1048576.0 },
        { "GiB", true, METRIC_UNIT_BYTES, 1073741824.0 },
        { "TiB", true, METRIC_UNIT_BYTES, 1099511627776.0 },
        { "c", false, METRIC_UNIT_COUNT, 1 },
};

int metrics_unit_from_nagios(const char *uom, double value, MetricUnit *ret_unit,
                             double *ret_value) {
        uom = strempty(uom);
        for (size_t i = 0; i < ELEMENTSOF(nagios_uoms); i++) {
                bool match = nagios_uoms[i].any_case ? strcasecmp(uom, nagios_uoms[i].uom) == 0
                                                     : streq(uom, nagios_uoms[i].uom);
                if (!match)
                        continue;
                *ret_unit = nagios_uoms[i].unit;
                *ret_value = value * nagios_uoms[i].scale;
                return 0;
        }
        return -ENOENT;
}

static bool has_non_space(const char *s) {
        for (; *s; s++)
                if (*s != ' ')
                        return true;
        return false;
}

/* CloudWatch: ASCII only, at least one non-whitespace character; names not led by ':'. */
static bool valid_text(const char *s, size_t max, bool is_name) {
        size_t n;

        if (isempty(s) || (is_name && s[0] == ':'))
                return false;
        for (n = 0; s[n]; n++)
                if (n >= max || (unsigned char) s[n] < 0x20 || (unsigned char) s[n] > 0x7e)
                        return false;
        return has_non_space(s);
}

int metrics_sanitize_name(const char *label, char **ret) {
        size_t n;
        char *s;

        if (!label)
                return -EINVAL;
        n = strnlen(label, METRICS_MAX_NAME);
        s = strndup(label, n);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
                        s[i] = '_';
        if (s[0] == ':')
                s[0] = '_';
        if (!has_non_space(s)) {
                free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

int metrics_new(const char *namespace, bool high_resolution, size_t buffer_max, Metrics **ret) {
        Metrics *m;

        if (!valid_text(namespace, METRICS_MAX_NAME, true) || strneq(namespace, "AWS/", 4))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->namespace = strdup(namespace);
        if (!m->namespace)
                return free(m), -ENOMEM;
        m->resolution = high_resolution ? 1 : 60;
        m->buffer_max = MAX(buffer_max, (size_t) 1);
        *ret = m;
        return 0;
}

static void series_unref(Metrics *m, Series *s) {
        if (!s || --s->n_refs > 0)
                return;
        for (size_t i = 0; i < m->n_series; i++)
                if (m->series[i] == s) {
                        m->series[i] = m->series[--m->n_series];
                        break;
                }
        m->series_bytes -= s->bytes;
        for (size_t i = 0; i < s->n_dims; i++) {
                free(s->dim_names[i]);
                free(s->dim_values[i]);
        }
        free(s->dim_names);
        free(s->dim_values);
        free(s->name);
        free(s);
}

static void datum_free(Metrics *m, Datum *d) {
        series_unref(m, d->series);
        free(d->points);
        free(d);
}

Metrics *metrics_free(Metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_queue; i++)
                datum_free(m, m->queue[i]);
        free(m->queue);
        free(m->series);
        free(m->namespace);
        return mfree(m);
}

uint64_t metrics_dropped(const Metrics *m) {
        return m ? m->dropped : 0;
}

size_t metrics_buffered(const Metrics *m) {
        return m ? m->n_points : 0;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        return (h ^ 0xff) * 0x100000001b3ULL; /* terminator: "ab","c" != "a","bc" */
}

static uint64_t series_hash(const char *name, const MetricDimension *dims, size_t n_dims,
                            MetricUnit unit) {
        uint64_t h = fnv1a(0xcbf29ce484222325ULL, name);

        for (size_t i = 0; i < n_dims; i++)
                h = fnv1a(fnv1a(h, dims[i].name), dims[i].value);
        return (h ^ (uint64_t) unit) * 0x100000001b3ULL;
}

static bool series_equal(const Series *s, const char *name, const MetricDimension *dims,
                         size_t n_dims, MetricUnit unit) {
        if (s->unit != unit || s->n_dims != n_dims || !streq(s->name, name))
                return false;
        for (size_t i = 0; i < n_dims; i++)
                if (!streq(s->dim_names[i], dims[i].name) ||
                    !streq(s->dim_values[i], dims[i].value))
                        return false;
        return true;
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *cap)
                return 0;
        n = MAX(need, *cap * 2 + 4);
        q = reallocarray(*p, n, size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

/* Finds or creates the interned series and takes a reference on it. */
static int series_get(Metrics *m, const char *name, const MetricDimension *dims, size_t n_dims,
                      MetricUnit unit, Series **ret) {
        uint64_t h = series_hash(name, dims, n_dims, unit);
        size_t bytes = sizeof(Series) + strlen(name) + 1;
        Series *s;

        for (size_t i = 0; i < m->n_series; i++)
                if (m->series[i]->hash == h &&
                    series_equal(m->series[i], name, dims, n_dims, unit)) {
                        m->series[i]->n_refs++;
                        *ret = m->series[i];
                        return 0;
                }
        for (size_t i = 0; i < n_dims; i++)
                bytes += strlen(dims[i].name) + strlen(dims[i].value) + 2 + 2 * sizeof(char *);
        if (m->series_bytes + bytes > SERIES_BYTES_MAX)
                return -ENOBUFS;
        if (grow((void **) &m->series, &m->cap_series, m->n_series + 1, sizeof(Series *)) < 0)
                return -ENOMEM;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (Series){ .hash = h, .n_refs = 1, .unit = unit, .bytes = bytes };
        s->name = strdup(name);
        s->dim_names = calloc(MAX(n_dims, (size_t) 1), sizeof(char *));
        s->dim_values = calloc(MAX(n_dims, (size_t) 1), sizeof(char *));
        m->series[m->n_series++] = s;
        m->series_bytes += bytes;
        if (!s->name || !s->dim_names || !s->dim_values)
                return series_unref(m, s), -ENOMEM;
        for (; s->n_dims < n_dims; s->n_dims++) {
                s->dim_names[s->n_dims] = strdup(dims[s->n_dims].name);
                s->dim_values[s->n_dims] = strdup(dims[s->n_dims].value);
                if (!s->dim_names[s->n_dims] || !s->dim_values[s->n_dims]) {
                        s->n_dims++;
                        return series_unref(m, s), -ENOMEM;
                }
        }
        *ret = s;
        return 0;
}

static void queue_remove(Metrics *m, size_t i) {
        datum_free(m, m->queue[i]);
        memmove(m->queue + i, m->queue + i + 1, (m->n_queue - i - 1) * sizeof(Datum *));
        m->n_queue--;
}

static uint64_t datum_samples(const Datum *d) {
        uint64_t n = 0;

        for (size_t i = 0; i < d->n; i++)
                n += d->points[i].count;
        return n;
}

/* Drops the oldest data point that is not in flight; -ENOBUFS if there is none. */
static int drop_oldest(Metrics *m) {
        for (size_t i = 0; i < m->n_queue; i++) {
                Datum *d = m->queue[i];

                if (d->batch != 0)
                        continue;
                m->dropped += d->points[0].count;
                m->n_points--;
                if (--d->n == 0)
                        queue_remove(m, i);
                else
                        memmove(d->points, d->points + 1, d->n * sizeof(struct Point));
                return 0;
        }
        return -ENOBUFS;
}

/*
 * Among the datums of this series and period that are not in flight: the point holding
 * value if there is one (*ret_point), else a datum with room for it (or NULL).
 */
static Datum *merge_target(Metrics *m, Series *s, int64_t period, double value,
                           struct Point **ret_point) {
        Datum *room = NULL;

        *ret_point = NULL;
        for (size_t i = m->n_queue; i-- > 0;) {
                Datum *d = m->queue[i];

                if (d->series != s || d->period != period || d->batch != 0)
                        continue;
                for (size_t j = 0; j < d->n; j++)
                        if (d->points[j].value == value) {
                                *ret_point = &d->points[j];
                                return d;
                        }
                if (!room && d->n < METRICS_MAX_VALUES_PER_DATUM)
                        room = d;
        }
        return room;
}

static int record_point(Metrics *m, Series *s, int64_t period, double value) {
        struct Point *p;
        Datum *d = merge_target(m, s, period, value, &p);

        if (p) {
                p->count++;
                return 0;
        }
        if (m->n_points >= m->buffer_max) {
                if (drop_oldest(m) < 0) {
                        m->dropped++;
                        return -ENOBUFS;
                }
                d = merge_target(m, s, period, value, &p); /* it may have been dropped */
        }
        if (!d) {
                if (grow((void **) &m->queue, &m->cap_queue, m->n_queue + 1, sizeof(Datum *)) < 0)
                        return -ENOMEM;
                d = calloc(1, sizeof(*d));
                if (!d || grow((void **) &d->points, &d->cap, 1, sizeof(struct Point)) < 0)
                        return free(d), -ENOMEM;
                d->series = s;
                s->n_refs++;
                d->period = period;
                m->queue[m->n_queue++] = d;
        } else if (grow((void **) &d->points, &d->cap, d->n + 1, sizeof(struct Point)) < 0)
                return -ENOMEM;
        d->points[d->n++] = (struct Point){ .value = value, .count = 1 };
        m->n_points++;
        return 0;
}

int metrics_record(Metrics *m, const char *name, const MetricDimension *dims, size_t n_dims,
                   double value, MetricUnit unit, uint64_t timestamp_ms) {
        Series *s = NULL;
        int64_t period;
        int r;

        if (!m || !isfinite(value) || (unsigned) unit >= _METRIC_UNIT_MAX)
                return -EINVAL;
        if (fabs(value) > VALUE_MAX)
                return -ERANGE;
        if (fabs(value) < VALUE_MIN)
                value = 0; /* also folds -0 into 0, one value for Counts */
        if (n_dims > METRICS_MAX_DIMENSIONS)
                return -E2BIG;
        if (!valid_text(name, METRICS_MAX_NAME, true) || (n_dims > 0 && !dims))
                return -EINVAL;
        for (size_t i = 0; i < n_dims; i++) {
                if (!valid_text(dims[i].name, METRICS_MAX_NAME, true) ||
                    !valid_text(dims[i].value, METRICS_MAX_DIMENSION_VALUE, false))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(dims[i].name, dims[j].name))
                                return -EINVAL;
        }
        if (timestamp_ms / 1000 > YEAR_9999_END)
                return -ERANGE; /* beyond what an ISO 8601 timestamp can say */
        period = (int64_t) (timestamp_ms / 1000 / m->resolution * m->resolution);

        r = series_get(m, name, dims, n_dims, unit, &s);
        if (r == -ENOBUFS)
                m->dropped++;
        if (r < 0)
                return r;
        r = record_point(m, s, period, value);
        series_unref(m, s);
        return r;
}

/* ---- PutMetricData requests ---- */

typedef int (*emit_fn)(void *userdata, const char *key, const char *value);

typedef struct Size {
        size_t bytes;
        size_t params;
} Size;

/* query_params_encode()'s rule: unreserved bytes as they are, every other byte as %XX. */
static size_t form_encoded_len(const char *s) {
        size_t n = 0;

        for (; *s; s++) {
                char c = *s;
                bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                                  c == '~';
                n += unreserved ? 1 : 3;
        }
        return n;
}

static int size_emit(void *userdata, const char *key, const char *value) {
        Size *sz = userdata;

        sz->bytes += 1 /* & */ + form_encoded_len(key) + 1 /* = */ + form_encoded_len(value);
        sz->params++;
        return 0;
}

static int params_emit(void *userdata, const char *key, const char *value) {
        return query_params_add(userdata, key, value);
}

/* Shortest text that reads back as the same double. */
static void format_double(double v, char *buf, size_t size) {
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, size, "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        return;
        }
}

static int emitf(emit_fn emit, void *userdata, const char *value, const char *fmt, ...)
        _printf_(4, 5);
static int emitf(emit_fn emit, void *userdata, const char *value, const char *fmt, ...) {
        char key[96];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(key, sizeof(key), fmt, ap);
        va_end(ap);
        return emit(userdata, key, value);
}

/* Every parameter of one MetricData member, in the order they go out. */
static int datum_emit(const Metrics *m, const Datum *d, size_t idx, emit_fn emit, void *userdata) {
        const Series *s = d->series;
        bool all_ones = true;
        char buf[64];
        time_t t = (time_t) d->period;
        struct tm tm;
        int r;

#define EMIT(value, fmt, ...)                                                                      \
        if ((r = emitf(emit, userdata, (value), "MetricData.member.%zu." fmt, idx,                 \
                       ##__VA_ARGS__)) < 0)                                                        \
        return r
        EMIT(s->name, "MetricName");
        for (size_t i = 0; i < s->n_dims; i++) {
                EMIT(s->dim_names[i], "Dimensions.member.%zu.Name", i + 1);
                EMIT(s->dim_values[i], "Dimensions.member.%zu.Value", i + 1);
        }
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -ERANGE;
        EMIT(buf, "Timestamp");
        for (size_t i = 0; i < d->n; i++) {
                format_double(d->points[i].value, buf, sizeof(buf));
                EMIT(buf, "Values.member.%zu", i + 1);
                all_ones = all_ones && d->points[i].count == 1;
        }
        /* Counts default to 1 each: leave them out when that is what they are. */
        for (size_t i = 0; !all_ones && i < d->n; i++) {
                snprintf(buf, sizeof(buf), "%" PRIu64, d->points[i].count);
                EMIT(buf, "Counts.member.%zu", i + 1);
        }
        EMIT(unit_names[s->unit], "Unit");
        snprintf(buf, sizeof(buf), "%u", m->resolution);
        EMIT(buf, "StorageResolution");
#undef EMIT
        return 0;
}

static int head_emit(const Metrics *m, emit_fn emit, void *userdata) {
        int r = emit(userdata, "Action", "PutMetricData");

        if (r >= 0)
                r = emit(userdata, "Version", "2010-08-01");
        if (r >= 0)
                r = emit(userdata, "Namespace", m->namespace);
        return r;
}

static void drop_stale(Metrics *m, uint64_t now_ms) {
        for (size_t i = 0; i < m->n_queue;) {
                Datum *d = m->queue[i];
                uint64_t end_ms = ((uint64_t) d->period + m->resolution) * 1000;

                if (d->batch == 0 && (end_ms + MAX_AGE_MS <= now_ms ||
                                      (uint64_t) d->period * 1000 > now_ms + MAX_AHEAD_MS)) {
                        m->dropped += datum_samples(d);
                        m->n_points -= d->n;
                        queue_remove(m, i);
                } else
                        i++;
        }
}

MetricsBatch *metrics_batch_free(MetricsBatch *b) {
        if (!b)
                return NULL;
        query_params_free(b->params);
        free(b->body);
        return mfree(b);
}

/* Marks the oldest data that fits one request as being in batch id; returns how many. */
static size_t batch_select(Metrics *m, uint64_t id, uint64_t now_ms, bool final, size_t *ret_bytes,
                           uint64_t *ret_samples) {
        Size total = {};
        uint64_t samples = 0;
        size_t n = 0;

        (void) head_emit(m, size_emit, &total);
        total.bytes--; /* the first parameter has no '&' */
        for (size_t i = 0; i < m->n_queue && n < METRICS_MAX_DATUMS_PER_REQUEST; i++) {
                Datum *d = m->queue[i];
                Size sz = {};

                /* A period still filling up waits, so it goes out as one datum. */
                if (d->batch != 0 ||
                    (!final && ((uint64_t) d->period + m->resolution) * 1000 > now_ms))
                        continue;
                if (datum_emit(m, d, n + 1, size_emit, &sz) < 0)
                        continue; /* cannot happen for a period gmtime_r takes */
                /* Stop rather than skip ahead, so data goes out in the order it came. */
                if (total.bytes + sz.bytes > METRICS_MAX_REQUEST_BYTES ||
                    total.params + sz.params > METRICS_MAX_PARAMS_PER_REQUEST)
                        break;
                total.bytes += sz.bytes;
                total.params += sz.params;
                samples += datum_samples(d);
                d->batch = id;
                n++;
        }
        *ret_bytes = total.bytes;
        *ret_samples = samples;
        return n;
}

static void batch_unmark(Metrics *m, uint64_t id) {
        for (size_t i = 0; i < m->n_queue; i++)
                if (m->queue[i]->batch == id)
                        m->queue[i]->batch = 0;
}

static int batch_build(Metrics *m, uint64_t id, size_t want_bytes, MetricsBatch *b) {
        size_t idx = 0;
        int r;

        b->params = query_params_new("PutMetricData", "2010-08-01");
        if (!b->params)
                return -ENOMEM;
        r = query_params_add(b->params, "Namespace", m->namespace);
        for (size_t i = 0; r >= 0 && i < m->n_queue; i++)
                if (m->queue[i]->batch == id)
                        r = datum_emit(m, m->queue[i], ++idx, params_emit, b->params);
        if (r < 0)
                return r;
        r = query_params_encode(b->params, &b->body, &b->body_len);
        if (r < 0)
                return r;
        /* The split decisions were made on the computed size: they must agree. */
        if (b->body_len != want_bytes || b->body_len > METRICS_MAX_REQUEST_BYTES)
                return -EBADMSG;
        return 0;
}

int metrics_flush(Metrics *m, uint64_t now_ms, bool final, MetricsBatch **ret) {
        _cleanup_(metrics_batch_freep) MetricsBatch *b = NULL;
        uint64_t id, samples;
        size_t n, bytes;
        int r;

        if (!m || !ret)
                return -EINVAL;
        drop_stale(m, now_ms);
        id = m->last_batch + 1;
        n = batch_select(m, id, now_ms, final, &bytes, &samples);
        if (n == 0)
                return 0;
        b = calloc(1, sizeof(*b));
        r = b ? batch_build(m, id, bytes, b) : -ENOMEM;
        if (r < 0) {
                batch_unmark(m, id);
                return r;
        }
        m->last_batch = id;
        b->id = id;
        b->n_datums = n;
        b->n_samples = samples;
        *ret = TAKE_PTR(b);
        return 1;
}

int metrics_batch_done(Metrics *m, uint64_t id, MetricsOutcome outcome) {
        bool found = false;

        if (!m || id == 0 || (unsigned) outcome > METRICS_REJECTED)
                return -EINVAL;
        for (size_t i = 0; i < m->n_queue;) {
                Datum *d = m->queue[i];

                if (d->batch != id) {
                        i++;
                        continue;
                }
                found = true;
                if (outcome == METRICS_FAILED) {
                        d->batch = 0;
                        i++;
                        continue;
                }
                if (outcome == METRICS_REJECTED)
                        m->dropped += datum_samples(d);
                m->n_points -= d->n;
                queue_remove(m, i);
        }
        return found ? 0 : -ENOENT;
}

/* ---- DESIGN.md's metric set ---- */

static const char *const instance_metric_names[_METRICS_INSTANCE_METRIC_MAX] = {
        [METRICS_INSTANCE_HEALTHY] = "InstanceHealthy",
        [METRICS_REMEDIATION_ATTEMPTED] = "RemediationAttempted",
        [METRICS_REPLACEMENT_REQUESTED] = "ReplacementRequested",
        [METRICS_REPLACEMENT_DEFERRED] = "ReplacementDeferred",
        [METRICS_LIFECYCLE_HOOK_RUN] = "LifecycleHookRun",
        [METRICS_LIFECYCLE_RETAINED] = "LifecycleRetained",
        [METRICS_DROPPED] = "MetricsDropped",
};

const char *metrics_instance_metric_name(MetricsInstanceMetric which) {
        return (unsigned) which < _METRICS_INSTANCE_METRIC_MAX ? instance_metric_names[which]
                                                               : NULL;
}

/* AutoScalingGroupName (in a group), Check, InstanceId (per_instance): at most 3. */
static size_t check_dims(const MetricsIdentity *id, const char *check, MetricDimension d[3]) {
        size_t n = 0;

        if (!isempty(id->asg))
                d[n++] = (MetricDimension){ "AutoScalingGroupName", id->asg };
        d[n++] = (MetricDimension){ "Check", check };
        if (id->per_instance && !isempty(id->instance_id))
                d[n++] = (MetricDimension){ "InstanceId", id->instance_id };
        return n;
}

int metrics_record_check(Metrics *m, const MetricsIdentity *id, const char *check,
                         NagiosStatus status, double duration_ms, uint64_t timestamp_ms) {
        MetricDimension d[3];
        size_t n;
        int r;

        if (!id || (unsigned) status >= _NAGIOS_STATUS_MAX)
                return -EINVAL;
        n = check_dims(id, check, d);
        r = metrics_record(m, "CheckStatus", d, n, status, METRIC_UNIT_NONE, timestamp_ms);
        if (r < 0)
                return r;
        return metrics_record(m, "CheckDuration", d, n, duration_ms, METRIC_UNIT_MILLISECONDS,
                              timestamp_ms);
}

int metrics_record_perfdata(Metrics *m, const MetricsIdentity *id, const char *check,
                            const char *label, double value, const char *uom,
                            uint64_t timestamp_ms) {
        _cleanup_free_ char *name = NULL;
        MetricDimension d[3];
        MetricUnit unit;
        double v;
        int r;

        if (!id)
                return -EINVAL;
        r = metrics_sanitize_name(label, &name);
        if (r < 0)
                return r;
        if (metrics_unit_from_nagios(uom, value, &unit, &v) < 0) {
                unit = METRIC_UNIT_NONE;
                v = value;
        }
        return metrics_record(m, name, d, check_dims(id, check, d), v, unit, timestamp_ms);
}

int metrics_record_instance(Metrics *m, const MetricsIdentity *id, MetricsInstanceMetric which,
                            double value, uint64_t timestamp_ms) {
        const char *name = metrics_instance_metric_name(which);
        MetricUnit unit = which == METRICS_INSTANCE_HEALTHY ? METRIC_UNIT_NONE : METRIC_UNIT_COUNT;
        MetricDimension d[2];
        size_t n = 0;
        int r;

        if (!id || !name)
                return -EINVAL;
        if (!isempty(id->asg))
                d[n++] = (MetricDimension){ "AutoScalingGroupName", id->asg };
        if (!isempty(id->instance_id))
                d[n++] = (MetricDimension){ "InstanceId", id->instance_id };
        r = metrics_record(m, name, d, n, value, unit, timestamp_ms);
        /* The fleet view; outside a group it would lump every lone instance together. */
        if (r >= 0 && n == 2)
                r = metrics_record(m, name, d, 1, value, unit, timestamp_ms);
        return r;
}

/* SPDX-License-Identifier: MIT */
/* The Prometheus text from status documents: families, units, escaping, hostile labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/macro.h"
#include "health/prometheus.h"

static char *render(const char *doc_text) {
        json_error_t err;
        json_t *doc = json_loads(doc_text, 0, &err);
        char *out = NULL;
        size_t len = 0;

        if (!doc)
                fail_msg("bad test JSON: %s", err.text);
        assert_int_equal(prometheus_render(doc, &out, &len), 0);
        assert_int_equal(strlen(out), len);
        json_decref(doc);
        return out;
}

static void assert_has(const char *text, const char *line) {
        if (!strstr(text, line))
                fail_msg("missing \"%s\" in:\n%s", line, text);
}

static void test_units(void **state) {
        static const struct {
                const char *uom;
                double in, out;
                const char *label;
        } cases[] = {
                { "s", 2.5, 2.5, "seconds" },
                { "ms", 9, 0.009, "seconds" }, /* exactly 9 / 1000, as a reader computes */
                { "us", 250, 0.00025, "seconds" },
                { "%", 40, 40, "percent" },
                { "B", 10, 10, "bytes" },
                { "KB", 2, 2048, "bytes" },
                { "kB", 2, 2048, "bytes" },
                { "MB", 1, 1048576, "bytes" },
                { "GB", 2, 2147483648.0, "bytes" },
                { "TB", 1, 1099511627776.0, "bytes" },
                { "c", 7, 7, "counter" },
                { "", 0.5, 0.5, "" },
                { NULL, 1, 1, "" },
                { "req/s", 3, 3, "req_s" },
                { "///", 3, 3, "unknown" },
                { "S", 3, 3, "S" }, /* seconds are exact */
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char label[64];
                double v = prometheus_base_value(cases[i].uom, cases[i].in, label, sizeof(label));
                if (v != cases[i].out)
                        fail_msg("%s: %.17g != %.17g", strempty(cases[i].uom), v, cases[i].out);
                assert_string_equal(label, cases[i].label);
        }
}

static void test_document(void **state) {
        _cleanup_free_ char *t = render(
                "{\"version\":\"1.2\",\"group\":\"web-asg\",\"uptime_s\":12.5,"
                "\"instance\":{\"instance_id\":\"i-0abc\"},"
                "\"heal\":{\"verdict\":\"degraded\"},"
                "\"http\":{\"serving\":false,\"live\":true,\"ready\":false,\"draining\":false},"
                "\"counters\":{\"remediation_attempted\":2,\"replacement_requested\":0,"
                "\"replacement_deferred\":1,\"lifecycle_hook_run\":3},"
                "\"metrics\":{\"dropped\":7},"
                "\"checks\":[{\"name\":\"web\",\"role\":\"liveness\",\"state\":\"passing\","
                "\"status\":1,\"duration_ms\":9,\"results\":{\"OK\":4,\"WARNING\":1,"
                "\"CRITICAL\":0,\"UNKNOWN\":0},\"perfdata\":[{\"label\":\"time\",\"value\":"
                "120,\"uom\":\"ms\"},{\"label\":\"/var\",\"value\":2,\"uom\":\"GB\"}]},"
                "{\"name\":\"db\",\"role\":\"dependency\",\"state\":\"failed\",\"status\":2,"
                "\"duration_ms\":0,\"perfdata\":[]}]}");
        const char *c = "group=\"web-asg\",instance_id=\"i-0abc\"";
        char line[512];

        (void) state;
        snprintf(line, sizeof(line), "drover_info{%s,version=\"1.2\"} 1\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line), "drover_health_serving{%s} 0\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line), "drover_health_live{%s} 1\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line), "drover_instance_healthy{%s} 1\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line), "drover_check_status{%s,check=\"web\",role=\"liveness\"} 1\n",
                 c);
        assert_has(t, line);
        snprintf(line, sizeof(line),
                 "drover_check_passing{%s,check=\"db\",role=\"dependency\"} 0\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line),
                 "drover_check_duration_seconds{%s,check=\"web\",role=\"liveness\"} 0.009\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line),
                 "drover_check_results_total{%s,check=\"web\",role=\"liveness\",status="
                 "\"WARNING\"} 1\n",
                 c);
        assert_has(t, line);
        snprintf(line, sizeof(line),
                 "drover_perfdata{%s,check=\"web\",label=\"time\",uom=\"seconds\"} 0.12\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line),
                 "drover_perfdata{%s,check=\"web\",label=\"/var\",uom=\"bytes\"} 2147483648\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line), "drover_replacements_deferred_total{%s} 1\n", c);
        assert_has(t, line);
        snprintf(line, sizeof(line), "drover_metrics_dropped_total{%s} 7\n", c);
        assert_has(t, line);
        assert_has(t, "# TYPE drover_check_results_total counter\n");
        assert_has(t, "# TYPE drover_perfdata gauge\n");
        /* One HELP and TYPE per family, and every family's samples together. */
        assert_null(strstr(strstr(t, "# TYPE drover_perfdata") + 1, "# TYPE drover_perfdata"));
}

static void test_hostile_labels(void **state) {
        /* A plugin's perfdata label with quotes, backslashes, a newline (JSON-escaped),
         * a control byte and a duplicate (label, unit): escaped, made safe, deduplicated. */
        _cleanup_free_ char *t = render(
                "{\"checks\":[{\"name\":\"we\\\"b\",\"role\":\"liveness\",\"state\":\"failed\","
                "\"status\":2,\"duration_ms\":1,\"perfdata\":["
                "{\"label\":\"a\\\\b\\\"c\\nd\\u0001e\",\"value\":1,\"uom\":\"\"},"
                "{\"label\":\"x\",\"value\":1,\"uom\":\"s\"},"
                "{\"label\":\"x\",\"value\":2000,\"uom\":\"ms\"},"
                "{\"label\":\"x\",\"value\":3,\"uom\":\"B\"},"
                "{\"label\":\"nan\",\"value\":null,\"uom\":\"\"}]}]}");

        (void) state;
        assert_has(t, "check=\"we\\\"b\"");
        assert_has(t, "label=\"a\\\\b\\\"c\\nd?e\"");
        assert_has(t, "label=\"x\",uom=\"seconds\"} 1\n");
        assert_null(strstr(t, "uom=\"seconds\"} 2\n")); /* the duplicate in ms is dropped */
        assert_has(t, "label=\"x\",uom=\"bytes\"} 3\n");
        assert_null(strstr(t, "label=\"nan\"")); /* no value: no sample */
        assert_has(t, "group=\"\",instance_id=\"\"");
}

static void test_empty_and_wrong_types(void **state) {
        _cleanup_free_ char *a = render("{}");
        _cleanup_free_ char *b =
                render("{\"checks\":7,\"http\":[],\"counters\":{\"remediation_attempted\":\"x\"},"
                       "\"heal\":{\"verdict\":\"unknown\"},\"group\":3}");

        (void) state;
        assert_has(a, "drover_info{group=\"\",instance_id=\"\",version=\"\"} 1\n");
        assert_null(strstr(b, "drover_check_status"));
        assert_null(strstr(b, "drover_instance_healthy"));
        assert_null(strstr(b, "drover_remediations_attempted_total"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_units),
                cmocka_unit_test(test_document),
                cmocka_unit_test(test_hostile_labels),
                cmocka_unit_test(test_empty_and_wrong_types),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

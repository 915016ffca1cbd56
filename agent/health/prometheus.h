/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * GET /metrics: the Prometheus text exposition format (version 0.0.4), rendered from
 * the same JSON document `drover status --json` prints, so the two cannot disagree.
 * Pure: no I/O, never logs.
 *
 * Families (every sample also carries group="" and instance_id=""; not "instance",
 * which Prometheus sets to the scrape target and would rename ours "exported_instance"):
 *   drover_info{version}                                    gauge 1
 *   drover_health_serving / _live / _ready, drover_draining gauge 1/0 (the /health halves)
 *   drover_instance_healthy                                 gauge 1/0, absent before a verdict
 *   drover_check_status{check,role}                         gauge 0..3 (Nagios)
 *   drover_check_passing{check,role}                        gauge 1/0 (hard state)
 *   drover_check_duration_seconds{check,role}               gauge
 *   drover_check_results_total{check,role,status}           counter
 *   drover_perfdata{check,label,uom}                        gauge, in base units: seconds,
 *                                                           bytes (KB = 1024 B), percent
 *   drover_remediations_attempted_total, drover_replacements_requested_total,
 *   drover_replacements_deferred_total, drover_lifecycle_hooks_run_total,
 *   drover_metrics_dropped_total                            counters
 *   drover_uptime_seconds                                   gauge
 * Label values are escaped as the format says (\\, \", \n) and made valid UTF-8; a
 * perfdata label is kept as the plugin wrote it ("/var"), since a sanitised name would
 * merge "/" and "/var".
 */

#include <jansson.h>
#include <stddef.h>

#define PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A perfdata value in its Nagios UOM -> the value in the base unit, and the uom label
 * into label ("ms" -> "seconds"). Unknown UOMs keep their value and get a sanitised name
 * as the label ("req/s" -> "req_s"). */
double prometheus_base_value(const char *uom, double value, char *label, size_t size);

/* Renders status (manager_render_status()'s document) into a malloc'd text. Missing
 * members are skipped, never an error. Returns 0 or -ENOMEM. */
int prometheus_render(const json_t *status, char **ret, size_t *ret_len);

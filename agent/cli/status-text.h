/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * `drover status` as text: pure functions of the daemon's JSON document and the time,
 * so every situation has a golden test (tests/unit/test-status-text.c). The situation
 * table in drover(8) is the contract for the headline.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* What the headline says, and what `drover status --check` exits with (Nagios). */
typedef enum StatusClass {
        STATUS_CLASS_OK = 0,       /* healthy */
        STATUS_CLASS_WARNING = 1,  /* held back, remediating, degraded */
        STATUS_CLASS_CRITICAL = 2, /* unhealthy: replacing, requested, replaced */
        STATUS_CLASS_UNKNOWN = 3,  /* off EC2, no verdict yet, no daemon */
} StatusClass;

/*
 * The one-line headline ("HEALTHY: ...") into buf; returns its class. now: Unix
 * seconds, for "3 min ago".
 */
StatusClass status_text_headline(json_t *doc, time_t now, char *buf, size_t size);

/* The whole screen. colour: ANSI colours (a terminal without NO_COLOR). */
StatusClass status_text_print(FILE *f, json_t *doc, time_t now, bool colour);

/* One check's full output (from a "status NAME" reply), control bytes made visible. */
int status_text_print_wide(FILE *f, json_t *doc, const char *name);

/*
 * s with control bytes shown as '?', cut to at most max_chars characters (never inside
 * one) and marked with "..." when cut. Always NUL-terminated in buf.
 */
void status_text_cut(const char *s, size_t max_chars, bool force_mark, char *buf, size_t size);

/* "2026-12-02T05:47:42Z (3 min ago)" or "(in 40 s)". */
void status_text_when(time_t then, time_t now, char *buf, size_t size);

/* A span as a person says it: "42 s", "3 min", "1 h 5 min", "2 d 3 h". */
void status_text_span(double seconds, char *buf, size_t size);

/* Colour on stdout: a terminal, NO_COLOR unset or empty, TERM not "dumb". */
bool cli_use_colour(void);

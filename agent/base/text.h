/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Untrusted text (plugin and hook output, AWS error messages) made safe to show on a
 * terminal and to write to the journal or a log file. What could move the cursor,
 * rewrite a line, ring a bell, reorder what a reader sees or hide bytes is written as a
 * visible escape instead:
 *
 *   C0 controls, DEL, NUL         \xNN      (e.g. ESC -> \x1b)
 *   bytes that are not UTF-8      \xNN      (one per byte, e.g. \xff)
 *   C1 controls U+0080..U+009F    \u{NN}    (e.g. \u{9b}, the one-byte CSI)
 *   bidi embeddings, overrides,   \u{NNNN}  (U+202A..U+202E, U+2066..U+2069, the marks
 *   isolates, line separators               U+061C U+200E U+200F, U+2028 U+2029)
 *
 * Everything else (printable ASCII and valid UTF-8) is kept as it is; a backslash is
 * not doubled, so the result is for reading, not for decoding back. The output never
 * contains a byte the escapes above cover, so escaping it again changes nothing.
 */

#include <stddef.h>

typedef enum TextEscapeFlags {
        TEXT_ESCAPE_KEEP_NEWLINE = 1 << 0, /* keep '\n' (multi-line long output) */
        /* keep '\t' '\n' '\v' '\f' '\r': for a parser that splits on white space first
         * and escapes each piece fully afterwards */
        TEXT_ESCAPE_KEEP_SPACE = 1 << 1,
} TextEscapeFlags;

/* The worst case: every input byte becomes a 4-byte \xNN. */
#define TEXT_ESCAPE_MAX_GROWTH 4

/*
 * Copies len bytes of s (need not be NUL-terminated, may contain NULs) into a new
 * NUL-terminated string, escaped as above. NULL on out of memory or when len is too
 * big to escape. The caller frees.
 */
char *text_escape_untrusted(const char *s, size_t len, TextEscapeFlags flags);

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not one
 * (overlong forms, surrogates and code points beyond U+10FFFF included). On success
 * the code point goes to *ret_cp.
 */
size_t utf8_decode(const unsigned char *s, size_t n, unsigned *ret_cp);

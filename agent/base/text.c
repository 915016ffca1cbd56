/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

size_t utf8_decode(const unsigned char *s, size_t n, unsigned *ret_cp) {
        size_t len;
        unsigned cp;

        if (n == 0)
                return 0;
        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

static bool byte_kept(unsigned char c, TextEscapeFlags flags) {
        if (c >= 0x20 && c != 0x7f)
                return true;
        if (c == '\n' && (flags & (TEXT_ESCAPE_KEEP_NEWLINE | TEXT_ESCAPE_KEEP_SPACE)))
                return true;
        return (flags & TEXT_ESCAPE_KEEP_SPACE) &&
               (c == '\t' || c == '\v' || c == '\f' || c == '\r');
}

/* Code points above ASCII that a terminal or log viewer acts on instead of showing. */
static bool codepoint_escaped(unsigned cp) {
        return (cp >= 0x80 && cp <= 0x9f) ||     /* C1 controls (CSI, OSC, NEL...) */
               cp == 0x061c ||                   /* ARABIC LETTER MARK */
               cp == 0x200e || cp == 0x200f ||   /* LRM, RLM */
               cp == 0x2028 || cp == 0x2029 ||   /* line and paragraph separators */
               (cp >= 0x202a && cp <= 0x202e) || /* LRE RLE PDF LRO RLO */
               (cp >= 0x2066 && cp <= 0x2069);   /* LRI RLI FSI PDI */
}

char *text_escape_untrusted(const char *s, size_t len, TextEscapeFlags flags) {
        const unsigned char *u = (const unsigned char *) s;
        char *out, *p;

        if (len > (SIZE_MAX - 1) / TEXT_ESCAPE_MAX_GROWTH)
                return NULL;
        out = p = malloc(len * TEXT_ESCAPE_MAX_GROWTH + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                unsigned cp = 0;
                size_t n = u[i] < 0x80 ? 1 : utf8_decode(u + i, len - i, &cp);

                if (u[i] < 0x80 && byte_kept(u[i], flags)) {
                        *p++ = (char) u[i];
                        i++;
                } else if (u[i] < 0x80 || n == 0) {
                        /* A control byte, or a byte that starts no valid sequence. */
                        p += sprintf(p, "\\x%02x", u[i]);
                        i++;
                } else if (codepoint_escaped(cp)) {
                        /* \u{NN} is 6 bytes for 2 in, \u{NNNN} 8 for 3: within 4x. */
                        p += sprintf(p, "\\u{%x}", cp);
                        i += n;
                } else {
                        memcpy(p, u + i, n);
                        p += n;
                        i += n;
                }
        }
        *p = '\0';
        return out;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: whatever bytes come in, what text_escape_untrusted() gives back is
 * valid UTF-8 without a control character, C1 or bidi code point, and escaping it again
 * changes nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_safe(const char *s, TextEscapeFlags flags) {
        const unsigned char *u = (const unsigned char *) s;
        size_t len = strlen(s);

        for (size_t i = 0; i < len;) {
                unsigned cp = 0;
                size_t n = utf8_decode(u + i, len - i, &cp);

                if (n == 0)
                        __builtin_trap();
                if (cp < 0x20 || cp == 0x7f) {
                        if (!(cp == '\n' && (flags & TEXT_ESCAPE_KEEP_NEWLINE)))
                                __builtin_trap();
                }
                if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
                    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029)
                        __builtin_trap();
                i += n;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TextEscapeFlags flags = size > 0 && (data[0] & 1) ? TEXT_ESCAPE_KEEP_NEWLINE : 0;
        char *once = text_escape_untrusted((const char *) data, size, flags), *twice;

        if (!once)
                return 0;
        if (strlen(once) > size * TEXT_ESCAPE_MAX_GROWTH)
                __builtin_trap();
        check_safe(once, flags);
        twice = text_escape_untrusted(once, strlen(once), flags);
        if (twice && strcmp(once, twice) != 0)
                __builtin_trap();
        free(once);
        free(twice);
        return 0;
}

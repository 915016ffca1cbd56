/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "base/macro.h"
#include "mountinfo.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else
                        *w++ = *p;
        }
        *w = '\0';
}

static bool has_option(const char *opts, const char *want) {
        size_t n = strlen(want);

        for (const char *p = opts; p && *p;) {
                size_t len = strcspn(p, ",");
                if (len == n && strneq(p, want, n))
                        return true;
                p += len + (p[len] == ',');
        }
        return false;
}

static bool path_under(const char *path, const char *mp) {
        size_t n = strlen(mp);

        if (streq(mp, "/"))
                return path[0] == '/';
        return strneq(path, mp, n) && (path[n] == '\0' || path[n] == '/');
}

int mountinfo_find(char *text, const char *path, MountEntry *ret) {
        MountEntry best = {};
        size_t best_len = 0;
        char *save = NULL;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[6] = {}, *sep, *fstype, *super, *s2 = NULL;
                size_t n = 0, len;

                /* id parent major:minor root mountpoint options [optional...] - fstype source super */
                sep = strstr(line, " - ");
                if (!sep)
                        return -EBADMSG;
                *sep = '\0';
                for (char *t = strtok_r(line, " ", &s2); t && n < ELEMENTSOF(f);
                     t = strtok_r(NULL, " ", &s2))
                        f[n++] = t;
                if (n < 6)
                        return -EBADMSG;
                fstype = strtok_r(sep + 3, " ", &s2);
                (void) strtok_r(NULL, " ", &s2); /* source */
                super = strtok_r(NULL, " ", &s2);
                if (!fstype)
                        return -EBADMSG;
                unescape_octal(f[4]);
                len = strlen(f[4]);
                if (f[4][0] != '/' || len >= sizeof(best.mountpoint) || !path_under(path, f[4]) ||
                    len < best_len)
                        continue;
                best_len = len;
                best = (MountEntry){ .found = true,
                                     .ro = has_option(f[5], "ro") || has_option(super, "ro") };
                strcpy(best.mountpoint, f[4]);
                snprintf(best.fstype, sizeof(best.fstype), "%s", fstype);
        }
        if (!best.found)
                return -ENOENT;
        *ret = best;
        return 0;
}

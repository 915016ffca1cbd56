/* SPDX-License-Identifier: MIT */
#pragma once

#include <limits.h>
#include <stdbool.h>

/* The mount that holds a path, from /proc/self/mountinfo (proc(5)). Pure, no I/O. */
typedef struct MountEntry {
        char mountpoint[PATH_MAX];
        char fstype[64];
        bool ro, found;
} MountEntry;

/*
 * Finds the mount holding the absolute path in text (modified in place): the longest
 * matching mount point, a later line winning a tie as an over-mount hides what is
 * beneath it. ro is set when the per-mount or the superblock options say "ro".
 * -ENOENT if no mount holds path, -EBADMSG if the table is malformed.
 */
int mountinfo_find(char *text, const char *path, MountEntry *ret);

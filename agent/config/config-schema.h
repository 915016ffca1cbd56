/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Internal to config*.c: the key schema as tables. Every key drover reads is one row:
 * its dotted path, how its value is typed and range-checked, and where it lands in the
 * plain structs of config.h. Adding a key is adding a row (and a line in drover.conf(5)).
 */

#include <libconfig.h>
#include <stddef.h>

#include "config/config.h"

typedef enum KeyKind {
        KEY_SECTION, /* a group merged key by key across files */
        KEY_STRING,
        KEY_BOOL,
        KEY_UINT,      /* unsigned, integer only */
        KEY_SIZE,      /* size_t, integer only */
        KEY_DURATION,  /* double seconds; an integer is accepted too */
        KEY_ENUM,      /* string from a table, stored as int */
        KEY_ENUM_BOOL, /* string from a table, stored as bool (value != 0) */
        KEY_BUDGET,    /* integer count or "N%" */
        KEY_STRV,      /* array of strings */
        KEY_COMMAND,   /* argv array, or one string (validated with `shell` later) */
} KeyKind;

/* Extra validation of a string (or of each string of a KEY_STRV). */
typedef enum KeyCheck {
        KC_NONE,
        KC_IMDS_URL,      /* http://host[:port] */
        KC_AWS_URL,       /* "" or https://, http:// on loopback only */
        KC_REGION,        /* "" or like us-east-1 */
        KC_USER,          /* "" or an existing user */
        KC_GROUP,         /* "" or an existing group */
        KC_ABS_PATH,      /* non-empty absolute path */
        KC_READABLE_FILE, /* "" or an absolute path to a readable file */
        KC_NAMESPACE,     /* CloudWatch namespace */
        KC_HOOK_NAME,     /* "" or an Auto Scaling lifecycle hook name */
        KC_UNIT,          /* "" or a systemd unit name */
        KC_ARGV,          /* argv[0] an absolute path */
        KC_STATSD_ADDR,   /* numeric IPv4:port or [IPv6]:port */
        KC_STATSD_PREFIX, /* "" or dotted [A-Za-z0-9_] parts */
        KC_LISTEN,        /* "ADDR:PORT" or "[V6]:PORT", numeric */
        KC_CIDR,          /* "NET/BITS" or one address */
} KeyCheck;

typedef struct EnumName {
        const char *name;
        int value;
} EnumName;

typedef struct KeyDef {
        const char *path; /* "policy.dry_run"; check keys relative to the check */
        KeyKind kind;
        size_t offset;         /* into Config, or into CheckConfig for check keys */
        double min, max;       /* KEY_UINT, KEY_SIZE, KEY_DURATION */
        const EnumName *names; /* KEY_ENUM*, or allowed values of a KEY_STRV; {NULL} ends */
        KeyCheck check;
} KeyDef;

extern const KeyDef config_global_keys[];
extern const size_t config_n_global_keys;
extern const KeyDef config_check_keys[];
extern const size_t config_n_check_keys;

/* Longest string value accepted, and most elements of an array. */
#define CONFIG_STRING_MAX 4096
#define CONFIG_ARRAY_MAX 256

const KeyDef *config_key_find(const KeyDef *table, size_t n, const char *path);
/* A known key in the same section within a small edit distance of path, or NULL. */
const char *config_key_suggest(const KeyDef *table, size_t n, const char *path);

/*
 * Parses setting s as def says and stores it at base + def->offset (freeing what was
 * there for strings). label names the key in messages ("policy.dry_run", "check 'web':
 * fall"). Returns 0, or -EINVAL with a malloc'd message in *ret_msg; -ENOMEM.
 */
int config_key_apply(const KeyDef *def, const config_setting_t *s, void *base, const char *label,
                     char **ret_msg);

/* A libconfig type as a person says it: "an integer", "a string", ... */
const char *config_type_name(int type);

/*
 * Validates (and may normalize in place, e.g. a URL's trailing '/') a string value.
 * NULL if fine, else what is wrong, to follow the key's name: a static string or buf.
 */
const char *config_check_string(KeyCheck kc, char *v, char *buf, size_t bufsz);

/* Shared with config.c (the check's argv is validated there, knowing `shell`). */
bool config_string_printable(const char *s, bool allow_newlines);

/*
 * libconfig 1.5 keeps an integer without an L suffix in 32 bits and says nothing when it
 * does not fit: 4294967296 becomes 0, 0x80000000 turns negative. Finds the next such
 * literal in config text (strings and comments skipped), also an L literal beyond 64
 * bits. Returns a pointer just past it with its start and length in ret_*, and *line
 * (1-based, kept by the caller across calls) advanced to its line; NULL if none is left.
 */
const char *config_find_wrapped_integer(const char *p, int *line, const char **ret_start,
                                        size_t *ret_len);

/*
 * Resolves user and group to ids as plugins and hooks will run: user "" is "do not
 * change" ((uid_t) -1 and (gid_t) -1); group "" is the user's primary group. 0, or
 * -ESRCH for a user and -ENXIO for a group that does not exist.
 */
int config_resolve_credentials(const char *user, const char *group, uid_t *ret_uid, gid_t *ret_gid);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The pure half of imds.h: the caps, paths and token timing of the IMDSv2 client, and
 * parsers for what drover reads from IMDS. In the core library (no loop, no network).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMDS_MAX_RESPONSE (64U * 1024U)
#define IMDS_MAX_PATH 512U

#define IMDS_PATH_IDENTITY "/latest/dynamic/instance-identity/document"
#define IMDS_PATH_LIFE_CYCLE "/latest/meta-data/instance-life-cycle"
#define IMDS_PATH_TAGS "/latest/meta-data/tags/instance"

/* Normalises a path as imds_get does; writes "/latest/..." into buf. -EINVAL if bad. */
int imds_normalize_path(const char *path, char *buf, size_t size);

/* Pure token timing: usec of the token's life after which a new one is fetched: 85% of
 * the TTL, but at the latest 60 s (or half the TTL, if shorter) before it expires. */
uint64_t imds_token_refresh_after_usec(unsigned ttl_sec);
/* Whether a token fetched at fetched_usec with ttl_sec is still good to use at now_usec. */
bool imds_token_fresh(uint64_t fetched_usec, unsigned ttl_sec, uint64_t now_usec);

/* ---- parsers (pure, size-capped, never trust the input) ---- */

#define IMDS_IDENTITY_MAX 16384U

typedef struct ImdsIdentity {
        char instance_id[20];       /* i-[0-9a-f]{8,17} */
        char region[33];            /* [a-z0-9-]{1,32} */
        char availability_zone[49]; /* region + [a-z0-9-]{1,16} */
        char instance_type[33];     /* family.size, [a-z0-9-.] */
        char image_id[22];          /* ami-[0-9a-f]{8,17} */
        char account_id[13];        /* 12 digits */
} ImdsIdentity;

/*
 * Parses the instance identity document. -EBADMSG for malformed JSON or a missing or
 * invalid field (*ret_field, if given, then names it: a static string), -EFBIG past
 * IMDS_IDENTITY_MAX. *ret written on success only.
 */
int imds_parse_identity(const char *json, size_t len, ImdsIdentity *ret, const char **ret_field);

typedef enum ImdsLifeCycle {
        IMDS_LIFE_CYCLE_ON_DEMAND,
        IMDS_LIFE_CYCLE_SPOT,
        IMDS_LIFE_CYCLE_SCHEDULED,
        _IMDS_LIFE_CYCLE_MAX,
} ImdsLifeCycle;

const char *imds_life_cycle_to_string(ImdsLifeCycle l);
/* meta-data/instance-life-cycle: "on-demand", "spot" or "scheduled". -EBADMSG otherwise. */
int imds_parse_life_cycle(const char *body, size_t len, ImdsLifeCycle *ret);

#define IMDS_MAX_TAGS 64U
/*
 * meta-data/tags/instance: one tag key per line. Keys are checked against the rules EC2
 * applies when tags are exposed in IMDS (letters, digits, + - = . , _ : @; not "." or
 * ".." or "_index"; 1..128 bytes). *ret is a malloc'd NULL-terminated vector.
 */
int imds_parse_tag_keys(const char *body, size_t len, char ***ret);
/* A tag value: at most 256 characters of UTF-8 text without control characters. */
bool imds_tag_value_valid(const char *body, size_t len);

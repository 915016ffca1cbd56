/* SPDX-License-Identifier: MIT */
/* Parsing IMDS's credentials documents and the refresh timing (pure; see credentials-parse.h). */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials-parse.h"
#include "base/secmem.h"
#include "base/util.h"
#include "imds/imds-parse.h"

void credentials_keys_done(CredentialsKeys *k) {
        char **fields[] = { &k->access_key_id, &k->secret_access_key, &k->session_token };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (*fields[i]) {
                        secure_wipe(*fields[i], strlen(*fields[i]));
                        free(*fields[i]);
                }
        *k = (CredentialsKeys){};
}

int credentials_parse_iso8601(const char *s, time_t *ret) {
        struct tm tm = {};
        const char *p;
        time_t t;

        if (!s)
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p || tm.tm_year < 70 || tm.tm_year > 8099)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        if (!streq(p, "Z") && !streq(p, "+00:00"))
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = t;
        return 0;
}

/* A required string field: printable ASCII, 1..max bytes. */
static int get_field(json_t *o, const char *key, size_t max, char **ret) {
        json_t *v = json_object_get(o, key);
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return -EBADMSG;
        s = json_string_value(v);
        n = json_string_length(v);
        if (n == 0 || n > max || strlen(s) != n)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~')
                        return -EBADMSG;
        *ret = strdup(s);
        if (!*ret)
                return -ENOMEM;
        secmem_dontdump(*ret, n); /* kept for hours: never in a core file */
        return 0;
}

int credentials_parse_imds(const char *json, size_t len, CredentialsKeys *ret,
                           const char **ret_field) {
        static const struct {
                const char *name;
                size_t max;
                size_t offset;
        } fields[] = {
                { "AccessKeyId", CREDENTIALS_MAX_KEY_ID, offsetof(CredentialsKeys, access_key_id) },
                { "SecretAccessKey", CREDENTIALS_MAX_SECRET,
                  offsetof(CredentialsKeys, secret_access_key) },
                { "Token", CREDENTIALS_MAX_TOKEN, offsetof(CredentialsKeys, session_token) },
        };
        json_auto_t *root = NULL;
        _cleanup_free_ char *expiration = NULL;
        CredentialsKeys k = {};
        json_t *code;
        int r;

        if (ret_field)
                *ret_field = NULL;
        if (len > IMDS_MAX_RESPONSE)
                return -EFBIG;
        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(root))
                return -EBADMSG;
        code = json_object_get(root, "Code");
        if (code && (!json_is_string(code) || !streq(json_string_value(code), "Success"))) {
                if (ret_field)
                        *ret_field = "Code";
                return -EBADMSG;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                r = get_field(root, fields[i].name, fields[i].max,
                              (char **) ((char *) &k + fields[i].offset));
                if (r < 0) {
                        credentials_keys_done(&k);
                        if (ret_field)
                                *ret_field = fields[i].name;
                        return r;
                }
        }
        r = get_field(root, "Expiration", 64, &expiration);
        if (r >= 0)
                r = credentials_parse_iso8601(expiration, &k.expiration) < 0 ? -EBADMSG : 0;
        if (r < 0) {
                credentials_keys_done(&k);
                if (ret_field)
                        *ret_field = "Expiration";
                return r;
        }
        *ret = k;
        return 0;
}

int credentials_parse_role(const char *body, size_t len, char **ret) {
        size_t n = 0;

        while (n < len && body[n] != '\n' && body[n] != '\r')
                n++;
        if (n == 0 || n > CREDENTIALS_MAX_ROLE)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) body[i]) && !strchr("+=,.@_-", body[i]))
                        return -EBADMSG;
        *ret = strndup(body, n);
        return *ret ? 0 : -ENOMEM;
}

time_t credentials_refresh_at(time_t now, time_t expiration, double unit) {
        time_t left = expiration - now;

        if (left <= 0)
                return now;
        if (left <= CREDENTIALS_REFRESH_AHEAD_SEC)
                return now + (left + 1) / 2;
        if (unit < 0 || unit >= 1)
                unit = 0;
        return expiration - CREDENTIALS_REFRESH_AHEAD_SEC +
               (time_t) (unit * CREDENTIALS_REFRESH_JITTER_SEC);
}

uint64_t credentials_retry_delay_sec(unsigned failures, time_t now, time_t expiration,
                                     double unit) {
        uint64_t d = backoff_full_jitter_usec(failures > 0 ? failures - 1 : 0,
                                              CREDENTIALS_RETRY_BASE_SEC * USEC_PER_SEC,
                                              CREDENTIALS_RETRY_CAP_SEC * USEC_PER_SEC, unit) /
                     USEC_PER_SEC;

        if (expiration > now)
                d = MIN(d, (uint64_t) (expiration - now) / 2);
        return MAX(d, 1U);
}

/* SPDX-License-Identifier: MIT */
/*
 * Parsers for what drover reads from IMDS. IMDS is trusted more than the network but
 * less than our own code: a broken or hostile answer must yield -EBADMSG, never a crash
 * or a value that could steer an API call somewhere else.
 */
#include <jansson.h>

#include "imds/imds-parse.h"
#include "base/util.h"

static bool all_chars(const char *s, size_t min, size_t max, const char *extra, bool upper) {
        size_t n = strlen(s);

        if (n < min || n > max)
                return false;
        for (const char *p = s; *p; p++) {
                bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                          (upper && *p >= 'A' && *p <= 'Z') || (extra && strchr(extra, *p));
                if (!ok)
                        return false;
        }
        return true;
}

static bool hex_id_valid(const char *s, const char *prefix) {
        size_t n = strlen(prefix);

        if (!strneq(s, prefix, n))
                return false;
        s += n;
        if (strlen(s) < 8 || strlen(s) > 17)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static bool region_valid(const char *s) {
        size_t n = strlen(s);

        return all_chars(s, 1, 32, "-", false) && s[0] != '-' && s[n - 1] != '-';
}

static bool zone_valid(const char *zone, const char *region) {
        size_t n = strlen(region);

        /* Zone names extend their region's: us-east-1a, us-west-2-lax-1a. */
        return strneq(zone, region, n) && zone[n] && all_chars(zone + n, 1, 16, "-", false);
}

static bool instance_type_valid(const char *s) {
        const char *dot = strchr(s, '.');

        return all_chars(s, 3, 32, "-.", false) && dot && dot != s && dot[1] &&
               !strchr(dot + 1, '.');
}

static bool account_valid(const char *s) {
        if (strlen(s) != 12)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static int get_string(json_t *o, const char *key, char *buf, size_t size) {
        json_t *v = json_object_get(o, key);
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return -EBADMSG;
        s = json_string_value(v);
        n = json_string_length(v);
        if (n >= size || strlen(s) != n) /* embedded NUL */
                return -EBADMSG;
        memcpy(buf, s, n + 1);
        return 0;
}

int imds_parse_identity(const char *text, size_t len, ImdsIdentity *ret, const char **ret_field) {
        static const struct {
                const char *key;
                size_t offset, size;
        } fields[] = {
#define F(k, m) { k, offsetof(ImdsIdentity, m), sizeof(((ImdsIdentity *) 0)->m) }
                F("instanceId", instance_id),
                F("region", region),
                F("availabilityZone", availability_zone),
                F("instanceType", instance_type),
                F("imageId", image_id),
                F("accountId", account_id),
#undef F
        };
        json_auto_t *root = NULL;
        ImdsIdentity id = {};
        const char *bad = NULL;

        if (len > IMDS_IDENTITY_MAX)
                return -EFBIG;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(root)) {
                if (ret_field)
                        *ret_field = "(document)";
                return -EBADMSG;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields) && !bad; i++)
                if (get_string(root, fields[i].key, (char *) &id + fields[i].offset,
                               fields[i].size) < 0)
                        bad = fields[i].key;
        if (!bad) {
                if (!hex_id_valid(id.instance_id, "i-"))
                        bad = "instanceId";
                else if (!region_valid(id.region))
                        bad = "region";
                else if (!zone_valid(id.availability_zone, id.region))
                        bad = "availabilityZone";
                else if (!instance_type_valid(id.instance_type))
                        bad = "instanceType";
                else if (!hex_id_valid(id.image_id, "ami-"))
                        bad = "imageId";
                else if (!account_valid(id.account_id))
                        bad = "accountId";
        }
        if (bad) {
                if (ret_field)
                        *ret_field = bad;
                return -EBADMSG;
        }
        *ret = id;
        return 0;
}

static const char *const life_cycles[_IMDS_LIFE_CYCLE_MAX] = {
        [IMDS_LIFE_CYCLE_ON_DEMAND] = "on-demand",
        [IMDS_LIFE_CYCLE_SPOT] = "spot",
        [IMDS_LIFE_CYCLE_SCHEDULED] = "scheduled",
};

const char *imds_life_cycle_to_string(ImdsLifeCycle l) {
        return l >= 0 && l < _IMDS_LIFE_CYCLE_MAX ? life_cycles[l] : NULL;
}

int imds_parse_life_cycle(const char *body, size_t len, ImdsLifeCycle *ret) {
        while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
                len--;
        for (size_t i = 0; i < _IMDS_LIFE_CYCLE_MAX; i++)
                if (strlen(life_cycles[i]) == len && memcmp(body, life_cycles[i], len) == 0) {
                        *ret = (ImdsLifeCycle) i;
                        return 0;
                }
        return -EBADMSG;
}

static bool tag_key_valid(const char *k) {
        return all_chars(k, 1, 128, "+-=.,_:@", true) && !streq(k, ".") && !streq(k, "..") &&
               !streq(k, "_index");
}

int imds_parse_tag_keys(const char *body, size_t len, char ***ret) {
        _cleanup_strv_free_ char **keys = calloc(IMDS_MAX_TAGS + 1, sizeof(char *));
        size_t n = 0;

        if (!keys)
                return -ENOMEM;
        if (len > IMDS_MAX_RESPONSE)
                return -EFBIG;
        for (size_t i = 0; i < len;) {
                const char *nl = memchr(body + i, '\n', len - i);
                size_t l = (nl ? (size_t) (nl - body) : len) - i;
                _cleanup_free_ char *k = strndup(body + i, l);

                i += l + 1;
                if (!k)
                        return -ENOMEM;
                if (strlen(k) != l)
                        return -EBADMSG; /* embedded NUL */
                if (l > 0 && k[l - 1] == '\r')
                        k[--l] = 0;
                if (l == 0 && i >= len)
                        break; /* trailing newline */
                if (!tag_key_valid(k))
                        return -EBADMSG;
                if (n >= IMDS_MAX_TAGS)
                        return -E2BIG;
                keys[n++] = TAKE_PTR(k);
        }
        *ret = TAKE_PTR(keys);
        return 0;
}

bool imds_tag_value_valid(const char *s, size_t len) {
        size_t chars = 0;

        for (size_t i = 0; i < len; chars++) {
                unsigned char b = (unsigned char) s[i];
                size_t n = b < 0x80             ? 1
                           : (b & 0xe0) == 0xc0 ? 2
                           : (b & 0xf0) == 0xe0 ? 3
                           : (b & 0xf8) == 0xf0 ? 4
                                                : 0;
                uint32_t cp;

                if (n == 0 || i + n > len)
                        return false;
                cp = n == 1 ? b : b & (0x7f >> n);
                for (size_t j = 1; j < n; j++) {
                        if (((unsigned char) s[i + j] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | ((unsigned char) s[i + j] & 0x3f);
                }
                /* No overlong forms, surrogates or control characters. */
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 || cp == 0x7f ||
                    (cp >= 0x80 && cp < 0xa0))
                        return false;
                i += n;
        }
        return chars <= 256;
}

uint64_t imds_token_refresh_after_usec(unsigned ttl_sec) {
        uint64_t ttl = (uint64_t) ttl_sec * USEC_PER_SEC;
        uint64_t margin = MIN(60 * USEC_PER_SEC, ttl / 2);

        return MIN(ttl / 100 * 85, ttl - margin);
}

bool imds_token_fresh(uint64_t fetched_usec, unsigned ttl_sec, uint64_t now_usec) {
        return now_usec >= fetched_usec &&
               now_usec - fetched_usec < imds_token_refresh_after_usec(ttl_sec);
}

int imds_normalize_path(const char *path, char *buf, size_t size) {
        const char *p = path;
        int n;

        if (!path)
                return -EINVAL;
        while (*p == '/')
                p++;
        if (strneq(p, "latest/", 7) || streq(p, "latest"))
                p += 6;
        else if (*p) {
                n = snprintf(buf, size, "/latest/%s", p);
                goto check;
        }
        n = snprintf(buf, size, "/latest%s%s", *p == '/' ? "" : "/", p);
check:
        if (n < 0 || (size_t) n >= size || (size_t) n >= IMDS_MAX_PATH)
                return -EINVAL;
        /* Keep the URL ours: no query, fragment, escapes, spaces or dot-segments. */
        for (const char *q = buf; *q; q++)
                if (*q <= ' ' || *q >= 0x7f || strchr("?#%\\", *q))
                        return -EINVAL;
        if (strstr(buf, "/../") || strstr(buf, "/./") || strstr(buf, "//") ||
            (n >= 3 && streq(buf + n - 3, "/..")) || (n >= 2 && streq(buf + n - 2, "/.")))
                return -EINVAL;
        return 0;
}

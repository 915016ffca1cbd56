/* SPDX-License-Identifier: MIT */
#include <expat.h>
#include <limits.h>

#include "aws/xml.h"

struct XmlNode {
        char *name;
        char *text;
        size_t text_len, text_cap;
        XmlNode *parent, *first, *last, *next;
};

typedef struct Parser {
        XML_Parser p;
        XmlLimits lim;
        XmlNode *root, *cur;
        unsigned depth;
        size_t nodes;
        int error;
} Parser;

static void fail(Parser *ps, int error) {
        if (ps->error == 0)
                ps->error = error;
        (void) XML_StopParser(ps->p, XML_FALSE);
}

static void node_free_one(XmlNode *n) {
        free(n->name);
        free(n->text);
        free(n);
}

XmlNode *xml_free(XmlNode *root) {
        XmlNode *n = root;

        /* Iterative post-order walk: hostile depth must not cost stack. */
        while (n) {
                if (n->first) {
                        n = n->first;
                        continue;
                }
                XmlNode *parent = n == root ? NULL : n->parent;
                if (parent)
                        parent->first = n->next;
                node_free_one(n);
                n = parent;
        }
        return NULL;
}

static void XMLCALL on_start(void *userdata, const XML_Char *name, const XML_Char **attrs) {
        Parser *ps = userdata;
        const char *colon = strrchr(name, ':');
        XmlNode *n;

        if (ps->error)
                return;
        if (++ps->depth > ps->lim.max_depth || ++ps->nodes > ps->lim.max_nodes) {
                fail(ps, -E2BIG);
                return;
        }
        n = calloc(1, sizeof(*n));
        if (!n || !(n->name = strdup(colon ? colon + 1 : name))) {
                free(n);
                fail(ps, -ENOMEM);
                return;
        }
        n->parent = ps->cur;
        if (!ps->cur)
                ps->root = n;
        else if (ps->cur->last)
                ps->cur->last = ps->cur->last->next = n;
        else
                ps->cur->first = ps->cur->last = n;
        ps->cur = n;
}

static void XMLCALL on_end(void *userdata, const XML_Char *name) {
        Parser *ps = userdata;

        if (ps->error || !ps->cur)
                return;
        ps->depth--;
        ps->cur = ps->cur->parent;
}

static void XMLCALL on_text(void *userdata, const XML_Char *s, int len) {
        Parser *ps = userdata;
        XmlNode *n = ps->cur;

        if (ps->error || !n || len <= 0)
                return;
        if (n->text_len + (size_t) len + 1 > n->text_cap) {
                size_t cap = MAX(n->text_cap * 2, n->text_len + (size_t) len + 16);
                char *t = realloc(n->text, cap);
                if (!t) {
                        fail(ps, -ENOMEM);
                        return;
                }
                n->text = t;
                n->text_cap = cap;
        }
        memcpy(n->text + n->text_len, s, (size_t) len);
        n->text_len += (size_t) len;
        n->text[n->text_len] = 0;
}

/* No DTDs at all: AWS never sends one, and a DTD is how entity bombs get in. */
static void XMLCALL on_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
        fail(userdata, -EBADMSG);
}

static void XMLCALL on_entity(void *userdata, const XML_Char *name, int parameter,
                              const XML_Char *value, int value_length, const XML_Char *base,
                              const XML_Char *sysid, const XML_Char *pubid,
                              const XML_Char *notation) {
        fail(userdata, -EBADMSG);
}

int xml_parse(const char *buf, size_t len, const XmlLimits *limits, XmlNode **ret) {
        Parser ps = {
                .lim = limits ? *limits
                              : (XmlLimits){ XML_MAX_BYTES, XML_MAX_DEPTH, XML_MAX_NODES },
        };
        enum XML_Status st;

        if (!buf && len > 0)
                return -EINVAL;
        if (len > ps.lim.max_bytes || len > INT_MAX)
                return -E2BIG;
        if (len == 0)
                return -EBADMSG;
        ps.p = XML_ParserCreate("UTF-8");
        if (!ps.p)
                return -ENOMEM;
        XML_SetUserData(ps.p, &ps);
        XML_SetElementHandler(ps.p, on_start, on_end);
        XML_SetCharacterDataHandler(ps.p, on_text);
        XML_SetStartDoctypeDeclHandler(ps.p, on_doctype);
        XML_SetEntityDeclHandler(ps.p, on_entity);
        (void) XML_SetParamEntityParsing(ps.p, XML_PARAM_ENTITY_PARSING_NEVER);
        st = XML_Parse(ps.p, buf, (int) len, XML_TRUE);
        if (st != XML_STATUS_OK && ps.error == 0)
                ps.error = XML_GetErrorCode(ps.p) == XML_ERROR_NO_MEMORY ? -ENOMEM : -EBADMSG;
        XML_ParserFree(ps.p);
        if (ps.error == 0 && (!ps.root || ps.cur))
                ps.error = -EBADMSG;
        if (ps.error < 0) {
                xml_free(ps.root);
                return ps.error;
        }
        *ret = ps.root;
        return 0;
}

const char *xml_name(const XmlNode *n) {
        return n ? n->name : NULL;
}

const char *xml_text(const XmlNode *n) {
        return n && n->text ? n->text : "";
}

XmlNode *xml_first(const XmlNode *n) {
        return n ? n->first : NULL;
}

XmlNode *xml_next(const XmlNode *n) {
        return n ? n->next : NULL;
}

XmlNode *xml_child(const XmlNode *n, const char *name) {
        for (XmlNode *c = n ? n->first : NULL; c; c = c->next)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

XmlNode *xml_next_named(const XmlNode *n) {
        for (XmlNode *c = n ? n->next : NULL; c; c = c->next)
                if (streq(c->name, n->name))
                        return c;
        return NULL;
}

size_t xml_count(const XmlNode *n, const char *name) {
        size_t k = 0;

        for (XmlNode *c = xml_child(n, name); c; c = xml_next_named(c))
                k++;
        return k;
}

XmlNode *xml_find(const XmlNode *n, const char *path) {
        const char *p = path;
        XmlNode *cur = (XmlNode *) n;

        while (cur && p && *p) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen(p);
                XmlNode *c;

                for (c = cur->first; c; c = c->next)
                        if (strlen(c->name) == len && strneq(c->name, p, len))
                                break;
                cur = c;
                p = slash ? slash + 1 : NULL;
        }
        return cur;
}

const char *xml_find_text(const XmlNode *n, const char *path) {
        XmlNode *f = xml_find(n, path);

        return f ? xml_text(f) : NULL;
}

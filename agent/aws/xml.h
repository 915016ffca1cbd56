/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A small, capped XML tree for AWS answers, parsed with expat. Never trusted: a DOCTYPE
 * (and with it any entity declaration, the "billion laughs") is refused, and the input
 * size, nesting depth and node count are capped. Element names are kept without their
 * namespace prefix ("ec2:Code" -> "Code"); attributes are dropped (AWS answers carry
 * their data in elements).
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

typedef struct XmlNode XmlNode;

typedef struct XmlLimits {
        size_t max_bytes; /* input */
        unsigned max_depth;
        size_t max_nodes;
} XmlLimits;

/* Big enough for a large DescribeAutoScalingGroups page. */
#define XML_MAX_BYTES (8U * 1024U * 1024U)
#define XML_MAX_DEPTH 64U
#define XML_MAX_NODES 262144U

/*
 * Parses a whole document into a tree; *ret is its root element and owns the tree.
 * -EBADMSG for malformed XML, a DOCTYPE or entity declaration, or empty input; -E2BIG past
 * a limit; -ENOMEM. limits NULL means the defaults above.
 */
int xml_parse(const char *buf, size_t len, const XmlLimits *limits, XmlNode **ret);
/* Frees a tree given its root (only the root may be freed). Accepts NULL. */
XmlNode *xml_free(XmlNode *root);
DEFINE_TRIVIAL_CLEANUP_FUNC(XmlNode *, xml_free)

/* Local name of the element. */
const char *xml_name(const XmlNode *n);
/* The element's own character data, UTF-8, entities decoded; "" if none, never NULL. */
const char *xml_text(const XmlNode *n);

/* First child element, next sibling element; NULL at the end. */
XmlNode *xml_first(const XmlNode *n);
XmlNode *xml_next(const XmlNode *n);
/* First child named |name|; the next sibling with the same name as n. */
XmlNode *xml_child(const XmlNode *n, const char *name);
XmlNode *xml_next_named(const XmlNode *n);
/* Number of children named |name| (a <member> or <item> list's length). */
size_t xml_count(const XmlNode *n, const char *name);

/*
 * Follows "A/B/C" from n through first children of those names; NULL if a step is
 * missing. xml_find_text() returns that node's text, or NULL if there is no such node.
 */
XmlNode *xml_find(const XmlNode *n, const char *path);
const char *xml_find_text(const XmlNode *n, const char *path);

/* Iterates over the children named |name| of |list| (e.g. "member" or "item"). */
#define XML_FOREACH(child, list, name)                                                             \
        for (XmlNode *child = (list) ? xml_child((list), (name)) : NULL; child;                    \
             child = xml_next_named(child))

/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "aws/query.h"
#include "aws/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks the whole tree the way callers do: names, texts, paths, member/item lists. */
static size_t walk(const XmlNode *n) {
        size_t k = 0;

        for (XmlNode *c = xml_first(n); c; c = xml_next(c)) {
                k += strlen(xml_name(c)) + strlen(xml_text(c)) + xml_count(n, xml_name(c));
                k += walk(c);
        }
        return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data;
        XmlLimits small = { 4096, 16, 256 };
        XmlNode *root = NULL;
        QueryError e = {};

        if (xml_parse(buf, size, NULL, &root) >= 0) {
                (void) walk(root);
                (void) xml_find_text(root,
                                     "DescribeAutoScalingGroupsResult/AutoScalingGroups/member");
                (void) query_response_request_id(root);
                XML_FOREACH(m, xml_find(root, "Errors"), "Error")
                (void) xml_find_text(m, "Code");
                root = xml_free(root);
        }
        if (xml_parse(buf, size, &small, &root) >= 0)
                root = xml_free(root);
        if (query_parse_error(buf, size, &e) >= 0)
                query_error_done(&e);
        if (query_parse_response(buf, size, "DescribeAutoScalingGroups", &root) >= 0)
                root = xml_free(root);
        return 0;
}

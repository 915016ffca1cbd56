/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/xml.h"

static const char asg[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<DescribeAutoScalingGroupsResponse "
        "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\n"
        "  <DescribeAutoScalingGroupsResult>\n"
        "    <AutoScalingGroups>\n"
        "      <member><AutoScalingGroupName>web &amp; api</AutoScalingGroupName>\n"
        "        <Instances><member><InstanceId>i-1</InstanceId></member>"
        "<member><InstanceId>i-2</InstanceId></member><member><InstanceId>i-3</InstanceId>"
        "</member></Instances>\n"
        "        <Tags><member><Key>drover:paused</Key><Value><![CDATA[<true>]]></Value></member>"
        "</Tags>\n"
        "      </member>\n"
        "      <member><AutoScalingGroupName>caf\xc3\xa9</AutoScalingGroupName></member>\n"
        "    </AutoScalingGroups>\n"
        "    <NextToken>abc&#x3D;&#61;</NextToken>\n"
        "  </DescribeAutoScalingGroupsResult>\n"
        "  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>\n"
        "</DescribeAutoScalingGroupsResponse>\n";

static void test_tree(void **state) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        XmlNode *groups, *first;
        size_t n = 0;
        const char *want[] = { "i-1", "i-2", "i-3" };

        assert_int_equal(xml_parse(asg, strlen(asg), NULL, &root), 0);
        assert_string_equal(xml_name(root), "DescribeAutoScalingGroupsResponse");
        groups = xml_find(root, "DescribeAutoScalingGroupsResult/AutoScalingGroups");
        assert_non_null(groups);
        assert_int_equal(xml_count(groups, "member"), 2);
        first = xml_child(groups, "member");
        assert_string_equal(xml_find_text(first, "AutoScalingGroupName"), "web & api");
        assert_string_equal(xml_find_text(xml_next_named(first), "AutoScalingGroupName"),
                            "caf\xc3\xa9");
        XML_FOREACH(m, xml_child(first, "Instances"), "member") {
                assert_true(n < 3);
                assert_string_equal(xml_find_text(m, "InstanceId"), want[n++]);
        }
        assert_int_equal(n, 3);
        assert_string_equal(xml_find_text(first, "Tags/member/Value"), "<true>");
        assert_string_equal(xml_find_text(root, "DescribeAutoScalingGroupsResult/NextToken"),
                            "abc==");
        assert_string_equal(xml_find_text(root, "ResponseMetadata/RequestId"), "req-1");
        assert_null(xml_find(root, "Nope/RequestId"));
        assert_null(xml_find_text(root, "ResponseMetadata/Nope"));
        assert_string_equal(xml_text(xml_find(root, "ResponseMetadata")), "");
        assert_string_equal(xml_text(NULL), "");
        assert_int_equal(xml_count(NULL, "member"), 0);
        XML_FOREACH(m, NULL, "member")
        fail();
}

static void test_namespaces_and_first_next(void **state) {
        static const char doc[] = "<a:Root xmlns:a=\"urn:x\"><a:One>1</a:One><Two>2</Two></a:Root>";
        _cleanup_(xml_freep) XmlNode *root = NULL;

        assert_int_equal(xml_parse(doc, strlen(doc), NULL, &root), 0);
        assert_string_equal(xml_name(root), "Root");
        assert_string_equal(xml_name(xml_first(root)), "One");
        assert_string_equal(xml_text(xml_next(xml_first(root))), "2");
        assert_null(xml_next(xml_next(xml_first(root))));
}

static char *repeat(const char *open, const char *close, size_t n) {
        size_t lo = strlen(open), lc = strlen(close);
        char *s = malloc(n * (lo + lc) + 1), *p = s;

        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, open);
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, close);
        *p = 0;
        return s;
}

static void test_hostile(void **state) {
        static const char *const bad[] = {
                "",
                "   ",
                "<a>",
                "<a></b>",
                "<a>&undefined;</a>",
                "<a>&#0;</a>",
                "<a/><b/>",
                "not xml",
                "<a>\xff\xfe</a>",
                /* DOCTYPE in any form, and the billion laughs */
                "<!DOCTYPE a><a/>",
                "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
                "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
                "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 "
                "\"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
                "<lolz>&lol3;</lolz>",
                "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>",
                "<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://127.0.0.1/x\"> %p;]><a/>",
        };
        XmlNode *root = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(xml_parse(bad[i], strlen(bad[i]), NULL, &root), -EBADMSG);
                assert_null(root);
        }
        assert_int_equal(xml_parse(NULL, 0, NULL, &root), -EBADMSG);
        assert_int_equal(xml_parse(NULL, 1, NULL, &root), -EINVAL);
}

static void test_limits(void **state) {
        _cleanup_free_ char *deep_ok = repeat("<a>", "</a>", XML_MAX_DEPTH);
        _cleanup_free_ char *deep = repeat("<a>", "</a>", XML_MAX_DEPTH + 1);
        _cleanup_free_ char *very_deep = repeat("<a>", "</a>", 200000);
        static const char wide[] = "<r><m/><m/><m/><m/><m/></r>"; /* 6 nodes */
        XmlLimits six = { 1024, 8, 6 }, five = { 1024, 8, 5 }, small = { 10, 8, 100 };
        XmlNode *root = NULL;

        assert_int_equal(xml_parse(deep_ok, strlen(deep_ok), NULL, &root), 0);
        root = xml_free(root);
        assert_int_equal(xml_parse(deep, strlen(deep), NULL, &root), -E2BIG);
        assert_int_equal(xml_parse(very_deep, strlen(very_deep), NULL, &root), -E2BIG);
        assert_int_equal(xml_parse(wide, strlen(wide), &six, &root), 0);
        assert_int_equal(xml_count(root, "m"), 5);
        root = xml_free(root);
        assert_int_equal(xml_parse(wide, strlen(wide), &five, &root), -E2BIG);
        assert_null(root);
        assert_int_equal(xml_parse(wide, strlen(wide), &small, &root), -E2BIG);
        assert_int_equal(xml_parse(wide, XML_MAX_BYTES + 1, NULL, &root), -E2BIG);
}

static void test_big_document(void **state) {
        /* A page of 100 groups with 400 instances each: about 6 MB, within the caps. */
        char *doc = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&doc, &size);
        _cleanup_(xml_freep) XmlNode *root = NULL;
        size_t instances = 0;

        assert_non_null(f);
        fputs("<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult>"
              "<AutoScalingGroups>",
              f);
        for (int g = 0; g < 100; g++) {
                fprintf(f, "<member><AutoScalingGroupName>g%d</AutoScalingGroupName><Instances>",
                        g);
                for (int i = 0; i < 400; i++)
                        fprintf(f,
                                "<member><InstanceId>i-%08d%08d</InstanceId>"
                                "<HealthStatus>Healthy</HealthStatus>"
                                "<LifecycleState>InService</LifecycleState></member>",
                                g, i);
                fputs("</Instances></member>", f);
        }
        fputs("</AutoScalingGroups></DescribeAutoScalingGroupsResult>"
              "</DescribeAutoScalingGroupsResponse>",
              f);
        fclose(f);
        assert_true(size > 5 * 1024 * 1024 && size < XML_MAX_BYTES);
        assert_int_equal(xml_parse(doc, size, NULL, &root), 0);
        XML_FOREACH(g, xml_find(root, "DescribeAutoScalingGroupsResult/AutoScalingGroups"),
                    "member")
        instances += xml_count(xml_child(g, "Instances"), "member");
        assert_int_equal(instances, 40000);
        free(doc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tree),
                cmocka_unit_test(test_namespaces_and_first_next),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_big_document),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

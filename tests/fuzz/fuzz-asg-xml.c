/* SPDX-License-Identifier: MIT */
/* The Auto Scaling answer parsers over arbitrary bytes: the first byte picks the action. */
#include <stddef.h>
#include <stdint.h>

#include "aws/autoscaling.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const actions[] = {
        "DescribeAutoScalingInstances",
        "DescribeAutoScalingGroups",
        "DescribeScalingActivities",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        XmlNode *root = NULL;
        const char *action;

        if (size < 1)
                return 0;
        action = actions[data[0] % ELEMENTSOF(actions)];
        if (query_parse_response((const char *) data + 1, size - 1, action, &root) < 0)
                return 0;

        AsgInstance *inst = NULL;
        size_t n = 0;
        if (asg_parse_instances(root, &inst, &n) >= 0) {
                for (size_t i = 0; i < n; i++)
                        if (!inst[i].instance_id[0] || !inst[i].health_status[0])
                                __builtin_trap(); /* required fields are never empty */
                asg_instance_free_many(inst, n);
        }

        AsgGroup *g = NULL;
        char *token = NULL;
        int r = asg_parse_group(root, "drover-asg", &g, &token);
        if (r >= 0) {
                for (size_t i = 0; i < g->n_tags; i++)
                        (void) strlen(g->tags[i].value);
                (void) strv_length(g->suspended_processes);
                asg_group_free(g);
        }
        free(token);

        AsgActivity *acts = NULL;
        token = NULL;
        if (asg_parse_activities(root, &acts, &n, &token) >= 0) {
                (void) asg_count_health_replacements(acts, n, 0);
                asg_activity_free_many(acts, n);
        }
        free(token);
        xml_free(root);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* check_fs's mount table parser, and the Nagios range parser, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/mountinfo.h"
#include "../../plugins/plugin-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const paths[] = { "/", "/data", "/srv/www", "/mnt/with space" };
        char *text = malloc(size + 1);
        PluginRange r;
        MountEntry m;

        if (!text)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                memcpy(text, data, size);
                text[size] = '\0';
                if (mountinfo_find(text, paths[i], &m) == 0 &&
                    (m.mountpoint[0] != '/' || strlen(m.mountpoint) >= sizeof(m.mountpoint)))
                        abort();
        }
        if (size < 80) {
                memcpy(text, data, size);
                text[size] = '\0';
                if (plugin_range_parse(text, &r) == 0)
                        (void) plugin_range_alert(&r, 1.5);
        }
        free(text);
        return 0;
}

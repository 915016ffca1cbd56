/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks scanner strings on some syntax errors
 * (fixed in 1.7); that is not ours to find. */
const char *__lsan_default_suppressions(void) {
        return "leak:strbuf_append\nleak:libconfig_yylex\nleak:libconfig_yyparse\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errors = {};
        char *text;

        if (size > 65536)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        /* Both flags: the executable and ownership checks must cope with any path too. */
        (void) config_load_string(text, "fuzz.conf",
                                  CONFIG_LOAD_CHECK_EXECUTABLES | CONFIG_LOAD_REQUIRE_TRUSTED, &c,
                                  &errors);
        for (size_t i = 0; i < errors.n; i++)
                free(config_error_format(&errors.items[i]));
        if (c)
                for (size_t i = 0; i < c->n_checks; i++)
                        (void) check_config_keeps_state(&c->checks[i], &c->checks[0]);
        config_errors_clear(&errors);
        free(text);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* The #! line parser drover uses to find a script's interpreter, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/exec-verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char interp[EXEC_VERIFY_SHEBANG_MAX], arg[EXEC_VERIFY_SHEBANG_MAX];
        bool has_arg = false;
        int r = exec_verify_shebang((const char *) data, size, interp, arg, &has_arg);

        if (r == 1) {
                /* An absolute interpreter without blanks, and an argument without a NUL. */
                if (interp[0] != '/' || strlen(interp) >= sizeof(interp) || strpbrk(interp, " \t"))
                        abort();
                if (has_arg && (strlen(arg) == 0 || strlen(arg) >= sizeof(arg)))
                        abort();
        } else if (r != 0 && r != -ENOEXEC)
                abort();
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "checks/plugin-exit.h"

int plugin_exit_status(const PluginExit *x, const char *path, double timeout,
                       NagiosStatus timeout_state, NagiosStatus *ret_status, char **ret_message) {
        char *m = NULL;
        const char *abbrev;
        int r;

        if (x->exec_errno > 0)
                r = asprintf(&m, "cannot exec %s: %s", path, strerror(x->exec_errno));
        else if (x->timed_out)
                r = asprintf(&m, "plugin timed out after %g s", timeout);
        else if (x->exited && x->code >= 0 && x->code <= 3) {
                *ret_status = (NagiosStatus) x->code;
                *ret_message = NULL;
                return 0;
        } else if (x->exited)
                r = asprintf(&m, "plugin exited with status %d", x->code);
        else if ((abbrev = sigabbrev_np(x->code)))
                r = asprintf(&m, "plugin killed by signal SIG%s", abbrev);
        else
                r = asprintf(&m, "plugin killed by signal %d", x->code);
        if (r < 0)
                return -ENOMEM;
        *ret_status = x->timed_out && x->exec_errno <= 0 ? timeout_state : NAGIOS_UNKNOWN;
        *ret_message = m;
        return 1;
}

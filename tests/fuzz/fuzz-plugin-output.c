/* SPDX-License-Identifier: MIT */
/* libFuzzer target: whatever a plugin prints goes through the Nagios output parser. */
#include <stddef.h>
#include <stdint.h>

#include "checks/nagios-output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(nagios_output_freep) NagiosOutput *o = NULL;
        size_t total = 0;

        if (nagios_output_parse((const char *) data, size, &o) < 0)
                return 0;
        /* Touch everything so the sanitizers see every byte the parser produced. */
        total += strlen(o->message) + strlen(o->long_output);
        for (size_t i = 0; i < o->n_perfdata; i++) {
                const NagiosPerfdata *p = &o->perfdata[i];

                total += strlen(p->label) + strlen(p->uom);
                total += p->warn ? strlen(p->warn) : 0;
                total += p->crit ? strlen(p->crit) : 0;
                if (p->label[0] == '\0' || strlen(p->label) > NAGIOS_LABEL_MAX)
                        __builtin_trap();
                (void) nagios_uom_known(p->uom);
        }
        if (o->n_perfdata > NAGIOS_PERFDATA_MAX)
                __builtin_trap();
        return total == SIZE_MAX;
}

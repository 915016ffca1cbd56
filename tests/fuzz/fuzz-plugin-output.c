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
                for (const char *c = p->label; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                __builtin_trap();
                (void) nagios_uom_known(p->uom);
        }
        /* Safe to log: not one control byte in the message, only '\n' in long output. */
        for (const char *c = o->message; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        __builtin_trap();
        for (const char *c = o->long_output; *c; c++)
                if (((unsigned char) *c < 0x20 && *c != '\n') || *c == 0x7f)
                        __builtin_trap();
        if (o->n_perfdata > NAGIOS_PERFDATA_MAX)
                __builtin_trap();
        return total == SIZE_MAX;
}

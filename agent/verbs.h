/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The subcommands. Each takes the argv that starts at the verb's own name (so getopt
 * sees the verb as argv[0]) and returns the process exit status.
 */
int verb_version(int argc, char *argv[]);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The subcommands. Each takes the argv that starts at the verb's own name (so getopt
 * sees the verb as argv[0]) and returns the process exit status.
 */
int verb_version(int argc, char *argv[]);
int verb_metadata(int argc, char *argv[]);
int verb_check(int argc, char *argv[]);
int verb_config_test(int argc, char *argv[]);
int verb_aws_test(int argc, char *argv[]);
int verb_run(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);

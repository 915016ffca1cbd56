/* SPDX-License-Identifier: MIT */
#pragma once

/* `drover run`: the daemon. Owns the event loop and every long-lived object. */

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int daemon_run(const char *config_path);

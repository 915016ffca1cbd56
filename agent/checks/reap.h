/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Reaping children that may never exit, without ever waiting for one. A plugin in D
 * state on a hung mount does not die of SIGKILL; drover must neither block on it nor
 * forget it. Such a process is polled with waitid(WNOHANG), not watched by its pidfd: a
 * zombie its real parent may not reap yet (another process traces it) keeps its pidfd
 * readable, which would spin the loop. Polls back off from 10 ms to 1 s.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define REAP_POLL_FIRST_USEC (10 * 1000ULL)
#define REAP_POLL_MAX_USEC (1000 * 1000ULL)

/* Non-blocking: true when the process behind pidfd has been reaped (now or before). */
bool reap_pidfd(int pidfd);

/* Pure: the next poll interval after d. */
uint64_t reap_backoff(uint64_t d);

/*
 * Hands the process to the loop: it is polled until reaped, then pidfd is closed (also
 * when the loop goes first). Takes pidfd on success only.
 */
int reap_in_background(sd_event *e, int pidfd);

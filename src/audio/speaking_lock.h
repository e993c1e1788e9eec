/* SPDX-License-Identifier: MIT */
/*
 * speaking_lock.h: one voice at a time per user. Playback takes an flock on
 * $XDG_RUNTIME_DIR/clawspeak/speaking.lock (or a private directory under
 * /tmp) before the device opens, so two agents never talk over each other;
 * the second one waits its turn while its requests are already in flight.
 */
#ifndef CSP_SPEAKING_LOCK_H
#define CSP_SPEAKING_LOCK_H
#include "clawspeak.h"

struct csp_report;
/*
 * Wait for the lock (a cancel stops the wait). *fd receives the held lock,
 * or -1 when no lock could be made (no private directory): then playback
 * goes ahead unlocked, as before.
 */
csp_code csp__speaking_lock(struct csp_report *report, int *fd);
/* Release it (closing the descriptor drops the flock). Accepts -1. */
void csp__speaking_unlock(int fd);
#endif

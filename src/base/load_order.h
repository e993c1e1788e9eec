/* SPDX-License-Identifier: MIT */
/*
 * load_order.h: which warm-up loads its libraries first. The dynamic loader maps one
 * library at a time, and while it maps, no thread can start (glibc gives a new thread
 * its TLS under the same lock). Two warm-ups loading at once (libcurl for the request,
 * libpulse for the device) would hold the run's own thread at its next pthread_create
 * for both. The one whose library the run needs first says so; the others wait for it,
 * boundedly, and the run's threads start in between.
 */
#ifndef CSP_LOAD_ORDER_H
#define CSP_LOAD_ORDER_H

/* A load that goes first is about to start (call before creating its thread). */
void csp__load_first_begin(void);
/* It is done (or failed). */
void csp__load_first_end(void);
/* Before a load that can wait: wait at most max_ms for a first load under way to end. */
void csp__load_wait_first(int max_ms);
#endif

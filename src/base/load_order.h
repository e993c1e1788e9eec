/* SPDX-License-Identifier: MIT */
/*
 * load_order.h: which warm-up maps its library first. glibc maps one library at a time
 * (dlopen holds the loader's lock for the whole load), so two warm-up threads that dlopen
 * at once only take turns, and the request, which needs libcurl, waited for libpulse too.
 * The request is the run's first need: the device is needed only once audio comes back.
 * The network warm-up marks its load as first; the audio warm-up waits for it.
 */
#ifndef CSP_LOAD_ORDER_H
#define CSP_LOAD_ORDER_H

/* A load that others wait for has begun; ended by csp__load_first_end. */
void csp__load_first_begin(void);
void csp__load_first_end(void);
/* Returns once no first load is under way. */
void csp__load_wait_first(void);
#endif

/* SPDX-License-Identifier: MIT */
/*
 * load_order.h: which warm-up goes first. glibc maps one library at a time, and while a
 * dlopen runs, pthread_create waits too (the new thread's TLS takes the loader's lock). So
 * libpulse's load (twenty libraries) on the audio warm-up held up libcurl's, curl_global_init
 * (OpenSSL's start calls dlopen) and the threads that make the request. The request is the
 * run's first need: the device is needed only once audio comes back. The network warm-up
 * marks a first phase that ends once the first transfer is under way (or the run turns out
 * to need no request: the local engine, a failure); the audio warm-up waits for its end, for
 * a bounded time.
 */
#ifndef CSP_LOAD_ORDER_H
#define CSP_LOAD_ORDER_H

/* The first phase begins; csp__load_first_end ends it (any number of calls, from anyone). */
void csp__load_first_begin(void);
void csp__load_first_end(void);
/* Returns once no first phase is under way, or after at most ms. */
void csp__load_wait_first(int ms);
#endif

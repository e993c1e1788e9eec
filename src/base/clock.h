/* SPDX-License-Identifier: MIT */
/*
 * clock.h: the two clocks the library needs: a monotonic millisecond count
 * for timeouts and pauses, and a bounded wait on a condition variable
 * (pthread_cond_timedwait takes a wall-clock deadline).
 */
#ifndef CSP_CLOCK_H
#define CSP_CLOCK_H
#include <pthread.h>
#include <time.h>

static inline long long csp__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on cond (mutex held) until signalled or ms pass. */
static inline void csp__cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(cond, mutex, &until);
}
#endif

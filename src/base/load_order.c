/* SPDX-License-Identifier: MIT */
/* load_order.c: a load that goes first, and the loads that wait for it. */
#include "load_order.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static int under_way;

void csp__load_first_begin(void)
{
    pthread_mutex_lock(&lock);
    under_way = 1;
    pthread_mutex_unlock(&lock);
}

void csp__load_first_end(void)
{
    pthread_mutex_lock(&lock);
    under_way = 0;
    pthread_cond_broadcast(&ended);
    pthread_mutex_unlock(&lock);
}

void csp__load_wait_first(int max_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += max_ms / 1000;
    until.tv_nsec += (long)(max_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    while (under_way && pthread_cond_timedwait(&ended, &lock, &until) == 0)
        ;
    pthread_mutex_unlock(&lock);
}

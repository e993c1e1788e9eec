/* SPDX-License-Identifier: MIT */
/* load_order.c: a load that goes first, and the loads that wait for it. */
#include "load_order.h"

#include "clock.h"

#include <pthread.h>

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
    long long until = csp__now_ms() + max_ms;
    pthread_mutex_lock(&lock);
    for (long long left; under_way && (left = until - csp__now_ms()) > 0;)
        csp__cond_wait_ms(&ended, &lock, (long)left);
    pthread_mutex_unlock(&lock);
}

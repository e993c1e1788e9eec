/* SPDX-License-Identifier: MIT */
/* load_order.c: the first load, and those who wait for it. */
#include "load_order.h"

#include "clock.h"

#include <pthread.h>
#include <stdatomic.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static atomic_int under_way; /* written under the lock; read without it by csp__load_first_end */

void csp__load_first_begin(void)
{
    pthread_mutex_lock(&lock);
    atomic_store(&under_way, 1);
    pthread_mutex_unlock(&lock);
}

void csp__load_first_end(void)
{
    if (!atomic_load(&under_way))
        return; /* the usual case: called from every poll of the network */
    pthread_mutex_lock(&lock);
    atomic_store(&under_way, 0);
    pthread_cond_broadcast(&ended);
    pthread_mutex_unlock(&lock);
}

void csp__load_wait_first(int ms)
{
    long long until = csp__now_ms() + ms;
    pthread_mutex_lock(&lock);
    for (long long left = ms; atomic_load(&under_way) && left > 0; left = until - csp__now_ms())
        csp__cond_wait_ms(&ended, &lock, (long)left);
    pthread_mutex_unlock(&lock);
}

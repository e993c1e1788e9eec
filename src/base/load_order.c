/* SPDX-License-Identifier: MIT */
/* load_order.c: the first load, and those who wait for it. */
#include "load_order.h"

#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static int under_way;

void csp__load_first_begin(void)
{
    pthread_mutex_lock(&lock);
    under_way++;
    pthread_mutex_unlock(&lock);
}

void csp__load_first_end(void)
{
    pthread_mutex_lock(&lock);
    under_way--;
    pthread_cond_broadcast(&ended);
    pthread_mutex_unlock(&lock);
}

void csp__load_wait_first(void)
{
    pthread_mutex_lock(&lock);
    while (under_way > 0)
        pthread_cond_wait(&ended, &lock);
    pthread_mutex_unlock(&lock);
}

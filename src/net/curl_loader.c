/* SPDX-License-Identifier: MIT */
/* curl_loader.c: libcurl's functions looked up once, when the first request needs them. */
#include "curl_loader.h"

#include "clawspeak.h"
#include "dynlib.h"
#include "load_order.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

csp_curl_api csp__curl;

static pthread_once_t started_once = PTHREAD_ONCE_INIT;
static char load_error[300];
static csp_curl_api found; /* the table, before curl_global_init */

static const csp_dynlib_symbol symbols[] = {
#define SYM(field) CSP_DYNLIB_SYMBOL(csp_curl_api, field, "curl_" #field)
    SYM(global_init), SYM(easy_init), SYM(easy_setopt), SYM(easy_getinfo), SYM(easy_strerror),
    SYM(easy_cleanup), SYM(multi_init), SYM(multi_add_handle), SYM(multi_remove_handle),
    SYM(multi_perform), SYM(multi_poll), SYM(multi_wakeup), SYM(multi_info_read),
    SYM(multi_cleanup), SYM(share_init), SYM(share_setopt), SYM(share_cleanup),
    SYM(slist_append), SYM(slist_free_all),
#undef SYM
};
/* the ABI libcurl has kept since 7.16: the soname Debian's libcurl4 ships (7.68 or later:
   curl_multi_poll, curl_multi_wakeup). Mapped by the warm-up thread or the first request. */
static csp_dynlib lib = CSP_DYNLIB("libcurl.so.4", "libcurl4", symbols, found);

/* curl_global_init, on the thread of the first request: OpenSSL gives the thread that
   starts it an error queue, which a warm-up thread gone before OpenSSL's exit handler
   would leak. */
static void start_library(void)
{
    if (csp__dynlib_open(&lib) != 0)
        snprintf(load_error, sizeof load_error, "%s", lib.why);
    else if (found.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(load_error, sizeof load_error, "cannot start libcurl");
    if (!load_error[0])
        csp__curl = found; /* published once: pthread_once orders it before every reader */
    else
        csp__load_first_end(); /* no request: the device need not wait (load_order.h) */
}

int csp__curl_load(char *why, size_t size)
{
    pthread_once(&started_once, start_library);
    if (!load_error[0])
        return 0;
    snprintf(why, size, "%s", load_error);
    return -1;
}

/* The warm-up thread maps the library, on its own. Exit joins it, so the process does not
   unmap libraries while the loader is in them. */
static pthread_t warm_thread;

static void *warm_main(void *arg)
{
    (void)arg;
    csp__dynlib_open(&lib);
    return NULL;
}

static void join_warm_up(void) { pthread_join(warm_thread, NULL); }

void csp_network_warm_up(void)
{
    static atomic_flag started = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&started))
        return;
    if (pthread_create(&warm_thread, NULL, warm_main, NULL) == 0)
        atexit(join_warm_up);
    else
        csp__load_first_end(); /* no head start to wait for (load_order.h, csp_warm_up) */
}

/* SPDX-License-Identifier: MIT */
/* curl_loader.c: libcurl's functions looked up once, when the first request needs them. */
#include "curl_loader.h"

#include "clawspeak.h"
#include "load_order.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

csp_curl_api csp__curl;

static pthread_once_t mapped_once = PTHREAD_ONCE_INIT, started_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static csp_curl_api found; /* the table, before curl_global_init */

/* Map the library and look its functions up: the part a warm-up thread can do. */
static void map_library(void)
{
    /* the ABI libcurl has kept since 7.16: the soname Debian's libcurl4 ships */
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof load_error, "cannot load libcurl: %s (install libcurl4)",
                 dlerror());
        return;
    }
    static const struct {
        const char *name;
        size_t offset;
    } symbols[] = {
#define SYM(field, name) {name, offsetof(csp_curl_api, field)}
        SYM(global_init, "curl_global_init"),
        SYM(easy_init, "curl_easy_init"),
        SYM(easy_setopt, "curl_easy_setopt"),
        SYM(easy_getinfo, "curl_easy_getinfo"),
        SYM(easy_strerror, "curl_easy_strerror"),
        SYM(easy_cleanup, "curl_easy_cleanup"),
        SYM(multi_init, "curl_multi_init"),
        SYM(multi_add_handle, "curl_multi_add_handle"),
        SYM(multi_remove_handle, "curl_multi_remove_handle"),
        SYM(multi_perform, "curl_multi_perform"),
        SYM(multi_poll, "curl_multi_poll"),
        SYM(multi_wakeup, "curl_multi_wakeup"),
        SYM(multi_info_read, "curl_multi_info_read"),
        SYM(multi_cleanup, "curl_multi_cleanup"),
        SYM(share_init, "curl_share_init"),
        SYM(share_setopt, "curl_share_setopt"),
        SYM(share_cleanup, "curl_share_cleanup"),
        SYM(slist_append, "curl_slist_append"),
        SYM(slist_free_all, "curl_slist_free_all"),
#undef SYM
    };
    csp_curl_api api;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(lib, symbols[i].name);
        if (!fn) {
            snprintf(load_error, sizeof load_error,
                     "libcurl is too old: it lacks %s (clawspeak needs 7.68 or later)",
                     symbols[i].name);
            return;
        }
        memcpy((char *)&api + symbols[i].offset, &fn, sizeof fn);
    }
    found = api;
}

/* curl_global_init, on the thread of the first request: OpenSSL gives the thread that
   starts it an error queue, which a warm-up thread gone before OpenSSL's exit handler
   would leak. */
static void start_library(void)
{
    pthread_once(&mapped_once, map_library);
    if (!load_error[0] && found.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
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
    pthread_once(&mapped_once, map_library);
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

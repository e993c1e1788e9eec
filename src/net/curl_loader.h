/* SPDX-License-Identifier: MIT */
/*
 * curl_loader.h: libcurl, loaded when the first request needs it (dlopen),
 * not when the program starts. With its dependencies (TLS, Kerberos, LDAP,
 * SSH, HTTP/2...) it is about forty libraries, and mapping them cost every
 * run ~11 ms before main: the local engine's first audio, `config` and
 * `--version` included. http.c is the only user; it includes this header
 * instead of <curl/curl.h>, and its curl_* calls go through the table.
 */
#ifndef CSP_CURL_LOADER_H
#define CSP_CURL_LOADER_H
#define CURL_DISABLE_TYPECHECK /* the type-checking macros would call the real names */
#include <curl/curl.h>

typedef struct csp_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    void (*easy_cleanup)(CURL *handle);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *handle);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *handle);
    CURLMcode (*multi_perform)(CURLM *multi, int *running);
    CURLMcode (*multi_poll)(CURLM *multi, struct curl_waitfd extra[], unsigned extra_count,
                            int timeout_ms, int *ret);
    CURLMcode (*multi_wakeup)(CURLM *multi);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *share, CURLSHoption option, ...);
    CURLSHcode (*share_cleanup)(CURLSH *share);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
} csp_curl_api;

extern csp_curl_api csp__curl;

/* Load libcurl (once; any thread) and run curl_global_init. Returns 0, or -1 with a reason
   ("libcurl.so.4: cannot open shared object file...") in why. */
int csp__curl_load(char *why, size_t size);

#define curl_global_init csp__curl.global_init
#define curl_easy_init csp__curl.easy_init
#undef curl_easy_setopt /* curl.h checks the argument count with a macro of the same name */
#define curl_easy_setopt csp__curl.easy_setopt
#undef curl_easy_getinfo
#define curl_easy_getinfo csp__curl.easy_getinfo
#define curl_easy_strerror csp__curl.easy_strerror
#define curl_easy_cleanup csp__curl.easy_cleanup
#define curl_multi_init csp__curl.multi_init
#define curl_multi_add_handle csp__curl.multi_add_handle
#define curl_multi_remove_handle csp__curl.multi_remove_handle
#define curl_multi_perform csp__curl.multi_perform
#define curl_multi_poll csp__curl.multi_poll
#define curl_multi_wakeup csp__curl.multi_wakeup
#define curl_multi_info_read csp__curl.multi_info_read
#define curl_multi_cleanup csp__curl.multi_cleanup
#define curl_share_init csp__curl.share_init
#undef curl_share_setopt
#define curl_share_setopt csp__curl.share_setopt
#define curl_share_cleanup csp__curl.share_cleanup
#define curl_slist_append csp__curl.slist_append
#define curl_slist_free_all csp__curl.slist_free_all
#endif

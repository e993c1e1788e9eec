/* SPDX-License-Identifier: MIT */
/*
 * http.h: the one module that talks to libcurl. Transfers run on a multi
 * handle (concurrent, connection reuse); bodies stream to callbacks as they
 * arrive. Test seam, in the spirit of curl's --resolve and --cacert:
 * CLAWSPEAK_RESOLVE="host:port:addr[,...]", CLAWSPEAK_CONNECT_TO=
 * "host:port:connect-host:connect-port[,...]" and CLAWSPEAK_CA_FILE=path.
 *
 * Real networks: a csp_http_pool (one per client) lends out csp_http
 * handles with their idle connections, so a later transfer (the next chat
 * turn, the speech after a chat) skips the TCP and TLS handshakes. TLS
 * sessions and DNS answers are shared through a libcurl share handle with
 * locks, since chat and speech run on different threads. Connections are
 * not shared that way: libcurl 7.88's shared connection cache is not
 * thread safe (its known bug 11.11), so each connection stays with one
 * handle, and one thread, at a time.
 */
#ifndef CSP_HTTP_H
#define CSP_HTTP_H
#include "clawspeak.h"

#include <stdatomic.h>
#include <stddef.h>

typedef enum {
    CSP_HTTP_DONE = 0,  /* a response arrived whole (any status) */
    CSP_HTTP_BROKEN,    /* reset, truncated body, empty reply: worth a retry */
    CSP_HTTP_CONNECT,   /* could not resolve or connect: worth a retry */
    CSP_HTTP_TIMEOUT,   /* no data for timeout_ms */
    CSP_HTTP_FATAL,     /* TLS, protocol, or anything else */
    CSP_HTTP_ABORTED,   /* our callback or a cancel stopped it */
    CSP_HTTP_NOMEM,
} csp_http_outcome;

typedef struct csp_http_result {
    csp_http_outcome outcome;
    long status;
    long retry_after_s; /* -1 when absent */
    char content_type[128];
    char url[512];      /* the URL that answered (after redirects) */
    char detail[768];   /* what went wrong, for the user */
} csp_http_result;

typedef struct csp_http_request {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *bearer; /* sent with libcurl's bearer auth, never to a redirected host */
    const char *body;   /* copied; may be NULL */
    size_t body_len;
    int body_borrowed;  /* body is not copied: it must outlive the transfer (until on_done) */
    int attribution;    /* add OpenRouter's attribution headers */
    const char *accept;
    long timeout_ms;    /* connect, first byte, and any stall longer than this */
    long total_ms;      /* the whole transfer, sized to the job by the caller; 0: none */
    /* Called on the thread that runs csp__http_poll. Return nonzero to abort. */
    int (*on_response)(void *userdata, long status, const char *content_type);
    int (*on_data)(void *userdata, const char *data, size_t len);
    void (*on_done)(void *userdata, const csp_http_result *result);
    void *userdata;
    void *done_userdata; /* for on_done, when it differs from userdata */
    const atomic_int *stop; /* optional: nonzero stops the transfer (an internal cancel) */
    struct csp_http_pool *pool; /* csp__http_stream/fetch: connections from here; may be NULL */
} csp_http_request;

typedef struct csp_http csp_http;
typedef struct csp_http_pool csp_http_pool;

struct csp_report;
csp_http *csp__http_new(struct csp_report *report);
/* libcurl is loaded when first needed (curl_loader.h): load it now, or say why it cannot be. */
csp_code csp__http_available(struct csp_report *report);
void csp__http_free(csp_http *http); /* aborts transfers still running, without on_done */

/* A pool; NULL when out of memory. Free it after every handle taken from it is given back. */
csp_http_pool *csp__http_pool_new(void);
void csp__http_pool_free(csp_http_pool *pool);
/*
 * A handle for one thread's use, with the idle connections it had when it
 * was given back (or a new one); pool may be NULL (a handle of its own).
 * Thread safe. NULL when out of memory.
 */
csp_http *csp__http_pool_take(csp_http_pool *pool, struct csp_report *report);
/* Give a handle back (NULL is fine): its running transfers stop, without on_done. Thread safe. */
void csp__http_pool_give(csp_http_pool *pool, csp_http *http);
/*
 * Open a connection to url's host before it is needed: a HEAD request whose
 * answer is thrown away (libcurl 7.88 does not reuse CONNECT_ONLY
 * connections). Runs in csp__http_poll like any transfer; url is borrowed
 * until it ends (or the handle is given back). Returns 0 or -1.
 */
int csp__http_warm(csp_http *http, const char *url, long timeout_ms);
/* Start a transfer. Returns 0, or -1 (no memory). */
int csp__http_start(csp_http *http, const csp_http_request *request);
/* Run transfers for up to wait_ms; calls on_done for each that finished. Returns running count. */
int csp__http_poll(csp_http *http, int wait_ms);
/* The result code for an outcome (CSP_OK for a response that arrived, whatever its status). */
csp_code csp__http_outcome_code(csp_http_outcome outcome);
/* Wake a poll that is waiting (from another thread). */
void csp__http_wakeup(csp_http *http);

/* Run one request to the end on this thread, its body to on_data. Checks the cancel flag.
   Records no error on the client (it may run on a worker thread): see result->detail. */
csp_code csp__http_stream(struct csp_report *report, const csp_http_request *request,
                          int (*on_data)(void *userdata, const char *data, size_t len),
                          csp_http_result *result);
/* Run one request to the end, collecting the body (capped). */
csp_code csp__http_fetch(struct csp_report *report, const csp_http_request *request, size_t max_body,
                         char **body, size_t *body_len, csp_http_result *result);
#endif

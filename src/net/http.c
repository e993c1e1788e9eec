/* SPDX-License-Identifier: MIT */
/*
 * http.c: libcurl multi wrapper. Each transfer owns its easy handle and
 * header list; the multi handle keeps the connection cache, so chunk
 * requests reuse connections. Timeouts are measured from the last byte
 * received (a progress callback), so a long stream that keeps flowing is
 * never cut off, while a silent server is.
 *
 * The pool (see http.h) keeps handles whole, connections and all, rather
 * than sharing one connection cache between threads, which libcurl 7.88
 * cannot do safely. What it shares, under locks, is what is safe to share:
 * TLS sessions (a resumed handshake) and DNS answers.
 */
#include "http.h"

#include "alloc.h"
#include "clock.h"
#include "load_order.h"
#include "report.h"

#include "curl_loader.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct transfer {
    csp_http *http;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    csp_http_request req;
    int responded;
    int timed_out; /* 1: a stall; 2: past the whole transfer's deadline */
    int aborted;
    int warm_up; /* a csp__http_warm transfer */
    long long started_ms, last_activity_ms;
    curl_off_t bytes_moved;
    struct transfer *next;
} transfer;

struct csp_http {
    csp_report *report;
    CURLM *multi;
    struct curl_slist *resolve, *connect_to;
    char *ca_file;
    transfer *transfers;
    int warm_ups;          /* warm-up transfers running */
    CURLSH *share;         /* the pool's, or NULL */
    struct csp_http *next; /* in the pool's idle list */
};

#define POOL_IDLE_MAX 4 /* handles kept idle: a chat, the speech, and a spare or two */

struct csp_http_pool {
    pthread_mutex_t lock;
    CURLSH *share; /* made on the first take, after curl_global_init */
    csp_http *idle;
    int idle_count;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST]; /* one per kind, as libcurl asks */
};

csp_code csp__http_available(csp_report *report)
{
    char why[300];
    return csp__curl_load(why, sizeof why) == 0 ? CSP_OK : csp__fail(report, CSP_ENET, "%s", why);
}

/* A comma-separated environment variable as a curl list. */
static int env_list(const char *name, struct curl_slist **list)
{
    const char *value = getenv(name);
    if (!value || !*value)
        return 0;
    char *copy = csp__strdup(value), *save = NULL;
    if (!copy)
        return -1;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        struct curl_slist *grown = curl_slist_append(*list, tok);
        if (!grown) {
            csp__free(copy);
            return -1;
        }
        *list = grown;
    }
    csp__free(copy);
    return 0;
}

csp_http *csp__http_new(csp_report *report)
{
    char why[300];
    if (csp__curl_load(why, sizeof why) < 0)
        return NULL; /* csp__http_available says why */
    csp_http *http = csp__calloc(1, sizeof *http);
    if (!http)
        return NULL;
    http->report = report;
    http->multi = curl_multi_init();
    if (!http->multi)
        goto fail;
    if (env_list("CLAWSPEAK_RESOLVE", &http->resolve) < 0 ||
        env_list("CLAWSPEAK_CONNECT_TO", &http->connect_to) < 0)
        goto fail;
    const char *ca = getenv("CLAWSPEAK_CA_FILE");
    if (ca && *ca && !(http->ca_file = csp__strdup(ca)))
        goto fail;
    return http;
fail:
    csp__http_free(http);
    return NULL;
}

static void transfer_free(transfer *t)
{
    if (!t)
        return;
    if (t->warm_up)
        t->http->warm_ups--;
    if (t->easy) {
        curl_multi_remove_handle(t->http->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    csp__free(t->body);
    csp__free(t);
}

void csp__http_free(csp_http *http)
{
    if (!http)
        return;
    while (http->transfers) {
        transfer *t = http->transfers;
        http->transfers = t->next;
        transfer_free(t);
    }
    if (http->multi)
        curl_multi_cleanup(http->multi);
    curl_slist_free_all(http->resolve);
    curl_slist_free_all(http->connect_to);
    csp__free(http->ca_file);
    csp__free(http);
}

/* --- the pool -------------------------------------------------------------- */

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)handle, (void)access;
    pthread_mutex_lock(&((csp_http_pool *)userptr)->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
    (void)handle;
    pthread_mutex_unlock(&((csp_http_pool *)userptr)->locks[data]);
}

csp_http_pool *csp__http_pool_new(void)
{
    csp_http_pool *pool = csp__calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&pool->locks[i], NULL);
    return pool;
}

void csp__http_pool_free(csp_http_pool *pool)
{
    if (!pool)
        return;
    while (pool->idle) {
        csp_http *http = pool->idle;
        pool->idle = http->next;
        csp__http_free(http);
    }
    if (pool->share)
        curl_share_cleanup(pool->share); /* after every easy handle that used it */
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&pool->locks[i]);
    pthread_mutex_destroy(&pool->lock);
    csp__free(pool);
}

/* Called with the pool locked. A share handle failing is no error: transfers work without. */
static void make_share(csp_http_pool *pool)
{
    CURLSH *share = curl_share_init();
    if (!share)
        return;
    if (curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_USERDATA, pool) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        curl_share_cleanup(share);
        return;
    }
    pool->share = share;
}

csp_http *csp__http_pool_take(csp_http_pool *pool, csp_report *report)
{
    if (!pool)
        return csp__http_new(report);
    char why[300];
    if (csp__curl_load(why, sizeof why) < 0)
        return NULL; /* csp__http_available says why */
    pthread_mutex_lock(&pool->lock);
    if (!pool->share)
        make_share(pool);
    csp_http *http = pool->idle;
    if (http) {
        pool->idle = http->next;
        pool->idle_count--;
        http->next = NULL;
        http->report = report;
    } else if ((http = csp__http_new(report))) {
        http->share = pool->share;
    }
    pthread_mutex_unlock(&pool->lock);
    return http;
}

void csp__http_pool_give(csp_http_pool *pool, csp_http *http)
{
    if (!http)
        return;
    if (!pool) {
        csp__http_free(http);
        return;
    }
    /* a transfer stopped mid-way closes its connection; the idle ones stay */
    while (http->transfers) {
        transfer *t = http->transfers;
        http->transfers = t->next;
        transfer_free(t);
    }
    pthread_mutex_lock(&pool->lock);
    if (pool->idle_count < POOL_IDLE_MAX) {
        http->next = pool->idle;
        pool->idle = http;
        pool->idle_count++;
        http = NULL;
    }
    pthread_mutex_unlock(&pool->lock);
    csp__http_free(http);
}

/* --- transfers --------------------------------------------------------------- */

static void report_response(transfer *t)
{
    if (t->responded)
        return;
    t->responded = 1;
    long status = 0;
    char *type = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
    if (t->req.on_response && t->req.on_response(t->req.userdata, status, type ? type : ""))
        t->aborted = 1;
}

static size_t on_write(char *data, size_t size, size_t count, void *userdata)
{
    transfer *t = userdata;
    size_t len = size * count;
    t->last_activity_ms = csp__now_ms();
    report_response(t);
    if (t->aborted)
        return 0;
    if (t->req.on_data && t->req.on_data(t->req.userdata, data, len)) {
        t->aborted = 1;
        return 0;
    }
    return len;
}

/* Header lines count as activity too: a server that trickles headers is not silent. */
static size_t on_header(char *data, size_t size, size_t count, void *userdata)
{
    (void)data;
    ((transfer *)userdata)->last_activity_ms = csp__now_ms();
    return size * count;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)ultotal;
    transfer *t = userdata;
    if (csp__canceled(t->http->report) || (t->req.stop && atomic_load(t->req.stop))) {
        t->aborted = 1;
        return 1;
    }
    /* any byte moving counts as activity; libcurl calls this at least once a second */
    long long now = csp__now_ms();
    if (dlnow + ulnow != t->bytes_moved) {
        t->bytes_moved = dlnow + ulnow;
        t->last_activity_ms = now;
    }
    if (now - t->last_activity_ms > t->req.timeout_ms) {
        t->timed_out = 1;
        return 1;
    }
    /* a server that trickles a byte a second is never silent: the job has a deadline */
    if (t->req.total_ms > 0 && now - t->started_ms > t->req.total_ms) {
        t->timed_out = 2;
        return 1;
    }
    return 0;
}

static int add_header(transfer *t, const char *header)
{
    struct curl_slist *grown = curl_slist_append(t->headers, header);
    if (!grown)
        return -1;
    t->headers = grown;
    return 0;
}

int csp__http_start(csp_http *http, const csp_http_request *request)
{
    transfer *t = csp__calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->http = http;
    t->req = *request;
    t->started_ms = t->last_activity_ms = csp__now_ms();
    /* a borrowed body (megabytes of base64 audio) is sent from where it lies, not copied */
    const char *body = request->body;
    if (body && !request->body_borrowed && !(t->body = csp__strndup(body, request->body_len)))
        goto fail;
    if (!request->body_borrowed)
        body = t->body;
    if (!(t->easy = curl_easy_init()))
        goto fail;
    CURL *e = t->easy;
    char accept[160];
    snprintf(accept, sizeof accept, "Accept: %s", request->accept ? request->accept : "*/*");
    if (add_header(t, accept) < 0)
        goto fail;
    if (body && add_header(t, "Content-Type: application/json") < 0)
        goto fail;
    if (request->attribution &&
        (add_header(t, "HTTP-Referer: https://openclaw.ai") < 0 ||
         add_header(t, "X-OpenRouter-Title: OpenClaw") < 0 ||
         add_header(t, "X-OpenRouter-Categories: cli-agent") < 0))
        goto fail;
    /* Expect: 100-continue only adds a round trip for our small bodies */
    if (add_header(t, "Expect:") < 0)
        goto fail;
    curl_easy_setopt(e, CURLOPT_URL, request->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "clawspeak/" CSP_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, request->timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* our requests are small and a reply is awaited at once: Nagle would only hold them */
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /*
     * Over HTTP/2, a request started while a connection is being opened waits for it and
     * multiplexes, instead of paying a handshake of its own. Not while a warm-up runs: if
     * that connection turns out HTTP/1.1, it is busy with the warm-up, and a request that
     * waited to learn so would then open its own connection late (measured: +300 ms at
     * 150 ms each way). Opened at once, it is never later than without a warm-up.
     */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, http->warm_ups ? 0L : 1L);
    if (http->share)
        curl_easy_setopt(e, CURLOPT_SHARE, http->share);
    if (request->bearer) {
        /* libcurl's own bearer auth: it is not sent on to a host a redirect points at */
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, request->bearer);
    }
    if (http->resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, http->resolve);
    if (http->connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, http->connect_to);
    if (http->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, http->ca_file);
    if (strcmp(request->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? request->body_len : 0));
    } else if (strcmp(request->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(http->multi, e) != CURLM_OK)
        goto fail;
    t->next = http->transfers;
    http->transfers = t;
    return 0;
fail:
    if (t->easy) {
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
    }
    transfer_free(t);
    return -1;
}

static void unlink_transfer(csp_http *http, transfer *t)
{
    for (transfer **p = &http->transfers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            return;
        }
}

static long ms(curl_off_t us) { return (long)(us / 1000); }

/*
 * --verbose: how the request's time went, from libcurl's timers (each
 * counted from the transfer's start). A reused connection shows connect 0
 * and TLS 0; the benchmarks read this line.
 */
static void log_timing(transfer *t, long status)
{
    if (t->http->report->log_max < CSP_LOG_INFO)
        return;
    curl_off_t connect = 0, tls = 0, first = 0, total = 0;
    long connects = 0, version = 0;
    curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version);
    if (connects == 0)
        connect = tls = 0; /* a reused connection: no handshake was paid here */
    csp__log(t->http->report, CSP_LOG_INFO,
             "%s %s: HTTP %ld over %s, %s connection, connect %ld ms, TLS %ld ms, first byte %ld ms, "
             "total %ld ms",
             t->req.method, t->req.url, status,
             version == CURL_HTTP_VERSION_2_0 ? "HTTP/2" : version ? "HTTP/1.1" : "-",
             !connects && !status ? "no" : connects ? "new" : "reused", ms(connect), ms(tls > connect ? tls - connect : 0),
             ms(first), ms(total));
}

static void finish(transfer *t, CURLcode code)
{
    csp_http_result r;
    memset(&r, 0, sizeof r);
    r.retry_after_s = -1;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
    char *type = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
    if (type)
        snprintf(r.content_type, sizeof r.content_type, "%s", type);
    /* after a redirect, name the URL that answered, not the one first asked */
    char *effective = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &effective);
    snprintf(r.url, sizeof r.url, "%s", effective ? effective : t->req.url);
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after > 0)
        r.retry_after_s = (long)retry_after;
    log_timing(t, r.status);
    if (code == CURLE_OK) {
        report_response(t);
        r.outcome = t->aborted ? CSP_HTTP_ABORTED : CSP_HTTP_DONE;
    } else if (t->timed_out == 2) {
        r.outcome = CSP_HTTP_TIMEOUT;
        snprintf(r.detail, sizeof r.detail,
                 "timed out: %s was still sending after %ld s, too slow for the job (a stalled "
                 "server; raise timeoutMs or --timeout-ms if it is only slow)",
                 r.url, t->req.total_ms / 1000);
    } else if (t->timed_out || code == CURLE_OPERATION_TIMEDOUT) {
        r.outcome = CSP_HTTP_TIMEOUT;
        snprintf(r.detail, sizeof r.detail,
                 "timed out: no data from %s for %ld ms (raise timeoutMs or --timeout-ms)",
                 r.url, t->req.timeout_ms);
    } else if (t->aborted || code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_WRITE_ERROR) {
        r.outcome = CSP_HTTP_ABORTED;
        snprintf(r.detail, sizeof r.detail, "transfer stopped");
    } else if (code == CURLE_OUT_OF_MEMORY) {
        r.outcome = CSP_HTTP_NOMEM;
        snprintf(r.detail, sizeof r.detail, "out of memory");
    } else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
               code == CURLE_COULDNT_RESOLVE_PROXY) {
        r.outcome = CSP_HTTP_CONNECT;
        snprintf(r.detail, sizeof r.detail, "cannot connect to %s: %s", r.url,
                 curl_easy_strerror(code));
    } else if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ||
               code == CURLE_PARTIAL_FILE || code == CURLE_GOT_NOTHING ||
               code == CURLE_HTTP2_STREAM || code == CURLE_HTTP2) {
        r.outcome = CSP_HTTP_BROKEN;
        snprintf(r.detail, sizeof r.detail, "connection to %s broke: %s", r.url,
                 curl_easy_strerror(code));
    } else {
        r.outcome = CSP_HTTP_FATAL;
        snprintf(r.detail, sizeof r.detail, "request to %s failed: %s", r.url,
                 curl_easy_strerror(code));
    }
    if (t->req.on_done)
        t->req.on_done(t->req.done_userdata ? t->req.done_userdata : t->req.userdata, &r);
}

int csp__http_poll(csp_http *http, int wait_ms)
{
    int running = 0, queued;
    curl_multi_perform(http->multi, &running);
    csp__load_first_end(); /* the request is under way: the device may load (load_order.h) */
    CURLMsg *msg;
    int finished = 0;
    while ((msg = curl_multi_info_read(http->multi, &queued))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode code = msg->data.result;
        unlink_transfer(http, t);
        finish(t, code);
        transfer_free(t);
        finished = 1;
    }
    if (!finished && wait_ms > 0) {
        curl_multi_poll(http->multi, NULL, 0, wait_ms, NULL);
        curl_multi_perform(http->multi, &running);
    }
    int count = 0;
    for (transfer *t = http->transfers; t; t = t->next)
        count++;
    return count;
}

csp_code csp__http_outcome_code(csp_http_outcome outcome)
{
    switch (outcome) {
    case CSP_HTTP_DONE: return CSP_OK;
    case CSP_HTTP_ABORTED: return CSP_ECANCELED;
    case CSP_HTTP_NOMEM: return CSP_ENOMEM;
    default: return CSP_ENET; /* broken, connect, timeout, TLS and the rest */
    }
}

void csp__http_wakeup(csp_http *http) { curl_multi_wakeup(http->multi); }

int csp__http_warm(csp_http *http, const char *url, long timeout_ms)
{
    /* no key and no body: any answer, even a 404, leaves the connection open */
    csp_http_request req = {.method = "HEAD", .url = url, .timeout_ms = timeout_ms};
    if (csp__http_start(http, &req) < 0)
        return -1;
    http->transfers->warm_up = 1; /* the one just started heads the list */
    http->warm_ups++;
    return 0;
}

typedef struct stream_state {
    csp_http_result result;
    int done;
} stream_state;

static void stream_done(void *userdata, const csp_http_result *result)
{
    stream_state *s = userdata;
    s->result = *result;
    s->done = 1;
}

csp_code csp__http_stream(csp_report *report, const csp_http_request *request,
                          int (*on_data)(void *userdata, const char *data, size_t len),
                          csp_http_result *result)
{
    stream_state state;
    memset(&state, 0, sizeof state);
    csp_http_request req = *request;
    req.on_data = on_data;
    req.on_done = stream_done;
    memset(result, 0, sizeof *result);
    if (csp__curl_load(result->detail, sizeof result->detail) < 0) {
        result->outcome = CSP_HTTP_CONNECT; /* (no csp__fail: the caller reports, as below) */
        return CSP_ENET;
    }
    /* on_done needs its own state; on_response and on_data keep the caller's */
    csp_http *http = csp__http_pool_take(request->pool, report);
    csp_code rc = CSP_OK;
    req.done_userdata = &state;
    if (!http || csp__http_start(http, &req) < 0) {
        /* no csp__fail here: this may run on a worker thread; the caller reports */
        snprintf(result->detail, sizeof result->detail, "out of memory starting a request");
        result->outcome = CSP_HTTP_NOMEM;
        rc = CSP_ENOMEM;
        goto out;
    }
    while (!state.done)
        csp__http_poll(http, 100);
    *result = state.result;
    if (csp__canceled(report))
        rc = CSP_ECANCELED;
out:
    csp__http_pool_give(request->pool, http);
    return rc;
}

typedef struct fetch_state {
    csp_buf body;
    enum { FITS, TOO_LARGE, OUT_OF_MEMORY } overflow;
} fetch_state;

static int fetch_data(void *userdata, const char *data, size_t len)
{
    fetch_state *s = userdata;
    if (csp__buf_append(&s->body, data, len) < 0) {
        s->overflow = s->body.len + len > s->body.max ? TOO_LARGE : OUT_OF_MEMORY;
        return 1;
    }
    return 0;
}

csp_code csp__http_fetch(csp_report *report, const csp_http_request *request, size_t max_body,
                         char **body, size_t *body_len, csp_http_result *result)
{
    fetch_state s;
    memset(&s, 0, sizeof s);
    csp__buf_init(&s.body, max_body);
    csp_http_request req = *request;
    req.userdata = &s;
    csp_code rc = csp__http_stream(report, &req, fetch_data, result);
    if (rc == CSP_OK && s.overflow == TOO_LARGE)
        rc = csp__fail(report, CSP_EAPI, "the response from %s is too large (over %zu bytes)",
                       result->url, max_body);
    else if (rc == CSP_OK && s.overflow == OUT_OF_MEMORY)
        rc = csp__fail(report, CSP_ENOMEM, "out of memory reading the response from %s",
                       result->url);
    *body_len = s.body.len;
    *body = csp__buf_steal(&s.body);
    if (!*body && rc == CSP_OK)
        rc = csp__fail(report, CSP_ENOMEM, "out of memory");
    return rc;
}

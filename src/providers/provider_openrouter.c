/* SPDX-License-Identifier: MIT */
/*
 * provider_openrouter.c: POST {baseUrl}/audio/speech on one libcurl multi
 * handle (concurrent, connections reused), for OpenRouter and for OpenAI's
 * API, which share the request's shape. What the answers mean lives here:
 * which statuses are worth a retry, how an error body reads, what to tell
 * the user about 401/402, and which failures another provider could fix.
 */
#include "provider.h"

#include "alloc.h"
#include "http.h"
#include "report.h"
#include "speech.h"

#include <stdio.h>
#include <string.h>

#define ERROR_BODY_CAP (64u << 10)
/* Speech comes at ~15 characters a second; an answer slower than 150 ms per byte of text
   (about 2x slower than it plays, UTF-8 counted in bytes) is a server that stalls. */
#define SPEECH_MS_PER_BYTE 150

/* One attempt in flight: the transfer's userdata. */
typedef struct attempt {
    struct openrouter *owner;
    csp_chunk_events events;
    long status;
    int is_error_body;      /* the body is an error text, not audio */
    int decided;            /* a result was fixed early (a bad pcm header) */
    csp_attempt_result result;
    csp_buf error_body;
    struct attempt *next;
} attempt;

typedef struct openrouter {
    csp_provider base;
    const csp_settings *settings; /* every key, to mask them in error text */
    csp_speech_target target;
    csp_report *report;
    csp_http_pool *pool;
    csp_http *http;
    char *url;
    char *models_url; /* the warm-up's: kept while its transfer may run */
    attempt *attempts; /* all in flight, so a free loses none */
} openrouter;

static void attempt_free(attempt *a)
{
    if (!a)
        return;
    csp__buf_free(&a->error_body);
    csp__free(a);
}

static void unlink_attempt(openrouter *o, attempt *a)
{
    for (attempt **p = &o->attempts; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            return;
        }
}

static void set_result(csp_attempt_result *r, csp_attempt_status status, csp_code code,
                       const char *fmt, const char *detail)
{
    r->status = status;
    r->code = code;
    snprintf(r->why, sizeof r->why, fmt, detail);
}

static int on_response(void *userdata, long status, const char *content_type)
{
    attempt *a = userdata;
    a->status = status;
    csp_media media;
    int bad_pcm = csp__parse_content_type(content_type, &media) < 0;
    if (status == 200 && bad_pcm) {
        set_result(&a->result, CSP_ATTEMPT_FAIL, CSP_EAPI,
                   "the server sent PCM without rate and channels (%s)", content_type);
        a->decided = 1;
        return 1;
    }
    if (status != 200 || media.kind == CSP_MEDIA_OTHER) {
        a->is_error_body = 1; /* collect the text to report it */
        return 0;
    }
    a->events.on_audio_start(a->events.ctx, &media);
    return 0;
}

static int on_data(void *userdata, const char *data, size_t len)
{
    attempt *a = userdata;
    if (a->is_error_body) {
        if (a->error_body.len < ERROR_BODY_CAP)
            csp__buf_append(&a->error_body, data, len < ERROR_BODY_CAP ? len : ERROR_BODY_CAP);
        return 0;
    }
    return a->events.on_audio(a->events.ctx, data, len);
}

/* What an answer that arrived whole means. */
static void read_answer(attempt *a, const csp_http_result *r)
{
    const csp_settings *s = a->owner->settings;
    csp_attempt_result *out = &a->result;
    if (a->status == 200 && !a->is_error_body) {
        out->status = CSP_ATTEMPT_OK;
        return;
    }
    char text[300], why[sizeof out->why - 100]; /* room for the hints below */
    csp__api_error_text(s, a->error_body.data, a->error_body.len, text, sizeof text);
    if (r->status == 200)
        snprintf(why, sizeof why, "the server answered 200 but sent %s, not audio: %s",
                 r->content_type[0] ? r->content_type : "no content type", text);
    else
        snprintf(why, sizeof why, "HTTP %ld from %.400s: %s", r->status, r->url,
                 text[0] ? text : "(no message)");
    /* another provider could speak where this one is down, out of credit or refuses the key */
    out->provider_fault = csp__status_retryable(r->status) || r->status == 401 ||
                          r->status == 402 || r->status == 403;
    if (r->status != 200 && csp__status_retryable(r->status)) {
        set_result(out, CSP_ATTEMPT_RETRY, CSP_EAPI, "%s", why);
        out->retry_after_s = r->retry_after_s;
    } else if (r->status == 401 || r->status == 403) {
        set_result(out, CSP_ATTEMPT_FAIL, CSP_EKEY,
                   "%s (check the API key: 'clawspeak config' shows where it comes from)", why);
    } else if (r->status == 402) {
        set_result(out, CSP_ATTEMPT_FAIL, CSP_EAPI, !strcmp(a->owner->target.id, "openrouter")
                   ? "%s (add credits at https://openrouter.ai/settings/credits)" : "%s", why);
    } else {
        set_result(out, CSP_ATTEMPT_FAIL, CSP_EAPI, "%s", why);
    }
}

static void on_done(void *userdata, const csp_http_result *r)
{
    attempt *a = userdata;
    if (a->decided) {
        /* fixed when the response began */
    } else if (r->outcome == CSP_HTTP_DONE) {
        read_answer(a, r);
    } else if (r->outcome == CSP_HTTP_BROKEN || r->outcome == CSP_HTTP_CONNECT) {
        set_result(&a->result, CSP_ATTEMPT_RETRY, CSP_ENET, "%s", r->detail);
        a->result.provider_fault = 1;
        a->result.unreachable = r->outcome == CSP_HTTP_CONNECT;
    } else {
        set_result(&a->result, CSP_ATTEMPT_FAIL, csp__http_outcome_code(r->outcome), "%s",
                   r->detail);
        a->result.provider_fault = csp__http_outcome_code(r->outcome) == CSP_ENET; /* a timeout */
    }
    unlink_attempt(a->owner, a);
    a->events.on_done(a->events.ctx, &a->result);
    attempt_free(a);
}

static int openrouter_start(csp_provider *base, const csp_chunk_request *request,
                            const csp_chunk_events *events)
{
    openrouter *o = (openrouter *)base;
    const csp_speech_target *s = &o->target;
    attempt *a = csp__calloc(1, sizeof *a);
    char *body = a ? csp__speech_body(s, request->params, request->text, request->len) : NULL;
    if (!body) {
        attempt_free(a);
        return -1;
    }
    a->owner = o;
    a->events = *events;
    a->result.retry_after_s = -1;
    csp__buf_init(&a->error_body, ERROR_BODY_CAP);
    csp_http_request req = {
        .method = "POST", .url = o->url, .bearer = s->api_key, .body = body,
        .body_len = strlen(body), .attribution = s->attribution,
        .accept = "audio/*, application/json", .timeout_ms = s->timeout_ms,
        /* the whole answer: far slower than speech is spoken is a stalled server */
        .total_ms = 2 * s->timeout_ms + SPEECH_MS_PER_BYTE * (long)request->len,
        .on_response = on_response, .on_data = on_data, .on_done = on_done, .userdata = a};
    csp__log(o->report, CSP_LOG_INFO, "chunk %zu: POST %s (%zu bytes of text, attempt %d)",
             request->index + 1, o->url, request->len, request->attempt);
    int rc = csp__http_start(o->http, &req);
    csp__free(body);
    if (rc < 0) {
        attempt_free(a);
        return -1;
    }
    a->next = o->attempts;
    o->attempts = a;
    return 0;
}

static int openrouter_poll(csp_provider *base, int wait_ms)
{
    return csp__http_poll(((openrouter *)base)->http, wait_ms);
}

/* HEAD {baseUrl}/models: free, needs no key, and opens the connection speech will use. */
static int openrouter_warm(csp_provider *base)
{
    openrouter *o = (openrouter *)base;
    if (!o->models_url && !(o->models_url = csp__printf("%s/models", o->target.base_url)))
        return -1;
    if (csp__http_warm(o->http, o->models_url, o->target.timeout_ms) < 0)
        return -1;
    csp__log(o->report, CSP_LOG_INFO, "warming the connection: HEAD %s", o->models_url);
    return 1;
}

static void openrouter_wakeup(csp_provider *base) { csp__http_wakeup(((openrouter *)base)->http); }

static void openrouter_free(csp_provider *base)
{
    openrouter *o = (openrouter *)base;
    if (!o)
        return;
    csp__http_pool_give(o->pool, o->http); /* stops transfers without their on_done */
    while (o->attempts) {
        attempt *a = o->attempts;
        o->attempts = a->next;
        attempt_free(a);
    }
    csp__free(o->url);
    csp__free(o->models_url);
    csp__free(o);
}

csp_provider *csp__provider_openrouter_new(const csp_settings *settings, const char *id,
                                           csp_report *report, csp_http_pool *pool)
{
    openrouter *o = csp__calloc(1, sizeof *o);
    if (!o)
        return NULL;
    csp__speech_target(settings, id, &o->target);
    o->base = (csp_provider){o->target.id, 1 << 10, openrouter_start, openrouter_poll,
                             openrouter_wakeup, openrouter_free, openrouter_warm};
    o->settings = settings;
    o->report = report;
    o->pool = pool;
    if (!(o->url = csp__printf("%s/audio/speech", o->target.base_url)) ||
        !(o->http = csp__http_pool_take(pool, report))) {
        openrouter_free(&o->base);
        return NULL;
    }
    return &o->base;
}
